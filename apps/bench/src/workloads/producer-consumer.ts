import { allocatorInfo } from '../adapters';
import { RefAllocator } from '../adapters/ref';
import type { AdapterName, AllocatorInfo } from '../adapters/types';
import { seedOf, xorshift32 } from '../prng';
import { BlockTable, SLOT_WORDS } from './blocks';
import { barrierWait, CONTROL_WORDS, runWorkers, type WorkerReport, wallMs } from './threads';
import type { Suite, Workload } from './types';

/**
 * One worker allocates blocks (8 B – 1 KiB, first and last byte written) and passes them through
 * a shared ring of `ring` slots; another reads them back, checks them and frees them. Every free
 * is a cross-thread free. Blocks per second, from the start barrier to the last free.
 */
export interface PcConfig {
  blocks: number;
  ring: number;
  minSize: number;
  maxSize: number;
  seed: number;
}

export interface PcWorkerData {
  workload: 'producer-consumer';
  alloc: AdapterName;
  shared: unknown;
  config: PcConfig;
  worker: number;
  /** The block table's slots (BlockTable.slots), shared by the workers. */
  slots: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

const BLOCKS: Record<Suite, number> = { quick: 1_000_000, full: 5_000_000 };
/** shared-memory-objects moves a block in microseconds (spin lock, list walk): a smaller run. */
const SMO_BLOCKS = 200_000;
// Control words after the barrier's (threads.ts uses 0-1).
const HEAD = 4; // Atomics: blocks published by the producer
const TAIL = 5; // Atomics: blocks freed by the consumer
const CONSUMER_WAITING = 6; // Atomics: 1 while the consumer sleeps on HEAD
const PRODUCER_WAITING = 7; // Atomics: 1 while the producer sleeps on TAIL

function produce(t: BlockTable, ctl: Int32Array, c: PcConfig): void {
  const range = c.maxSize - c.minSize + 1;
  let s = seedOf(c.seed, c.blocks);
  for (let k = 0; k < c.blocks; k++) {
    s = xorshift32(s);
    const size = c.minSize + (s % range);
    s = xorshift32(s);
    // Wait for a free slot: sleep only after announcing it, then re-check (no lost wake-up).
    let tail = Atomics.load(ctl, TAIL);
    while (k - tail >= c.ring) {
      Atomics.store(ctl, PRODUCER_WAITING, 1);
      tail = Atomics.load(ctl, TAIL);
      if (k - tail >= c.ring) Atomics.wait(ctl, TAIL, tail, 10);
      Atomics.store(ctl, PRODUCER_WAITING, 0);
      tail = Atomics.load(ctl, TAIL);
    }
    t.place(k % c.ring, size, s);
    Atomics.store(ctl, HEAD, k + 1);
    if (Atomics.load(ctl, CONSUMER_WAITING) === 1) Atomics.notify(ctl, HEAD);
  }
}

function consume(t: BlockTable, ctl: Int32Array, c: PcConfig): void {
  for (let k = 0; k < c.blocks; k++) {
    let head = Atomics.load(ctl, HEAD);
    while (head <= k) {
      Atomics.store(ctl, CONSUMER_WAITING, 1);
      head = Atomics.load(ctl, HEAD);
      if (head <= k) Atomics.wait(ctl, HEAD, head, 10);
      Atomics.store(ctl, CONSUMER_WAITING, 0);
      head = Atomics.load(ctl, HEAD);
    }
    t.release(k % c.ring);
    Atomics.store(ctl, TAIL, k + 1);
    if (Atomics.load(ctl, PRODUCER_WAITING) === 1) Atomics.notify(ctl, TAIL);
  }
}

/** Body of the producer (worker 0) or the consumer (worker 1) in build/worker.mjs. */
export async function pcWorker(d: PcWorkerData): Promise<WorkerReport> {
  const a = await allocatorInfo(d.alloc).attach!(d.shared);
  const c = d.config;
  const t = new BlockTable(a, c.ring, new Int32Array(d.slots));
  const ctl = new Int32Array(d.control);
  barrierWait(ctl, 2);
  const startMs = wallMs();
  if (d.worker === 0) produce(t, ctl, c);
  else consume(t, ctl, c);
  const endMs = wallMs();
  a.detach();
  return {
    worker: d.worker,
    startMs,
    endMs,
    ops: c.blocks,
    crossFrees: d.worker === 1 ? c.blocks : 0,
    checksum: t.checksum,
    corrupt: t.corrupt,
  };
}

/** The same blocks on the model, produced and consumed in order. */
export function pcModel(c: PcConfig): number {
  const a = new RefAllocator();
  const t = new BlockTable(a, c.ring);
  const range = c.maxSize - c.minSize + 1;
  let s = seedOf(c.seed, c.blocks);
  for (let k = 0; k < c.blocks; k++) {
    s = xorshift32(s);
    const size = c.minSize + (s % range);
    s = xorshift32(s);
    t.place(k % c.ring, size, s);
    t.release(k % c.ring);
  }
  return t.checksum;
}

export async function pcRun(
  info: AllocatorInfo,
  c: PcConfig,
  workerUrl: URL,
): Promise<{ blocksPerSec: number; ms: number; checksum: number; corrupt: number }> {
  const creator = await info.create({ budgetBytes: producerConsumer.budgetBytes(c) });
  const sab = (bytes: number) => new SharedArrayBuffer(bytes);
  const common = {
    workload: 'producer-consumer' as const,
    alloc: info.name,
    shared: creator.share(),
    config: c,
    slots: sab(c.ring * SLOT_WORDS * 4),
    control: sab(CONTROL_WORDS * 4),
  };
  const reports = await runWorkers(workerUrl, [
    { ...common, worker: 0 },
    { ...common, worker: 1 },
  ]);
  creator.detach();
  const start = Math.min(...reports.map((r) => r.startMs));
  const ms = reports[1]!.endMs - start;
  return {
    blocksPerSec: (c.blocks * 1000) / ms,
    ms,
    checksum: reports[1]!.checksum,
    corrupt: reports[0]!.corrupt + reports[1]!.corrupt,
  };
}

export const producerConsumer: Workload<PcConfig> = {
  name: 'producer-consumer',
  unit: 'blocks/s',
  better: 'higher',
  describe: (suite) =>
    `one worker allocates ${BLOCKS[suite].toLocaleString('en-US')} blocks of 8 B – 1 KiB, another checks and frees them, through a 1,024-slot shared ring; blocks per second`,
  variants: (suite) => [
    {
      variant: '2 workers',
      config: { blocks: BLOCKS[suite], ring: 1024, minSize: 8, maxSize: 1024, seed: 0x9c0 },
    },
  ],
  unsupported(info) {
    if (info.threadSafe) return undefined;
    return info.name === 'gc'
      ? 'not shared: a JS object cannot be freed by another thread'
      : 'not thread-safe: two workers would corrupt its lists';
  },
  cap(info, c) {
    if (info.name !== 'smo' || c.blocks <= SMO_BLOCKS) return undefined;
    return {
      config: { ...c, blocks: SMO_BLOCKS },
      why: `${SMO_BLOCKS.toLocaleString('en-US')} blocks: each malloc and free takes a spin lock and walks a list`,
    };
  },
  budgetBytes: (c) => Math.max(64 * 2 ** 20, c.ring * (c.maxSize + 64) * 4),
  async run(info, c, ctx) {
    const r = await pcRun(info, c, ctx.workerUrl);
    return [
      {
        variant: '2 workers',
        unit: 'blocks/s',
        value: r.blocksPerSec,
        better: 'higher',
        ops: c.blocks,
        checksum: r.checksum,
        corrupt: r.corrupt,
        extra: { ms: r.ms, crossFrees: c.blocks },
      },
    ];
  },
  async model(c) {
    return new Map([['2 workers', { checksum: pcModel(c), ops: c.blocks, extra: {} }]]);
  },
};

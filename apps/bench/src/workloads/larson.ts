import { allocatorInfo } from '../adapters';
import { RefAllocator } from '../adapters/ref';
import type { AdapterName, Allocator, AllocatorInfo } from '../adapters/types';
import { seedOf, xorshift32 } from '../prng';
import { BlockTable, PAIR_WORDS, SLOT_WORDS } from './blocks';
import { barrierWait, CONTROL_WORDS, runWorkers, type WorkerReport, wallMs } from './threads';
import type { Suite, Workload } from './types';

/**
 * Larson, as mimalloc-bench runs it (`larson 5 8 1000 5000 100 4141 T`): each worker owns an
 * array of `chunks` blocks of 8–1000 B; a generation is `rounds × chunks` replacements (free a
 * random block of the array, malloc a new one of random size in its place). C larson hands the
 * arrays to a new thread after each generation; a Worker costs milliseconds to start, so here the
 * workers stay and the arrays rotate instead: in generation g, worker w works on array
 * (w + g) mod T, so it frees blocks another worker allocated (cross-thread frees). A barrier
 * separates generations. Throughput counts replacements (one free + one malloc) per second.
 *
 * As in churn, each generation's draws (slot, size, tag) are made before its clock starts, into
 * the worker's stretch of the shared table's array, and the timed loop is `BlockTable.replace`'s:
 * the allocator's work and the block touches, in locals, with no PRNG, object or megamorphic call
 * in it. The time is the sum over generations of barrier (draws done) to barrier (loops done).
 * The first `warmup` generations run the same way but untimed: a JavaScript allocator's code is
 * compiled while it runs (and its cross-thread paths first run in generation 1), and with every
 * core busy with a worker the compiler threads wait for a core, so in a run of ten generations
 * the first two would weigh as much as the next five. C larson runs 5 s, which hides its start;
 * here the warm-up generations do. The C port (c/larson.c) does the same draws, touches,
 * warm-up and checksum the same way.
 */
export interface LarsonConfig {
  threads: number;
  chunks: number;
  rounds: number;
  /** Timed generations. */
  generations: number;
  /** Generations run before the timed ones, untimed (their frees and checksums count as the others'). */
  warmup: number;
  minSize: number;
  maxSize: number;
  seed: number;
}

export interface LarsonWorkerData {
  workload: 'larson';
  alloc: AdapterName;
  shared: unknown;
  budgetBytes: number;
  config: LarsonConfig;
  worker: number;
  /** The block table's slots (BlockTable.slots), shared by the workers, then each worker's pre-drawn pairs. */
  slots: SharedArrayBuffer;
  owner: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

/** C larson runs 5 s per configuration; 10 generations (about 1–2 s for hakmem) keep warm-up from deciding the quick number. */
const GENERATIONS: Record<Suite, number> = { quick: 10, full: 40 };
/** Untimed generations first: generation 0 (own blocks) and 1 (the first cross-thread frees). */
const WARMUP = 2;
/** Generations in all, warm-up included. */
const allGenerations = (c: LarsonConfig) => c.warmup + c.generations;
/** Rounds per generation for peers whose free walks every live block. */
const SLOW_ROUNDS: Record<string, number> = { 'thi.ng': 2, smo: 2, malloc: 20 };
/** A fill is generation -1 of its array. */
const FILL = 0xffff;

export function larsonFill(t: BlockTable, owner: Int32Array, c: LarsonConfig, w: number): void {
  const range = c.maxSize - c.minSize + 1;
  let s = seedOf(c.seed, w, FILL);
  const base = w * c.chunks;
  for (let k = 0; k < c.chunks; k++) {
    s = xorshift32(s);
    const size = c.minSize + (s % range);
    s = xorshift32(s);
    t.place(base + k, size, s);
    owner[base + k] = w;
  }
}

/**
 * Draws generation `gen` on array `arr` for worker w into the table's pre-drawn pairs (untimed):
 * the same draws as C larson's loop (slot, size, tag), and the owner bookkeeping, which tells
 * how many of the frees will be cross-thread. Returns that count.
 */
export function larsonDraw(
  t: BlockTable,
  owner: Int32Array,
  c: LarsonConfig,
  arr: number,
  gen: number,
  w: number,
): number {
  const range = c.maxSize - c.minSize + 1;
  const chunks = c.chunks;
  const base = arr * chunks;
  const n = c.rounds * chunks;
  let s = seedOf(c.seed, arr, gen);
  let cross = 0;
  for (let k = 0; k < n; k++) {
    s = xorshift32(s);
    const i = base + (s % chunks);
    cross += owner[i] !== w ? 1 : 0;
    owner[i] = w;
    s = xorshift32(s);
    const size = c.minSize + (s % range);
    s = xorshift32(s);
    t.setPair(k, i, size, s);
  }
  return cross;
}

/** The timed part of one generation: the pairs larsonDraw drew (checksum in t). */
export function larsonReplace(t: BlockTable, c: LarsonConfig): void {
  t.checksum = 0;
  t.replaceShared(0, c.rounds * c.chunks);
}

/** Frees the array worker w would take next (after the last generation), checksum in t. */
export function larsonDrain(t: BlockTable, c: LarsonConfig, w: number): void {
  const base = ((w + allGenerations(c)) % c.threads) * c.chunks;
  t.checksum = 0;
  for (let k = 0; k < c.chunks; k++) t.release(base + k);
}

/** A Larson worker's report: the common one, and the time its generations' loops took. */
export interface LarsonWorkerReport extends WorkerReport {
  /** Σ over the timed generations of the timed part: from the barrier after the draws to the one after the loops. */
  timedMs: number;
}

/** Pairs per generation: the words of each worker's stretch of the shared table. */
const pairsPerGeneration = (c: LarsonConfig) => c.rounds * c.chunks;
/** Int32 words of the shared table: the blocks, then each worker's pre-drawn pairs. */
const tableWords = (c: LarsonConfig) =>
  c.threads * c.chunks * SLOT_WORDS + c.threads * pairsPerGeneration(c) * PAIR_WORDS;

/** Body of one Larson worker (build/worker.mjs). */
export async function larsonWorker(d: LarsonWorkerData): Promise<LarsonWorkerReport> {
  const info = allocatorInfo(d.alloc);
  const a =
    d.shared === null ? await info.create({ budgetBytes: d.budgetBytes }) : await info.attach!(d.shared);
  const c = d.config;
  const n = c.threads * c.chunks;
  const perGen = pairsPerGeneration(c);
  const t = new BlockTable(
    a,
    n,
    new Int32Array(d.slots),
    perGen,
    n * SLOT_WORDS + d.worker * perGen * PAIR_WORDS,
  );
  const owner = new Int32Array(d.owner);
  const ctl = new Int32Array(d.control);
  larsonFill(t, owner, c, d.worker);
  barrierWait(ctl, c.threads);
  const startMs = wallMs();
  let timedMs = 0;
  let checksum = 0;
  let crossFrees = 0;
  const gens = allGenerations(c);
  for (let g = 0; g < gens; g++) {
    // Each generation's draws are made before its clock starts (as churn's): the timed loop is
    // the allocator's work and the block touches, not the PRNG and the owner bookkeeping.
    crossFrees += larsonDraw(t, owner, c, (d.worker + g) % c.threads, g, d.worker);
    barrierWait(ctl, c.threads);
    const t0 = wallMs();
    larsonReplace(t, c);
    checksum = (checksum + t.checksum) >>> 0;
    barrierWait(ctl, c.threads);
    if (g >= c.warmup) timedMs += wallMs() - t0;
  }
  const endMs = wallMs();
  larsonDrain(t, c, d.worker);
  checksum = (checksum + t.checksum) >>> 0;
  a.detach();
  return {
    worker: d.worker,
    startMs,
    endMs,
    timedMs,
    ops: c.generations * c.rounds * c.chunks,
    crossFrees,
    checksum,
    corrupt: t.corrupt,
  };
}

/** The same schedule on the model, one array at a time: the ops, cross frees and checksum a correct run gives. */
export function larsonModel(c: LarsonConfig): { ops: number; crossFrees: number; checksum: number } {
  const a = new RefAllocator();
  const n = c.threads * c.chunks;
  const t = new BlockTable(a, n, undefined, pairsPerGeneration(c));
  const owner = new Int32Array(n);
  for (let w = 0; w < c.threads; w++) larsonFill(t, owner, c, w);
  let checksum = 0;
  let crossFrees = 0;
  for (let g = 0; g < allGenerations(c); g++) {
    for (let w = 0; w < c.threads; w++) {
      crossFrees += larsonDraw(t, owner, c, (w + g) % c.threads, g, w);
      larsonReplace(t, c);
      checksum = (checksum + t.checksum) >>> 0;
    }
  }
  for (let w = 0; w < c.threads; w++) {
    larsonDrain(t, c, w);
    checksum = (checksum + t.checksum) >>> 0;
  }
  return { ops: c.threads * c.generations * c.rounds * c.chunks, crossFrees, checksum };
}

/** Runs Larson with real workers; the child process calls this (and the tests). */
export async function larsonRun(
  info: AllocatorInfo,
  c: LarsonConfig,
  workerUrl: URL,
): Promise<{
  opsPerSec: number;
  ops: number;
  crossFrees: number;
  checksum: number;
  corrupt: number;
  ms: number;
}> {
  const budgetBytes = larson.budgetBytes(c);
  let shared: unknown = null;
  let creator: Allocator | undefined;
  if (info.threadSafe) {
    creator = await info.create({ budgetBytes });
    shared = creator.share();
  }
  const n = c.threads * c.chunks;
  const sab = (bytes: number) => new SharedArrayBuffer(bytes);
  const common = {
    workload: 'larson' as const,
    alloc: info.name,
    shared,
    budgetBytes,
    config: c,
    slots: sab(tableWords(c) * 4),
    owner: sab(n * 4),
    control: sab(CONTROL_WORDS * 4),
  };
  const data: LarsonWorkerData[] = [];
  for (let w = 0; w < c.threads; w++) data.push({ ...common, worker: w });
  const reports = (await runWorkers(workerUrl, data)) as LarsonWorkerReport[];
  creator?.detach();
  // Every worker leaves both barriers of a generation together, so their timed sums agree; the
  // largest is the run's.
  const ms = Math.max(...reports.map((r) => r.timedMs));
  const ops = reports.reduce((s, r) => s + r.ops, 0);
  return {
    ms,
    opsPerSec: (ops * 1000) / ms,
    ops,
    crossFrees: reports.reduce((s, r) => s + r.crossFrees, 0),
    checksum: reports.reduce((s, r) => (s + r.checksum) >>> 0, 0),
    corrupt: reports.reduce((s, r) => s + r.corrupt, 0),
  };
}

const variantName = (threads: number) => `${threads} worker${threads === 1 ? '' : 's'}`;

export const larson: Workload<LarsonConfig> = {
  name: 'larson',
  unit: 'ops/s',
  better: 'higher',
  describe: (suite) =>
    `larson 8–1000 B, 5,000 blocks per worker, ${GENERATIONS[suite]} timed generations (after ${WARMUP} untimed ones) of 100 × 5,000 replacements per worker, arrays rotated between workers after each generation (workers kept, not restarted); each generation's draws made before its clock starts; replacements per second`,
  variants: (suite, threads) =>
    threads.map((t) => ({
      variant: variantName(t),
      config: {
        threads: t,
        chunks: 5000,
        rounds: 100,
        generations: GENERATIONS[suite],
        warmup: WARMUP,
        minSize: 8,
        maxSize: 1000,
        seed: 4141,
      },
    })),
  unsupported(info, c) {
    if (c.threads === 1 || info.threadSafe) return undefined;
    return info.name === 'gc'
      ? 'not shared: a JS object cannot be freed by another thread'
      : 'not thread-safe: two workers would corrupt its lists';
  },
  cap(info, c) {
    const rounds = SLOW_ROUNDS[info.name];
    if (rounds === undefined || rounds >= c.rounds) return undefined;
    return {
      config: { ...c, rounds },
      why: `${rounds} × 5,000 replacements per generation: its free ${info.name === 'malloc' ? 'is a skip-list search' : 'walks the list of live blocks'}`,
    };
  },
  budgetBytes: (c) => Math.max(64 * 2 ** 20, c.threads * c.chunks * 2048 * 2),
  async run(info, c, ctx) {
    const r = await larsonRun(info, c, ctx.workerUrl);
    return [
      {
        variant: variantName(c.threads),
        unit: 'ops/s',
        value: r.opsPerSec,
        better: 'higher',
        ops: r.ops,
        checksum: r.checksum,
        corrupt: r.corrupt,
        extra: { ms: r.ms, crossFrees: r.crossFrees, threads: c.threads },
      },
    ];
  },
  async model(c) {
    const m = larsonModel(c);
    return new Map([
      [variantName(c.threads), { checksum: m.checksum, ops: m.ops, extra: { crossFrees: m.crossFrees } }],
    ]);
  },
};

import { floor as floorInfo } from '../adapters/floor';
import { RefAllocator } from '../adapters/ref';
import { type Allocator, type AllocatorInfo, tooLarge } from '../adapters/types';
import { seedOf, xorshift32 } from '../prng';
import { BlockTable } from './blocks';
import type { Measurement, Suite, Workload } from './types';

/**
 * Random free+malloc in a window of live blocks: fill the window, then each pair frees a random
 * block and puts a new one of random size in its slot. ns per pair. Small blocks (8 B – 1 KiB)
 * in windows of 1,000 and 100,000; mid-size (1–32 KiB) and large (32 KiB – 1 MiB) blocks in
 * smaller windows.
 */
export interface ChurnConfig {
  /** The row's name: the window, with the size range when it is not the small one. */
  variant: string;
  window: number;
  pairs: number;
  minSize: number;
  maxSize: number;
  seed: number;
}

/** Parts the timed loop is split into; the median part's ns per pair is reported. */
export const CHURN_SEGMENTS = 5;
/** The first 1/CHURN_WARMUP of the pairs run untimed, before the parts (JIT warm-up). */
export const CHURN_WARMUP = 10;
/** Pairs per call during the warm-up: short calls, so V8 compiles the pair loop as a whole function with feedback for all of it. */
const WARMUP_CALL = 1000;

const PAIRS: Record<Suite, number> = { quick: 2_000_000, full: 10_000_000 };

/** The rows: window and size range; pairs scale down with the block size (the touches are O(1), the allocators are not all). */
const VARIANTS: Array<{ window: number; minSize: number; maxSize: number; label: string; share: number }> = [
  { window: 1000, minSize: 8, maxSize: 1024, label: '', share: 1 },
  { window: 100_000, minSize: 8, maxSize: 1024, label: '', share: 1 },
  { window: 1000, minSize: 1025, maxSize: 32 * 1024, label: '1–32 KiB, ', share: 1 / 4 },
  { window: 200, minSize: 32 * 1024 + 1, maxSize: 1024 * 1024, label: '32 KiB – 1 MiB, ', share: 1 / 40 },
];
/** Pairs for peers whose free walks every live block (their time grows with the window). */
const SLOW_PAIRS: Record<string, (window: number) => number> = {
  'thi.ng': (w) => (w <= 1000 ? 100_000 : 500),
  smo: (w) => (w <= 1000 ? 50_000 : 5_000),
};

/** The second row of a small-block churn: the allocator's time over the floor's, in one process. */
export const floorVariant = (variant: string) => `${variant} ÷ floor, same process`;

/**
 * BlockTable's timed loop compiled again from its own source (a new function): the floor's table
 * in another allocator's process runs this copy, so each loop has its own type feedback and sees
 * one adapter class (neither makes the other's calls polymorphic).
 */
function separateLoop(): (this: BlockTable, from: number, to: number) => void {
  const source = (BlockTable.prototype as unknown as Record<string, () => void>).replaceFlat!.toString();
  return new Function(`return function ${source}`)() as (this: BlockTable, from: number, to: number) => void;
}

/** A churn table: the window placed and every pair drawn (untimed, the same draws for any allocator). */
export function churnTable(a: Allocator, c: ChurnConfig): BlockTable {
  // The pairs are drawn into the table's own array (one typed array for the timed loop).
  const t = new BlockTable(a, c.window, undefined, c.pairs);
  const range = c.maxSize - c.minSize + 1;
  let s = seedOf(c.seed, c.window);
  for (let i = 0; i < c.window; i++) {
    s = xorshift32(s);
    const size = c.minSize + (s % range);
    s = xorshift32(s);
    t.place(i, size, s);
  }
  // The draws are made before the clock starts, so the timed loop is the allocator's work and
  // the block touches (first and last byte written, read back before the free), not the PRNG.
  for (let k = 0; k < c.pairs; k++) {
    s = xorshift32(s);
    const slot = s % c.window;
    s = xorshift32(s);
    const size = c.minSize + (s % range);
    s = xorshift32(s);
    t.setPair(k, slot, size, s);
  }
  return t;
}

/** ns per pair of one timed call, and the process CPU time per pair meanwhile. */
function timed(run: () => void, pairs: number): { ns: number; cpuNs: number } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  run();
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  return { ns: ((t1 - t0) * 1e6) / pairs, cpuNs: ((cpu.user + cpu.system) * 1e3) / pairs };
}

const median = (v: number[]) => (v.length === 0 ? Number.NaN : [...v].sort((x, y) => x - y)[v.length >> 1]!);

export interface ChurnResult {
  /** ns per pair of the median part. */
  ns: number;
  /** Process CPU time per pair in that part. */
  cpuNs: number;
  table: BlockTable;
  /** With a floor: the floor's ns per pair (median part) and the median over parts of allocator ÷ floor. */
  floorNs?: number;
  perFloor?: number;
}

/**
 * Runs churn on `a`. With `floor` (another allocator, in practice the floor), the same pairs also
 * run on it in this process, each timed part of `a` next to a part of the floor (their order
 * alternating), and `perFloor` is the median of the parts' ratios: a ratio to the floor that a
 * slower or faster stretch of the machine changes for both alike, where ratios of numbers
 * measured in different processes at different moments carry the machine's drift.
 */
export function churnRun(a: Allocator, c: ChurnConfig, floor?: Allocator): ChurnResult {
  const t = churnTable(a, c);
  const f = floor ? churnTable(floor, c) : undefined;
  const floorLoop = f ? separateLoop() : undefined;
  // Warm-up: the first pairs, untimed, in short calls, so the loop is optimised code (and the
  // allocator's paths are warm) before the clock starts. Every pair is still checked.
  const warm = Math.floor(c.pairs / CHURN_WARMUP);
  for (let k = 0; k < warm; k += WARMUP_CALL) {
    t.replace(k, Math.min(warm, k + WARMUP_CALL));
    if (f) floorLoop!.call(f, k, Math.min(warm, k + WARMUP_CALL));
  }
  // The rest is timed in CHURN_SEGMENTS equal parts; the median part is the result, so a burst
  // of other load on the machine does not decide the number.
  // Each part's process CPU time is kept too: on a loaded machine it shows how much of the wall
  // time the process was waiting for a core.
  const perSegment: { ns: number; cpuNs: number }[] = [];
  const floorNs: number[] = [];
  const ratios: number[] = [];
  for (let seg = 0; seg < CHURN_SEGMENTS; seg++) {
    const from = warm + Math.floor(((c.pairs - warm) * seg) / CHURN_SEGMENTS);
    const to = warm + Math.floor(((c.pairs - warm) * (seg + 1)) / CHURN_SEGMENTS);
    if (to <= from) continue;
    const floorPart = () => timed(() => floorLoop!.call(f!, from, to), to - from).ns;
    let fl = f && seg % 2 === 1 ? floorPart() : 0;
    const part = timed(() => t.replace(from, to), to - from);
    if (f && seg % 2 === 0) fl = floorPart();
    perSegment.push(part);
    if (f) {
      floorNs.push(fl);
      ratios.push(part.ns / fl);
    }
  }
  perSegment.sort((x, y) => x.ns - y.ns);
  const mid = perSegment[perSegment.length >> 1];
  // Every block left is read back too (not freed: the process ends, and some peers free in O(live)).
  for (let i = 0; i < c.window; i++) t.verify(i);
  const result: ChurnResult = { ns: mid?.ns ?? Number.NaN, cpuNs: mid?.cpuNs ?? Number.NaN, table: t };
  if (f) {
    for (let i = 0; i < c.window; i++) f.verify(i);
    if (f.corrupt > 0)
      throw new Error(`the floor read back other bytes than were written (${f.corrupt} blocks)`);
    result.floorNs = median(floorNs);
    result.perFloor = median(ratios);
  }
  return result;
}

/** The floor runs next to `info` in its process: small-block rows, any allocator but the floor itself. */
function pairedFloor(info: AllocatorInfo, c: ChurnConfig): AllocatorInfo | undefined {
  if (info.name === 'floor') return undefined;
  return tooLarge(floorInfo, c.maxSize) === undefined ? floorInfo : undefined;
}

const variantName = (label: string, window: number) => `${label}window ${window.toLocaleString('en-US')}`;

export const churn: Workload<ChurnConfig> = {
  name: 'churn',
  unit: 'ns/pair',
  better: 'lower',
  describe: (suite) =>
    `random free+malloc, 8 B – 1 KiB in a window of 1,000 and of 100,000 live blocks (${PAIRS[suite].toLocaleString('en-US')} pairs), 1–32 KiB in a window of 1,000 (a quarter of the pairs), 32 KiB – 1 MiB in a window of 200 (1/40); pairs drawn before timing, the first tenth untimed (JIT warm-up), the rest timed in ${CHURN_SEGMENTS} parts; ns per pair of the median part`,
  variants: (suite) =>
    VARIANTS.map((v) => {
      const variant = variantName(v.label, v.window);
      return {
        variant,
        config: {
          variant,
          window: v.window,
          pairs: Math.round(PAIRS[suite] * v.share),
          minSize: v.minSize,
          maxSize: v.maxSize,
          seed: 0xc4a2,
        },
      };
    }),
  unsupported: (info, c) => tooLarge(info, c.maxSize),
  cap(info, c) {
    const slow = SLOW_PAIRS[info.name];
    if (!slow || slow(c.window) >= c.pairs) return undefined;
    const pairs = slow(c.window);
    return {
      config: { ...c, pairs },
      why: `${pairs.toLocaleString('en-US')} pairs: its free walks the list of live blocks`,
    };
  },
  budgetBytes: (c) => Math.max(64 * 2 ** 20, c.window * (c.maxSize + 64) * 2),
  async run(info, c) {
    const a = await info.create({ budgetBytes: churn.budgetBytes(c) });
    const floorInfo = pairedFloor(info, c);
    const floor = floorInfo ? await floorInfo.create({ budgetBytes: churn.budgetBytes(c) }) : undefined;
    const r = churnRun(a, c, floor);
    const main = result(c, r.ns, r.cpuNs, r.table);
    if (r.perFloor === undefined) return [main];
    return [
      { ...main, extra: { ...main.extra, floorNs: r.floorNs! } },
      {
        ...main,
        variant: floorVariant(c.variant),
        unit: '× floor',
        value: r.perFloor,
        extra: { floorNs: r.floorNs! },
      },
    ];
  },
  async model(c) {
    const { table } = churnRun(new RefAllocator(), c);
    const expected = { checksum: table.checksum, ops: c.pairs, extra: {} };
    return new Map([
      [c.variant, expected],
      [floorVariant(c.variant), expected],
    ]);
  },
};

function result(c: ChurnConfig, ns: number, cpuNs: number, t: BlockTable): Measurement {
  return {
    variant: c.variant,
    unit: 'ns/pair',
    value: ns,
    better: 'lower',
    ops: c.pairs,
    checksum: t.checksum,
    corrupt: t.corrupt,
    extra: { cpuNs },
  };
}

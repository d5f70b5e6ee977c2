import { RefAllocator } from '../adapters/ref';
import { type Allocator, tooLarge } from '../adapters/types';
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

export function churnRun(a: Allocator, c: ChurnConfig): { ns: number; cpuNs: number; table: BlockTable } {
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
  // Warm-up: the first pairs, untimed, in short calls, so the loop is optimised code (and the
  // allocator's paths are warm) before the clock starts. Every pair is still checked.
  const warm = Math.floor(c.pairs / CHURN_WARMUP);
  for (let k = 0; k < warm; k += WARMUP_CALL) t.replace(k, Math.min(warm, k + WARMUP_CALL));
  // The rest is timed in CHURN_SEGMENTS equal parts; the median part is the result, so a burst
  // of other load on the machine does not decide the number.
  // Each part's process CPU time is kept too: on a loaded machine it shows how much of the wall
  // time the process was waiting for a core.
  const perSegment: { ns: number; cpuNs: number }[] = [];
  for (let seg = 0; seg < CHURN_SEGMENTS; seg++) {
    const from = warm + Math.floor(((c.pairs - warm) * seg) / CHURN_SEGMENTS);
    const to = warm + Math.floor(((c.pairs - warm) * (seg + 1)) / CHURN_SEGMENTS);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    t.replace(from, to);
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    if (to > from) {
      perSegment.push({
        ns: ((t1 - t0) * 1e6) / (to - from),
        cpuNs: ((cpu.user + cpu.system) * 1e3) / (to - from),
      });
    }
  }
  perSegment.sort((x, y) => x.ns - y.ns);
  const median = perSegment[perSegment.length >> 1];
  // Every block left is read back too (not freed: the process ends, and some peers free in O(live)).
  for (let i = 0; i < c.window; i++) t.verify(i);
  return { ns: median?.ns ?? Number.NaN, cpuNs: median?.cpuNs ?? Number.NaN, table: t };
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
    const { ns, cpuNs, table } = churnRun(a, c);
    return [result(c, ns, cpuNs, table)];
  },
  async model(c) {
    const { table } = churnRun(new RefAllocator(), c);
    return new Map([[c.variant, { checksum: table.checksum, ops: c.pairs, extra: {} }]]);
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

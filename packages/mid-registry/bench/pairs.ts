/**
 * malloc+free cost of the mid tier against the page-run tier (`RunTier` of @hakmem/page-arena,
 * what the default composition serves these sizes with until the mid tier joins it), in one run,
 * for the same sizes: (1) a malloc immediately freed, at fixed sizes; (2) a churn window of 1,000
 * live blocks of random 1 – 32 KiB, each step freeing a random one and allocating another.
 * Prints ns per malloc+free pair (median of RUNS) and the ratios. Not a test: no thresholds.
 *
 * Run: node bench/run.mjs   (bundles this file with tsup in the release flavour, then runs it)
 */
import { Arena, RunTier } from '@hakmem/page-arena';
import { MidTier } from '../src/index';

const RUNS = 7;
const WINDOW = 1000;
const MASK = (1 << 16) - 1;
const SIZES = [1024, 1025, 4096, 8192, 16384, 32768];

type Safety = 'strict' | 'fast';

function arena(safety: Safety): Arena {
  const a = Arena.format({ initialBytes: 64 * 2 ** 20, maxBytes: 512 * 2 ** 20, safety });
  a.threadAttach();
  return a;
}

/** xorshift32: the same sequence in every run and tier. */
function prng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const next = prng(0x9e3779b9);
const churnSizes = new Int32Array(MASK + 1);
const churnPicks = new Int32Array(MASK + 1);
for (let i = 0; i <= MASK; i++) {
  churnSizes[i] = 1024 + (next() % 31745);
  churnPicks[i] = next() % WINDOW;
}

// One loop per tier class, so each call site stays monomorphic.
function pairsMid(tier: MidTier, size: number, n: number): void {
  for (let i = 0; i < n; i++) tier.free(tier.malloc(size));
}

function pairsRun(tier: RunTier, size: number, n: number): void {
  for (let i = 0; i < n; i++) tier.free(tier.malloc(size));
}

function churnMid(tier: MidTier, window: number[], n: number, offset: number): void {
  for (let k = 0; k < n; k++) {
    const r = (k + offset) & MASK;
    const slot = churnPicks[r]!;
    tier.free(window[slot]!);
    window[slot] = tier.malloc(churnSizes[(r * 7 + 3) & MASK]!);
  }
}

function churnRun(tier: RunTier, window: number[], n: number, offset: number): void {
  for (let k = 0; k < n; k++) {
    const r = (k + offset) & MASK;
    const slot = churnPicks[r]!;
    tier.free(window[slot]!);
    window[slot] = tier.malloc(churnSizes[(r * 7 + 3) & MASK]!);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(fn: () => void, n: number): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

/** ns per pair for each row, for one tier. */
function measure(kind: 'mid' | 'run', safety: Safety): number[] {
  const a = arena(safety);
  const out: number[] = [];
  const mid = kind === 'mid' ? new MidTier(a) : null;
  const run = kind === 'run' ? new RunTier(a) : null;
  const n = kind === 'mid' ? 2_000_000 : 200_000;
  for (const size of SIZES) {
    const one = mid ? () => pairsMid(mid, size, n) : () => pairsRun(run!, size, n);
    one(); // warm up
    out.push(median(Array.from({ length: RUNS }, () => time(one, n))));
  }
  const window: number[] = [];
  for (let i = 0; i < WINDOW; i++)
    window.push(mid ? mid.malloc(churnSizes[i]!) : run!.malloc(churnSizes[i]!));
  const m = kind === 'mid' ? 1_000_000 : 100_000;
  let offset = 0;
  const step = mid
    ? () => churnMid(mid, window, m, (offset += 977))
    : () => churnRun(run!, window, m, (offset += 977));
  step();
  out.push(median(Array.from({ length: RUNS }, () => time(step, m))));
  for (const p of window) (mid ?? run!).free(p);
  if (mid) {
    mid.check();
    const st = mid.stats();
    const hits = st.classes.reduce((a, c) => a + c.hits, 0);
    const misses = st.classes.reduce((a, c) => a + c.misses, 0);
    notes.push(
      `mid ${safety}: ${hits} cache hits, ${misses} misses (${((100 * misses) / (hits + misses)).toFixed(2)} %)`,
    );
  }
  return out;
}

const notes: string[] = [];
const rows = [...SIZES.map((s) => `malloc+free ${s} B`), `churn window ${WINDOW}, 1–32 KiB`];
const midStrict = measure('mid', 'strict');
const midFast = measure('mid', 'fast');
const run = measure('run', 'strict');
console.log(
  `ns per malloc+free pair (median of ${RUNS}); ratio = page-run tier / mid tier (higher: mid faster)`,
);
console.log('| workload | mid strict | mid fast | run tier | run / mid strict | run / mid fast |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (let i = 0; i < rows.length; i++) {
  console.log(
    `| ${rows[i]} | ${midStrict[i]!.toFixed(1)} | ${midFast[i]!.toFixed(1)} | ${run[i]!.toFixed(1)} | ${(run[i]! / midStrict[i]!).toFixed(1)}× | ${(run[i]! / midFast[i]!).toFixed(1)}× |`,
  );
}
for (const note of notes) console.log(note);

/**
 * Benchmark of the big tier against the page-run tier (RunTier of @hakmem/page-arena), same
 * sizes, same process, release build:
 *   - pairs: malloc + free of one block in a loop (1, 2, 8, 64 MiB);
 *   - batch: 8 mallocs then 8 frees (the project bench's "sizes" shape), 1 and 8 MiB;
 *   - realloc: 8 live buffers grown in 1.5× steps from 16 B to 4 MiB, sizes ≤ 1 MiB as page
 *     runs and above through the tier measured (the steps above 1 MiB are the big tier's part).
 * Prints ns per operation, the median of RUNS runs, and the ratio to RunTier. Not a test.
 *
 * Run: node bench/run.mjs   (bundles this file with tsup, then runs it; add --cpu-prof to profile)
 */
import { Arena, RunTier } from '@hakmem/page-arena';
import { type BigTier, bigTier } from '../src/index';

const MiB = 2 ** 20;
const RUNS = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function arena(safety: 'strict' | 'fast'): Arena {
  const a = Arena.format({ initialBytes: 16 * MiB, maxBytes: 2 ** 30, safety });
  a.threadAttach();
  return a;
}

/** The big tier from 1 MiB (so the 1 MiB row is its own), as a composition would open it. */
function bigOf(a: Arena): BigTier {
  return bigTier.create(
    a,
    a.tierOpen('big', MiB, 2 ** 30 - 3 * 65536, bigTier.rootWords, bigTier.layoutVersion),
  );
}

// One function per tier class: each call site stays monomorphic.
function bigPairs(t: BigTier, size: number, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) t.free(t.malloc(size));
  return Number(process.hrtime.bigint() - t0) / n;
}
function runPairs(t: RunTier, size: number, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) t.free(t.malloc(size));
  return Number(process.hrtime.bigint() - t0) / n;
}
function bigBatch(t: BigTier, size: number, n: number, held: Float64Array): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 8; k++) held[k] = t.malloc(size);
    for (let k = 0; k < 8; k++) t.free(held[k]!);
  }
  return Number(process.hrtime.bigint() - t0) / (8 * n);
}
function runBatch(t: RunTier, size: number, n: number, held: Float64Array): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 8; k++) held[k] = t.malloc(size);
    for (let k = 0; k < 8; k++) t.free(held[k]!);
  }
  return Number(process.hrtime.bigint() - t0) / (8 * n);
}

function measure(fn: () => number): number {
  fn(); // warm up: the JIT optimises, the cache fills
  const xs: number[] = [];
  for (let r = 0; r < RUNS; r++) xs.push(fn());
  return median(xs);
}

function fmt(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}

function row(label: string, big: number, run: number): void {
  console.log(
    `${label.padEnd(28)} big ${fmt(big).padStart(9)}   run ${fmt(run).padStart(9)}   big/run ${(big / run).toFixed(3)}×  (run/big ${(run / big).toFixed(1)}×)`,
  );
}

for (const safety of ['strict', 'fast'] as const) {
  console.log(`\n— ${safety} —`);
  for (const size of [MiB, 2 * MiB, 8 * MiB, 64 * MiB]) {
    const n = 20_000;
    const ab = arena(safety);
    const ar = arena(safety);
    const big = bigOf(ab);
    const run = new RunTier(ar);
    row(
      `malloc+free ${size / MiB} MiB`,
      measure(() => bigPairs(big, size, n)),
      measure(() => runPairs(run, size, n)),
    );
  }
  for (const size of [MiB, 8 * MiB]) {
    const n = 2_500;
    const held = new Float64Array(8);
    const big = bigOf(arena(safety));
    const run = new RunTier(arena(safety));
    row(
      `8× malloc, 8× free ${size / MiB} MiB`,
      measure(() => bigBatch(big, size, n, held)),
      measure(() => runBatch(run, size, n, held)),
    );
  }
  reallocRows(safety);
}

// ───────────────────────────── realloc ─────────────────────────────

interface ReallocResult {
  /** ns per realloc, all steps. */
  all: number;
  /** ns per realloc of the steps whose new size is above 1 MiB. */
  above: number;
  /** Share of the steps above 1 MiB done in place. */
  inPlace: number;
}

/**
 * 8 live buffers (picked at random, so their growth interleaves) grown from 16 B to 4 MiB in
 * 1.5× steps, `buffers` in all; what the umbrella's realloc does: in place when the tier of the
 * new size is the block's and its resize succeeds, else malloc, copy, free.
 */
function reallocLoop(a: Arena, small: RunTier, big: BigTier | RunTier, buffers: number): ReallocResult {
  const live = 8;
  const ptrs = new Float64Array(live);
  const sizes = new Float64Array(live);
  let x = 0x2545f491;
  let started = 0;
  let finished = 0;
  let steps = 0;
  let stepsAbove = 0;
  let inPlace = 0;
  let nsAbove = 0;
  const t0 = process.hrtime.bigint();
  while (finished < buffers) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % live;
    const size = sizes[j]!;
    if (size === 0) {
      if (started === buffers) continue;
      started++;
      ptrs[j] = small.malloc(16);
      sizes[j] = 16;
      continue;
    }
    const ptr = ptrs[j]!;
    const from = size > MiB ? big : small;
    if (size >= 4 * MiB) {
      from.free(ptr);
      sizes[j] = 0;
      finished++;
      continue;
    }
    const next = Math.min(4 * MiB, Math.ceil(size * 1.5));
    const to = next > MiB ? big : small;
    const s0 = next > MiB ? process.hrtime.bigint() : 0n;
    let q = ptr;
    if (!(from === to && to.resize(ptr, next))) {
      q = to.malloc(next);
      a.u8.copyWithin(q, ptr, ptr + size);
      from.free(ptr);
    } else if (next > MiB) {
      inPlace++;
    }
    if (next > MiB) {
      nsAbove += Number(process.hrtime.bigint() - s0);
      stepsAbove++;
    }
    steps++;
    ptrs[j] = q;
    sizes[j] = next;
  }
  const all = Number(process.hrtime.bigint() - t0) / steps;
  return { all, above: nsAbove / stepsAbove, inPlace: inPlace / stepsAbove };
}

function reallocRows(safety: 'strict' | 'fast'): void {
  const buffers = 400;
  const results = { big: [] as ReallocResult[], run: [] as ReallocResult[] };
  for (let r = 0; r <= RUNS; r++) {
    const ab = arena(safety);
    const big = reallocLoop(ab, new RunTier(ab), bigOf(ab), buffers);
    const ar = arena(safety);
    const runOnly = new RunTier(ar);
    const run = reallocLoop(ar, runOnly, runOnly, buffers);
    if (r > 0) {
      results.big.push(big);
      results.run.push(run);
    }
  }
  const m = (rs: ReallocResult[], k: keyof ReallocResult) => median(rs.map((x) => x[k]));
  row('realloc 16 B → 4 MiB, all', m(results.big, 'all'), m(results.run, 'all'));
  row('realloc steps above 1 MiB', m(results.big, 'above'), m(results.run, 'above'));
  console.log(
    `${''.padEnd(28)} in place above 1 MiB: big ${(100 * m(results.big, 'inPlace')).toFixed(0)} %, run ${(100 * m(results.run, 'inPlace')).toFixed(0)} %`,
  );
}

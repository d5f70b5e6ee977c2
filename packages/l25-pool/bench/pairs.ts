/**
 * malloc+free cost of one tier, in its own process (so each tier's loops stay monomorphic):
 * `pairs.mjs <l25-strict | l25-fast | run>` prints one JSON line of ns per malloc+free pair for
 *  - pair S: p = malloc(S); free(p), for S = 40 KiB, 64 KiB, 256 KiB, 1 MiB;
 *  - window: 64 live blocks of random 32 KiB – 1 MiB (log-uniform); each step frees a random one
 *    and allocates a new random size in its place.
 * Each figure is the median of RUNS timed runs after a warm-up. Not a test: no thresholds.
 * Run through bench/run.mjs, which bundles the release build and compares the tiers.
 */
import { Arena, RunTier, type Tier } from '@hakmem/page-arena';
import { L25Tier } from '../src/index';

const RUNS = 7;
const MiB = 2 ** 20;
const MASK = (1 << 16) - 1;
const WINDOW = 64;

function prng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const which = process.argv[2] ?? 'l25-strict';
const arena = Arena.format({
  initialBytes: 64 * MiB,
  maxBytes: 512 * MiB,
  safety: which === 'l25-fast' ? 'fast' : 'strict',
});
arena.threadAttach();
const tier: Tier = which === 'run' ? new RunTier(arena) : new L25Tier(arena);
// Lift the run tier's range: the bench calls it with L2.5 sizes.
const slow = which === 'run';

function pairs(size: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const p = tier.malloc(size);
    tier.free(p);
  }
}

const next = prng(0x9e3779b9);
const sizes = new Int32Array(MASK + 1);
const picks = new Int32Array(MASK + 1);
for (let i = 0; i <= MASK; i++) {
  const e = 15 + (next() % 5);
  sizes[i] = Math.min(MiB, 2 ** e + (next() % 2 ** e));
  picks[i] = next() % WINDOW;
}
const window = new Array<number>(WINDOW).fill(0);

function churn(n: number, offset: number): void {
  for (let k = 0; k < n; k++) {
    const r = (k + offset) & MASK;
    const slot = picks[r]!;
    tier.free(window[slot]!);
    window[slot] = tier.malloc(sizes[(r * 7 + 3) & MASK]!);
  }
}

/** ns per call of `step(n)` / n: median of RUNS runs of n steps, n sized to ~60 ms a run. */
function time(step: (n: number, offset: number) => void): number {
  let n = slow ? 2000 : 20_000;
  step(n, 0); // warm-up: caches fill, the JIT optimises
  for (;;) {
    const t0 = process.hrtime.bigint();
    step(n, 1);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms >= 60 || n >= 1 << 24) break;
    n *= 2;
  }
  const results: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = process.hrtime.bigint();
    step(n, run * 977);
    results.push(Number(process.hrtime.bigint() - t0) / n);
  }
  results.sort((a, b) => a - b);
  return results[RUNS >> 1]!;
}

/** A third argument runs only the workloads whose name contains it (for profiles). */
const only = process.argv[3] ?? '';
const out: Record<string, number> = {};
for (const size of [40 * 1024, 64 * 1024, 256 * 1024, MiB]) {
  const name = `pair ${size / 1024} KiB`;
  if (name.includes(only)) out[name] = time((n) => pairs(size, n));
}
for (let i = 0; i < WINDOW; i++) window[i] = tier.malloc(sizes[i]!);
if ('window'.includes(only) || only === '') out['window 64, 32 KiB – 1 MiB'] = time(churn);
for (let i = 0; i < WINDOW; i++) tier.free(window[i]!);
tier.trim();
tier.check();
if (tier.stats().liveBlocks !== 0) throw new Error('bench: blocks left live');
console.log(JSON.stringify(out));

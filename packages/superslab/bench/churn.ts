/**
 * Churn benchmark of the composed tiny tier (tls-cache over superslab, as the hakmem umbrella
 * calls it): a window of 1,000 live blocks of 8 B – 1 KiB; each step frees a random block of
 * the window and allocates a new random size in its place. Prints ns per free+malloc pair for
 * strict and fast safety, median of several runs. Not a test: no thresholds.
 *
 * Run: node bench/run.mjs   (bundles this file with tsup, then runs it; add --cpu-prof to profile)
 */
import { Arena } from '@hakmem/page-arena';
import { TinyTier } from '../src/index';

const WINDOW = 1000;
const PAIRS = 4_000_000;
const RUNS = 7;
const MASK = (1 << 16) - 1;

/** xorshift32: the same sequence in every run and mode. */
function prng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function churn(safety: 'strict' | 'fast'): number[] {
  const arena = Arena.format({ initialBytes: 16 * 2 ** 20, maxBytes: 256 * 2 ** 20, safety });
  arena.threadAttach();
  const tiny = new TinyTier(arena);
  const next = prng(0x9e3779b9);
  const sizes = new Int32Array(MASK + 1);
  const picks = new Int32Array(MASK + 1);
  for (let i = 0; i <= MASK; i++) {
    sizes[i] = 8 + (next() % 1017);
    picks[i] = next() % WINDOW;
  }
  const window: number[] = new Array(WINDOW).fill(0);
  for (let i = 0; i < WINDOW; i++) window[i] = tiny.malloc(sizes[i]!);

  const step = (pairs: number, offset: number): void => {
    for (let k = 0; k < pairs; k++) {
      const r = (k + offset) & MASK;
      const slot = picks[r]!;
      const p = window[slot]!;
      // what the umbrella does first on every free
      if (!tiny.freeOwned(p)) throw new Error('not tiny');
      window[slot] = tiny.malloc(sizes[(r * 7 + 3) & MASK]!);
    }
  };
  step(PAIRS, 0); // warm up: caches adapt, the JIT optimises
  const results: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = process.hrtime.bigint();
    step(PAIRS, run * 977);
    const ns = Number(process.hrtime.bigint() - t0);
    results.push(ns / PAIRS);
  }
  for (let i = 0; i < WINDOW; i++) {
    tiny.free(window[i]!);
  }
  tiny.check();
  if (process.env.BENCH_STATS) {
    const st = tiny.stats();
    const hits = st.classes.reduce((a, c) => a + c.hits, 0);
    const misses = st.classes.reduce((a, c) => a + c.misses, 0);
    console.log(
      `  ${safety}: hits ${hits}, misses ${misses}, capacities ${st.classes.map((c) => c.capacity).join(' ')}`,
    );
  }
  return results;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const modes = (process.argv[2] ?? 'strict,fast').split(',') as Array<'strict' | 'fast'>;
const medians: Record<string, number> = {};
for (const mode of modes) {
  const r = churn(mode);
  medians[mode] = median(r);
  console.log(
    `churn window ${WINDOW}, 8 B – 1 KiB, ${mode.padEnd(6)}: ${medians[mode]!.toFixed(1)} ns per free+malloc pair (median of ${RUNS}; runs ${r.map((x) => x.toFixed(1)).join(' ')})`,
  );
}
if (medians.strict !== undefined && medians.fast !== undefined) {
  console.log(`fast / strict = ${(medians.fast / medians.strict).toFixed(2)}`);
}

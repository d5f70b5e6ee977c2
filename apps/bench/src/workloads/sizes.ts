import { Bench } from 'tinybench';
import { RefAllocator } from '../adapters/ref';
import { seedOf, xorshift32 } from '../prng';
import { BlockTable } from './blocks';
import type { Measurement, Workload } from './types';

/**
 * malloc+free cost at one size: a tinybench task mallocs `batch` blocks of that size (tags
 * written) and frees them (tags checked), so each timed call holds enough operations that the
 * timer does not dominate. ns per malloc+free pair = mean task time ÷ batch.
 */
export interface SizesConfig {
  sizes: number[];
  timeMs: number;
  warmupMs: number;
  seed: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [16, 256, 4 * KiB, 64 * KiB, MiB, 8 * MiB];

export function sizeLabel(bytes: number): string {
  if (bytes >= MiB) return `${bytes / MiB} MiB`;
  if (bytes >= KiB) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}

/** Blocks per timed call: many for small sizes, few for large ones. */
export function batchOf(size: number): number {
  if (size <= 4 * KiB) return 256;
  if (size <= 64 * KiB) return 64;
  if (size <= MiB) return 16;
  return 8;
}

/** One timed call: batch mallocs then batch frees, same tags every call. */
export function batchRun(t: BlockTable, size: number, batch: number, seed: number): void {
  let s = seed;
  for (let i = 0; i < batch; i++) {
    s = xorshift32(s);
    t.place(i, size, s);
  }
  for (let i = 0; i < batch; i++) t.release(i);
}

export const sizes: Workload<SizesConfig> = {
  name: 'sizes',
  unit: 'ns/pair',
  better: 'lower',
  describe: (suite) =>
    `malloc+free of one size (16 B … 8 MiB), tinybench, ${suite === 'quick' ? 200 : 1000} ms per size, 8–256 blocks per timed call; ns per pair`,
  variants: (suite) => [
    {
      variant: 'all sizes',
      config: {
        sizes: SIZES,
        timeMs: suite === 'quick' ? 200 : 1000,
        warmupMs: suite === 'quick' ? 30 : 200,
        seed: 0x5173,
      },
    },
  ],
  rows: (c) => c.sizes.map(sizeLabel),
  unsupported: () => undefined,
  cap: () => undefined,
  budgetBytes: (c) => Math.max(...c.sizes.map((s) => (s + 4096) * batchOf(s))) * 2 + 32 * MiB,
  async run(info, c) {
    const out: Measurement[] = [];
    for (const size of c.sizes) {
      const variant = sizeLabel(size);
      const batch = batchOf(size);
      if (size > info.maxBlock) {
        out.push({
          variant,
          unit: 'ns/pair',
          value: Number.NaN,
          better: 'lower',
          ops: 0,
          checksum: 0,
          corrupt: 0,
          extra: { unsupported: 1 },
        });
        continue;
      }
      // A fresh heap per size, as if each size were its own process.
      const a = await info.create({ budgetBytes: (size + 4096) * batch * 2 + 32 * MiB });
      const t = new BlockTable(a, batch);
      const seed = seedOf(c.seed, size);
      batchRun(t, size, batch, seed);
      const first = t.checksum;
      let calls = 0;
      let mismatched = 0;
      const bench = new Bench({ time: c.timeMs, warmupTime: c.warmupMs, iterations: 16, throws: true });
      bench.add(variant, () => {
        t.checksum = 0;
        batchRun(t, size, batch, seed);
        calls++;
        if (t.checksum !== first) mismatched++;
      });
      await bench.run();
      const task = bench.tasks[0]!;
      const r = task.result;
      if (r.state !== 'completed') throw new Error(`tinybench task ${variant} ended ${r.state}`);
      out.push({
        variant,
        unit: 'ns/pair',
        value: (r.latency.mean * 1e6) / batch,
        better: 'lower',
        ops: task.runs * batch,
        checksum: first,
        corrupt: t.corrupt + mismatched,
        extra: { batch, calls, rme: r.latency.rme },
      });
      a.detach();
    }
    return out;
  },
  async model(c) {
    const m = new Map<string, { checksum: number; ops: number; extra: Record<string, number> }>();
    for (const size of c.sizes) {
      const batch = batchOf(size);
      const t = new BlockTable(new RefAllocator(), batch);
      batchRun(t, size, batch, seedOf(c.seed, size));
      m.set(sizeLabel(size), { checksum: t.checksum, ops: 0, extra: {} });
    }
    return m;
  },
};

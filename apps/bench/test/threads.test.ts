import { describe, expect, it } from 'vitest';
import { allocatorInfo } from '../src/adapters';
import { hakmemMissing } from '../src/adapters/hakmem';
import type { AdapterName } from '../src/adapters/types';
import { type LarsonConfig, larsonModel, larsonRun } from '../src/workloads/larson';
import { type PcConfig, pcModel, pcRun } from '../src/workloads/producer-consumer';

// Workers run the built bundle (`pnpm --filter @hakmem/bench build` first; turbo does it for `test`).
const workerUrl = new URL('../build/worker.mjs', import.meta.url);
const hakmemReason = await hakmemMissing();

const small = (threads: number): LarsonConfig => ({
  threads,
  chunks: 200,
  rounds: 3,
  generations: 3,
  warmup: 1,
  minSize: 8,
  maxSize: 1000,
  seed: 4141,
});

describe('larson model', () => {
  it('counts T × generations × rounds × chunks replacements, and cross-thread frees only when T > 1', () => {
    const one = larsonModel(small(1));
    expect(one.ops).toBe(1 * 3 * 3 * 200);
    expect(one.crossFrees).toBe(0);
    const two = larsonModel(small(2));
    expect(two.ops).toBe(2 * 3 * 3 * 200);
    // Generation 0 frees only own blocks; every later one starts on the other worker's array.
    expect(two.crossFrees).toBeGreaterThan(0);
    expect(two.crossFrees).toBeLessThan(two.ops);
  });
});

const threadSafe: AdapterName[] = ['smo', 'hakmem', 'hakmem-fast'];

describe.each(threadSafe)('larson with real workers on %s', (name) => {
  const skip = name.startsWith('hakmem') && hakmemReason !== undefined;
  it.skipIf(skip)('2 workers: operation count, cross-thread frees and checksum equal the model', async () => {
    const c = small(2);
    const r = await larsonRun(allocatorInfo(name), c, workerUrl);
    const m = larsonModel(c);
    expect(r.corrupt).toBe(0);
    expect(r.ops).toBe(m.ops);
    expect(r.crossFrees).toBe(m.crossFrees);
    expect(r.checksum).toBe(m.checksum);
  });

  it.skipIf(skip)('producer-consumer: every block crosses threads intact', async () => {
    const c: PcConfig = { blocks: 20_000, ring: 64, minSize: 8, maxSize: 1024, seed: 3 };
    const r = await pcRun(allocatorInfo(name), c, workerUrl);
    expect(r.corrupt).toBe(0);
    expect(r.checksum).toBe(pcModel(c));
  });
});

describe('larson with one worker on a single-threaded peer', () => {
  it('as-tlsf: the worker makes its own heap; count and checksum equal the model', async () => {
    const c = small(1);
    const r = await larsonRun(allocatorInfo('as-tlsf'), c, workerUrl);
    const m = larsonModel(c);
    expect(r.corrupt).toBe(0);
    expect(r.ops).toBe(m.ops);
    expect(r.crossFrees).toBe(0);
    expect(r.checksum).toBe(m.checksum);
  });
});

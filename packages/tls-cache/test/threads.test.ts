import { Worker } from 'node:worker_threads';
import { Arena } from '@hakmem/page-arena';
import { afterEach, describe, expect, it } from 'vitest';
import { TlsCache } from '../src/tls-cache';
// @ts-expect-error: a plain .mjs test helper without types
import { CACHE_ROOT_WORD, PoolBackend, SIZES } from './pool-backend.mjs';

const WORKER = new URL('./cache-worker.mjs', import.meta.url);
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

describe('TlsCache under workers', () => {
  it('three workers churn through their caches; one is terminated mid-run and its cache is reclaimed', async () => {
    const arena = Arena.format({ initialBytes: 2 ** 20, maxBytes: 64 * 2 ** 20 });
    arena.threadAttach();
    const backend = new PoolBackend(arena);
    const rootWord = backend.root + CACHE_ROOT_WORD;
    const cache = new TlsCache(arena, backend, {
      tier: backend.tier,
      threadWord: 0,
      classSizes: SIZES,
      rootWord,
    });
    const slots = 2000;
    const tables = [0, 1, 2].map(() => new SharedArrayBuffer((2 * slots + 1) * 4));
    const team = tables.map((table, k) => {
      const w = new Worker(WORKER, {
        workerData: { memory: arena.memory, table, seed: 17 + k, rounds: k === 0 ? 1e9 : 200_000 },
      });
      workers.push(w);
      return w;
    });
    const ids = await Promise.all(
      team.map((w) => new Promise<number>((r) => w.once('message', (m) => r(m.threadId)))),
    );
    const finished = team.slice(1).map(
      (w) =>
        new Promise((r, j) => {
          w.on('message', (m) => m.done && r(m));
          w.once('error', j);
        }),
    );
    // worker 0 runs until terminated, somewhere in its loop
    const progress = new Int32Array(tables[0]!);
    while (Atomics.load(progress, progress.length - 1) < 50) await new Promise((r) => setTimeout(r, 2));
    await team[0]!.terminate();
    // First: the others may be waiting for a lock it died holding.
    const dead = ids[0]!;
    arena.breakLocksOf(dead);
    await Promise.all(finished);
    const cachedBefore = cache.cacheStats().reduce((a, c) => a + c.cached, 0);
    const recovered = cache.cacheReclaim(dead);
    expect(recovered).toBe(cachedBefore);
    arena.threadRelease(dead);
    cache.cacheCheck();
    // every carved block is exactly once in the pool or held by the dead worker's table;
    // at most one spill or refill batch was in flight when it died
    const held = new Int32Array(tables[0]!);
    const seen = new Set<number>();
    for (const p of backend.freeBlocks()) {
      expect(seen.has(p)).toBe(false);
      seen.add(p);
    }
    for (let i = 0; i < slots; i++) {
      const p = held[2 * i]! >>> 0;
      if (p === 0) continue;
      expect(seen.has(p)).toBe(false);
      seen.add(p);
    }
    const carved = backend.carvedBlocks();
    expect(seen.size).toBeLessThanOrEqual(carved);
    expect(carved - seen.size).toBeLessThanOrEqual(512);
    const st = cache.cacheStats();
    // live = blocks the dead worker held (recorded) plus any in flight
    const recorded = [...Array(slots).keys()].filter((i) => held[2 * i] !== 0).length;
    const live = st.reduce((a, c) => a + c.live, 0);
    expect(live).toBeGreaterThanOrEqual(recorded);
    expect(live - recorded).toBeLessThanOrEqual(1);
    expect(st.reduce((a, c) => a + c.cached, 0)).toBe(0);
  });
});

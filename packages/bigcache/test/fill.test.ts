import { Worker } from 'node:worker_threads';
import { Arena, type HeapMemory } from '@hakmem/page-arena';
import { afterEach, describe, expect, it } from 'vitest';
import { BigTier } from '../src/index';

/**
 * The fill scenario: four workers allocate random 1–16 MiB blocks in a 512 MiB heap until the
 * first out-of-memory. After a churn that fills every cache, the workers flush their thread
 * caches (a thread's cache is its own: another thread's malloc can only ask for it, which
 * big-tier.test.ts covers), so the shared cache is full of runs most fill requests cannot use,
 * and it must give them back rather than let a malloc fail: at the first failure the workers
 * hold ≥ 80 % of maxBytes, every cache is empty and no free run could have served the request.
 * Then everything is freed, check() passes, and trim() returns the cache.
 */
const WORKER = new URL('./big-worker.mjs', import.meta.url);
const MiB = 2 ** 20;
const MAX_BYTES = 512 * MiB;
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

type Reply = Record<string, unknown> & { ok: boolean; error?: string };

async function spawn(memory: HeapMemory) {
  const w = new Worker(WORKER, { workerData: { memory } });
  workers.push(w);
  let next = 1;
  const waiting = new Map<number, (r: Reply) => void>();
  let ready: () => void = () => {};
  let failed: (e: Error) => void = () => {};
  const first = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  w.on('message', (m: Reply & { id: number }) => {
    if (m.id === 0) ready();
    else waiting.get(m.id)?.(m);
  });
  // A worker that fails or exits answers every pending call with the reason (no hang).
  const fail = (reason: string) => {
    failed(new Error(reason));
    for (const answer of waiting.values()) answer({ ok: false, error: reason });
  };
  w.on('error', (e) => fail(`worker error: ${e.message}`));
  w.on('exit', (code) => fail(`worker exited with code ${code}`));
  await first;
  return (op: string, args: Record<string, unknown> = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const id = next++;
      waiting.set(id, (r) => (r.ok ? resolve(r) : reject(new Error(`${op}: ${r.error}`))));
      w.postMessage({ id, op, ...args });
    });
}

describe('BigTier fill scenario', () => {
  it('four workers fill a 512 MiB heap with 1–16 MiB blocks: ≥ 80 % held at the first out-of-memory, the cache gave its runs back', async () => {
    const arena = Arena.format({ initialBytes: MiB, maxBytes: MAX_BYTES, safety: 'strict' });
    arena.threadAttach();
    const big = new BigTier(arena);
    const team = await Promise.all([0, 1, 2, 3].map(() => spawn(arena.memory)));
    const sizes = { minSize: MiB + 1, maxSize: 16 * MiB };
    // Phase 1: churn with 1–3 MiB blocks, so the cache is full of runs most fill requests cannot use.
    await Promise.all(
      team.map((call, k) =>
        call('warm', { seed: 31 + k, rounds: 60, hold: 4, minSize: MiB + 1, maxSize: 3 * MiB }),
      ),
    );
    const warm = big.stats();
    expect(warm.liveBlocks).toBe(0);
    expect(warm.cachedRuns).toBeGreaterThanOrEqual(8);
    expect(warm.threadCachedRuns).toBeGreaterThan(0); // the workers' thread caches are on
    big.check();
    // Their runs to the shared cache: what one thread's out-of-memory path can give back.
    await Promise.all(team.map((call) => call('flush')));
    expect(big.stats()).toMatchObject({ threadCachedRuns: 0, liveBlocks: 0 });
    expect(big.stats().cachedRuns).toBeGreaterThanOrEqual(8);
    // Phase 2: fill until any worker's first malloc that returns 0.
    const stop = new SharedArrayBuffer(4);
    const results = await Promise.all(team.map((call, k) => call('fill', { seed: 71 + k, stop, ...sizes })));
    const failures = results.filter((r) => (r.failed as number) > 0);
    expect(failures.length).toBeGreaterThanOrEqual(1);
    // Every cache went back before a malloc failed.
    for (const f of failures) expect(f.cachedAtFailure).toBe(0);
    const held = results.reduce((a, r) => a + (r.bytes as number), 0);
    const blocks = results.reduce((a, r) => a + (r.blocks as number), 0);
    const full = big.stats();
    expect(full.cachedRuns).toBe(0); // the shared cache and every thread cache are empty
    expect(full.liveBytes).toBe(held);
    expect(held).toBeGreaterThanOrEqual(0.8 * MAX_BYTES);
    const largestFree = arena.stats().largestFreeRunPages * 65536;
    const smallestFailed = Math.min(...failures.map((f) => f.failed as number));
    expect(largestFree).toBeLessThan(smallestFailed); // the out-of-memory was real
    big.check();
    arena.check();
    console.log(
      `fill: ${blocks} blocks, ${(held / MiB).toFixed(1)} MiB held = ${((100 * held) / MAX_BYTES).toFixed(1)} % of maxBytes ` +
        `at the first out-of-memory (a ${(smallestFailed / MiB).toFixed(2)} MiB request; largest free run ${(largestFree / MiB).toFixed(2)} MiB); ` +
        `cache before the fill ${(warm.cachedBytes / MiB).toFixed(1)} MiB in ${warm.cachedRuns} runs, ${full.evictions - warm.evictions} evicted during the fill, ${full.hits - warm.hits} fill hits`,
    );
    // Free everything; the cache fills up to its bound and trim() returns it.
    const released = await Promise.all(team.map((call) => call('release')));
    for (const r of released) expect(r.damaged).toBe(0);
    const after = big.stats();
    expect(after).toMatchObject({ liveBlocks: 0, liveBytes: 0 });
    expect(after.cachedBytes).toBeGreaterThan(0);
    big.check();
    expect(big.trim()).toBe(after.cachedBytes);
    expect(big.stats().cachedRuns).toBe(0);
    expect(arena.stats().pagesByTier[big.id] ?? 0).toBe(0);
    big.check();
    arena.check();
  });
});

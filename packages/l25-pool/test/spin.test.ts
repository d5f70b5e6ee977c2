import { Worker } from 'node:worker_threads';
import { Arena } from '@hakmem/page-arena';
import { afterEach, describe, expect, it } from 'vitest';
import { L25Tier } from '../src/index';

/**
 * Workers terminated at random points of the tier's slow paths (refills, frees into spans,
 * spans emptied and re-carved, flushes: most of their time is spent there, under shard locks),
 * one after another on one heap, each reclaimed from the main thread: every check passes and
 * nothing is lost but the block in the worker's hands.
 */
const WORKER = new URL('./l25-worker.mjs', import.meta.url);
const MiB = 2 ** 20;
const KiB = 1024;
const KILLS = 12;
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

describe('termination inside the slow paths', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: ${KILLS} workers terminated mid-run, each reclaimed; check() passes every time`, async () => {
      const arena = Arena.format({ initialBytes: MiB, maxBytes: 128 * MiB, safety });
      arena.threadAttach();
      const l25 = new L25Tier(arena);
      // 40, 80, 160 and 320 KiB: spans of 5 pages each, so empty spans are re-carved in place.
      const sizes = [40 * KiB - 100, 80 * KiB, 150_000, 320 * KiB];
      let inHands = 0;
      for (let kill = 0; kill < KILLS; kill++) {
        const w = new Worker(WORKER, { workerData: { memory: arena.memory } });
        workers.push(w);
        const id = await new Promise<number>((resolve) =>
          w.on('message', (m) => m.id === 0 && resolve(m.threadId)),
        );
        const table = new SharedArrayBuffer(2 * 8 * 4);
        const hold = new SharedArrayBuffer(3 * 4);
        const h = new Int32Array(hold);
        w.postMessage({ id: 1, op: 'spin', table, hold, sizes, seed: 1 + kill * 7919 });
        const target = 30 + ((kill * 37) % 150);
        while (Atomics.load(h, 2) < target) await new Promise((resolve) => setTimeout(resolve, 1));
        await w.terminate();
        arena.breakLocksOf(id);
        l25.reclaim(id);
        arena.threadRelease(id);
        l25.check();
        arena.check();
        // Its table and the block in its hands (allocated, or not yet freed) are all that is live.
        const t = new Int32Array(table);
        const held = new Set<number>();
        for (let i = 0; i < t.length >> 1; i++) if (t[2 * i] !== 0) held.add(t[2 * i]! >>> 0);
        for (const p of held) l25.free(p);
        const p = h[0]! >>> 0;
        if (p !== 0 && !held.has(p) && l25.stats().liveBlocks > 0) {
          l25.free(p);
          inHands++;
        }
        l25.flush();
        expect(l25.stats().liveBlocks).toBe(0);
        l25.check();
      }
      l25.trim();
      expect(l25.stats()).toMatchObject({ liveBlocks: 0, spans: 0 });
      arena.check();
      console.log(
        `${safety}: ${KILLS} workers terminated and reclaimed, ${inHands} with a block in their hands`,
      );
    });
  }
});

import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createHeap, type Heap } from '../src/index';

/**
 * The seed's fill scenario for the mid and L2.5 tiers through the whole default composition:
 * 4 workers fill a 256 MiB heap with random blocks of the tier's sizes until the first
 * out-of-memory, holding a share of maxBytes as requested bytes; every block is then checked and
 * freed by another worker; the heap is valid, empty, and gives its memory back.
 */
const WORKER = new URL('./tiny-worker.mjs', import.meta.url);
const MiB = 2 ** 20;
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

type Reply = { ok: boolean; message?: string; [key: string]: unknown };

function ask(worker: Worker, msg: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    worker.once('message', (reply: Reply) => {
      worker.off('error', onError);
      if (reply.ok) resolve(reply);
      else reject(new Error(reply.message));
    });
    worker.once('error', onError);
    worker.postMessage(msg);
  });
}

function start(heap: Heap): Worker {
  const worker = new Worker(WORKER, { workerData: { memory: heap.memory } });
  workers.push(worker);
  return worker;
}

const cases = [
  { tier: 'mid', minSize: 1024 + 1, maxSize: 32 * 1024, share: 0.85 },
  { tier: 'l25', minSize: 32 * 1024 + 1, maxSize: 1024 * 1024, share: 0.8 },
] as const;

describe('the fill scenario through the default composition', () => {
  for (const c of cases) {
    it(`${c.tier}: 4 workers fill a 256 MiB heap with ${c.minSize}–${c.maxSize} B blocks to the first out-of-memory, holding ≥ ${c.share * 100} %, then free each other's`, async () => {
      const maxBytes = 256 * MiB;
      const heap = createHeap({ initialBytes: 4 * MiB, maxBytes });
      const team = Array.from({ length: 4 }, () => start(heap));
      const filled = await Promise.all(
        team.map((w, i) => ask(w, { op: 'fill', seed: 7000 + i, minSize: c.minSize, maxSize: c.maxSize })),
      );
      const requested = filled.reduce((a, r) => a + (r.requested as number), 0);
      const blocks = filled.reduce((a, r) => a + (r.count as number), 0);
      const st = heap.stats();
      expect(st.tiers[c.tier]!.liveBlocks).toBe(blocks);
      expect(st.liveBlocks).toBe(blocks);
      expect(requested / maxBytes).toBeGreaterThanOrEqual(c.share);
      heap.check();
      // Every worker checks and frees the blocks of the next one (cross-thread frees).
      const held = await Promise.all(team.map((w) => ask(w, { op: 'handOver' })));
      await Promise.all(team.map((w, i) => ask(w, { op: 'freeThese', ...held[(i + 1) % team.length]! })));
      expect(heap.stats().liveBlocks).toBe(0);
      heap.check();
      await Promise.all(team.map((w) => ask(w, { op: 'detach' })));
      heap.trim();
      const after = heap.stats();
      expect(after.liveBlocks).toBe(0);
      // What the tiers held is back in the arena's free runs (a little metadata stays).
      expect(after.arena.freePages * 65536).toBeGreaterThan(0.9 * maxBytes);
      heap.check();
      console.log(
        `${c.tier} fill: ${blocks} blocks, ${(requested / MiB).toFixed(1)} MiB requested = ${((100 * requested) / maxBytes).toFixed(1)} % of maxBytes`,
      );
    });
  }
});

import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createHeap, type Heap, type TinyStats } from '../src/index';

const WORKER = new URL('./tiny-worker.mjs', import.meta.url);
const MiB = 2 ** 20;
const workers: Worker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function start(heap: Heap): Worker {
  const worker = new Worker(WORKER, { workerData: { memory: heap.memory } });
  workers.push(worker);
  return worker;
}

type Reply = { ok: boolean; message?: string; threadId: number; [key: string]: unknown };

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

function payload(heap: Heap, ptr: number, size: number): boolean {
  const u8 = heap.u8;
  for (let i = 0; i < size; i++) if (u8[ptr + i] !== ((ptr + i * 31) & 0xff)) return false;
  return true;
}

describe('tiny tier under workers', () => {
  it('4 workers fill a 64 MiB heap with 16 B – 1 KiB blocks to the first out-of-memory, holding ≥ 85 % of maxBytes, then free everything', async () => {
    const maxBytes = 64 * MiB;
    const heap = createHeap({ initialBytes: 4 * MiB, maxBytes });
    const team = Array.from({ length: 4 }, () => start(heap));
    const filled = await Promise.all(team.map((w, i) => ask(w, { op: 'fill', seed: 1000 + i })));
    const requested = filled.reduce((a, r) => a + (r.requested as number), 0);
    const blocks = filled.reduce((a, r) => a + (r.count as number), 0);
    const st = heap.stats();
    expect(st.tiers.tiny!.liveBlocks).toBe(blocks);
    expect(st.committedBytes).toBe(maxBytes);
    // Held as requested bytes, counting every byte of the heap (header, metadata, partly used
    // slabs, caches and size-class rounding are the losses).
    expect(requested / maxBytes).toBeGreaterThanOrEqual(0.85);
    heap.check();
    await Promise.all(team.map((w) => ask(w, { op: 'verifyFree' })));
    expect(heap.stats().tiers.tiny!.liveBlocks).toBe(0);
    heap.check();
    await Promise.all(team.map((w) => ask(w, { op: 'detach' })));
    expect(heap.stats().tiers.tiny!.liveBlocks).toBe(0);
    heap.check();
    // everything can come back
    expect(heap.trim()).toBeGreaterThan(0);
    expect((heap.stats().tiers.tiny as TinyStats).superslabs).toBe(0);
    heap.check();
    console.log(
      `fill: ${blocks} blocks, ${(requested / MiB).toFixed(2)} MiB requested = ${((100 * requested) / maxBytes).toFixed(1)} % of maxBytes`,
    );
  });

  it('a producer and a consumer: every block crosses threads, payloads intact, memory reused', async () => {
    const heap = createHeap({ initialBytes: 4 * MiB, maxBytes: 256 * MiB });
    const producer = start(heap);
    const consumer = start(heap);
    const ring = new SharedArrayBuffer(4 * 1024);
    const sizes = new SharedArrayBuffer(4 * 1024);
    const count = 200_000;
    const [made, used] = await Promise.all([
      ask(producer, { op: 'produce', ring, sizes, count, seed: 7 }),
      ask(consumer, { op: 'consume', ring, sizes, count }),
    ]);
    expect(made.produced).toBe(count);
    expect(used.consumed).toBe(count);
    const st = heap.stats();
    expect(st.tiers.tiny!.liveBlocks).toBe(0);
    // ~100 MiB went through; remote frees were reused, so the tier stayed small
    expect((st.tiers.tiny as TinyStats).superslabs).toBeLessThanOrEqual(4);
    heap.check();
    await Promise.all([ask(producer, { op: 'detach' }), ask(consumer, { op: 'detach' })]);
    heap.check();
    expect(heap.stats().tiers.tiny!.liveBlocks).toBe(0);
  });

  it('a worker terminated mid-run is reclaimed: nothing lost beyond the blocks in flight', async () => {
    const heap = createHeap({ initialBytes: 4 * MiB, maxBytes: 256 * MiB });
    for (let trial = 0; trial < 4; trial++) {
      const slots = 4000;
      const table = new SharedArrayBuffer((2 * slots + 2) * 4);
      const t = new Int32Array(table);
      const worker = start(heap);
      const started = await ask(worker, { op: 'churnRecorded', table, seed: 99 + trial, slots });
      // let it run a while (a varying number of rounds), then kill it wherever it is
      const rounds = 20 + trial * 37;
      while (Atomics.load(t, t.length - 2) < rounds) await new Promise((r) => setTimeout(r, 1));
      await worker.terminate();
      heap.reclaimThread(started.threadId);
      // the recorded blocks are intact and can be freed by this thread
      let freed = 0;
      for (let i = 0; i < slots; i++) {
        const ptr = t[2 * i]! >>> 0;
        if (ptr === 0) continue;
        expect(payload(heap, ptr, t[2 * i + 1]!)).toBe(true);
        heap.free(ptr);
        freed++;
      }
      expect(freed).toBeGreaterThan(0);
      // at most the one block between malloc and its record (or between unrecord and free)
      const st = heap.stats();
      expect(st.tiers.tiny!.liveBlocks).toBeLessThanOrEqual(trial + 1);
      heap.check();
    }
    heap.trim();
    heap.check();
    expect(heap.stats().threads).toBe(1);
  });
});

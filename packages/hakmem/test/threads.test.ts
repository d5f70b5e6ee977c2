import { Worker } from 'node:worker_threads';
import { Arena } from '@hakmem/page-arena';
import { afterEach, describe, expect, it } from 'vitest';
import { createHeap, type Heap } from '../src/index';

const WORKER = new URL('./worker.mjs', import.meta.url);
const workers: Worker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

interface Block {
  ptr: number;
  size: number;
  seed: number;
}

function start(heap: Heap): Worker {
  const worker = new Worker(WORKER, { workerData: { memory: heap.memory } });
  workers.push(worker);
  return worker;
}

function ask<T = { ok: boolean; message?: string; threadId: number; blocks: Block[] }>(
  worker: Worker,
  msg: unknown,
): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', (reply) => (reply.ok ? resolve(reply) : reject(new Error(reply.message))));
    worker.once('error', reject);
    worker.postMessage(msg);
  });
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('workers share one heap', () => {
  it('a worker frees blocks the main thread allocated, and the reverse', async () => {
    const heap = createHeap({ initialBytes: 2 ** 20, maxBytes: 256 * 2 ** 20 });
    const worker = start(heap);
    const random = rng(42);
    const blocks: Block[] = [];
    for (let i = 0; i < 200; i++) {
      const size = random() < 0.5 ? Math.floor(random() * 1025) : 1 + Math.floor(random() * 200_000);
      const ptr = heap.malloc(size);
      const u8 = heap.u8;
      for (let j = 0; j < size; j++) u8[ptr + j] = (i + j * 31) & 0xff;
      blocks.push({ ptr, size, seed: i });
    }
    const freed = await ask(worker, { op: 'free', blocks });
    expect(freed.threadId).not.toBe(heap.threadId);
    expect(heap.stats().liveBlocks).toBe(0);

    const sizes = Array.from({ length: 200 }, () =>
      random() < 0.5 ? Math.floor(random() * 1025) : 1 + Math.floor(random() * 200_000),
    );
    const made = await ask(worker, { op: 'alloc', sizes });
    let damaged = 0;
    for (const b of made.blocks) {
      const u8 = heap.u8; // the worker grew the memory: views must follow
      for (let j = 0; j < b.size; j++) if (u8[b.ptr + j] !== ((b.seed + j * 31) & 0xff)) damaged++;
      heap.free(b.ptr);
    }
    expect(damaged).toBe(0);
    await ask(worker, { op: 'detach' });
    const s = heap.stats();
    expect(s.liveBlocks).toBe(0);
    expect(s.threads).toBe(1);
    heap.check();
  });

  it('a terminated worker is reclaimed and its blocks stay usable', async () => {
    const heap = createHeap({ initialBytes: 2 ** 20, maxBytes: 64 * 2 ** 20 });
    const worker = start(heap);
    const made = await ask(worker, { op: 'alloc', sizes: [10, 5000, 70_000] });
    const hanging = await ask(worker, { op: 'hang' });
    await worker.terminate();
    heap.reclaimThread(hanging.threadId);
    expect(heap.stats().threads).toBe(1);
    for (const b of made.blocks) heap.free(b.ptr);
    expect(heap.stats().liveBlocks).toBe(0);
    heap.check();
  });

  it('a worker that died holding the arena mutex is reclaimed without a deadlock', async () => {
    const heap = createHeap({ initialBytes: 2 ** 20, maxBytes: 64 * 2 ** 20 });
    // A raw arena thread (no Heap) that takes the arena mutex and never lets go.
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const { Arena } = require('@hakmem/page-arena');
       const arena = Arena.attach(workerData.memory);
       const id = arena.threadAttach();
       arena.lock();
       parentPort.postMessage(id);
       for (;;) {}`,
      { eval: true, workerData: { memory: heap.memory } },
    );
    workers.push(worker);
    const id = await new Promise<number>((resolve) => worker.once('message', resolve));
    await worker.terminate();
    heap.reclaimThread(id); // would wait forever on the mutex if it took it before breaking it
    expect(heap.stats().threads).toBe(1);
    heap.free(heap.malloc(100_000)); // the arena mutex is free again
    heap.check();
  });

  it('two reclaims of one dead thread at once: exactly one reclaims it, the other is ERR_INVALID_THREAD and changes nothing', async () => {
    const heap = createHeap({ initialBytes: 2 ** 20, maxBytes: 64 * 2 ** 20 });
    const [b, c] = [start(heap), start(heap)];
    for (let round = 0; round < 6; round++) {
      const dying = start(heap);
      const made = await ask(dying, { op: 'alloc', sizes: [16, 800, 3000, 40_000, 2_000_000] });
      const { threadId } = await ask(dying, { op: 'hang' });
      await dying.terminate();
      const gate = new Int32Array(new SharedArrayBuffer(8));
      const replies = [b, c].map((w) =>
        ask<{ code: string }>(w, { op: 'reclaim', id: threadId, gate: gate.buffer }),
      );
      while (Atomics.load(gate, 1) < 2) await new Promise((r) => setTimeout(r, 1));
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      const codes = (await Promise.all(replies)).map((r) => r.code).sort();
      expect(codes).toEqual(['ERR_INVALID_THREAD', 'ok']);
      expect(heap.stats().threads).toBe(3);
      for (const blk of made.blocks) heap.free(blk.ptr); // the dead thread's blocks stay valid
      heap.check();
    }
    expect(heap.stats().liveBlocks).toBe(0);
  });

  it('a thread already claimed by another reclaim: reclaimThread is ERR_INVALID_THREAD and changes nothing', async () => {
    const heap = createHeap({ initialBytes: 2 ** 20, maxBytes: 64 * 2 ** 20 });
    const worker = start(heap);
    const { threadId } = await ask(worker, { op: 'hang' });
    await worker.terminate();
    const arena = Arena.attach(heap.memory);
    arena.threadClaim(threadId); // as another reclaim would, first
    expect(() => heap.reclaimThread(threadId)).toThrow(/ERR_INVALID_THREAD.*already being reclaimed/);
    expect(heap.stats().threads).toBe(2);
    expect(() => arena.threadClaim(threadId)).toThrow(/already being reclaimed/);
    heap.check();
  });

  it('a mallocAs view posted to a worker is freed there', async () => {
    const heap = createHeap({ initialBytes: 2 ** 20, maxBytes: 64 * 2 ** 20 });
    const views = [heap.mallocAs('f64', 10), heap.mallocAs('u8', 5000), heap.mallocAs('i32', 100_000)];
    const worker = start(heap);
    await ask(worker, { op: 'freeViews', views });
    expect(heap.stats().liveBlocks).toBe(0);
    heap.check();
  });
});

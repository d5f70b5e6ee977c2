import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Arena, mutexOwner, PAGE_SIZE } from '../src/index';
import { HDR_LOCK, LOCK_WAITERS } from '../src/layout';

/** A word nobody writes: sleeping on it yields the main thread for a millisecond while polling. */
const nap = new Int32Array(new SharedArrayBuffer(4));

function start(arena: Arena) {
  const worker = new Worker(new URL('./lock-worker.mjs', import.meta.url), {
    workerData: { memory: arena.memory },
  });
  const queue: (Record<string, number> | Error)[] = [];
  const waiters: ((m: Record<string, number> | Error) => void)[] = [];
  const deliver = (m: Record<string, number> | Error) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  };
  worker.on('message', deliver);
  worker.on('error', deliver);
  const next = () =>
    new Promise<Record<string, number>>((resolve, reject) => {
      const settle = (m: Record<string, number> | Error) => (m instanceof Error ? reject(m) : resolve(m));
      const m = queue.shift();
      if (m) settle(m);
      else waiters.push(settle);
    });
  return { worker, next };
}

describe('the arena mutex across threads', () => {
  it('a contended locker sleeps in Atomics.wait and is woken by unlock; both are counted', async () => {
    const arena = Arena.format({ initialBytes: 4 * PAGE_SIZE, maxBytes: 64 * PAGE_SIZE });
    const { worker, next } = start(arena);
    try {
      await next();
      const before = arena.stats().locks;
      arena.lock();
      worker.postMessage('alloc');
      expect(await next()).toHaveProperty('allocating');
      // The worker marks the word LOCK_WAITERS just before it sleeps: wait for that, no timing.
      const word = arena.headerIndex + HDR_LOCK;
      while ((Atomics.load(arena.i32, word) & LOCK_WAITERS) === 0) Atomics.wait(nap, 0, 0, 1);
      arena.unlock();
      const { offset } = await next();
      expect(offset).toBeGreaterThan(0);
      const after = arena.stats().locks;
      // lock() + the worker's allocRun + this stats() call; the worker's acquisition was contended.
      expect(after.acquisitions - before.acquisitions).toBe(3);
      expect(after.contended - before.contended).toBe(1);
      expect(after.waits - before.waits).toBeGreaterThanOrEqual(1);
      arena.check();
    } finally {
      await worker.terminate();
    }
  });

  it('a lost wakeup (the woken thread died before it locked; the word is free, the waiters flag gone): a sleeper still gets the lock', async () => {
    const arena = Arena.format({ initialBytes: 4 * PAGE_SIZE, maxBytes: 64 * PAGE_SIZE });
    const { worker, next } = start(arena);
    try {
      await next();
      arena.lock();
      worker.postMessage('alloc');
      expect(await next()).toHaveProperty('allocating');
      const word = arena.headerIndex + HDR_LOCK;
      while ((Atomics.load(arena.i32, word) & LOCK_WAITERS) === 0) Atomics.wait(nap, 0, 0, 1);
      // The lock is released without a notify, as when the one thread an unlock woke is
      // terminated before it takes the lock: without a bounded sleep the worker never wakes.
      Atomics.store(arena.i32, word, 0);
      (arena as unknown as { lockDepth: number }).lockDepth = 0;
      const { offset } = await next();
      expect(offset).toBeGreaterThan(0);
      arena.check();
    } finally {
      await worker.terminate();
    }
  });

  it('a worker terminated while holding the arena mutex: breakLocksOf frees it for everyone', async () => {
    const arena = Arena.format({ initialBytes: 4 * PAGE_SIZE, maxBytes: 64 * PAGE_SIZE });
    const dead = start(arena);
    const live = start(arena);
    try {
      const { ready: deadId } = await dead.next();
      await live.next();
      dead.worker.postMessage('lock-and-hang');
      expect(await dead.next()).toEqual({ locked: deadId });
      await dead.worker.terminate();
      live.worker.postMessage('alloc');
      await live.next();
      const word = arena.headerIndex + HDR_LOCK;
      while ((Atomics.load(arena.i32, word) & LOCK_WAITERS) === 0) Atomics.wait(nap, 0, 0, 1);
      expect(mutexOwner(arena.i32, word)).toBe(deadId);
      expect(arena.breakLocksOf(deadId!)).toBe(1);
      const { offset } = await live.next();
      expect(offset).toBeGreaterThan(0);
      arena.threadRelease(deadId!);
      arena.check();
      expect(arena.threadIds()).toHaveLength(1);
    } finally {
      await dead.worker.terminate();
      await live.worker.terminate();
    }
  });
});

import { Worker } from 'node:worker_threads';
import { Arena, type HeapMemory } from '@hakmem/page-arena';
import { afterEach, describe, expect, it } from 'vitest';
import { BigTier } from '../src/index';

/**
 * The big tier across workers (each imports the built @hakmem/bigcache): blocks handed between
 * threads through a shared table and freed by another one, a worker terminated mid-run and
 * reclaimed, and two workers racing to free the same blocks twice.
 */
const WORKER = new URL('./big-worker.mjs', import.meta.url);
const MiB = 2 ** 20;
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

type Reply = Record<string, unknown> & { ok: boolean; error?: string };

/** A worker on the memory, with a call(op, args) that resolves with its reply. */
async function spawn(memory: HeapMemory) {
  const w = new Worker(WORKER, { workerData: { memory } });
  workers.push(w);
  let next = 1;
  const waiting = new Map<number, (r: Reply) => void>();
  let ready: (r: Reply) => void = () => {};
  let failed: (e: Error) => void = () => {};
  const first = new Promise<Reply>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  w.on('message', (m: Reply & { id: number }) => {
    if (m.id === 0) ready(m);
    else waiting.get(m.id)?.(m);
  });
  // A worker that fails or exits answers every pending call with the reason (no hang).
  const fail = (reason: string) => {
    failed(new Error(reason));
    for (const answer of waiting.values()) answer({ ok: false, error: reason });
  };
  w.on('error', (e) => fail(`worker error: ${e.message}`));
  w.on('exit', (code) => fail(`worker exited with code ${code}`));
  const hello = await first;
  const call = (op: string, args: Record<string, unknown> = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const id = next++;
      waiting.set(id, (r) => (r.ok ? resolve(r) : reject(new Error(`${op}: ${r.error}`))));
      w.postMessage({ id, op, ...args });
    });
  return { call, threadId: hello.threadId as number };
}

/** A worker that runs `churn` at once, until terminated when `rounds` is huge. */
async function churner(memory: HeapMemory, args: Record<string, unknown>) {
  const w = new Worker(WORKER, { workerData: { memory, autorun: { op: 'churn', ...args } } });
  workers.push(w);
  let threadId = 0;
  let finished = false;
  const done = new Promise<Reply>((resolve, reject) => {
    w.on('message', (m: Reply & { id: number }) => {
      if (m.id === 0) threadId = m.threadId as number;
      else {
        finished = true;
        resolve(m);
      }
    });
    w.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  });
  return { worker: w, done, threadId: () => threadId, finished: () => finished };
}

function heap(maxBytes = 256 * MiB) {
  const arena = Arena.format({ initialBytes: MiB, maxBytes, safety: 'strict' });
  arena.threadAttach();
  return { arena, big: new BigTier(arena) };
}

/** Frees every block left in a churn table (main thread); returns how many. */
function drain(big: BigTier, table: SharedArrayBuffer): number {
  const t = new Int32Array(table);
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    const p = Atomics.exchange(t, i, 0) >>> 0;
    if (p !== 0) {
      big.free(p);
      n++;
    }
  }
  return n;
}

describe('BigTier across workers', () => {
  it('four workers hand blocks to each other through a shared table; every block arrives intact and is freed by whoever takes it', async () => {
    const { arena, big } = heap();
    const table = new SharedArrayBuffer(24 * 4);
    const team = await Promise.all([1, 2, 3, 4].map(() => spawn(arena.memory)));
    const progress = new SharedArrayBuffer(4);
    const results = await Promise.all(
      team.map((w, k) =>
        w.call('churn', {
          table,
          progress,
          rounds: 1500,
          seed: 0x1234 + 77 * k,
          minSize: MiB + 1,
          maxSize: 4 * MiB,
        }),
      ),
    );
    let freed = 0;
    let allocated = 0;
    for (const r of results) {
      expect(r.damaged).toBe(0);
      expect(r.oom).toBe(0);
      freed += r.freed as number;
      allocated += r.allocated as number;
    }
    const left = drain(big, table);
    expect(freed + left).toBe(allocated);
    const st = big.stats();
    expect(st).toMatchObject({ liveBlocks: 0, liveBytes: 0 });
    // Each freeing worker keeps what it freed in its thread cache (reused by its own mallocs,
    // spilled to the shared cache when full): a hand-off pattern hits less than a shared cache
    // alone, but it hits.
    expect(st.hits + st.misses).toBe(allocated);
    expect(st.hits).toBeGreaterThan(0);
    expect(st.threadCachedBytes).toBeLessThanOrEqual(st.capacityBytes);
    big.check();
    await Promise.all(team.map((w) => w.call('detach')));
    expect(big.trim()).toBe(st.cachedBytes);
    big.check();
    arena.check();
    expect(arena.stats().pagesByTier[big.id] ?? 0).toBe(0);
  });

  it('a worker terminated mid-run is reclaimed from the main thread: check() passes and nothing is lost beyond its block in flight', async () => {
    // page-arena is not termination-safe inside its own mutex (a worker killed in the middle of
    // allocRun or freeRun leaves the page map half-written; breakLocksOf only frees the mutex).
    // The other workers pause around the termination and the arena is checked first: an attempt
    // whose victim died inside the arena is set aside (counted), since no tier can repair that.
    let evaluated = 0;
    let arenaBroken = 0;
    let repairs = 0;
    for (let attempt = 0; attempt < 10 && evaluated < 3; attempt++) {
      const { arena, big } = heap();
      const table = new SharedArrayBuffer(16 * 4);
      const progress = new SharedArrayBuffer(4);
      const pause = new SharedArrayBuffer(8);
      const pz = new Int32Array(pause);
      const sizes = { minSize: MiB + 1, maxSize: 3 * MiB };
      const victim = await churner(arena.memory, {
        table,
        progress,
        rounds: 1e12,
        seed: 99 + attempt,
        ...sizes,
      });
      const others = await Promise.all(
        [1, 2].map((k) =>
          churner(arena.memory, { table, progress, pause, rounds: 1500, seed: 7 * k + attempt, ...sizes }),
        ),
      );
      const count = new Int32Array(progress);
      const target = 500 + 300 * (attempt % 4);
      while (Atomics.load(count, 0) < target) await new Promise((r) => setTimeout(r, 1));
      Atomics.store(pz, 0, 1);
      const paused = Date.now();
      while (Atomics.load(pz, 1) < 2 && Date.now() - paused < 20_000) {
        await Promise.race([...others.map((o) => o.done), new Promise((r) => setTimeout(r, 1))]);
        if (others.some((o) => o.finished())) break;
      }
      await victim.worker.terminate();
      const dead = victim.threadId();
      arena.breakLocksOf(dead);
      try {
        arena.check();
      } catch {
        arenaBroken++;
        await Promise.all(others.map((o) => o.worker.terminate()));
        continue;
      }
      big.reclaim(dead); // rebuilds the cache if the victim died inside the tier lock
      arena.threadRelease(dead);
      big.check();
      Atomics.store(pz, 0, 0);
      Atomics.notify(pz, 0);
      const results = await Promise.all(others.map((o) => o.done));
      for (const r of results) expect(r.damaged).toBe(0);
      big.check();
      arena.check();
      drain(big, table);
      // Every block but the one the victim held in flight (taken from the table and not yet
      // freed, or allocated and not yet published) came back.
      const st = big.stats();
      expect(st.liveBlocks).toBeLessThanOrEqual(1);
      expect(arena.snapshot().filter((r) => r.tier === big.id).length).toBe(st.liveBlocks + st.cachedRuns);
      big.trim();
      big.check();
      arena.check();
      repairs += st.repairs;
      evaluated++;
    }
    expect(evaluated).toBe(3);
    expect(arenaBroken).toBeLessThanOrEqual(7);
    console.log(
      `terminated workers: ${evaluated} evaluated, ${arenaBroken} set aside (died inside the arena's mutex), ${repairs} died inside the tier lock and were rebuilt`,
    );
  });

  it('two workers race to free the same blocks twice each: exactly one free of each succeeds, every other is ERR_DOUBLE_FREE', async () => {
    const { arena, big } = heap();
    const owner = await spawn(arena.memory);
    const racers = [await spawn(arena.memory), await spawn(arena.memory)];
    const count = 120;
    for (let round = 0; round < 3; round++) {
      const table = new SharedArrayBuffer(count * 4);
      const go = new SharedArrayBuffer(16);
      const flag = new Int32Array(go);
      await owner.call('give', { count, size: MiB + 1 + round * 100_000, table });
      const racing = racers.map((r) => r.call('race', { table, count, go }));
      while (Atomics.load(flag, 1) < 2) await new Promise((resolve) => setTimeout(resolve, 1));
      Atomics.store(flag, 0, 1);
      const results = await Promise.all(racing);
      const outcomes: Record<string, number> = {};
      for (const r of results) {
        for (const [code, n] of Object.entries(r.outcomes as Record<string, number>))
          outcomes[code] = (outcomes[code] ?? 0) + n;
      }
      expect(outcomes).toEqual({ ok: count, ERR_DOUBLE_FREE: 3 * count });
      big.check();
      expect(big.stats().liveBlocks).toBe(0);
    }
    big.trim();
    big.check();
    arena.check();
  });
});

import { Worker } from 'node:worker_threads';
import { Arena, type HeapMemory } from '@hakmem/page-arena';
import { afterEach, describe, expect, it } from 'vitest';
import { TinyTier } from '../src/index';

/**
 * The contract of a tiny-only allocator composed from the layer packages' public exports alone
 * (the workers import the built @hakmem/page-arena and @hakmem/superslab, nothing else).
 */
const WORKER = new URL('./contract-worker.mjs', import.meta.url);
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
  const first = new Promise<Reply>((resolve) => {
    ready = resolve;
  });
  w.on('message', (m: Reply & { id: number }) => {
    if (m.id === 0) ready(m);
    else waiting.get(m.id)?.(m);
  });
  const hello = await first;
  const call = (op: string, args: Record<string, unknown> = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const id = next++;
      waiting.set(id, (r) => (r.ok ? resolve(r) : reject(new Error(`${op}: ${r.error}`))));
      w.postMessage({ id, op, ...args });
    });
  return { call, threadId: hello.threadId as number };
}

function heap(safety: 'strict' | 'fast') {
  const arena = Arena.format({ initialBytes: MiB, maxBytes: 128 * MiB, safety });
  arena.threadAttach();
  return { arena, tiny: new TinyTier(arena) };
}

describe('a tiny-only allocator from the layer packages, across workers', () => {
  it('strict, one thread: double free, interior pointer and a write after free over a link, each with its code', async () => {
    const { arena, tiny } = heap('strict');
    const a = await spawn(arena.memory);
    const r = await a.call('own');
    expect(r).toMatchObject({
      doubleFree: 'ERR_DOUBLE_FREE',
      interior: 'ERR_INVALID_POINTER',
      interiorUsable: 'ERR_INVALID_POINTER',
      handedAgain: true,
      corrupted: 'ERR_HEAP_CORRUPTED',
    });
    expect(() => tiny.check()).not.toThrow(/TypeError/);
  });

  it('strict, cross thread: a second free is ERR_DOUBLE_FREE before and after the owner collects', async () => {
    const { arena, tiny } = heap('strict');
    const b = await spawn(arena.memory);
    const p = tiny.malloc(48);
    const neighbour = tiny.malloc(48); // keeps the slab in use after the collection
    expect(await b.call('cross', { p })).toMatchObject({
      first: 'ok',
      second: 'ERR_DOUBLE_FREE', // still in the slab's remote list
      interior: 'ERR_INVALID_POINTER',
    });
    tiny.trim(); // the owner collects its remote lists
    const again = await b.call('cross', { p });
    expect(again.first).toBe('ERR_DOUBLE_FREE'); // collected: the alloc bit is clear
    tiny.check();
    tiny.free(neighbour);
    expect(tiny.stats().liveBlocks).toBe(0);
  });

  it('strict, racing: two workers free the same blocks at once while the owner collects; every second free is ERR_DOUBLE_FREE', async () => {
    const { arena, tiny } = heap('strict');
    const owner = await spawn(arena.memory);
    const racers = [await spawn(arena.memory), await spawn(arena.memory)];
    const count = 20_000;
    const size = 48;
    for (let round = 0; round < 3; round++) {
      const table = new SharedArrayBuffer(count * 4);
      const go = new SharedArrayBuffer(16);
      const flag = new Int32Array(go);
      await owner.call('give', { count, size, table });
      const collecting = owner.call('collect', { go });
      const racing = racers.map((r) => r.call('race', { table, count, size, go }));
      while (Atomics.load(flag, 1) < 2) await new Promise((resolve) => setTimeout(resolve, 1));
      Atomics.store(flag, 0, 1);
      const results = await Promise.all(racing);
      Atomics.store(flag, 2, 1);
      const { rounds } = await collecting;
      const outcomes: Record<string, number> = {};
      for (const r of results) {
        expect(r.damaged).toBe(0);
        for (const [code, n] of Object.entries(r.outcomes as Record<string, number>))
          outcomes[code] = (outcomes[code] ?? 0) + n;
      }
      // Each block: freed once in all, the other three attempts refused as double frees.
      expect(outcomes).toEqual({ ok: count, ERR_DOUBLE_FREE: 3 * count });
      expect(rounds).toBeGreaterThan(0);
      tiny.check();
      expect((await owner.call('release')).live).toBe(0);
    }
    tiny.trim();
    tiny.check();
    expect(tiny.stats().liveBlocks).toBe(0);
  });

  it('fast: blocks cross threads both ways with their payloads intact', async () => {
    const { arena, tiny } = heap('fast');
    const a = await spawn(arena.memory);
    const b = await spawn(arena.memory);
    for (const size of [8, 100, 640, 1024]) {
      const count = 3000;
      const ta = new SharedArrayBuffer(count * 4);
      const tb = new SharedArrayBuffer(count * 4);
      await Promise.all([
        a.call('give', { count, size, table: ta }),
        b.call('give', { count, size, table: tb }),
      ]);
      const [fromA, fromB] = await Promise.all([
        b.call('take', { table: ta, count, size }),
        a.call('take', { table: tb, count, size }),
      ]);
      expect(fromA.damaged).toBe(0);
      expect(fromB.damaged).toBe(0);
      await Promise.all([a.call('release'), b.call('release')]);
    }
    await Promise.all([a.call('detach'), b.call('detach')]);
    tiny.trim();
    tiny.check();
    expect(tiny.stats().liveBlocks).toBe(0);
  });
});

import { Worker } from 'node:worker_threads';
import { Arena, type HeapMemory } from '@hakmem/page-arena';
import { afterEach, describe, expect, it } from 'vitest';
import { L25Tier } from '../src/index';

/**
 * The L2.5 tier across real workers (each imports the built @hakmem/l25-pool): churn over a
 * table every worker allocates into and frees from, a worker terminated mid-run and reclaimed,
 * racing double frees, and the fill scenario.
 */
const WORKER = new URL('./l25-worker.mjs', import.meta.url);
const MiB = 2 ** 20;
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

type Reply = Record<string, unknown> & { ok: boolean; error?: string };

/** A worker on the memory, with call(op, args) resolving with its reply. */
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
  w.on('error', (e) => {
    for (const resolve of waiting.values()) resolve({ ok: false, error: String(e) });
  });
  const hello = await first;
  const call = (op: string, args: Record<string, unknown> = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const id = next++;
      waiting.set(id, (r) => (r.ok ? resolve(r) : reject(new Error(`${op}: ${r.error}`))));
      w.postMessage({ id, op, ...args });
    });
  return { worker: w, call, threadId: hello.threadId as number };
}

function heap(safety: 'strict' | 'fast', maxBytes = 256 * MiB) {
  const arena = Arena.format({ initialBytes: MiB, maxBytes, safety });
  arena.threadAttach();
  return { arena, l25: new L25Tier(arena) };
}

/** Frees every block left in a churn table (main thread); returns how many. */
function drain(l25: L25Tier, table: Int32Array): number {
  let n = 0;
  for (let i = 0; i < table.length >> 1; i++) {
    const p = table[2 * i]!;
    if (p > 0 || p < -1) {
      l25.free(p >>> 0);
      table[2 * i] = 0;
      n++;
    }
  }
  return n;
}

describe('L25Tier across workers', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: four workers allocate into one table and free each other's blocks; payloads intact, nothing left`, async () => {
      const { arena, l25 } = heap(safety);
      const team = await Promise.all([0, 1, 2, 3].map(() => spawn(arena.memory)));
      const table = new SharedArrayBuffer(2 * 96 * 4);
      const hold = new SharedArrayBuffer((2 * 4 + 1) * 4);
      const results = await Promise.all(
        team.map((w, k) => w.call('churn', { table, hold, slot: k, rounds: 6000, seed: 0x9e37 + 101 * k })),
      );
      let frees = 0;
      for (const r of results) {
        expect(r.damaged).toBe(0);
        frees += r.frees as number;
      }
      expect(frees).toBeGreaterThan(2000);
      l25.check();
      drain(l25, new Int32Array(table));
      await Promise.all(team.map((w) => w.call('detach')));
      l25.check();
      l25.flush(); // fast mode: this thread's frees went to its own cache
      expect(l25.stats()).toMatchObject({ liveBlocks: 0, cachedBlocks: 0 });
      expect(l25.trim()).toBeGreaterThanOrEqual(0);
      expect(l25.stats().spans).toBe(0);
      arena.check();
    });
  }

  it('strict: a worker terminated mid-run is reclaimed from the main thread; check() passes and nothing is lost but its block in flight', async () => {
    const { arena, l25 } = heap('strict');
    const team = await Promise.all([0, 1, 2, 3].map(() => spawn(arena.memory)));
    const table = new SharedArrayBuffer(2 * 96 * 4);
    const hold = new SharedArrayBuffer((2 * 4 + 1) * 4);
    const progress = new Int32Array(hold);
    const dead = team[0]!;
    void dead.call('churn', { table, hold, slot: 0, rounds: 1e9, seed: 4242 }).catch(() => {});
    const others = team
      .slice(1)
      .map((w, k) => w.call('churn', { table, hold, slot: k + 1, rounds: 8000, seed: 77 + k }));
    while (Atomics.load(progress, progress.length - 1) < 150) await new Promise((r) => setTimeout(r, 2));
    await dead.worker.terminate();
    // First, as heap.reclaimThread does: the others may wait for a lock it died holding — the
    // arena's (breakLocksOf) or one of this tier's shard locks, which only l25.reclaim takes over.
    const broken = arena.breakLocksOf(dead.threadId);
    l25.reclaim(dead.threadId);
    arena.threadRelease(dead.threadId);
    const results = await Promise.all(others);
    for (const r of results) expect(r.damaged).toBe(0);
    const cachedBefore = l25.stats().cachedBlocks;
    l25.check();
    arena.check();
    const t = new Int32Array(table);
    // The block in its hands: allocated and not yet in the table, or about to be freed.
    const inHand = progress[0]! >>> 0;
    const phase = progress[1]!;
    let inFlight = 0;
    if (inHand !== 0) {
      const inTable = [...Array(t.length >> 1).keys()].some((i) => t[2 * i]! >>> 0 === inHand);
      let live = false;
      try {
        live = !inTable && l25.usableSize(inHand) > 0;
      } catch {}
      if (live) {
        l25.free(inHand);
        inFlight = 1;
      }
    }
    drain(l25, t);
    await Promise.all(team.slice(1).map((w) => w.call('detach')));
    l25.check();
    expect(l25.stats()).toMatchObject({ liveBlocks: 0, cachedBlocks: 0 });
    l25.trim();
    expect(l25.stats().spans).toBe(0);
    expect(arena.stats().pagesByTier[l25.id] ?? 0).toBe(0);
    arena.check();
    console.log(
      `terminated worker: locks broken ${broken}, cached blocks after the reclaim (the others') ${cachedBefore}, in its hands: ${inHand === 0 ? 'none' : `phase ${phase}, ${inFlight ? 'live, freed here' : 'gone'}`}`,
    );
  });

  it('strict, racing: two workers free the same blocks at once while the owner allocates and frees; every second free is ERR_DOUBLE_FREE', async () => {
    const { arena, l25 } = heap('strict', 192 * MiB);
    const owner = await spawn(arena.memory);
    const racers = [await spawn(arena.memory), await spawn(arena.memory)];
    const count = 600;
    for (const size of [33_000, 70_000]) {
      const table = new SharedArrayBuffer(count * 4);
      const go = new SharedArrayBuffer(16);
      const flag = new Int32Array(go);
      await owner.call('give', { count, size, table });
      const busy = owner.call('busy', { go });
      const racing = racers.map((r) => r.call('race', { table, count, size, go }));
      while (Atomics.load(flag, 1) < 2) await new Promise((resolve) => setTimeout(resolve, 1));
      Atomics.store(flag, 0, 1);
      const results = await Promise.all(racing);
      Atomics.store(flag, 2, 1);
      expect((await busy).rounds).toBeGreaterThan(0);
      const outcomes: Record<string, number> = {};
      for (const r of results) {
        expect(r.damaged).toBe(0);
        for (const [code, n] of Object.entries(r.outcomes as Record<string, number>))
          outcomes[code] = (outcomes[code] ?? 0) + n;
      }
      // Each block: freed once in all, the other three attempts refused as double frees.
      expect(outcomes).toEqual({ ok: count, ERR_DOUBLE_FREE: 3 * count });
      l25.check();
      await owner.call('release');
    }
    await Promise.all([owner, ...racers].map((w) => w.call('detach')));
    l25.check();
    expect(l25.stats().liveBlocks).toBe(0);
  });
});

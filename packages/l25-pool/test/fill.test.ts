import { Worker } from 'node:worker_threads';
import { Arena, PAGE_SIZE } from '@hakmem/page-arena';
import { afterEach, describe, expect, it } from 'vitest';
import { L25Tier } from '../src/index';

/**
 * The fill scenario: four workers fill a 256 MiB heap (the L2.5 tier alone, strict) with random
 * 32 KiB – 1 MiB blocks until each meets its first out-of-memory; together they must hold at
 * least 80 % of maxBytes as requested bytes. Then every block is freed by another worker than
 * the one that allocated it: nothing is live, check() passes, trim() gives the memory back.
 */
const WORKER = new URL('./l25-worker.mjs', import.meta.url);
const MiB = 2 ** 20;
const MAX_BYTES = 256 * MiB;
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

type Reply = Record<string, unknown> & { ok: boolean; error?: string };

async function spawn(memory: SharedArrayBuffer) {
  const w = new Worker(WORKER, { workerData: { memory } });
  workers.push(w);
  let next = 1;
  const waiting = new Map<number, (r: Reply) => void>();
  const first = new Promise<void>((resolve) => {
    w.on('message', (m: Reply & { id: number }) => {
      if (m.id === 0) resolve();
      else waiting.get(m.id)?.(m);
    });
  });
  await first;
  return (op: string, args: Record<string, unknown> = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const id = next++;
      waiting.set(id, (r) => (r.ok ? resolve(r) : reject(new Error(`${op}: ${r.error}`))));
      w.postMessage({ id, op, ...args });
    });
}

describe('fill scenario', () => {
  it('four workers hold ≥ 80 % of a 256 MiB heap as requested bytes at their first out-of-memory, then free it all back', async () => {
    const arena = Arena.format({ initialBytes: MiB, maxBytes: MAX_BYTES, safety: 'strict' });
    arena.threadAttach();
    const l25 = new L25Tier(arena);
    const team = await Promise.all([0, 1, 2, 3].map(() => spawn(arena.memory as SharedArrayBuffer)));
    const tables = team.map(() => new SharedArrayBuffer(2 * 4096 * 4));
    const filled = await Promise.all(
      team.map((call, k) => call('fill', { table: tables[k], seed: 1000 + 7 * k })),
    );
    const requested = filled.reduce((a, r) => a + (r.requested as number), 0);
    const blocks = filled.reduce((a, r) => a + (r.blocks as number), 0);
    const st = l25.stats();
    const share = requested / MAX_BYTES;
    console.log(
      `fill: ${blocks} blocks, ${(requested / MiB).toFixed(1)} MiB requested = ${(share * 100).toFixed(1)} % of maxBytes; ` +
        `live ${(st.liveBytes / MiB).toFixed(1)} MiB usable, spans ${((st.pages * PAGE_SIZE) / MiB).toFixed(1)} MiB, ` +
        `cached ${st.cachedBlocks} blocks, committed ${(arena.committedBytes() / MiB).toFixed(1)} MiB`,
    );
    expect(st.liveBlocks).toBe(blocks);
    expect(share).toBeGreaterThanOrEqual(0.8);
    l25.check();
    // Every worker frees the blocks of the next one.
    const freed = await Promise.all(
      team.map((call, k) =>
        call('freeAll', { table: tables[(k + 1) % 4], count: filled[(k + 1) % 4]!.blocks }),
      ),
    );
    for (const r of freed) expect(r.damaged).toBe(0);
    await Promise.all(team.map((call) => call('detach')));
    expect(l25.stats()).toMatchObject({ liveBlocks: 0, liveBytes: 0, cachedBlocks: 0 });
    l25.check();
    const returned = l25.trim();
    expect(l25.stats()).toMatchObject({ spans: 0, pages: 0 });
    const a = arena.stats();
    expect(a.pagesByTier[l25.id] ?? 0).toBe(0);
    // Every page is free again but the arena's metadata pages (descriptors, areas, page map).
    expect(a.pagesByTier.every((pages, id) => id <= 1 || pages === 0)).toBe(true);
    expect((a.pagesByTier[1] ?? 0) * PAGE_SIZE).toBeLessThan(MAX_BYTES / 100);
    console.log(
      `fill: trim() returned ${(returned / MiB).toFixed(2)} MiB of kept empty spans; ${a.freePages} pages free in ${a.freeRuns} runs, ${a.pagesByTier[1]} metadata pages`,
    );
    arena.check();
  });
});

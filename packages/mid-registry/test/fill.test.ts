import { Arena } from '@hakmem/page-arena';
import { afterEach, describe, expect, it } from 'vitest';
import { MidTier } from '../src/index';
import { spawn, started } from './workers';

const MiB = 2 ** 20;
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.terminate()));
});

describe('the mid tier filled to maxBytes by workers', () => {
  it('4 workers fill a 256 MiB heap with random 1 – 32 KiB blocks to the first out-of-memory, holding ≥ 85 % of maxBytes, then free everything and trim it all back', async () => {
    const maxBytes = 256 * MiB;
    const arena = Arena.format({ maxBytes, safety: 'strict' });
    arena.threadAttach();
    const mid = new MidTier(arena);
    const team = await Promise.all(Array.from({ length: 4 }, () => spawn(arena.memory)));
    const filled = await Promise.all(team.map((w, i) => w.call('fill', { seed: 1000 + i })));
    const requested = filled.reduce((a, r) => a + (r.requested as number), 0);
    const blocks = filled.reduce((a, r) => a + (r.count as number), 0);
    const st = mid.stats();
    expect(st.liveBlocks).toBe(blocks);
    expect(arena.committedBytes()).toBe(maxBytes);
    // Held as requested bytes, counting every byte of the heap (header, metadata, span tails,
    // partly used spans of 4 threads, caches and class rounding are the losses).
    expect(requested / maxBytes).toBeGreaterThanOrEqual(0.85);
    mid.check();
    arena.check();
    // Free everything: each worker frees half its blocks and hands the other half to the next one.
    const tables = filled.map((r) => new SharedArrayBuffer(4 * (((r.count as number) + 1) >> 1)));
    const handed = await Promise.all(team.map((w, i) => w.call('handOff', { table: tables[i] })));
    for (const h of handed) expect(h.damaged).toBe(0);
    const taken = await Promise.all(
      team.map((w, i) => w.call('take', { table: tables[(i + 3) % 4], count: handed[(i + 3) % 4]!.handed })),
    );
    for (const t of taken) expect(t.damaged).toBe(0);
    const held = mid.stats();
    expect(held.liveBlocks).toBe(0);
    mid.check();
    // trim() gives the memory back: each worker's (its spans are its own), then this thread's (none left)
    const trims = await Promise.all(team.map((w) => w.call('trim')));
    const given = trims.reduce((a, r) => a + (r.bytes as number), 0) + mid.trim();
    expect(given).toBe(held.pages * 65536);
    expect(given).toBeGreaterThan(0); // spans emptied while others were kept as spares or current
    expect(mid.stats()).toMatchObject({ liveBlocks: 0, spans: 0, pages: 0 });
    expect(arena.stats().pagesByTier[mid.id] ?? 0).toBe(0);
    mid.check();
    await Promise.all(team.map((w) => w.call('detach')));
    mid.check();
    arena.check();
    console.log(
      `fill: ${blocks} blocks, ${(requested / MiB).toFixed(2)} MiB requested = ${((100 * requested) / maxBytes).toFixed(1)} % of maxBytes; ${st.spans} spans of ${st.pages} pages; after the frees ${held.spans} spans (${((held.pages * 65536) / MiB).toFixed(1)} MiB) were left, trim gave back ${(given / MiB).toFixed(1)} MiB`,
    );
  });
});

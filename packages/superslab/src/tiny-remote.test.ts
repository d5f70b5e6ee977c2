// Remote-free batching (issue 10): a remote free waits in the freeing thread's outgoing buffer,
// a chain per destination slab pushed with one CAS. Strict keeps every guarantee meanwhile, check()
// and stats count the buffered blocks, and a thread that dies with a full buffer loses nothing.
import { type Arena, PM_DESC } from '@hakmem/page-arena';
import { describe, expect, it } from 'vitest';
import { codeOf, second, tier } from '../test/support';
import { OUT_BATCH, SL_REMOTE_AT } from './layout';

const MiB = 2 ** 20;

/** i32 index of the slab descriptor of `p`. */
function descOf(arena: Arena, p: number): number {
  return arena.u32[arena.pageEntry(p) + PM_DESC]! >>> 2;
}

describe('remote-free batching', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: a chain reaches the slab's remote list with one push per ${OUT_BATCH} blocks; check() counts the rest`, () => {
      const { arena, tiny } = tier(safety, 32 * MiB);
      const t2 = second(arena).tiny;
      const blocks = Array.from({ length: OUT_BATCH + 5 }, () => tiny.malloc(48));
      const d = descOf(arena, blocks[0]!);
      for (let i = 0; i < OUT_BATCH - 1; i++) t2.free(blocks[i]!);
      expect(Atomics.load(arena.i32, arena.i32[d + SL_REMOTE_AT]!)).toBe(0); // all still buffered
      expect(tiny.stats().liveBlocks).toBe(6);
      tiny.check();
      t2.free(blocks[OUT_BATCH - 1]!); // the chain is full: one push
      expect(Atomics.load(arena.i32, arena.i32[d + SL_REMOTE_AT]!) >>> 0).toBe(blocks[OUT_BATCH - 1]);
      for (let i = OUT_BATCH; i < blocks.length; i++) t2.free(blocks[i]!);
      tiny.check();
      if (safety === 'strict') {
        // Buffered blocks are remote-pending: a second free by either thread is refused, unchanged.
        expect(codeOf(() => t2.free(blocks[OUT_BATCH]!))).toBe('ERR_DOUBLE_FREE');
        expect(codeOf(() => tiny.free(blocks[OUT_BATCH + 1]!))).toBe('ERR_DOUBLE_FREE');
        tiny.check();
      }
      t2.flush();
      tiny.check();
      expect(tiny.stats().liveBlocks).toBe(0);
      expect(tiny.slabs.slabStats().classes[3]!.remote).toBe(blocks.length);
      // The owner collects them all (a trim takes every remote list of its slabs).
      tiny.trim();
      tiny.check();
      expect(Atomics.load(arena.i32, arena.i32[d + SL_REMOTE_AT]!)).toBe(0);
      expect(tiny.slabs.slabStats().classes[3]!.remote).toBe(0);
    });

    it(`${safety}: a thread that dies with buffered remote frees is reclaimed and every block comes back`, () => {
      const { arena, tiny } = tier(safety, 32 * MiB);
      const { arena: other, tiny: t2 } = second(arena);
      const mine = Array.from({ length: 400 }, (_, i) => tiny.malloc(8 + ((i * 37) % 1017)));
      for (const p of mine) t2.free(p); // remote frees, most of them still in t2's buffer
      expect(tiny.stats().liveBlocks).toBe(0);
      tiny.check();
      tiny.reclaim(other.threadId);
      arena.threadRelease(other.threadId);
      tiny.check();
      expect(tiny.slabs.slabStats().classes.reduce((a, c) => a + c.remote, 0)).toBe(400);
      tiny.trim();
      tiny.check();
      expect(tiny.stats().liveBlocks).toBe(0);
      expect(tiny.slabs.slabStats().classes.reduce((a, c) => a + c.used, 0)).toBe(0);
    });
  }
});

import { Arena, PM_DESC, PM_TIER, RunTier } from '@hakmem/page-arena';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeOf, second, tier } from '../test/support';
import { SL_OWNER } from './layout';
import { TINY_CLASS_COUNT, TINY_CLASS_SIZE, TINY_LAYOUT_VERSION } from './size-classes';
import { TinyTier, tinyTier } from './tiny-tier';

const MiB = 2 ** 20;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const free = (_arena: Arena, tiny: TinyTier, p: number) => tiny.free(p);
const usable = (_arena: Arena, tiny: TinyTier, p: number) => tiny.usableSize(p);

describe('TinyTier exact cases', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: serves every size 0 … 1024 within the usableSize bound, aligned, in the tier's pages`, () => {
      const { arena, tiny } = tier(safety, 64 * MiB);
      const blocks: number[] = [];
      for (let size = 0; size <= 1024; size++) {
        const p = tiny.malloc(size);
        expect(p).toBeGreaterThan(0);
        const u = usable(arena, tiny, p);
        expect(u).toBeGreaterThanOrEqual(size);
        if (size > 0)
          expect(u).toBeLessThanOrEqual(Math.max(Math.ceil(size / 16) * 16, Math.ceil(1.25 * size)));
        expect(p % (u >= 16 ? 16 : 8)).toBe(0);
        expect(arena.u32[arena.pageEntry(p) + PM_TIER]! & 0xff).toBe(tiny.id);
        blocks.push(p);
      }
      expect(new Set(blocks).size).toBe(blocks.length);
      const st = tiny.stats();
      expect(st.liveBlocks).toBe(1025);
      expect(st.liveBytes).toBe(blocks.reduce((a, p) => a + usable(arena, tiny, p), 0));
      tiny.check();
      for (const p of blocks) free(arena, tiny, p);
      expect(tiny.stats().liveBlocks).toBe(0);
      tiny.check();
      arena.check();
    });
  }

  it('records its layout version in the heap and refuses a tiny tier recorded by another (or another kind)', () => {
    const arena = Arena.format({ maxBytes: 16 * MiB });
    arena.threadAttach();
    const old = arena.tierOpen('tiny', 0, 1024, 64, TINY_LAYOUT_VERSION - 1); // as version 1 code made it
    expect(codeOf(() => new TinyTier(arena, old))).toBe('ERR_HEAP_INCOMPATIBLE');
    expect(codeOf(() => new TinyTier(arena))).toBe('ERR_HEAP_INCOMPATIBLE'); // finds that tier by kind
    const fresh = Arena.format({ maxBytes: 16 * MiB });
    fresh.threadAttach();
    const t = new TinyTier(fresh);
    expect(fresh.tierInfo(t.id).layoutVersion).toBe(TINY_LAYOUT_VERSION);
    expect(tinyTier.layoutVersion).toBe(TINY_LAYOUT_VERSION);
    const runs = new RunTier(fresh);
    expect(codeOf(() => new TinyTier(fresh, runs.id))).toBe('ERR_HEAP_INCOMPATIBLE');
  });

  it('malloc(0) gives distinct minimal blocks; mallocAligned picks a class that is a multiple of the alignment', () => {
    const { arena, tiny } = tier();
    const a = tiny.malloc(0);
    const b = tiny.malloc(0);
    expect(a).not.toBe(b);
    expect(usable(arena, tiny, a)).toBe(8);
    for (const [alignment, size, expected] of [
      [8, 1, 8],
      [16, 1, 16],
      [32, 40, 64],
      [64, 1, 64],
      [128, 129, 256],
      [256, 1, 256],
      [512, 600, 1024],
      [1024, 1024, 1024],
    ] as const) {
      const p = tiny.mallocAligned(alignment, size);
      expect(p % alignment).toBe(0);
      expect(usable(arena, tiny, p)).toBe(expected);
      free(arena, tiny, p);
    }
    expect(tiny.mallocAligned(2048, 1)).toBe(0);
    expect(tiny.mallocAligned(64, 1025)).toBe(0);
    expect(codeOf(() => tiny.malloc(1025))).toBe('ERR_INVALID_SIZE');
    expect(codeOf(() => tiny.malloc(-1))).toBe('ERR_INVALID_SIZE');
    free(arena, tiny, a);
    free(arena, tiny, b);
    tiny.check();
  });

  it('strict: rejects double frees, interior pointers and never-carved blocks with nothing changed', () => {
    const { arena, tiny } = tier();
    const a = tiny.malloc(100);
    const b = tiny.malloc(100);
    free(arena, tiny, a);
    const before = arena.u8.slice();
    expect(codeOf(() => free(arena, tiny, a))).toBe('ERR_DOUBLE_FREE');
    expect(codeOf(() => free(arena, tiny, b + 16))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => free(arena, tiny, b + 112 * 500))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => usable(arena, tiny, a))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => usable(arena, tiny, b + 8))).toBe('ERR_INVALID_POINTER');
    expect(sameBytes(arena.u8, before)).toBe(true);
    tiny.check();
    free(arena, tiny, b);
    tiny.check();
  });

  it('strict: a double free of a block waiting in a remote list is caught on both threads', () => {
    const { arena, tiny } = tier();
    const t2 = second(arena);
    const p = tiny.malloc(64);
    free(t2.arena, t2.tiny, p); // remote
    expect(codeOf(() => free(t2.arena, t2.tiny, p))).toBe('ERR_DOUBLE_FREE');
    expect(codeOf(() => free(arena, tiny, p))).toBe('ERR_DOUBLE_FREE');
    tiny.check();
    expect(tiny.stats().liveBlocks).toBe(0);
  });

  it('strict: a use-after-free write into a cached block is reported when it would be handed out', () => {
    const { arena, tiny } = tier();
    const a = tiny.malloc(32);
    const b = tiny.malloc(32);
    free(arena, tiny, a);
    free(arena, tiny, b); // cache: b → a
    arena.u32[b >>> 2] = a + 4; // off the 32 B grid
    expect(tiny.malloc(32)).toBe(b);
    expect(codeOf(() => tiny.malloc(32))).toBe('ERR_HEAP_CORRUPTED');
    expect(codeOf(() => tiny.check())).toBe('ERR_HEAP_CORRUPTED');
    arena.u32[b >>> 2] = 40 * MiB; // outside the memory
    expect(codeOf(() => tiny.malloc(32))).toBe('ERR_HEAP_CORRUPTED');
  });

  it('fast mode keeps no bitmaps but still serves, frees remotely and checks', () => {
    const { arena, tiny } = tier('fast');
    const t2 = second(arena);
    const blocks = Array.from({ length: 3000 }, (_, i) => tiny.malloc(i % 1025));
    for (const p of blocks.slice(0, 1000)) free(t2.arena, t2.tiny, p);
    for (const p of blocks.slice(1000)) free(arena, tiny, p);
    tiny.check();
    expect(tiny.stats().liveBlocks).toBe(0);
    const again = Array.from({ length: 3000 }, (_, i) => tiny.malloc(i % 1025));
    for (const p of again) free(arena, tiny, p);
    tiny.check();
  });

  it('frees of another thread go to the slab remote lists and come back to the owner', () => {
    const { arena, tiny } = tier();
    const t2 = second(arena);
    const perSlab = Math.floor(65536 / 48);
    const blocks = Array.from({ length: perSlab }, () => tiny.malloc(48)); // one whole slab
    tiny.flush();
    expect(tiny.slabs.slabStats().classes[3]!.slabs).toBe(1);
    for (const p of blocks) free(t2.arena, t2.tiny, p);
    let st = tiny.stats();
    expect(st.liveBlocks).toBe(0);
    expect(tiny.slabs.slabStats().classes[3]!.remote).toBe(perSlab);
    tiny.check();
    // Remote frees travel in batches: the last, partial one leaves t2's outgoing buffer when it flushes.
    t2.tiny.flush();
    tiny.check();
    // the slab has nothing carved left and nothing local: the owner's refills take the remote list
    const again = Array.from({ length: perSlab }, () => tiny.malloc(48));
    expect(new Set(again)).toEqual(new Set(blocks));
    expect(tiny.slabs.slabStats().classes[3]).toMatchObject({ slabs: 1, remote: 0 });
    st = tiny.stats();
    expect(st.liveBlocks).toBe(perSlab);
    for (const p of again) free(arena, tiny, p);
    tiny.check();
  });

  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: freeOwned frees this thread's tiny blocks and declines every other pointer unchanged; free takes another thread's`, () => {
      const { arena, tiny } = tier(safety);
      const t2 = second(arena);
      const mine = Array.from({ length: 300 }, (_, i) => tiny.malloc((i * 37) % 1025));
      const theirs = Array.from({ length: 300 }, (_, i) => t2.tiny.malloc((i * 53) % 1025));
      const remote = (): number => t2.tiny.slabs.slabStats().classes.reduce((s, c) => s + c.remote, 0);
      // Own blocks (cache pushes and spills).
      for (const p of mine) expect(tiny.freeOwned(p)).toBe(true);
      // The other thread's: declined with nothing changed (the umbrella routes them to free by
      // the page map), then free puts them on their slabs' remote lists.
      for (const p of theirs) expect(tiny.freeOwned(p)).toBe(false);
      expect(remote()).toBe(0);
      expect(tiny.stats().liveBlocks).toBe(theirs.length);
      tiny.check();
      for (const p of theirs) tiny.free(p);
      expect(remote()).toBe(theirs.length);
      tiny.check();
      expect(tiny.stats().liveBlocks).toBe(0);
      // Not tiny: 0, beyond the heap, a page run; nothing changes.
      const runs = new RunTier(arena);
      const run = runs.malloc(5000);
      expect(run).toBeGreaterThan(0);
      for (const p of [0, 2 ** 32 - 8, run]) expect(tiny.freeOwned(p)).toBe(false);
      expect(arena.u32[arena.pageEntry(run) + PM_TIER]! & 0xff).toBe(runs.id);
      if (safety === 'strict') {
        // A second free of another thread's block, pending in its remote list: rejected.
        const q = t2.tiny.malloc(24);
        tiny.free(q);
        expect(codeOf(() => tiny.free(q))).toBe('ERR_DOUBLE_FREE');
        expect(tiny.freeOwned(q)).toBe(false);
      }
      // The other thread takes its blocks back.
      const again = Array.from({ length: 300 }, (_, i) => t2.tiny.malloc((i * 53) % 1025));
      for (const p of again) expect(t2.tiny.freeOwned(p)).toBe(true);
      t2.tiny.check();
      // Detached: declined, the umbrella reports it.
      const last = t2.tiny.malloc(16);
      tiny.detach();
      expect(tiny.freeOwned(last)).toBe(false);
    });
  }

  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: freeAt frees this thread's and another thread's blocks with the entry given; other tiers' blocks are rejected unchanged`, () => {
      const { arena, tiny } = tier(safety);
      const t2 = second(arena);
      const mine = Array.from({ length: 200 }, (_, i) => tiny.malloc((i * 37) % 1025));
      const theirs = Array.from({ length: 200 }, (_, i) => t2.tiny.malloc((i * 53) % 1025));
      const remote = (): number => t2.tiny.slabs.slabStats().classes.reduce((s, c) => s + c.remote, 0);
      for (const p of mine) tiny.freeAt(p, arena.pageEntry(p));
      expect(remote()).toBe(0);
      for (const p of theirs) tiny.freeAt(p, arena.pageEntry(p));
      expect(remote()).toBe(theirs.length);
      expect(tiny.stats().liveBlocks).toBe(0);
      const runs = new RunTier(arena);
      const run = runs.malloc(5000);
      arena.refresh();
      const before = arena.u8.slice();
      expect(codeOf(() => tiny.freeAt(run, arena.pageEntry(run)))).toBe('ERR_INVALID_POINTER');
      arena.refresh();
      expect(sameBytes(before, arena.u8)).toBe(true);
      if (safety === 'strict') {
        const q = t2.tiny.malloc(24);
        tiny.freeAt(q, arena.pageEntry(q));
        expect(codeOf(() => tiny.freeAt(q, arena.pageEntry(q)))).toBe('ERR_DOUBLE_FREE');
      }
      tiny.check();
    });
  }

  it('detach abandons used slabs; another thread adopts them and frees their blocks', () => {
    const { arena, tiny } = tier();
    const t2 = second(arena);
    const held = Array.from({ length: 280 }, (_, i) => t2.tiny.malloc(200 + (i % 3))); // one 224 B slab
    t2.tiny.detach();
    t2.arena.threadRelease(t2.arena.threadId);
    expect(tiny.stats().liveBlocks).toBe(280);
    expect(tiny.slabs.slabStats().abandonedSlabs).toBe(1);
    tiny.check();
    for (const p of held.slice(0, 140)) free(arena, tiny, p);
    const p = tiny.malloc(200); // adopts the abandoned slab
    expect(arena.i32[(arena.u32[arena.pageEntry(p) + PM_DESC]! >>> 2) + SL_OWNER]).toBe(arena.threadId);
    free(arena, tiny, p);
    for (const q of held.slice(140)) free(arena, tiny, q);
    expect(tiny.stats().liveBlocks).toBe(0);
    tiny.check();
  });

  it('reclaims a dead thread: its cached blocks and empty slabs return, live blocks stay valid', () => {
    const { arena, tiny } = tier();
    const t2 = second(arena);
    const dead = t2.arena.threadId;
    const live = Array.from({ length: 50 }, () => t2.tiny.malloc(24));
    const gone = Array.from({ length: 50 }, () => t2.tiny.malloc(700));
    for (const p of gone) free(t2.arena, t2.tiny, p); // into its cache
    expect(tiny.stats().classes[18]!.cachedBlocks).toBeGreaterThan(0);
    tiny.check();
    tiny.reclaim(dead);
    arena.threadRelease(dead);
    const st = tiny.stats();
    expect(st.liveBlocks).toBe(50);
    expect(st.classes[18]!.cachedBlocks).toBe(0);
    expect(tiny.slabs.slabStats().classes[18]!.slabs).toBe(0);
    tiny.check();
    for (const p of live) free(arena, tiny, p);
    expect(tiny.stats().liveBlocks).toBe(0);
    tiny.check();
    expect(tiny.trim()).toBeGreaterThan(0);
    expect(tiny.stats().superslabs).toBe(0);
    arena.check();
  });

  it('trim returns empty SuperSlabs to the arena', () => {
    const { arena, tiny } = tier('strict', 64 * MiB);
    const blocks = Array.from({ length: 40000 }, (_, i) => tiny.malloc(16 + (i % 1009)));
    expect(tiny.stats().superslabs).toBeGreaterThan(5);
    for (const p of blocks) free(arena, tiny, p);
    tiny.check();
    const bytes = tiny.trim();
    expect(bytes).toBeGreaterThan(0);
    expect(bytes % (64 * 1024)).toBe(0);
    const st = tiny.stats();
    expect(st.superslabs).toBe(0);
    expect(st.slabs).toBe(0);
    expect(arena.stats().pagesByTier[tiny.id] ?? 0).toBe(0);
    tiny.check();
    arena.check();
  });

  it('returns 0 at maxBytes and serves again after frees', () => {
    const { arena, tiny } = tier('strict', 8 * MiB);
    const blocks: number[] = [];
    let requested = 0;
    for (let i = 0; ; i++) {
      const size = 16 + ((i * 7919) % 1009);
      const p = tiny.malloc(size);
      if (p === 0) break;
      blocks.push(p);
      requested += size;
    }
    // a small heap: header and META pages, 20 classes' partly used slabs and the caches cost ~20 %
    expect(requested).toBeGreaterThan(8 * MiB * 0.75);
    tiny.check();
    arena.check();
    for (const p of blocks.splice(0, 1000)) free(arena, tiny, p);
    expect(tiny.malloc(1000)).not.toBe(0);
  });

  it("a hot class's cache capacity grows and a cold one's shrinks", () => {
    const { arena, tiny } = tier();
    const cap = (cls: number) => tiny.stats().classes[cls]!.capacity;
    const coldBefore = cap(20);
    free(arena, tiny, tiny.malloc(1024)); // the 1 KiB class is used once, then never
    const hotBefore = cap(2);
    const held: number[] = [];
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 2000; i++) held.push(tiny.malloc(32));
      while (held.length > 0) free(arena, tiny, held.pop()!);
    }
    expect(cap(2)).toBeGreaterThan(hotBefore);
    expect(cap(20)).toBeLessThan(coldBefore);
    const s = tiny.stats().classes[2]!;
    expect(s.hits).toBeGreaterThan(s.misses * 10);
    tiny.check();
  });

  it('works on a non-shared resizable ArrayBuffer that grows under it', () => {
    const { arena, tiny } = tier('strict', 32 * MiB, false);
    const blocks = Array.from({ length: 30000 }, (_, i) => tiny.malloc(i % 1025));
    tiny.check();
    for (const p of blocks) free(arena, tiny, p);
    tiny.trim();
    tiny.check();
    arena.check();
  });
});

describe('TinyTier against a model', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: random malloc/free/mallocAligned sequences keep payloads and pass check() after each step`, () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.record({ op: fc.constant('malloc' as const), size: fc.integer({ min: 0, max: 1024 }) }),
              fc.record({
                op: fc.constant('aligned' as const),
                shift: fc.integer({ min: 3, max: 10 }),
                size: fc.integer({ min: 0, max: 1024 }),
              }),
              fc.record({ op: fc.constant('free' as const), pick: fc.nat() }),
              fc.record({ op: fc.constant('remote' as const), pick: fc.nat() }),
              fc.record({ op: fc.constant('flush' as const) }),
            ),
            { minLength: 1, maxLength: 120 },
          ),
          (ops) => {
            const { arena, tiny } = tier(safety, 8 * MiB);
            const t2 = second(arena);
            const live = new Map<number, { size: number; seed: number }>();
            let seed = 1;
            const fill = (p: number, size: number, s: number) => {
              for (let i = 0; i < size; i++) arena.u8[p + i] = (s + i * 31) & 0xff;
            };
            const verify = (p: number, size: number, s: number) => {
              for (let i = 0; i < size; i++) if (arena.u8[p + i] !== ((s + i * 31) & 0xff)) return false;
              return true;
            };
            for (const o of ops) {
              if (o.op === 'malloc' || o.op === 'aligned') {
                const p = o.op === 'malloc' ? tiny.malloc(o.size) : tiny.mallocAligned(2 ** o.shift, o.size);
                if (p === 0) {
                  expect(o.op).toBe('aligned');
                  continue;
                }
                if (o.op === 'aligned') expect(p % 2 ** o.shift).toBe(0);
                const u = usable(arena, tiny, p);
                expect(u).toBeGreaterThanOrEqual(o.size);
                for (const [q, b] of live) {
                  expect(p + u <= q || q + Math.max(b.size, 1) <= p).toBe(true);
                }
                fill(p, o.size, ++seed);
                live.set(p, { size: o.size, seed });
              } else if (o.op === 'free' || o.op === 'remote') {
                if (live.size === 0) continue;
                const keys = [...live.keys()];
                const p = keys[o.pick % keys.length]!;
                const b = live.get(p)!;
                expect(verify(p, b.size, b.seed)).toBe(true);
                live.delete(p);
                if (o.op === 'free') free(arena, tiny, p);
                else free(t2.arena, t2.tiny, p);
              } else {
                tiny.flush();
              }
              tiny.check();
              expect(tiny.stats().liveBlocks).toBe(live.size);
            }
            for (const [p, b] of live) {
              expect(verify(p, b.size, b.seed)).toBe(true);
              free(arena, tiny, p);
            }
            tiny.check();
            expect(tiny.stats().liveBlocks).toBe(0);
            t2.tiny.detach();
            t2.arena.threadRelease(t2.arena.threadId);
            tiny.trim();
            tiny.check();
            arena.check();
          },
        ),
        { numRuns: 40 },
      );
    });
  }
  it('TINY_CLASS_COUNT classes are reported', () => {
    const { tiny } = tier();
    expect(tiny.stats().classes.map((c) => c.size)).toEqual(Array.from(TINY_CLASS_SIZE));
    expect(tiny.stats().classes.length).toBe(TINY_CLASS_COUNT);
  });
});

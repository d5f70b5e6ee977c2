import { Arena, HakmemError, PAGE_SIZE, PM_DESC, PM_TIER, RunTier } from '@hakmem/page-arena';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../scripts/test-support';
import { L25Tier, l25Tier } from './l25-tier';
import { Bs, Cr, KEEP_EMPTY_PAGES, Shift, SlotWord, Sp, Ta } from './layout';
import { L25_CLASS_SIZE, l25ClassOf, l25UsableBound } from './size-classes';

const KiB = 1024;
const MiB = 2 ** 20;

function tier(safety: 'strict' | 'fast' = 'strict', maxBytes = 64 * MiB, shared = true) {
  const arena = Arena.format({ initialBytes: MiB, maxBytes, safety, shared });
  arena.threadAttach();
  return { arena, l25: new L25Tier(arena) };
}

/** Another thread slot on the same memory (same JS thread: enough for shards, caches and remote frees). */
function second(arena: Arena) {
  const other = Arena.attach(arena.memory);
  other.threadAttach();
  return { arena: other, l25: new L25Tier(other) };
}

const codeOf = (fn: () => unknown) => thrownCode(fn, HakmemError.codeOf);

/** The code of a call that must be rejected with every byte of the memory unchanged. */
function rejected(arena: Arena, fn: () => unknown): string | undefined {
  arena.refresh();
  const before = Buffer.from(arena.u8.slice());
  const code = codeOf(fn);
  arena.refresh();
  expect(Buffer.compare(before, Buffer.from(arena.u8.buffer, 0, arena.u8.length))).toBe(0);
  return code;
}

/** The span descriptor (i32 index) of a block. */
function spanOf(arena: Arena, p: number): number {
  return arena.u32[arena.pageEntry(p) + PM_DESC]! >>> 2;
}

describe('L25Tier exact cases', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: a table of sizes gets its class, 16-byte aligned, in the tier's pages, counted in stats`, () => {
      const { arena, l25 } = tier(safety);
      const table: Array<[number, number]> = [
        [32769, 40 * KiB],
        [40 * KiB, 40 * KiB],
        [40 * KiB + 1, 48 * KiB],
        [50_000, 56 * KiB],
        [64 * KiB, 64 * KiB],
        [64 * KiB + 1, 80 * KiB],
        [100_000, 112 * KiB],
        [200_000, 224 * KiB],
        [300_000, 320 * KiB],
        [600_000, 640 * KiB],
        [900_000, 896 * KiB],
        [MiB, MiB],
      ];
      const blocks: number[] = [];
      for (const [size, usable] of table) {
        const p = l25.malloc(size);
        expect(p % 16).toBe(0);
        expect([size, l25.usableSize(p)]).toEqual([size, usable]);
        expect(arena.u32[arena.pageEntry(p) + PM_TIER]! & 0xff).toBe(l25.id);
        arena.u8.fill(0xab, p, p + size);
        blocks.push(p);
      }
      const ends = blocks.map((p, i) => [p, p + table[i]![1]] as const).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < ends.length; i++) expect(ends[i]![0]).toBeGreaterThanOrEqual(ends[i - 1]![1]);
      const st = l25.stats();
      expect(st.liveBlocks).toBe(table.length);
      expect(st.liveBytes).toBe(table.reduce((a, [, u]) => a + u, 0));
      l25.check();
      for (const p of blocks) l25.free(p);
      expect(l25.stats()).toMatchObject({ liveBlocks: 0, liveBytes: 0 });
      l25.check();
      expect(l25.trim()).toBeGreaterThan(0);
      expect(l25.stats()).toMatchObject({ spans: 0, pages: 0, cachedBlocks: 0 });
      expect(arena.stats().pagesByTier[l25.id] ?? 0).toBe(0);
      l25.check();
      arena.check();
    });

    it(`${safety}: every size on a grid of the range and its edges stays within the usableSize bound`, () => {
      const { l25 } = tier(safety);
      const sizes = new Set<number>([0, 1, 16, 17, 1000, 32 * KiB, MiB - 1, MiB]);
      for (let s = 32769; s <= MiB; s += 4093) sizes.add(s);
      for (let e = 15; e <= 20; e++) for (const d of [-1, 0, 1]) sizes.add(Math.min(MiB, 2 ** e + d));
      for (const size of sizes) {
        const p = l25.malloc(size);
        const u = l25.usableSize(p);
        if (!(u >= size && (size === 0 || u <= l25UsableBound(size)) && p % 16 === 0)) {
          throw new Error(`size ${size}: block ${p} of ${u} bytes`);
        }
        l25.free(p);
      }
      l25.check();
      expect(l25.stats().liveBlocks).toBe(0);
    });
  }

  it('mallocAligned takes the smallest class that is a multiple of the alignment; bad sizes and alignments are refused', () => {
    const { l25 } = tier();
    for (const [alignment, size, usable] of [
      [16, 40_000, 40 * KiB],
      [8192, 40_000, 40 * KiB],
      [16384, 40_000, 48 * KiB],
      [65536, 40_000, 64 * KiB],
      [65536, 70_000, 128 * KiB],
      [32768, MiB, MiB],
    ] as const) {
      const p = l25.mallocAligned(alignment, size);
      expect(p % alignment).toBe(0);
      expect(l25.usableSize(p)).toBe(usable);
      l25.free(p);
    }
    for (const bad of [-1, 1.5, MiB + 1, Number.NaN, '40000' as unknown as number]) {
      expect(codeOf(() => l25.malloc(bad))).toBe('ERR_INVALID_SIZE');
    }
    expect(codeOf(() => l25.mallocAligned(3, 40_000))).toBe('ERR_INVALID_ALIGNMENT');
    expect(codeOf(() => l25.mallocAligned(2 ** 17, 40_000))).toBe('ERR_INVALID_ALIGNMENT');
    l25.check();
  });

  it('resize stays in place while the class fits the usableSize bound', () => {
    const { l25 } = tier();
    const p = l25.malloc(40_000); // 40 KiB class
    for (const [size, inPlace] of [
      [40_000, true],
      [40 * KiB, true],
      [33_000, true],
      [32 * KiB, true], // 40 KiB = 1.25 × 32 KiB
      [32 * KiB - 1, false],
      [40 * KiB + 1, false],
      [MiB, false],
    ] as const) {
      expect([size, l25.resize(p, size)]).toEqual([size, inPlace]);
    }
    l25.free(p);
    expect(codeOf(() => l25.resize(p, 40_000))).toBe('ERR_INVALID_POINTER');
  });

  it('blocks of one class share a span (a 40 KiB block does not cost 64 KiB); spans are exact runs of the page map', () => {
    const { arena, l25 } = tier();
    const blocks = Array.from({ length: 8 }, () => l25.malloc(40 * KiB));
    const d = spanOf(arena, blocks[0]!);
    for (const p of blocks) expect(spanOf(arena, p)).toBe(d);
    expect(arena.i32[d + Sp.Pages]).toBe(5);
    expect(l25.stats()).toMatchObject({ spans: 1, pages: 5, liveBlocks: 8 });
    expect(l25.occupancy(arena.u32[d + Sp.Start]!, 5)).toBe(1);
    const ninth = l25.malloc(40 * KiB);
    expect(spanOf(arena, ninth)).not.toBe(d);
    for (const p of [...blocks, ninth]) l25.free(p);
    l25.check();
  });

  it('a thread cache serves a malloc/free loop without the shard: misses stay at the first refill', () => {
    const { l25 } = tier();
    for (let i = 0; i < 1000; i++) l25.free(l25.malloc(300_000));
    const c = l25.stats().classes.find((k) => k.size === 320 * KiB)!;
    expect(c.misses).toBe(1);
    expect(c.spans).toBe(1);
    l25.check();
  });
});

describe('L25Tier strict errors: reported with their code, nothing changed', () => {
  it('double frees: into the own cache, after a flush, across threads, of a block in another cache, of a released span', () => {
    const { arena, l25 } = tier('strict', 32 * MiB);
    const t2 = second(arena);
    const p = l25.malloc(40_000);
    const keep = l25.malloc(40_000); // keeps the span in use
    l25.free(p); // this thread's cache
    expect(rejected(arena, () => l25.free(p))).toBe('ERR_DOUBLE_FREE');
    expect(rejected(arena, () => t2.l25.free(p))).toBe('ERR_DOUBLE_FREE');
    l25.flush(); // back in the span
    expect(rejected(arena, () => l25.free(p))).toBe('ERR_DOUBLE_FREE');
    expect(rejected(arena, () => t2.l25.free(p))).toBe('ERR_DOUBLE_FREE');
    const q = l25.malloc(100_000);
    t2.l25.free(q); // a remote free: straight to its span
    expect(rejected(arena, () => t2.l25.free(q))).toBe('ERR_DOUBLE_FREE');
    expect(rejected(arena, () => l25.free(q))).toBe('ERR_DOUBLE_FREE');
    const r = t2.l25.malloc(50_000);
    t2.l25.free(r); // in thread 2's cache
    expect(rejected(arena, () => l25.free(r))).toBe('ERR_DOUBLE_FREE');
    const big = l25.malloc(MiB); // a one-block span
    l25.free(big);
    l25.trim(); // its span goes back to the arena: the pages are free
    expect(rejected(arena, () => l25.free(big))).toBe('ERR_DOUBLE_FREE');
    expect(rejected(arena, () => l25.usableSize(p))).toBe('ERR_INVALID_POINTER');
    l25.free(keep);
    l25.check();
    expect(l25.stats().liveBlocks).toBe(0);
  });

  it('pointers that are not live block starts: interior, past the carve mark, random offsets, other tiers', () => {
    const { arena, l25 } = tier('strict', 32 * MiB);
    const p = l25.malloc(40_000);
    const runs = new RunTier(arena);
    const run = runs.malloc(100_000);
    const start = arena.u32[spanOf(arena, p) + Sp.Start]!;
    for (const bad of [
      p + 16,
      p + 4096,
      p + 40 * KiB - 16,
      start + 7 * 40 * KiB,
      start + 5 * PAGE_SIZE - 16,
    ]) {
      expect([bad, rejected(arena, () => l25.free(bad))]).toEqual([bad, 'ERR_INVALID_POINTER']);
      expect(rejected(arena, () => l25.usableSize(bad))).toBe('ERR_INVALID_POINTER');
    }
    for (const bad of [0, 12_345, arena.base, arena.base + 16, run, 2 ** 32 - 16, -16, 1.5]) {
      expect([bad, rejected(arena, () => l25.free(bad))]).toEqual([bad, 'ERR_INVALID_POINTER']);
      expect(l25.freeOwned(bad >>> 0)).toBe(false);
    }
    l25.free(p);
    runs.free(run);
    l25.check();
  });

  it('a write after free cannot break a list (they are out of band); a stray write into one is ERR_HEAP_CORRUPTED', () => {
    const { arena, l25 } = tier('strict', 32 * MiB);
    const a = l25.malloc(40_000);
    const b = l25.malloc(40_000);
    l25.free(a);
    l25.free(b);
    arena.u8.fill(0xff, a, a + 40_000); // use after free: harmless to the allocator
    arena.u8.fill(0x00, b, b + 40_000);
    l25.check();
    expect(l25.malloc(40_000)).toBe(b);
    expect(l25.malloc(40_000)).toBe(a);
    // A cache slot overwritten (not by a user block: the area is metadata).
    l25.free(a);
    const h = l25.records + (l25ClassOf(40_000) << Shift.Record);
    const slot = arena.i32[h + Cr.Slots]! + arena.i32[h + Cr.Count]! - 1;
    arena.i32[slot] = b; // a live block
    expect(rejected(arena, () => l25.malloc(40_000))).toBe('ERR_HEAP_CORRUPTED');
    expect(codeOf(() => l25.check())).toBe('ERR_HEAP_CORRUPTED');
    arena.i32[slot] = a + 8; // not a block start
    expect(rejected(arena, () => l25.malloc(40_000))).toBe('ERR_HEAP_CORRUPTED');
    arena.i32[slot] = a;
    expect(l25.malloc(40_000)).toBe(a);
    // A span's free-stack entry overwritten with a live block's index.
    l25.free(a);
    l25.flush();
    const d = spanOf(arena, a);
    const top = arena.i32[d + Sp.Top]!;
    const entry = d + Sp.Header + arena.i32[d + Sp.Blocks]! + top - 1;
    const saved = arena.i32[entry]!;
    arena.i32[entry] = (b - arena.u32[d + Sp.Start]!) / (40 * KiB);
    expect(codeOf(() => l25.check())).toBe('ERR_HEAP_CORRUPTED');
    expect(codeOf(() => l25.malloc(40_000))).toBe('ERR_HEAP_CORRUPTED');
    arena.i32[entry] = saved;
    l25.check();
    const c = l25.malloc(40_000);
    expect(c).toBeGreaterThan(0);
    for (const p of [b, c]) l25.free(p);
    l25.check();
    expect(l25.stats().liveBlocks).toBe(0);
  });
});

describe('L25Tier.freeAt (free with the page-map entry the caller read)', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: frees like free, this thread's and another's blocks; other tiers' blocks and (strict) double frees are rejected with nothing changed`, () => {
      const { arena, l25 } = tier(safety, 32 * MiB);
      const t2 = second(arena);
      const runs = new RunTier(arena);
      const p = l25.malloc(40_000);
      const q = t2.l25.malloc(100_000);
      const other = runs.malloc(2 * MiB);
      l25.freeAt(p, arena.pageEntry(p)); // this thread's cache
      l25.freeAt(q, arena.pageEntry(q)); // another thread's block: its span's remote list
      expect(l25.stats().liveBlocks + t2.l25.stats().liveBlocks).toBe(0);
      expect(l25.malloc(40_000)).toBe(p);
      if (safety === 'strict') {
        const r = l25.malloc(50_000);
        l25.freeAt(r, arena.pageEntry(r));
        expect(rejected(arena, () => l25.freeAt(r, arena.pageEntry(r)))).toBe('ERR_DOUBLE_FREE');
      }
      expect(rejected(arena, () => l25.freeAt(other, arena.pageEntry(other)))).toBe('ERR_INVALID_POINTER');
      l25.freeAt(p, arena.pageEntry(p));
      runs.free(other);
      l25.check();
      expect(l25.stats().liveBlocks).toBe(0);
    });
  }
});

describe('L25Tier strict cache slot descriptors', () => {
  /** The top slot of class `cls`'s cache: i32 indexes of its block word and its descriptor word. */
  function top(arena: Arena, l25: L25Tier, cls: number) {
    const h = l25.records + (cls << Shift.Record);
    const n = arena.i32[h + Cr.Count]!;
    const slot = arena.i32[h + Cr.Slots]! + n - 1;
    return { h, n, slot, desc: slot + SlotWord.Desc };
  }

  it('a cached block names its span beside its slot; a stray write into either word is ERR_HEAP_CORRUPTED with nothing handed out', () => {
    const { arena, l25 } = tier('strict', 32 * MiB);
    const cls = l25ClassOf(40_000);
    const a = l25.malloc(40_000);
    const other = l25.malloc(200_000);
    l25.free(a);
    const { slot, desc } = top(arena, l25, cls);
    const d = spanOf(arena, a);
    expect([arena.u32[slot], arena.i32[desc]]).toEqual([a, d]);
    for (const [word, value] of [
      [desc, d + 1],
      [desc, d - 1],
      [desc, 0],
      [desc, -1],
      [desc, spanOf(arena, other)],
      [slot, a + 16],
      [slot, other],
    ] as const) {
      const saved = arena.i32[word]!;
      arena.i32[word] = value;
      expect([word - slot, value, rejected(arena, () => l25.malloc(40_000))]).toEqual([
        word - slot,
        value,
        'ERR_HEAP_CORRUPTED',
      ]);
      expect(codeOf(() => l25.check())).toBe('ERR_HEAP_CORRUPTED');
      arena.i32[word] = saved;
    }
    l25.check();
    expect(l25.malloc(40_000)).toBe(a);
    for (const p of [a, other]) l25.free(p);
    l25.check();
  });

  it('a slot rewritten to name a live block, a stale slot above a raised Count, a slot copied into another class: ERR_HEAP_CORRUPTED', () => {
    const { arena, l25 } = tier('strict', 32 * MiB);
    const cls = l25ClassOf(40_000);
    const a = l25.malloc(40_000);
    const b = l25.malloc(40_000);
    l25.free(a);
    // Both words rewritten consistently to name live block b: its state says live.
    const { h, n, slot, desc } = top(arena, l25, cls);
    const saved: [number, number] = [arena.i32[slot]!, arena.i32[desc]!];
    arena.i32[slot] = b;
    arena.i32[desc] = spanOf(arena, b);
    expect(rejected(arena, () => l25.malloc(40_000))).toBe('ERR_HEAP_CORRUPTED');
    [arena.i32[slot], arena.i32[desc]] = saved;
    // a handed out again; Count raised back over its (still intact) slot.
    expect(l25.malloc(40_000)).toBe(a);
    arena.i32[h + Cr.Count] = n;
    expect(rejected(arena, () => l25.malloc(40_000))).toBe('ERR_HEAP_CORRUPTED');
    arena.i32[h + Cr.Count] = n - 1;
    l25.check();
    // a cached, its slot copied on top of the 56 KiB class's cache.
    l25.free(a);
    const o = top(arena, l25, l25ClassOf(50_000));
    arena.i32[o.slot + 1] = a;
    arena.i32[o.desc + 1] = arena.i32[desc]!;
    arena.i32[o.h + Cr.Count] = o.n + 1;
    expect(rejected(arena, () => l25.malloc(50_000))).toBe('ERR_HEAP_CORRUPTED');
    arena.i32[o.h + Cr.Count] = o.n;
    l25.check();
    l25.free(b);
    l25.check();
    expect(l25.stats().liveBlocks).toBe(0);
  });
});

describe('L25Tier across threads (thread slots on one JS thread)', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: another thread's frees go back to the spans; a thread steals from another shard before making a span`, () => {
      const { arena, l25 } = tier(safety);
      const t2 = second(arena);
      const blocks = Array.from({ length: 24 }, () => l25.malloc(40 * KiB)); // 3 spans of 8 in shard 1
      l25.flush();
      for (const p of blocks) expect(t2.l25.freeOwned(p)).toBe(true);
      t2.l25.flush();
      expect(l25.stats().liveBlocks).toBe(0);
      l25.check();
      // Thread 2's home shard has no 40 KiB span: it takes blocks of thread 1's shard.
      const spansBefore = l25.stats().spans;
      const stolen = t2.l25.malloc(40 * KiB);
      expect(arena.i32[spanOf(arena, stolen) + Sp.Shard]).toBe(l25.home);
      expect(l25.stats().spans).toBe(spansBefore);
      t2.l25.free(stolen);
      // Thread 2 leaves; its cached blocks go back, thread 1 frees the rest.
      const held = Array.from({ length: 5 }, () => t2.l25.malloc(200_000));
      t2.l25.detach();
      t2.arena.threadRelease(t2.arena.threadId);
      expect(codeOf(() => t2.l25.malloc(200_000))).toBe('ERR_INVALID_THREAD');
      expect(t2.l25.freeOwned(held[0]!)).toBe(false);
      expect(l25.stats().liveBlocks).toBe(5);
      for (const p of held) l25.free(p);
      l25.check();
      l25.trim();
      expect(l25.stats()).toMatchObject({ liveBlocks: 0, spans: 0 });
      arena.check();
    });
  }

  it('reclaim of a dead thread: its cache and its half-made span return; its live blocks stay valid', () => {
    const { arena, l25 } = tier();
    const t2 = second(arena);
    const dead = t2.arena.threadId;
    const live = Array.from({ length: 6 }, () => t2.l25.malloc(60_000));
    const gone = Array.from({ length: 6 }, () => t2.l25.malloc(130_000));
    for (const p of gone) t2.l25.free(p);
    expect(l25.stats().cachedBlocks).toBeGreaterThan(0);
    // It died between allocRun and registering a span: its area names the run.
    const run = t2.arena.allocRun(3, l25.id);
    t2.arena.i32[t2.l25.area + Ta.NewRun] = run;
    expect(codeOf(() => l25.check())).toBe('ERR_HEAP_CORRUPTED');
    arena.breakLocksOf(dead);
    l25.reclaim(dead);
    arena.threadRelease(dead);
    const st = l25.stats();
    expect(st).toMatchObject({ liveBlocks: 6, cachedBlocks: 0 });
    l25.check();
    for (const p of live) {
      const d = spanOf(arena, p);
      const idx = (p - arena.u32[d + Sp.Start]!) / arena.i32[d + Sp.Size]!;
      expect(arena.i32[d + Sp.Header + idx]!).toBe((dead << Shift.Tid) | Bs.Live);
      l25.free(p);
    }
    l25.trim();
    expect(l25.stats()).toMatchObject({ liveBlocks: 0, spans: 0 });
    expect(arena.stats().pagesByTier[l25.id] ?? 0).toBe(0);
    l25.check();
    arena.check();
    expect(codeOf(() => l25.reclaim(arena.threadId))).toBe('ERR_INVALID_THREAD');
  });
});

describe('L25Tier memory', () => {
  it('returns 0 at maxBytes (after giving its cache back) and serves again after frees', () => {
    const { arena, l25 } = tier('strict', 24 * MiB);
    const blocks: number[] = [];
    let requested = 0;
    for (let i = 0; ; i++) {
      const size = 32 * KiB + ((i * 7919 * 13) % (MiB - 32 * KiB));
      const p = l25.malloc(size);
      if (p === 0) break;
      blocks.push(p);
      requested += size;
    }
    expect(requested).toBeGreaterThan(24 * MiB * 0.7);
    l25.check();
    arena.check();
    for (const p of blocks.splice(0, blocks.length >> 1)) l25.free(p);
    expect(l25.malloc(MiB)).not.toBe(0);
    l25.check();
  });

  it('keeps a few empty spans per shard for reuse; trim returns them all', () => {
    const { arena, l25 } = tier();
    const blocks = Array.from({ length: 40 }, (_, i) => l25.malloc(32 * KiB + i * 20 * KiB));
    for (const p of blocks) l25.free(p);
    const st = l25.stats();
    expect(st.liveBlocks).toBe(0);
    expect(st.emptyPages).toBeGreaterThan(0);
    expect(st.emptyPages).toBeLessThanOrEqual(l25.keepPages);
    expect(l25.keepPages).toBe(KEEP_EMPTY_PAGES + l25.cacheBudget / PAGE_SIZE);
    const bytes = l25.trim();
    expect(bytes).toBeGreaterThan(0);
    expect(bytes % PAGE_SIZE).toBe(0);
    expect(l25.stats()).toMatchObject({ spans: 0, emptyPages: 0 });
    expect(arena.stats().pagesByTier[l25.id] ?? 0).toBe(0);
    arena.check();
  });

  it('works on a non-shared resizable ArrayBuffer that grows under it, and trims it', () => {
    const { arena, l25 } = tier('strict', 96 * MiB, false);
    const blocks = Array.from({ length: 100 }, (_, i) =>
      l25.malloc(32 * KiB + ((i * 104_729) % (MiB - 32 * KiB))),
    );
    expect(blocks.every((p) => p > 0)).toBe(true);
    l25.check();
    for (const p of blocks) l25.free(p);
    l25.trim();
    l25.check();
    expect(arena.trim()).toBeGreaterThan(0);
    const again = l25.malloc(500_000);
    expect(again).toBeGreaterThan(0);
    l25.free(again);
    l25.check();
    arena.check();
  });

  it('fragmentation on a mixed workload: spans ≤ 1.25 × peak live bytes', () => {
    const { arena, l25 } = tier('strict', 768 * MiB);
    let s = 0x2545f491;
    const next = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return s >>> 0;
    };
    // Log-uniform 32 KiB – 1 MiB: a random octave, then uniform inside it.
    const size = () => {
      const e = 15 + (next() % 5);
      return Math.min(MiB, 2 ** e + (next() % 2 ** e));
    };
    const tierBytes = () => (arena.stats().pagesByTier[l25.id] ?? 0) * PAGE_SIZE;
    const n = 600;
    const blocks: number[] = [];
    const sizes: number[] = [];
    let live = 0;
    const place = () => {
      const z = size();
      blocks.push(l25.malloc(z));
      sizes.push(z);
      live += z;
    };
    for (let i = 0; i < n; i++) place();
    let peakLive = live;
    let peakTier = tierBytes();
    let peakCommitted = arena.committedBytes();
    for (let i = 1; i < n; i += 2) {
      l25.free(blocks[i]!);
      live -= sizes[i]!;
      blocks[i] = 0;
    }
    for (let i = 0; i < n / 2; i++) place();
    peakLive = Math.max(peakLive, live);
    peakTier = Math.max(peakTier, tierBytes());
    peakCommitted = Math.max(peakCommitted, arena.committedBytes());
    console.log(
      `fragmentation: peak live ${(peakLive / MiB).toFixed(1)} MiB, spans ${(peakTier / peakLive).toFixed(3)}×, arena committed ${(peakCommitted / peakLive).toFixed(3)}× (growth steps of 1/8 included)`,
    );
    expect(peakTier / peakLive).toBeLessThanOrEqual(1.25);
    for (const p of blocks) if (p !== 0) l25.free(p);
    l25.check();
  });

  it('is a TierFactory: l25Tier opens the heap tier of a composition', () => {
    const arena = Arena.format({ initialBytes: MiB, maxBytes: 32 * MiB });
    arena.threadAttach();
    expect(l25Tier.layoutVersion).toBe(3);
    const id = arena.tierOpen(
      l25Tier.kind,
      1025,
      l25Tier.sizeLimit,
      l25Tier.rootWords,
      l25Tier.layoutVersion,
    );
    const l25 = l25Tier.create(arena, id);
    expect([l25.kind, l25.minSize, l25.maxSize, l25.id]).toEqual(['l25', 1025, MiB, id]);
    expect(new L25Tier(arena).id).toBe(id); // the same tier again, for this thread
    const p = l25.malloc(2000);
    expect(l25.usableSize(p)).toBe(L25_CLASS_SIZE[l25ClassOf(2000)]);
    l25.free(p);
    const runs = arena.tierOpen('run', 0, 10, 4);
    expect(codeOf(() => new L25Tier(arena, runs))).toBe('ERR_HEAP_INCOMPATIBLE');
    // A heap whose l25 tier was recorded by layout version 1 (8-slot caches, no one-block spans).
    const old = Arena.format({ initialBytes: MiB, maxBytes: 32 * MiB });
    old.threadAttach();
    const v1 = old.tierOpen('l25', 32769, MiB, l25Tier.rootWords, 1);
    expect(codeOf(() => new L25Tier(old, v1))).toBe('ERR_HEAP_INCOMPATIBLE');
    expect(codeOf(() => new L25Tier(old))).toBe('ERR_HEAP_INCOMPATIBLE');
    // … and by version 2 (cache slots without descriptor words).
    const older = Arena.format({ initialBytes: MiB, maxBytes: 32 * MiB });
    older.threadAttach();
    const v2 = older.tierOpen('l25', 32769, MiB, l25Tier.rootWords, 2);
    expect(codeOf(() => new L25Tier(older, v2))).toBe('ERR_HEAP_INCOMPATIBLE');
  });
});

describe('L25Tier against a model', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: random malloc/free/resize sequences keep blocks apart, aligned, in bounds and intact; check() after each step`, () => {
      const sizeArb = fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 32 * KiB + 1, max: MiB }) },
        { weight: 2, arbitrary: fc.integer({ min: 32 * KiB + 1, max: 160 * KiB }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: MiB }) },
      );
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.record({ op: fc.constant('malloc' as const), size: sizeArb }),
              fc.record({
                op: fc.constant('aligned' as const),
                shift: fc.integer({ min: 3, max: 16 }),
                size: sizeArb,
              }),
              fc.record({ op: fc.constant('free' as const), pick: fc.nat() }),
              fc.record({ op: fc.constant('remote' as const), pick: fc.nat() }),
              fc.record({ op: fc.constant('resize' as const), pick: fc.nat(), size: sizeArb }),
              fc.record({ op: fc.constant('flush' as const) }),
            ),
            { minLength: 1, maxLength: 80 },
          ),
          (ops) => {
            const { arena, l25 } = tier(safety, 48 * MiB);
            const t2 = second(arena);
            const live = new Map<number, { size: number; seed: number }>();
            let seed = 1;
            const spots = (p: number, size: number) => {
              const out: number[] = [];
              for (let i = 0; i < Math.min(size, 64); i++) out.push(p + i, p + size - 1 - i);
              for (let i = 4096; i < size; i += 4096) out.push(p + i);
              return out;
            };
            const fill = (p: number, size: number, s: number) => {
              for (const a of spots(p, size)) arena.u8[a] = (s + a * 31) & 0xff;
            };
            const intact = (p: number, size: number, s: number) =>
              spots(p, size).every((a) => arena.u8[a] === ((s + a * 31) & 0xff));
            const pickLive = (pick: number) => [...live.keys()][pick % live.size]!;
            for (const o of ops) {
              if (o.op === 'malloc' || o.op === 'aligned') {
                const p = o.op === 'malloc' ? l25.malloc(o.size) : l25.mallocAligned(2 ** o.shift, o.size);
                if (p === 0) continue; // the heap is full
                const u = l25.usableSize(p);
                expect(u).toBeGreaterThanOrEqual(o.size);
                if (o.op === 'malloc' && o.size > 0) expect(u).toBeLessThanOrEqual(l25UsableBound(o.size));
                expect(p % (o.op === 'aligned' ? Math.max(16, 2 ** o.shift) : 16)).toBe(0);
                expect(p + u).toBeLessThanOrEqual(arena.committedBytes());
                for (const [q, b] of live) expect(p + u <= q || q + Math.max(b.size, 1) <= p).toBe(true);
                arena.refresh();
                fill(p, o.size, ++seed);
                live.set(p, { size: o.size, seed });
              } else if (o.op === 'resize') {
                if (live.size === 0) continue;
                const p = pickLive(o.pick);
                const b = live.get(p)!;
                expect(intact(p, b.size, b.seed)).toBe(true);
                if (l25.resize(p, o.size)) {
                  expect(l25.usableSize(p)).toBeGreaterThanOrEqual(o.size);
                  fill(p, o.size, ++seed);
                  live.set(p, { size: o.size, seed });
                }
              } else if (o.op === 'free' || o.op === 'remote') {
                if (live.size === 0) continue;
                const p = pickLive(o.pick);
                const b = live.get(p)!;
                expect(intact(p, b.size, b.seed)).toBe(true);
                live.delete(p);
                (o.op === 'free' ? l25 : t2.l25).free(p);
              } else {
                l25.flush();
              }
              l25.check();
              expect(l25.stats().liveBlocks).toBe(live.size);
            }
            for (const [p, b] of live) {
              expect(intact(p, b.size, b.seed)).toBe(true);
              l25.free(p);
            }
            t2.l25.detach();
            t2.arena.threadRelease(t2.arena.threadId);
            l25.trim();
            l25.check();
            expect(l25.stats()).toMatchObject({ liveBlocks: 0, spans: 0 });
            arena.check();
          },
        ),
        { numRuns: 30 },
      );
    });
  }
});

describe('L25Tier realloc growth and the adaptive cache', () => {
  /** realloc as the umbrella does it: resize in place, else malloc + copy + free. */
  function realloc(arena: Arena, l25: L25Tier, p: number, size: number): number {
    const old = l25.usableSize(p);
    if (l25.resize(p, size)) return p;
    const q = l25.malloc(size);
    arena.refresh();
    arena.u8.copyWithin(q, p, p + Math.min(old, size));
    l25.free(p);
    return q;
  }
  function fillBytes(arena: Arena, p: number, from: number, to: number, seed: number): void {
    arena.refresh();
    for (let i = Math.ceil(from / 509) * 509; i < to; i += 509) arena.u8[p + i] = (seed + i) & 0xff;
  }
  function intactBytes(arena: Arena, p: number, to: number, seed: number): boolean {
    arena.refresh();
    for (let i = 0; i < to; i += 509) if (arena.u8[p + i] !== ((seed + i) & 0xff)) return false;
    return true;
  }

  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: a buffer grown in 1.5× steps moves once into a span of its own, then grows in place; bytes kept, usableSize agrees`, () => {
      const { arena, l25 } = tier(safety, 256 * MiB);
      const other = l25.malloc(40_000); // shares the 40 KiB span: the first growth must move
      let size = 35_769;
      let p = l25.malloc(size);
      fillBytes(arena, p, 0, size, 7);
      let moves = 0;
      while (size < MiB) {
        const next = Math.min(MiB, Math.ceil(size * 1.5));
        const q = realloc(arena, l25, p, next);
        if (q !== p) moves++;
        p = q;
        expect(intactBytes(arena, p, size, 7)).toBe(true);
        const usable = l25.usableSize(p);
        expect(usable).toBeGreaterThanOrEqual(next);
        expect(usable).toBeLessThanOrEqual(l25UsableBound(next));
        fillBytes(arena, p, size, next, 7);
        size = next;
        l25.check();
      }
      // 40 KiB → 56 KiB moves (a shared span) into a span with room for 4×; 320 KiB moves or takes
      // free successor pages; everything else is in place.
      expect(moves).toBeGreaterThanOrEqual(1);
      expect(moves).toBeLessThanOrEqual(2);
      expect(intactBytes(arena, p, MiB, 7)).toBe(true);
      l25.free(p);
      l25.free(other);
      l25.check();
      arena.check();
      expect(l25.trim()).toBeGreaterThan(0);
      expect(l25.stats()).toMatchObject({ liveBlocks: 0, spans: 0, cachedBlocks: 0 });
      expect(arena.stats().pagesByTier[l25.id] ?? 0).toBe(0);
    });
  }

  it('growHint: the next malloc of the class is a block alone in a span with room, which then grows in place', () => {
    const { arena, l25 } = tier('strict', 256 * MiB);
    const other = l25.malloc(40_000); // without the hint, a 40 KiB block would share this span
    l25.growHint(40_000);
    const p = l25.malloc(40_000);
    fillBytes(arena, p, 0, 40_000, 3);
    let size = 40_000;
    for (const next of [60_000, 90_000, 135_000]) {
      expect(realloc(arena, l25, p, next)).toBe(p); // in place: the span has room for 4×
      expect(intactBytes(arena, p, size, 3)).toBe(true);
      fillBytes(arena, p, size, next, 3);
      size = next;
    }
    l25.growHint(5); // not a size of this tier: nothing happens
    l25.growHint(2 * MiB);
    l25.check();
    l25.free(p);
    l25.free(other);
    l25.check();
  });

  it('a block alone in its span takes the free pages after it (arena.resizeRun), and the span is exact for check()', () => {
    const { arena, l25 } = tier('strict', 256 * MiB);
    const p = l25.malloc(300_000); // 320 KiB: one block, 5 pages
    arena.u8.fill(0x5a, p, p + 300_000);
    expect(arena.runPages(p)).toBe(5);
    expect(l25.resize(p, 600_000)).toBe(true); // 640 KiB: 10 pages, the heap's tail is free
    expect(l25.usableSize(p)).toBe(640 * KiB);
    expect(arena.runPages(p)).toBe(10);
    arena.refresh();
    expect(arena.u8.subarray(p, p + 300_000).every((b) => b === 0x5a)).toBe(true);
    l25.check();
    arena.check();
    // Not a block start, or not live: refused, nothing changed.
    expect(rejected(arena, () => l25.resize(p + 16, 700_000))).toBe('ERR_INVALID_POINTER');
    l25.free(p);
    expect(rejected(arena, () => l25.resize(p, 700_000))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => l25.resize(p, -1))).toBe('ERR_INVALID_SIZE');
    l25.trim();
    l25.check();
    arena.check();
  });

  it('reclaim finishes a growth a dead thread left between arena.resizeRun and the span update', () => {
    const { arena, l25 } = tier('strict', 256 * MiB);
    const t2 = second(arena);
    const dead = t2.arena.threadId;
    const p = t2.l25.malloc(300_000);
    const d = spanOf(arena, p);
    // It died right after the arena extended the run: the span still says 5 pages.
    t2.arena.i32[t2.l25.area + Ta.Grow] = d;
    expect(t2.arena.resizeRun(p, 8)).toBe(true);
    expect(codeOf(() => l25.check())).toBe('ERR_HEAP_CORRUPTED');
    arena.breakLocksOf(dead);
    l25.reclaim(dead);
    arena.threadRelease(dead);
    l25.check();
    expect(arena.i32[d + Sp.Pages]).toBe(8);
    expect(l25.resize(p, 500_000)).toBe(true); // 512 KiB fits the 8 pages it owns now
    l25.free(p);
    l25.trim();
    expect(l25.stats()).toMatchObject({ liveBlocks: 0, spans: 0 });
    l25.check();
    arena.check();
  });

  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: a batch of 64 × 64 KiB grows its class's cache: later rounds never refill; within the byte budget; trim gives back everything cached`, () => {
      const { arena, l25 } = tier(safety, 1024 * MiB);
      expect(l25.cacheBudget).toBe(16 * MiB); // 1/64 of maxBytes
      const misses = () => l25.stats().classes.find((c) => c.size === 64 * KiB)!.misses;
      const ptrs: number[] = [];
      const round = () => {
        for (let i = 0; i < 64; i++) ptrs.push(l25.malloc(64 * KiB));
        expect(new Set(ptrs).size).toBe(64);
        for (const p of ptrs.splice(0)) l25.free(p);
      };
      for (let r = 0; r < 4; r++) round();
      const before = misses();
      round();
      round();
      expect(misses()).toBe(before);
      const h = l25.records + (l25ClassOf(64 * KiB) << Shift.Record);
      expect(arena.i32[h + Cr.Count]).toBe(64);
      expect(l25.stats()).toMatchObject({ liveBlocks: 0, cachedBlocks: 64, cachedBytes: 4 * MiB });
      l25.check();
      // A free beyond the budget spills (a batch) instead of growing the cache.
      const big = Array.from({ length: 24 }, () => l25.malloc(MiB));
      for (const p of big) l25.free(p);
      expect(l25.stats().cachedBytes).toBeLessThanOrEqual(l25.cacheBudget);
      l25.check();
      const bytes = l25.trim();
      expect(bytes).toBeGreaterThan(0);
      expect(l25.stats()).toMatchObject({ spans: 0, cachedBlocks: 0, cachedBytes: 0, emptyPages: 0 });
      expect(arena.stats().pagesByTier[l25.id] ?? 0).toBe(0);
      arena.check();
    });
  }
});

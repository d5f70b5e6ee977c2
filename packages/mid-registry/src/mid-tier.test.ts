import { Arena, HakmemError, PAGE_SIZE, PM_DESC, PM_TIER, RunTier } from '@hakmem/page-arena';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../scripts/test-support';
import { spanStats } from './check';
import {
  CACHE_BUDGET_BYTES,
  CACHE_CLASS_BYTES,
  MID_LAYOUT_VERSION,
  midCacheBudget,
  midCacheClassBytes,
  R_REG_CAP,
  REG_CAP0,
  SP_OWNER,
  SPARE_KEEP_BYTES,
  TS_SPARE_PAGES,
} from './layout';
import { MidTier, midTier } from './mid-tier';
import {
  MID_CLASS_BLOCKS,
  MID_CLASS_COUNT,
  MID_CLASS_PAGES,
  MID_CLASS_SIZE,
  midClassOf,
  usableBound,
} from './size-classes';

const MiB = 2 ** 20;

function tier(safety: 'strict' | 'fast' = 'strict', maxBytes = 16 * MiB, shared = true) {
  const arena = Arena.format({ initialBytes: MiB, maxBytes, safety, shared });
  arena.threadAttach();
  return { arena, mid: new MidTier(arena) };
}

/** Another thread slot on the same memory (same JS thread: enough for ownership and remote frees). */
function second(arena: Arena) {
  const other = Arena.attach(arena.memory);
  other.threadAttach();
  return { arena: other, mid: new MidTier(other) };
}

const codeOf = (fn: () => unknown) => thrownCode(fn, HakmemError.codeOf);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const classIndex = (size: number) => MID_CLASS_SIZE.indexOf(size);

describe('MidTier exact cases', () => {
  it('size classes: the table of requests → usable bytes, and each class span', () => {
    const { arena, mid } = tier();
    const cases: Array<[number, number]> = [
      [0, 16],
      [1, 16],
      [16, 16],
      [17, 32],
      [100, 112],
      [819, 896],
      [820, 896],
      [1000, 1024],
      [1024, 1024],
      [1025, 1280],
      [1280, 1280],
      [1281, 1536],
      [2049, 2560],
      [4096, 4096],
      [5000, 5120],
      [8193, 10240],
      [16385, 20480],
      [20000, 20480],
      [32767, 32768],
      [32768, 32768],
    ];
    for (const [size, usable] of cases) {
      const p = mid.malloc(size);
      expect(p).toBeGreaterThan(0);
      expect(mid.usableSize(p)).toBe(usable);
      expect(p % 16).toBe(0);
      mid.free(p);
    }
    // class → [pages, blocks] of its span: ≥ 8 blocks, < 2 % tail
    const spans: Array<[number, number, number]> = [
      [16, 1, 4096],
      [896, 1, 73],
      [1024, 1, 64],
      [1280, 1, 51],
      [2560, 2, 51],
      [5120, 3, 38],
      [7168, 1, 9],
      [10240, 3, 19],
      [20480, 5, 16],
      [28672, 4, 9],
      [32768, 4, 8],
    ];
    for (const [size, pages, blocks] of spans) {
      expect([MID_CLASS_PAGES[classIndex(size)], MID_CLASS_BLOCKS[classIndex(size)]]).toEqual([
        pages,
        blocks,
      ]);
    }
    for (let c = 0; c < MID_CLASS_COUNT; c++) {
      const bytes = MID_CLASS_PAGES[c]! * PAGE_SIZE;
      expect(MID_CLASS_BLOCKS[c]).toBeGreaterThanOrEqual(8);
      expect(bytes - MID_CLASS_BLOCKS[c]! * MID_CLASS_SIZE[c]!).toBeLessThan(0.02 * bytes);
    }
    expect(mid.stats().liveBlocks).toBe(0);
    mid.check();
    arena.check();
  });

  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: every size 0 … 32768 within the usableSize bound, 16-byte aligned, in the tier's pages`, () => {
      const { arena, mid } = tier(safety);
      for (let size = 0; size <= 32768; size++) {
        const p = mid.malloc(size);
        const u = mid.usableSize(p);
        if (!(p > 0 && u >= size && u <= Math.max(16, usableBound(size)) && p % 16 === 0)) {
          throw new Error(`size ${size}: block ${p}, usable ${u}, bound ${usableBound(size)}`);
        }
        if ((arena.u32[arena.pageEntry(p) + PM_TIER]! & 0xff) !== mid.id)
          throw new Error(`size ${size}: not mid`);
        mid.free(p);
      }
      expect(mid.stats().liveBlocks).toBe(0);
      mid.check();
      arena.check();
    });
  }

  it('many live blocks: stats count them exactly (liveBytes = Σ usableSize), distinct, then all freed', () => {
    const { arena, mid } = tier('strict', 64 * MiB);
    const blocks: number[] = [];
    for (let size = 1000; size <= 32768; size += 331) blocks.push(mid.malloc(size));
    expect(new Set(blocks).size).toBe(blocks.length);
    const st = mid.stats();
    expect(st.liveBlocks).toBe(blocks.length);
    expect(st.liveBytes).toBe(blocks.reduce((a, p) => a + mid.usableSize(p), 0));
    mid.check();
    for (const p of blocks) mid.free(p);
    expect(mid.stats()).toMatchObject({ liveBlocks: 0, liveBytes: 0 });
    mid.check();
    arena.check();
  });

  it('mallocAligned: the smallest class that is a multiple of the alignment, 0 when none is', () => {
    const { mid } = tier();
    for (const [alignment, size, expected] of [
      [8, 1, 16],
      [16, 1025, 1280],
      [256, 1025, 1280],
      [512, 1025, 1536],
      [1024, 1025, 2048],
      [2048, 3000, 4096],
      [4096, 5000, 8192],
      [8192, 8192, 8192],
      [16384, 1, 16384],
      [32768, 20000, 32768],
    ] as const) {
      const p = mid.mallocAligned(alignment, size);
      expect(p % alignment).toBe(0);
      expect(mid.usableSize(p)).toBe(expected);
      mid.free(p);
    }
    expect(mid.mallocAligned(65536, 1)).toBe(0);
    expect(mid.mallocAligned(16, 32769)).toBe(0);
    expect(codeOf(() => mid.mallocAligned(24, 100))).toBe('ERR_INVALID_ALIGNMENT');
    expect(codeOf(() => mid.malloc(32769))).toBe('ERR_INVALID_SIZE');
    expect(codeOf(() => mid.malloc(-1))).toBe('ERR_INVALID_SIZE');
    expect(codeOf(() => mid.malloc(Number.NaN))).toBe('ERR_INVALID_SIZE');
    mid.check();
  });

  it('resize stays in place while the class holds the size within the usableSize bound', () => {
    const { mid } = tier();
    const p = mid.malloc(5000); // 5120 B
    expect(mid.resize(p, 5120)).toBe(true);
    expect(mid.resize(p, 4096)).toBe(true); // 5120 = 1.25 × 4096
    expect(mid.resize(p, 4095)).toBe(false);
    expect(mid.resize(p, 5121)).toBe(false);
    mid.free(p);
    expect(codeOf(() => mid.resize(p, 5000))).toBe('ERR_INVALID_POINTER');
  });

  it('strict: double frees, interior pointers, random offsets and never-carved blocks are rejected with nothing changed', () => {
    const { arena, mid } = tier();
    const a = mid.malloc(3000); // 3072 B
    const b = mid.malloc(3000);
    mid.free(a);
    const runs = new RunTier(arena);
    const run = runs.malloc(70000);
    const before = arena.u8.slice();
    expect(codeOf(() => mid.free(a))).toBe('ERR_DOUBLE_FREE');
    expect(codeOf(() => mid.free(b + 16))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => mid.free(b + 3071))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => mid.free(b + 3072 * 10))).toBe('ERR_INVALID_POINTER'); // not carved yet
    expect(codeOf(() => mid.free(b - (b % 65536) + 21 * 3072))).toBe('ERR_INVALID_POINTER'); // the span's tail
    expect(codeOf(() => mid.free(run))).toBe('ERR_INVALID_POINTER'); // another tier's page
    expect(codeOf(() => mid.free(arena.base + 100))).toBe('ERR_INVALID_POINTER'); // the header
    expect(codeOf(() => mid.free(2 ** 32 - 16))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => mid.free(-16))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => mid.free(1.5))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => mid.usableSize(a))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => mid.usableSize(b + 8))).toBe('ERR_INVALID_POINTER');
    expect(mid.freeOwned(run)).toBe(false);
    expect(sameBytes(arena.u8, before)).toBe(true);
    mid.check();
    mid.free(b);
    runs.free(run);
    mid.check();
    arena.check();
  });

  it('strict: a double free of a block waiting in a remote list is caught on both threads, and after the owner collects', () => {
    const { arena, mid } = tier();
    const t2 = second(arena);
    const p = mid.malloc(10000);
    const keep = mid.malloc(10000);
    t2.mid.free(p); // remote
    expect(codeOf(() => t2.mid.free(p))).toBe('ERR_DOUBLE_FREE');
    expect(codeOf(() => mid.free(p))).toBe('ERR_DOUBLE_FREE');
    expect(codeOf(() => mid.usableSize(p))).toBe('ERR_INVALID_POINTER');
    mid.check();
    mid.trim(); // collects the remote list
    expect(codeOf(() => t2.mid.free(p))).toBe('ERR_DOUBLE_FREE');
    expect(codeOf(() => mid.free(p))).toBe('ERR_DOUBLE_FREE');
    mid.free(keep);
    mid.check();
    expect(mid.stats().liveBlocks).toBe(0);
  });

  it('strict: a write after free over a cached block link is reported when it would be handed out', () => {
    for (const link of ['off grid', 'live block', 'outside', 'unaligned', 'other class'] as const) {
      const { arena, mid } = tier();
      const a = mid.malloc(2000);
      const b = mid.malloc(2000);
      const live = mid.malloc(2000);
      const other = mid.malloc(5000);
      mid.free(other);
      mid.free(a);
      mid.free(b); // cache: b → a
      const value = {
        'off grid': a + 16,
        'live block': live,
        outside: 40 * MiB,
        unaligned: a + 3,
        'other class': other,
      }[link];
      arena.u32[b >>> 2] = value;
      expect(mid.malloc(2000)).toBe(b);
      const before = arena.u8.slice();
      expect([link, codeOf(() => mid.malloc(2000))]).toEqual([link, 'ERR_HEAP_CORRUPTED']);
      expect(sameBytes(arena.u8, before)).toBe(true); // nothing handed out, nothing changed
      expect(codeOf(() => mid.check())).toBe('ERR_HEAP_CORRUPTED');
      expect(mid.usableSize(live)).toBe(2048); // still live, never handed out twice
    }
  });

  it('strict: a broken link in a span list (local or remote) is reported when the blocks are taken, nothing handed out', () => {
    const { arena, mid } = tier();
    const t2 = second(arena);
    // local: blocks spilled back to their span, then one of them overwritten
    const blocks = Array.from({ length: 40 }, () => mid.malloc(1500));
    for (const p of blocks) mid.free(p);
    mid.flush();
    const p0 = blocks[39]!; // the span's local list starts at the last block pushed
    arena.u32[p0 >>> 2] = p0 + 8;
    expect(codeOf(() => Array.from({ length: 42 }, () => mid.malloc(1500)))).toBe('ERR_HEAP_CORRUPTED');
    expect(codeOf(() => mid.check())).toBe('ERR_HEAP_CORRUPTED');
    // remote: a block freed by another thread, its link overwritten before the owner collects
    const { arena: arena2, mid: mid2 } = tier();
    const t3 = second(arena2);
    const q = Array.from({ length: 8 }, () => mid2.malloc(32768)); // one whole span
    mid2.flush();
    for (const p of q.slice(0, 2)) t3.mid.free(p);
    arena2.u32[q[1]! >>> 2] = q[5]!; // names a live block
    expect(codeOf(() => mid2.malloc(32768))).toBe('ERR_HEAP_CORRUPTED');
    expect(codeOf(() => mid2.malloc(32768))).toBe('ERR_HEAP_CORRUPTED'); // still reported: put back
    expect(codeOf(() => mid2.check())).toBe('ERR_HEAP_CORRUPTED');
    void t2;
  });

  it('fast mode keeps no bitmaps but serves, frees remotely and checks', () => {
    const { arena, mid } = tier('fast', 64 * MiB);
    const t2 = second(arena);
    const blocks = Array.from({ length: 3000 }, (_, i) => mid.malloc(1000 + ((i * 7919) % 31769)));
    for (const p of blocks.slice(0, 1000)) t2.mid.free(p);
    for (const p of blocks.slice(1000)) mid.free(p);
    mid.check();
    expect(mid.stats().liveBlocks).toBe(0);
    const again = Array.from({ length: 3000 }, (_, i) => mid.malloc(1000 + ((i * 7919) % 31769)));
    for (const p of again) mid.free(p);
    mid.check();
    // fast mode still never pushes a pointer that is not in a span of the tier
    expect(codeOf(() => t2.mid.free(again[0]! + 8))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => mid.free(arena.base + 64))).toBe('ERR_INVALID_POINTER');
  });

  it('frees of another thread go to the span remote lists and come back to the owner', () => {
    const { arena, mid } = tier();
    const t2 = second(arena);
    const cls = classIndex(4096);
    const blocks = Array.from({ length: 16 }, () => mid.malloc(4096)); // one whole span
    mid.flush();
    expect(spanStats(mid.spans).classes[cls]!.spans).toBe(1);
    for (const p of blocks) t2.mid.free(p);
    expect(mid.stats().liveBlocks).toBe(0);
    expect(spanStats(mid.spans).classes[cls]!.remote).toBe(16);
    mid.check();
    const again = Array.from({ length: 16 }, () => mid.malloc(4096));
    expect(new Set(again)).toEqual(new Set(blocks));
    expect(spanStats(mid.spans).classes[cls]!).toMatchObject({ spans: 1, remote: 0 });
    for (const p of again) mid.free(p);
    mid.check();
  });

  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: freeOwned frees own and other threads' blocks, and declines everything else unchanged`, () => {
      const { arena, mid } = tier(safety, 64 * MiB);
      const t2 = second(arena);
      const mine = Array.from({ length: 300 }, (_, i) => mid.malloc((i * 997) % 32769));
      const theirs = Array.from({ length: 300 }, (_, i) => t2.mid.malloc((i * 1013) % 32769));
      for (const p of mine) expect(mid.freeOwned(p)).toBe(true);
      for (const p of theirs) expect(mid.freeOwned(p)).toBe(true);
      mid.check();
      expect(mid.stats().liveBlocks).toBe(0);
      const runs = new RunTier(arena);
      const run = runs.malloc(5000);
      for (const p of [0, 2 ** 32 - 16, run]) expect(mid.freeOwned(p)).toBe(false);
      const again = Array.from({ length: 300 }, (_, i) => t2.mid.malloc((i * 1013) % 32769));
      for (const p of again) expect(t2.mid.freeOwned(p)).toBe(true);
      t2.mid.check();
      const last = t2.mid.malloc(16);
      mid.detach();
      expect(mid.freeOwned(last)).toBe(false);
      expect(codeOf(() => mid.free(last))).toBe('ERR_INVALID_THREAD');
      for (const size of [0, 100, 5000, 32768])
        expect(codeOf(() => mid.malloc(size))).toBe('ERR_INVALID_THREAD');
    });
  }

  it('detach abandons used spans; another thread adopts them and frees their blocks', () => {
    const { arena, mid } = tier();
    const t2 = second(arena);
    const held = Array.from({ length: 9 }, () => t2.mid.malloc(28000)); // one 28 KiB span
    t2.mid.detach();
    t2.arena.threadRelease(t2.arena.threadId);
    expect(mid.stats()).toMatchObject({ liveBlocks: 9, abandonedSpans: 1 });
    mid.check();
    for (const p of held.slice(0, 4)) mid.free(p);
    const p = mid.malloc(28000); // adopts the abandoned span
    expect(arena.i32[(arena.u32[arena.pageEntry(p) + PM_DESC]! >>> 2) + SP_OWNER]).toBe(arena.threadId);
    expect(mid.stats().abandonedSpans).toBe(0);
    mid.free(p);
    for (const q of held.slice(4)) mid.free(q);
    expect(mid.stats().liveBlocks).toBe(0);
    mid.check();
  });

  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: reclaims a dead thread — cached blocks and empty spans return, live blocks stay valid`, () => {
      const { arena, mid } = tier(safety);
      const t2 = second(arena);
      const dead = t2.arena.threadId;
      const live = Array.from({ length: 30 }, () => t2.mid.malloc(1100));
      const gone = Array.from({ length: 30 }, () => t2.mid.malloc(9000));
      for (const p of gone) t2.mid.free(p); // into its cache
      expect(mid.stats().classes[classIndex(10240)]!.cachedBlocks).toBeGreaterThan(0);
      mid.check();
      arena.breakLocksOf(dead);
      mid.reclaim(dead);
      arena.threadRelease(dead);
      const st = mid.stats();
      expect(st.liveBlocks).toBe(30);
      expect(st.classes[classIndex(10240)]).toMatchObject({ cachedBlocks: 0, spans: 0 });
      mid.check();
      for (const p of live) mid.free(p);
      expect(mid.stats().liveBlocks).toBe(0);
      mid.check();
      mid.trim();
      expect(mid.stats().spans).toBe(0);
      expect(arena.stats().pagesByTier[mid.id] ?? 0).toBe(0);
      arena.check();
    });
  }

  it('reclaim frees a span a dead thread left half made (its run, unregistered)', () => {
    const { arena, mid } = tier();
    const t2 = second(arena);
    const dead = t2.arena.threadId;
    // what a thread killed inside span creation leaves: a run of the tier that is no span
    const orphan = t2.arena.allocRun(3, mid.id);
    expect(codeOf(() => mid.check())).toBe('ERR_HEAP_CORRUPTED');
    mid.reclaim(dead);
    arena.threadRelease(dead);
    expect(arena.runPages(orphan)).toBe(0);
    mid.check();
    arena.check();
  });

  it('trim returns empty spans to the arena; the registry doubles past its first capacity', () => {
    const { arena, mid } = tier('strict', 64 * MiB);
    const blocks = Array.from({ length: 16 * (REG_CAP0 + 50) }, () => mid.malloc(4000));
    expect(mid.stats().spans).toBeGreaterThan(REG_CAP0);
    expect(arena.i32[mid.spans.root + R_REG_CAP]).toBe(2 * REG_CAP0);
    expect(mid.stats().registryCapacity).toBe(2 * REG_CAP0);
    mid.check();
    for (const p of blocks) mid.free(p);
    mid.check();
    const bytes = mid.trim();
    expect(bytes).toBeGreaterThan(0);
    expect(bytes % PAGE_SIZE).toBe(0);
    expect(mid.stats()).toMatchObject({ spans: 0, pages: 0, liveBlocks: 0 });
    expect(arena.stats().pagesByTier[mid.id] ?? 0).toBe(0);
    mid.check();
    arena.check();
  });

  it('at maxBytes: returns 0, makes shorter spans for what is left, and serves again after frees', () => {
    const { arena, mid } = tier('strict', 8 * MiB);
    const blocks: number[] = [];
    for (;;) {
      const p = mid.malloc(32768);
      if (p === 0) break;
      blocks.push(p);
    }
    // a 2.5 MiB remainder after the 4-page spans is used by shorter ones
    const runs = arena.snapshot().filter((r) => r.tier === mid.id);
    expect(runs.some((r) => r.pages < 4)).toBe(true);
    expect(blocks.length * 32768).toBeGreaterThan(8 * MiB * 0.85);
    mid.check();
    arena.check();
    for (const p of blocks.splice(0, 16)) mid.free(p);
    expect(mid.malloc(32768)).not.toBe(0);
    expect(mid.malloc(1500)).not.toBe(0);
    mid.check();
  });

  it('the cache adapts by bytes: a hot 32 KiB class grows past a handful, a 1 KiB class cannot hoard', () => {
    const { mid } = tier('strict', 128 * MiB);
    const big = classIndex(32768);
    const small = classIndex(1024);
    const first = mid.stats().classes[big]!.capacity;
    expect(first).toBeLessThanOrEqual(4);
    const held: number[] = [];
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 100; i++) held.push(mid.malloc(32768));
      while (held.length > 0) mid.free(held.pop()!);
    }
    expect(mid.stats().classes[big]!.capacity).toBe(32); // 1 MiB of 32 KiB blocks
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 3000; i++) held.push(mid.malloc(1024));
      while (held.length > 0) mid.free(held.pop()!);
    }
    const s = mid.stats().classes[small]!;
    expect(s.capacity * 1024).toBeLessThanOrEqual(CACHE_CLASS_BYTES); // no more bytes than the 32 KiB class
    expect(s.cachedBlocks).toBeLessThanOrEqual(s.capacity);
    expect(s.hits).toBeGreaterThan(s.misses * 10);
    // Together within the thread's byte budget.
    const bytes = mid.stats().classes.reduce((sum, c) => sum + c.capacity * c.size, 0);
    expect(bytes).toBeLessThanOrEqual(midCacheBudget(128 * MiB));
    mid.check();
  });

  it('the cache bounds are a share of maxBytes: a small heap caches less per class and per thread', () => {
    expect(midCacheClassBytes(128 * MiB)).toBe(CACHE_CLASS_BYTES);
    expect(midCacheBudget(128 * MiB)).toBe(CACHE_BUDGET_BYTES);
    expect(midCacheBudget(64 * MiB)).toBe(2 * MiB);
    expect(midCacheClassBytes(16 * MiB)).toBe(128 * 1024);
    expect(midCacheBudget(16 * MiB)).toBe(512 * 1024);
    const { mid } = tier('strict', 16 * MiB);
    const big = classIndex(32768);
    const held: number[] = [];
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 50; i++) held.push(mid.malloc(32768));
      while (held.length > 0) mid.free(held.pop()!);
    }
    expect(mid.stats().classes[big]!.capacity).toBe(4); // 128 KiB of 32 KiB blocks
    const bytes = mid.stats().classes.reduce((sum, c) => sum + c.capacity * c.size, 0);
    expect(bytes).toBeLessThanOrEqual(512 * 1024);
    mid.check();
  });

  it('empty spans are kept for reuse within a share of maxBytes (one per class always), then trim() returns them', () => {
    const { arena, mid } = tier('strict', 128 * MiB);
    expect(mid.spans.spareKeepPages).toBe(SPARE_KEEP_BYTES / PAGE_SIZE);
    const cls = classIndex(4096); // one-page spans of 16 blocks
    const blocks = Array.from({ length: 16 * 64 }, () => mid.malloc(4096));
    const spans = mid.stats().spans;
    expect(spans).toBeGreaterThanOrEqual(64);
    for (const p of blocks) mid.free(p);
    mid.flush();
    const kept = mid.stats();
    // All but the current span are empty; the thread keeps SPARE_KEEP_BYTES of them, the rest went back.
    expect(kept.spareSpans).toBe(SPARE_KEEP_BYTES / PAGE_SIZE);
    expect(kept.spans).toBe(kept.spareSpans + 1);
    expect(arena.i32[mid.spans.area + TS_SPARE_PAGES]).toBe(kept.spareSpans);
    mid.check();
    // Reused: the same blocks come back without a new span.
    const again = Array.from({ length: 16 * 20 }, () => mid.malloc(4096));
    expect(mid.stats().spans).toBe(kept.spans);
    expect(mid.stats().classes[cls]!.spans).toBe(kept.spans);
    mid.check();
    for (const p of again) mid.free(p);
    // Another class keeps its one spare even when the byte share is used up.
    const other = Array.from({ length: 2 * MID_CLASS_BLOCKS[classIndex(8192)]! }, () => mid.malloc(8192));
    for (const p of other) mid.free(p);
    mid.flush();
    expect(mid.stats().classes[classIndex(8192)]!.spans).toBe(2); // the current one and one spare
    mid.check();
    const bytes = mid.trim();
    expect(bytes).toBe((kept.spans + 2) * PAGE_SIZE);
    expect(mid.stats()).toMatchObject({ spans: 0, spareSpans: 0 });
    expect(arena.i32[mid.spans.area + TS_SPARE_PAGES]).toBe(0);
    mid.check();
    arena.check();
  });

  it('a refill larger than a span takes the kept empty spans in turn: one batch, spans reused, nothing created', () => {
    const { mid } = tier('strict', 128 * MiB);
    const cls = classIndex(4096); // 16 blocks per span
    const blocks = Array.from({ length: 16 * 8 }, () => mid.malloc(4096));
    for (const p of blocks) mid.free(p);
    mid.flush();
    const spans = mid.stats().spans;
    expect(mid.stats().spareSpans).toBe(spans - 1);
    const s = mid.spans;
    const head = s.cacheRefill(cls, 60);
    expect(s.refilled).toBe(60);
    const seen = new Set<number>();
    const pages = new Set<number>();
    for (let p = head; p !== 0; p = s.u32[p >>> 2]!) {
      expect(seen.has(p)).toBe(false);
      seen.add(p);
      pages.add(p >>> 16);
    }
    expect(seen.size).toBe(60);
    expect(pages.size).toBe(4); // four spans of 16 blocks
    expect(mid.stats().spans).toBe(spans);
    s.cacheSpill(cls, head, 60);
    mid.check();
  });

  it('a heap whose mid tier another layout version recorded is ERR_HEAP_INCOMPATIBLE, naming both', () => {
    const arena = Arena.format({ initialBytes: MiB, maxBytes: 16 * MiB });
    arena.threadAttach();
    const id = arena.tierOpen('mid', 1025, 32768, 64, 1);
    let message = '';
    try {
      new MidTier(arena, id);
    } catch (e) {
      message = (e as Error).message;
      expect(HakmemError.codeOf(e)).toBe('ERR_HEAP_INCOMPATIBLE');
    }
    expect(message).toMatch(/version 1/);
    expect(message).toMatch(new RegExp(`version ${MID_LAYOUT_VERSION}`));
    expect(codeOf(() => new MidTier(arena))).toBe('ERR_HEAP_INCOMPATIBLE');
    expect(midTier.layoutVersion).toBe(MID_LAYOUT_VERSION);
  });

  it('a small heap keeps fewer empty spans: 1/64 of maxBytes', () => {
    const { mid } = tier('fast', 16 * MiB);
    expect(mid.spans.spareKeepPages).toBe(4);
    const blocks = Array.from({ length: 16 * 20 }, () => mid.malloc(4096));
    for (const p of blocks) mid.free(p);
    mid.flush();
    expect(mid.stats().spareSpans).toBe(4);
    mid.check();
  });

  it('occupancy: the share of a span handed out', () => {
    const { arena, mid } = tier();
    const p = mid.malloc(8192); // spans of 8 blocks of 8 KiB on one page
    const span = arena.snapshot().find((r) => r.tier === mid.id)!;
    expect(mid.occupancy(span.offset, span.pages)).toBeGreaterThan(0);
    mid.flush();
    expect(mid.occupancy(span.offset, span.pages)).toBe(1 / 8);
    mid.free(p);
    mid.flush();
    expect(mid.occupancy(span.offset, span.pages)).toBe(0);
    expect(mid.occupancy(arena.base, 1)).toBe(0);
  });

  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: on a non-shared WebAssembly.Memory every grow detaches the views; both handles fall to their slow paths and go on`, () => {
      const memory = new WebAssembly.Memory({ initial: 32, maximum: 1024 }); // 2 MiB, up to 64 MiB
      const arena = Arena.format({ memory, maxBytes: 64 * MiB, safety });
      arena.threadAttach();
      const mid = new MidTier(arena);
      const t2 = second(arena);
      const mine: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < 1500; i++) {
        mine.push(mid.malloc(1000 + ((i * 7919) % 31769))); // grows the memory: t2's views detach
        theirs.push(t2.mid.malloc(1000 + ((i * 104729) % 31769))); // and back
        if (i % 3 === 0) {
          t2.mid.free(mine[i >> 1]!); // a remote free through detached views
          mine[i >> 1] = 0;
        }
      }
      expect(arena.committedBytes()).toBeGreaterThan(32 * MiB);
      for (const p of [...mine, ...theirs])
        if (p !== 0) expect(mid.freeOwned(p) || t2.mid.freeOwned(p)).toBe(true);
      mid.check();
      t2.mid.check();
      expect(mid.stats().liveBlocks).toBe(0);
      arena.check();
    });
  }

  it('works on a non-shared resizable ArrayBuffer that grows under it, and with a smaller composition range', () => {
    const { arena, mid } = tier('strict', 64 * MiB, false);
    const blocks = Array.from({ length: 2000 }, (_, i) => mid.malloc((i * 4099) % 32769));
    mid.check();
    for (const p of blocks) mid.free(p);
    mid.trim();
    expect(arena.trim()).toBeGreaterThan(0);
    mid.check();
    arena.check();
    expect(mid.malloc(30000)).toBeGreaterThan(0);
    mid.check();
    // a composition's range: any size within the tier's limit is served
    const a2 = Arena.format({ initialBytes: MiB, maxBytes: 16 * MiB });
    a2.threadAttach();
    const id = a2.tierOpen('mid', 513, 8192, 64, MID_LAYOUT_VERSION);
    const ranged = new MidTier(a2, id);
    expect([ranged.minSize, ranged.maxSize]).toEqual([513, 8192]);
    expect(ranged.usableSize(ranged.malloc(600))).toBe(640);
    expect(midClassOf(600)).toBe(classIndex(640));
    expect(codeOf(() => new MidTier(a2, a2.tierOpen('other', 0, 100, 64)))).toBe('ERR_HEAP_INCOMPATIBLE');
  });
});

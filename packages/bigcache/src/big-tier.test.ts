import { Arena, HakmemError, PAGE_SIZE, RunTier } from '@hakmem/page-arena';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../scripts/test-support';
import { BigTier, bigTier } from './big-tier';
import { bigLock, cacheLink } from './cache';
import { intentBegin, intentEnd } from './intent';
import {
  A_MASK,
  A_RESERVED,
  A_SLOTS,
  AGE_LIMIT,
  BIG_LAYOUT_VERSION,
  BIG_MIN_SIZE,
  N_NEXT,
  N_PAGES,
  R_AGE_HEAD,
  R_BUCKETS,
  R_CACHED_PAGES,
  R_CLOCK,
  R_INTENT,
  R_LIVE_BLOCKS,
  R_LIVE_BYTES,
  R_NODE_FREE,
  R_RESERVED,
  S_PAGES,
  S_RUN,
  SLOT_WORDS,
} from './layout';
import { bucketOf } from './size';

const MiB = 2 ** 20;
const P = PAGE_SIZE;
/** These exact cases test the shared cache: handles without a thread cache (thread-cache.test.ts tests it). */
const SHARED_ONLY = { threadCache: false };
const THREAD_CACHE = { threadCache: true };

function tier(safety: 'strict' | 'fast' = 'strict', maxBytes = 64 * MiB, shared = true) {
  const arena = Arena.format({ initialBytes: MiB, maxBytes, safety, shared });
  arena.threadAttach();
  return { arena, big: new BigTier(arena, undefined, SHARED_ONLY) };
}

/** Another thread slot on the same memory (same JS thread: enough for cross-thread frees). */
function second(arena: Arena) {
  const other = Arena.attach(arena.memory);
  other.threadAttach();
  return { arena: other, big: new BigTier(other, undefined, SHARED_ONLY) };
}

const codeOf = (fn: () => unknown) => thrownCode(fn, HakmemError.codeOf);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytes of the arena's free runs. */
function freeBytes(arena: Arena): number {
  return arena.stats().freePages * P;
}

describe('BigTier exact cases', () => {
  it("opens the heap's big tier for 1 MiB + 1 … the largest block; blocks are page runs, page-rounded, 64 KiB aligned", () => {
    const { arena, big } = tier();
    expect(big.kind).toBe('big');
    expect(big.minSize).toBe(BIG_MIN_SIZE);
    expect(big.maxSize).toBe(64 * MiB - 2 * P);
    expect(new BigTier(arena).id).toBe(big.id); // the same tier for a second handle
    for (const [size, pages] of [
      [MiB + 1, 17],
      [2 * MiB, 32],
      [3 * MiB + 5, 49],
      [5_000_000, 77],
    ] as const) {
      const p = big.malloc(size);
      expect(p % P).toBe(0);
      expect(big.usableSize(p)).toBe(pages * P);
      expect(arena.runPages(p)).toBe(pages);
      arena.u8[p + pages * P - 1] = 7; // every usable byte is the block's
      big.free(p);
    }
    expect(codeOf(() => big.malloc(MiB))).toBe('ERR_INVALID_SIZE');
    expect(codeOf(() => big.malloc(64 * MiB))).toBe('ERR_INVALID_SIZE');
    expect(codeOf(() => big.malloc(1.5 * MiB + 0.5))).toBe('ERR_INVALID_SIZE');
    expect(codeOf(() => big.malloc(Number.NaN))).toBe('ERR_INVALID_SIZE');
    expect(big.mallocAligned(2 * P, 2 * MiB)).toBe(0);
    const a = big.mallocAligned(P, 2 * MiB);
    expect(a % P).toBe(0);
    big.free(a);
    big.check();
    arena.check();
  });

  it('a freed run is cached and the next malloc of its size takes it back: hits, misses, live and cached figures', () => {
    const { arena, big } = tier();
    const p = big.malloc(3 * MiB);
    expect(big.stats()).toMatchObject({
      liveBlocks: 1,
      liveBytes: 3 * MiB,
      hits: 0,
      misses: 1,
      cachedRuns: 0,
    });
    big.free(p);
    expect(big.stats()).toMatchObject({ liveBlocks: 0, liveBytes: 0, cachedRuns: 1, cachedBytes: 3 * MiB });
    expect(arena.runPages(p)).toBe(48); // still the tier's run, not the arena's
    const q = big.malloc(3 * MiB - 1000);
    expect(q).toBe(p);
    expect(big.stats()).toMatchObject({ liveBlocks: 1, hits: 1, misses: 1, cachedRuns: 0, cachedBytes: 0 });
    big.free(q);
    big.check();
  });

  it('best fit: the smallest cached run that holds the request; one at most 1/8 larger is taken whole, a larger one is cut', () => {
    const { arena, big } = tier('strict', 128 * MiB);
    const runs = [40, 20, 30, 36].map((pages) => big.malloc(pages * P));
    const guard = big.malloc(2 * MiB); // keeps the last run from touching the end of the memory
    for (const p of runs) big.free(p);
    expect(big.stats().cachedRuns).toBe(4);
    const a = big.malloc(29 * P); // 30 pages: 1 more than 29, within 29/8
    expect(a).toBe(runs[2]);
    expect(big.usableSize(a)).toBe(30 * P);
    const b = big.malloc(33 * P); // 36 pages: within 33/8 = 4
    expect(b).toBe(runs[3]);
    expect(big.usableSize(b)).toBe(36 * P);
    const before = freeBytes(arena);
    const c = big.malloc(17 * P); // 20 pages is more than 17/8 larger: cut to 17, 3 pages back
    expect(c).toBe(runs[1]);
    expect(big.usableSize(c)).toBe(17 * P);
    expect(freeBytes(arena)).toBe(before + 3 * P);
    const d = big.malloc(18 * P); // nothing fits in bucket(18): the 40-page run of a higher bucket, cut
    expect(d).toBe(runs[0]);
    expect(big.usableSize(d)).toBe(18 * P);
    expect(big.stats()).toMatchObject({ hits: 4, cachedRuns: 0, liveBlocks: 5 });
    for (const p of [a, b, c, d, guard]) big.free(p);
    big.check();
    arena.check();
  });

  it('age bound: a run not reused within AGE_LIMIT mallocs and frees goes back to the arena', () => {
    const { arena, big } = tier();
    const old = big.malloc(2 * MiB);
    big.free(old);
    // 5 MiB requests never take the smaller 2 MiB run: it only ages.
    for (let i = 0; i < AGE_LIMIT / 2 - 1; i++) big.free(big.malloc(5 * MiB));
    expect(big.stats().cachedRuns).toBe(2); // the 2 MiB run is AGE_LIMIT - 2 operations old
    big.free(big.malloc(5 * MiB));
    expect(big.stats().cachedRuns).toBe(2); // AGE_LIMIT: still kept
    big.free(big.malloc(5 * MiB));
    expect(big.stats()).toMatchObject({ cachedRuns: 1, cachedBytes: 5 * MiB, evictions: 1 });
    expect(codeOf(() => big.free(old))).toBe('ERR_DOUBLE_FREE'); // its pages are the arena's now
    big.check();
    arena.check();
  });

  it('byte bound: the cache holds at most maxBytes / 8, oldest runs evicted first; a larger run goes straight back', () => {
    const { arena, big } = tier('strict', 64 * MiB); // bound: 8 MiB
    expect(big.stats().capacityBytes).toBe(8 * MiB);
    const blocks = [3, 3, 3, 3].map((m) => big.malloc(m * MiB));
    const huge = big.malloc(9 * MiB);
    for (const p of blocks) big.free(p);
    expect(big.stats()).toMatchObject({ cachedRuns: 2, cachedBytes: 6 * MiB, evictions: 2 });
    expect(big.malloc(3 * MiB)).toBe(blocks[3]); // the two newest stayed; the last freed is taken first
    expect(big.malloc(3 * MiB)).toBe(blocks[2]);
    big.free(blocks[2]!);
    big.free(blocks[3]!);
    big.free(huge);
    expect(big.stats()).toMatchObject({ cachedRuns: 2, cachedBytes: 6 * MiB });
    expect(codeOf(() => big.free(huge))).toBe('ERR_DOUBLE_FREE');
    big.check();
    arena.check();
  });

  it('memory pressure: before a malloc would fail, every cached run goes back; 0 only when maxBytes truly cannot hold it', () => {
    const { arena, big } = tier('strict', 32 * MiB); // bound: 4 MiB
    const held: number[] = [];
    for (;;) {
      const p = big.malloc(2 * MiB);
      if (p === 0) break;
      held.push(p);
    }
    expect(big.stats().cachedRuns).toBe(0);
    // Two cached runs of 2 MiB, not adjacent: a 3 MiB request needs them given back and coalesced.
    big.free(held[2]!);
    big.free(held[3]!);
    expect(big.stats().cachedRuns).toBe(2);
    const p = big.malloc(3 * MiB);
    expect(p).toBe(held[2]);
    expect(big.stats()).toMatchObject({ cachedRuns: 0, evictions: 2 });
    expect(big.malloc(3 * MiB)).toBe(0); // nothing left: 0, and the cache is empty
    expect(big.stats().cachedRuns).toBe(0);
    big.free(p);
    for (const q of held.filter((_, i) => i !== 2 && i !== 3)) big.free(q);
    big.check();
    arena.check();
  });

  it('resize: same pages, shrink, growth into a free successor or into a cached run of this tier; false when the successor is live', () => {
    const { arena, big } = tier('strict', 128 * MiB);
    const a = big.malloc(2 * MiB);
    const b = big.malloc(2 * MiB);
    const c = big.malloc(2 * MiB);
    const guard = big.malloc(2 * MiB);
    expect(big.resize(a, 2 * MiB - 100)).toBe(true); // same 32 pages
    expect(big.resize(a, 3 * MiB)).toBe(false); // b is live
    big.free(b); // cached
    expect(big.resize(a, 3 * MiB)).toBe(true); // b evicted, a grows over its pages
    expect(big.usableSize(a)).toBe(3 * MiB);
    expect(big.stats()).toMatchObject({ cachedRuns: 0, evictions: 1, liveBytes: 7 * MiB });
    expect(big.resize(a, MiB + 1)).toBe(true); // shrinks to 17 pages, 31 back to the arena
    expect(big.usableSize(a)).toBe(17 * P);
    expect(big.resize(a, 4 * MiB)).toBe(true); // grows into the free pages behind it
    expect(big.usableSize(a)).toBe(4 * MiB);
    expect(big.stats().liveBytes).toBe(8 * MiB);
    // The last run grows the memory.
    big.free(guard);
    big.trim();
    expect(big.resize(c, 20 * MiB)).toBe(true);
    expect(big.usableSize(c)).toBe(20 * MiB);
    expect(codeOf(() => big.resize(c, MiB))).toBe('ERR_INVALID_SIZE');
    big.free(a);
    big.free(c);
    expect(big.stats()).toMatchObject({ liveBlocks: 0, liveBytes: 0 });
    big.check();
    arena.check();
  });

  it('resize grows through a chain of cached and free runs behind the block, evicting only when the chain makes room', () => {
    const { arena, big } = tier('strict', 128 * MiB);
    const run = new RunTier(arena);
    const a = big.malloc(2 * MiB);
    const [b, c, d] = [2, 2, 2].map(() => big.malloc(2 * MiB));
    const wall = run.malloc(MiB); // another tier's run ends the chain
    big.free(d!);
    big.trim(); // d's pages go back to the arena
    big.free(b!);
    big.free(c!);
    // Behind a: b cached, c cached, d free, then the wall: 6 MiB of room at most.
    expect(big.resize(a, 9 * MiB)).toBe(false);
    expect(big.stats()).toMatchObject({ cachedRuns: 2, evictions: 1 }); // nothing evicted for a failed growth
    expect(big.resize(a, 8 * MiB)).toBe(true); // b and c evicted, coalesced with d, taken
    expect(big.stats()).toMatchObject({ cachedRuns: 0, evictions: 3, liveBytes: 8 * MiB });
    expect(big.usableSize(a)).toBe(8 * MiB);
    big.free(a);
    run.free(wall);
    big.check();
    arena.check();
  });

  it('trim gives every cached run back (they coalesce); a shared: false heap then shrinks', () => {
    const { arena, big } = tier('strict', 64 * MiB, false);
    const blocks = [2, 2, 3].map((m) => big.malloc(m * MiB));
    for (const p of blocks) big.free(p);
    expect(big.stats().cachedBytes).toBe(7 * MiB);
    const committed = arena.committedBytes();
    expect(big.trim()).toBe(7 * MiB);
    expect(big.stats()).toMatchObject({ cachedRuns: 0, cachedBytes: 0, liveBlocks: 0 });
    expect(arena.stats().freeRuns).toBe(1);
    expect(arena.trim()).toBeGreaterThanOrEqual(7 * MiB);
    expect(arena.committedBytes()).toBeLessThan(committed);
    // The views were replaced: the tier reads the arena's new ones.
    const p = big.malloc(3 * MiB);
    expect(p).toBeGreaterThan(0);
    arena.u8[p + 3 * MiB - 1] = 1;
    big.free(p);
    big.check();
    arena.check();
  });

  it('a non-shared WebAssembly.Memory that replaced its buffer: the next calls read the new views', () => {
    const memory = new WebAssembly.Memory({ initial: 32, maximum: 1024 });
    const arena = Arena.format({ memory, maxBytes: 64 * MiB });
    arena.threadAttach();
    const big = new BigTier(arena);
    const p = big.malloc(2 * MiB);
    big.free(p);
    memory.grow(1); // detaches every view of the old buffer
    expect(big.malloc(2 * MiB)).toBe(p);
    const q = big.malloc(6 * MiB); // grows the memory through the arena
    memory.grow(1);
    big.free(q);
    big.free(p);
    big.check();
    arena.check();
  });

  it('in a composition below 1 MiB: requests up to 1 MiB keep the usableSize bound', () => {
    const arena = Arena.format({ initialBytes: MiB, maxBytes: 64 * MiB });
    arena.threadAttach();
    const id = arena.tierOpen('big', 1025, 32 * MiB, bigTier.rootWords, bigTier.layoutVersion);
    const big = bigTier.create(arena, id);
    for (const size of [1025, 4000, 65537, 100_000, 700_001, MiB]) {
      const p = big.malloc(size);
      const u = big.usableSize(p);
      expect(u).toBeGreaterThanOrEqual(size);
      expect(u).toBeLessThanOrEqual(Math.max(Math.ceil(size / 16) * 16, Math.ceil(1.25 * size)));
      big.free(p);
      expect(big.malloc(size)).toBe(p); // from the cache, with the bound of the new size
      expect(big.usableSize(p)).toBe(u);
      expect(big.resize(p, size + 1)).toBe(true);
      big.free(p);
    }
    expect(big.stats().liveBytes).toBe(0);
    big.check();
  });

  it('detach: the handle refuses every later call', () => {
    const { arena, big } = tier();
    const p = big.malloc(2 * MiB);
    big.detach();
    expect(codeOf(() => big.malloc(2 * MiB))).toBe('ERR_INVALID_THREAD');
    expect(codeOf(() => big.free(p))).toBe('ERR_INVALID_THREAD');
    expect(codeOf(() => big.stats())).toBe('ERR_INVALID_THREAD');
    expect(big.freeOwned(p)).toBe(false);
    const again = new BigTier(arena);
    again.free(p);
    again.check();
  });

  it('needs an attached thread; refuses a tier of another kind', () => {
    const arena = Arena.format({ maxBytes: 64 * MiB });
    expect(codeOf(() => new BigTier(arena))).toBe('ERR_INVALID_THREAD');
    arena.threadAttach();
    const run = new RunTier(arena);
    expect(codeOf(() => new BigTier(arena, run.id))).toBe('ERR_HEAP_INCOMPATIBLE');
  });

  it('refuses a big tier recorded by another layout version, naming both', () => {
    const arena = Arena.format({ maxBytes: 64 * MiB });
    arena.threadAttach();
    const id = arena.tierOpen('big', BIG_MIN_SIZE, 32 * MiB, bigTier.rootWords, BIG_LAYOUT_VERSION + 1);
    let error: unknown;
    try {
      new BigTier(arena, id);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HakmemError);
    expect((error as HakmemError).code).toBe('ERR_HEAP_INCOMPATIBLE');
    expect((error as HakmemError).message).toContain(String(BIG_LAYOUT_VERSION + 1));
    expect(codeOf(() => new BigTier(arena))).toBe('ERR_HEAP_INCOMPATIBLE'); // tierFind checks it too
    expect(bigTier.layoutVersion).toBe(BIG_LAYOUT_VERSION);
  });
});

describe('BigTier thread cache', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: the owner's malloc and free take no lock once warm; other paths see a cached run`, () => {
      const arena = Arena.format({ initialBytes: MiB, maxBytes: 128 * MiB, safety });
      arena.threadAttach();
      const big = new BigTier(arena, undefined, THREAD_CACHE);
      const ptrs = [0, 1, 2].map(() => big.malloc(2 * MiB));
      for (const p of ptrs) big.free(p); // the first frees reserve room under the lock
      const before = big.stats();
      expect(before).toMatchObject({ threadCachedRuns: 3, threadCachedBytes: 6 * MiB, liveBlocks: 0 });
      for (let k = 0; k < 100; k++) {
        const again = [0, 1, 2].map(() => big.malloc(2 * MiB - 100));
        expect(new Set(again)).toEqual(new Set(ptrs)); // the same runs back
        for (const p of again) big.free(p);
      }
      const after = big.stats();
      expect(after.locks.acquisitions - before.locks.acquisitions).toBe(1); // stats() itself
      expect(after.hits - before.hits).toBe(300);
      // A cached run freed again, here or by another thread: ERR_DOUBLE_FREE, nothing changed.
      expect(codeOf(() => big.free(ptrs[0]!))).toBe('ERR_DOUBLE_FREE');
      const other = Arena.attach(arena.memory);
      other.threadAttach();
      const big2 = new BigTier(other, undefined, THREAD_CACHE);
      expect(codeOf(() => big2.free(ptrs[1]!))).toBe('ERR_DOUBLE_FREE');
      expect(codeOf(() => big.usableSize(ptrs[2]!))).toBe('ERR_INVALID_POINTER');
      big.check();
      // Another thread's free goes to its own cache; check() sees both.
      const q = big.malloc(2 * MiB);
      big2.free(q);
      expect(big.stats()).toMatchObject({ threadCachedRuns: 3, liveBlocks: 0 });
      big.check();
      // A damaged slot is refused, never handed out.
      const a = big.area;
      const full = [0, 1, 2, 3, 4, 5, 6, 7].filter((k) => (arena.i32[a + A_MASK]! & (1 << k)) !== 0);
      expect(full).toHaveLength(2);
      const damage = (k: number, run: number) => {
        const s = a + A_SLOTS + k * SLOT_WORDS;
        arena.i32[s + S_RUN] = run;
        arena.i32[s + S_PAGES] = 32;
      };
      damage(full[0]!, ptrs[1]! + 65536); // not a run head
      damage(full[1]!, q); // a run head, but in the other thread's cache
      expect(codeOf(() => big.malloc(2 * MiB))).toBe('ERR_HEAP_CORRUPTED');
      expect(codeOf(() => big.malloc(2 * MiB))).toBe('ERR_HEAP_CORRUPTED'); // both bad slots dropped
      // detach passes the rest on; trim() of any thread returns it.
      big2.detach();
      expect(big.trim()).toBeGreaterThan(0);
      big.detach();
      expect(arena.stats().pagesByTier[big.id] ?? 0).toBe(2 * 32); // the two runs the damaged slots stranded
    });
  }

  it("a dead thread's cache is reclaimed: its runs to the shared cache, its counters to the root", () => {
    const arena = Arena.format({ initialBytes: MiB, maxBytes: 128 * MiB, safety: 'strict' });
    arena.threadAttach();
    const big = new BigTier(arena, undefined, THREAD_CACHE);
    const other = Arena.attach(arena.memory);
    const dead = other.threadAttach();
    const big2 = new BigTier(other, undefined, THREAD_CACHE);
    const p = big2.malloc(3 * MiB);
    const q = big2.malloc(3 * MiB);
    big2.free(p);
    big2.free(q);
    const live = big2.malloc(3 * MiB); // from its cache
    expect(big.stats()).toMatchObject({ threadCachedRuns: 1, liveBlocks: 1 });
    arena.breakLocksOf(dead);
    big.reclaim(dead);
    expect(big.stats()).toMatchObject({ threadCachedRuns: 0, cachedRuns: 1, liveBlocks: 1, hits: 1 });
    big.check();
    big.free(live);
    big.check();
    arena.check();
  });

  /** Two thread handles over one arena, both with thread caches. */
  function pair(safety: 'strict' | 'fast', maxBytes: number) {
    const arena = Arena.format({ initialBytes: MiB, maxBytes, safety });
    arena.threadAttach();
    const a = new BigTier(arena, undefined, THREAD_CACHE);
    const other = Arena.attach(arena.memory);
    other.threadAttach();
    return { arena, a, b: new BigTier(other, undefined, THREAD_CACHE) };
  }

  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: a malloc about to fail asks the other threads for their caches; each gives its runs back at its next free`, () => {
      const { arena, a, b } = pair(safety, 64 * MiB);
      expect(new BigTier(arena).threadCache).toBe(true); // the default
      const mine = [b.malloc(2 * MiB), b.malloc(2 * MiB)]; // its cache's bound: 4 MiB of 64
      for (const p of mine) b.free(p);
      expect(b.stats()).toMatchObject({ threadCachedRuns: 2, liveBlocks: 0 });
      // Thread a fills the heap: b's cached runs stay b's (no thread takes a run out of a live
      // thread's cache: its fast paths use no Atomics).
      const held: number[] = [];
      for (let p = a.malloc(2 * MiB); p !== 0; p = a.malloc(2 * MiB)) held.push(p);
      for (const p of mine) expect(held).not.toContain(p);
      expect(a.stats()).toMatchObject({ cachedRuns: 2, threadCachedRuns: 2, liveBlocks: held.length });
      a.check();
      // b's own malloc still takes from its cache, without the lock.
      const locks = b.stats().locks.acquisitions;
      const p = b.malloc(2 * MiB);
      expect(mine).toContain(p);
      expect(b.stats().locks.acquisitions - locks).toBe(1); // stats() itself
      // b's next free serves the request: its cache goes back to the arena, p to the shared cache.
      b.free(p);
      expect(a.stats()).toMatchObject({ cachedRuns: 1, threadCachedRuns: 0, threadCachedBytes: 0 });
      b.check();
      // a's mallocs get those pages now.
      for (let k = 0; k < 2; k++) {
        const q = a.malloc(2 * MiB);
        expect(q).toBeGreaterThan(0);
        held.push(q);
      }
      expect(a.malloc(2 * MiB)).toBe(0);
      a.check();
      // b's cache works again once there is room: its frees cache, its mallocs take them back.
      for (const q of held.splice(0, 2)) a.free(q);
      a.flush(); // a's cache to the shared one (b's malloc cannot take from a's cache)
      const r = b.malloc(2 * MiB);
      expect(r).toBeGreaterThan(0);
      b.free(r);
      expect(b.stats()).toMatchObject({ threadCachedRuns: 1 });
      expect(b.malloc(2 * MiB)).toBe(r);
      b.free(r);
      for (const q of held) a.free(q);
      a.check();
      b.flush();
      expect(a.trim()).toBeGreaterThan(0);
      expect(arena.stats().pagesByTier[a.id] ?? 0).toBe(0);
      arena.check();
    });
  }

  it("trim() returns this thread's and the shared cache, and asks the other threads for theirs", () => {
    const { arena, a, b } = pair('strict', 128 * MiB);
    const runs = [b.malloc(3 * MiB), b.malloc(2 * MiB), a.malloc(2 * MiB), a.malloc(5 * MiB)];
    for (const p of runs.slice(0, 3)) b.free(p);
    a.free(runs[3]!);
    expect(a.stats()).toMatchObject({ threadCachedRuns: 4, threadCachedBytes: 12 * MiB });
    expect(a.trim()).toBe(5 * MiB);
    expect(a.stats()).toMatchObject({ threadCachedRuns: 3, threadCachedBytes: 7 * MiB, liveBlocks: 0 });
    a.check();
    // b goes on: its malloc takes from its cache without the lock; its next free gives the rest back.
    const locks = b.stats().locks.acquisitions;
    const p = b.malloc(3 * MiB);
    expect(p).toBe(runs[0]);
    expect(b.stats().locks.acquisitions - locks).toBe(1); // stats() itself
    b.free(p);
    expect(a.stats()).toMatchObject({ threadCachedRuns: 0, cachedRuns: 1, liveBlocks: 0 });
    expect(a.trim()).toBe(3 * MiB);
    expect(arena.stats().pagesByTier[a.id] ?? 0).toBe(0);
    // Then b caches again: a free through the lock once, then fast.
    const q = b.malloc(3 * MiB);
    b.free(q);
    const locks2 = b.stats().locks.acquisitions;
    expect(b.malloc(3 * MiB)).toBe(q);
    b.free(q);
    expect(b.stats().locks.acquisitions - locks2).toBe(1); // stats() itself
    b.check();
    arena.check();
  });

  it('a dead thread asked for its cache: reclaim gives its runs to the shared cache and releases its reservation', () => {
    const { arena, a, b } = pair('strict', 128 * MiB);
    const p = b.malloc(2 * MiB);
    const q = b.malloc(3 * MiB);
    b.free(p);
    b.free(q);
    a.trim(); // asks b
    arena.refresh(); // b's area may lie in memory b grew
    expect(arena.i32[b.area + A_RESERVED]!).toBeLessThan(0);
    a.check();
    const dead = b.arena.threadId;
    arena.breakLocksOf(dead);
    a.reclaim(dead);
    arena.threadRelease(dead);
    expect(a.stats()).toMatchObject({ threadCachedRuns: 0, cachedRuns: 2, liveBlocks: 0 });
    expect(arena.i32[a.root + R_RESERVED]).toBe(0);
    a.check();
    expect(a.malloc(3 * MiB)).toBe(q);
    expect(a.trim()).toBe(2 * MiB);
    arena.check();
  });
});

describe('BigTier.freeAt (free with the page-map entry the caller read)', () => {
  for (const safety of ['strict', 'fast'] as const) {
    for (const opts of [SHARED_ONLY, THREAD_CACHE]) {
      it(`${safety}, thread cache ${opts.threadCache}: frees like free; a freed run, an interior pointer or another tier's block is rejected with nothing changed`, () => {
        const arena = Arena.format({ initialBytes: MiB, maxBytes: 64 * MiB, safety });
        arena.threadAttach();
        const big = new BigTier(arena, undefined, opts);
        const run = new RunTier(arena);
        const a = big.malloc(2 * MiB);
        const b = big.malloc(3 * MiB);
        const other = run.malloc(2 * MiB);
        big.freeAt(a, arena.pageEntry(a));
        expect(big.stats().liveBlocks).toBe(1);
        expect(big.malloc(2 * MiB)).toBe(a); // back from the cache it went to
        big.freeAt(a, arena.pageEntry(a));
        arena.refresh();
        const before = arena.u8.slice();
        expect(codeOf(() => big.freeAt(a, arena.pageEntry(a)))).toBe('ERR_DOUBLE_FREE');
        expect(codeOf(() => big.freeAt(b + P, arena.pageEntry(b + P)))).toBe('ERR_INVALID_POINTER');
        expect(codeOf(() => big.freeAt(other, arena.pageEntry(other)))).toBe('ERR_INVALID_POINTER');
        arena.refresh();
        expect(sameBytes(before, arena.u8)).toBe(true);
        big.freeAt(b, arena.pageEntry(b));
        run.free(other);
        expect(big.stats().liveBlocks).toBe(0);
        big.check();
        big.detach();
        expect(codeOf(() => big.freeAt(b, arena.pageEntry(b)))).toBe('ERR_INVALID_THREAD'); // as free
      });
    }
  }
});

describe('BigTier strict errors (and fast: the same checks cost nothing here)', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: double frees (cached, given back, another thread), interior pointers, random offsets and other tiers' blocks, with nothing changed`, () => {
      const { arena, big } = tier(safety);
      const t2 = second(arena);
      const run = new RunTier(arena);
      const a = big.malloc(2 * MiB);
      const b = big.malloc(3 * MiB);
      const other = run.malloc(2 * MiB);
      const meta = arena.metaAlloc(64);
      big.free(a); // cached
      const stats = big.stats();
      const before = arena.u8.slice();
      const cases: Array<[string, () => unknown]> = [
        ['ERR_DOUBLE_FREE', () => big.free(a)],
        ['ERR_DOUBLE_FREE', () => t2.big.free(a)],
        ['ERR_INVALID_POINTER', () => big.free(b + 16)],
        ['ERR_INVALID_POINTER', () => big.free(b + P)],
        ['ERR_INVALID_POINTER', () => big.free(b + 3 * MiB - 8)],
        ['ERR_INVALID_POINTER', () => big.free(other)],
        ['ERR_INVALID_POINTER', () => big.free(meta)],
        ['ERR_INVALID_POINTER', () => big.free(arena.base)],
        ['ERR_INVALID_POINTER', () => big.free(3)],
        ['ERR_INVALID_POINTER', () => big.free(-P)],
        ['ERR_INVALID_POINTER', () => big.free(1.5)],
        ['ERR_INVALID_POINTER', () => big.free(2 ** 40)],
        ['ERR_INVALID_POINTER', () => big.free('65536' as unknown as number)],
        ['ERR_INVALID_POINTER', () => big.free(60 * MiB)],
        ['ERR_INVALID_POINTER', () => big.usableSize(a)],
        ['ERR_INVALID_POINTER', () => big.usableSize(b + 16)],
        ['ERR_INVALID_POINTER', () => big.usableSize(other)],
        ['ERR_INVALID_POINTER', () => big.resize(a, 2 * MiB)],
        ['ERR_INVALID_POINTER', () => big.resize(b + P, 2 * MiB)],
      ];
      for (const [code, call] of cases) expect(codeOf(call), String(call)).toBe(code);
      expect(big.freeOwned(other)).toBe(false);
      expect(big.freeOwned(meta)).toBe(false);
      expect(codeOf(() => big.freeOwned(a))).toBe('ERR_DOUBLE_FREE');
      expect(sameBytes(arena.u8, before)).toBe(true);
      expect({ ...big.stats(), locks: null }).toEqual({ ...stats, locks: null }); // (stats() itself takes the lock)
      big.check();
      // After the run went back to the arena, a second free is still ERR_DOUBLE_FREE.
      big.trim();
      expect(codeOf(() => big.free(a))).toBe('ERR_DOUBLE_FREE');
      big.free(b);
      expect(codeOf(() => t2.big.free(b))).toBe('ERR_DOUBLE_FREE');
      run.free(other);
      big.check();
      arena.check();
      expect(big.stats().liveBlocks).toBe(0);
    });
  }

  it('a write after free into a cached run breaks nothing: every link is out of band', () => {
    const { arena, big } = tier();
    const a = big.malloc(2 * MiB);
    big.free(a);
    arena.u8.fill(0xff, a, a + 2 * MiB);
    big.check();
    expect(big.malloc(2 * MiB)).toBe(a);
    big.free(a);
    big.check();
  });

  it('strict: a cached node whose metadata was overwritten is ERR_HEAP_CORRUPTED when it would be handed out, and nothing is handed out twice', () => {
    const { arena, big } = tier();
    const a = big.malloc(2 * MiB);
    const b = big.malloc(2 * MiB);
    big.free(a);
    const root = big.root;
    const node = arena.i32[root + R_BUCKETS + bucketOf(32)]!;
    expect(node).toBeGreaterThan(0);
    arena.i32[node] = b; // the node now names a live run
    expect(codeOf(() => big.malloc(2 * MiB))).toBe('ERR_HEAP_CORRUPTED');
    expect(codeOf(() => big.check())).toBe('ERR_HEAP_CORRUPTED');
    arena.i32[node] = a; // repaired by hand: the cache works again
    expect(big.malloc(2 * MiB)).toBe(a);
    big.free(a);
    big.free(b);
    big.check();
  });

  it('check() names a broken invariant: counters, links and the page map', () => {
    const { arena, big } = tier();
    const a = big.malloc(2 * MiB);
    const b = big.malloc(5 * MiB);
    big.free(a);
    big.free(b);
    const i32 = arena.i32;
    const root = big.root;
    i32[root + R_CACHED_PAGES]!++;
    expect(() => big.check()).toThrow(/invariant 6/);
    i32[root + R_CACHED_PAGES]!--;
    const oldest = i32[root + R_AGE_HEAD]!;
    i32[oldest + N_PAGES] = 40; // another bucket
    expect(() => big.check()).toThrow(/invariant 2/);
    i32[oldest + N_PAGES] = 32;
    const n = i32[root + R_BUCKETS + bucketOf(32)]!;
    i32[n + N_NEXT] = n;
    expect(() => big.check()).toThrow(/ERR_HEAP_CORRUPTED/);
    i32[n + N_NEXT] = 0;
    big.check();
  });
});

describe('BigTier recovery', () => {
  it('a thread that dies inside the critical section: the next lock holder rebuilds the cache from the page map', () => {
    const { arena, big } = tier('strict', 256 * MiB);
    const t2 = second(arena);
    const held = [2, 3, 4].map((m) => big.malloc(m * MiB));
    const cachedRuns = [2, 3, 5, 6].map((m) => big.malloc(m * MiB));
    for (const p of cachedRuns) big.free(p);
    // Thread 2 takes the lock and dies halfway through unlinking a node (its lists are broken).
    const i32 = bigLock(t2.big);
    const root = big.root;
    const n = i32[root + R_AGE_HEAD]!;
    i32[root + R_AGE_HEAD] = 0;
    i32[root + R_BUCKETS + bucketOf(32)] = 0;
    i32[n + N_NEXT] = 12345;
    const dead = t2.arena.threadId;
    expect(arena.breakLocksOf(dead)).toBe(1);
    big.reclaim(dead);
    arena.threadRelease(dead);
    big.check();
    arena.check();
    expect(big.stats()).toMatchObject({ repairs: 1, cachedRuns: 4, liveBlocks: 3, liveBytes: 9 * MiB });
    // Every cached run is handed out again, each once.
    const again = [2, 3, 5, 6].map((m) => big.malloc(m * MiB));
    expect(new Set(again)).toEqual(new Set(cachedRuns));
    for (const p of [...again, ...held]) big.free(p);
    big.check();
    expect(codeOf(() => big.reclaim(big.threadId))).toBe('ERR_INVALID_THREAD');
  });

  it('a thread that died after caching runs but before evicting for them: the rebuild restores the byte bound', () => {
    const { arena, big } = tier('strict', 64 * MiB); // bound: 8 MiB
    const t2 = second(arena);
    const cached = [2, 2, 2].map((m) => big.malloc(m * MiB));
    const extra = [2, 2].map((m) => big.malloc(m * MiB));
    for (const p of cached) big.free(p);
    expect(big.stats().cachedBytes).toBe(6 * MiB);
    // Thread 2 frees the two others as cachePut does (intent record, live counters, node, lists,
    // PM_DESC) and dies before its evictions, the second free's intent record still open.
    const i32 = bigLock(t2.big);
    const root = big.root;
    for (const p of extra) {
      if (p !== extra[0]) intentEnd(t2.big);
      intentBegin(t2.big, root + R_LIVE_BLOCKS, p!, 32, 1, 2 * MiB, 'put');
      i32[root + R_LIVE_BLOCKS]!--;
      i32[root + R_LIVE_BYTES]! -= 2 * MiB;
      const n = i32[root + R_NODE_FREE]!;
      i32[root + R_NODE_FREE] = i32[n + N_NEXT]!;
      cacheLink(i32, root, n, p!, 32, i32[root + R_CLOCK]!);
      t2.arena.setPageDesc(p! / P, n * 4 + 1);
    }
    const dead = t2.arena.threadId;
    arena.breakLocksOf(dead);
    big.reclaim(dead);
    arena.threadRelease(dead);
    big.check();
    arena.check();
    expect(big.stats()).toMatchObject({
      repairs: 1,
      liveBlocks: 0,
      cachedBytes: 8 * MiB,
      cachedRuns: 4,
      evictions: 1,
    });
    big.trim();
    big.check();
  });

  for (const made of [false, true]) {
    it(`a thread that died in a miss's allocRun ${made ? 'after' : 'before'} it made the run: the live counters count it exactly when the page map holds it`, () => {
      const { arena, big } = tier('strict', 64 * MiB);
      const t2 = second(arena);
      const held = big.malloc(3 * MiB);
      // Thread 2's miss: the intent record without a run, then allocRun, and it dies before
      // allocRun returned (the unlock inside it is a place a termination lands).
      const i32 = bigLock(t2.big);
      intentBegin(t2.big, big.root + R_LIVE_BLOCKS, 0, 32, 0, 0, 'take');
      if (made) expect(t2.arena.allocRun(32, big.id)).toBeGreaterThan(0);
      expect(i32[big.root + R_INTENT]).toBe(1);
      const dead = t2.arena.threadId;
      arena.breakLocksOf(dead);
      big.reclaim(dead);
      arena.threadRelease(dead);
      big.check();
      // The run it made is the block in flight: live, of its whole 2 MiB.
      expect(big.stats()).toMatchObject({
        repairs: 1,
        liveBlocks: made ? 2 : 1,
        liveBytes: made ? 5 * MiB : 3 * MiB,
      });
      big.free(held);
      big.check();
    });
  }
});

import { type Arena, HakmemError, PM_DESC, PM_TIER, PM_TIER_MASK, TIER_TINY } from '@hakmem/page-arena';
import {
  R_CACHE_ROOT,
  SL_BITMAP,
  SL_CARVED,
  SL_CLASS,
  SL_INV,
  SL_SHIFT,
  SL_START,
  Superslab,
  TINY_CLASS_BY_SIZE8,
  TINY_CLASS_COUNT,
  TINY_CLASS_SIZE,
  TINY_MAX_SIZE,
  tinyClassAligned,
} from '@hakmem/superslab';
import { CC_CAP, CC_COUNT, CC_HEAD, CC_HITS, CC_LIVE, CC_SHIFT, TlsCache } from '@hakmem/tls-cache';

/**
 * The word offsets the fast paths use, as a const enum so the build inlines them as literals
 * (module-level constants are loaded from the module context with a type check on every use).
 * Pinned to the layers' exported constants below.
 */
const enum Sl {
  Start = 2,
  Carved = 6,
  Inv = 7,
  Bitmap = 8,
  Shift = 9,
}
const enum Cc {
  Head = 0,
  Count = 1,
  Cap = 2,
  Live = 3,
  Hits = 4,
}
const enum Tiny {
  CcShift = 4,
  Max = 1024,
}
if (
  Sl.Start !== SL_START ||
  Sl.Carved !== SL_CARVED ||
  Sl.Bitmap !== SL_BITMAP ||
  Sl.Inv !== SL_INV ||
  Sl.Shift !== SL_SHIFT ||
  Cc.Head !== CC_HEAD ||
  Cc.Count !== CC_COUNT ||
  Cc.Cap !== CC_CAP ||
  Cc.Live !== CC_LIVE ||
  Cc.Hits !== CC_HITS ||
  Tiny.CcShift !== CC_SHIFT ||
  Tiny.Max !== TINY_MAX_SIZE
) {
  throw new Error(
    'tiny-tier: the inlined layout offsets differ from @hakmem/superslab / @hakmem/tls-cache / @hakmem/page-arena',
  );
}

/** The thread record's tls-cache word used by the tiny tier (slot 1 is the mid tier's). */
const TINY_CACHE_SLOT = 0;

export interface TinyClassStats {
  size: number;
  /** Blocks handed to users and not freed, all threads (exact when quiescent). */
  liveBlocks: number;
  /** Blocks in thread caches. */
  cachedBlocks: number;
  /** Σ cache capacity (blocks) of the attached threads. */
  capacity: number;
  hits: number;
  misses: number;
}

export interface TinyStats {
  liveBlocks: number;
  /** Σ class size of the live blocks. */
  liveBytes: number;
  /** Slabs out of the pool (owned or abandoned). */
  slabs: number;
  superslabs: number;
  classes: TinyClassStats[];
}

/**
 * The tiny tier (0 – 1024 B) as one thread sees it: a @hakmem/tls-cache front over
 * @hakmem/superslab slabs. Create one per thread after `arena.threadAttach()`.
 *
 * The fast paths (`malloc` on a cached block, `free` of a block of this thread's slabs into a
 * cache with room) work directly on the cache's words in the thread's area: plain loads and
 * stores, no Atomics, no allocation. Strict mode adds the slab's alloc bitmap (set on malloc,
 * cleared on free) and validates the block handed out, so a double free, a non-block start or
 * a corrupted link is caught in O(1). Everything else is a `...Slow` / `...Remote` function.
 *
 * Termination safety: each fast path changes shared memory in one straight-line sequence after
 * its last call, so a worker terminated at an interrupt point leaves consistent structures.
 */
export class TinyTier {
  readonly arena: Arena;
  readonly strict: boolean;
  readonly threadId: number;
  readonly slabs: Superslab;
  readonly cache: TlsCache;
  /** Views (fixed length; refreshed on slow paths). */
  private i32: Int32Array;
  private u32: Uint32Array;
  /** i32 index of the cache record of class 0 in this thread's area. */
  private records: number;
  /** The slabs' thread-private map of owned slabs by page (see @hakmem/superslab layout). */
  private readonly owned: Int32Array;
  /** The class tables, held in fields (cheaper to reach than module bindings). */
  private readonly classBySize8 = TINY_CLASS_BY_SIZE8;

  constructor(arena: Arena) {
    this.arena = arena;
    this.strict = arena.strict;
    this.threadId = arena.threadId;
    this.slabs = new Superslab(arena);
    this.cache = new TlsCache(arena, this.slabs, {
      slot: TINY_CACHE_SLOT,
      classSizes: TINY_CLASS_SIZE,
      rootWord: this.slabs.root + R_CACHE_ROOT,
    });
    this.records = this.cache.records;
    this.owned = this.slabs.owned;
    arena.refresh();
    this.i32 = arena.i32;
    this.u32 = arena.u32;
  }

  // ───────────────────────────── malloc ─────────────────────────────

  /**
   * A block of at least `size` bytes (0 ≤ size ≤ 1024; 0 gives the 8 B class); 0 when maxBytes
   * cannot hold it. The fast path pops the head of this thread's cache of the class. Strict:
   * the block's second word names its slab; the slab must name itself, be this thread's, of
   * this class, hold the block on its grid below the carve mark, and the block must not be live
   * (else the list was overwritten after a free: ERR_HEAP_CORRUPTED, nothing handed out). Then
   * its alloc bit is set.
   */
  malloc(size: number): number {
    if (!(size >= 0 && size <= Tiny.Max)) return this.tinyInvalidSize(size);
    const cls = this.classBySize8[(size + 7) >>> 3]!;
    return this.strict ? this.tinyMallocStrict(cls) : this.tinyMallocFast(cls);
  }

  /** Fast mode: pop the head of the class's cache. */
  private tinyMallocFast(cls: number): number {
    const h = this.records + (cls << Tiny.CcShift);
    const u32 = this.u32;
    const p = u32[h + Cc.Head]!;
    if (p === 0) return this.tinyMallocSlow(cls);
    const i32 = this.i32;
    i32[h + Cc.Head] = u32[p >>> 2]!;
    i32[h + Cc.Count]!--;
    i32[h + Cc.Hits]!++;
    i32[h + Cc.Live]!++;
    return p;
  }

  /**
   * Strict mode: the head must lie in a slab of this class that this thread owns (its page's
   * entry in the owned map), be a carved block start and not be live; its alloc bit is set.
   */
  private tinyMallocStrict(cls: number): number {
    const h = this.records + (cls << Tiny.CcShift);
    const u32 = this.u32;
    const p = u32[h + Cc.Head]!;
    if (p === 0) return this.tinyMallocSlow(cls);
    const e = this.owned[p >>> 16]!;
    if ((e & 31) !== cls || !(e > 0)) return this.tinyMallocCorrupt(p, cls);
    const i32 = this.i32;
    const d = (e & ~31) >>> 1;
    // Block index by exact division (size = odd × 2^shift): ≥ 2^16 unless a block start.
    const x = Math.imul(p - u32[d + Sl.Start]!, i32[d + Sl.Inv]!);
    const idx = (x >>> i32[d + Sl.Shift]!) | (x << -i32[d + Sl.Shift]!);
    const w = i32[d + Sl.Bitmap]! + ((idx >>> 5) << 1);
    const bits = i32[w]!;
    if (idx >>> 0 >= i32[d + Sl.Carved]! || (bits & (1 << idx)) !== 0) return this.tinyMallocCorrupt(p, cls);
    i32[w] = bits | (1 << idx);
    i32[h + Cc.Head] = u32[p >>> 2]!;
    i32[h + Cc.Count]!--;
    i32[h + Cc.Hits]!++;
    i32[h + Cc.Live]!++;
    return p;
  }

  /** The smallest class that is a multiple of `alignment` (a power of two ≥ 8) and ≥ size; 0 if none fits or out of memory. */
  mallocAligned(alignment: number, size: number): number {
    const cls = tinyClassAligned(alignment, size);
    if (cls < 0) return 0;
    return this.strict ? this.tinyMallocStrict(cls) : this.tinyMallocFast(cls);
  }

  /** A miss: refill the class from the slabs (a miss is not counted as a hit), then the fast path. */
  private tinyMallocSlow(cls: number): number {
    const n = this.cache.cacheRefill(cls);
    this.tinyRefreshViews();
    if (n === 0) return 0;
    const p = this.strict ? this.tinyMallocStrict(cls) : this.tinyMallocFast(cls);
    this.i32[this.records + (cls << CC_SHIFT) + CC_HITS]!--;
    return p;
  }

  /** Strict: the cache head failed its quick validation; the full one names the broken rule. */
  private tinyMallocCorrupt(p: number, cls: number): never {
    this.tinyRefreshViews();
    this.slabs.slabCheckListBlock(p, cls, 'handed out');
    throw new HakmemError(
      'ERR_HEAP_CORRUPTED',
      `free block ${p} of the ${TINY_CLASS_SIZE[cls]} B cache is not in this thread's map of owned slabs: not handed out`,
    );
  }

  private tinyInvalidSize(size: number): never {
    throw new HakmemError(
      'ERR_INVALID_SIZE',
      `tiny malloc(${size}): the tiny tier serves integer sizes 0 … ${TINY_MAX_SIZE}`,
    );
  }

  // ───────────────────────────── free ─────────────────────────────

  /**
   * Frees `ptr`, whose page-map entry `entry` is TIER_TINY. A block of another thread's (or an
   * abandoned) slab goes to that slab's lock-free remote list. Strict: ERR_INVALID_POINTER /
   * ERR_DOUBLE_FREE with nothing changed.
   */
  free(ptr: number, entry: number): void {
    if (this.strict) this.tinyFreeStrict(ptr, entry);
    else this.tinyFreeFast(ptr, entry);
  }

  /**
   * The umbrella's first try on every free (`ptr` a u32): frees `ptr` and returns true when it
   * lies in a tiny slab — this thread's (its private map says so, no page map) or another
   * thread's (the page map says TIER_TINY: the slab's remote list); false for anything else
   * (another tier, outside the heap, this tier detached), which the umbrella routes itself.
   * Own and remote frees leave the caller through the same return, so a caller optimised on
   * own frees only is not deoptimised by the first cross-thread free.
   */
  freeOwned(ptr: number): boolean {
    return this.strict ? this.tinyFreeStrict(ptr, -1) : this.tinyFreeFast(ptr, -1);
  }

  /**
   * Fast mode: a block of a slab this thread owns goes on its class's cache. Everything else
   * (cache full, another thread's block) takes the one slow call site, which the fast path
   * already exercises on every spill: an optimised caller meets no call site without feedback
   * when the first remote free comes.
   */
  private tinyFreeFast(ptr: number, entry: number): boolean {
    const e = this.owned[ptr >>> 16]!;
    if (e > 0) {
      const i32 = this.i32;
      const h = this.records + ((e & 31) << Tiny.CcShift);
      const n = i32[h + Cc.Count]!;
      if (n < i32[h + Cc.Cap]!) {
        const u32 = this.u32;
        u32[ptr >>> 2] = u32[h + Cc.Head]!;
        i32[h + Cc.Head] = ptr;
        i32[h + Cc.Count] = n + 1;
        i32[h + Cc.Live]!--;
        return true;
      }
    }
    // `>>> 0`: a pointer read from a Float64Array reaches here as a float; the slow path gets a
    // small integer either way (one type feedback, no 'not a Smi' deoptimisation later).
    return this.tinyFreeFastSlow(ptr >>> 0, entry);
  }

  /** Fast mode, off the fast path: the cache is full (spill), or the block is not this thread's. */
  private tinyFreeFastSlow(ptr: number, entry: number): boolean {
    const e = this.owned[ptr >>> 16]!;
    if (!(e > 0)) return this.tinyFreeNotOwned(ptr, entry);
    this.tinyFreeSlow(ptr, (e & ~31) >>> 1, e & 31, 0, 0);
    return true;
  }

  /**
   * Strict mode: the block must be a carved block start and live (alloc bit set, no remote free
   * pending); its alloc bit is cleared. The remote bit (the next bitmap word) is another
   * thread's Atomics.or; a plain read sees a free that happened before this one (a
   * simultaneous one is a race in the program). Anything else takes the one slow call site.
   */
  private tinyFreeStrict(ptr: number, entry: number): boolean {
    const e = this.owned[ptr >>> 16]!;
    if (e > 0) {
      const u32 = this.u32;
      const i32 = this.i32;
      const d = (e & ~31) >>> 1;
      const x = Math.imul(ptr - u32[d + Sl.Start]!, i32[d + Sl.Inv]!);
      const idx = (x >>> i32[d + Sl.Shift]!) | (x << -i32[d + Sl.Shift]!);
      const w = i32[d + Sl.Bitmap]! + ((idx >>> 5) << 1);
      const bits = i32[w]!;
      const h = this.records + ((e & 31) << Tiny.CcShift);
      const n = i32[h + Cc.Count]!;
      // One test for: a carved block start, live, no remote free pending, room in the cache.
      if (
        !(
          idx >>> 0 >= i32[d + Sl.Carved]! ||
          ((bits ^ (1 << idx)) | i32[w + 1]!) & (1 << idx) ||
          n >= i32[h + Cc.Cap]!
        )
      ) {
        i32[w] = bits ^ (1 << idx);
        u32[ptr >>> 2] = u32[h + Cc.Head]!;
        i32[h + Cc.Head] = ptr;
        i32[h + Cc.Count] = n + 1;
        i32[h + Cc.Live]!--;
        return true;
      }
    }
    return this.tinyFreeStrictSlow(ptr >>> 0, entry);
  }

  /** Strict free off the fast path: another thread's block, rejected (invalid pointer, double free), or the cache is full. */
  private tinyFreeStrictSlow(ptr: number, entry: number): boolean {
    const e = this.owned[ptr >>> 16]!;
    if (!(e > 0)) return this.tinyFreeNotOwned(ptr, entry);
    const i32 = this.i32;
    const d = (e & ~31) >>> 1;
    const cls = i32[d + SL_CLASS]!;
    const x = Math.imul(ptr - this.u32[d + SL_START]!, i32[d + SL_INV]!);
    const idx = (x >>> i32[d + SL_SHIFT]!) | (x << -i32[d + SL_SHIFT]!);
    if (idx >>> 0 >= i32[d + SL_CARVED]!) this.tinyFreeInvalid(ptr, d);
    const w = i32[d + SL_BITMAP]! + ((idx >>> 5) << 1);
    const bit = 1 << idx;
    if ((i32[w]! & bit) === 0 || (i32[w + 1]! & bit) !== 0) this.tinyDoubleFree(ptr, idx, cls);
    this.tinyFreeSlow(ptr, d, cls, w, bit);
    return true;
  }

  /**
   * A block not in this thread's slabs. `entry` is its page-map entry, or -1 when the umbrella
   * has not looked it up: then false unless the page map says TIER_TINY (and this tier is
   * attached), so the umbrella reports or routes everything else as before.
   */
  private tinyFreeNotOwned(ptr: number, entry: number): boolean {
    if (entry < 0) {
      if (this.records === 0) return false;
      const arena = this.arena;
      if (ptr >= arena.viewBytes) arena.refresh();
      entry = arena.pageEntry(ptr);
      if (entry < 0) return false;
      if (entry + 4 > this.u32.length) this.tinyRefreshViews();
      if ((this.u32[entry + PM_TIER]! & PM_TIER_MASK) !== TIER_TINY) return false;
    }
    this.tinyFreeRemote(ptr, entry);
    return true;
  }

  /** The class's cache is full: spill (or grow), then push. `w`/`bit`: the alloc bit to clear in strict mode. */
  private tinyFreeSlow(ptr: number, d: number, cls: number, w: number, bit: number): void {
    this.cache.cacheSpill(cls);
    this.tinyRefreshViews();
    const i32 = this.i32;
    const u32 = this.u32;
    const h = this.records + (cls << CC_SHIFT);
    if (bit !== 0) {
      i32[w] = i32[w]! & ~bit;
      u32[(ptr >>> 2) + 1] = d;
    }
    u32[ptr >>> 2] = u32[h + CC_HEAD]!;
    i32[h + CC_HEAD] = ptr;
    i32[h + CC_COUNT]!++;
    i32[h + CC_LIVE]!--;
  }

  /** A block of another thread's slab (or of an abandoned one): its slab's remote list. */
  private tinyFreeRemote(ptr: number, entry: number): void {
    // The entry's leaf may lie in memory grown since this thread's views (slabFreeRemote checks the rest).
    if (entry + 4 > this.u32.length) this.tinyRefreshViews();
    const cls = this.slabs.slabFreeRemote(ptr, this.u32[entry + PM_DESC]! >>> 2);
    this.i32[this.records + (cls << CC_SHIFT) + CC_LIVE]!--;
  }

  private tinyFreeInvalid(ptr: number, d: number): never {
    // The slab's messages name the rule that failed.
    this.slabs.slabUsableSize(ptr, d);
    throw new HakmemError('ERR_INVALID_POINTER', `free(${ptr}): not a tiny block start`);
  }

  private tinyDoubleFree(ptr: number, idx: number, cls: number): never {
    throw new HakmemError(
      'ERR_DOUBLE_FREE',
      `free(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is not live (freed before, or its free by another thread is pending)`,
    );
  }

  /** Usable bytes of the block at `ptr` (page-map entry `entry`): its class size. ERR_INVALID_POINTER unless a block start (strict: a live one). */
  usableSize(ptr: number, entry: number): number {
    if (ptr >= this.arena.viewBytes || ptr >= this.u32.length * 4) this.tinyRefreshViews();
    return this.slabs.slabUsableSize(ptr, this.u32[entry + PM_DESC]! >>> 2);
  }

  // ───────────────────────────── whole-tier operations ─────────────────────────────

  private tinyRefreshViews(): void {
    const arena = this.arena;
    arena.refresh();
    if (arena.i32 !== this.i32) {
      this.i32 = arena.i32;
      this.u32 = arena.u32;
    }
  }

  /** This thread's cached blocks back to their slabs. */
  flush(): void {
    this.cache.cacheFlush();
    this.tinyRefreshViews();
  }

  /**
   * The thread is leaving: its cache is flushed and released, its slabs go to the pool (empty)
   * or become adoptable. Call arena.threadRelease afterwards. The object is unusable after.
   */
  detach(): void {
    this.cache.cacheRelease();
    this.slabs.slabDetach();
    this.records = 0;
  }

  /** A dead or terminated thread: its cached blocks and slabs return to the heap (blocks it held in flight stay used). */
  reclaim(threadId: number): void {
    if (threadId === this.threadId) {
      throw new HakmemError('ERR_INVALID_THREAD', `reclaim(${threadId}): that is this thread; use detach()`);
    }
    this.slabs.slabReclaimBegin(threadId);
    this.cache.cacheReclaim(threadId);
    this.slabs.slabReclaimEnd(threadId);
    this.tinyRefreshViews();
  }

  /** Flushes this thread's cache, then gives empty slabs to the pool and empty SuperSlabs to the arena; returns the bytes returned to the arena. */
  trim(): number {
    this.flush();
    const bytes = this.slabs.slabTrim();
    this.tinyRefreshViews();
    return bytes;
  }

  /** Validates every slab, remote list, bitmap and cache list, and the live counters against the slabs. */
  check(): void {
    this.slabs.slabCheckBegin();
    this.cache.cacheCheck();
    const live = this.slabs.slabCheck();
    const stats = this.cache.cacheStats();
    for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
      if (stats[cls]!.live !== live[cls]) {
        throw new HakmemError(
          'ERR_HEAP_CORRUPTED',
          `tiny class ${TINY_CLASS_SIZE[cls]} B: the threads count ${stats[cls]!.live} live blocks, the slabs hold ${live[cls]}`,
        );
      }
    }
  }

  /** Heap-wide figures of the tier (exact when quiescent). */
  stats(): TinyStats {
    const cacheStats = this.cache.cacheStats();
    const slabStats = this.slabs.slabStats();
    let liveBlocks = 0;
    let liveBytes = 0;
    const classes = cacheStats.map((c) => {
      liveBlocks += c.live;
      liveBytes += c.live * c.size;
      return {
        size: c.size,
        liveBlocks: c.live,
        cachedBlocks: c.cached,
        capacity: c.capacity,
        hits: c.hits,
        misses: c.misses,
      };
    });
    return { liveBlocks, liveBytes, slabs: slabStats.slabs, superslabs: slabStats.superslabs, classes };
  }
}

import {
  type Arena,
  HakmemError,
  PAGE_SIZE,
  PM_DESC,
  PM_TIER,
  PM_TIER_MASK,
  type Tier,
  type TierFactory,
} from '@hakmem/page-arena';
import { CC_CAP, CC_COUNT, CC_HEAD, CC_HITS, CC_LIVE, CC_SHIFT, TlsCache } from '@hakmem/tls-cache';
import {
  OWNED_CLASS_MASK,
  ROOT_WORDS,
  SL_BITMAP,
  SL_CARVED,
  SL_CLASS,
  SL_INV,
  SL_SHIFT,
  SL_START,
  SL_USED,
  SLAB_BYTES,
  SLAB_SHIFT,
} from './layout';
import {
  TINY_CLASS_BY_SIZE8,
  TINY_CLASS_COUNT,
  TINY_CLASS_SIZE,
  TINY_KIND,
  TINY_LAYOUT_VERSION,
  TINY_MAX_SIZE,
  tinyClassAligned,
} from './size-classes';
import { Superslab } from './superslab';

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
/**
 * Most bytes this thread's tiny cache holds, all classes together (the cache's default is 256 KiB).
 * A class's count walks up and down between spills and refills, which come about 4 / capacity²
 * of its operations apart and each move half the capacity (and cost a few hundred instructions
 * per block moved, the spill's link checks included): doubling a class's capacity halves its
 * slow-path cost. With 256 KiB the classes above 512 B of a churn over all sizes stayed at 32–64
 * blocks (the budget was full) and the slow paths cost ~20 instructions per malloc+free pair;
 * with 1 MiB they grow to 128–256 and the slow paths to ~0. The capacities still grow only for
 * a class that keeps spilling or refilling, and shrink when it goes cold.
 */
const TINY_CACHE_BUDGET = 1024 * 1024;
const enum Tiny {
  CcShift = 4,
  Max = 1024,
}
/** The owned-slab map: entry of the page `ptr >>> PageShift`, `(d << 1) | class` (layout.ts). */
const enum Owned {
  PageShift = 16,
  ClassMask = 31,
  /** A slab is one page: a pointer's offset in its slab. */
  PageMask = 0xffff,
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
  Tiny.Max !== TINY_MAX_SIZE ||
  Owned.PageShift !== SLAB_SHIFT ||
  Owned.PageMask !== SLAB_BYTES - 1 ||
  Owned.ClassMask !== OWNED_CLASS_MASK
) {
  throw new Error('tiny-tier: the inlined layout offsets differ from the slab layout or @hakmem/tls-cache');
}

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
 * The tiny tier (0 – 1024 B) as one thread sees it: a @hakmem/tls-cache front over this
 * package's slabs, a complete tier on the `Tier` contract of @hakmem/page-arena. Create one per
 * thread after `arena.threadAttach()`; pass the tier id a composition got from `arena.tierOpen`,
 * or none for the heap's 'tiny' tier (opened with sizes 0 … 1024 when the heap has none).
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
export class TinyTier implements Tier {
  readonly arena: Arena;
  readonly strict: boolean;
  readonly threadId: number;
  readonly id: number;
  readonly kind = TINY_KIND;
  readonly minSize: number;
  readonly maxSize: number;
  /** @internal The slabs behind the cache. */
  readonly slabs: Superslab;
  /** @internal The cache in front of the slabs. */
  readonly cache: TlsCache;
  /** i32 index of the cache record of class 0 in this thread's area. */
  private records: number;
  /** The slabs' thread-private map of owned slabs by page (see @hakmem/superslab layout). */
  private readonly owned: Int32Array;
  /** The class tables, held in fields (cheaper to reach than module bindings). */
  private readonly classBySize8 = TINY_CLASS_BY_SIZE8;
  /**
   * The fast paths' one view: the arena's `i32` as of this tier's last slow path (tinySyncViews),
   * one dependent load closer than `arena.i32`, and one view instead of two (a pointer is a
   * word's bits read `>>> 0`). It covers everything the fast paths touch — the cache records and
   * the blocks and descriptors of this thread's own slabs, all in memory this thread's views
   * covered when it took them (a refill syncs after the backend) — and a view a grown
   * WebAssembly.Memory detached reads undefined, which sends the fast path to its slow path.
   */
  private i32v: Int32Array;

  constructor(arena: Arena, id?: number) {
    this.arena = arena;
    this.strict = arena.strict;
    this.threadId = arena.threadId;
    this.slabs = new Superslab(arena, id);
    this.id = this.slabs.tier;
    const info = arena.tierExpect(this.id, TINY_KIND, TINY_LAYOUT_VERSION, 'TinyTier');
    if (info.maxSize > TINY_MAX_SIZE) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `TinyTier: tier ${this.id} is a '${info.kind}' tier of sizes ${info.minSize}..${info.maxSize}, not a tiny tier (≤ ${TINY_MAX_SIZE})`,
      );
    }
    this.minSize = info.minSize;
    this.maxSize = info.maxSize;
    this.cache = new TlsCache(arena, this.slabs, {
      tier: this.id,
      threadWord: this.slabs.cacheThreadWord,
      classSizes: TINY_CLASS_SIZE,
      rootWord: this.slabs.cacheRoot,
      budgetBytes: TINY_CACHE_BUDGET,
      // The fast paths below touch no live counter: CC_LIVE holds live + cached blocks.
      liveWithCached: true,
    });
    this.records = this.cache.records;
    this.owned = this.slabs.owned;
    this.malloc = this.strict ? this.tinyMallocStrict : this.tinyMallocFast;
    this.freeOwned = this.strict ? this.tinyFreeStrict : this.tinyFreeFast;
    arena.refresh();
    this.i32v = arena.i32;
  }

  /** The fast paths' view made the arena's current one. */
  private tinySyncViews(): void {
    const arena = this.arena;
    arena.refresh();
    this.i32v = arena.i32;
  }

  // ───────────────────────────── malloc ─────────────────────────────

  /**
   * A block of at least `size` bytes (0 ≤ size ≤ 1024; 0 gives the 8 B class); 0 when maxBytes
   * cannot hold it. The fast path pops the head of this thread's cache of the class. Strict:
   * the head must lie in a slab of this class that this thread owns, on its grid below the carve
   * mark, and must not be live (else the list was overwritten after a free: ERR_HEAP_CORRUPTED,
   * nothing handed out). Then its alloc bit is set.
   *
   * Strict or fast is chosen once, at construction: `malloc` and `freeOwned` are the mode's own
   * functions (one target per call site, no mode test, and the whole path within V8's
   * inlining budget of a caller that also inlines an adapter and the umbrella).
   */
  readonly malloc: (size: number) => number;

  /**
   * The umbrella's first try on every free (`ptr` a u32): frees `ptr` and returns true when it
   * lies in one of this thread's slabs (its private map says so: no page map); false at once
   * for a page the map does not name — another thread's tiny block, another tier's, outside
   * the heap — which the umbrella routes by the page map (another thread's tiny block to
   * `free`, which takes it). The mode's own function, chosen at construction (see `malloc`).
   */
  readonly freeOwned: (ptr: number) => boolean;

  /** Fast mode's malloc: pop the head of the class's cache. */
  private tinyMallocFast(size: number): number {
    if (!(size >= 0 && size <= Tiny.Max)) return this.tinyInvalidSize(size);
    const cls = this.classBySize8[(size + 7) >>> 3]!;
    // Record indexes as `(… + …) | 0`: no overflow check (docs/architecture.md, the fast-path
    // rules; h + Cc.Head is h + 0 and needs none).
    const h = (this.records + (cls << Tiny.CcShift)) | 0;
    const i32 = this.i32v;
    // One view: a pointer is the word's bits as a u32 (`>>> 0`; undefined, from a view a replaced
    // buffer detached, gives 0). `!(p > 0)`: an empty list or a detached view: the slow path.
    const p = i32[h + Cc.Head]! >>> 0;
    if (!(p > 0)) return this.tinyMallocSlow(cls);
    i32[h + Cc.Head] = i32[p >>> 2]!;
    i32[(h + Cc.Count) | 0]!--;
    i32[(h + Cc.Hits) | 0]!++;
    return p;
  }

  /**
   * Strict mode's malloc: the head must lie in a slab of this class that this thread owns (its
   * page's entry in the owned map), be a carved block start and not be live; its alloc bit is set.
   */
  private tinyMallocStrict(size: number): number {
    if (!(size >= 0 && size <= Tiny.Max)) return this.tinyInvalidSize(size);
    const cls = this.classBySize8[(size + 7) >>> 3]!;
    const h = (this.records + (cls << Tiny.CcShift)) | 0; // `| 0`: see tinyMallocFast
    const i32 = this.i32v;
    const p = i32[h + Cc.Head]! >>> 0; // one view: see tinyMallocFast
    if (!(p > 0)) return this.tinyMallocSlow(cls);
    const e = this.owned[p >>> Owned.PageShift]!;
    if ((e & Owned.ClassMask) !== cls || !(e > 0)) return this.tinyMallocRecheck(p, cls);
    const d = (e & ~Owned.ClassMask) >>> 1;
    // Block index by exact division (size = odd × 2^shift): ≥ 2^16 unless a block start. A slab
    // is one 64 KiB page, so its offset in the slab is the pointer's low 16 bits (no SL_START load).
    const x = Math.imul(p & Owned.PageMask, i32[d + Sl.Inv]!);
    const shift = i32[d + Sl.Shift]!;
    const idx = (x >>> shift) | (x << -shift);
    const w = i32[d + Sl.Bitmap]! + ((idx >>> 5) << 1);
    const bits = i32[w]!;
    if (idx >>> 0 >= i32[d + Sl.Carved]! || (bits & (1 << idx)) !== 0) return this.tinyMallocRecheck(p, cls);
    i32[w] = bits | (1 << idx);
    i32[h + Cc.Head] = i32[p >>> 2]!;
    i32[(h + Cc.Count) | 0]!--;
    i32[(h + Cc.Hits) | 0]!++;
    return p;
  }

  /** The smallest class that is a multiple of `alignment` (a power of two ≥ 8) and ≥ size; 0 if none fits or out of memory. */
  mallocAligned(alignment: number, size: number): number {
    const cls = tinyClassAligned(alignment, size);
    if (cls < 0) return 0;
    return this.malloc(TINY_CLASS_SIZE[cls]!);
  }

  /**
   * The list of `cls` looked empty: refresh the views (they may have been detached), then take
   * the head, or refill the class from the slabs (a miss is not counted as a hit).
   */
  private tinyMallocSlow(cls: number): number {
    const arena = this.arena;
    this.tinySyncViews();
    const h = this.records + (cls << CC_SHIFT);
    // A class's own size maps to the class.
    if (arena.u32[h + CC_HEAD] !== 0) return this.malloc(TINY_CLASS_SIZE[cls]!);
    const n = this.cache.cacheRefill(cls);
    if (n === 0) return 0;
    // The refill may have grown the memory (a new slab): the pop below reads its blocks.
    this.i32v = arena.i32;
    const p = this.malloc(TINY_CLASS_SIZE[cls]!);
    arena.i32[h + CC_HITS]!--;
    return p;
  }

  /**
   * Strict: the cache head failed its quick validation. With a view older than the arena's, again
   * with the current one; else the full validation names the broken rule.
   */
  private tinyMallocRecheck(p: number, cls: number): number {
    const arena = this.arena;
    arena.refresh();
    if (this.i32v !== arena.i32) {
      this.i32v = arena.i32;
      return this.malloc(TINY_CLASS_SIZE[cls]!);
    }
    return this.tinyMallocCorrupt(p, cls);
  }

  /** Strict: the cache head failed its quick validation; the full one names the broken rule. */
  private tinyMallocCorrupt(p: number, cls: number): never {
    this.arena.refresh();
    this.slabs.slabCheckListBlock(p, cls, 'handed out');
    throw new HakmemError(
      'ERR_HEAP_CORRUPTED',
      `free block ${p} of the ${TINY_CLASS_SIZE[cls]} B cache is not in this thread's map of owned slabs: not handed out`,
    );
  }

  private tinyInvalidSize(size: number): never {
    throw new HakmemError(
      'ERR_INVALID_SIZE',
      `tiny malloc(${describeValue(size)}): the tiny tier serves integer sizes 0 … ${TINY_MAX_SIZE}`,
    );
  }

  // ───────────────────────────── free ─────────────────────────────

  /**
   * Frees a block of this tier (this thread's, another thread's or an abandoned slab's: those go
   * to the slab's lock-free remote list). ERR_INVALID_POINTER / ERR_DOUBLE_FREE (strict: always)
   * with nothing changed.
   */
  free(ptr: number): void {
    const ok =
      typeof ptr === 'number' && ptr >>> 0 === ptr && (this.freeOwned(ptr) || this.tinyFreeNotOwned(ptr));
    if (!ok) throw this.tinyNotMine('free', ptr);
  }

  /**
   * free for a caller that has looked `ptr` up: `entry` is its page-map entry (see the Tier
   * contract). This thread's block by its owned map as in free; any other takes the entry.
   */
  freeAt(ptr: number, entry: number): void {
    if (!(this.freeOwned(ptr) || this.tinyFreeNotOwnedAt(ptr, entry))) throw this.tinyNotMine('free', ptr);
  }

  /**
   * Fast mode: a block of a slab this thread owns goes on its class's cache. A page the owned
   * map does not name returns false at once (no call: the umbrella's page-map route takes it).
   * Everything else (cache full, views to refresh) takes the one slow call site, which the fast
   * path already exercises on every spill.
   */
  private tinyFreeFast(ptr: number): boolean {
    const e = this.owned[ptr >>> Owned.PageShift]!;
    if (e > 0) {
      const i32 = this.i32v;
      const h = (this.records + ((e & Owned.ClassMask) << Tiny.CcShift)) | 0; // `| 0`: see tinyMallocFast
      const n = i32[(h + Cc.Count) | 0]!;
      if (n < i32[(h + Cc.Cap) | 0]!) {
        i32[ptr >>> 2] = i32[h + Cc.Head]!;
        i32[h + Cc.Head] = ptr;
        i32[(h + Cc.Count) | 0] = n + 1;
        return true;
      }
    }
    if (!(e > 0)) return false;
    // `>>> 0`: a pointer read from a Float64Array reaches here as a float; the slow path gets a
    // small integer either way (one type feedback, no 'not a Smi' deoptimisation later).
    return this.tinyFreeFastSlow(ptr >>> 0, e);
  }

  /** Fast mode, off the fast path (a block of this thread's slabs): the cache is full (spill) or the views are stale. */
  private tinyFreeFastSlow(ptr: number, e: number): boolean {
    // e > 0, ptr's owned-map entry: tinyFreeFast declined every other page.
    this.tinySyncViews();
    this.tinyFreeSlow(ptr, e & Owned.ClassMask, 0, 0);
    return true;
  }

  /**
   * Strict mode: the block must be a carved block start and live (alloc bit set, no remote free
   * pending); its alloc bit is cleared. The remote bit (the next bitmap word) is another
   * thread's Atomics.or; a plain read sees a free that happened before this one (a
   * simultaneous one is a race in the program). A page the owned map does not name returns
   * false at once (see tinyFreeFast); anything else takes the one slow call site.
   */
  private tinyFreeStrict(ptr: number): boolean {
    const e = this.owned[ptr >>> Owned.PageShift]!;
    if (e > 0) {
      const i32 = this.i32v;
      const d = (e & ~Owned.ClassMask) >>> 1;
      const x = Math.imul(ptr & Owned.PageMask, i32[d + Sl.Inv]!);
      const idx = (x >>> i32[d + Sl.Shift]!) | (x << -i32[d + Sl.Shift]!);
      const w = i32[d + Sl.Bitmap]! + ((idx >>> 5) << 1);
      const bits = i32[w]!;
      const h = (this.records + ((e & Owned.ClassMask) << Tiny.CcShift)) | 0; // `| 0`: see tinyMallocFast
      const n = i32[(h + Cc.Count) | 0]!;
      // One test for: a carved block start, live, no remote free pending, room in the cache.
      if (
        !(
          idx >>> 0 >= i32[d + Sl.Carved]! ||
          ((bits ^ (1 << idx)) | i32[w + 1]!) & (1 << idx) ||
          !(n < i32[(h + Cc.Cap) | 0]!)
        )
      ) {
        i32[w] = bits ^ (1 << idx);
        i32[ptr >>> 2] = i32[h + Cc.Head]!;
        i32[h + Cc.Head] = ptr;
        i32[(h + Cc.Count) | 0] = n + 1;
        return true;
      }
    }
    if (!(e > 0)) return false; // not this thread's slab: see tinyFreeFast
    return this.tinyFreeStrictSlow(ptr >>> 0, e);
  }

  /** Strict free off the fast path (a page of this thread's slabs): rejected (invalid pointer, double free), the cache is full, or stale views. */
  private tinyFreeStrictSlow(ptr: number, e: number): boolean {
    // e > 0, ptr's owned-map entry: tinyFreeStrict declined every other page.
    this.tinySyncViews();
    const i32 = this.arena.i32;
    const d = (e & ~Owned.ClassMask) >>> 1;
    const cls = i32[d + SL_CLASS]!;
    const x = Math.imul(ptr - this.arena.u32[d + SL_START]!, i32[d + SL_INV]!);
    const idx = (x >>> i32[d + SL_SHIFT]!) | (x << -i32[d + SL_SHIFT]!);
    if (idx >>> 0 >= i32[d + SL_CARVED]!) this.tinyFreeInvalid(ptr, d);
    const w = i32[d + SL_BITMAP]! + ((idx >>> 5) << 1);
    const bit = 1 << idx;
    if ((i32[w]! & bit) === 0 || (i32[w + 1]! & bit) !== 0) this.tinyDoubleFree(ptr, idx, cls);
    this.tinyFreeSlow(ptr, cls, w, bit);
    return true;
  }

  /**
   * A block not in this thread's slabs: false unless the page map names this tier (and this
   * handle is attached), so the caller reports or routes everything else.
   */
  private tinyFreeNotOwned(ptr: number): boolean {
    return this.tinyFreeNotOwnedAt(ptr, this.arena.pageEntry(ptr));
  }

  /** tinyFreeNotOwned with `ptr`'s page-map entry already read (negative: outside the heap). */
  private tinyFreeNotOwnedAt(ptr: number, entry: number): boolean {
    if (this.records === 0 || entry < 0 || (this.arena.u32[entry + PM_TIER]! & PM_TIER_MASK) !== this.id) {
      return false;
    }
    this.tinyFreeRemote(ptr, entry);
    return true;
  }

  /** A block of this thread's slab when the cache may be full: spill (or grow) first, then push. `w`/`bit`: the alloc bit to clear in strict mode. */
  private tinyFreeSlow(ptr: number, cls: number, w: number, bit: number): void {
    const h = this.records + (cls << CC_SHIFT);
    if (!(this.arena.i32[h + CC_COUNT]! < this.arena.i32[h + CC_CAP]!)) this.cache.cacheSpill(cls);
    const i32 = this.arena.i32;
    const u32 = this.arena.u32;
    if (bit !== 0) i32[w] = i32[w]! & ~bit;
    u32[ptr >>> 2] = u32[h + CC_HEAD]!;
    i32[h + CC_HEAD] = ptr;
    i32[h + CC_COUNT]!++;
  }

  /** A block of another thread's slab (or of an abandoned one): this thread's outgoing buffer, then its slab's remote list. */
  private tinyFreeRemote(ptr: number, entry: number): void {
    const slabs = this.slabs;
    const cls = slabs.slabFreeRemoteBuffered(ptr, this.arena.u32[entry + PM_DESC]! >>> 2);
    // The free is whole (buffered and counted) before a full chain's push, an interrupt point.
    this.arena.i32[this.records + (cls << CC_SHIFT) + CC_LIVE]!--;
    if (slabs.outPending !== 0) slabs.slabOutPushPending();
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

  /** The error for a pointer that is not in this tier's pages (or a detached handle). */
  private tinyNotMine(op: string, ptr: number): HakmemError {
    if (this.records === 0) {
      return new HakmemError(
        'ERR_INVALID_THREAD',
        `tiny ${op}(${describeValue(ptr)}): this handle was detached`,
      );
    }
    return new HakmemError(
      'ERR_INVALID_POINTER',
      `tiny ${op}(${describeValue(ptr)}): not a block of the tiny tier (its blocks live in pages of tier ${this.id})`,
    );
  }

  /** Usable bytes of the block at `ptr`: its class size. ERR_INVALID_POINTER unless a block start of this tier (strict: a live one). */
  usableSize(ptr: number): number {
    const arena = this.arena;
    const entry = typeof ptr === 'number' && ptr >>> 0 === ptr ? arena.pageEntry(ptr) : -1;
    if (entry < 0 || (arena.u32[entry + PM_TIER]! & PM_TIER_MASK) !== this.id) {
      throw this.tinyNotMine('usableSize', ptr);
    }
    return this.slabs.slabUsableSize(ptr, arena.u32[entry + PM_DESC]! >>> 2);
  }

  /** In place when the block's class still holds `size` within the usableSize bound. */
  resize(ptr: number, size: number): boolean {
    const old = this.usableSize(ptr);
    return size <= old && old <= Math.max((size + 15) & ~15, Math.ceil(1.25 * size));
  }

  // ───────────────────────────── whole-tier operations ─────────────────────────────

  /** This thread's cached blocks back to their slabs, its buffered remote frees to theirs. */
  flush(): void {
    this.cache.cacheFlush();
    this.slabs.slabOutFlush();
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
  }

  /** Flushes this thread's cache, then gives empty slabs to the pool and empty SuperSlabs to the arena; returns the bytes returned to the arena. */
  trim(): number {
    this.flush();
    return this.slabs.slabTrim();
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

  /** Fraction of a SuperSlab's bytes in blocks out of its slabs (live, or in a thread cache). */
  occupancy(offset: number, pages: number): number {
    const arena = this.arena;
    arena.refresh();
    const { i32, u32 } = arena;
    let used = 0;
    for (let page = 0; page < pages; page++) {
      const entry = arena.pageEntry(offset + page * PAGE_SIZE);
      const d = entry < 0 ? 0 : u32[entry + PM_DESC]! >>> 2;
      const cls = d === 0 ? -1 : i32[d + SL_CLASS]!;
      if (cls >= 0 && cls < TINY_CLASS_COUNT) used += i32[d + SL_USED]! * TINY_CLASS_SIZE[cls]!;
    }
    return used / (pages * PAGE_SIZE);
  }
}

function describeValue(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeof value === 'bigint' ? `${value}n` : typeof value;
}

/** The tiny tier for compositions: `{ tier: tinyTier, maxSize: 1024 }` (sizes 0 … 1024 at most). */
export const tinyTier: TierFactory<TinyTier> = {
  kind: TINY_KIND,
  sizeLimit: TINY_MAX_SIZE,
  rootWords: ROOT_WORDS,
  layoutVersion: TINY_LAYOUT_VERSION,
  create(arena: Arena, id: number): TinyTier {
    return new TinyTier(arena, id);
  },
};

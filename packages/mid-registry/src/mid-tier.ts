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
import { type SpanStats, spanStats, spansCheck } from './check';
import { describeValue } from './errors';
import {
  MID_LAYOUT_VERSION,
  midCacheBudget,
  midCacheClassBytes,
  ROOT_WORDS,
  SP_BITMAP,
  SP_CARVED,
  SP_CLASS,
  SP_INV,
  SP_PAGES,
  SP_SHIFT,
  SP_START,
  SP_USED,
} from './layout';
import { spansReclaimBegin, spansReclaimEnd, spansTrim } from './reclaim';
import {
  MID_CLASS_BY_SIZE16,
  MID_CLASS_COUNT,
  MID_CLASS_SIZE,
  MID_KIND,
  MID_MAX_SIZE,
  midClassAligned,
  usableBound,
} from './size-classes';
import { MidSpans } from './spans';

/**
 * The word offsets the fast paths use, as const enums so the build inlines them as literals
 * (a module-level constant is a load from the module context on every use). Pinned to the
 * layers' exported constants below.
 */
const enum Sp {
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
const enum Mid {
  CcShift = 4,
  Max = 32768,
}
if (
  Sp.Start !== SP_START ||
  Sp.Carved !== SP_CARVED ||
  Sp.Bitmap !== SP_BITMAP ||
  Sp.Inv !== SP_INV ||
  Sp.Shift !== SP_SHIFT ||
  Cc.Head !== CC_HEAD ||
  Cc.Count !== CC_COUNT ||
  Cc.Cap !== CC_CAP ||
  Cc.Live !== CC_LIVE ||
  Cc.Hits !== CC_HITS ||
  Mid.CcShift !== CC_SHIFT ||
  Mid.Max !== MID_MAX_SIZE
) {
  throw new Error('mid-tier: the inlined layout offsets differ from the span layout or @hakmem/tls-cache');
}

/**
 * `records` of a detached handle: every cache word the fast paths would read is then at a
 * negative index (undefined), so they take their slow paths, which refuse.
 */
const DETACHED = -(2 ** 30);

export interface MidClassStats {
  size: number;
  /** Blocks handed to users and not freed, all threads (exact when quiescent). */
  liveBlocks: number;
  /** Blocks in thread caches. */
  cachedBlocks: number;
  /** Σ cache capacity (blocks) of the attached threads. */
  capacity: number;
  hits: number;
  misses: number;
  /** Spans of the class. */
  spans: number;
}

export interface MidStats {
  liveBlocks: number;
  /** Σ usableSize (the class size) of the live blocks. */
  liveBytes: number;
  /** Spans in the registry (owned, spare or abandoned). */
  spans: number;
  /** Pages of all spans. */
  pages: number;
  abandonedSpans: number;
  spareSpans: number;
  /** Entries the span registry has room for (it doubles on demand). */
  registryCapacity: number;
  classes: MidClassStats[];
}

/**
 * The mid tier (1 KiB – 32 KiB; any size 0 … 32768 a composition routes to it) as one thread
 * sees it: a @hakmem/tls-cache front over this package's spans, a complete tier on the `Tier`
 * contract of @hakmem/page-arena. Create one per thread after `arena.threadAttach()`; pass the
 * tier id a composition got from `arena.tierOpen`, or none for the heap's 'mid' tier (opened
 * with sizes 1025 … 32768 when the heap has none).
 *
 * The fast paths (malloc of a cached block, free of a block of this thread's spans into a
 * cache with room) are plain loads and stores on the cache's words and the thread-private map
 * of owned spans: no Atomics, no allocation. Strict mode adds the span's alloc bitmap (set on
 * malloc, cleared on free) and validates the block handed out, so a double free, a pointer that
 * is not a block start, or a corrupted link is caught in O(1). Everything else is a `...Slow` /
 * `...Remote` function.
 */
export class MidTier implements Tier {
  readonly arena: Arena;
  readonly strict: boolean;
  readonly threadId: number;
  readonly id: number;
  readonly kind = MID_KIND;
  readonly minSize: number;
  readonly maxSize: number;
  /** @internal The spans behind the cache. */
  readonly spans: MidSpans;
  /** @internal The cache in front of the spans. */
  readonly cache: TlsCache;
  /** i32 index of the cache record of class 0 in this thread's area (DETACHED once detached). */
  private records: number;
  /** The spans' thread-private map of owned spans: [2 × page] descriptor, [2 × page + 1] class. */
  private readonly owned: Int32Array;
  /** The class table, held in a field (cheaper to reach than a module binding). */
  private readonly classBySize16 = MID_CLASS_BY_SIZE16;

  /**
   * The fast paths' one view: the arena's `i32` as of this tier's last slow path (midSyncViews),
   * one dependent load closer than `arena.i32`, and one view instead of two (a pointer is a
   * word's bits read `>>> 0`). It covers everything the fast paths touch — the cache records and
   * the blocks and descriptors of this thread's own spans, all in memory this thread's views
   * covered when it took them (a refill syncs after the backend) — and a view a grown
   * WebAssembly.Memory detached reads undefined, which sends the fast path to its slow path.
   */
  private i32v: Int32Array;

  constructor(arena: Arena, id?: number) {
    this.arena = arena;
    this.strict = arena.strict;
    this.threadId = arena.threadId;
    this.spans = new MidSpans(arena, id);
    this.id = this.spans.tier;
    const info = arena.tierInfo(this.id);
    if (info.kind !== MID_KIND || info.maxSize > MID_MAX_SIZE) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `MidTier: tier ${this.id} is a '${info.kind}' tier of sizes ${info.minSize}..${info.maxSize}, not a mid tier (≤ ${MID_MAX_SIZE})`,
      );
    }
    this.minSize = info.minSize;
    this.maxSize = info.maxSize;
    this.cache = new TlsCache(arena, this.spans, {
      tier: this.id,
      threadWord: this.spans.cacheThreadWord,
      classSizes: MID_CLASS_SIZE,
      rootWord: this.spans.cacheRoot,
      budgetBytes: midCacheBudget(arena.maxBytes),
      classBytes: midCacheClassBytes(arena.maxBytes),
    });
    this.records = this.cache.records;
    this.owned = this.spans.owned;
    arena.refresh();
    this.i32v = arena.i32;
  }

  /** The fast paths' view made the arena's current one. */
  private midSyncViews(): void {
    const arena = this.arena;
    arena.refresh();
    this.i32v = arena.i32;
  }

  // ───────────────────────────── malloc ─────────────────────────────

  /**
   * A block of at least `size` bytes (0 ≤ size ≤ 32768; 0 gives the 16 B class); 0 when maxBytes
   * cannot hold it. The fast path pops the head of this thread's cache of the class. Strict:
   * the head must lie in a span of this class that this thread owns, on its grid below the carve
   * mark, and must not be live (else a write after free broke the list: ERR_HEAP_CORRUPTED,
   * nothing handed out); then its alloc bit is set.
   */
  malloc(size: number): number {
    if (!(size >= 0 && size <= Mid.Max)) return this.midInvalidSize(size);
    const cls = this.classBySize16[(size + 15) >>> 4]!;
    return this.strict ? this.midMallocStrict(cls) : this.midMallocFast(cls);
  }

  /** Fast mode: pop the head of the class's cache. */
  private midMallocFast(cls: number): number {
    // Record indexes as `(… + …) | 0`: no overflow check (docs/architecture.md, the fast-path
    // rules; h + Cc.Head is h + 0 and needs none).
    const h = (this.records + (cls << Mid.CcShift)) | 0;
    const i32 = this.i32v;
    // One view: a pointer is the word's bits as a u32 (`>>> 0`; undefined, from a view a replaced
    // buffer detached, gives 0). `!(p > 0)`: an empty list or a detached view: the slow path.
    const p = i32[h + Cc.Head]! >>> 0;
    if (!(p > 0)) return this.midMallocSlow(cls);
    i32[h + Cc.Head] = i32[p >>> 2]!;
    i32[(h + Cc.Count) | 0]!--;
    i32[(h + Cc.Hits) | 0]!++;
    i32[(h + Cc.Live) | 0]!++;
    return p;
  }

  /** Strict mode: the head must be a free carved block of a span of this class that this thread owns; its alloc bit is set. */
  private midMallocStrict(cls: number): number {
    const h = (this.records + (cls << Mid.CcShift)) | 0;
    const i32 = this.i32v;
    const p = i32[h + Cc.Head]! >>> 0; // one view: see midMallocFast
    if (!(p > 0)) return this.midMallocSlow(cls);
    const o = (p >>> 16) << 1;
    const owned = this.owned;
    const d = owned[o]!;
    if (owned[o + 1] !== cls || !(d > 0)) return this.midMallocRecheck(p, cls);
    // Block index by exact division (size = odd × 2^shift): > 4096 unless a block start.
    const x = Math.imul(p - (i32[d + Sp.Start]! >>> 0), i32[d + Sp.Inv]!);
    const idx = (x >>> i32[d + Sp.Shift]!) | (x << -i32[d + Sp.Shift]!);
    const w = i32[d + Sp.Bitmap]! + ((idx >>> 5) << 1);
    const bits = i32[w]!;
    if (idx >>> 0 >= i32[d + Sp.Carved]! || (bits & (1 << idx)) !== 0) return this.midMallocRecheck(p, cls);
    i32[w] = bits | (1 << idx);
    i32[h + Cc.Head] = i32[p >>> 2]!;
    i32[(h + Cc.Count) | 0]!--;
    i32[(h + Cc.Hits) | 0]!++;
    i32[(h + Cc.Live) | 0]!++;
    return p;
  }

  /**
   * A block aligned to `alignment` (a power of two ≤ 65536): the smallest class ≥ size that is
   * a multiple of it (spans start on 64 KiB, so all its blocks are aligned); 0 when no class is
   * (alignment 65536, or a size no aligned class holds) or out of memory.
   */
  mallocAligned(alignment: number, size: number): number {
    if (!(alignment >= 1 && alignment <= 65536 && (alignment & (alignment - 1)) === 0)) {
      throw new HakmemError(
        'ERR_INVALID_ALIGNMENT',
        `mid mallocAligned(${describeValue(alignment)}, ${describeValue(size)}): the alignment must be a power of two 1 … 65536`,
      );
    }
    if (!(size >= 0)) return this.midInvalidSize(size);
    const cls = midClassAligned(alignment, size);
    if (cls < 0) return 0;
    return this.strict ? this.midMallocStrict(cls) : this.midMallocFast(cls);
  }

  /**
   * The list of `cls` looked empty: refresh the views (they may have been detached), then take
   * the head, or refill the class from the spans (a miss is not counted as a hit).
   */
  private midMallocSlow(cls: number): number {
    const arena = this.arena;
    this.midSyncViews();
    if (this.records < 0) throw this.midDetached('malloc');
    const h = this.records + (cls << CC_SHIFT);
    if (arena.u32[h + CC_HEAD] !== 0) {
      return this.strict ? this.midMallocStrict(cls) : this.midMallocFast(cls);
    }
    const n = this.cache.cacheRefill(cls) || this.midRefillLast(cls);
    if (n === 0) return 0;
    // The refill may have grown the memory (a new span): the pop below reads its blocks.
    this.i32v = arena.i32;
    const p = this.strict ? this.midMallocStrict(cls) : this.midMallocFast(cls);
    arena.i32[h + CC_HITS]!--;
    return p;
  }

  /**
   * maxBytes reached: this thread's cached blocks of every class go back to their spans, empty
   * spans (its own and abandoned ones) back to the arena, and the refill is tried once more.
   */
  private midRefillLast(cls: number): number {
    this.trim();
    return this.cache.cacheRefill(cls);
  }

  /**
   * Strict: the cache head failed its quick validation. With a view older than the arena's, again
   * with the current one; else the full validation names the broken rule.
   */
  private midMallocRecheck(p: number, cls: number): number {
    const arena = this.arena;
    arena.refresh();
    if (this.i32v !== arena.i32) {
      this.i32v = arena.i32;
      return this.midMallocStrict(cls);
    }
    return this.midMallocCorrupt(p, cls);
  }

  /** Strict: the cache head failed its quick validation; the full one names the broken rule. */
  private midMallocCorrupt(p: number, cls: number): never {
    this.arena.refresh();
    this.spans.spanCheckListBlock(p, cls, 'handed out');
    throw new HakmemError(
      'ERR_HEAP_CORRUPTED',
      `free block ${p} of the ${MID_CLASS_SIZE[cls]} B cache is not in this thread's map of owned spans: not handed out`,
    );
  }

  private midInvalidSize(size: number): never {
    throw new HakmemError(
      'ERR_INVALID_SIZE',
      `mid malloc(${describeValue(size)}): the mid tier serves integer sizes 0 … ${MID_MAX_SIZE}`,
    );
  }

  private midDetached(op: string): HakmemError {
    return new HakmemError('ERR_INVALID_THREAD', `mid ${op}: this handle was detached`);
  }

  // ───────────────────────────── free ─────────────────────────────

  /**
   * Frees a block of this tier (this thread's, another thread's or an abandoned span's: those go
   * to the span's lock-free remote list). ERR_INVALID_POINTER / ERR_DOUBLE_FREE (strict: always)
   * with nothing changed.
   */
  free(ptr: number): void {
    const ok =
      typeof ptr === 'number' &&
      ptr >>> 0 === ptr &&
      (this.strict ? this.midFreeStrict(ptr) : this.midFreeFast(ptr));
    if (!ok) throw this.midNotMine('free', ptr);
  }

  /**
   * Frees `ptr` (a u32) and returns true when it lies in a mid span — this thread's (its private
   * map says so, no page map) or another thread's (the page map names this tier: the span's
   * remote list); false for anything else (another tier, outside the heap, this handle detached).
   */
  freeOwned(ptr: number): boolean {
    return this.strict ? this.midFreeStrict(ptr) : this.midFreeFast(ptr);
  }

  /** Fast mode: a block of a span this thread owns goes on its class's cache; everything else takes the one slow call site. */
  private midFreeFast(ptr: number): boolean {
    const o = (ptr >>> 16) << 1;
    const owned = this.owned;
    if (owned[o]! > 0) {
      const i32 = this.i32v;
      const h = (this.records + (owned[o + 1]! << Mid.CcShift)) | 0;
      const n = i32[(h + Cc.Count) | 0]!;
      if (n < i32[(h + Cc.Cap) | 0]!) {
        i32[ptr >>> 2] = i32[h + Cc.Head]!;
        i32[h + Cc.Head] = ptr;
        i32[(h + Cc.Count) | 0] = n + 1;
        i32[(h + Cc.Live) | 0]!--;
        return true;
      }
    }
    // `>>> 0`: a pointer read from a Float64Array arrives as a float; the slow path gets a small integer.
    return this.midFreeFastSlow(ptr >>> 0);
  }

  /** Fast mode, off the fast path: the cache is full (spill), the views are stale, or the block is not this thread's. */
  private midFreeFastSlow(ptr: number): boolean {
    this.midSyncViews();
    const o = (ptr >>> 16) << 1;
    const d = this.owned[o]!;
    if (!(d > 0)) return this.midFreeNotOwned(ptr);
    this.midFreeSlow(ptr, this.owned[o + 1]!, 0, 0);
    return true;
  }

  /**
   * Strict mode: the block must be a carved block start and live (alloc bit set, no remote free
   * pending); its alloc bit is cleared. Anything else takes the one slow call site.
   */
  private midFreeStrict(ptr: number): boolean {
    const o = (ptr >>> 16) << 1;
    const owned = this.owned;
    const d = owned[o]!;
    if (d > 0) {
      const i32 = this.i32v;
      const x = Math.imul(ptr - (i32[d + Sp.Start]! >>> 0), i32[d + Sp.Inv]!);
      const idx = (x >>> i32[d + Sp.Shift]!) | (x << -i32[d + Sp.Shift]!);
      const w = i32[d + Sp.Bitmap]! + ((idx >>> 5) << 1);
      const bits = i32[w]!;
      const h = (this.records + (owned[o + 1]! << Mid.CcShift)) | 0;
      const n = i32[(h + Cc.Count) | 0]!;
      // One test for: a carved block start, live, no remote free pending, room in the cache.
      if (
        !(
          idx >>> 0 >= i32[d + Sp.Carved]! ||
          ((bits ^ (1 << idx)) | i32[w + 1]!) & (1 << idx) ||
          !(n < i32[(h + Cc.Cap) | 0]!)
        )
      ) {
        i32[w] = bits ^ (1 << idx);
        i32[ptr >>> 2] = i32[h + Cc.Head]!;
        i32[h + Cc.Head] = ptr;
        i32[(h + Cc.Count) | 0] = n + 1;
        i32[(h + Cc.Live) | 0]!--;
        return true;
      }
    }
    return this.midFreeStrictSlow(ptr >>> 0);
  }

  /** Strict free off the fast path: another thread's block, a rejected one (invalid pointer, double free), a full cache, or stale views. */
  private midFreeStrictSlow(ptr: number): boolean {
    this.midSyncViews();
    const o = (ptr >>> 16) << 1;
    const d = this.owned[o]!;
    if (!(d > 0)) return this.midFreeNotOwned(ptr);
    const spans = this.spans;
    const idx = spans.spanBlockIndex(d, ptr);
    if (idx < 0) throw spans.spanNotBlock('free', ptr, d);
    const i32 = this.arena.i32;
    const w = i32[d + SP_BITMAP]! + ((idx >>> 5) << 1);
    const bit = 1 << (idx & 31);
    if ((i32[w]! & bit) === 0 || (i32[w + 1]! & bit) !== 0) {
      throw new HakmemError(
        'ERR_DOUBLE_FREE',
        `free(${ptr}): block ${idx} of its ${MID_CLASS_SIZE[i32[d + SP_CLASS]!]} B span is not live (freed before, or its free by another thread is pending)`,
      );
    }
    this.midFreeSlow(ptr, this.owned[o + 1]!, w, bit);
    return true;
  }

  /** A block not in this thread's spans: false unless the page map names this tier (and this handle is attached). */
  private midFreeNotOwned(ptr: number): boolean {
    if (this.records < 0) return false;
    const arena = this.arena;
    const entry = arena.pageEntry(ptr);
    if (entry < 0 || (arena.u32[entry + PM_TIER]! & PM_TIER_MASK) !== this.id) return false;
    this.midFreeRemote(ptr, arena.u32[entry + PM_DESC]! >>> 2);
    return true;
  }

  /** A block of this thread's span when the cache may be full: spill (or grow) first, then push. `w`/`bit`: the alloc bit to clear in strict mode. */
  private midFreeSlow(ptr: number, cls: number, w: number, bit: number): void {
    const h = this.records + (cls << CC_SHIFT);
    if (!(this.arena.i32[h + CC_COUNT]! < this.arena.i32[h + CC_CAP]!)) this.cache.cacheSpill(cls);
    const i32 = this.arena.i32;
    const u32 = this.arena.u32;
    if (bit !== 0) i32[w] = i32[w]! & ~bit;
    u32[ptr >>> 2] = u32[h + CC_HEAD]!;
    i32[h + CC_HEAD] = ptr;
    i32[h + CC_COUNT]!++;
    i32[h + CC_LIVE]!--;
  }

  /** A block of another thread's span (or of an abandoned one): its span's remote list. */
  private midFreeRemote(ptr: number, d: number): void {
    const cls = this.spans.spanFreeRemote(ptr, d);
    this.arena.i32[this.records + (cls << CC_SHIFT) + CC_LIVE]!--;
  }

  /** The error for a pointer that is not in this tier's pages (or a detached handle). */
  private midNotMine(op: string, ptr: number): HakmemError {
    if (this.records < 0) return this.midDetached(`${op}(${describeValue(ptr)})`);
    return new HakmemError(
      'ERR_INVALID_POINTER',
      `mid ${op}(${describeValue(ptr)}): not a block of the mid tier (its blocks live in pages of tier ${this.id})`,
    );
  }

  /** Usable bytes of the block at `ptr`: its class size. ERR_INVALID_POINTER unless a block start of this tier (strict: a live one). */
  usableSize(ptr: number): number {
    const arena = this.arena;
    const entry = typeof ptr === 'number' && ptr >>> 0 === ptr ? arena.pageEntry(ptr) : -1;
    if (entry < 0 || (arena.u32[entry + PM_TIER]! & PM_TIER_MASK) !== this.id) {
      throw this.midNotMine('usableSize', ptr);
    }
    return this.spans.spanUsableSize(ptr, arena.u32[entry + PM_DESC]! >>> 2);
  }

  /** In place when the block's class still holds `size` within the usableSize bound. */
  resize(ptr: number, size: number): boolean {
    const old = this.usableSize(ptr);
    return size >= 0 && size <= old && old <= usableBound(size);
  }

  // ───────────────────────────── whole-tier operations ─────────────────────────────

  /** This thread's cached blocks back to their spans. */
  flush(): void {
    this.cache.cacheFlush();
  }

  /**
   * The thread is leaving: its cache is flushed and released, its spans go back to the arena
   * (empty) or become adoptable. Call arena.threadRelease afterwards. The object is unusable after.
   */
  detach(): void {
    if (this.records < 0) return;
    this.cache.cacheRelease();
    this.spans.spanDetach();
    this.records = DETACHED;
  }

  /** A dead or terminated thread: its cached blocks and spans return to the heap (blocks it held in flight stay used). */
  reclaim(threadId: number): void {
    if (threadId === this.threadId) {
      throw new HakmemError('ERR_INVALID_THREAD', `reclaim(${threadId}): that is this thread; use detach()`);
    }
    spansReclaimBegin(this.spans, threadId);
    this.cache.cacheReclaim(threadId);
    spansReclaimEnd(this.spans, threadId);
  }

  /** Flushes this thread's cache, then gives empty spans (this thread's, and abandoned ones) back to the arena; returns the bytes given back. */
  trim(): number {
    const before = this.spans.releasedBytes;
    if (this.records >= 0) this.flush();
    spansTrim(this.spans);
    return this.spans.releasedBytes - before;
  }

  /** Validates every span, list, bitmap and cache list, the registry and the page map of the tier, and the live counters against the spans. */
  check(): void {
    this.spans.checkBegin();
    this.cache.cacheCheck();
    const live = spansCheck(this.spans);
    const stats = this.cache.cacheStats();
    for (let cls = 0; cls < MID_CLASS_COUNT; cls++) {
      if (stats[cls]!.live !== live[cls]) {
        throw new HakmemError(
          'ERR_HEAP_CORRUPTED',
          `mid class ${MID_CLASS_SIZE[cls]} B: the threads count ${stats[cls]!.live} live blocks, the spans hold ${live[cls]}`,
        );
      }
    }
  }

  /** Heap-wide figures of the tier (exact when quiescent). */
  stats(): MidStats {
    const cacheStats = this.cache.cacheStats();
    const span: SpanStats = spanStats(this.spans);
    let liveBlocks = 0;
    let liveBytes = 0;
    const classes = cacheStats.map((c, cls) => {
      liveBlocks += c.live;
      liveBytes += c.live * c.size;
      return {
        size: c.size,
        liveBlocks: c.live,
        cachedBlocks: c.cached,
        capacity: c.capacity,
        hits: c.hits,
        misses: c.misses,
        spans: span.classes[cls]!.spans,
      };
    });
    return {
      liveBlocks,
      liveBytes,
      spans: span.spans,
      pages: span.pages,
      abandonedSpans: span.abandonedSpans,
      spareSpans: span.spareSpans,
      registryCapacity: span.registryCapacity,
      classes,
    };
  }

  /** Fraction of a span's bytes in blocks out of it (live, in a thread cache, or remote-pending). */
  occupancy(offset: number, pages: number): number {
    const arena = this.arena;
    arena.refresh();
    const entry = arena.pageEntry(offset);
    if (entry < 0 || (arena.u32[entry + PM_TIER]! & PM_TIER_MASK) !== this.id || !(pages > 0)) return 0;
    const d = arena.u32[entry + PM_DESC]! >>> 2;
    if (d === 0) return 0;
    const i32 = arena.i32;
    const size = MID_CLASS_SIZE[i32[d + SP_CLASS]!] ?? 0;
    return Math.min(1, (i32[d + SP_USED]! * size) / (Math.max(pages, i32[d + SP_PAGES]!) * PAGE_SIZE));
  }
}

/** The mid tier for compositions: `{ tier: midTier }` (sizes up to 32 KiB). */
export const midTier: TierFactory<MidTier> = {
  kind: MID_KIND,
  sizeLimit: MID_MAX_SIZE,
  rootWords: ROOT_WORDS,
  layoutVersion: MID_LAYOUT_VERSION,
  create(arena: Arena, id: number): MidTier {
    return new MidTier(arena, id);
  },
};

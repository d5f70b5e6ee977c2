import {
  type Arena,
  HakmemError,
  PAGE_SIZE,
  PM_DESC,
  PM_TIER,
  PM_TIER_MASK,
  TIER_FREE,
  type Tier,
  type TierFactory,
} from '@hakmem/page-arena';
import {
  areaEnsure,
  blockLocate,
  cacheFlush,
  cacheReclaim,
  cacheRefill,
  cacheSpill,
  releaseEmptySpans,
} from './cache';
import { type L25Stats, tierCheck, tierOccupancy, tierStats } from './check';
import {
  Bs,
  Cr,
  cacheBudgetOf,
  DETACHED,
  GROW_ROOM,
  KEEP_EMPTY_PAGES,
  L25_LAYOUT_VERSION,
  Limit,
  ROOT_WORDS,
  Shift,
  SlotWord,
  Sp,
  Ta,
  Tw,
} from './layout';
import { shardEnsure } from './shards';
import {
  L25_CLASS_SIZE,
  L25_CLASS_SLOTS,
  L25_KIND,
  L25_MAX_SIZE,
  L25_MIN_SIZE,
  l25ClassAligned,
  l25ClassOf,
  l25PagesOf,
  l25UsableBound,
  SPAN_MAX_PAGES,
} from './size-classes';
import { descCacheFree, spanFree, spanGrow, spanSoloMake } from './spans';

/** The smallest class a growing block gets a span of its own (and room) for: 32 KiB. */
const GROW_MIN_CLASS = l25ClassOf(32 * 1024);

/** Page-map words the fast paths read, inlined as literals; pinned to @hakmem/page-arena's below. */
const enum Pm {
  Tier = 0,
  Desc = 3,
  TierMask = 0xff,
}
if (Pm.Tier !== PM_TIER || Pm.Desc !== PM_DESC || Pm.TierMask !== PM_TIER_MASK) {
  throw new Error('l25-pool: the inlined page-map offsets differ from @hakmem/page-arena');
}

/**
 * The L2.5 tier (32 KiB – 1 MiB; any size up to 1 MiB it is routed) as one thread sees it, a
 * complete tier on the `Tier` contract of @hakmem/page-arena. Create one per thread after
 * `arena.threadAttach()`; pass the tier id a composition got from `arena.tierOpen`, or none for
 * the heap's 'l25' tier (opened with sizes 32769 … 1048576 when the heap has none).
 *
 * Blocks of 60 size classes are carved from spans (runs of 1 … 16 pages); spans live in shards,
 * one per thread id, each with its own lock; a per-thread cache of a few blocks per class sits in
 * front. The fast paths (`malloc` from the cache, `free` of a block this thread handed out into a
 * cache with room) use plain loads and stores in the thread's area: no Atomics, no lock, no
 * allocation. Strict mode keeps a state word per block (free / cached by thread t / handed out by
 * thread t), out of band, so a double free, a pointer that is not a live block start or a
 * corrupted cache slot is caught in O(1) with nothing changed.
 */
export class L25Tier implements Tier {
  readonly arena: Arena;
  readonly strict: boolean;
  readonly threadId: number;
  readonly id: number;
  readonly kind = L25_KIND;
  readonly minSize: number;
  readonly maxSize: number;
  /** @internal i32 index of the tier root. */
  readonly root: number;
  /** @internal This thread's home shard: its index (thread id − 1) and i32 index. */
  readonly homeIndex: number;
  /** @internal */
  readonly home: number;
  /** @internal i32 index of this thread's area (DETACHED after detach). */
  area: number;
  /** @internal i32 index of class 0's cache record: `records + (cls << Shift.Record)`. */
  records: number;
  /** @internal Strict block states naming this thread: handed out by it, in its cache. */
  readonly liveTag: number;
  /** @internal */
  readonly cachedTag: number;
  /** @internal Bytes of spans this handle returned to the arena (trim reports the difference). */
  releasedBytes = 0;
  /** @internal Bytes this thread's cache may hold (a share of maxBytes, see cacheBudgetOf). */
  readonly cacheBudget: number;
  /** @internal Pages of empty spans a shard keeps: KEEP_EMPTY_PAGES and what a thread's cache may hold. */
  readonly keepPages: number;
  /** @internal Out-parameters of blockLocate: span descriptor, block index. */
  readonly scratch: Int32Array = new Int32Array(2);

  constructor(arena: Arena, id?: number) {
    if (!(arena.threadId >= 1)) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `L25Tier needs an attached thread (threadId ${arena.threadId}): call arena.threadAttach() first`,
      );
    }
    this.arena = arena;
    this.strict = arena.strict;
    this.threadId = arena.threadId;
    this.cacheBudget = cacheBudgetOf(arena.maxBytes);
    this.keepPages = KEEP_EMPTY_PAGES + Math.floor(this.cacheBudget / PAGE_SIZE);
    arena.refresh();
    const tierId =
      id ??
      (arena.tierFind(L25_KIND, L25_LAYOUT_VERSION) ||
        arena.tierOpen(L25_KIND, L25_MIN_SIZE, L25_MAX_SIZE, ROOT_WORDS, L25_LAYOUT_VERSION));
    const info = arena.tierExpect(tierId, L25_KIND, L25_LAYOUT_VERSION, 'L25Tier');
    if (info.kind !== L25_KIND || info.maxSize > L25_MAX_SIZE) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `L25Tier: tier ${tierId} is a '${info.kind}' tier of sizes ${info.minSize}..${info.maxSize}, not an L2.5 tier (≤ ${L25_MAX_SIZE})`,
      );
    }
    this.id = tierId;
    this.minSize = info.minSize;
    this.maxSize = info.maxSize;
    this.root = info.root;
    // The directory and shard locks are not registered with the arena (R.LockReg stays 0): a
    // reclaim takes a dead holder's lock over and repairs before unlocking (layout.ts).
    this.liveTag = (this.threadId << Shift.Tid) | Bs.Live;
    this.cachedTag = (this.threadId << Shift.Tid) | Bs.Cached;
    this.homeIndex = this.threadId - 1;
    this.home = shardEnsure(this, this.homeIndex);
    this.area = areaEnsure(this);
    this.records = this.area + Ta.Header;
    arena.refresh();
  }

  // ───────────────────────────── malloc ─────────────────────────────

  /**
   * A block of at least `size` bytes (an integer 0 … maxSize), 16-byte aligned; 0 when maxBytes
   * cannot hold it. The fast path pops this thread's cache of the class; strict mode first checks
   * that the slot names a block of the class that this thread's cache holds (else
   * ERR_HEAP_CORRUPTED, nothing handed out), then marks it handed out.
   */
  malloc(size: number): number {
    if (!(size >>> 0 === size && size <= this.maxSize)) return this.invalidSize(size);
    let cls: number;
    if (size <= 128) {
      cls = size <= 16 ? 0 : ((size + 15) >>> 4) - 1;
    } else {
      const e = 31 - Math.clz32(size - 1);
      cls = ((e - 5) << 2) + (((size - 1) >>> (e - 2)) & 3);
    }
    return this.strict ? this.mallocStrict(cls) : this.mallocFast(cls);
  }

  /** Fast mode: the top slot of the class's cache. */
  private mallocFast(cls: number): number {
    // The fast paths index as `(… + …) | 0`: no overflow check (docs/architecture.md, the
    // fast-path rules).
    const h = (this.records + (cls << Shift.Record)) | 0;
    const arena = this.arena;
    const i32 = arena.i32;
    const n = i32[(h + Cr.Count) | 0]!;
    // `!(n > 0)`: an empty cache, a detached handle, or views a replaced buffer detached.
    if (!(n > 0)) return this.mallocSlow(cls);
    const p = arena.u32[(i32[(h + Cr.Slots) | 0]! + n - 1) | 0]!;
    i32[(h + Cr.Count) | 0] = n - 1;
    const ta = (this.area + Ta.CachedBytes) | 0;
    i32[ta] = i32[ta]! - i32[(h + Cr.Size) | 0]!;
    return p;
  }

  /**
   * Strict mode: the top slot's block must be a carved block start of the class, cached by this
   * thread, in the span its descriptor word names (layout.ts, slot descriptors): a free's checks
   * without the page map.
   */
  private mallocStrict(cls: number): number {
    const h = (this.records + (cls << Shift.Record)) | 0;
    const arena = this.arena;
    const i32 = arena.i32;
    const n = i32[(h + Cr.Count) | 0]!;
    if (!(n > 0)) return this.mallocSlow(cls);
    const u32 = arena.u32;
    const slot = (i32[(h + Cr.Slots) | 0]! + n - 1) | 0;
    const p = u32[slot]!;
    const d = i32[(slot + SlotWord.Desc) | 0]!;
    const x = Math.imul(p - u32[(d + Sp.Start) | 0]!, i32[(d + Sp.Inv) | 0]!);
    const s = i32[(d + Sp.Shift) | 0]!;
    const idx = (x >>> s) | (x << -s);
    // idx >>> 0 below Carved: a block start (else ≥ 2^12); state read only then (in bounds).
    if (
      !(
        d > 0 &&
        idx >>> 0 < i32[(d + Sp.Carved) | 0]! &&
        i32[(d + Sp.Class) | 0] === cls &&
        i32[(d + Sp.Header + idx) | 0] === this.cachedTag
      )
    ) {
      return this.mallocStrictSlow(cls);
    }
    i32[(d + Sp.Header + idx) | 0] = this.liveTag;
    i32[(h + Cr.Count) | 0] = n - 1;
    const ta = (this.area + Ta.CachedBytes) | 0;
    i32[ta] = i32[ta]! - i32[(h + Cr.Size) | 0]!;
    return p;
  }

  /** Strict: the top slot failed its checks with these views: again with fresh ones (a span made in memory grown since), else ERR_HEAP_CORRUPTED. */
  private mallocStrictSlow(cls: number): number {
    const arena = this.arena;
    arena.refresh();
    const i32 = arena.i32;
    const h = this.records + (cls << Shift.Record);
    const n = i32[h + Cr.Count]!;
    const slot = i32[h + Cr.Slots]! + n - 1;
    const p = arena.u32[slot]!;
    const d = i32[slot + SlotWord.Desc]!;
    const where = this.scratch;
    if (
      !(
        blockLocate(this, p, where) &&
        where[0] === d &&
        i32[d + Sp.Class] === cls &&
        i32[d + Sp.Header + where[1]!] === this.cachedTag
      )
    ) {
      return this.mallocCorrupt(p, cls, d);
    }
    i32[d + Sp.Header + where[1]!] = this.liveTag;
    i32[h + Cr.Count] = n - 1;
    const ta = this.area + Ta.CachedBytes;
    i32[ta] = i32[ta]! - i32[h + Cr.Size]!;
    return p;
  }

  /** A block aligned to `alignment` (a power of two ≤ 65536): the smallest class that is a multiple of it; 0 if none or out of memory. */
  mallocAligned(alignment: number, size: number): number {
    if (!(size >>> 0 === size && size <= this.maxSize)) return this.invalidSize(size);
    if (
      !(
        alignment >>> 0 === alignment &&
        alignment >= 1 &&
        alignment <= 65536 &&
        (alignment & (alignment - 1)) === 0
      )
    ) {
      throw new HakmemError(
        'ERR_INVALID_ALIGNMENT',
        `l25 mallocAligned(${describeValue(alignment)}, ${size}): alignments are powers of two 1 … 65536`,
      );
    }
    const cls = l25ClassAligned(alignment, size);
    if (cls < 0) return 0;
    return this.strict ? this.mallocStrict(cls) : this.mallocFast(cls);
  }

  /** The cache of `cls` looked empty: refresh the views, then refill it (0: out of memory). */
  private mallocSlow(cls: number): number {
    const arena = this.arena;
    arena.refresh();
    if (this.records === DETACHED) throw this.detachedError('malloc');
    const h = this.records + (cls << Shift.Record);
    if (!(arena.i32[h + Cr.Count]! > 0) && cacheRefill(this, cls) === 0) return 0;
    return this.strict ? this.mallocStrict(cls) : this.mallocFast(cls);
  }

  /** Strict: the cache slot failed its check (a stray write into the area?): nothing is handed out. */
  private mallocCorrupt(p: number, cls: number, d: number): never {
    const where = this.scratch;
    const what = !blockLocate(this, p, where)
      ? 'not a carved block start of this tier'
      : where[0] !== d
        ? `a block of the span at descriptor ${where[0]}, while the slot names descriptor ${d}`
        : this.arena.i32[d + Sp.Class] !== cls
          ? `a block of the ${this.arena.i32[d + Sp.Size]} B class`
          : `a block in state ${this.arena.i32[d + Sp.Header + where[1]!]}, not in this thread's cache`;
    throw new HakmemError(
      'ERR_HEAP_CORRUPTED',
      `l25: thread ${this.threadId}'s cache of the ${L25_CLASS_SIZE[cls]} B class holds ${p}, ${what}: not handed out`,
    );
  }

  private invalidSize(size: number): never {
    throw new HakmemError(
      'ERR_INVALID_SIZE',
      `l25 malloc(${describeValue(size)}): the L2.5 tier serves integer sizes 0 … ${this.maxSize}`,
    );
  }

  // ───────────────────────────── free ─────────────────────────────

  /**
   * Frees a block of this tier (any thread's). ERR_INVALID_POINTER / ERR_DOUBLE_FREE (strict:
   * always) with nothing changed.
   */
  free(ptr: number): void {
    const ok = typeof ptr === 'number' && ptr >>> 0 === ptr && this.freeOwned(ptr);
    if (!ok) throw this.notMine('free', ptr);
  }

  /** free for a caller that has looked `ptr` up: `e` is its page-map entry (see the Tier contract). */
  freeAt(ptr: number, e: number): void {
    if (!this.freeEntry(ptr, e)) throw this.notMine('free', ptr);
  }

  /**
   * The umbrella's first try on every free (`ptr` a u32): frees it and returns true when the page
   * map names this tier for its page; false for anything else (another tier, outside the heap, a
   * detached handle), which the caller routes or reports.
   */
  freeOwned(ptr: number): boolean {
    return this.freeEntry(ptr, this.arena.pageEntry(ptr));
  }

  /** freeOwned with `ptr`'s page-map entry `e` already read: the mode's free. */
  private freeEntry(ptr: number, e: number): boolean {
    return this.strict ? this.freeStrict(ptr, e) : this.freeFast(ptr, e);
  }

  /**
   * Strict: a live block start this thread handed out goes on its cache when there is room
   * (count and byte budget). Everything else takes the one slow call site.
   */
  private freeStrict(ptr: number, e: number): boolean {
    const arena = this.arena;
    const u32 = arena.u32;
    const i32 = arena.i32;
    if (e >= 0 && (u32[(e + Pm.Tier) | 0]! & Pm.TierMask) === this.id) {
      const d = u32[(e + Pm.Desc) | 0]! >>> 2;
      const x = Math.imul(ptr - u32[(d + Sp.Start) | 0]!, i32[(d + Sp.Inv) | 0]!);
      const s = i32[(d + Sp.Shift) | 0]!;
      const idx = ((x >>> s) | (x << -s)) >>> 0;
      const st = (d + Sp.Header + idx) | 0;
      const h = (this.records + (i32[(d + Sp.Class) | 0]! << Shift.Record)) | 0;
      const n = i32[(h + Cr.Count) | 0]!;
      const ta = (this.area + Ta.CachedBytes) | 0;
      const bytes = i32[ta]! + i32[(h + Cr.Size) | 0]!;
      // One test for: a carved block start this thread handed out, room in the cache.
      if (
        d > 0 &&
        idx < i32[(d + Sp.Carved) | 0]! &&
        i32[st] === this.liveTag &&
        n < i32[(h + Cr.Cap) | 0]! &&
        bytes <= this.cacheBudget
      ) {
        const slot = (i32[(h + Cr.Slots) | 0]! + n) | 0;
        i32[st] = this.cachedTag;
        i32[slot] = ptr;
        i32[(slot + SlotWord.Desc) | 0] = d;
        i32[(h + Cr.Count) | 0] = n + 1;
        i32[ta] = bytes;
        return true;
      }
    }
    // `>>> 0`: a pointer read from a Float64Array arrives as a double; the slow path gets one type.
    return this.freeStrictSlow(ptr >>> 0);
  }

  /** Strict, off the fast path: the cache is full, another thread's block, stale views, or a rejected pointer. */
  private freeStrictSlow(ptr: number): boolean {
    this.arena.refresh();
    if (this.records === DETACHED || !this.locate(ptr, 'free')) return false;
    const d = this.scratch[0]!;
    const idx = this.scratch[1]!;
    const state = this.arena.i32[d + Sp.Header + idx]!;
    // Handed out by this thread (cache full) or by another (a remote free): back to the span.
    if ((state & Bs.KindMask) !== Bs.Live) throw this.doubleFree(ptr, d, idx, state);
    if (state === this.liveTag && this.cacheMakeRoom(d)) {
      // Views and the cache record are the ones cacheMakeRoom read: room for one more.
      const i32 = this.arena.i32;
      const h = this.records + (i32[d + Sp.Class]! << Shift.Record);
      const n = i32[h + Cr.Count]!;
      const ta = this.area + Ta.CachedBytes;
      const slot = i32[h + Cr.Slots]! + n;
      i32[d + Sp.Header + idx] = this.cachedTag;
      i32[slot] = ptr;
      i32[slot + SlotWord.Desc] = d;
      i32[h + Cr.Count] = n + 1;
      i32[ta] = i32[ta]! + i32[h + Cr.Size]!;
      return true;
    }
    const r = spanFree(this, d, idx, state, 0, 0);
    if (r === -1) throw this.doubleFree(ptr, d, idx, this.arena.i32[d + Sp.Header + idx]!);
    if (r === -2) throw this.spanOverfull(ptr, d);
    return true;
  }

  /** Fast mode: any block start of this tier goes on this thread's cache when there is room. */
  private freeFast(ptr: number, e: number): boolean {
    const arena = this.arena;
    const u32 = arena.u32;
    const i32 = arena.i32;
    if (e >= 0 && (u32[(e + Pm.Tier) | 0]! & Pm.TierMask) === this.id) {
      const d = u32[(e + Pm.Desc) | 0]! >>> 2;
      const x = Math.imul(ptr - u32[(d + Sp.Start) | 0]!, i32[(d + Sp.Inv) | 0]!);
      const s = i32[(d + Sp.Shift) | 0]!;
      const h = (this.records + (i32[(d + Sp.Class) | 0]! << Shift.Record)) | 0;
      const n = i32[(h + Cr.Count) | 0]!;
      const ta = (this.area + Ta.CachedBytes) | 0;
      const bytes = i32[ta]! + i32[(h + Cr.Size) | 0]!;
      if (
        d > 0 &&
        ((x >>> s) | (x << -s)) >>> 0 < i32[(d + Sp.Carved) | 0]! &&
        n < i32[(h + Cr.Cap) | 0]! &&
        bytes <= this.cacheBudget
      ) {
        i32[(i32[(h + Cr.Slots) | 0]! + n) | 0] = ptr;
        i32[(h + Cr.Count) | 0] = n + 1;
        i32[ta] = bytes;
        return true;
      }
    }
    return this.freeFastSlow(ptr >>> 0);
  }

  /** Fast mode, off the fast path: the cache is full, stale views, or not a block of this tier. */
  private freeFastSlow(ptr: number): boolean {
    this.arena.refresh();
    if (this.records === DETACHED || !this.locate(ptr, 'free')) return false;
    const d = this.scratch[0]!;
    const idx = this.scratch[1]!;
    if (this.cacheMakeRoom(d)) {
      const i32 = this.arena.i32;
      const h = this.records + (i32[d + Sp.Class]! << Shift.Record);
      const n = i32[h + Cr.Count]!;
      const ta = this.area + Ta.CachedBytes;
      i32[i32[h + Cr.Slots]! + n] = ptr;
      i32[h + Cr.Count] = n + 1;
      i32[ta] = i32[ta]! + i32[h + Cr.Size]!;
      return true;
    }
    if (spanFree(this, d, idx, 0, 0, 0) !== 0) throw this.spanOverfull(ptr, d);
    return true;
  }

  /**
   * A free found the cache of span `d`'s class full (or the views stale): true when it has room
   * for one more block now — after the class's GrowOverflows-th overflow with no refill between,
   * its capacity grows fourfold (up to its slots) while the thread's cache is within its byte
   * budget. Otherwise half the class's cached blocks go back to their spans (a batch, one shard
   * lock per shard) and false: the block goes back to its span too.
   */
  private cacheMakeRoom(d: number): boolean {
    const i32 = this.arena.i32;
    const cls = i32[d + Sp.Class]!;
    const h = this.records + (cls << Shift.Record);
    const n = i32[h + Cr.Count]!;
    const cap = i32[h + Cr.Cap]!;
    const size = i32[h + Cr.Size]!;
    const fits = i32[this.area + Ta.CachedBytes]! + size <= this.cacheBudget;
    if (n < cap && fits) return true;
    // Grows for a class whose frees overflow the cache again and again with no refill between
    // (a batch of frees): a mixed workload, whose mallocs refill a class now and then, does not.
    const overflows = i32[h + Cr.Overflows]! + 1;
    i32[h + Cr.Overflows] = overflows;
    if (fits && n >= cap && cap < L25_CLASS_SLOTS[cls]! && overflows >= Limit.GrowOverflows) {
      i32[h + Cr.Cap] = Math.min(L25_CLASS_SLOTS[cls]!, cap * 4);
      i32[h + Cr.Overflows] = 0;
      return true;
    }
    if (n > 0) cacheSpill(this, cls, h, (n + 1) >>> 1);
    return false;
  }

  /**
   * Fills `scratch` with the span and block index of `ptr`: false when its page is not this tier's;
   * ERR_INVALID_POINTER when it is, but `ptr` is not a carved block start.
   */
  private locate(ptr: number, op: string): boolean {
    const arena = this.arena;
    const e = arena.pageEntry(ptr);
    if (e < 0 || (arena.u32[e + PM_TIER]! & PM_TIER_MASK) !== this.id) return false;
    if (blockLocate(this, ptr, this.scratch)) return true;
    const d = arena.u32[e + PM_DESC]! >>> 2;
    if (d === 0) {
      throw new HakmemError('ERR_INVALID_POINTER', `l25 ${op}(${ptr}): its pages hold no blocks yet`);
    }
    const i32 = arena.i32;
    const start = arena.u32[d + Sp.Start]!;
    const size = i32[d + Sp.Size]!;
    throw new HakmemError(
      'ERR_INVALID_POINTER',
      `l25 ${op}(${ptr}): not a block start: its span at ${start} holds ${size} B blocks (offset ${ptr - start} is not a multiple of ${size} below ${i32[d + Sp.Carved]! * size})`,
    );
  }

  private doubleFree(ptr: number, d: number, idx: number, state: number): HakmemError {
    const kind = state & Bs.KindMask;
    const where =
      state === Bs.Free
        ? 'it is free in its span'
        : kind === Bs.Cached
          ? `it is in thread ${state >>> Shift.Tid}'s cache`
          : `its state word is ${state}`;
    return new HakmemError(
      'ERR_DOUBLE_FREE',
      `l25 free(${ptr}): block ${idx} of its ${this.arena.i32[d + Sp.Size]} B span is not live (freed before: ${where})`,
    );
  }

  private spanOverfull(ptr: number, d: number): HakmemError {
    return new HakmemError(
      this.strict ? 'ERR_HEAP_CORRUPTED' : 'ERR_DOUBLE_FREE',
      `l25 free(${ptr}): every carved block of its ${this.arena.i32[d + Sp.Size]} B span at ${this.arena.u32[d + Sp.Start]} is free already`,
    );
  }

  private detachedError(op: string): HakmemError {
    return new HakmemError('ERR_INVALID_THREAD', `l25 ${op}: this handle was detached`);
  }

  /** The error for a pointer that is not a block of this tier (or a detached handle). */
  private notMine(op: string, ptr: number): HakmemError {
    if (this.records === DETACHED) return this.detachedError(op);
    const arena = this.arena;
    const e = typeof ptr === 'number' && ptr >>> 0 === ptr ? arena.pageEntry(ptr) : -1;
    if (
      op === 'free' &&
      e >= 0 &&
      (arena.u32[e + PM_TIER]! & PM_TIER_MASK) === TIER_FREE &&
      ptr % PAGE_SIZE === 0
    ) {
      return new HakmemError(
        'ERR_DOUBLE_FREE',
        `l25 free(${ptr}): the pages at ${ptr} are free (already freed)`,
      );
    }
    return new HakmemError(
      'ERR_INVALID_POINTER',
      `l25 ${op}(${describeValue(ptr)}): not a block of the L2.5 tier (its blocks live in pages of tier ${this.id})`,
    );
  }

  /** Usable bytes of the block at `ptr`: its class size. ERR_INVALID_POINTER unless a block start of this tier (strict: a live one). */
  usableSize(ptr: number): number {
    if (!(typeof ptr === 'number' && ptr >>> 0 === ptr && this.locate(ptr, 'usableSize'))) {
      throw this.notMine('usableSize', ptr);
    }
    const i32 = this.arena.i32;
    const d = this.scratch[0]!;
    if (this.strict) {
      const state = i32[d + Sp.Header + this.scratch[1]!]!;
      if ((state & Bs.KindMask) !== Bs.Live) {
        throw new HakmemError(
          'ERR_INVALID_POINTER',
          `l25 usableSize(${ptr}): block ${this.scratch[1]} of its ${i32[d + Sp.Size]} B span is not live`,
        );
      }
    }
    return i32[d + Sp.Size]!;
  }

  /**
   * In place while the block's class holds `size` within the usableSize bound, or — growing — when
   * the block is alone in its span (a block a growing realloc moved, or of a class ≥ 256 KiB) and
   * the span has the pages or can take its free successor pages (arena.resizeRun): the block
   * becomes one of the larger class, bytes untouched. A growth that cannot stay in place (false)
   * prepares the block realloc's malloc takes next: on top of this thread's cache of the class,
   * a span of its own with room for GROW_ROOM × its size (an empty span of the home shard with
   * the most pages first), so the next steps stay in place.
   */
  resize(ptr: number, size: number): boolean {
    if (!(size >>> 0 === size)) this.invalidSize(size);
    const old = this.usableSize(ptr);
    if (size > this.maxSize) return false;
    if (size <= old) return old <= l25UsableBound(size);
    const cls = l25ClassOf(size);
    if (cls < GROW_MIN_CLASS) return false;
    const d = this.scratch[0]!;
    const solo = this.scratch[1] === 0 && this.arena.i32[d + Sp.Blocks] === 1;
    if (solo && spanGrow(this, d, cls)) return true;
    // A block that grew in a span of its own and must move now keeps growing: the most room.
    this.growTarget(cls, solo ? SPAN_MAX_PAGES * PAGE_SIZE : GROW_ROOM * L25_CLASS_SIZE[cls]!);
    return false;
  }

  /**
   * A realloc moves a block of another tier (the mid tier, below) up into this one: the block
   * it is about to malloc gets a span of its own with room to grow, so the next steps of the
   * growth stay in place instead of moving out of a shared span.
   */
  growHint(size: number): void {
    if (!(size >>> 0 === size && size >= this.minSize && size <= this.maxSize) || this.records === DETACHED)
      return;
    const cls = l25ClassOf(size);
    if (cls >= GROW_MIN_CLASS) this.growTarget(cls, GROW_ROOM * L25_CLASS_SIZE[cls]!);
  }

  /** Puts a block of `cls` with room to grow (`room` bytes) on top of this thread's cache of the class (when the cache and maxBytes have room). */
  private growTarget(cls: number, room: number): void {
    const arena = this.arena;
    arena.refresh();
    const i32 = arena.i32;
    const h = this.records + (cls << Shift.Record);
    const size = L25_CLASS_SIZE[cls]!;
    if (i32[this.area + Ta.CachedBytes]! + size > this.cacheBudget) return;
    const n = i32[h + Cr.Count]!;
    if (n >= i32[h + Cr.Cap]!) cacheSpill(this, cls, h, (n + 1) >>> 1);
    spanSoloMake(this, cls, Math.min(SPAN_MAX_PAGES, l25PagesOf(room)), h);
  }

  // ───────────────────────────── whole-tier operations ─────────────────────────────

  /** This thread's cached blocks back to their spans. */
  flush(): void {
    if (this.records === DETACHED) return;
    this.arena.refresh();
    cacheFlush(this);
  }

  /**
   * The thread is leaving: its cache goes back to the spans and its area is freed; its shard's
   * spans stay, for any thread to steal from (or for the next thread of its id). Call
   * arena.threadRelease afterwards; the object is unusable after.
   */
  detach(): void {
    if (this.records === DETACHED) return;
    this.flush();
    descCacheFree(this, this.area);
    const arena = this.arena;
    const word = arena.threadTierWords(this.id) + Tw.Area;
    const offset = Atomics.exchange(arena.i32, word, 0) >>> 0;
    if (offset !== 0) arena.metaFree(offset);
    this.records = DETACHED;
    this.area = DETACHED;
  }

  /** A dead or terminated thread (its locks broken by the caller): its cached blocks and in-flight spans return. */
  reclaim(threadId: number): void {
    if (threadId === this.threadId) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `l25 reclaim(${threadId}): that is this thread; use detach()`,
      );
    }
    if (this.records === DETACHED) throw this.detachedError('reclaim');
    cacheReclaim(this, threadId);
  }

  /** Flushes this thread's cache, then returns every empty span to the arena; the bytes returned. */
  trim(): number {
    if (this.records === DETACHED) return 0;
    const before = this.releasedBytes;
    this.flush();
    releaseEmptySpans(this);
    return this.releasedBytes - before;
  }

  /** Walks every shard, span, stack, state word and cache; ERR_HEAP_CORRUPTED naming a broken invariant. */
  check(): void {
    tierCheck(this);
  }

  /** Heap-wide figures (exact when every thread is quiescent). */
  stats(): L25Stats {
    return tierStats(this);
  }

  /** Fraction of a span's bytes in blocks out of it (live, or in a thread cache). */
  occupancy(offset: number, pages: number): number {
    return tierOccupancy(this, offset, pages);
  }
}

function describeValue(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeof value === 'bigint' ? `${value}n` : typeof value;
}

/** The L2.5 tier for compositions: `{ tier: l25Tier }` (sizes up to 1 MiB). */
export const l25Tier: TierFactory<L25Tier> = {
  kind: L25_KIND,
  sizeLimit: L25_MAX_SIZE,
  rootWords: ROOT_WORDS,
  layoutVersion: L25_LAYOUT_VERSION,
  create(arena: Arena, id: number): L25Tier {
    return new L25Tier(arena, id);
  },
};

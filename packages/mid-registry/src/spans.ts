import {
  type Arena,
  HakmemError,
  mutexLock,
  mutexUnlock,
  PAGE_SIZE,
  PM_DESC,
  PM_TIER,
  PM_TIER_MASK,
} from '@hakmem/page-arena';
import type { CacheBackend } from '@hakmem/tls-cache';
import { crashPoint } from './crash-point';
import { corrupted, hex } from './errors';
import {
  FULL_SCAN_STEP,
  MID_LAYOUT_VERSION,
  midSpareKeepPages,
  R_ABANDONED,
  R_CACHE_ROOT,
  R_LOCK,
  R_LOCK_STATS,
  ROOT_WORDS,
  SP_BITMAP,
  SP_CAP,
  SP_CARVED,
  SP_CLASS,
  SP_COLLECT,
  SP_FREE,
  SP_INV,
  SP_NEXT,
  SP_OWNER,
  SP_PAGES,
  SP_PREV,
  SP_REMOTE,
  SP_SHIFT,
  SP_START,
  SP_STATE,
  SP_USED,
  SPAN_ABANDONED,
  SPAN_DETACHED,
  SPAN_FULL,
  SPAN_PARTIAL,
  SPAN_SPARE,
  TS_FREEING,
  TS_FULL,
  TS_FULL_COUNT,
  TS_FULL_CURSOR,
  TS_PARTIAL,
  TS_REFILL_COUNT,
  TS_REFILL_HEAD,
  TS_SPARE,
  TS_SPARE_PAGES,
  TS_THREAD,
  TS_WORDS,
  TW_CACHE,
  TW_SPANS,
} from './layout';
import { spanCreate, spanDestroy } from './registry';
import {
  MID_CLASS_COUNT,
  MID_CLASS_PAGES,
  MID_CLASS_SIZE,
  MID_KIND,
  MID_MAX_SIZE,
  MID_MIN_SIZE,
} from './size-classes';

/**
 * One thread's handle on the mid tier's spans (create it after `arena.threadAttach()`): the
 * backend of the tier's @hakmem/tls-cache front. All state is in the shared memory; this object
 * holds the thread's private map of owned spans and scratch space.
 *
 * Blocks move between a span and the thread's cache in batches (`cacheRefill`/`cacheSpill`),
 * come back from other threads through the span's lock-free remote list (`spanFreeRemote`), and
 * spans come from and go back to the arena under the tier mutex (registry.ts).
 */
export class MidSpans implements CacheBackend {
  readonly arena: Arena;
  /** Heap-wide safety: strict bitmaps and link validation. */
  readonly strict: boolean;
  readonly threadId: number;
  /** The tier's id in the page map and the arena's tier directory. */
  readonly tier: number;
  /** i32 index of the tier root. */
  readonly root: number;
  /** Where the cache in front keeps its state: its root word (counters of departed threads) … */
  readonly cacheRoot: number;
  /** … and its per-thread word of the tier. */
  readonly cacheThreadWord = TW_CACHE;
  /** i32 index of this thread's area (0 after detach). */
  area: number;
  /** Length of the chain the last cacheRefill returned. */
  refilled = 0;
  /** Last block of the chain the last spanTake returned (its link is 0). */
  private takenTail = 0;
  /** Bytes of spans this handle gave back to the arena (trim counts them). */
  releasedBytes = 0;
  /** Pages of empty spans this thread may keep beyond one per class (a share of maxBytes). */
  readonly spareKeepPages: number;
  /**
   * @internal This thread's spans by page (thread-private): [2p] the descriptor's i32 index of
   * the span it owns at page p (0: not its own), [2p + 1] the span's class.
   */
  readonly owned: Int32Array;
  /** @internal Spans a reclaim or trim took over (scratch). */
  readonly taken: number[] = [];
  /** @internal check(): block marks per span, blocks found in thread caches per span. */
  checkMarks: Map<number, Uint8Array> | null = null;
  /** @internal */
  checkCached: Map<number, number> | null = null;

  /**
   * This thread's handle on tier `tier` (an id from `arena.tierOpen`); without one, the heap's
   * 'mid' tier (opened for sizes 1025 … 32768 when the heap has none).
   */
  constructor(arena: Arena, tier?: number) {
    if (!(arena.threadId >= 1)) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `MidSpans needs an attached thread (threadId ${arena.threadId}): call arena.threadAttach() first`,
      );
    }
    this.arena = arena;
    this.strict = arena.strict;
    this.threadId = arena.threadId;
    arena.refresh();
    this.tier =
      tier ??
      (arena.tierFind(MID_KIND, MID_LAYOUT_VERSION) ||
        arena.tierOpen(MID_KIND, MID_MIN_SIZE, MID_MAX_SIZE, ROOT_WORDS, MID_LAYOUT_VERSION));
    this.root = arena.tierExpect(this.tier, MID_KIND, MID_LAYOUT_VERSION, 'MidSpans').root;
    this.cacheRoot = this.root + R_CACHE_ROOT;
    // The tier mutex is not registered with the arena (breakLocksOf would free it for the first
    // waiter, who would run on a half-done section): a reclaim takes it over and repairs.
    const record = arena.threadTierWords(this.tier) + TW_SPANS;
    let offset = Atomics.load(arena.i32, record) >>> 0;
    if (offset === 0) {
      offset = arena.metaAlloc(TS_WORDS * 4);
      if (offset === 0) {
        throw new HakmemError(
          'ERR_OUT_OF_MEMORY',
          `no room for the mid tier's thread area of thread ${this.threadId} within maxBytes ${arena.maxBytes}`,
        );
      }
      arena.refresh();
      arena.i32[(offset >>> 2) + TS_THREAD] = this.threadId;
      Atomics.store(arena.i32, record, offset);
    }
    this.area = offset >>> 2;
    this.spareKeepPages = midSpareKeepPages(arena.maxBytes);
    this.owned = new Int32Array(2 * Math.ceil(arena.maxBytes / PAGE_SIZE));
    // Another handle of this thread id may own spans already: map them.
    const i32 = arena.i32;
    for (let cls = 0; cls < MID_CLASS_COUNT; cls++) {
      for (const head of [TS_PARTIAL, TS_FULL]) {
        for (let d = i32[this.area + head + cls]!; d !== 0; d = i32[d + SP_NEXT]!) this.spanMapOwned(d, cls);
      }
      for (let d = i32[this.area + TS_SPARE + cls]!; d !== 0; d = i32[d + SP_NEXT]!)
        this.spanMapOwned(d, cls);
    }
  }

  /** The arena's views: the one owner of this thread's views, current after `arena.refresh()`. */
  get i32(): Int32Array {
    return this.arena.i32;
  }

  get u32(): Uint32Array {
    return this.arena.u32;
  }

  /** @internal Takes the tier mutex (views refreshed before and after: descriptors may lie in memory another thread grew). */
  spanLock(): void {
    this.arena.refresh();
    mutexLock(this.arena.i32, this.root + R_LOCK, this.threadId, this.root + R_LOCK_STATS);
    this.arena.refresh();
  }

  /** @internal */
  spanUnlock(): void {
    mutexUnlock(this.arena.i32, this.root + R_LOCK);
  }

  /** @internal Records span `d` of class `cls` as this thread's (every page). */
  spanMapOwned(d: number, cls: number): void {
    const first = this.u32[d + SP_START]! >>> 16;
    const pages = this.i32[d + SP_PAGES]!;
    for (let page = first; page < first + pages; page++) {
      this.owned[2 * page] = d;
      this.owned[2 * page + 1] = cls;
    }
  }

  /** @internal */
  spanUnmapOwned(d: number): void {
    const first = this.u32[d + SP_START]! >>> 16;
    const pages = this.i32[d + SP_PAGES]!;
    for (let page = first; page < first + pages; page++) {
      this.owned[2 * page] = 0;
      this.owned[2 * page + 1] = 0;
    }
  }

  // ───────────────────────────── blocks ─────────────────────────────

  /** @internal
   * Block index of `ptr` in span `d`, -1 unless it is the start of a carved block. Another
   * thread reading the owner's carve mark may see an older value, which only makes a racing
   * (invalid) free look invalid.
   */
  spanBlockIndex(d: number, ptr: number): number {
    const i32 = this.i32;
    const off = ptr - this.u32[d + SP_START]!;
    if (!(off >= 0 && off < i32[d + SP_PAGES]! * PAGE_SIZE)) return -1;
    const x = Math.imul(off, i32[d + SP_INV]!);
    const shift = i32[d + SP_SHIFT]!;
    const idx = ((x >>> shift) | (x << -shift)) >>> 0;
    return idx < i32[d + SP_CARVED]! ? idx : -1;
  }

  /** @internal The precise error for a pointer into span `d` that is not a block start. */
  spanNotBlock(op: string, ptr: number, d: number): HakmemError {
    const i32 = this.i32;
    const cls = d === 0 ? -1 : i32[d + SP_CLASS]!;
    const size = MID_CLASS_SIZE[cls];
    if (size === undefined) {
      return new HakmemError('ERR_INVALID_POINTER', `${op}(${ptr}): not in a span of the mid tier`);
    }
    const start = this.u32[d + SP_START]!;
    return new HakmemError(
      'ERR_INVALID_POINTER',
      `${op}(${ptr}): not a block start: its span at ${start} holds ${size} B blocks (offset ${ptr - start} is not a multiple of ${size} below ${i32[d + SP_CARVED]! * size})`,
    );
  }

  /** @internal Usable bytes of the block at `ptr` of span `d` (its class size); ERR_INVALID_POINTER unless a block start (strict: a live one). */
  spanUsableSize(ptr: number, d: number): number {
    if (d === 0 || d * 4 >= this.arena.viewBytes) this.arena.refresh();
    const idx = d === 0 ? -1 : this.spanBlockIndex(d, ptr);
    if (idx < 0) throw this.spanNotBlock('usableSize', ptr, d);
    const i32 = this.i32;
    const cls = i32[d + SP_CLASS]!;
    if (this.strict) {
      const w = i32[d + SP_BITMAP]! + ((idx >>> 5) << 1);
      const bit = 1 << (idx & 31);
      if ((i32[w]! & bit) === 0 || (Atomics.load(i32, w + 1) & bit) !== 0) {
        throw new HakmemError(
          'ERR_INVALID_POINTER',
          `usableSize(${ptr}): block ${idx} of its ${MID_CLASS_SIZE[cls]} B span is not live (freed)`,
        );
      }
    }
    return MID_CLASS_SIZE[cls]!;
  }

  /** @internal
   * Validates a block taken from one of this thread's free lists of class `cls`: in a span of
   * that class owned by this thread, a carved block start, and (strict) not live. Returns the
   * span's descriptor index; ERR_HEAP_CORRUPTED (a write after free broke a link) otherwise.
   */
  spanCheckListBlock(p: number, cls: number, what: string): number {
    const arena = this.arena;
    if (!(p < arena.viewBytes)) arena.refresh();
    const entry = p > 0 && p < arena.viewBytes ? arena.pageEntry(p) : -1;
    if (entry < 0 || (this.u32[entry + PM_TIER]! & PM_TIER_MASK) !== this.tier) {
      throw corrupted(
        `free-list link ${hex(p)} of the ${MID_CLASS_SIZE[cls]} B class points outside every mid span (a write after free?): not ${what}`,
      );
    }
    const d = this.u32[entry + PM_DESC]! >>> 2;
    const i32 = this.i32;
    if (d === 0 || i32[d + SP_CLASS] !== cls || i32[d + SP_OWNER] !== this.threadId) {
      throw corrupted(
        `free-list link ${hex(p)} of the ${MID_CLASS_SIZE[cls]} B class of thread ${this.threadId} points into a span of another class or thread (a write after free?): not ${what}`,
      );
    }
    const idx = this.spanBlockIndex(d, p);
    if (idx < 0) {
      throw corrupted(
        `free-list link ${hex(p)} is off the ${MID_CLASS_SIZE[cls]} B grid of its span at ${this.u32[d + SP_START]} (a write after free?): not ${what}`,
      );
    }
    if (this.strict) {
      const w = i32[d + SP_BITMAP]! + ((idx >>> 5) << 1);
      const bit = 1 << (idx & 31);
      if ((i32[w]! & bit) !== 0 || (i32[w + 1]! & bit) !== 0) {
        throw corrupted(
          `free-list link ${hex(p)} names a block that is live (a write after free or a double free): not ${what}`,
        );
      }
    }
    return d;
  }

  /** Strict: a link of span `d`'s local free list must be a free block of it (ERR_HEAP_CORRUPTED). */
  private spanCheckLocalLink(d: number, p: number): void {
    const idx = this.spanBlockIndex(d, p);
    if (idx < 0) {
      throw corrupted(
        `local free list of the ${MID_CLASS_SIZE[this.i32[d + SP_CLASS]!]} B span at ${this.u32[d + SP_START]} links to ${hex(p)}, outside the span or off its grid (a write after free?)`,
      );
    }
    const i32 = this.i32;
    const w = i32[d + SP_BITMAP]! + ((idx >>> 5) << 1);
    const bit = 1 << (idx & 31);
    if ((i32[w]! & bit) !== 0 || (i32[w + 1]! & bit) !== 0) {
      throw corrupted(
        `local free list of the span at ${this.u32[d + SP_START]} links to block ${idx}, which is live (a write after free or a double free)`,
      );
    }
  }

  // ───────────────────────────── remote frees ─────────────────────────────

  /** @internal
   * Frees `ptr` of span `d` (another thread's, or abandoned) into the span's lock-free remote
   * list; returns the block's class. Strict: a second free of a block waiting there, or of a
   * block that is not live, is ERR_DOUBLE_FREE with nothing changed.
   */
  spanFreeRemote(ptr: number, d: number): number {
    if (d === 0 || d * 4 >= this.arena.viewBytes) this.arena.refresh();
    const idx = d === 0 ? -1 : this.spanBlockIndex(d, ptr);
    if (idx < 0) throw this.spanNotBlock('free', ptr, d);
    const i32 = this.i32;
    const cls = i32[d + SP_CLASS]!;
    // Strict: the intent record (TS_FREEING) covers the block from its remote bit to its push.
    const intent = this.area === 0 ? 0 : this.area + TS_FREEING;
    if (this.strict) {
      const w = i32[d + SP_BITMAP]! + ((idx >>> 5) << 1);
      const bit = 1 << (idx & 31);
      if (intent !== 0) i32[intent] = ptr;
      if (__DEV__) crashPoint('remote-free');
      if ((Atomics.or(i32, w + 1, bit) & bit) !== 0) {
        if (intent !== 0) i32[intent] = 0;
        throw new HakmemError(
          'ERR_DOUBLE_FREE',
          `free(${ptr}): block ${idx} of its ${MID_CLASS_SIZE[cls]} B span is already waiting in the span's remote-free list`,
        );
      }
      if (__DEV__) crashPoint('remote-free');
      if ((Atomics.load(i32, w) & bit) === 0) {
        if (__DEV__) crashPoint('remote-free');
        Atomics.and(i32, w + 1, ~bit);
        if (intent !== 0) i32[intent] = 0;
        throw new HakmemError(
          'ERR_DOUBLE_FREE',
          `free(${ptr}): block ${idx} of its ${MID_CLASS_SIZE[cls]} B span is not live (already freed)`,
        );
      }
    }
    // CAS push, retried in place.
    const head = d + SP_REMOTE;
    const u32 = this.u32;
    for (;;) {
      if (__DEV__) crashPoint('remote-free');
      const old = Atomics.load(i32, head);
      u32[ptr >>> 2] = old;
      if (__DEV__) crashPoint('remote-free');
      if (Atomics.compareExchange(i32, head, old, ptr | 0) === old) {
        if (intent !== 0) i32[intent] = 0;
        return cls;
      }
    }
  }

  /**
   * Owner: moves the whole remote list of span `d` to its local list; returns the local list's
   * new head, 0 when the remote list was empty. The taken chain is validated before anything
   * changes (a broken one is put back and reported).
   */
  private spanCollectRemote(d: number): number {
    const i32 = this.i32;
    const u32 = this.u32;
    if (Atomics.load(i32, d + SP_REMOTE) === 0) return 0;
    if (__DEV__) crashPoint('collect');
    const head = Atomics.exchange(i32, d + SP_REMOTE, 0) >>> 0;
    if (head === 0) return 0;
    // In flight until published below: a reclaim finds the chain here if this thread dies first.
    i32[d + SP_COLLECT] = head;
    const cap = i32[d + SP_CAP]!;
    const strict = this.strict;
    const bm = i32[d + SP_BITMAP]!;
    let p = head;
    let tail = head;
    let n = 0;
    while (p !== 0) {
      if (__DEV__) crashPoint('collect');
      const idx = ++n > cap ? -1 : this.spanBlockIndex(d, p);
      let bad = idx < 0;
      if (!bad && strict) {
        const w = bm + ((idx >>> 5) << 1);
        const bit = 1 << (idx & 31);
        bad = (i32[w]! & bit) === 0 || (Atomics.load(i32, w + 1) & bit) === 0;
      }
      if (bad) {
        // Put the chain back (if nobody pushed meanwhile) so every later look sees it too.
        Atomics.compareExchange(i32, d + SP_REMOTE, 0, head | 0);
        i32[d + SP_COLLECT] = 0;
        throw corrupted(
          `remote-free list of the ${MID_CLASS_SIZE[i32[d + SP_CLASS]!]} B span at ${u32[d + SP_START]} links to ${hex(p)}, ${n > cap ? 'past its block count (a cycle)' : 'not a block freed by another thread'} (a write after free?)`,
        );
      }
      tail = p;
      p = u32[p >>> 2]!;
    }
    if (strict) {
      for (p = head; p !== 0; p = u32[p >>> 2]!) {
        const idx = this.spanBlockIndex(d, p);
        const w = bm + ((idx >>> 5) << 1);
        const bit = 1 << (idx & 31);
        // The alloc bit first: a second free landing in between finds the remote bit still set,
        // one landing after finds the alloc bit clear (the Atomics.and publishes the store).
        i32[w] = i32[w]! & ~bit;
        if (__DEV__) crashPoint('collect');
        Atomics.and(i32, w + 1, ~bit);
      }
    }
    // Published in one straight-line sequence (no call, no loop): a termination lands before or after it.
    u32[tail >>> 2] = u32[d + SP_FREE]!;
    i32[d + SP_FREE] = head;
    i32[d + SP_USED] = i32[d + SP_USED]! - n;
    i32[d + SP_COLLECT] = 0;
    return head;
  }

  // ───────────────────────────── cache backend: refill and spill ─────────────────────────────

  /**
   * Detaches up to `want` free blocks of class `cls`, linked through their first word; returns
   * the chain head and sets `refilled`, or 0 when maxBytes cannot hold another span. The blocks
   * come from the current span; when it runs out and no other span is partial, from the kept
   * empty spans in turn (memory the thread holds already: one refill, one slow event of the
   * cache, for a batch larger than a span). Only when those give nothing does it look further
   * (a full span with remote frees, an abandoned span, a new span: spanFind).
   */
  cacheRefill(cls: number, want: number): number {
    this.arena.refresh();
    const listHead = this.area + TS_PARTIAL + cls;
    // The chain so far is the intent record TS_REFILL_HEAD/COUNT: each piece joins it in the
    // straight line that takes it from its span, and it is cleared in the straight line that
    // returns the chain (the cache lists it with no interrupt point between).
    this.takenTail = 0;
    this.i32[this.area + TS_REFILL_COUNT] = 0;
    let got = 0;
    let last = 0;
    for (;;) {
      if (__DEV__) crashPoint('refill');
      const d = this.i32[listHead]!;
      // Once blocks are in hand, another partial span is left for later refills (a batch from
      // one span at a time keeps the cache's blocks together); kept empty spans are taken.
      if (got > 0 && d !== 0 && d !== last) break;
      if (d === 0) {
        if (got > 0) {
          const spare = this.spanPopSpare(cls);
          if (spare !== 0) {
            this.spanPushPartial(spare, cls);
            last = spare;
            continue;
          }
          break;
        }
        if (!this.spanFind(cls)) break;
        continue;
      }
      const p = this.spanTake(d, want - got);
      if (p === 0) {
        this.spanMoveToFull(d, cls);
        last = 0;
        continue;
      }
      last = d;
      got += this.refilled;
      if (got >= want) break;
    }
    const i32 = this.i32;
    const head = i32[this.area + TS_REFILL_HEAD]! >>> 0;
    i32[this.area + TS_REFILL_COUNT] = 0;
    i32[this.area + TS_REFILL_HEAD] = 0;
    this.refilled = got;
    return head;
  }

  /** Takes up to `want` blocks from span `d`: local list, else its remote list, else carving. */
  private spanTake(d: number, want: number): number {
    let head = this.u32[d + SP_FREE]!;
    if (head === 0) {
      if (__DEV__) crashPoint('refill');
      head = this.spanCollectRemote(d);
      if (head === 0) return this.spanCarve(d, want);
    }
    return this.spanTakeLocal(d, want, head);
  }

  /** Detaches up to `want` blocks from the head `head` (≠ 0) of span `d`'s local list (strict: every link validated before anything changes). */
  private spanTakeLocal(d: number, want: number, head: number): number {
    const i32 = this.i32;
    const u32 = this.u32;
    const strict = this.strict;
    if (strict) this.spanCheckLocalLink(d, head);
    let tail = head;
    let n = 1;
    for (; n < want; n++) {
      const next = u32[tail >>> 2]!;
      if (next === 0) break;
      if (strict) this.spanCheckLocalLink(d, next);
      if (__DEV__) crashPoint('refill');
      tail = next;
    }
    // One straight line: the blocks leave the span and join the refill record's chain.
    const rest = u32[tail >>> 2]!;
    u32[tail >>> 2] = 0;
    i32[d + SP_FREE] = rest;
    i32[d + SP_USED] = i32[d + SP_USED]! + n;
    const area = this.area;
    if (this.takenTail === 0) i32[area + TS_REFILL_HEAD] = head;
    else u32[this.takenTail >>> 2] = head;
    i32[area + TS_REFILL_COUNT] = i32[area + TS_REFILL_COUNT]! + n;
    this.refilled = n;
    this.takenTail = tail;
    return head;
  }

  /** Carves up to `want` fresh blocks from span `d` (0 when it is fully carved). */
  private spanCarve(d: number, want: number): number {
    const i32 = this.i32;
    const u32 = this.u32;
    const carved = i32[d + SP_CARVED]!;
    const room = i32[d + SP_CAP]! - carved;
    if (room <= 0) return 0;
    const n = Math.min(want, room);
    const size = MID_CLASS_SIZE[i32[d + SP_CLASS]!]!;
    const first = u32[d + SP_START]! + carved * size;
    let p = first;
    for (let i = 1; i < n; i++) {
      if (__DEV__) crashPoint('refill');
      u32[p >>> 2] = p + size;
      p += size;
    }
    u32[p >>> 2] = 0;
    // One straight line: carved, counted, and in the refill record's chain.
    i32[d + SP_CARVED] = carved + n;
    i32[d + SP_USED] = i32[d + SP_USED]! + n;
    const area = this.area;
    if (this.takenTail === 0) i32[area + TS_REFILL_HEAD] = first;
    else u32[this.takenTail >>> 2] = first;
    i32[area + TS_REFILL_COUNT] = i32[area + TS_REFILL_COUNT]! + n;
    this.refilled = n;
    this.takenTail = p;
    return first;
  }

  /**
   * Makes a span with free blocks the head of the partial list of `cls`: a kept empty span (no
   * full span is looked at while the thread holds one), a full span with remote frees, an
   * abandoned span, a new span; at maxBytes every full span is
   * looked at, this thread's empty spans of other classes are given back, and a shorter span is
   * tried. False when nothing fits.
   */
  private spanFind(cls: number): boolean {
    const spare = this.spanPopSpare(cls);
    if (spare !== 0) {
      this.spanPushPartial(spare, cls);
      return true;
    }
    if (this.spanScanFull(cls, FULL_SCAN_STEP)) return true;
    if (this.spanAdopt(cls)) return true;
    const pages = MID_CLASS_PAGES[cls]!;
    if (this.spanNew(cls, pages)) return true;
    if (this.spanScanFull(cls, this.i32[this.area + TS_FULL_COUNT + cls]!)) return true;
    if (this.spanReleaseKept() > 0 && this.spanNew(cls, pages)) return true;
    for (let fewer = pages - 1; fewer >= 1; fewer--) {
      if (this.spanNew(cls, fewer)) return true;
    }
    return false;
  }

  private spanNew(cls: number, pages: number): boolean {
    const d = spanCreate(this, cls, pages);
    if (d === 0) return false;
    this.spanMapOwned(d, cls);
    this.spanPushPartial(d, cls);
    return true;
  }

  /** @internal Looks at up to `limit` full spans of `cls` for remote frees; moves the first found to the partial list. */
  spanScanFull(cls: number, limit: number): boolean {
    const i32 = this.i32;
    const area = this.area;
    let n = Math.min(limit, i32[area + TS_FULL_COUNT + cls]!);
    if (n === 0) return false;
    const first = i32[area + TS_FULL + cls]!;
    let d = i32[area + TS_FULL_CURSOR + cls]! || first;
    while (n-- > 0) {
      const next = i32[d + SP_NEXT]! || first;
      if (Atomics.load(i32, d + SP_REMOTE) !== 0) {
        i32[area + TS_FULL_CURSOR + cls] = next === d ? 0 : next;
        this.spanUnlinkFull(d, cls);
        this.spanCollectRemote(d);
        this.spanPushPartial(d, cls);
        return true;
      }
      d = next;
    }
    i32[area + TS_FULL_CURSOR + cls] = d;
    return false;
  }

  /** Adopts an abandoned span of `cls` (owner 0 → this thread, under the tier lock: a span is never in no list with no owner). */
  private spanAdopt(cls: number): boolean {
    const headIndex = this.root + R_ABANDONED + cls;
    if (Atomics.load(this.i32, headIndex) === 0) return false;
    if (__DEV__) crashPoint('adopt');
    this.spanLock();
    const i32 = this.i32;
    const d = i32[headIndex]!;
    // The owner (decisive: a reclaim takes the span over from here on), the state, the list.
    if (__DEV__) crashPoint('adopt');
    const owner = d === 0 ? 0 : Atomics.compareExchange(i32, d + SP_OWNER, 0, this.threadId);
    if (d !== 0 && owner === 0) {
      i32[d + SP_STATE] = SPAN_DETACHED;
      if (__DEV__) crashPoint('adopt');
      Atomics.store(i32, headIndex, i32[d + SP_NEXT]!);
    }
    if (__DEV__) crashPoint('adopt');
    this.spanUnlock();
    if (d === 0) return false;
    if (owner !== 0) throw corrupted(`abandoned span at ${this.u32[d + SP_START]} has owner ${owner}`);
    if (__DEV__) crashPoint('adopt');
    this.spanMapOwned(d, cls);
    if (__DEV__) crashPoint('adopt');
    this.spanCollectRemote(d);
    if (__DEV__) crashPoint('adopt');
    this.spanPushPartial(d, cls);
    return true;
  }

  /** The cache in front keeps a spill record that cacheSpill advances (a reclaim recovers a spill cut short). */
  readonly spillProgress = true;

  /**
   * Blocks of class `cls` (this thread's, chained from `head`) back to their spans. `progress`:
   * the cache's spill record (chain head, count), advanced in the straight line that gives each
   * block back.
   */
  cacheSpill(cls: number, head: number, count: number, progress = 0): void {
    this.arena.refresh();
    const owned = this.owned;
    let p = head;
    for (let i = 0; i < count && p !== 0; i++) {
      if (__DEV__) crashPoint('spill');
      // A cached block lies in a span of this class that this thread owns (its owned-map entry).
      const o = (p >>> 16) << 1;
      const d =
        owned[o]! > 0 && owned[o + 1] === cls ? owned[o]! : this.spanCheckListBlock(p, cls, 'spilled');
      if (this.strict) this.spanCheckLocalLink(d, p);
      else if (this.spanBlockIndex(d, p) < 0) this.spanCheckListBlock(p, cls, 'spilled');
      const i32 = this.i32;
      const u32 = this.u32;
      const next = u32[p >>> 2]!;
      // One straight line: onto the span's local list, counted, out of the spill record.
      u32[p >>> 2] = u32[d + SP_FREE]!;
      i32[d + SP_FREE] = p;
      const used = i32[d + SP_USED]! - 1;
      i32[d + SP_USED] = used;
      if (progress !== 0) {
        i32[progress] = next;
        i32[progress + 1] = count - i - 1;
      }
      if (__DEV__) crashPoint('spill');
      this.spanLocalUpkeep(d, cls, used);
      p = next;
    }
  }

  /** @internal Owner: span `d` got a block back (`used` left): full → partial, retired when empty. */
  spanLocalUpkeep(d: number, cls: number, used: number): void {
    const i32 = this.i32;
    if (i32[d + SP_STATE] === SPAN_FULL) {
      this.spanUnlinkFull(d, cls);
      this.spanPushPartial(d, cls);
    }
    if (used === 0) this.spanRetire(d, cls);
  }

  /**
   * Owner: span `d` has no block out. It stays when it is the class's only partial span; else
   * it is kept empty for reuse (always when the class keeps none; more while the thread's kept
   * pages stay within `spareKeepPages`), or goes back to the arena.
   */
  private spanRetire(d: number, cls: number): void {
    const i32 = this.i32;
    const state = i32[d + SP_STATE]!;
    if (state === SPAN_PARTIAL) {
      if (i32[this.area + TS_PARTIAL + cls] === d && i32[d + SP_NEXT] === 0) return;
      this.spanUnlinkPartial(d, cls);
    } else if (state === SPAN_FULL) {
      this.spanUnlinkFull(d, cls);
    } else {
      return;
    }
    const head = i32[this.area + TS_SPARE + cls]!;
    const pages = i32[this.area + TS_SPARE_PAGES]! + i32[d + SP_PAGES]!;
    if (head === 0 || pages <= this.spareKeepPages) {
      // Linked first, published with one store (termination-safe); the page count follows.
      i32[d + SP_NEXT] = head;
      i32[d + SP_PREV] = 0;
      i32[d + SP_STATE] = SPAN_SPARE;
      i32[this.area + TS_SPARE + cls] = d;
      i32[this.area + TS_SPARE_PAGES] = pages;
      return;
    }
    this.spanRelease(d);
  }

  /** @internal Owner: takes the newest kept empty span of `cls` off its list (state DETACHED); 0 when none. */
  spanPopSpare(cls: number): number {
    const i32 = this.i32;
    const d = i32[this.area + TS_SPARE + cls]!;
    if (d === 0) return 0;
    i32[this.area + TS_SPARE + cls] = i32[d + SP_NEXT]!;
    i32[this.area + TS_SPARE_PAGES] = i32[this.area + TS_SPARE_PAGES]! - i32[d + SP_PAGES]!;
    i32[d + SP_NEXT] = 0;
    i32[d + SP_STATE] = SPAN_DETACHED;
    return d;
  }

  /** @internal Owner: span `d` (in no list, nothing out) back to the arena. */
  spanRelease(d: number): void {
    this.spanUnmapOwned(d);
    spanDestroy(this, d);
  }

  // ───────────────────────────── the thread's lists ─────────────────────────────

  /** @internal Pushes `d` (in no list) as the head (current span) of the partial list, or into the full list when it has nothing free. */
  spanPushPartial(d: number, cls: number): void {
    const i32 = this.i32;
    if (
      i32[d + SP_FREE] === 0 &&
      i32[d + SP_CARVED]! >= i32[d + SP_CAP]! &&
      Atomics.load(i32, d + SP_REMOTE) === 0
    ) {
      this.spanPushFull(d, cls);
      return;
    }
    const headIndex = this.area + TS_PARTIAL + cls;
    const next = i32[headIndex]!;
    i32[d + SP_NEXT] = next;
    i32[d + SP_PREV] = 0;
    if (next !== 0) i32[next + SP_PREV] = d;
    i32[d + SP_STATE] = SPAN_PARTIAL;
    i32[headIndex] = d;
  }

  /** @internal */
  spanUnlinkPartial(d: number, cls: number): void {
    const i32 = this.i32;
    if (__DEV__) {
      if (i32[d + SP_STATE] !== SPAN_PARTIAL)
        throw corrupted(`span ${d * 4} unlinked from a partial list it is not in`);
    }
    const prev = i32[d + SP_PREV]!;
    const next = i32[d + SP_NEXT]!;
    if (prev !== 0) i32[prev + SP_NEXT] = next;
    else i32[this.area + TS_PARTIAL + cls] = next;
    if (next !== 0) i32[next + SP_PREV] = prev;
    i32[d + SP_STATE] = SPAN_DETACHED;
  }

  private spanPushFull(d: number, cls: number): void {
    const i32 = this.i32;
    const headIndex = this.area + TS_FULL + cls;
    const next = i32[headIndex]!;
    i32[d + SP_NEXT] = next;
    i32[d + SP_PREV] = 0;
    if (next !== 0) i32[next + SP_PREV] = d;
    i32[d + SP_STATE] = SPAN_FULL;
    i32[headIndex] = d;
    i32[this.area + TS_FULL_COUNT + cls] = i32[this.area + TS_FULL_COUNT + cls]! + 1;
  }

  /** @internal */
  spanUnlinkFull(d: number, cls: number): void {
    const i32 = this.i32;
    const area = this.area;
    if (__DEV__) {
      if (i32[d + SP_STATE] !== SPAN_FULL)
        throw corrupted(`span ${d * 4} unlinked from a full list it is not in`);
    }
    const prev = i32[d + SP_PREV]!;
    const next = i32[d + SP_NEXT]!;
    if (prev !== 0) i32[prev + SP_NEXT] = next;
    else i32[area + TS_FULL + cls] = next;
    if (next !== 0) i32[next + SP_PREV] = prev;
    if (i32[area + TS_FULL_CURSOR + cls] === d) i32[area + TS_FULL_CURSOR + cls] = next;
    i32[area + TS_FULL_COUNT + cls] = i32[area + TS_FULL_COUNT + cls]! - 1;
    i32[d + SP_STATE] = SPAN_DETACHED;
  }

  private spanMoveToFull(d: number, cls: number): void {
    this.spanUnlinkPartial(d, cls);
    this.spanPushFull(d, cls);
  }

  /**
   * @internal Gives back every empty span this thread keeps (spares, and empty partial spans
   * once their remote frees are collected). Returns how many.
   */
  spanReleaseKept(): number {
    let released = 0;
    const area = this.area;
    for (let cls = 0; cls < MID_CLASS_COUNT; cls++) {
      for (let spare = this.spanPopSpare(cls); spare !== 0; spare = this.spanPopSpare(cls)) {
        this.spanRelease(spare);
        released++;
      }
      let d = this.i32[area + TS_PARTIAL + cls]!;
      while (d !== 0) {
        const next = this.i32[d + SP_NEXT]!;
        if (Atomics.load(this.i32, d + SP_REMOTE) !== 0) this.spanCollectRemote(d);
        if (this.i32[d + SP_USED] === 0) {
          this.spanUnlinkPartial(d, cls);
          this.spanRelease(d);
          released++;
        }
        d = next;
      }
    }
    return released;
  }

  // ───────────────────────────── leaving: abandon, detach ─────────────────────────────

  /** @internal Abandons span `d` (in no list, blocks still out): owner 0, adoptable by any thread. */
  spanAbandon(d: number): void {
    const cls = this.i32[d + SP_CLASS]!;
    if (__DEV__) crashPoint('abandon');
    this.spanUnmapOwned(d);
    const headIndex = this.root + R_ABANDONED + cls;
    if (__DEV__) crashPoint('abandon');
    this.spanLock();
    // Under the lock: state and link, the owner (decisive: before it a reclaim takes the span
    // over as the dead thread's; after it midRepair lists every span of owner 0), the head.
    const i32 = this.i32;
    i32[d + SP_STATE] = SPAN_ABANDONED;
    i32[d + SP_NEXT] = i32[headIndex]!;
    i32[d + SP_PREV] = 0;
    if (__DEV__) crashPoint('abandon');
    Atomics.store(i32, d + SP_OWNER, 0);
    if (__DEV__) crashPoint('abandon');
    Atomics.store(i32, headIndex, d);
    if (__DEV__) crashPoint('abandon');
    this.spanUnlock();
  }

  /** @internal Span `d` (in no list) leaves this thread: empty → the arena, else abandoned. */
  spanLetGo(d: number): void {
    if (__DEV__) crashPoint('abandon');
    this.spanCollectRemote(d);
    if (this.i32[d + SP_USED] === 0) this.spanRelease(d);
    else this.spanAbandon(d);
  }

  /** The thread is leaving (its cache flushed first): every span it owns goes back to the arena (empty) or becomes adoptable; its area is freed. */
  spanDetach(): void {
    if (this.area === 0) return;
    this.arena.refresh();
    const area = this.area;
    for (let cls = 0; cls < MID_CLASS_COUNT; cls++) {
      for (;;) {
        const d = this.i32[area + TS_PARTIAL + cls]!;
        if (d === 0) break;
        this.spanUnlinkPartial(d, cls);
        this.spanLetGo(d);
      }
      for (;;) {
        const d = this.i32[area + TS_FULL + cls]!;
        if (d === 0) break;
        this.spanUnlinkFull(d, cls);
        this.spanLetGo(d);
      }
      for (let spare = this.spanPopSpare(cls); spare !== 0; spare = this.spanPopSpare(cls)) {
        this.spanLetGo(spare);
      }
    }
    this.spanFreeArea(this.threadId);
    this.area = 0;
  }

  /** @internal Frees thread `threadId`'s span area (its record word is cleared first). */
  spanFreeArea(threadId: number): void {
    const words = this.arena.threadTierWords(this.tier, threadId);
    if (words === 0) return;
    const offset = Atomics.exchange(this.arena.i32, words + TW_SPANS, 0) >>> 0;
    if (offset !== 0) this.arena.metaFree(offset);
  }

  // ───────────────────────────── strict hooks of the cache in front ─────────────────────────────

  /** @internal Strict: sets the alloc bit of a block from a free list about to be handed out (validated: ERR_HEAP_CORRUPTED). */
  spanMarkLive(p: number, cls: number): void {
    const d = this.spanCheckListBlock(p, cls, 'handed out');
    const idx = this.spanBlockIndex(d, p);
    const w = this.i32[d + SP_BITMAP]! + ((idx >>> 5) << 1);
    this.i32[w] = this.i32[w]! | (1 << (idx & 31));
  }

  /** Strict (a cache in front is popping `p`): validates it as a free block of this thread's spans of `cls` and marks it live. */
  cacheCheckOut(cls: number, p: number): void {
    this.spanMarkLive(p, cls);
  }

  /**
   * Strict (a cache in front takes back `ptr` from a user of this thread): it must be a live
   * block of class `cls` in a span this thread owns; its alloc bit is cleared.
   * ERR_INVALID_POINTER / ERR_DOUBLE_FREE with nothing changed.
   */
  cacheCheckIn(cls: number, ptr: number): void {
    const o = ptr >>> 0 === ptr ? (ptr >>> 16) << 1 : -2;
    const d = o < 0 ? 0 : (this.owned[o] ?? 0);
    if (!(d > 0) || this.owned[o + 1] !== cls) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `cache push of ${ptr}: not a block of this thread's ${MID_CLASS_SIZE[cls] ?? '?'} B spans`,
      );
    }
    const idx = this.spanBlockIndex(d, ptr);
    if (idx < 0) throw this.spanNotBlock('free', ptr, d);
    const i32 = this.i32;
    const w = i32[d + SP_BITMAP]! + ((idx >>> 5) << 1);
    const bit = 1 << (idx & 31);
    if ((i32[w]! & bit) === 0 || (i32[w + 1]! & bit) !== 0) {
      throw new HakmemError(
        'ERR_DOUBLE_FREE',
        `free(${ptr}): block ${idx} of its ${MID_CLASS_SIZE[cls]} B span is not live (already freed)`,
      );
    }
    i32[w] = i32[w]! & ~bit;
  }

  /**
   * Reclaim: a block found in the dead thread's cache. When it is a free block of class `cls`
   * in a span `reclaimBegin` took over, it goes back to its span and the link it held is
   * returned; otherwise -1 (the walk of that list stops: the rest was in flight).
   */
  cacheRecover(cls: number, ptr: number, _deadThreadId: number): number {
    const arena = this.arena;
    if (!(ptr < arena.viewBytes)) arena.refresh();
    const entry = ptr > 0 && ptr < arena.viewBytes ? arena.pageEntry(ptr) : -1;
    if (entry < 0 || (this.u32[entry + PM_TIER]! & PM_TIER_MASK) !== this.tier) return -1;
    const d = this.u32[entry + PM_DESC]! >>> 2;
    const i32 = this.i32;
    if (
      d === 0 ||
      i32[d + SP_CLASS] !== cls ||
      i32[d + SP_OWNER] !== this.threadId ||
      i32[d + SP_STATE] !== SPAN_DETACHED
    ) {
      return -1;
    }
    const idx = this.spanBlockIndex(d, ptr);
    if (idx < 0) return -1;
    if (this.strict) {
      const w = i32[d + SP_BITMAP]! + ((idx >>> 5) << 1);
      const bit = 1 << (idx & 31);
      if ((Atomics.load(i32, w + 1) & bit) !== 0) return -1;
      // Set only if the thread died between marking the block live and taking it off its list.
      i32[w] = i32[w]! & ~bit;
    }
    const next = this.u32[ptr >>> 2]!;
    this.u32[ptr >>> 2] = this.u32[d + SP_FREE]!;
    i32[d + SP_FREE] = ptr;
    return next;
  }

  /** check(): a block found in the cache of thread `threadId`; ERR_HEAP_CORRUPTED unless a free block of `cls` owned by it, listed once. */
  cacheCheckBlock(cls: number, ptr: number, threadId: number): void {
    const arena = this.arena;
    if (this.checkMarks === null) this.checkBegin();
    if (!(ptr < arena.viewBytes)) arena.refresh();
    const entry = ptr > 0 && ptr < arena.viewBytes ? arena.pageEntry(ptr) : -1;
    if (entry < 0 || (this.u32[entry + PM_TIER]! & PM_TIER_MASK) !== this.tier) {
      throw corrupted(
        `thread ${threadId}'s cache of the ${MID_CLASS_SIZE[cls]} B class holds ${hex(ptr)}, outside every mid span`,
      );
    }
    const d = this.u32[entry + PM_DESC]! >>> 2;
    const i32 = this.i32;
    if (d === 0 || i32[d + SP_CLASS] !== cls || i32[d + SP_OWNER] !== threadId) {
      throw corrupted(
        `thread ${threadId}'s cache of the ${MID_CLASS_SIZE[cls]} B class holds ${hex(ptr)}, in a span of class ${i32[d + SP_CLASS]} owned by thread ${i32[d + SP_OWNER]}`,
      );
    }
    const idx = this.spanBlockIndex(d, ptr);
    if (idx < 0) {
      throw corrupted(
        `thread ${threadId}'s cache of the ${MID_CLASS_SIZE[cls]} B class holds ${hex(ptr)}, which is not a carved block start`,
      );
    }
    if (this.strict) {
      const w = i32[d + SP_BITMAP]! + ((idx >>> 5) << 1);
      const bit = 1 << (idx & 31);
      if ((i32[w]! & bit) !== 0 || (i32[w + 1]! & bit) !== 0) {
        throw corrupted(
          `thread ${threadId}'s cache holds block ${hex(ptr)}, whose alloc bitmap says it is live`,
        );
      }
    }
    this.checkMark(d, idx, 'a thread cache');
    const cached = this.checkCached!;
    cached.set(d, (cached.get(d) ?? 0) + 1);
  }

  /** @internal check, step 1: start counting the blocks found in thread caches. */
  checkBegin(): void {
    this.arena.refresh();
    this.checkMarks = new Map();
    this.checkCached = new Map();
  }

  /** @internal check: marks block `idx` of span `d` as listed; ERR_HEAP_CORRUPTED when it already is. */
  checkMark(d: number, idx: number, where: string): void {
    const marks = this.checkMarks!;
    let m = marks.get(d);
    if (m === undefined) {
      m = new Uint8Array(this.i32[d + SP_CAP]!);
      marks.set(d, m);
    }
    if (m[idx] !== 0) {
      throw corrupted(
        `block ${idx} of the span at ${this.u32[d + SP_START]} is listed twice (again in ${where})`,
      );
    }
    m[idx] = 1;
  }
}

import {
  type Arena,
  HakmemError,
  mutexLock,
  mutexUnlock,
  PM_DESC,
  PM_TIER,
  PM_TIER_MASK,
} from '@hakmem/page-arena';
import {
  FULL_SCAN_STEP,
  KEEP_EMPTY_SUPERSLABS,
  R_ABANDONED,
  R_AVAIL_HEAD,
  R_AVAIL_TAIL,
  R_CACHE_ROOT,
  R_EMPTY_SS,
  R_LOCK,
  R_LOCK_REG,
  R_LOCK_STATS,
  R_SLABS_OUT,
  R_SS_COUNT,
  R_SS_HEAD,
  ROOT_WORDS,
  SL_BITMAP,
  SL_BITMAP_CAP,
  SL_CARVED,
  SL_CLASS,
  SL_FREE,
  SL_INDEX,
  SL_INV,
  SL_NEXT,
  SL_OWNER,
  SL_PREV,
  SL_REMOTE,
  SL_SELF,
  SL_SHIFT,
  SL_START,
  SL_STATE,
  SL_USED,
  SL_WORDS,
  SLAB_ABANDONED,
  SLAB_BYTES,
  SLAB_DETACHED,
  SLAB_FULL,
  SLAB_PARTIAL,
  SLAB_POOL,
  SS_AVAIL_NEXT,
  SS_AVAIL_PREV,
  SS_EMPTY,
  SS_HEADER_WORDS,
  SS_IN_AVAIL,
  SS_NEXT,
  SS_PREV,
  SS_SLABS,
  SS_START,
  SUPERSLAB_SLABS,
  superslabDescBytes,
  TS_FULL,
  TS_FULL_COUNT,
  TS_FULL_CURSOR,
  TS_PARTIAL,
  TS_THREAD,
  TS_WORDS,
  TW_CACHE,
  TW_SLABS,
} from './layout';
import {
  TINY_CLASS_BLOCKS,
  TINY_CLASS_COUNT,
  TINY_CLASS_INV,
  TINY_CLASS_SHIFT,
  TINY_CLASS_SIZE,
  TINY_KIND,
  TINY_MAX_SIZE,
  tinyBlockIndex,
  tinyClassOf,
} from './size-classes';

const TIER_MASK = PM_TIER_MASK;

/** Per-class figures of the slabs (slow path: walks the registry). */
export interface SlabStats {
  /** SuperSlabs in the registry. */
  superslabs: number;
  /** Pages of all SuperSlabs. */
  pages: number;
  /** Slabs out of the pool (owned or abandoned). */
  slabs: number;
  /** Slabs in the pool (free for any class or thread). */
  poolSlabs: number;
  /** Abandoned slabs (owner detached or died), adoptable by any thread. */
  abandonedSlabs: number;
  /** Per class: slabs, blocks out of the slabs (live + cached + remote-pending), remote-pending blocks. */
  classes: Array<{ size: number; slabs: number; used: number; remote: number }>;
}

function corrupted(detail: string): HakmemError {
  return new HakmemError('ERR_HEAP_CORRUPTED', detail);
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/**
 * One thread's handle on the tiny tier's SuperSlabs (create it after `arena.threadAttach()`).
 * All state is in the shared memory; this object holds the thread's views and scratch space.
 *
 * Used alone it is a complete allocator for 0 – 1024 bytes (`malloc`/`free`/`usableSize`);
 * composed with @hakmem/tls-cache it is the cache's backend (`cacheRefill`/`cacheSpill`/…).
 */
export class Superslab {
  readonly arena: Arena;
  /** Heap-wide safety: strict bitmaps and link validation. */
  readonly strict: boolean;
  readonly threadId: number;
  /** The tier's id in the page map and the arena's tier directory. */
  readonly tier: number;
  /** i32 index of the tier root. */
  readonly root: number;
  /** Where a cache in front of these slabs keeps its state: its root word (counters of departed threads) … */
  readonly cacheRoot: number;
  /** … and its per-thread word of the tier (see @hakmem/tls-cache's `rootWord` and `threadWord`). */
  readonly cacheThreadWord = TW_CACHE;
  /** i32 index of this thread's area (0 after detach). */
  area: number;
  /** Length of the chain the last cacheRefill returned. */
  refilled = 0;
  /** Bytes of SuperSlabs returned to the arena by this handle (trim counts them). */
  releasedBytes = 0;
  /**
   * This thread's slabs by page (thread-private, not shared): `(d << 1) | class` for a slab it
   * owns (d, the descriptor's i32 index, is a multiple of 16, so this is ≥ 32), else 0. The
   * fast paths find a block's slab and class here with one load and know it is theirs.
   */
  /** @internal */
  readonly owned: Int32Array;
  private reclaimed: number[] = [];
  private checkMarks: Map<number, Uint8Array> | null = null;
  private checkCached: Map<number, number> | null = null;

  /**
   * This thread's handle on tier `tier` (an id from `arena.tierOpen`); without one, the heap's
   * 'tiny' tier (opened for sizes 0 … 1024 when the heap has none).
   */
  constructor(arena: Arena, tier?: number) {
    if (!(arena.threadId >= 1)) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `Superslab needs an attached thread (threadId ${arena.threadId}): call arena.threadAttach() first`,
      );
    }
    this.arena = arena;
    this.strict = arena.strict;
    this.threadId = arena.threadId;
    arena.refresh();
    this.tier = tier ?? superslabOpenTier(arena);
    this.root = arena.tierInfo(this.tier).root;
    this.cacheRoot = this.root + R_CACHE_ROOT;
    if (Atomics.load(this.i32, this.root + R_LOCK_REG) === 0) {
      // Registered so arena.breakLocksOf (reclaimThread) frees it if a thread dies holding it.
      arena.registerLock(this.root + R_LOCK);
      Atomics.store(this.i32, this.root + R_LOCK_REG, 1);
    }
    const record = arena.threadTierWords(this.tier) + TW_SLABS;
    let offset = Atomics.load(this.i32, record) >>> 0;
    if (offset === 0) {
      offset = arena.metaAlloc(TS_WORDS * 4);
      if (offset === 0)
        throw new HakmemError(
          'ERR_OUT_OF_MEMORY',
          `no room for the tiny tier's thread area of thread ${this.threadId} within maxBytes ${arena.maxBytes}`,
        );
      this.slabRefreshViews();
      this.i32[(offset >>> 2) + TS_THREAD] = this.threadId;
      Atomics.store(this.i32, record, offset);
    }
    this.area = offset >>> 2;
    this.owned = new Int32Array(Math.ceil(arena.maxBytes / SLAB_BYTES));
    // Another handle of this thread id may have acquired slabs: map them.
    for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
      for (const head of [TS_PARTIAL, TS_FULL]) {
        for (let d = this.i32[this.area + head + cls]!; d !== 0; d = this.i32[d + SL_NEXT]!)
          this.slabMapOwned(d, cls);
      }
    }
  }

  /** Records slab `d` of class `cls` as this thread's in the page map of owned slabs. */
  private slabMapOwned(d: number, cls: number): void {
    this.owned[this.u32[d + SL_START]! >>> 16] = (d << 1) | cls;
  }

  private slabUnmapOwned(d: number): void {
    this.owned[this.u32[d + SL_START]! >>> 16] = 0;
  }

  // ───────────────────────────── views and the tier lock ─────────────────────────────

  /** The arena's views: the one owner of this thread's views, current after `arena.refresh()`. */
  get i32(): Int32Array {
    return this.arena.i32;
  }

  get u32(): Uint32Array {
    return this.arena.u32;
  }

  get viewBytes(): number {
    return this.arena.viewBytes;
  }

  /** Picks up views another thread's growth (or a replacement of the buffer) made current. */
  slabRefreshViews(): void {
    this.arena.refresh();
  }

  private slabLock(): void {
    mutexLock(this.i32, this.root + R_LOCK, this.threadId, this.root + R_LOCK_STATS);
    // Descriptors published under the lock may lie in memory another thread grew.
    this.slabRefreshViews();
  }

  private slabUnlock(): void {
    mutexUnlock(this.i32, this.root + R_LOCK);
  }

  // ───────────────────────────── standalone allocator ─────────────────────────────

  /** A block of at least `size` bytes (0 ≤ size ≤ 1024), 0 when maxBytes cannot hold another slab. */
  malloc(size: number): number {
    const cls = tinyClassOf(size);
    if (cls < 0) {
      throw new HakmemError(
        'ERR_INVALID_SIZE',
        `size ${size} is not a tiny size: it must be an integer 0 … 1024`,
      );
    }
    const p = this.cacheRefill(cls, 1);
    if (p !== 0 && this.strict) this.slabMarkLive(p, cls);
    return p;
  }

  /** Frees a block from `malloc` (any thread's). Strict: ERR_INVALID_POINTER / ERR_DOUBLE_FREE, nothing changed. */
  free(ptr: number): void {
    if (ptr >= this.viewBytes) this.slabRefreshViews();
    const entry = this.arena.pageEntry(ptr);
    if (entry < 0 || (this.u32[entry + PM_TIER]! & TIER_MASK) !== this.tier) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `free(${ptr}): not in a tiny slab (tiny blocks live in pages of tier ${this.tier})`,
      );
    }
    const d = this.u32[entry + PM_DESC]! >>> 2;
    if (!(this.owned[ptr >>> 16]! > 0)) {
      this.slabFreeRemote(ptr, d);
      return;
    }
    const cls = this.i32[d + SL_CLASS]!;
    const idx = this.slabBlockIndex(d, cls, ptr);
    if (idx < 0) throw this.slabNotBlock(ptr, d, cls);
    if (this.strict) {
      const w = this.i32[d + SL_BITMAP]! + ((idx >>> 5) << 1);
      const bit = 1 << (idx & 31);
      if ((this.i32[w]! & bit) === 0 || (this.i32[w + 1]! & bit) !== 0) {
        throw new HakmemError(
          'ERR_DOUBLE_FREE',
          `free(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is not live (already freed)`,
        );
      }
      this.i32[w] = this.i32[w]! & ~bit;
    }
    this.slabPushLocal(d, cls, ptr);
  }

  /** Usable bytes of the block at `ptr` (its class size). ERR_INVALID_POINTER unless a block start (strict: a live one). */
  usableSize(ptr: number): number {
    if (ptr >= this.viewBytes) this.slabRefreshViews();
    const entry = this.arena.pageEntry(ptr);
    if (entry < 0 || (this.u32[entry + PM_TIER]! & TIER_MASK) !== this.tier) {
      throw new HakmemError('ERR_INVALID_POINTER', `usableSize(${ptr}): not in a tiny slab`);
    }
    return this.slabUsableSize(ptr, this.u32[entry + PM_DESC]! >>> 2);
  }

  /** @internal usableSize for a known slab descriptor `d` (i32 index). */
  slabUsableSize(ptr: number, d: number): number {
    if (d >= this.i32.length) this.slabRefreshViews();
    const i32 = this.i32;
    const cls = d === 0 ? -1 : i32[d + SL_CLASS]!;
    const idx = cls < 0 ? -1 : this.slabBlockIndex(d, cls, ptr);
    if (idx < 0) throw this.slabNotBlock(ptr, d, cls);
    if (this.strict) {
      if (i32[d + SL_BITMAP]! + 2 * bitmapWords(i32[d + SL_CLASS]!) > i32.length) this.slabRefreshViews();
      const w = this.i32[d + SL_BITMAP]! + ((idx >>> 5) << 1);
      const bit = 1 << (idx & 31);
      if ((this.i32[w]! & bit) === 0 || (Atomics.load(this.i32, w + 1) & bit) !== 0) {
        throw new HakmemError(
          'ERR_INVALID_POINTER',
          `usableSize(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is not live`,
        );
      }
    }
    return TINY_CLASS_SIZE[cls]!;
  }

  /** @internal
   * Block index of `ptr` in slab `d` of class `cls`, -1 when it is not the start of a carved
   * block. The slab's carve mark is the owner's plain word: another thread reading it may see
   * an older value, which only makes a racing (invalid) free look invalid.
   */
  slabBlockIndex(d: number, cls: number, ptr: number): number {
    const off = ptr - this.u32[d + SL_START]!;
    if (!(off >= 0 && off < SLAB_BYTES)) return -1;
    const idx = tinyBlockIndex(cls, off);
    return idx < this.i32[d + SL_CARVED]! ? idx : -1;
  }

  private slabNotBlock(ptr: number, d: number, cls: number): HakmemError {
    if (cls < 0 || d === 0) {
      return new HakmemError(
        'ERR_INVALID_POINTER',
        `pointer ${ptr} is in a tiny slab that holds no blocks (the slab is free)`,
      );
    }
    const size = TINY_CLASS_SIZE[cls]!;
    const start = this.u32[d + SL_START]!;
    return new HakmemError(
      'ERR_INVALID_POINTER',
      `pointer ${ptr} is not a block start: its slab at ${start} holds ${size} B blocks (offset ${ptr - start} is not a multiple of ${size} below ${this.i32[d + SL_CARVED]! * size})`,
    );
  }

  /** @internal Strict: sets the alloc bit of a block from a free list about to be handed out (validated: ERR_HEAP_CORRUPTED). */
  slabMarkLive(p: number, cls: number): void {
    const d = this.slabCheckListBlock(p, cls, 'handed out');
    const idx = this.slabBlockIndex(d, cls, p);
    const w = this.i32[d + SL_BITMAP]! + ((idx >>> 5) << 1);
    this.i32[w] = this.i32[w]! | (1 << (idx & 31));
  }

  /** @internal
   * Validates a block taken from one of this thread's free lists: in a tiny slab of class
   * `cls` owned by this thread, on the class grid, carved, and (strict) not live. Returns the
   * slab descriptor's i32 index; throws ERR_HEAP_CORRUPTED (a use-after-free write) otherwise.
   */
  slabCheckListBlock(p: number, cls: number, what: string): number {
    if (p >= this.viewBytes) this.slabRefreshViews();
    const entry = p > 0 && p < this.viewBytes ? this.arena.pageEntry(p) : -1;
    if (entry < 0 || (this.u32[entry + PM_TIER]! & TIER_MASK) !== this.tier) {
      throw corrupted(
        `free-list link ${hex(p)} of the ${TINY_CLASS_SIZE[cls]} B class points outside every tiny slab (a write after free?): not ${what}`,
      );
    }
    const d = this.u32[entry + PM_DESC]! >>> 2;
    const i32 = this.i32;
    if (d === 0 || i32[d + SL_CLASS] !== cls || i32[d + SL_OWNER] !== this.threadId) {
      throw corrupted(
        `free-list link ${hex(p)} of the ${TINY_CLASS_SIZE[cls]} B class of thread ${this.threadId} points into a slab of another class or thread (a write after free?): not ${what}`,
      );
    }
    const idx = this.slabBlockIndex(d, cls, p);
    if (idx < 0) {
      throw corrupted(
        `free-list link ${hex(p)} is off the ${TINY_CLASS_SIZE[cls]} B grid of its slab at ${i32[d + SL_START]! >>> 0} (a write after free?): not ${what}`,
      );
    }
    if (this.strict) {
      const w = i32[d + SL_BITMAP]! + ((idx >>> 5) << 1);
      const bit = 1 << (idx & 31);
      if ((i32[w]! & bit) !== 0 || (i32[w + 1]! & bit) !== 0) {
        throw corrupted(
          `free-list link ${hex(p)} names a block that is live (a write after free or a double free): not ${what}`,
        );
      }
    }
    return d;
  }

  /** Strict: a link of slab `d`'s local free list must be a free block of that slab (ERR_HEAP_CORRUPTED). */
  private slabCheckLocalLink(d: number, cls: number, p: number): void {
    const idx = this.slabBlockIndex(d, cls, p);
    if (idx < 0) {
      throw corrupted(
        `local free list of the ${TINY_CLASS_SIZE[cls]} B slab at ${this.u32[d + SL_START]} links to ${hex(p)}, outside the slab or off its grid (a write after free?)`,
      );
    }
    const i32 = this.i32;
    const w = i32[d + SL_BITMAP]! + ((idx >>> 5) << 1);
    const bit = 1 << (idx & 31);
    if ((i32[w]! & bit) !== 0 || (i32[w + 1]! & bit) !== 0) {
      throw corrupted(
        `local free list of the slab at ${this.u32[d + SL_START]} links to block ${idx}, which is live (a write after free or a double free)`,
      );
    }
  }

  // ───────────────────────────── remote frees ─────────────────────────────

  /** @internal
   * Frees `ptr` (in slab `d`, i32 index of its descriptor) into the slab's lock-free remote
   * list: for blocks of other threads' or abandoned slabs. Returns the block's class.
   */
  slabFreeRemote(ptr: number, d: number): number {
    if (ptr >= this.viewBytes || d >= this.i32.length) this.slabRefreshViews();
    const i32 = this.i32;
    const cls = d === 0 ? -1 : i32[d + SL_CLASS]!;
    const idx = cls < 0 ? -1 : this.slabBlockIndex(d, cls, ptr);
    if (idx < 0) throw this.slabNotBlock(ptr, d, cls);
    if (this.strict) {
      const bm = i32[d + SL_BITMAP]!;
      if (bm + 2 * bitmapWords(cls) > i32.length) return this.slabFreeRemoteStale(ptr, d);
      const w = bm + ((idx >>> 5) << 1);
      const bit = 1 << (idx & 31);
      if ((Atomics.or(i32, w + 1, bit) & bit) !== 0) {
        throw new HakmemError(
          'ERR_DOUBLE_FREE',
          `free(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is already waiting in the slab's remote-free list`,
        );
      }
      if ((Atomics.load(i32, w) & bit) === 0) {
        Atomics.and(i32, w + 1, ~bit);
        throw new HakmemError(
          'ERR_DOUBLE_FREE',
          `free(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is not live (already freed)`,
        );
      }
    }
    // CAS push, retried in place (a retry call site would meet its first contention without type feedback).
    const head = d + SL_REMOTE;
    const u32 = this.u32;
    for (;;) {
      const old = Atomics.load(i32, head);
      u32[ptr >>> 2] = old;
      if (Atomics.compareExchange(i32, head, old, ptr | 0) === old) return cls;
    }
  }

  /** The slab's bitmaps lie in memory another thread grew: refresh the views and retry. */
  private slabFreeRemoteStale(ptr: number, d: number): number {
    this.slabRefreshViews();
    const i32 = this.i32;
    if (i32[d + SL_BITMAP]! + 2 * bitmapWords(i32[d + SL_CLASS]!) > i32.length) {
      throw corrupted(
        `slab descriptor ${d * 4} names bitmaps at i32 index ${i32[d + SL_BITMAP]} beyond the memory`,
      );
    }
    return this.slabFreeRemote(ptr, d);
  }

  /**
   * Owner: moves the whole remote list of slab `d` to its local list; returns the local list's
   * new head, 0 when the remote list was empty. (Too large for V8 to inline: callers that run
   * it on every empty local list keep its first real collection out of their optimised code.)
   */
  private slabCollectRemote(d: number): number {
    const i32 = this.i32;
    const u32 = this.u32;
    if (Atomics.load(i32, d + SL_REMOTE) === 0) return 0;
    const head = Atomics.exchange(i32, d + SL_REMOTE, 0) >>> 0;
    if (head === 0) return 0;
    const cls = i32[d + SL_CLASS]!;
    const cap = TINY_CLASS_BLOCKS[i32[d + SL_CLASS]!]!;
    const strict = this.strict;
    const bm = i32[d + SL_BITMAP]!;
    let p = head;
    let tail = head;
    let n = 0;
    while (p !== 0) {
      if (++n > cap)
        throw corrupted(
          `remote-free list of the slab at ${u32[d + SL_START]} is longer than its ${cap} blocks (a cycle: a write after free?)`,
        );
      const idx = this.slabBlockIndex(d, cls, p);
      if (idx < 0) {
        throw corrupted(
          `remote-free list of the slab at ${u32[d + SL_START]} links to ${hex(p)}, off its ${TINY_CLASS_SIZE[cls]} B grid (a write after free?)`,
        );
      }
      if (strict) {
        const w = bm + ((idx >>> 5) << 1);
        const bit = 1 << (idx & 31);
        if ((i32[w]! & bit) === 0 || (Atomics.load(i32, w + 1) & bit) === 0) {
          throw corrupted(
            `remote-free list of the slab at ${u32[d + SL_START]} holds block ${idx}, whose bitmaps do not say "freed by another thread"`,
          );
        }
        // The alloc bit goes first: a second remote free that lands before the remote bit is
        // cleared finds the remote bit set, and one after finds the alloc bit clear; either is
        // ERR_DOUBLE_FREE at the second free (the Atomics.and publishes the plain store).
        i32[w] = i32[w]! & ~bit;
        Atomics.and(i32, w + 1, ~bit);
      }
      tail = p;
      p = u32[p >>> 2]!;
    }
    u32[tail >>> 2] = u32[d + SL_FREE]!;
    i32[d + SL_FREE] = head;
    i32[d + SL_USED] = i32[d + SL_USED]! - n;
    return head;
  }

  // ───────────────────────────── cache backend: refill and spill ─────────────────────────────

  /**
   * Detaches up to `want` free blocks of class `cls` from this thread's slabs (taking a slab
   * from the pool, adopting an abandoned one or adding a SuperSlab when it must), linked
   * through their first word; returns the chain head and sets `refilled`, or 0 on
   * out-of-memory. The blocks count as used by their slab until they come back.
   */
  cacheRefill(cls: number, want: number): number {
    this.slabRefreshViews();
    for (;;) {
      const listHead = this.area + TS_PARTIAL + cls;
      let d = this.i32[listHead]!;
      while (d !== 0) {
        const p = this.slabTake(d, cls, want);
        if (p !== 0) return p;
        this.slabMoveToFull(d, cls);
        d = this.i32[listHead]!;
      }
      if (!this.slabFind(cls)) {
        this.refilled = 0;
        return 0;
      }
    }
  }

  /**
   * Takes up to `want` blocks from slab `d`: local list, else the remote list, else carving.
   * Every call site here runs from the first refill of a fresh slab on (an empty local list
   * calls slabCollectRemote, which finds nothing, then carves), so none meets its first use
   * when cross-thread frees begin and the optimised refill path is not deoptimised by them.
   */
  private slabTake(d: number, cls: number, want: number): number {
    let head = this.u32[d + SL_FREE]!;
    if (head === 0) {
      head = this.slabCollectRemote(d);
      if (head === 0) return this.slabCarve(d, cls, want);
    }
    return this.slabTakeLocal(d, cls, want, head);
  }

  /** Detaches up to `want` blocks from the head `head` (≠ 0) of slab `d`'s local list. */
  private slabTakeLocal(d: number, cls: number, want: number, head: number): number {
    const i32 = this.i32;
    const u32 = this.u32;
    const strict = this.strict;
    if (strict) this.slabCheckLocalLink(d, cls, head);
    let tail = head;
    let n = 1;
    for (; n < want; n++) {
      const next = u32[tail >>> 2]!;
      if (next === 0) break;
      if (strict) this.slabCheckLocalLink(d, cls, next);
      tail = next;
    }
    const rest = u32[tail >>> 2]!;
    u32[tail >>> 2] = 0;
    i32[d + SL_FREE] = rest;
    i32[d + SL_USED] = i32[d + SL_USED]! + n;
    this.refilled = n;
    return head;
  }

  /** Carves up to `want` fresh blocks from slab `d` (0 when it is fully carved). */
  private slabCarve(d: number, cls: number, want: number): number {
    const i32 = this.i32;
    const u32 = this.u32;
    const carved = i32[d + SL_CARVED]!;
    const room = TINY_CLASS_BLOCKS[cls]! - carved;
    if (room <= 0) return 0;
    const n = Math.min(want, room);
    const size = TINY_CLASS_SIZE[cls]!;
    const first = u32[d + SL_START]! + carved * size;
    let p = first;
    for (let i = 1; i < n; i++) {
      u32[p >>> 2] = p + size;
      p += size;
    }
    u32[p >>> 2] = 0;
    i32[d + SL_CARVED] = carved + n;
    i32[d + SL_USED] = i32[d + SL_USED]! + n;
    this.refilled = n;
    return first;
  }

  /**
   * Makes a slab with free blocks the head of the partial list of `cls`: a full slab with
   * remote frees, an abandoned slab, a pool slab, a new SuperSlab. False on out-of-memory.
   */
  private slabFind(cls: number): boolean {
    if (this.slabScanFull(cls, FULL_SCAN_STEP)) return true;
    if (this.slabAdopt(cls)) return true;
    if (this.slabAcquire(cls)) return true;
    if (this.slabScanFull(cls, this.i32[this.area + TS_FULL_COUNT + cls]!)) return true;
    while (this.superslabAdd()) {
      if (this.slabAcquire(cls)) return true;
    }
    // Out of memory: give back the empty slabs this thread keeps for other classes, then retry.
    if (this.slabReleaseKept() > 0 && this.slabAcquire(cls)) return true;
    return false;
  }

  /** Looks at up to `limit` full slabs of `cls` for remote frees; moves the first found to the partial list. */
  private slabScanFull(cls: number, limit: number): boolean {
    const i32 = this.i32;
    const area = this.area;
    const count = i32[area + TS_FULL_COUNT + cls]!;
    let n = Math.min(limit, count);
    if (n === 0) return false;
    const first = i32[area + TS_FULL + cls]!;
    let d = i32[area + TS_FULL_CURSOR + cls]! || first;
    while (n-- > 0) {
      const next = i32[d + SL_NEXT]! || first;
      if (Atomics.load(i32, d + SL_REMOTE) !== 0) {
        i32[area + TS_FULL_CURSOR + cls] = next === d ? 0 : next;
        this.slabUnlinkFull(d, cls);
        this.slabCollectRemote(d);
        this.slabPushPartial(d, cls);
        return true;
      }
      d = next;
    }
    i32[area + TS_FULL_CURSOR + cls] = d;
    return false;
  }

  /** Adopts an abandoned slab of `cls` (owner 0 → this thread). */
  private slabAdopt(cls: number): boolean {
    const headIndex = this.root + R_ABANDONED + cls;
    if (Atomics.load(this.i32, headIndex) === 0) return false;
    this.slabLock();
    const d = this.i32[headIndex]!;
    if (d !== 0) Atomics.store(this.i32, headIndex, this.i32[d + SL_NEXT]!);
    this.slabUnlock();
    if (d === 0) return false;
    if (Atomics.compareExchange(this.i32, d + SL_OWNER, 0, this.threadId) !== 0) {
      throw corrupted(
        `abandoned slab at ${this.u32[d + SL_START]} has owner ${Atomics.load(this.i32, d + SL_OWNER)}`,
      );
    }
    this.slabCollectRemote(d);
    this.slabMapOwned(d, cls);
    this.slabPushPartial(d, cls);
    return true;
  }

  /** Takes a slab from the pool (under the tier lock) and gives it class `cls`. */
  private slabAcquire(cls: number): boolean {
    this.slabLock();
    const i32 = this.i32;
    const root = this.root;
    const s = i32[root + R_AVAIL_HEAD]!;
    if (s === 0) {
      this.slabUnlock();
      return false;
    }
    const mask = i32[s + SS_EMPTY]!;
    const bit = mask & -mask;
    const index = 31 - Math.clz32(bit);
    if (mask === superslabFullMask(i32[s + SS_SLABS]!)) i32[root + R_EMPTY_SS] = i32[root + R_EMPTY_SS]! - 1;
    i32[s + SS_EMPTY] = mask ^ bit;
    if ((mask ^ bit) === 0) this.availUnlink(s);
    i32[root + R_SLABS_OUT] = i32[root + R_SLABS_OUT]! + 1;
    this.slabUnlock();
    const d = s + SS_HEADER_WORDS + index * SL_WORDS;
    if (!this.slabInit(d, cls)) {
      this.slabRelease(d);
      return false;
    }
    this.slabPushPartial(d, cls);
    return true;
  }

  /** Gives a slab fresh from the pool class `cls` and this thread as owner. False when its strict bitmaps do not fit. */
  private slabInit(d: number, cls: number): boolean {
    if (this.strict) {
      const words = (TINY_CLASS_BLOCKS[cls]! + 31) >>> 5;
      if (this.i32[d + SL_BITMAP_CAP]! < words) {
        const bytes = bitmapBytes(words);
        const offset = this.arena.metaAlloc(bytes);
        if (offset === 0) return false;
        const old = this.i32[d + SL_BITMAP]!;
        if (old !== 0) this.arena.metaFree(old * 4);
        this.slabRefreshViews();
        this.i32[d + SL_BITMAP] = offset >>> 2;
        this.i32[d + SL_BITMAP_CAP] = bytes >>> 3;
      } else {
        const bm = this.i32[d + SL_BITMAP]!;
        this.i32.fill(0, bm, bm + 2 * words);
      }
    }
    const i32 = this.i32;
    i32[d + SL_CLASS] = cls;
    i32[d + SL_FREE] = 0;
    Atomics.store(i32, d + SL_REMOTE, 0);
    i32[d + SL_USED] = 0;
    i32[d + SL_CARVED] = 0;
    i32[d + SL_INV] = TINY_CLASS_INV[cls]!;
    i32[d + SL_SHIFT] = TINY_CLASS_SHIFT[cls]!;
    i32[d + SL_STATE] = SLAB_DETACHED;
    Atomics.store(i32, d + SL_OWNER, this.threadId);
    this.slabMapOwned(d, cls);
    return true;
  }

  /** Returns slab `d` (in no list, no blocks out) to the pool; a fully empty SuperSlab beyond the kept one goes back to the arena. */
  private slabRelease(d: number): void {
    const i32 = this.i32;
    i32[d + SL_CLASS] = -1;
    i32[d + SL_STATE] = SLAB_POOL;
    i32[d + SL_FREE] = 0;
    i32[d + SL_USED] = 0;
    i32[d + SL_CARVED] = 0;
    i32[d + SL_NEXT] = 0;
    i32[d + SL_PREV] = 0;
    this.slabUnmapOwned(d);
    Atomics.store(i32, d + SL_OWNER, 0);
    const s = d - SS_HEADER_WORDS - i32[d + SL_INDEX]! * SL_WORDS;
    const root = this.root;
    let release = 0;
    this.slabLock();
    const mask = i32[s + SS_EMPTY]! | (1 << i32[d + SL_INDEX]!);
    i32[s + SS_EMPTY] = mask;
    i32[root + R_SLABS_OUT] = i32[root + R_SLABS_OUT]! - 1;
    if (i32[s + SS_IN_AVAIL] === 0) this.availPush(s, false);
    if (mask === superslabFullMask(i32[s + SS_SLABS]!)) {
      if (i32[root + R_EMPTY_SS]! >= KEEP_EMPTY_SUPERSLABS) {
        this.availUnlink(s);
        this.registryUnlink(s);
        release = s;
      } else {
        i32[root + R_EMPTY_SS] = i32[root + R_EMPTY_SS]! + 1;
        this.availUnlink(s);
        this.availPush(s, true);
      }
    }
    this.slabUnlock();
    if (release !== 0) this.superslabFree(release);
  }

  /** Owner: used dropped to 0 in slab `d`. Keeps it when it is the class's only partial slab, else releases it. */
  private slabRetire(d: number, cls: number): void {
    const i32 = this.i32;
    const state = i32[d + SL_STATE]!;
    if (state === SLAB_PARTIAL) {
      if (i32[this.area + TS_PARTIAL + cls] === d && i32[d + SL_NEXT] === 0) return;
      this.slabUnlinkPartial(d, cls);
    } else if (state === SLAB_FULL) {
      this.slabUnlinkFull(d, cls);
    } else {
      return;
    }
    this.slabRelease(d);
  }

  /** Blocks of class `cls` (this thread's, chained from `head`) back to their slabs. */
  cacheSpill(cls: number, head: number, count: number): void {
    this.slabRefreshViews();
    let p = head;
    for (let i = 0; i < count && p !== 0; i++) {
      // A cached block lies in a slab of this class that this thread owns (its owned-map entry).
      const e = this.owned[p >>> 16]!;
      const d = e > 0 && (e & 31) === cls ? (e & ~31) >>> 1 : this.slabCheckListBlock(p, cls, 'spilled');
      if (this.strict) this.slabCheckLocalLink(d, cls, p);
      else if (this.slabBlockIndex(d, cls, p) < 0) this.slabCheckListBlock(p, cls, 'spilled');
      const next = this.u32[p >>> 2]!;
      this.slabPushLocal(d, cls, p);
      p = next;
    }
  }

  /** Owner: block `p` (alloc bit already clear) onto slab `d`'s local list; list upkeep. */
  private slabPushLocal(d: number, cls: number, p: number): void {
    const i32 = this.i32;
    this.u32[p >>> 2] = this.u32[d + SL_FREE]!;
    i32[d + SL_FREE] = p;
    const used = i32[d + SL_USED]! - 1;
    i32[d + SL_USED] = used;
    if (i32[d + SL_STATE] === SLAB_FULL) {
      this.slabUnlinkFull(d, cls);
      this.slabPushPartial(d, cls);
    }
    if (used === 0) this.slabRetire(d, cls);
  }

  // ───────────────────────────── the thread's lists ─────────────────────────────

  /** Pushes `d` (in no list) as the head (current slab) of the partial list, or into the full list when it has nothing free. */
  private slabPushPartial(d: number, cls: number): void {
    const i32 = this.i32;
    if (
      i32[d + SL_FREE] === 0 &&
      i32[d + SL_CARVED]! >= TINY_CLASS_BLOCKS[cls]! &&
      Atomics.load(i32, d + SL_REMOTE) === 0
    ) {
      this.slabPushFull(d, cls);
      return;
    }
    const headIndex = this.area + TS_PARTIAL + cls;
    const next = i32[headIndex]!;
    i32[d + SL_NEXT] = next;
    i32[d + SL_PREV] = 0;
    if (next !== 0) i32[next + SL_PREV] = d;
    i32[d + SL_STATE] = SLAB_PARTIAL;
    i32[headIndex] = d;
  }

  private slabUnlinkPartial(d: number, cls: number): void {
    const i32 = this.i32;
    const prev = i32[d + SL_PREV]!;
    const next = i32[d + SL_NEXT]!;
    if (prev !== 0) i32[prev + SL_NEXT] = next;
    else i32[this.area + TS_PARTIAL + cls] = next;
    if (next !== 0) i32[next + SL_PREV] = prev;
    i32[d + SL_STATE] = SLAB_DETACHED;
  }

  private slabPushFull(d: number, cls: number): void {
    const i32 = this.i32;
    const headIndex = this.area + TS_FULL + cls;
    const next = i32[headIndex]!;
    i32[d + SL_NEXT] = next;
    i32[d + SL_PREV] = 0;
    if (next !== 0) i32[next + SL_PREV] = d;
    i32[d + SL_STATE] = SLAB_FULL;
    i32[headIndex] = d;
    i32[this.area + TS_FULL_COUNT + cls] = i32[this.area + TS_FULL_COUNT + cls]! + 1;
  }

  private slabUnlinkFull(d: number, cls: number): void {
    const i32 = this.i32;
    const area = this.area;
    const prev = i32[d + SL_PREV]!;
    const next = i32[d + SL_NEXT]!;
    if (prev !== 0) i32[prev + SL_NEXT] = next;
    else i32[area + TS_FULL + cls] = next;
    if (next !== 0) i32[next + SL_PREV] = prev;
    if (i32[area + TS_FULL_CURSOR + cls] === d) i32[area + TS_FULL_CURSOR + cls] = next;
    i32[area + TS_FULL_COUNT + cls] = i32[area + TS_FULL_COUNT + cls]! - 1;
    i32[d + SL_STATE] = SLAB_DETACHED;
  }

  private slabMoveToFull(d: number, cls: number): void {
    this.slabUnlinkPartial(d, cls);
    this.slabPushFull(d, cls);
  }

  /** Releases every empty slab this thread keeps (the last partial slab of each class). Returns how many. */
  private slabReleaseKept(): number {
    let released = 0;
    for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
      let d = this.i32[this.area + TS_PARTIAL + cls]!;
      while (d !== 0) {
        const next = this.i32[d + SL_NEXT]!;
        if (Atomics.load(this.i32, d + SL_REMOTE) !== 0) this.slabCollectRemote(d);
        if (this.i32[d + SL_USED] === 0) {
          this.slabUnlinkPartial(d, cls);
          this.slabRelease(d);
          released++;
        }
        d = next;
      }
    }
    return released;
  }

  // ───────────────────────────── SuperSlabs ─────────────────────────────

  /** Adds a SuperSlab from the arena (32 pages, fewer when no 32-page run fits) with every slab in the pool. */
  private superslabAdd(): boolean {
    const arena = this.arena;
    let pages = SUPERSLAB_SLABS;
    let run = 0;
    for (; pages >= 1; pages >>= 1) {
      run = arena.allocRun(pages, this.tier);
      if (run !== 0) break;
    }
    if (run === 0) return false;
    // Always the full size: one metaAlloc class for every descriptor (each class costs a META page).
    const desc = arena.metaAlloc(superslabDescBytes(SUPERSLAB_SLABS));
    if (desc === 0) {
      arena.freeRun(run);
      return false;
    }
    this.slabRefreshViews();
    const i32 = this.i32;
    const s = desc >>> 2;
    i32[s + SS_START] = run;
    i32[s + SS_SLABS] = pages;
    i32[s + SS_EMPTY] = superslabFullMask(pages);
    const firstPage = Math.floor(run / SLAB_BYTES);
    for (let i = 0; i < pages; i++) {
      const d = s + SS_HEADER_WORDS + i * SL_WORDS;
      i32[d + SL_CLASS] = -1;
      i32[d + SL_START] = run + i * SLAB_BYTES;
      i32[d + SL_SELF] = d;
      i32[d + SL_INDEX] = i;
      i32[d + SL_STATE] = SLAB_POOL;
      arena.setPageDesc(firstPage + i, d * 4);
    }
    const root = this.root;
    this.slabLock();
    const head = this.i32[root + R_SS_HEAD]!;
    this.i32[s + SS_NEXT] = head;
    if (head !== 0) this.i32[head + SS_PREV] = s;
    this.i32[root + R_SS_HEAD] = s;
    this.i32[root + R_SS_COUNT] = this.i32[root + R_SS_COUNT]! + 1;
    this.i32[root + R_EMPTY_SS] = this.i32[root + R_EMPTY_SS]! + 1;
    this.availPush(s, false);
    this.slabUnlock();
    return true;
  }

  /** Returns SuperSlab `s` (unlinked, every slab in the pool) to the arena. */
  private superslabFree(s: number): void {
    const arena = this.arena;
    const slabs = this.i32[s + SS_SLABS]!;
    const run = this.u32[s + SS_START]!;
    for (let i = 0; i < slabs; i++) {
      const bm = this.i32[s + SS_HEADER_WORDS + i * SL_WORDS + SL_BITMAP]!;
      if (bm !== 0) arena.metaFree(bm * 4);
    }
    arena.freeRun(run);
    arena.metaFree(s * 4);
    this.releasedBytes += slabs * SLAB_BYTES;
  }

  /** Avail list: at the head (partly used SuperSlabs, taken first) or the tail (fully empty ones). Tier lock held. */
  private availPush(s: number, tail: boolean): void {
    const i32 = this.i32;
    const root = this.root;
    if (tail) {
      const prev = i32[root + R_AVAIL_TAIL]!;
      i32[s + SS_AVAIL_PREV] = prev;
      i32[s + SS_AVAIL_NEXT] = 0;
      if (prev !== 0) i32[prev + SS_AVAIL_NEXT] = s;
      else i32[root + R_AVAIL_HEAD] = s;
      i32[root + R_AVAIL_TAIL] = s;
    } else {
      const next = i32[root + R_AVAIL_HEAD]!;
      i32[s + SS_AVAIL_NEXT] = next;
      i32[s + SS_AVAIL_PREV] = 0;
      if (next !== 0) i32[next + SS_AVAIL_PREV] = s;
      else i32[root + R_AVAIL_TAIL] = s;
      i32[root + R_AVAIL_HEAD] = s;
    }
    i32[s + SS_IN_AVAIL] = 1;
  }

  private availUnlink(s: number): void {
    const i32 = this.i32;
    const root = this.root;
    const prev = i32[s + SS_AVAIL_PREV]!;
    const next = i32[s + SS_AVAIL_NEXT]!;
    if (prev !== 0) i32[prev + SS_AVAIL_NEXT] = next;
    else i32[root + R_AVAIL_HEAD] = next;
    if (next !== 0) i32[next + SS_AVAIL_PREV] = prev;
    else i32[root + R_AVAIL_TAIL] = prev;
    i32[s + SS_AVAIL_NEXT] = 0;
    i32[s + SS_AVAIL_PREV] = 0;
    i32[s + SS_IN_AVAIL] = 0;
  }

  private registryUnlink(s: number): void {
    const i32 = this.i32;
    const root = this.root;
    const prev = i32[s + SS_PREV]!;
    const next = i32[s + SS_NEXT]!;
    if (prev !== 0) i32[prev + SS_NEXT] = next;
    else i32[root + R_SS_HEAD] = next;
    if (next !== 0) i32[next + SS_PREV] = prev;
    i32[root + R_SS_COUNT] = i32[root + R_SS_COUNT]! - 1;
  }

  // ───────────────────────────── detach, reclaim, trim ─────────────────────────────

  /** Abandons slab `d` (in no list, blocks still out): owner 0, adoptable by any thread. */
  private slabAbandon(d: number): void {
    const i32 = this.i32;
    const cls = i32[d + SL_CLASS]!;
    i32[d + SL_STATE] = SLAB_ABANDONED;
    this.slabUnmapOwned(d);
    Atomics.store(i32, d + SL_OWNER, 0);
    const headIndex = this.root + R_ABANDONED + cls;
    this.slabLock();
    this.i32[d + SL_NEXT] = this.i32[headIndex]!;
    this.i32[d + SL_PREV] = 0;
    Atomics.store(this.i32, headIndex, d);
    this.slabUnlock();
  }

  /** Slab `d` leaves this thread: empty → pool, else abandoned. It must be in no list. */
  private slabLetGo(d: number): void {
    this.slabCollectRemote(d);
    if (this.i32[d + SL_USED] === 0) this.slabRelease(d);
    else this.slabAbandon(d);
  }

  /**
   * The thread is leaving (flush its caches first): every slab it owns goes to the pool
   * (empty) or becomes adoptable; its area is freed.
   */
  slabDetach(): void {
    if (this.area === 0) return;
    this.slabRefreshViews();
    for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
      for (;;) {
        const d = this.i32[this.area + TS_PARTIAL + cls]!;
        if (d === 0) break;
        this.slabUnlinkPartial(d, cls);
        this.slabLetGo(d);
      }
      for (;;) {
        const d = this.i32[this.area + TS_FULL + cls]!;
        if (d === 0) break;
        this.slabUnlinkFull(d, cls);
        this.slabLetGo(d);
      }
    }
    this.slabFreeArea(this.threadId);
    this.area = 0;
  }

  private slabFreeArea(threadId: number): void {
    const words = this.arena.threadTierWords(this.tier, threadId);
    if (words === 0) return;
    const offset = Atomics.exchange(this.i32, words + TW_SLABS, 0) >>> 0;
    if (offset !== 0) this.arena.metaFree(offset);
  }

  /**
   * Reclaim of a dead thread, step 1: this thread takes over every slab the dead one owns
   * (found through the registry, so a list the dead thread left half-changed cannot hide one),
   * so its cached blocks can come back with `cacheRecover`. Step 2 is `slabReclaimEnd`.
   */
  slabReclaimBegin(deadThreadId: number): void {
    this.slabRefreshViews();
    const i32 = this.i32;
    if ((Atomics.load(i32, this.root + R_LOCK) & 0x7fffffff) === deadThreadId) {
      // The dead thread died holding the tier lock: free it (its critical sections are short stores).
      Atomics.store(i32, this.root + R_LOCK, 0);
      Atomics.notify(i32, this.root + R_LOCK);
    }
    const found = this.reclaimed;
    found.length = 0;
    this.slabLock();
    for (let s = this.i32[this.root + R_SS_HEAD]!; s !== 0; s = this.i32[s + SS_NEXT]!) {
      const slabs = this.i32[s + SS_SLABS]!;
      for (let i = 0; i < slabs; i++) {
        const d = s + SS_HEADER_WORDS + i * SL_WORDS;
        if (Atomics.load(this.i32, d + SL_OWNER) === deadThreadId) found.push(d);
      }
    }
    this.slabUnlock();
    for (const d of found) {
      Atomics.compareExchange(this.i32, d + SL_OWNER, deadThreadId, this.threadId);
      this.i32[d + SL_STATE] = SLAB_DETACHED;
    }
  }

  /**
   * Reclaim: a block found in the dead thread's cache. When it is a free block of class `cls`
   * in a slab taken over by slabReclaimBegin, it goes back to its slab and the link it held is
   * returned; otherwise -1 (the walk of that list stops: the rest was in flight).
   */
  cacheRecover(cls: number, ptr: number, _deadThreadId: number): number {
    if (ptr >= this.viewBytes) this.slabRefreshViews();
    const entry = ptr > 0 && ptr < this.viewBytes ? this.arena.pageEntry(ptr) : -1;
    if (entry < 0 || (this.u32[entry + PM_TIER]! & TIER_MASK) !== this.tier) return -1;
    const d = this.u32[entry + PM_DESC]! >>> 2;
    const i32 = this.i32;
    if (
      d === 0 ||
      i32[d + SL_CLASS] !== cls ||
      i32[d + SL_OWNER] !== this.threadId ||
      i32[d + SL_STATE] !== SLAB_DETACHED
    ) {
      return -1;
    }
    const idx = this.slabBlockIndex(d, cls, ptr);
    if (idx < 0) return -1;
    if (this.strict) {
      const w = i32[d + SL_BITMAP]! + ((idx >>> 5) << 1);
      const bit = 1 << (idx & 31);
      if ((Atomics.load(i32, w + 1) & bit) !== 0) return -1;
      // Set only if the thread died between marking the block live and taking it off its list.
      i32[w] = i32[w]! & ~bit;
    }
    const next = this.u32[ptr >>> 2]!;
    this.u32[ptr >>> 2] = this.u32[d + SL_FREE]!;
    i32[d + SL_FREE] = ptr;
    return next;
  }

  /**
   * Reclaim, step 2: recounts each taken-over slab from its free list (blocks the dead thread
   * held in flight stay counted as used), then releases it (empty) or abandons it.
   */
  slabReclaimEnd(deadThreadId: number): void {
    this.slabRefreshViews();
    for (const d of this.reclaimed) {
      const i32 = this.i32;
      const u32 = this.u32;
      const cls = i32[d + SL_CLASS]!;
      if (this.strict) {
        this.slabRebuildFromBitmap(d, cls);
        this.slabLetGo(d);
        continue;
      }
      const cap = TINY_CLASS_BLOCKS[i32[d + SL_CLASS]!]!;
      let free = 0;
      let prev = 0;
      let p = u32[d + SL_FREE]!;
      while (p !== 0) {
        if (free >= cap || this.slabBlockIndex(d, cls, p) < 0) {
          // A link the dead thread was writing: cut the list there.
          if (prev === 0) i32[d + SL_FREE] = 0;
          else u32[prev >>> 2] = 0;
          break;
        }
        free++;
        prev = p;
        p = u32[p >>> 2]!;
      }
      i32[d + SL_USED] = i32[d + SL_CARVED]! - free;
      this.slabLetGo(d);
    }
    this.reclaimed.length = 0;
    this.slabFreeArea(deadThreadId);
  }

  /**
   * Strict reclaim of a dead thread's slab: the alloc bitmap says which carved blocks are in
   * use (handed out, or waiting in the remote list); every other carved block is free. The
   * local list is rebuilt from it, so a batch the thread was moving between its cache and the
   * slab when it was terminated comes back instead of being lost.
   */
  private slabRebuildFromBitmap(d: number, cls: number): void {
    const i32 = this.i32;
    const u32 = this.u32;
    const carved = i32[d + SL_CARVED]!;
    const size = TINY_CLASS_SIZE[cls]!;
    const start = u32[d + SL_START]!;
    const bitmap = i32[d + SL_BITMAP]!;
    let head = 0;
    let used = 0;
    for (let idx = carved - 1; idx >= 0; idx--) {
      if ((i32[bitmap + ((idx >>> 5) << 1)]! & (1 << (idx & 31))) !== 0) {
        used++;
        continue;
      }
      const p = start + idx * size;
      u32[p >>> 2] = head;
      head = p;
    }
    i32[d + SL_FREE] = head;
    i32[d + SL_USED] = used;
  }

  /**
   * Gives back what is not in use: this thread's kept empty slabs, abandoned slabs whose
   * blocks have all come back, and every fully empty SuperSlab (to the arena). Returns the
   * bytes of SuperSlabs returned to the arena.
   */
  slabTrim(): number {
    this.slabRefreshViews();
    const before = this.releasedBytes;
    if (this.area !== 0) {
      for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
        for (;;) {
          if (!this.slabScanFull(cls, this.i32[this.area + TS_FULL_COUNT + cls]!)) break;
        }
      }
      this.slabReleaseKept();
    }
    // Abandoned slabs: take them all, keep the ones still in use abandoned.
    const taken = this.reclaimed;
    taken.length = 0;
    this.slabLock();
    for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
      const headIndex = this.root + R_ABANDONED + cls;
      for (let d = this.i32[headIndex]!; d !== 0; d = this.i32[d + SL_NEXT]!) taken.push(d);
      Atomics.store(this.i32, headIndex, 0);
    }
    this.slabUnlock();
    for (const d of taken) {
      Atomics.compareExchange(this.i32, d + SL_OWNER, 0, this.threadId);
      this.i32[d + SL_STATE] = SLAB_DETACHED;
      this.slabLetGo(d);
    }
    taken.length = 0;
    // Fully empty SuperSlabs, including the one kept for hysteresis.
    const empty: number[] = [];
    this.slabLock();
    const root = this.root;
    for (let s = this.i32[root + R_AVAIL_HEAD]!; s !== 0; ) {
      const next = this.i32[s + SS_AVAIL_NEXT]!;
      if (this.i32[s + SS_EMPTY] === superslabFullMask(this.i32[s + SS_SLABS]!)) {
        this.availUnlink(s);
        this.registryUnlink(s);
        this.i32[root + R_EMPTY_SS] = this.i32[root + R_EMPTY_SS]! - 1;
        empty.push(s);
      }
      s = next;
    }
    this.slabUnlock();
    for (const s of empty) this.superslabFree(s);
    return this.releasedBytes - before;
  }

  // ───────────────────────────── stats and check ─────────────────────────────

  /** Counts of the whole tier (walks the registry under the tier lock; exact when quiescent). */
  slabStats(): SlabStats {
    this.slabRefreshViews();
    const classes = Array.from(TINY_CLASS_SIZE, (size) => ({ size, slabs: 0, used: 0, remote: 0 }));
    let superslabs = 0;
    let pages = 0;
    let slabs = 0;
    let poolSlabs = 0;
    let abandonedSlabs = 0;
    this.slabLock();
    const i32 = this.i32;
    const u32 = this.u32;
    for (let s = i32[this.root + R_SS_HEAD]!; s !== 0; s = i32[s + SS_NEXT]!) {
      superslabs++;
      const n = i32[s + SS_SLABS]!;
      pages += n;
      for (let i = 0; i < n; i++) {
        const d = s + SS_HEADER_WORDS + i * SL_WORDS;
        const cls = i32[d + SL_CLASS]!;
        if (cls < 0) {
          poolSlabs++;
          continue;
        }
        slabs++;
        if (i32[d + SL_STATE] === SLAB_ABANDONED) abandonedSlabs++;
        const c = classes[cls]!;
        c.slabs++;
        c.used += i32[d + SL_USED]!;
        let remote = 0;
        const cap = TINY_CLASS_BLOCKS[i32[d + SL_CLASS]!]!;
        for (let p = Atomics.load(i32, d + SL_REMOTE) >>> 0; p !== 0 && remote <= cap; p = u32[p >>> 2]!)
          remote++;
        c.remote += remote;
      }
    }
    this.slabUnlock();
    return { superslabs, pages, slabs, poolSlabs, abandonedSlabs, classes };
  }

  /** check, step 1: start counting the blocks found in thread caches (cacheCheckBlock). */
  slabCheckBegin(): void {
    this.slabRefreshViews();
    this.checkMarks = new Map();
    this.checkCached = new Map();
  }

  /** Strict (a cache in front is popping `p`): validates it as a free block of this thread's slabs of `cls` and marks it live. */
  cacheCheckOut(cls: number, p: number): void {
    this.slabMarkLive(p, cls);
  }

  /**
   * Strict (a cache in front takes back `ptr` from a user of this thread): it must be a live
   * block of class `cls` in a slab this thread owns; its alloc bit is cleared.
   * ERR_INVALID_POINTER / ERR_DOUBLE_FREE with nothing changed.
   */
  cacheCheckIn(cls: number, ptr: number): void {
    const e = ptr >>> 0 === ptr ? this.owned[ptr >>> 16]! : 0;
    const d = (e & ~31) >>> 1;
    if (!(e > 0) || (e & 31) !== cls) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `cache push of ${ptr}: not a block of this thread's ${TINY_CLASS_SIZE[cls] ?? '?'} B slabs`,
      );
    }
    const idx = this.slabBlockIndex(d, cls, ptr);
    if (idx < 0) throw this.slabNotBlock(ptr, d, cls);
    const w = this.i32[d + SL_BITMAP]! + ((idx >>> 5) << 1);
    const bit = 1 << (idx & 31);
    if ((this.i32[w]! & bit) === 0 || (this.i32[w + 1]! & bit) !== 0) {
      throw new HakmemError(
        'ERR_DOUBLE_FREE',
        `free(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is not live (already freed)`,
      );
    }
    this.i32[w] = this.i32[w]! & ~bit;
  }

  /** check: a block found in the cache of thread `threadId`; ERR_HEAP_CORRUPTED unless a free block of `cls` owned by it, listed once. */
  cacheCheckBlock(cls: number, ptr: number, threadId: number): void {
    if (this.checkMarks === null) this.slabCheckBegin();
    if (ptr >= this.viewBytes) this.slabRefreshViews();
    const entry = ptr > 0 && ptr < this.viewBytes ? this.arena.pageEntry(ptr) : -1;
    if (entry < 0 || (this.u32[entry + PM_TIER]! & TIER_MASK) !== this.tier) {
      throw corrupted(
        `thread ${threadId}'s cache of the ${TINY_CLASS_SIZE[cls]} B class holds ${hex(ptr)}, outside every tiny slab`,
      );
    }
    const d = this.u32[entry + PM_DESC]! >>> 2;
    const i32 = this.i32;
    if (d === 0 || i32[d + SL_CLASS] !== cls || i32[d + SL_OWNER] !== threadId) {
      throw corrupted(
        `thread ${threadId}'s cache of the ${TINY_CLASS_SIZE[cls]} B class holds ${hex(ptr)}, in a slab of class ${i32[d + SL_CLASS]} owned by thread ${i32[d + SL_OWNER]}`,
      );
    }
    const idx = this.slabBlockIndex(d, cls, ptr);
    if (idx < 0)
      throw corrupted(
        `thread ${threadId}'s cache of the ${TINY_CLASS_SIZE[cls]} B class holds ${hex(ptr)}, which is not a carved block start`,
      );
    if (this.strict) {
      const w = i32[d + SL_BITMAP]! + ((idx >>> 5) << 1);
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

  private checkMark(d: number, idx: number, where: string): void {
    const marks = this.checkMarks!;
    let m = marks.get(d);
    if (m === undefined) {
      m = new Uint8Array(TINY_CLASS_BLOCKS[this.i32[d + SL_CLASS]!]!);
      marks.set(d, m);
    }
    if (m[idx] !== 0) {
      throw corrupted(
        `block ${idx} of the slab at ${this.u32[d + SL_START]} is listed twice (again in ${where})`,
      );
    }
    m[idx] = 1;
  }

  /**
   * check, step 2: every SuperSlab, slab, list and bitmap (see the invariants in layout.ts).
   * Returns the live blocks per class that the slabs account for (used − cached − remote).
   */
  slabCheck(): Float64Array {
    if (this.checkMarks === null) this.slabCheckBegin();
    this.slabRefreshViews();
    const arena = this.arena;
    const i32 = this.i32;
    const u32 = this.u32;
    const root = this.root;
    const strict = this.strict;
    const live = new Float64Array(TINY_CLASS_COUNT);
    const cached = this.checkCached!;
    const liveThreads = new Set(arena.threadIds());
    const seenInList = new Set<number>();

    // Thread lists.
    for (const tid of liveThreads) {
      const words = arena.threadTierWords(this.tier, tid);
      const offset = words === 0 ? 0 : Atomics.load(i32, words + TW_SLABS) >>> 0;
      if (offset === 0) continue;
      const area = offset >>> 2;
      if (i32[area + TS_THREAD] !== tid)
        throw corrupted(`thread ${tid}'s tiny area names thread ${i32[area + TS_THREAD]}`);
      for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
        for (const [head, state] of [
          [TS_PARTIAL, SLAB_PARTIAL],
          [TS_FULL, SLAB_FULL],
        ] as const) {
          let prev = 0;
          let n = 0;
          for (let d = i32[area + head + cls]!; d !== 0; d = i32[d + SL_NEXT]!) {
            if (seenInList.has(d))
              throw corrupted(`slab descriptor ${d * 4} is in two lists (or a list has a cycle)`);
            seenInList.add(d);
            if (i32[d + SL_PREV] !== prev)
              throw corrupted(
                `slab at ${u32[d + SL_START]}: back link ${i32[d + SL_PREV]! * 4} ≠ ${prev * 4}`,
              );
            if (i32[d + SL_STATE] !== state || i32[d + SL_CLASS] !== cls || i32[d + SL_OWNER] !== tid) {
              throw corrupted(
                `slab at ${u32[d + SL_START]} in thread ${tid}'s ${state === SLAB_PARTIAL ? 'partial' : 'full'} list of class ${cls} has state ${i32[d + SL_STATE]}, class ${i32[d + SL_CLASS]}, owner ${i32[d + SL_OWNER]}`,
              );
            }
            prev = d;
            n++;
          }
          if (state === SLAB_FULL && n !== i32[area + TS_FULL_COUNT + cls]) {
            throw corrupted(
              `thread ${tid}'s full list of class ${cls} has ${n} slabs, its count says ${i32[area + TS_FULL_COUNT + cls]}`,
            );
          }
        }
      }
    }
    // Abandoned lists.
    for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
      for (let d = i32[root + R_ABANDONED + cls]!; d !== 0; d = i32[d + SL_NEXT]!) {
        if (seenInList.has(d))
          throw corrupted(`slab descriptor ${d * 4} is in two lists (or the abandoned list has a cycle)`);
        seenInList.add(d);
        if (i32[d + SL_STATE] !== SLAB_ABANDONED || i32[d + SL_CLASS] !== cls || i32[d + SL_OWNER] !== 0) {
          throw corrupted(
            `slab at ${u32[d + SL_START]} in the abandoned list of class ${cls} has state ${i32[d + SL_STATE]}, class ${i32[d + SL_CLASS]}, owner ${i32[d + SL_OWNER]}`,
          );
        }
      }
    }

    // Registry, SuperSlabs, slabs.
    let count = 0;
    let emptySS = 0;
    let slabsOut = 0;
    let prevS = 0;
    const avail = new Set<number>();
    for (let s = i32[root + R_AVAIL_HEAD]!, prev = 0; s !== 0; prev = s, s = i32[s + SS_AVAIL_NEXT]!) {
      if (avail.has(s)) throw corrupted('the SuperSlab avail list has a cycle');
      if (i32[s + SS_AVAIL_PREV] !== prev) throw corrupted(`SuperSlab ${s * 4}: avail back link is wrong`);
      avail.add(s);
      if (i32[s + SS_AVAIL_NEXT] === 0 && i32[root + R_AVAIL_TAIL] !== s)
        throw corrupted('the SuperSlab avail list tail is wrong');
    }
    for (let s = i32[root + R_SS_HEAD]!; s !== 0; prevS = s, s = i32[s + SS_NEXT]!) {
      if (++count > 1 << 20) throw corrupted('the SuperSlab registry has a cycle');
      if (i32[s + SS_PREV] !== prevS) throw corrupted(`SuperSlab ${s * 4}: registry back link is wrong`);
      const slabs = i32[s + SS_SLABS]!;
      const start = u32[s + SS_START]!;
      if (!(slabs >= 1 && slabs <= SUPERSLAB_SLABS) || start % SLAB_BYTES !== 0) {
        throw corrupted(`SuperSlab ${s * 4} has ${slabs} slabs from ${start}`);
      }
      const mask = i32[s + SS_EMPTY]!;
      if ((mask !== 0) !== avail.has(s) || (i32[s + SS_IN_AVAIL] === 1) !== avail.has(s)) {
        throw corrupted(
          `SuperSlab at ${start}: empty mask ${hex(mask)} disagrees with its place in the avail list`,
        );
      }
      if (mask === superslabFullMask(slabs)) emptySS++;
      for (let i = 0; i < slabs; i++) {
        const d = s + SS_HEADER_WORDS + i * SL_WORDS;
        const slabStart = start + i * SLAB_BYTES;
        const entry = arena.pageEntry(slabStart);
        if (
          entry < 0 ||
          (u32[entry + PM_TIER]! & TIER_MASK) !== this.tier ||
          u32[entry + PM_DESC] !== d * 4
        ) {
          throw corrupted(
            `page ${slabStart / SLAB_BYTES} of SuperSlab at ${start} is not a page of tier ${this.tier} naming its slab descriptor`,
          );
        }
        if (u32[d + SL_START] !== slabStart || i32[d + SL_SELF] !== d || i32[d + SL_INDEX] !== i) {
          throw corrupted(`slab descriptor ${d * 4} does not describe slab ${i} of SuperSlab at ${start}`);
        }
        const inPool = (mask & (1 << i)) !== 0;
        const state = i32[d + SL_STATE]!;
        if (inPool) {
          if (
            state !== SLAB_POOL ||
            i32[d + SL_CLASS] !== -1 ||
            i32[d + SL_OWNER] !== 0 ||
            i32[d + SL_USED] !== 0
          ) {
            throw corrupted(
              `pool slab at ${slabStart} has state ${state}, class ${i32[d + SL_CLASS]}, owner ${i32[d + SL_OWNER]}, used ${i32[d + SL_USED]}`,
            );
          }
          continue;
        }
        slabsOut++;
        if (!seenInList.has(d)) {
          throw corrupted(
            `slab at ${slabStart} (state ${state}, owner ${i32[d + SL_OWNER]}) is in no list: neither its owner's nor the abandoned list`,
          );
        }
        if ((state === SLAB_PARTIAL || state === SLAB_FULL) && !liveThreads.has(i32[d + SL_OWNER]!)) {
          throw corrupted(
            `slab at ${slabStart} is owned by thread ${i32[d + SL_OWNER]}, which is not attached`,
          );
        }
        live[i32[d + SL_CLASS]!]! += this.slabCheckOne(d, cached.get(d) ?? 0, strict);
      }
    }
    if (count !== i32[root + R_SS_COUNT])
      throw corrupted(`the registry holds ${count} SuperSlabs, its count says ${i32[root + R_SS_COUNT]}`);
    for (const s of avail) {
      if (i32[s + SS_EMPTY] === 0)
        throw corrupted(`SuperSlab ${s * 4} is in the avail list with no pool slab`);
    }
    if (emptySS !== i32[root + R_EMPTY_SS])
      throw corrupted(`${emptySS} SuperSlabs are fully empty, the count says ${i32[root + R_EMPTY_SS]}`);
    if (slabsOut !== i32[root + R_SLABS_OUT])
      throw corrupted(`${slabsOut} slabs are out of the pool, the count says ${i32[root + R_SLABS_OUT]}`);
    for (const d of cached.keys()) {
      if (!seenInList.has(d))
        throw corrupted(`a thread cache holds blocks of slab descriptor ${d * 4}, which is not in use`);
    }
    // This handle's private map of owned slabs agrees with the shared owner words.
    const owned = this.owned;
    for (let page = 0; page < owned.length; page++) {
      const e = owned[page]!;
      if (e === 0) continue;
      const d = (e & ~31) >>> 1;
      if (
        u32[d + SL_START]! >>> 16 !== page ||
        i32[d + SL_OWNER] !== this.threadId ||
        i32[d + SL_CLASS] !== (e & 31)
      ) {
        throw corrupted(
          `thread ${this.threadId}'s map of owned slabs names page ${page} as its ${e & 31} class slab ${d * 4}, which it is not`,
        );
      }
    }
    if (this.area !== 0) {
      for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
        for (const head of [TS_PARTIAL, TS_FULL]) {
          for (let d = i32[this.area + head + cls]!; d !== 0; d = i32[d + SL_NEXT]!) {
            if (owned[u32[d + SL_START]! >>> 16] !== ((d << 1) | cls)) {
              throw corrupted(
                `thread ${this.threadId}'s slab at ${u32[d + SL_START]} is missing from its map of owned slabs`,
              );
            }
          }
        }
      }
    }
    this.checkMarks = null;
    this.checkCached = null;
    return live;
  }

  /** Checks one slab in use; returns its live blocks (used − cached − remote). */
  private slabCheckOne(d: number, cached: number, strict: boolean): number {
    const i32 = this.i32;
    const u32 = this.u32;
    const cls = i32[d + SL_CLASS]!;
    const start = u32[d + SL_START]!;
    const where = `slab at ${start}`;
    if (!(cls >= 0 && cls < TINY_CLASS_COUNT)) throw corrupted(`${where} has class ${cls}`);
    const cap = TINY_CLASS_BLOCKS[i32[d + SL_CLASS]!]!;
    const carved = i32[d + SL_CARVED]!;
    const used = i32[d + SL_USED]!;
    if (!(carved >= 0 && carved <= cap) || !(used >= 0 && used <= carved)) {
      throw corrupted(
        `${where} (${TINY_CLASS_SIZE[cls]} B): capacity ${cap}, carved ${carved}, used ${used} are inconsistent`,
      );
    }
    if (i32[d + SL_INV] !== TINY_CLASS_INV[cls] || i32[d + SL_SHIFT] !== TINY_CLASS_SHIFT[cls]) {
      throw corrupted(
        `${where}: its block-index constants do not belong to the ${TINY_CLASS_SIZE[cls]} B class`,
      );
    }
    let free = 0;
    for (let p = u32[d + SL_FREE]!; p !== 0; p = u32[p >>> 2]!) {
      const idx = this.slabBlockIndex(d, cls, p);
      if (idx < 0)
        throw corrupted(
          `${where}: local free list links to ${hex(p)}, not a carved block of ${TINY_CLASS_SIZE[cls]} B`,
        );
      this.checkMark(d, idx, 'the local free list');
      if (strict) this.checkBits(d, idx, false, false, 'in the local free list');
      free++;
    }
    let remote = 0;
    for (let p = Atomics.load(i32, d + SL_REMOTE) >>> 0; p !== 0; p = u32[p >>> 2]!) {
      const idx = this.slabBlockIndex(d, cls, p);
      if (idx < 0)
        throw corrupted(
          `${where}: remote-free list links to ${hex(p)}, not a carved block of ${TINY_CLASS_SIZE[cls]} B`,
        );
      this.checkMark(d, idx, 'the remote-free list');
      if (strict) this.checkBits(d, idx, true, true, 'in the remote-free list');
      remote++;
    }
    if (used !== carved - free) throw corrupted(`${where}: used ${used} ≠ carved ${carved} − free ${free}`);
    if (used < cached + remote)
      throw corrupted(`${where}: used ${used} < cached ${cached} + remote-pending ${remote}`);
    if (strict) {
      const bm = i32[d + SL_BITMAP]!;
      const words = bitmapWords(cls);
      if (words > i32[d + SL_BITMAP_CAP]!)
        throw corrupted(`${where}: bitmap of ${words} words for ${cap} blocks`);
      let alloc = 0;
      let pending = 0;
      for (let w = 0; w < words; w++) {
        const a = i32[bm + 2 * w]!;
        const r = i32[bm + 2 * w + 1]!;
        alloc += popcount(a);
        pending += popcount(r);
        for (let b = 0; b < 32; b++) {
          const idx = w * 32 + b;
          if (idx >= carved && ((a | r) & (1 << b)) !== 0)
            throw corrupted(`${where}: bitmap bit ${idx} is set beyond carved ${carved}`);
        }
      }
      if (pending !== remote)
        throw corrupted(
          `${where}: ${pending} remote-pending bits for ${remote} blocks in the remote-free list`,
        );
      if (alloc !== used - cached)
        throw corrupted(
          `${where}: ${alloc} alloc bits, but used ${used} − cached ${cached} = ${used - cached}`,
        );
    }
    return used - cached - remote;
  }

  private checkBits(d: number, idx: number, alloc: boolean, pending: boolean, where: string): void {
    const i32 = this.i32;
    const w = i32[d + SL_BITMAP]! + ((idx >>> 5) << 1);
    const bit = 1 << (idx & 31);
    const a = (i32[w]! & bit) !== 0;
    const r = (i32[w + 1]! & bit) !== 0;
    if (a !== alloc || r !== pending) {
      throw corrupted(
        `block ${idx} of the slab at ${this.u32[d + SL_START]} ${where} has alloc bit ${+a} and remote bit ${+r}`,
      );
    }
  }
}

/** Words of one strict bitmap of a slab of class `cls`. */
function bitmapWords(cls: number): number {
  return (TINY_CLASS_BLOCKS[cls]! + 31) >>> 5;
}

/**
 * Bytes for both strict bitmaps of `words` words each, in three sizes only (64 B, 256 B, 2 KiB):
 * every metaAlloc size class in use costs the heap a META page.
 */
function bitmapBytes(words: number): number {
  const bytes = words * 8;
  return bytes <= 64 ? 64 : bytes <= 256 ? 256 : 2048;
}

/** The heap's 'tiny' tier id, opened with sizes 0 … TINY_MAX_SIZE when the heap has none. */
export function superslabOpenTier(arena: Arena): number {
  return arena.tierFind(TINY_KIND) || arena.tierOpen(TINY_KIND, 0, TINY_MAX_SIZE, ROOT_WORDS);
}

/** SS_EMPTY value of a SuperSlab whose `slabs` slabs are all in the pool. */
export function superslabFullMask(slabs: number): number {
  return slabs >= 32 ? -1 : (1 << slabs) - 1;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

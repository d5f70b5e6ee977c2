/**
 * The handle: class `Superslab`, one thread's view of the tiny tier's SuperSlabs — its fields
 * (the thread's area, its private owned-slab map, scratch space), the constructor that finds or
 * makes the thread's area, the views read through the arena, the tier lock, and the public
 * methods, each one call into the file that holds the work (see layout.ts, "Files").
 */
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
  bitmapBit,
  bitmapWordOf,
  R_CACHE_ROOT,
  R_LOCK,
  R_LOCK_STATS,
  SL_BITMAP,
  SL_CLASS,
  SL_NEXT,
  SLAB_BYTES,
  SLAB_SHIFT,
  TS_FULL,
  TS_PARTIAL,
  TS_THREAD,
  TS_WORDS,
  TW_CACHE,
  TW_SLABS,
} from './layout';
import {
  TINY_CLASS_COUNT,
  TINY_CLASS_SIZE,
  TINY_KIND,
  TINY_LAYOUT_VERSION,
  tinyClassOf,
} from './size-classes';
import { cacheRefill } from './slab-alloc';
import {
  cacheCheckIn,
  cacheCheckOut,
  cacheLinkValid,
  slabBlockIndex,
  slabCheckListBlock,
  slabMarkLive,
  slabNotBlock,
  slabUsableSize,
  slabUsableSizeOf,
} from './slab-block';
import { cacheCheckBlock, slabCheck, slabCheckBegin } from './slab-check';
import {
  cacheSpill,
  slabFreeRemote,
  slabFreeRemoteBuffered,
  slabOutFlush,
  slabOutPushPending,
  slabPushLocal,
} from './slab-free';
import { slabMapOwned } from './slab-lists';
import { cacheRecover, slabDetach, slabReclaimBegin, slabReclaimEnd, slabTrim } from './slab-reclaim';
import { type SlabStats, slabStats } from './slab-stats';
import { superslabOpenTier } from './superslab-registry';

export type { SlabStats } from './slab-stats';

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
  /** @internal Scratch of a remote-list collection: the block indexes its validating pass found (a slab's most blocks). */
  readonly collectIndexes = new Int32Array(SLAB_BYTES >>> 3);
  /** @internal An outgoing-buffer slot whose chain is full, to push after the remote free's bookkeeping (0 = none). */
  outPending = 0;
  /** Bytes of SuperSlabs returned to the arena by this handle (trim counts them). */
  releasedBytes = 0;
  /**
   * This thread's slabs by page (thread-private, not shared): `(d << 1) | class` for a slab it
   * owns (d, the descriptor's i32 index, is a multiple of 16, so this is ≥ 32), else 0. The
   * fast paths find a block's slab and class here with one load and know it is theirs.
   */
  /** @internal */
  readonly owned: Int32Array;
  /** @internal Scratch list of slab descriptors: those taken over by slabReclaimBegin, or taken by slabTrim. */
  readonly reclaimed: number[] = [];
  /** @internal check: the blocks of each slab found so far in a list or a cache (null outside a check). */
  checkMarks: Map<number, Uint8Array> | null = null;
  /** @internal check: blocks of each slab found in thread caches (null outside a check). */
  checkCached: Map<number, number> | null = null;

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
    this.root = arena.tierExpect(this.tier, TINY_KIND, TINY_LAYOUT_VERSION, 'Superslab').root;
    this.cacheRoot = this.root + R_CACHE_ROOT;
    // The tier mutex is not registered with the arena: a reclaim takes it over from a dead
    // holder itself and repairs what it protects before any other thread may take it.
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
          slabMapOwned(this, d, cls);
      }
    }
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

  /** @internal Takes the tier mutex (pool, registry, avail and abandoned lists). */
  slabLock(): void {
    mutexLock(this.i32, this.root + R_LOCK, this.threadId, this.root + R_LOCK_STATS);
    // Descriptors published under the lock may lie in memory another thread grew.
    this.slabRefreshViews();
  }

  /** @internal */
  slabUnlock(): void {
    mutexUnlock(this.i32, this.root + R_LOCK);
  }

  // ────────────────────────── standalone allocator ──────────────────────────

  // malloc and free keep their bodies here instead of being one-line calls into slab-alloc.ts and
  // slab-free.ts: with that extra call level a loop of Superslab.malloc/free ran 10–20 % slower
  // (V8 inlines the level into the caller and runs out of inlining budget before the slab helpers).

  /** A block of at least `size` bytes (0 ≤ size ≤ 1024), 0 when maxBytes cannot hold another slab. */
  malloc(size: number): number {
    const cls = tinyClassOf(size);
    if (cls < 0) {
      throw new HakmemError(
        'ERR_INVALID_SIZE',
        `size ${size} is not a tiny size: it must be an integer 0 … 1024`,
      );
    }
    const p = cacheRefill(this, cls, 1);
    if (p !== 0 && this.strict) slabMarkLive(this, p, cls);
    return p;
  }

  /** Frees a block from `malloc` (any thread's). Strict: ERR_INVALID_POINTER / ERR_DOUBLE_FREE, nothing changed. */
  free(ptr: number): void {
    if (ptr >= this.viewBytes) this.slabRefreshViews();
    const entry = this.arena.pageEntry(ptr);
    if (entry < 0 || (this.u32[entry + PM_TIER]! & PM_TIER_MASK) !== this.tier) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `free(${ptr}): not in a tiny slab (tiny blocks live in pages of tier ${this.tier})`,
      );
    }
    const d = this.u32[entry + PM_DESC]! >>> 2;
    if (!(this.owned[ptr >>> SLAB_SHIFT]! > 0)) {
      slabFreeRemote(this, ptr, d);
      return;
    }
    const cls = this.i32[d + SL_CLASS]!;
    const idx = slabBlockIndex(this, d, cls, ptr);
    if (idx < 0) throw slabNotBlock(this, ptr, d, cls);
    if (this.strict) {
      const w = bitmapWordOf(this.i32[d + SL_BITMAP]!, idx);
      const bit = bitmapBit(idx);
      if ((this.i32[w]! & bit) === 0 || (this.i32[w + 1]! & bit) !== 0) {
        throw new HakmemError(
          'ERR_DOUBLE_FREE',
          `free(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is not live (already freed)`,
        );
      }
      this.i32[w] = this.i32[w]! & ~bit;
    }
    slabPushLocal(this, d, cls, ptr);
  }

  /** Usable bytes of the block at `ptr` (its class size). ERR_INVALID_POINTER unless a block start (strict: a live one). */
  usableSize(ptr: number): number {
    return slabUsableSizeOf(this, ptr);
  }

  // ───────────────────────────── blocks (slab-block.ts) ─────────────────────────────

  /** @internal usableSize for a known slab descriptor `d` (i32 index). */
  slabUsableSize(ptr: number, d: number): number {
    return slabUsableSize(this, ptr, d);
  }

  /** @internal
   * Block index of `ptr` in slab `d` of class `cls`, -1 when it is not the start of a carved
   * block. The slab's carve mark is the owner's plain word: another thread reading it may see
   * an older value, which only makes a racing (invalid) free look invalid.
   */
  slabBlockIndex(d: number, cls: number, ptr: number): number {
    return slabBlockIndex(this, d, cls, ptr);
  }

  /** @internal Strict: sets the alloc bit of a block from a free list about to be handed out (validated: ERR_HEAP_CORRUPTED). */
  slabMarkLive(p: number, cls: number): void {
    slabMarkLive(this, p, cls);
  }

  /** @internal
   * Validates a block taken from one of this thread's free lists: in a tiny slab of class
   * `cls` owned by this thread, on the class grid, carved, and (strict) not live. Returns the
   * slab descriptor's i32 index; throws ERR_HEAP_CORRUPTED (a use-after-free write) otherwise.
   */
  slabCheckListBlock(p: number, cls: number, what: string): number {
    return slabCheckListBlock(this, p, cls, what);
  }

  // ───────────────────────────── remote frees (slab-free.ts) ─────────────────────────────

  /** @internal
   * Frees `ptr` (in slab `d`, i32 index of its descriptor) into the slab's lock-free remote
   * list: for blocks of other threads' or abandoned slabs. Returns the block's class.
   */
  slabFreeRemote(ptr: number, d: number): number {
    return slabFreeRemote(this, ptr, d);
  }

  /** @internal
   * The tiny tier's remote free: `ptr` (slab `d`, another thread's or abandoned) joins its slab's
   * chain in this thread's outgoing buffer, pushed with one CAS per OUT_BATCH blocks (layout.ts,
   * "Remote-free batching"). Returns the block's class.
   */
  slabFreeRemoteBuffered(ptr: number, d: number): number {
    return slabFreeRemoteBuffered(this, ptr, d);
  }

  /** Pushes this thread's buffered remote frees to their slabs' remote lists. */
  slabOutFlush(): void {
    slabOutFlush(this);
  }

  /** @internal After a remote free's bookkeeping: pushes the chain it filled, if it did. */
  slabOutPushPending(): void {
    slabOutPushPending(this);
  }

  // ───────────────────── cache backend: refill and spill (slab-alloc.ts, slab-free.ts) ─────────────────────

  /**
   * Detaches up to `want` free blocks of class `cls` from this thread's slabs (taking a slab
   * from the pool, adopting an abandoned one or adding a SuperSlab when it must), linked
   * through their first word; returns the chain head and sets `refilled`, or 0 on
   * out-of-memory. The blocks count as used by their slab until they come back.
   */
  cacheRefill(cls: number, want: number): number {
    return cacheRefill(this, cls, want);
  }

  /** Blocks of class `cls` (this thread's, chained from `head`) back to their slabs. */
  cacheSpill(cls: number, head: number, count: number, progress?: number): void {
    cacheSpill(this, cls, head, count, progress);
  }

  /**
   * A cache in front checks each link of its list it follows before it writes (spill, flush,
   * shrink): a carved block of a slab of class `cls` this thread owns; strict, a free one.
   */
  cacheLinkValid(cls: number, p: number): boolean {
    return cacheLinkValid(this, cls, p);
  }

  /** The cache may keep a spill record: `cacheSpill` advances it block by block (see @hakmem/tls-cache). */
  readonly spillProgress = true;

  // ───────────────────────────── detach, reclaim, trim (slab-reclaim.ts) ─────────────────────────────

  /**
   * The thread is leaving (flush its caches first): every slab it owns goes to the pool
   * (empty) or becomes adoptable; its area is freed.
   */
  slabDetach(): void {
    slabDetach(this);
  }

  /**
   * Reclaim of a dead thread, step 1: this thread takes over every slab the dead one owns
   * (found through the registry, so a list the dead thread left half-changed cannot hide one),
   * so its cached blocks can come back with `cacheRecover`. Step 2 is `slabReclaimEnd`.
   */
  slabReclaimBegin(deadThreadId: number): void {
    slabReclaimBegin(this, deadThreadId);
  }

  /**
   * Reclaim: a block found in the dead thread's cache. When it is a free block of class `cls`
   * in a slab taken over by slabReclaimBegin, it goes back to its slab and the link it held is
   * returned; otherwise -1 (the walk of that list stops: the rest was in flight).
   */
  cacheRecover(cls: number, ptr: number, _deadThreadId: number): number {
    return cacheRecover(this, cls, ptr);
  }

  /**
   * Reclaim, step 2: recounts each taken-over slab from its free list (blocks the dead thread
   * held in flight stay counted as used), then releases it (empty) or abandons it.
   */
  slabReclaimEnd(deadThreadId: number): void {
    slabReclaimEnd(this, deadThreadId);
  }

  /**
   * Gives back what is not in use: this thread's kept empty slabs, abandoned slabs whose
   * blocks have all come back, and every fully empty SuperSlab (to the arena). Returns the
   * bytes of SuperSlabs returned to the arena.
   */
  slabTrim(): number {
    return slabTrim(this);
  }

  // ───────────────────── stats and check (slab-stats.ts, slab-check.ts, slab-block.ts) ─────────────────────

  /** Counts of the whole tier (walks the registry under the tier lock; exact when quiescent). */
  slabStats(): SlabStats {
    return slabStats(this);
  }

  /** check, step 1: start counting the blocks found in thread caches (cacheCheckBlock). */
  slabCheckBegin(): void {
    slabCheckBegin(this);
  }

  /** Strict (a cache in front is popping `p`): validates it as a free block of this thread's slabs of `cls` and marks it live. */
  cacheCheckOut(cls: number, p: number): void {
    cacheCheckOut(this, cls, p);
  }

  /**
   * Strict (a cache in front takes back `ptr` from a user of this thread): it must be a live
   * block of class `cls` in a slab this thread owns; its alloc bit is cleared.
   * ERR_INVALID_POINTER / ERR_DOUBLE_FREE with nothing changed.
   */
  cacheCheckIn(cls: number, ptr: number): void {
    cacheCheckIn(this, cls, ptr);
  }

  /** check: a block found in the cache of thread `threadId`; ERR_HEAP_CORRUPTED unless a free block of `cls` owned by it, listed once. */
  cacheCheckBlock(cls: number, ptr: number, threadId: number): void {
    cacheCheckBlock(this, cls, ptr, threadId);
  }

  /**
   * check, step 2: every SuperSlab, slab, list and bitmap (see the invariants in layout.ts).
   * Returns the live blocks per class that the slabs account for (used − cached − remote).
   */
  slabCheck(): Float64Array {
    return slabCheck(this);
  }
}

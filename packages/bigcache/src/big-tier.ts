import {
  type Arena,
  describe,
  HakmemError,
  PAGE_SIZE,
  PM_DESC,
  PM_FLAG_HEAD,
  PM_HEAD_PAGE,
  PM_RUN_PAGES,
  PM_TIER,
  PM_TIER_MASK,
  TIER_FREE,
  type Tier,
  type TierFactory,
} from '@hakmem/page-arena';
import { bigLock, bigUnlock, cachePut, cacheResize, cacheTake, cacheTrimLocked } from './cache';
import { type BigStats, bigCheckLocked, bigStatsLocked } from './check';
import {
  BIG_KIND,
  BIG_LAYOUT_VERSION,
  BIG_MIN_SIZE,
  BIG_SIZE_LIMIT,
  CAP_SHIFT,
  D_CACHED,
  R_LOCK,
  R_LOCK_REG,
  ROOT_WORDS,
} from './layout';
import {
  localDetachLocked,
  localFlushLocked,
  localMarker,
  localPut,
  localReclaimLocked,
  localTake,
} from './local';
import { liveDesc, pagesFor, usableOf } from './size';

/** Options of a BigTier handle. */
export interface BigTierOptions {
  /**
   * Keep a thread cache of up to LOCAL_SLOTS runs this thread freed, which its own mallocs take
   * back without the tier lock and without Atomics (plain loads and stores). Default true (false:
   * every free goes to the shared cache, under the lock). The cache counts against the tier's
   * byte bound (maxBytes / 8 with the shared cache). Another thread's malloc about to report out
   * of memory, and trim(), ask for it: this thread's next free gives it back to the arena. A
   * thread that never frees again keeps its runs (call flush() or detach() when it goes idle).
   * The repair after a thread died holding the tier lock leaves the live counters to the dead
   * holder's intent record (it does not recount them from the page map, which other threads'
   * lock-free cache operations change meanwhile).
   */
  threadCache?: boolean;
}

/**
 * The big tier as one thread sees it: every block a run of whole 64 KiB pages from the page
 * arena (usable size page-rounded, 64 KiB aligned), and in front of the arena a cache of freed
 * runs in shared memory, by size bucket, bounded by bytes (maxBytes / 8) and by age (a run not
 * reused within 1024 mallocs and frees of the tier goes back). Any thread's free feeds it, any
 * thread's malloc takes from it, under the tier's own short lock: a warm malloc or free is one
 * uncontended lock, a bucket lookup and a page-map write, with no arena mutex.
 *
 * Create one per thread after `arena.threadAttach()`; pass the tier id a composition got from
 * `arena.tierOpen`, or none for the heap's 'big' tier (opened for sizes 1 MiB + 1 … the
 * largest block maxBytes can hold when the heap has none). Both safety modes check every free
 * (a double free, a cached run freed again, an interior pointer or another tier's run is
 * rejected with its code and nothing changed): the checks read one page-map entry under the
 * lock the free takes anyway. Strict also validates each cached run against the page map
 * before handing it out or evicting it.
 */
export class BigTier implements Tier {
  readonly arena: Arena;
  readonly id: number;
  readonly kind = BIG_KIND;
  readonly minSize: number;
  readonly maxSize: number;
  readonly strict: boolean;
  readonly threadId: number;
  /** @internal i32 index of the tier root. */
  readonly root: number;
  /** @internal Pages the cache may hold: maxBytes / 8. */
  readonly capPages: number;
  /** @internal PM_TIER of a run head of this tier (id | PM_FLAG_HEAD); -1 once detached. */
  tierWord: number;
  /** @internal The largest request served (maxSize, or less when maxBytes cannot hold it); -1 once detached. */
  limit: number;
  /** @internal limit as a small integer (≤ 2^31 − 1), for malloc's integer test; a larger size takes the slow path. */
  limitI: number;
  /** @internal PM_DESC of a run in this thread's cache (localMarker(threadId)). */
  readonly marker: number;
  /** @internal i32 index of this thread's cache area, 0 until its first free (and after detach). */
  area = 0;
  /** Whether this handle keeps a thread cache (default true; false: every free goes to the shared cache). */
  readonly threadCache: boolean;

  constructor(arena: Arena, id?: number, options?: BigTierOptions) {
    if (!(arena.threadId >= 1)) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `BigTier needs an attached thread (threadId ${arena.threadId}): call arena.threadAttach() first`,
      );
    }
    this.arena = arena;
    this.strict = arena.strict;
    this.threadId = arena.threadId;
    arena.refresh();
    const largest = arena.maxBytes - arena.base - 2 * PAGE_SIZE;
    const tierId =
      id ??
      (arena.tierFind(BIG_KIND, BIG_LAYOUT_VERSION) ||
        arena.tierOpen(
          BIG_KIND,
          BIG_MIN_SIZE,
          Math.max(BIG_MIN_SIZE, Math.min(BIG_SIZE_LIMIT, largest)),
          ROOT_WORDS,
          BIG_LAYOUT_VERSION,
        ));
    const info = arena.tierExpect(tierId, BIG_KIND, BIG_LAYOUT_VERSION, 'BigTier');
    if (info.maxSize > BIG_SIZE_LIMIT) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `BigTier: tier ${tierId} is a '${info.kind}' tier of sizes ${info.minSize}..${info.maxSize}, not a big tier (≤ ${BIG_SIZE_LIMIT})`,
      );
    }
    this.id = tierId;
    this.minSize = info.minSize;
    this.maxSize = info.maxSize;
    this.root = info.root;
    this.tierWord = tierId | PM_FLAG_HEAD;
    this.marker = localMarker(this.threadId);
    this.threadCache = options?.threadCache ?? true;
    this.limit = Math.min(info.maxSize, largest);
    this.limitI = Math.min(this.limit, 0x7fffffff) | 0;
    this.capPages = Math.floor(arena.maxBytes / PAGE_SIZE) >>> CAP_SHIFT;
    if (Atomics.load(arena.i32, this.root + R_LOCK_REG) === 0) {
      // Registered so arena.breakLocksOf (reclaim) frees it if a thread dies holding it.
      arena.registerLock(this.root + R_LOCK);
      Atomics.store(arena.i32, this.root + R_LOCK_REG, 1);
    }
  }

  // ───────────────────────────── malloc ─────────────────────────────

  /** A block of at least `size` bytes (minSize ≤ size ≤ maxSize), page-rounded; 0 when maxBytes cannot hold it even after the cache gave its runs back. */
  malloc(size: number): number {
    // Integer compares only (`size | 0` folds away for a small-integer size): a size of 2^31 or
    // more, like an invalid one, takes bigMallocSlow.
    if (
      typeof size === 'number' &&
      (size | 0) === size &&
      size >= this.minSize &&
      size <= this.limitI &&
      this.area > 0
    ) {
      const run = localTake(this, this.area, pagesFor(size), liveDesc(size));
      if (run !== 0) return run;
    }
    return this.bigMallocSlow(size);
  }

  /**
   * malloc past the thread cache: the shared cache or the arena, or the size's error. A size of
   * 2^31 or more never was in a thread cache (one holds at most maxBytes / 16 ≤ 256 MiB).
   */
  private bigMallocSlow(size: number): number {
    if (!(size >>> 0 === size && size >= this.minSize && size <= this.limit))
      return this.bigInvalidSize(size);
    return cacheTake(this, pagesFor(size), liveDesc(size));
  }

  /** Runs are 64 KiB aligned: any power of two up to 65536 holds; 0 for larger alignments. */
  mallocAligned(alignment: number, size: number): number {
    if (
      !(
        alignment >>> 0 === alignment &&
        alignment > 0 &&
        alignment <= PAGE_SIZE &&
        (alignment & (alignment - 1)) === 0
      )
    )
      return 0;
    return this.malloc(size);
  }

  private bigInvalidSize(size: number): never {
    if (this.tierWord < 0) throw this.bigDetached(`malloc(${describe(size)})`);
    throw new HakmemError(
      'ERR_INVALID_SIZE',
      `big malloc(${describe(size)}): the big tier serves integer sizes ${this.minSize} … ${this.limit}`,
    );
  }

  // ───────────────────────────── free ─────────────────────────────

  /** Frees a block of this tier (any thread's) into the cache. ERR_INVALID_POINTER / ERR_DOUBLE_FREE with nothing changed. */
  free(ptr: number): void {
    const e = ptr >>> 0 === ptr && this.tierWord > 0 ? this.arena.pageEntry(ptr) : -1;
    if (e < 0) throw this.bigFreeError(ptr, 'free');
    this.bigPut(ptr, e);
  }

  /** free for a caller that has looked `ptr` up: `e` is its page-map entry (see the Tier contract). */
  freeAt(ptr: number, e: number): void {
    if (!(this.tierWord > 0)) throw this.bigFreeError(ptr, 'free');
    this.bigPut(ptr, e);
  }

  /** Frees `ptr` and returns true when the page map names this tier for its page (errors as free); false otherwise. */
  freeOwned(ptr: number): boolean {
    const arena = this.arena;
    const e = this.tierWord > 0 ? arena.pageEntry(ptr) : -1;
    if (e < 0 || (arena.u32[e + PM_TIER]! & PM_TIER_MASK) !== this.id) return false;
    this.bigPut(ptr, e);
    return true;
  }

  /** The free itself (`e`: ptr's page-map entry, this handle attached): the thread cache, else the shared cache, which validates and reports. */
  private bigPut(ptr: number, e: number): void {
    if (this.area > 0 && localPut(this, this.area, ptr, e)) return;
    cachePut(this, ptr, e);
  }

  /** Usable bytes of the live block at `ptr`: its run, page-rounded (a request ≤ 1 MiB keeps its bound). ERR_INVALID_POINTER otherwise. */
  usableSize(ptr: number): number {
    const arena = this.arena;
    const e = ptr >>> 0 === ptr && this.tierWord > 0 ? arena.pageEntry(ptr) : -1;
    if (e >= 0) {
      const u32 = arena.u32;
      const desc = u32[e + PM_DESC]!;
      if (u32[e + PM_TIER] === this.tierWord && (ptr & 0xffff) === 0 && (desc & D_CACHED) === 0) {
        return usableOf(desc, u32[e + PM_RUN_PAGES]!);
      }
    }
    throw this.bigFreeError(ptr, 'usableSize');
  }

  /**
   * Resizes the live block at `ptr` in place: the same pages, a shrink (the tail goes back to
   * the arena), or a growth into a free successor run (a cached run of this tier right after
   * it is evicted first when that makes room; the memory grows when the run is last). False
   * when it must move.
   */
  resize(ptr: number, size: number): boolean {
    if (!(size >>> 0 === size && size >= this.minSize && size <= this.limit))
      return this.bigInvalidSize(size);
    const e = ptr >>> 0 === ptr && this.tierWord > 0 ? this.arena.pageEntry(ptr) : -1;
    if (e < 0) throw this.bigFreeError(ptr, 'resize');
    return cacheResize(this, ptr, e, size);
  }

  /**
   * @internal The precise error for `ptr` rejected by `op`: outside the heap, a free page (a
   * run already given back: ERR_DOUBLE_FREE for free), another tier's block, inside a run, a
   * run in the cache (ERR_DOUBLE_FREE for free), or a detached handle.
   */
  bigFreeError(ptr: unknown, op: string): HakmemError {
    if (this.tierWord < 0) return this.bigDetached(`${op}(${describe(ptr)})`);
    const arena = this.arena;
    const e = typeof ptr === 'number' && ptr >>> 0 === ptr ? arena.pageEntry(ptr) : -1;
    if (e < 0) {
      return new HakmemError(
        'ERR_INVALID_POINTER',
        `big ${op}(${describe(ptr)}): not an offset inside the heap's pages [${arena.base}, ${arena.committedBytes()})`,
      );
    }
    const p = ptr as number;
    const u32 = arena.u32;
    const word = u32[e + PM_TIER]!;
    const tier = word & PM_TIER_MASK;
    const freeCode = op === 'free' ? 'ERR_DOUBLE_FREE' : 'ERR_INVALID_POINTER';
    if (tier === TIER_FREE && p % PAGE_SIZE === 0) {
      return new HakmemError(
        freeCode,
        `big ${op}(${p}): the pages at ${p} are free (the run was freed and went back to the arena)`,
      );
    }
    if (tier !== this.id) {
      return new HakmemError(
        'ERR_INVALID_POINTER',
        `big ${op}(${p}): ${p} is in a page of tier ${tier}, not of the big tier (id ${this.id}): not a big block`,
      );
    }
    if ((word & PM_FLAG_HEAD) === 0 || p % PAGE_SIZE !== 0) {
      return new HakmemError(
        'ERR_INVALID_POINTER',
        `big ${op}(${p}): inside the big run at ${u32[e + PM_HEAD_PAGE]! * PAGE_SIZE}, not its start`,
      );
    }
    if ((u32[e + PM_DESC]! & D_CACHED) !== 0) {
      return new HakmemError(
        freeCode,
        `big ${op}(${p}): the run at ${p} is in the big tier's cache (freed before)`,
      );
    }
    return new HakmemError('ERR_INVALID_POINTER', `big ${op}(${p}): not the start of a live big block`);
  }

  /** `call`: the rejected call as text, e.g. `free(65536)`. */
  private bigDetached(call: string): HakmemError {
    return new HakmemError(
      'ERR_INVALID_THREAD',
      `big ${call}: this handle was detached (after detach() it serves nothing)`,
    );
  }

  // ───────────────────────────── whole-tier operations ─────────────────────────────

  /** This thread's cache into the shared cache (any thread may take its runs then). */
  flush(): void {
    if (this.tierWord < 0 || this.area === 0) return;
    bigLock(this);
    try {
      localFlushLocked(this, false);
    } finally {
      bigUnlock(this);
    }
  }

  /** The thread is leaving: its cache goes to the shared cache and its area back; the handle refuses every later call (ERR_INVALID_THREAD). */
  detach(): void {
    if (this.tierWord > 0 && this.area > 0) {
      bigLock(this);
      try {
        localDetachLocked(this);
      } finally {
        bigUnlock(this);
      }
    }
    this.tierWord = -1;
    this.limit = -1;
    this.limitI = -1;
  }

  /**
   * A dead or terminated thread (the caller ran arena.breakLocksOf(threadId) first): its thread
   * cache goes to the shared cache (its counters to the root), and if it died inside the tier's
   * critical section the lock holder rebuilds the cache from the page map first.
   */
  reclaim(threadId: number): void {
    if (!Number.isInteger(threadId) || threadId < 1 || threadId === this.threadId) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `big reclaim(${describe(threadId)}): not another thread's id (this thread is ${this.threadId}; use detach())`,
      );
    }
    this.bigAttached('reclaim');
    // Wake every thread asleep on the tier lock first. The dead thread may have been woken by an
    // unlock's notify(…, 1) and terminated before it took the lock (or stopped between an
    // unlock's exchange and its notify): that wakeup is lost, the word reads free, and the other
    // sleepers would sleep for good (a later fast-path lock and unlock notifies nobody).
    // A spurious wakeup only makes a waiter look at the word again.
    this.arena.refresh();
    Atomics.notify(this.arena.i32, this.root + R_LOCK);
    bigLock(this);
    try {
      localReclaimLocked(this, threadId);
    } finally {
      bigUnlock(this);
    }
  }

  /**
   * This thread's cache and the shared cache back to the arena (they coalesce), and the node
   * chunks to metaAlloc; returns the bytes of the runs. Other threads' caches are asked for: each
   * gives its runs back at its next free.
   */
  trim(): number {
    this.bigAttached('trim');
    bigLock(this);
    try {
      return cacheTrimLocked(this);
    } finally {
      bigUnlock(this);
    }
  }

  /** Walks the chunks, buckets, age list, free nodes and this tier's runs in the page map; ERR_HEAP_CORRUPTED naming the broken invariant. */
  check(): void {
    this.bigAttached('check');
    bigLock(this);
    try {
      bigCheckLocked(this);
    } finally {
      bigUnlock(this);
    }
  }

  /** Live blocks and bytes, hits, misses, evictions, cached bytes and runs (exact: read under the lock). */
  stats(): BigStats {
    this.bigAttached('stats');
    bigLock(this);
    try {
      return bigStatsLocked(this);
    } finally {
      bigUnlock(this);
    }
  }

  /** Share of the run's bytes handed out: its usable bytes when live, 0 when cached. */
  occupancy(offset: number, pages: number): number {
    const arena = this.arena;
    const e = arena.pageEntry(offset);
    if (e < 0 || !(pages > 0)) return 0;
    const u32 = arena.u32;
    const desc = u32[e + PM_DESC]!;
    if (u32[e + PM_TIER] !== (this.id | PM_FLAG_HEAD) || (desc & D_CACHED) !== 0) return 0;
    return Math.min(1, usableOf(desc, u32[e + PM_RUN_PAGES]!) / (pages * PAGE_SIZE));
  }

  private bigAttached(op: string): void {
    if (this.tierWord < 0) throw this.bigDetached(`${op}()`);
  }
}

/** The big tier for compositions: `{ tier: bigTier }` as the last tier (sizes above the previous tier's maxSize). */
export const bigTier: TierFactory<BigTier> = {
  kind: BIG_KIND,
  sizeLimit: BIG_SIZE_LIMIT,
  rootWords: ROOT_WORDS,
  layoutVersion: BIG_LAYOUT_VERSION,
  create(arena: Arena, id: number): BigTier {
    return new BigTier(arena, id);
  },
};

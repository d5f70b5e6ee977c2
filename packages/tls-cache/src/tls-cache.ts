import { type Arena, HakmemError, PM_TIER, PM_TIER_MASK, TIER_THREAD_WORDS } from '@hakmem/page-arena';
import { crashPoint } from './crash-point';
import {
  CACHE_DEFAULT_BUDGET,
  CACHE_EPOCH_EVENTS,
  CACHE_GROW_AFTER,
  CACHE_INIT_BYTES,
  CACHE_INIT_MAX_CAP,
  CACHE_INIT_MIN_CAP,
  CACHE_MAX_CAP,
  CACHE_MIN_CAP,
  CC_CAP,
  CC_COUNT,
  CC_EPOCH_HITS,
  CC_EPOCH_SLOW,
  CC_HEAD,
  CC_HITS,
  CC_LIVE,
  CC_MAX_CAP,
  CC_MISSES,
  CC_SHIFT,
  CC_SIZE,
  CC_SPILL_COUNT,
  CC_SPILL_HEAD,
  CC_SPILLS,
  CC_WORDS,
  G_CLASSES,
  G_HEADER_WORDS,
  G_HITS,
  G_LIVE,
  G_MISSES,
  G_SPILLS,
  G_WORDS,
  TC_BUDGET,
  TC_CAP_BYTES,
  TC_CLASS_BYTES,
  TC_CLASSES,
  TC_EPOCHS,
  TC_EVENTS,
  TC_HEADER_WORDS,
  TC_SLOT,
  TC_THREAD,
} from './layout';

/**
 * The allocator a TlsCache fronts. Its methods run only on the cache's slow paths.
 * Blocks are linked through their first u32 word (0 ends a chain).
 */
export interface CacheBackend {
  /**
   * Strict safety: the cache hands every block it pops to `cacheCheckOut` and every block it
   * takes back to `cacheCheckIn`, so a cache in front cannot bypass the backend's checks.
   */
  readonly strict: boolean;
  /** Length of the chain the last `cacheRefill` returned. */
  readonly refilled: number;
  /** Detaches up to `want` (≥ 1) free blocks of class `cls` for this thread; returns the chain head (0 = out of memory) and sets `refilled`. */
  cacheRefill(cls: number, want: number): number;
  /**
   * Takes back `count` blocks of class `cls`, chained from `head`, that this thread's cache
   * held. With `spillProgress`, `progress` is the i32 index of the cache's spill record (chain
   * head, then count): the backend stores the rest of the chain there as it takes each block,
   * in the same straight line (no call, no loop between) that takes it.
   */
  cacheSpill(cls: number, head: number, count: number, progress?: number): void;
  /** True when `cacheSpill` advances the spill record (a reclaim then recovers a spill cut short). */
  readonly spillProgress?: boolean;
  /**
   * Reclaim of a dead thread: `ptr` was in its cache list of class `cls`. If it is a free
   * block of that class the backend can take back, take it back and return the link it held;
   * else return -1 (the walk of that list stops: the rest was in flight).
   */
  cacheRecover(cls: number, ptr: number, deadThreadId: number): number;
  /**
   * The cache's slow paths (spill, flush, shrink) ask this of every link they follow before
   * they write anything (strict: of every link of the list): true when `ptr` can be a block of
   * this thread's list of class `cls` — a block start of the class in this thread's memory
   * and, strict, a free one. Reads only. Without it the cache checks that `ptr` is 4-byte
   * aligned in a page of its tier (the arena's page map).
   */
  cacheLinkValid?(cls: number, ptr: number): boolean;
  /** check(): throws ERR_HEAP_CORRUPTED unless `ptr` is a free block of class `cls` that thread `threadId` may cache. */
  cacheCheckBlock(cls: number, ptr: number, threadId: number): void;
  /**
   * Strict: `ptr`, the head of this thread's list of class `cls`, is about to be handed to a
   * user. ERR_HEAP_CORRUPTED (nothing handed out) unless it is a free block of the class that
   * this thread may cache (a write after free broke the list); marks it live.
   */
  cacheCheckOut(cls: number, ptr: number): void;
  /**
   * Strict: a user of this thread is giving back `ptr` as a block of class `cls`.
   * ERR_INVALID_POINTER / ERR_DOUBLE_FREE (nothing changed) unless it is a live block of that
   * class that this thread may cache; marks it free.
   */
  cacheCheckIn(cls: number, ptr: number): void;
}

export interface TlsCacheOptions {
  /** The fronted tier's id: the cache keeps its area's offset in that tier's per-thread words. */
  tier: number;
  /** Which of the tier's per-thread words (0 … 3) names this cache's area. */
  threadWord: number;
  /** Block size of each class (index = class). */
  classSizes: ArrayLike<number>;
  /**
   * i32 index of a word, zero at format and owned by the fronted tier (in its tier root), where
   * this cache keeps the offset of its global block (counters of departed threads).
   */
  rootWord: number;
  /** Most bytes this thread's class capacities may add up to (default 256 KiB). */
  budgetBytes?: number;
  /**
   * Most bytes the capacity of one class may hold (capacity × block size; never below
   * CACHE_MIN_CAP blocks). Default: no per-class byte cap, only CACHE_MAX_CAP blocks. With
   * classes of very different sizes, it keeps a class of small blocks from hoarding while the
   * budget lets a class of large blocks hold more than a handful.
   */
  classBytes?: number;
  /**
   * The fronting tier runs its own fast path and touches no counter there (a hit and a push
   * only move a block between the user and the list): CC_LIVE then holds live + cached blocks,
   * changed only where a block enters or leaves the thread's hands (refill, spill, flush,
   * reclaim, `cacheNoteFree`), and live = CC_LIVE − CC_COUNT when stats ask. Every cache of
   * one tier word must agree (the tier that creates them passes it). Default false: CC_LIVE is
   * the live count and `cachePop`/`cachePush` change it.
   */
  liveWithCached?: boolean;
}

/** Heap-wide figures of one class (Σ attached threads + departed threads' counters). */
export interface CacheClassStats {
  size: number;
  /** Blocks handed to users and not yet freed (exact when quiescent). */
  live: number;
  /** Blocks in thread caches. */
  cached: number;
  /** Σ capacity of the attached threads. */
  capacity: number;
  hits: number;
  misses: number;
  spills: number;
}

/**
 * One thread's cache over a size-class backend (create it after `arena.threadAttach()`).
 *
 * A composed tier may run the fast path itself on the area's words (see layout.ts) and call
 * `cacheRefill`/`cacheSpill` on a miss; `cachePop`/`cachePush` are that fast path for
 * everyone else.
 */
export class TlsCache {
  readonly arena: Arena;
  readonly backend: CacheBackend;
  readonly threadId: number;
  readonly tier: number;
  readonly threadWord: number;
  /** The backend's strict safety (its checks run on every pop and push). */
  readonly strict: boolean;
  readonly classes: number;
  /** Block size per class. */
  readonly sizes: Int32Array;
  readonly rootWord: number;
  /** CC_LIVE holds live + cached blocks (options.liveWithCached). */
  readonly liveWithCached: boolean;
  /** i32 index of this thread's area (0 after release). */
  area: number;
  /** i32 index of class 0's record: `records + (cls << CC_SHIFT)`. */
  records: number;
  private global: number;

  constructor(arena: Arena, backend: CacheBackend, options: TlsCacheOptions) {
    if (!(arena.threadId >= 1)) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `TlsCache needs an attached thread (threadId ${arena.threadId}): call arena.threadAttach() first`,
      );
    }
    const { tier, threadWord, classSizes, rootWord } = options;
    if (!(Number.isInteger(threadWord) && threadWord >= 0 && threadWord < TIER_THREAD_WORDS)) {
      throw new HakmemError(
        'ERR_INVALID_OPTION',
        `TlsCache threadWord ${threadWord} is not a per-thread tier word 0 … ${TIER_THREAD_WORDS - 1}`,
      );
    }
    const classes = classSizes.length;
    if (classes < 1 || !Array.from(classSizes).every((s) => Number.isInteger(s) && s >= 4)) {
      throw new HakmemError(
        'ERR_INVALID_OPTION',
        'TlsCache classSizes must be a non-empty list of integer block sizes ≥ 4 (a block holds its link)',
      );
    }
    const budget = options.budgetBytes ?? CACHE_DEFAULT_BUDGET;
    if (!(Number.isInteger(budget) && budget >= 0 && budget < 2 ** 31)) {
      throw new HakmemError(
        'ERR_INVALID_OPTION',
        `TlsCache budgetBytes ${budget} is not an integer in [0, 2^31)`,
      );
    }
    const classBytes = options.classBytes ?? 0;
    if (!(Number.isInteger(classBytes) && classBytes >= 0 && classBytes < 2 ** 31)) {
      throw new HakmemError(
        'ERR_INVALID_OPTION',
        `TlsCache classBytes ${classBytes} is not an integer in [0, 2^31) (0: no per-class byte cap)`,
      );
    }
    this.arena = arena;
    this.backend = backend;
    this.threadId = arena.threadId;
    this.tier = tier;
    this.threadWord = threadWord;
    this.strict = backend.strict;
    this.classes = classes;
    this.sizes = Int32Array.from(classSizes);
    this.rootWord = rootWord;
    this.liveWithCached = options.liveWithCached === true;
    arena.refresh();
    this.global = this.cacheGlobal();
    const record = arena.threadTierWords(tier) + threadWord;
    let offset = Atomics.load(this.i32, record) >>> 0;
    if (offset === 0) {
      offset = arena.metaAlloc((TC_HEADER_WORDS + classes * CC_WORDS) * 4);
      if (offset === 0)
        throw new HakmemError(
          'ERR_OUT_OF_MEMORY',
          `no room for thread ${this.threadId}'s cache area within maxBytes ${arena.maxBytes}`,
        );
      this.cacheFormat(offset >>> 2, budget, classBytes);
      Atomics.store(this.i32, record, offset);
    } else if (this.i32[(offset >>> 2) + TC_CLASSES] !== classes) {
      throw new HakmemError(
        'ERR_INVALID_OPTION',
        `thread ${this.threadId}'s cache in tier ${tier} word ${threadWord} has ${this.i32[(offset >>> 2) + TC_CLASSES]} classes, not ${classes}`,
      );
    }
    this.area = offset >>> 2;
    this.records = this.area + TC_HEADER_WORDS;
  }

  /** The global block (created by the first thread; CAS on the root word). */
  private cacheGlobal(): number {
    let offset = Atomics.load(this.i32, this.rootWord) >>> 0;
    if (offset !== 0) return offset >>> 2;
    const fresh = this.arena.metaAlloc((G_HEADER_WORDS + this.classes * G_WORDS) * 4);
    if (fresh === 0) throw new HakmemError('ERR_OUT_OF_MEMORY', 'no room for the cache counters block');
    this.i32[(fresh >>> 2) + G_CLASSES] = this.classes;
    offset = Atomics.compareExchange(this.i32, this.rootWord, 0, fresh) >>> 0;
    if (offset === 0) return fresh >>> 2;
    this.arena.metaFree(fresh);
    return offset >>> 2;
  }

  private cacheFormat(area: number, budget: number, classBytes: number): void {
    const i32 = this.i32;
    i32[area + TC_THREAD] = this.threadId;
    i32[area + TC_CLASSES] = this.classes;
    i32[area + TC_BUDGET] = budget;
    i32[area + TC_SLOT] = this.tier * TIER_THREAD_WORDS + this.threadWord;
    i32[area + TC_CLASS_BYTES] = classBytes;
    const maxCaps = Array.from(this.sizes, (size) => cacheMaxCap(classBytes, size));
    const caps = Array.from(this.sizes, (size, c) =>
      Math.min(
        maxCaps[c]!,
        CACHE_INIT_MAX_CAP,
        Math.max(CACHE_INIT_MIN_CAP, Math.floor(CACHE_INIT_BYTES / size)),
      ),
    );
    const bytes = () => caps.reduce((sum, cap, c) => sum + cap * this.sizes[c]!, 0);
    const limit = Math.max(budget, CACHE_MIN_CAP * this.sizes.reduce((a, b) => a + b, 0));
    // Start within the budget: halve the class holding the most bytes until the sum fits.
    while (bytes() > limit) {
      let widest = -1;
      for (let c = 0; c < caps.length; c++) {
        if (
          caps[c]! > CACHE_MIN_CAP &&
          (widest < 0 || caps[c]! * this.sizes[c]! > caps[widest]! * this.sizes[widest]!)
        )
          widest = c;
      }
      caps[widest] = Math.max(CACHE_MIN_CAP, caps[widest]! >>> 1);
    }
    for (let c = 0; c < this.classes; c++) {
      const h = area + TC_HEADER_WORDS + (c << CC_SHIFT);
      i32[h + CC_CAP] = caps[c]!;
      i32[h + CC_SIZE] = this.sizes[c]!;
      i32[h + CC_MAX_CAP] = maxCaps[c]!;
    }
    const capBytes = bytes();
    i32[area + TC_CAP_BYTES] = capBytes;
  }

  /** The arena's views: the one owner of this thread's views (current after `arena.refresh()`). */
  get i32(): Int32Array {
    return this.arena.i32;
  }

  get u32(): Uint32Array {
    return this.arena.u32;
  }

  /** Picks up views made current by a growth (or a replacement) of the memory. */
  cacheRefreshViews(): void {
    this.arena.refresh();
  }

  // ───────────────────────────── fast path ─────────────────────────────

  /**
   * A block of class `cls` from the cache (refilled on a miss); 0 when the backend is out of
   * memory. Counts it live. Strict: the backend validates it first (`cacheCheckOut`).
   */
  cachePop(cls: number): number {
    const h = this.records + (cls << CC_SHIFT);
    const arena = this.arena;
    const u32 = arena.u32;
    const p = u32[h + CC_HEAD]!;
    // `!(p > 0)` also sends a view the memory detached (undefined) to the slow path.
    if (!(p > 0)) return this.cachePopSlow(cls);
    if (this.strict) this.backend.cacheCheckOut(cls, p);
    const i32 = arena.i32;
    i32[h + CC_HEAD] = u32[p >>> 2]!;
    i32[h + CC_COUNT]!--;
    i32[h + CC_HITS]!++;
    if (!this.liveWithCached) i32[h + CC_LIVE]!++;
    return p;
  }

  private cachePopSlow(cls: number): number {
    this.arena.refresh();
    const h = this.records + (cls << CC_SHIFT);
    if (this.u32[h + CC_HEAD] === 0 && this.cacheRefill(cls) === 0) return 0;
    const i32 = this.i32;
    const p = this.u32[h + CC_HEAD]!;
    if (this.strict) this.backend.cacheCheckOut(cls, p);
    i32[h + CC_HEAD] = this.u32[p >>> 2]!;
    i32[h + CC_COUNT]!--;
    if (!this.liveWithCached) i32[h + CC_LIVE]!++;
    return p;
  }

  /**
   * Takes back a block of class `cls` that a user of this thread freed (spilling when full).
   * Strict: the backend validates it (`cacheCheckIn`: a double free or a block of another
   * class or thread is rejected with no block changing hands). The check comes after a spill,
   * so a spill that meets a corrupted link (ERR_HEAP_CORRUPTED) leaves the block live.
   */
  cachePush(cls: number, ptr: number): void {
    const h = this.records + (cls << CC_SHIFT);
    if (!(this.i32[h + CC_COUNT]! < this.i32[h + CC_CAP]!)) this.cacheSpill(cls); // leaves room for one
    if (this.strict) this.backend.cacheCheckIn(cls, ptr);
    const i32 = this.i32;
    this.u32[ptr >>> 2] = this.u32[h + CC_HEAD]!;
    i32[h + CC_HEAD] = ptr;
    i32[h + CC_COUNT] = i32[h + CC_COUNT]! + 1;
    if (!this.liveWithCached) i32[h + CC_LIVE]!--;
  }

  /** A block of class `cls` that this thread freed into another thread's structures: counts it no longer live. */
  cacheNoteFree(cls: number): void {
    this.i32[this.records + (cls << CC_SHIFT) + CC_LIVE]!--;
  }

  // ───────────────────────────── slow paths ─────────────────────────────

  /**
   * A miss: fills the (empty) list of `cls` with a batch from the backend. Returns the blocks
   * now cached, 0 when the backend is out of memory.
   */
  cacheRefill(cls: number): number {
    this.cacheRefreshViews();
    const h = this.records + (cls << CC_SHIFT);
    let i32 = this.i32;
    i32[h + CC_MISSES]!++;
    this.cacheSlowEvent(h);
    const cap = i32[h + CC_CAP]!;
    const head = this.backend.cacheRefill(cls, cap > 1 ? cap >>> 1 : 1);
    const n = this.backend.refilled;
    // The backend may have grown the memory: the arena's views are the current ones (a field
    // read, not a call: a call is an interrupt point where a terminated worker would lose the batch).
    i32 = this.arena.i32;
    if (head === 0) return 0;
    const count = i32[h + CC_COUNT]!;
    if (count === 0) {
      i32[h + CC_HEAD] = head;
      i32[h + CC_COUNT] = n;
      if (this.liveWithCached) i32[h + CC_LIVE] = i32[h + CC_LIVE]! + n;
    } else {
      this.cacheAppend(h, head, n, count);
    }
    if (i32[this.area + TC_EVENTS]! >= CACHE_EPOCH_EVENTS) this.cacheEpoch();
    return n;
  }

  /** Puts a chain in front of a non-empty list (only when a refill met a list that is not empty). */
  private cacheAppend(h: number, head: number, n: number, count: number): void {
    const u32 = this.u32;
    let tail = head;
    for (let i = 1; i < n; i++) tail = u32[tail >>> 2]!;
    u32[tail >>> 2] = u32[h + CC_HEAD]!;
    this.i32[h + CC_HEAD] = head;
    this.i32[h + CC_COUNT] = count + n;
    if (this.liveWithCached) this.i32[h + CC_LIVE] = this.i32[h + CC_LIVE]! + n;
  }

  /**
   * The list of `cls` is full and a block is coming back: grow the capacity if the class is
   * hot, else give the oldest half to the backend. Afterwards the list has room for one.
   */
  cacheSpill(cls: number): void {
    this.cacheRefreshViews();
    const h = this.records + (cls << CC_SHIFT);
    const i32 = this.i32;
    i32[h + CC_SPILLS]!++;
    const count = i32[h + CC_COUNT]!;
    if (this.cacheSlowEvent(h) && count < i32[h + CC_CAP]!) return;
    this.cacheTrimList(cls, h, i32[h + CC_CAP]! >>> 1);
    if (i32[this.area + TC_EVENTS]! >= CACHE_EPOCH_EVENTS) this.cacheEpoch();
  }

  /**
   * Cuts the list of class record `h` to its newest `keep` blocks; the rest goes to the backend.
   *
   * A use-after-free write into a cached block is a link this cut may follow, so the links are
   * checked before anything is written (issue 9): strict, every link of the list
   * (`cacheLinkValid`) and its 0 end after exactly CC_COUNT blocks (a cycle never ends, so no
   * block is listed twice); fast, the `keep` links the cut follows and the chain's head, which
   * it hands to the backend. A broken link is ERR_HEAP_CORRUPTED with the list unchanged.
   */
  private cacheTrimList(cls: number, h: number, keep: number): void {
    const i32 = this.i32;
    const u32 = this.u32;
    const count = i32[h + CC_COUNT]!;
    if (count <= keep) return;
    // Read-only pass, bounded by the count.
    const walk = this.strict ? count : keep + 1;
    let last = 0;
    let p = u32[h + CC_HEAD]!;
    for (let i = 0; i < walk; i++) {
      if (!this.cacheLinkOk(cls, p)) throw this.cacheBrokenLink(cls, h, i, p);
      if (i === keep - 1) last = p;
      p = u32[p >>> 2]!;
    }
    if (this.strict && p !== 0) throw this.cacheBrokenLink(cls, h, count, p);
    const record = this.backend.spillProgress === true;
    let chain: number;
    // Each branch is one straight line: the chain leaves the list and enters the spill record.
    if (keep === 0) {
      chain = u32[h + CC_HEAD]!;
      i32[h + CC_HEAD] = 0;
      i32[h + CC_COUNT] = 0;
      if (this.liveWithCached) i32[h + CC_LIVE] = i32[h + CC_LIVE]! - count;
      if (record) {
        i32[h + CC_SPILL_HEAD] = chain;
        i32[h + CC_SPILL_COUNT] = count;
      }
    } else {
      chain = u32[last >>> 2]!;
      u32[last >>> 2] = 0;
      i32[h + CC_COUNT] = keep;
      if (this.liveWithCached) i32[h + CC_LIVE] = i32[h + CC_LIVE]! - (count - keep);
      if (record) {
        i32[h + CC_SPILL_HEAD] = chain;
        i32[h + CC_SPILL_COUNT] = count - keep;
      }
    }
    if (__DEV__) crashPoint('spill');
    this.backend.cacheSpill(cls, chain, count - keep, record ? h + CC_SPILL_HEAD : 0);
    this.cacheRefreshViews();
    if (record) {
      this.i32[h + CC_SPILL_COUNT] = 0;
      this.i32[h + CC_SPILL_HEAD] = 0;
    }
  }

  /** May `ptr` be a link of this thread's list of class `cls`? The backend's answer, else: 4-byte aligned in a page of the tier. */
  private cacheLinkOk(cls: number, ptr: number): boolean {
    const backend = this.backend;
    if (backend.cacheLinkValid !== undefined) return backend.cacheLinkValid(cls, ptr);
    if ((ptr & 3) !== 0) return false;
    const entry = this.arena.pageEntry(ptr);
    return entry >= 0 && (this.arena.u32[entry + PM_TIER]! & PM_TIER_MASK) === this.tier;
  }

  /** ERR_HEAP_CORRUPTED: link `at` (0 = the head) of the list of class record `h` is `ptr`, which the rule refuses. */
  private cacheBrokenLink(cls: number, h: number, at: number, ptr: number): HakmemError {
    const count = this.i32[h + CC_COUNT]!;
    const where = `thread ${this.threadId}'s cache of class ${cls} (${this.sizes[cls]} B, ${count} blocks)`;
    if (at >= count) {
      return new HakmemError(
        'ERR_HEAP_CORRUPTED',
        `${where}: the list continues past its count to 0x${(ptr >>> 0).toString(16)} (a cycle, or a write after free): nothing spilled`,
      );
    }
    return new HakmemError(
      'ERR_HEAP_CORRUPTED',
      `${where}: link ${at} is 0x${(ptr >>> 0).toString(16)}, not ${this.strict ? 'a free' : 'a'} block of the class this thread may cache (a write after free?): nothing spilled`,
    );
  }

  /** Counts a slow event of class record `h`; grows the class when it keeps missing. True if it grew. */
  private cacheSlowEvent(h: number): boolean {
    const i32 = this.i32;
    const area = this.area;
    i32[area + TC_EVENTS]!++;
    const slow = ++i32[h + CC_EPOCH_SLOW]!;
    if (slow < CACHE_GROW_AFTER) return false;
    const cap = i32[h + CC_CAP]!;
    // An area formatted before CC_MAX_CAP existed holds 0 there: the count cap alone.
    const bigger = Math.min(i32[h + CC_MAX_CAP]! || CACHE_MAX_CAP, cap * 2);
    const add = (bigger - cap) * i32[h + CC_SIZE]!;
    if (bigger === cap || i32[area + TC_CAP_BYTES]! + add > i32[area + TC_BUDGET]!) return false;
    i32[h + CC_CAP] = bigger;
    i32[area + TC_CAP_BYTES] = i32[area + TC_CAP_BYTES]! + add;
    return true;
  }

  /** End of an epoch: classes that went cold give half their capacity (and what no longer fits) back. */
  private cacheEpoch(): void {
    const area = this.area;
    this.i32[area + TC_EVENTS] = 0;
    this.i32[area + TC_EPOCHS]!++;
    for (let cls = 0; cls < this.classes; cls++) {
      const h = this.records + (cls << CC_SHIFT);
      const i32 = this.i32;
      const hits = i32[h + CC_HITS]!;
      const cold = hits === i32[h + CC_EPOCH_HITS] && i32[h + CC_EPOCH_SLOW] === 0;
      i32[h + CC_EPOCH_HITS] = hits;
      i32[h + CC_EPOCH_SLOW] = 0;
      const cap = i32[h + CC_CAP]!;
      if (!cold || cap <= CACHE_MIN_CAP) continue;
      const smaller = Math.max(CACHE_MIN_CAP, cap >>> 1);
      i32[h + CC_CAP] = smaller;
      i32[area + TC_CAP_BYTES] = i32[area + TC_CAP_BYTES]! - (cap - smaller) * i32[h + CC_SIZE]!;
      this.cacheTrimList(cls, h, smaller);
    }
  }

  /** Every cached block back to the backend. */
  cacheFlush(): void {
    if (this.area === 0) return;
    this.cacheRefreshViews();
    for (let cls = 0; cls < this.classes; cls++) {
      this.cacheTrimList(cls, this.records + (cls << CC_SHIFT), 0);
    }
  }

  /** The thread is leaving: flush, fold its counters into the global block, free its area. */
  cacheRelease(): void {
    if (this.area === 0) return;
    this.cacheFlush();
    this.cacheFold(this.area);
    this.cacheFreeArea(this.threadId);
    this.area = 0;
    this.records = 0;
  }

  private cacheFold(area: number): void {
    const i32 = this.i32;
    const g = this.global;
    for (let cls = 0; cls < this.classes; cls++) {
      const h = area + TC_HEADER_WORDS + (cls << CC_SHIFT);
      const gc = g + G_HEADER_WORDS + cls * G_WORDS;
      Atomics.add(i32, gc + G_LIVE, this.cacheLiveOf(h));
      Atomics.add(i32, gc + G_HITS, i32[h + CC_HITS]!);
      Atomics.add(i32, gc + G_MISSES, i32[h + CC_MISSES]!);
      Atomics.add(i32, gc + G_SPILLS, i32[h + CC_SPILLS]!);
    }
  }

  private cacheFreeArea(threadId: number): void {
    const words = this.arena.threadTierWords(this.tier, threadId);
    if (words === 0) return;
    const record = words + this.threadWord;
    const offset = Atomics.exchange(this.i32, record, 0) >>> 0;
    if (offset !== 0) this.arena.metaFree(offset);
  }

  /**
   * A dead (terminated) thread's cache: every block still listed goes back through
   * `backend.cacheRecover`, its counters are folded, its area freed. Returns the blocks recovered.
   */
  cacheReclaim(deadThreadId: number): number {
    if (deadThreadId === this.threadId) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `cacheReclaim: thread ${deadThreadId} is this thread (use cacheRelease)`,
      );
    }
    this.cacheRefreshViews();
    const area = this.cacheAreaOf(deadThreadId);
    if (area === 0) return 0;
    let recovered = 0;
    for (let cls = 0; cls < this.classes; cls++) {
      const h = area + TC_HEADER_WORDS + (cls << CC_SHIFT);
      // A spill it was in the middle of: the blocks its record still holds (no longer counted).
      const spilling = this.i32[h + CC_SPILL_COUNT]!;
      let q = this.u32[h + CC_SPILL_HEAD]!;
      for (let i = 0; i < spilling && q !== 0; i++) {
        const next = this.backend.cacheRecover(cls, q, deadThreadId);
        if (next < 0) break;
        recovered++;
        q = next;
      }
      this.cacheRefreshViews();
      this.i32[h + CC_SPILL_COUNT] = 0;
      this.i32[h + CC_SPILL_HEAD] = 0;
      const count = this.i32[h + CC_COUNT]!;
      let p = this.u32[h + CC_HEAD]!;
      for (let i = 0; i < count && p !== 0; i++) {
        const next = this.backend.cacheRecover(cls, p, deadThreadId);
        if (next < 0) break;
        recovered++;
        p = next;
      }
      this.cacheRefreshViews();
      if (this.liveWithCached) this.i32[h + CC_LIVE] = this.cacheLiveOf(h);
      this.i32[h + CC_HEAD] = 0;
      this.i32[h + CC_COUNT] = 0;
    }
    this.cacheFold(area);
    this.cacheFreeArea(deadThreadId);
    return recovered;
  }

  // ───────────────────────────── stats and check ─────────────────────────────

  /** i32 index of the area of thread `threadId` for this tier word, 0 if it has none. */
  cacheAreaOf(threadId: number): number {
    const words = this.arena.threadTierWords(this.tier, threadId);
    if (words === 0) return 0;
    return (Atomics.load(this.i32, words + this.threadWord) >>> 0) >>> 2;
  }

  /** Live blocks the class record at i32 index `h` counts (CC_LIVE, less the cached ones when it holds both). */
  private cacheLiveOf(h: number): number {
    const i32 = this.i32;
    return this.liveWithCached ? i32[h + CC_LIVE]! - i32[h + CC_COUNT]! : i32[h + CC_LIVE]!;
  }

  /** This thread's capacity of class `cls` in blocks. */
  cacheCapacity(cls: number): number {
    return this.i32[this.records + (cls << CC_SHIFT) + CC_CAP]!;
  }

  /** Blocks in this thread's list of class `cls`. */
  cacheCount(cls: number): number {
    return this.i32[this.records + (cls << CC_SHIFT) + CC_COUNT]!;
  }

  /** Heap-wide figures per class: Σ attached threads + the counters of departed ones (exact when quiescent). */
  cacheStats(): CacheClassStats[] {
    this.cacheRefreshViews();
    const out: CacheClassStats[] = [];
    const g = this.global;
    for (let cls = 0; cls < this.classes; cls++) {
      const gc = g + G_HEADER_WORDS + cls * G_WORDS;
      out.push({
        size: this.sizes[cls]!,
        live: Atomics.load(this.i32, gc + G_LIVE),
        cached: 0,
        capacity: 0,
        hits: Atomics.load(this.i32, gc + G_HITS) >>> 0,
        misses: Atomics.load(this.i32, gc + G_MISSES) >>> 0,
        spills: Atomics.load(this.i32, gc + G_SPILLS) >>> 0,
      });
    }
    for (const tid of this.arena.threadIds()) {
      const area = this.cacheAreaOf(tid);
      if (area === 0) continue;
      const i32 = this.i32;
      for (let cls = 0; cls < this.classes; cls++) {
        const h = area + TC_HEADER_WORDS + (cls << CC_SHIFT);
        const s = out[cls]!;
        s.live += this.cacheLiveOf(h);
        s.cached += i32[h + CC_COUNT]!;
        s.capacity += i32[h + CC_CAP]!;
        s.hits += i32[h + CC_HITS]! >>> 0;
        s.misses += i32[h + CC_MISSES]! >>> 0;
        s.spills += i32[h + CC_SPILLS]! >>> 0;
      }
    }
    return out;
  }

  /** Walks every attached thread's cache: counts, capacities, budget, each block (through `backend.cacheCheckBlock`). */
  cacheCheck(): void {
    this.cacheRefreshViews();
    for (const tid of this.arena.threadIds()) {
      const area = this.cacheAreaOf(tid);
      if (area === 0) continue;
      const i32 = this.i32;
      const u32 = this.u32;
      const where = `thread ${tid}'s cache (tier ${this.tier} word ${this.threadWord})`;
      if (
        i32[area + TC_THREAD] !== tid ||
        i32[area + TC_CLASSES] !== this.classes ||
        i32[area + TC_SLOT] !== this.tier * TIER_THREAD_WORDS + this.threadWord
      ) {
        throw new HakmemError(
          'ERR_HEAP_CORRUPTED',
          `${where}: header names thread ${i32[area + TC_THREAD]}, ${i32[area + TC_CLASSES]} classes, tier word ${i32[area + TC_SLOT]}`,
        );
      }
      let capBytes = 0;
      let minBytes = 0;
      for (let cls = 0; cls < this.classes; cls++) {
        const h = area + TC_HEADER_WORDS + (cls << CC_SHIFT);
        const count = i32[h + CC_COUNT]!;
        const cap = i32[h + CC_CAP]!;
        if (i32[h + CC_SIZE] !== this.sizes[cls]) {
          throw new HakmemError(
            'ERR_HEAP_CORRUPTED',
            `${where}: class ${cls} records size ${i32[h + CC_SIZE]}, not ${this.sizes[cls]}`,
          );
        }
        // 0: an area formatted before CC_MAX_CAP existed (the count cap alone).
        const recorded = i32[h + CC_MAX_CAP]!;
        const maxCap = recorded || CACHE_MAX_CAP;
        if (recorded !== 0 && recorded !== cacheMaxCap(i32[area + TC_CLASS_BYTES]!, this.sizes[cls]!)) {
          throw new HakmemError(
            'ERR_HEAP_CORRUPTED',
            `${where}: class ${cls} (${this.sizes[cls]} B) records a largest capacity of ${maxCap} blocks, not what its byte cap ${i32[area + TC_CLASS_BYTES]} gives`,
          );
        }
        if (!(cap >= CACHE_MIN_CAP && cap <= maxCap) || !(count >= 0 && count <= cap)) {
          throw new HakmemError(
            'ERR_HEAP_CORRUPTED',
            `${where}: class ${cls} (${this.sizes[cls]} B) holds ${count} blocks with capacity ${cap} (allowed ${CACHE_MIN_CAP} … ${maxCap})`,
          );
        }
        capBytes += cap * this.sizes[cls]!;
        minBytes += CACHE_MIN_CAP * this.sizes[cls]!;
        let p = u32[h + CC_HEAD]!;
        for (let i = 0; i < count; i++) {
          if (p === 0) {
            throw new HakmemError(
              'ERR_HEAP_CORRUPTED',
              `${where}: class ${cls} list ends after ${i} blocks, its count says ${count}`,
            );
          }
          this.backend.cacheCheckBlock(cls, p, tid);
          p = u32[p >>> 2]!;
        }
        if (p !== 0) {
          throw new HakmemError(
            'ERR_HEAP_CORRUPTED',
            `${where}: class ${cls} list continues past its count ${count} (to ${p})`,
          );
        }
      }
      if (capBytes !== i32[area + TC_CAP_BYTES] || capBytes > Math.max(i32[area + TC_BUDGET]!, minBytes)) {
        throw new HakmemError(
          'ERR_HEAP_CORRUPTED',
          `${where}: capacities add up to ${capBytes} B; recorded ${i32[area + TC_CAP_BYTES]}, budget ${i32[area + TC_BUDGET]}`,
        );
      }
    }
  }
}

/** Largest capacity of a class of `size`-byte blocks under a per-class byte cap (0: none). */
function cacheMaxCap(classBytes: number, size: number): number {
  if (classBytes === 0) return CACHE_MAX_CAP;
  return Math.min(CACHE_MAX_CAP, Math.max(CACHE_MIN_CAP, Math.floor(classBytes / size)));
}

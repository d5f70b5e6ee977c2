import {
  Arena,
  type ArenaFormatOptions,
  type ArenaStats,
  describe,
  HakmemError,
  type HeapMemory,
  MAX_BYTES_LIMIT,
  PAGE_SIZE,
  PM_TIER,
  PM_TIER_MASK,
  rejectUnknownKeys,
  THREAD_FREE,
  THREAD_RECLAIMING,
  TIER_FREE,
  TIER_META,
  type Tier,
  type TierFactory,
  type TierStats,
} from '@hakmem/page-arena';
import {
  DEFAULT_TIERS,
  describeTiers,
  factoriesFor,
  largestBlock,
  type PlannedTier,
  planTiers,
  type TierSpec,
} from './composition';
import { type AnyTypedArray, type ElementType, MALLOC_AS_TYPES } from './layout';
import { describeValue, invalidSize, validateAlignment } from './validate';

/** createHeap's options: those of the page arena (validated and persisted by it), and the composition. */
export interface HeapOptions extends ArenaFormatOptions {
  /**
   * The tiers, in size order: each serves the sizes above the previous one's `maxSize` up to
   * its own. Recorded in the heap, so every thread routes the same way. Default: DEFAULT_TIERS
   * (tiny to 1 KiB, mid to 32 KiB, L2.5 to 1 MiB, big above).
   */
  tiers?: readonly TierSpec[];
}

export interface AttachOptions {
  /** Must match the heap's safety (it is fixed for every thread by createHeap); default: the heap's. */
  safety?: 'strict' | 'fast';
  /** The composition createHeap was given; needed when it has tiers hakmem does not build in. Must match the heap's. */
  tiers?: readonly TierSpec[];
}

export interface HeapStats {
  committedBytes: number;
  maxBytes: number;
  liveBytes: number;
  liveBlocks: number;
  threads: number;
  /** Per tier kind (`tiny`, `mid`, `l25`, `big`, your own): live blocks and bytes, and the tier's own figures. */
  tiers: Record<string, TierStats>;
  arena: ArenaStats;
  locks: ArenaStats['locks'];
}

export interface SnapshotRun {
  offset: number;
  pages: number;
  /** 'free', 'meta', or the kind of the tier that owns the run. */
  tier: string;
  /** Fraction of the run's bytes handed out to users (0 for free and meta runs). */
  occupancy: number;
}

const HEAP_OPTION_KEYS: readonly string[] = [
  'memory',
  'base',
  'initialBytes',
  'maxBytes',
  'shared',
  'safety',
  'tiers',
];
const ATTACH_OPTION_KEYS: readonly string[] = ['safety', 'tiers'];

/** free's page-map words as literals (an imported const is a load and a check at each use). */
const enum Pm {
  Tier = 0,
  TierMask = 0xff,
}
if (Pm.Tier !== PM_TIER || Pm.TierMask !== PM_TIER_MASK) {
  throw new Error('hakmem: the inlined page-map offsets differ from @hakmem/page-arena');
}

/**
 * One thread's handle on a hakmem heap. All state is in the memory; this object holds the
 * thread's arena (its views and thread slot) and one handle per tier of the composition.
 *
 * It only composes: `malloc` goes to the tier whose size range holds the request (the first
 * tier tested inline, the rest through a table), `free` first asks the first tier whether the
 * block is its own (`freeOwned`: the tiny tier answers from the thread's private map), then
 * routes by the page map's tier id (another thread's tiny block too).
 */
export class Heap {
  /** This thread's arena instance: the one owner of its views. */
  private readonly arena: Arena;
  /** The tier of the smallest sizes, tested inline on every malloc and free. */
  private readonly first: Tier;
  /** Sizes ≤ firstMax go to `first`; -1 after detach. */
  private firstMax = 0;
  /** The tiers in size order. */
  private readonly ordered: Tier[];
  /** Tier by page-map tier id. */
  private readonly byId: Array<Tier | undefined>;
  // The second to fourth tiers, each with call sites of its own (a site that sees one tier class
  // stays monomorphic and inlinable; one site for every tier is megamorphic). max −1 / id −1 when
  // the composition has fewer tiers; the generic table serves tiers beyond the fourth.
  private readonly t1: Tier;
  private readonly t2: Tier;
  private readonly t3: Tier;
  private readonly max1: number;
  private readonly max2: number;
  private readonly max3: number;
  private readonly id1: number;
  private readonly id2: number;
  private readonly id3: number;
  /** The first tier's id: another thread's block of it comes down the page-map route. */
  private readonly id0: number;
  /** Largest block size any request may ask for. */
  private readonly maxBlock: number;
  /** maxBlock, and max1…max3 above, as small integers (≤ 2^31 − 1): mallocSlow's tests are integer compares; a larger size takes mallocGeneric. */
  private readonly maxBlockI: number;
  private detached = false;

  /** @internal use createHeap / attachHeap */
  constructor(arena: Arena, factories: TierFactory[]) {
    this.arena = arena;
    const recorded = arena.tierList();
    this.ordered = recorded.map((t, i) => factories[i]!.create(arena, t.id));
    this.byId = [];
    for (const tier of this.ordered) this.byId[tier.id] = tier;
    this.first = this.ordered[0]!;
    // A small integer, so malloc's test is an integer compare; sizes above it that the first
    // tier serves (a one-tier composition) reach it through mallocSlow.
    this.firstMax = smallInt(this.first.maxSize);
    const at = (i: number): Tier => this.ordered[i] ?? this.first;
    this.t1 = at(1);
    this.t2 = at(2);
    this.t3 = at(3);
    this.max1 = this.ordered.length > 1 ? smallInt(this.t1.maxSize) : -1;
    this.max2 = this.ordered.length > 2 ? smallInt(this.t2.maxSize) : -1;
    this.max3 = this.ordered.length > 3 ? smallInt(this.t3.maxSize) : -1;
    this.id1 = this.ordered.length > 1 ? this.t1.id : -1;
    this.id2 = this.ordered.length > 2 ? this.t2.id : -1;
    this.id3 = this.ordered.length > 3 ? this.t3.id : -1;
    this.id0 = this.first.id;
    this.maxBlock = largestBlock(arena.maxBytes, arena.base);
    this.maxBlockI = smallInt(this.maxBlock);
  }

  /** The managed memory, to post to workers. */
  get memory(): HeapMemory {
    return this.arena.memory;
  }

  /** This thread's slot id. */
  get threadId(): number {
    return this.arena.threadId;
  }

  get u8(): Uint8Array {
    this.arena.refresh();
    return this.arena.u8;
  }

  get i32(): Int32Array {
    this.arena.refresh();
    return this.arena.i32;
  }

  get u32(): Uint32Array {
    this.arena.refresh();
    return this.arena.u32;
  }

  get f32(): Float32Array {
    this.arena.refresh();
    return this.arena.f32;
  }

  get f64(): Float64Array {
    this.arena.refresh();
    return this.arena.f64;
  }

  get dataView(): DataView {
    this.arena.refresh();
    return this.arena.dataView;
  }

  // ---------------------------------------------------------------------------------------
  // malloc family

  /** A block of at least `size` bytes; throws ERR_OUT_OF_MEMORY when maxBytes cannot hold it. */
  malloc(size: number): number {
    // The first tier's test is repeated here rather than calling tryMalloc, so that callers can
    // inline the whole fast path within V8's inlining budget.
    // `(size | 0) === size && size >= 0`, not `size >>> 0 === size`: for a small-integer size V8
    // folds the first test away, where the second compares two doubles. A size of 2^31 or more
    // (never ≤ firstMax, a small integer) takes mallocOrThrow.
    if (typeof size === 'number' && (size | 0) === size && size >= 0 && size <= this.firstMax) {
      const ptr = this.first.malloc(size);
      if (ptr !== 0) return ptr;
    }
    return this.mallocOrThrow(size);
  }

  /** malloc past the first tier's fast path (which malloc has tried): mallocSlow, or ERR_OUT_OF_MEMORY. */
  private mallocOrThrow(size: number): number {
    const ptr = this.mallocSlow(size);
    if (ptr === 0) this.throwOutOfMemory(size);
    return ptr;
  }

  /** As malloc, but 0 instead of ERR_OUT_OF_MEMORY. */
  tryMalloc(size: number): number {
    if (typeof size === 'number' && (size | 0) === size && size >= 0 && size <= this.firstMax) {
      const ptr = this.first.malloc(size);
      if (ptr !== 0) return ptr;
    }
    return this.mallocSlow(size);
  }

  /** ERR_INVALID_SIZE unless `size` is an integer byte count the largest block can hold. */
  private validateSize(size: number): void {
    if (typeof size !== 'number' || size >>> 0 !== size) throw invalidSize('size', size);
    if (size > this.maxBlock) {
      throw invalidSize('size', size, `at most ${this.maxBlock} bytes (the largest block maxBytes can hold)`);
    }
  }

  private mallocSlow(size: number): number {
    if (
      typeof size === 'number' &&
      (size | 0) === size &&
      size > this.firstMax &&
      size <= this.maxBlockI &&
      this.detached === false // a compare, where `!this.detached` is V8's generic ToBoolean here
    ) {
      // A valid size above the first tier's (the first tier returned 0 otherwise), below 2^31.
      let ptr = 0;
      if (size <= this.max1) ptr = this.t1.malloc(size);
      else if (size <= this.max2) ptr = this.t2.malloc(size);
      else if (size <= this.max3) ptr = this.t3.malloc(size);
      else return this.mallocGeneric(size);
      if (ptr !== 0) return ptr;
    }
    return this.mallocGeneric(size);
  }

  /** Every check, the tier by the table, and the trim-and-retry before failing. */
  private mallocGeneric(size: number): number {
    this.assertAttached();
    this.validateSize(size);
    const tier = this.tierFor(size);
    const ptr = tier.malloc(size);
    return ptr !== 0 ? ptr : this.mallocAfterTrim(tier, size);
  }

  /**
   * A tier found no room: before the allocation fails, every tier gives back what it caches and
   * what is empty (another tier's cached runs may be what this one needs), then it is tried once more.
   */
  private mallocAfterTrim(tier: Tier, size: number): number {
    for (const t of this.ordered) t.trim();
    return tier.malloc(size);
  }

  /** The tier whose size range holds `size` (a validated size); ERR_INVALID_SIZE when the composition has none. */
  private tierFor(size: number): Tier {
    const ordered = this.ordered;
    for (let i = 0; i < ordered.length; i++) {
      if (size <= ordered[i]!.maxSize) return ordered[i]!;
    }
    throw invalidSize(
      'size',
      size,
      `above the largest size this heap's tiers serve (${describeTiers(this.ordered)})`,
    );
  }

  calloc(count: number, size: number): number {
    this.assertAttached();
    if (typeof count !== 'number' || count >>> 0 !== count) throw invalidSize('count', count);
    if (typeof size !== 'number' || size >>> 0 !== size) throw invalidSize('size', size);
    const bytes = count * size;
    if (bytes > this.maxBlock) {
      throw invalidSize(
        'count * size',
        bytes,
        `${count} * ${size} must be at most ${this.maxBlock} bytes (the largest block maxBytes can hold)`,
      );
    }
    const ptr = this.malloc(bytes);
    this.arena.u8.fill(0, ptr, ptr + bytes);
    return ptr;
  }

  /** Resizes a block, preserving contents up to the smaller size; in place when its tier can. */
  realloc(ptr: number, size: number): number {
    this.assertAttached();
    this.validateSize(size);
    if (ptr === 0) return this.malloc(size);
    const tier = this.tierOf(ptr, 'realloc');
    const target = this.tierFor(size);
    let old: number;
    if (tier === target) {
      // resize validates ptr (a rejected call changes nothing); usableSize only when moving.
      if (tier.resize(ptr, size)) return ptr;
      old = tier.usableSize(ptr);
    } else {
      old = tier.usableSize(ptr); // validates ptr
      // Growing into another tier: it may place the new block where it can keep growing in place.
      if (size > old && target.growHint !== undefined) target.growHint(size);
    }
    const next = this.malloc(size);
    copyBytes(this.arena, next, ptr, Math.min(old, size));
    this.free(ptr);
    return next;
  }

  /** A block aligned to `alignment` (a power of two from 8 to 65536). */
  memalign(alignment: number, size: number): number {
    this.assertAttached();
    validateAlignment(alignment);
    this.validateSize(size);
    // The tier of the size first; a tier that cannot align it passes to the next larger one.
    const ordered = this.ordered;
    for (let i = ordered.indexOf(this.tierFor(size)); i < ordered.length; i++) {
      const tier = ordered[i]!;
      const ptr = tier.mallocAligned(alignment, Math.max(size, tier.minSize));
      if (ptr !== 0) return ptr;
    }
    this.throwOutOfMemory(size);
  }

  /** A naturally aligned typed-array view over a new block of `count` elements. */
  mallocAs(type: 'u8', count: number): Uint8Array;
  mallocAs(type: 'i8', count: number): Int8Array;
  mallocAs(type: 'u16', count: number): Uint16Array;
  mallocAs(type: 'i16', count: number): Int16Array;
  mallocAs(type: 'u32', count: number): Uint32Array;
  mallocAs(type: 'i32', count: number): Int32Array;
  mallocAs(type: 'f32', count: number): Float32Array;
  mallocAs(type: 'f64', count: number): Float64Array;
  mallocAs(type: 'i64', count: number): BigInt64Array;
  mallocAs(type: 'u64', count: number): BigUint64Array;
  mallocAs(type: ElementType, count: number): AnyTypedArray;
  mallocAs(type: ElementType, count: number): AnyTypedArray {
    this.assertAttached();
    const elementSize =
      typeof type === 'string' && Object.hasOwn(MALLOC_AS_TYPES, type) ? MALLOC_AS_TYPES[type] : 0;
    if (elementSize === 0) {
      throw new HakmemError(
        'ERR_INVALID_OPTION',
        `mallocAs type ${describeValue(type)} is not one of ${Object.keys(MALLOC_AS_TYPES).join(', ')}`,
      );
    }
    if (typeof count !== 'number' || count >>> 0 !== count) throw invalidSize('count', count);
    const bytes = count * elementSize;
    if (bytes > this.maxBlock) {
      throw invalidSize('count', count, `${count} elements of ${elementSize} bytes exceed the largest block`);
    }
    const ptr = this.malloc(bytes); // every block is 8-byte aligned: natural alignment for all types
    const buffer = this.bufferNow();
    switch (type) {
      case 'u8':
        return new Uint8Array(buffer, ptr, count);
      case 'i8':
        return new Int8Array(buffer, ptr, count);
      case 'u16':
        return new Uint16Array(buffer, ptr, count);
      case 'i16':
        return new Int16Array(buffer, ptr, count);
      case 'u32':
        return new Uint32Array(buffer, ptr, count);
      case 'i32':
        return new Int32Array(buffer, ptr, count);
      case 'f32':
        return new Float32Array(buffer, ptr, count);
      case 'f64':
        return new Float64Array(buffer, ptr, count);
      case 'i64':
        return new BigInt64Array(buffer, ptr, count);
      default:
        return new BigUint64Array(buffer, ptr, count);
    }
  }

  // ---------------------------------------------------------------------------------------
  // free

  /** Frees a block (by offset or by the view mallocAs returned). free(0) does nothing. */
  free(ptr: number | AnyTypedArray): void {
    if (typeof ptr === 'number') {
      // Most frees are of this thread's own small blocks: the first tier tells without the
      // page map. Everything else (another thread's small block included) is routed by the
      // page map's tier id.
      // `=== true`: one compare, where a truth test of the call's result (the inlined fast path
      // merged with the slow call's) is V8's generic ToBoolean.
      if (ptr >>> 0 === ptr && this.first.freeOwned(ptr) === true) return;
      if (ptr !== 0) this.freeSlow(ptr);
      return;
    }
    this.freeView(ptr);
  }

  private freeView(view: AnyTypedArray): void {
    if (!ArrayBuffer.isView(view) || view instanceof DataView) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `free(${describeValue(view)}): expected a block offset or a typed array from mallocAs`,
      );
    }
    // The heap's memory itself: another thread's view (posted here) or one made before a growth
    // is over another SharedArrayBuffer object of the same memory, which ownsBuffer recognizes.
    if (!this.arena.ownsBuffer(view.buffer) || view.byteOffset === 0) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `free(${describeValue(view)} at byte ${view.byteOffset}): the view is not over a block of this heap`,
      );
    }
    this.freeSlow(view.byteOffset);
  }

  private freeSlow(ptr: number): void {
    this.assertAttached();
    const entry = this.arena.pageEntry(ptr);
    if (entry >= 0) {
      // A tier with freeAt takes the entry read here (no second page-map lookup). Written out
      // per tier: one call site per tier shape, where a shared helper's would see them all.
      const id = this.arena.u32[entry + Pm.Tier]! & Pm.TierMask;
      if (id === this.id1) {
        const t = this.t1;
        if (t.freeAt !== undefined) t.freeAt(ptr, entry);
        else t.free(ptr);
        return;
      }
      if (id === this.id2) {
        const t = this.t2;
        if (t.freeAt !== undefined) t.freeAt(ptr, entry);
        else t.free(ptr);
        return;
      }
      if (id === this.id3) {
        const t = this.t3;
        if (t.freeAt !== undefined) t.freeAt(ptr, entry);
        else t.free(ptr);
        return;
      }
      if (id === this.id0) {
        const t = this.first;
        if (t.freeAt !== undefined) t.freeAt(ptr, entry);
        else t.free(ptr);
        return;
      }
    }
    this.tierOf(ptr, 'free').free(ptr);
  }

  /** Bytes usable in the live block at ptr. */
  usableSize(ptr: number): number {
    this.assertAttached();
    return this.tierOf(ptr, 'usableSize').usableSize(ptr);
  }

  /** The tier the page map says owns `ptr`'s page; ERR_INVALID_POINTER / ERR_DOUBLE_FREE otherwise. */
  private tierOf(ptr: number, op: string): Tier {
    if (typeof ptr !== 'number' || ptr >>> 0 !== ptr) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `${op}(${describeValue(ptr)}): a pointer is a non-negative integer byte offset returned by malloc`,
      );
    }
    const arena = this.arena;
    const entry = arena.pageEntry(ptr);
    if (entry < 0) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `${op}(${ptr}): ${ptr} is outside the heap's pages [${arena.base}, ${arena.committedBytes()})`,
      );
    }
    const id = arena.u32[entry + Pm.Tier]! & Pm.TierMask;
    const tier = this.byId[id];
    if (tier !== undefined) return tier;
    if (id === TIER_FREE && ptr % PAGE_SIZE === 0) {
      throw new HakmemError(
        'ERR_DOUBLE_FREE',
        `${op}(${ptr}): the block at ${ptr} is already free (a block may be freed once)`,
      );
    }
    throw new HakmemError(
      'ERR_INVALID_POINTER',
      `${op}(${ptr}): ${ptr} is not the start of a live block (pointers must be values malloc returned)`,
    );
  }

  // ---------------------------------------------------------------------------------------
  // whole-heap operations

  stats(): HeapStats {
    this.assertAttached();
    const arena = this.arena;
    const arenaStats = arena.stats();
    const tiers: Record<string, TierStats> = {};
    let liveBytes = 0;
    let liveBlocks = 0;
    for (const tier of this.ordered) {
      const s = tier.stats();
      tiers[tier.kind] = s;
      liveBytes += s.liveBytes;
      liveBlocks += s.liveBlocks;
    }
    return {
      committedBytes: arena.committedBytes(),
      maxBytes: arena.maxBytes,
      liveBytes,
      liveBlocks,
      threads: arena.threadIds().length,
      tiers,
      arena: arenaStats,
      locks: arenaStats.locks,
    };
  }

  /** Walks every structure; throws ERR_HEAP_CORRUPTED on any broken invariant. */
  check(): void {
    this.assertAttached();
    this.arena.refresh();
    this.arena.check();
    for (const tier of this.ordered) tier.check();
  }

  /**
   * Every tier gives its cached and empty memory back to the arena's free pages; a non-shared
   * resizable heap then shrinks its buffer to its last used page. Returns the bytes released,
   * none counted twice: the larger of what the tiers gave back and what the buffer shrank by
   * (the two overlap when the pages the tiers gave back were the last ones).
   */
  trim(): number {
    this.assertAttached();
    let bytes = 0;
    for (const tier of this.ordered) bytes += tier.trim();
    return Math.max(bytes, this.arena.trim());
  }

  /** Flushes this thread's caches and releases its slot; the object is unusable afterwards. */
  detach(): void {
    this.assertAttached();
    for (const tier of this.ordered) tier.detach();
    this.arena.threadRelease(this.arena.threadId);
    this.detached = true;
    this.firstMax = -1;
  }

  /** Recovers a worker that died or was terminated: its locks are broken, every tier takes back its state. */
  reclaimThread(threadId: number): void {
    this.assertAttached();
    const arena = this.arena;
    if (typeof threadId !== 'number' || !Number.isInteger(threadId) || threadId < 1) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `reclaimThread(${describeValue(threadId)}): a thread id is an integer ≥ 1 (heap.threadId of that thread)`,
      );
    }
    if (threadId === arena.threadId) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `reclaimThread(${threadId}): a thread cannot reclaim itself; call detach() instead`,
      );
    }
    // Claim the slot (live → reclaiming, one CAS, no lock: the dead thread may hold them all).
    // Of two reclaims of one thread only one gets past this line; the other changed nothing.
    let claimed = false;
    try {
      arena.threadClaim(threadId);
      claimed = true;
    } catch {
      claimed = false;
    }
    if (!claimed) {
      let state = THREAD_FREE;
      try {
        state = arena.threadState(threadId); // ERR_INVALID_THREAD for an id never handed out
      } catch {
        state = THREAD_FREE;
      }
      // Its slot already free but the arena mutex still its own: it died finishing its detach
      // (its tiers were detached, its slot released, the unlock not done). Nothing can take the
      // mutex meanwhile, so the owner read cannot go stale: release it (the repair finishes the release).
      if (state === THREAD_FREE && arena.lockOwner() === threadId) {
        arena.breakLocksOf(threadId);
        return;
      }
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        state === THREAD_RECLAIMING
          ? `reclaimThread(${threadId}): thread ${threadId} is already being reclaimed (by another call)`
          : `reclaimThread(${threadId}): thread ${threadId} is not attached to this heap`,
      );
    }
    arena.breakLocksOf(threadId); // first: every later step may take a lock the dead thread held
    for (const tier of this.ordered) tier.reclaim(threadId);
    arena.threadRelease(threadId);
  }

  /** The page map as data: every run with the kind of its tier and its occupancy. */
  snapshot(): SnapshotRun[] {
    this.assertAttached();
    const arena = this.arena;
    arena.refresh();
    return arena.snapshot().map((run) => {
      const tier = this.byId[run.tier];
      return {
        offset: run.offset,
        pages: run.pages,
        tier:
          tier !== undefined
            ? tier.kind
            : run.tier === TIER_FREE
              ? 'free'
              : run.tier === TIER_META
                ? 'meta'
                : `tier-${run.tier}`,
        occupancy: tier !== undefined ? tier.occupancy(run.offset, run.pages) : 0,
      };
    });
  }

  // ---------------------------------------------------------------------------------------

  private bufferNow(): ArrayBufferLike {
    const memory = this.arena.memory;
    return memory instanceof WebAssembly.Memory ? memory.buffer : memory;
  }

  private assertAttached(): void {
    if (this.detached === true) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `heap handle of thread ${this.arena.threadId} was detached; attach again with attachHeap(memory)`,
      );
    }
  }

  private throwOutOfMemory(size: number): never {
    const arena = this.arena;
    throw new HakmemError(
      'ERR_OUT_OF_MEMORY',
      `malloc(${size}): the heap cannot hold ${size} more bytes within maxBytes ${arena.maxBytes} ` +
        `(committed ${arena.committedBytes()})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------

/** Formats a new heap (in a created growable SharedArrayBuffer unless `memory` is given) with the composition `tiers`. */
export function createHeap(options: HeapOptions = {}): Heap {
  if (options === null || typeof options !== 'object') {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      `createHeap(${describeValue(options)}): options must be an object`,
    );
  }
  rejectUnknownKeys(options, HEAP_OPTION_KEYS, 'createHeap');
  const { tiers = DEFAULT_TIERS, ...arenaOptions } = options;
  planTiers(tiers, MAX_BYTES_LIMIT); // every rule but the heap's size, before the memory is touched
  const arena = Arena.format(arenaOptions);
  const plan = planTiers(tiers, largestBlock(arena.maxBytes, arena.base));
  arena.threadAttach();
  for (const t of plan)
    arena.tierOpen(t.kind, t.minSize, t.maxSize, t.factory.rootWords, t.factory.layoutVersion ?? 1);
  return new Heap(
    arena,
    plan.map((t) => t.factory),
  );
}

/** Joins the heap createHeap formatted in `memory`, with a thread slot of its own. */
export function attachHeap(memory: HeapMemory, options: AttachOptions = {}): Heap {
  if (options === null || typeof options !== 'object') {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      `attachHeap(memory, ${describeValue(options)}): options must be an object`,
    );
  }
  rejectUnknownKeys(options, ATTACH_OPTION_KEYS, 'attachHeap');
  const arena = Arena.attach(memory);
  const heapSafety = arena.strict ? 'strict' : 'fast';
  if (options.safety !== undefined && options.safety !== heapSafety) {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      `attachHeap safety ${describe(options.safety)} differs from the heap's '${heapSafety}' ` +
        '(safety is fixed for every thread by createHeap)',
    );
  }
  const given: PlannedTier[] | null =
    options.tiers === undefined ? null : planTiers(options.tiers, largestBlock(arena.maxBytes, arena.base));
  const factories = factoriesFor(arena.tierList(), given);
  arena.threadAttach();
  return new Heap(arena, factories);
}

/**
 * Copies `n` bytes between two distinct blocks. Short copies go word by word: a typed array's
 * copyWithin over shared memory costs ~100 ns of fixed overhead, more than a small block's move.
 */
function copyBytes(arena: Arena, to: number, from: number, n: number): void {
  if (n <= SHORT_COPY && ((to | from) & 3) === 0) {
    const i32 = arena.i32;
    const u8 = arena.u8;
    let t = to >>> 2;
    let f = from >>> 2;
    const end = f + (n >>> 2);
    while (f < end) i32[t++] = i32[f++]!;
    for (let k = n & ~3; k < n; k++) u8[to + k] = u8[from + k]!;
    return;
  }
  arena.u8.copyWithin(to, from, from + n);
}

/** `n` capped at 2^31 − 1 and stored as a small integer: a bound V8 compares as an integer, not a double. */
function smallInt(n: number): number {
  return Math.min(n, 0x7fffffff) | 0;
}

/** Copies up to this many bytes word by word (see copyBytes). */
const SHORT_COPY = 256;

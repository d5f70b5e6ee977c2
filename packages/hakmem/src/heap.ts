import {
  Arena,
  type ArenaFormatOptions,
  type ArenaStats,
  HakmemError,
  type HeapMemory,
  PAGE_SIZE,
  PM_DESC,
  PM_FLAG_HEAD,
  PM_TIER,
  TIER_FREE,
  TIER_RUN,
  TIER_TINY,
} from '@hakmem/page-arena';
import { SL_CLASS, SL_USED, TINY_CLASS_SIZE } from '@hakmem/superslab';
import { type ElementType, MALLOC_AS_TYPES } from './layout';
import { type TinyStats, TinyTier } from './tiny-tier';
import { describeValue, invalidSize, validateAlignment } from './validate';

/** createHeap's options: those of the page arena, which validates and persists them (SPEC §3). */
export type HeapOptions = ArenaFormatOptions;

export interface AttachOptions {
  /** Must match the heap's safety (it is fixed for every thread by createHeap); default: the heap's. */
  safety?: 'strict' | 'fast';
}

export interface TierStats {
  liveBlocks: number;
  liveBytes: number;
}

export interface HeapStats {
  committedBytes: number;
  maxBytes: number;
  liveBytes: number;
  liveBlocks: number;
  threads: number;
  tiers: { tiny: TinyStats; mid: TierStats; l25: TierStats; big: TierStats };
  arena: ArenaStats;
  locks: ArenaStats['locks'];
}

export interface SnapshotRun {
  offset: number;
  pages: number;
  tier: 'free' | 'meta' | 'tiny' | 'mid' | 'l25' | 'big' | 'run';
  /** Fraction of the run's bytes handed out to users (1 for a page-run block, 0 for free/meta). */
  occupancy: number;
}

type AnyTypedArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

const TIER_NAMES = ['free', 'meta', 'tiny', 'mid', 'l25', 'big', 'run'] as const;

/** Up to this size SPEC §3 bounds usableSize by max(roundUp(size, 16), 1.25 × size). */
const USABLE_BOUND_MAX = 1024 * 1024;

/** The tiny tier's classes end at 1 KiB; a larger tinyMax option is clamped to it. */
const TINY_TIER_MAX = 1024;

/**
 * One thread's handle on a hakmem heap. All state is in the memory; this object holds the
 * thread's views, its thread slot and its tier fronts.
 */
export class Heap {
  /** This thread's arena instance (views, thread id). */
  private readonly arena: Arena;
  /** Sizes ≤ tinyMax go to the tiny tier; -1 when the tier is absent or the heap detached. */
  private tinyMax: number;
  /** This thread's tiny tier (tls-cache over superslab); null when the tier is absent or detached. */
  private tiny: TinyTier | null;
  /** Largest block size any request may ask for. */
  private readonly maxBlock: number;
  private detached = false;

  /** @internal use createHeap / attachHeap */
  constructor(arena: Arena) {
    this.arena = arena;
    const tinyMax = Math.min(arena.tiers.tinyMax, TINY_TIER_MAX);
    this.tiny = tinyMax > 0 ? new TinyTier(arena) : null;
    this.tinyMax = tinyMax > 0 ? tinyMax : -1;
    this.maxBlock = arena.maxBytes - arena.base - 2 * PAGE_SIZE;
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
    // The tiny test is repeated here rather than calling tryMalloc, so that callers can inline
    // the whole fast path within V8's inlining budget.
    if (size >>> 0 === size && size <= this.tinyMax) {
      const ptr = this.tiny!.malloc(size);
      if (ptr !== 0) return ptr;
    }
    return this.mallocOrThrow(size);
  }

  private mallocOrThrow(size: number): number {
    const ptr = this.tryMalloc(size);
    if (ptr === 0) this.throwOutOfMemory(size);
    return ptr;
  }

  /** As malloc, but 0 instead of ERR_OUT_OF_MEMORY. */
  tryMalloc(size: number): number {
    if (size >>> 0 === size && size <= this.tinyMax) return this.tiny!.malloc(size);
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
    this.assertAttached();
    this.validateSize(size);
    if (size <= this.tinyMax) return this.tiny!.malloc(size);
    return this.runAlloc(size);
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

  /** Resizes a block, preserving contents up to the smaller size; grows in place where it can. */
  realloc(ptr: number, size: number): number {
    this.assertAttached();
    this.validateSize(size);
    if (ptr === 0) return this.malloc(size);
    const old = this.usableSize(ptr); // validates ptr: a rejected call changes nothing
    const arena = this.arena;
    const entry = arena.pageEntry(ptr);
    const tier = arena.u32[entry + PM_TIER]! & 0xff;
    if (tier === TIER_RUN && size > this.tinyMax) {
      if (arena.resizeRun(ptr, pagesFor(size))) {
        arena.setPageDesc(ptr / PAGE_SIZE, size);
        return ptr;
      }
    } else if (
      tier === TIER_TINY &&
      size <= old &&
      old <= Math.max((size + 15) & ~15, Math.ceil(1.25 * size))
    ) {
      return ptr; // still within the usableSize bound of SPEC §3
    }
    const next = this.malloc(size);
    const u8 = this.arena.u8;
    u8.copyWithin(next, ptr, ptr + Math.min(old, size));
    this.free(ptr);
    return next;
  }

  /** A block aligned to `alignment` (a power of two from 8 to 65536). */
  memalign(alignment: number, size: number): number {
    this.assertAttached();
    validateAlignment(alignment);
    this.validateSize(size);
    if (size <= this.tinyMax && alignment <= this.tinyMax) {
      const tinyPtr = this.tiny!.mallocAligned(alignment, size);
      if (tinyPtr !== 0) return tinyPtr;
    }
    // Page runs are 64 KiB aligned, which satisfies every accepted alignment.
    const ptr = this.runAlloc(size);
    if (ptr === 0) this.throwOutOfMemory(size);
    return ptr;
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
    const elementSize = Object.hasOwn(MALLOC_AS_TYPES, type) ? MALLOC_AS_TYPES[type] : 0;
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
      // Most frees are of this thread's own tiny blocks: its private map of owned slabs says so
      // without the page map. Everything else is routed by the page map's tier.
      const tiny = this.tiny;
      if (tiny !== null && ptr >>> 0 === ptr && tiny.freeOwned(ptr)) return;
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
    const memory = this.arena.memory;
    const own =
      memory instanceof WebAssembly.Memory
        ? view.buffer instanceof memory.buffer.constructor
        : view.buffer === memory;
    if (!own || view.byteOffset === 0) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `free(${describeValue(view)} at byte ${view.byteOffset}): the view is not over a block of this heap`,
      );
    }
    this.freeSlow(view.byteOffset);
  }

  private freeSlow(ptr: number): void {
    this.assertAttached();
    const arena = this.arena;
    const entry = this.entryOf(ptr, 'free');
    const word = arena.u32[entry + PM_TIER]!;
    const tier = word & 0xff;
    if (tier === TIER_RUN) {
      if ((ptr & (PAGE_SIZE - 1)) !== 0 || (word & PM_FLAG_HEAD) === 0) throw this.notBlockStart('free', ptr);
      arena.freeRun(ptr);
      return;
    }
    if (tier === TIER_TINY && this.tiny !== null) {
      this.tiny.free(ptr, entry);
      return;
    }
    if (tier === TIER_FREE && (ptr & (PAGE_SIZE - 1)) === 0) {
      throw new HakmemError(
        'ERR_DOUBLE_FREE',
        `free(${ptr}): the block at ${ptr} is already free (a block may be freed once)`,
      );
    }
    throw this.notBlockStart('free', ptr);
  }

  /** Bytes usable in the live block at ptr. */
  usableSize(ptr: number): number {
    this.assertAttached();
    const arena = this.arena;
    const entry = this.entryOf(ptr, 'usableSize');
    const word = arena.u32[entry + PM_TIER]!;
    const tier = word & 0xff;
    if (tier === TIER_RUN && (ptr & (PAGE_SIZE - 1)) === 0 && (word & PM_FLAG_HEAD) !== 0) {
      return runUsableBytes(arena.runPages(ptr) * PAGE_SIZE, arena.u32[entry + PM_DESC]!);
    }
    if (tier === TIER_TINY && this.tiny !== null) return this.tiny.usableSize(ptr, entry);
    throw this.notBlockStart('usableSize', ptr);
  }

  /** The page-map entry of a pointer that must lie in the heap; throws ERR_INVALID_POINTER. */
  private entryOf(ptr: number, op: string): number {
    if (typeof ptr !== 'number' || ptr >>> 0 !== ptr) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `${op}(${describeValue(ptr)}): a pointer is a non-negative integer byte offset returned by malloc`,
      );
    }
    const arena = this.arena;
    if (ptr >= arena.viewBytes) arena.refresh();
    const entry = arena.pageEntry(ptr);
    if (entry < 0) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `${op}(${ptr}): ${ptr} is outside the heap's pages [${arena.base}, ${arena.committedBytes()})`,
      );
    }
    return entry;
  }

  private notBlockStart(op: string, ptr: number): HakmemError {
    return new HakmemError(
      'ERR_INVALID_POINTER',
      `${op}(${ptr}): ${ptr} is not the start of a live block (pointers must be values malloc returned)`,
    );
  }

  // ---------------------------------------------------------------------------------------
  // page runs: the skeleton's every block, and the fallback above the tiers

  /** A page run for `size` bytes; the run head's PM_DESC keeps the requested size (for usableSize). */
  private runAlloc(size: number): number {
    const ptr = this.arena.allocRun(pagesFor(size), TIER_RUN);
    if (ptr !== 0) this.arena.setPageDesc(ptr / PAGE_SIZE, size);
    return ptr;
  }

  // ---------------------------------------------------------------------------------------
  // whole-heap operations

  stats(): HeapStats {
    this.assertAttached();
    const arena = this.arena;
    const arenaStats = arena.stats();
    const runs = { liveBlocks: 0, liveBytes: 0 };
    for (const run of arena.snapshot()) {
      if (run.tier === TIER_RUN) {
        runs.liveBlocks++;
        runs.liveBytes += run.pages * PAGE_SIZE;
      }
    }
    const none = (): TierStats => ({ liveBlocks: 0, liveBytes: 0 });
    const noTiny: TinyStats = { liveBlocks: 0, liveBytes: 0, slabs: 0, superslabs: 0, classes: [] };
    const tiers = {
      tiny: this.tiny !== null ? this.tiny.stats() : noTiny,
      mid: none(),
      l25: none(),
      big: runs,
    };
    return {
      committedBytes: arena.committedBytes(),
      maxBytes: arena.maxBytes,
      liveBytes: tiers.tiny.liveBytes + tiers.mid.liveBytes + tiers.l25.liveBytes + tiers.big.liveBytes,
      liveBlocks: tiers.tiny.liveBlocks + tiers.mid.liveBlocks + tiers.l25.liveBlocks + tiers.big.liveBlocks,
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
    this.tiny?.check();
  }

  /** Returns cached and empty memory to the arena (shrinks a non-shared resizable heap). */
  trim(): number {
    this.assertAttached();
    const fromTiers = this.tiny !== null ? this.tiny.trim() : 0;
    return fromTiers + this.arena.trim();
  }

  /** Flushes this thread's caches and releases its slot; the object is unusable afterwards. */
  detach(): void {
    this.assertAttached();
    this.tiny?.detach();
    this.arena.threadRelease(this.arena.threadId);
    this.detached = true;
    this.tinyMax = -1;
    this.tiny = null;
  }

  /** Recovers a worker that died or was terminated: its caches and slabs return to the heap. */
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
    if (!arena.threadIds().includes(threadId)) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `reclaimThread(${threadId}): thread ${threadId} is not attached to this heap`,
      );
    }
    arena.breakLocksOf(threadId);
    this.tiny?.reclaim(threadId);
    arena.threadRelease(threadId);
  }

  /** The page map as data: every run with its tier and occupancy. */
  snapshot(): SnapshotRun[] {
    this.assertAttached();
    const arena = this.arena;
    arena.refresh();
    return arena.snapshot().map((run) => ({
      offset: run.offset,
      pages: run.pages,
      tier: TIER_NAMES[run.tier] ?? 'meta',
      occupancy:
        run.tier === TIER_RUN ? 1 : run.tier === TIER_TINY ? this.tinyOccupancy(run.offset, run.pages) : 0,
    }));
  }

  /** Fraction of a SuperSlab's bytes in blocks out of its slabs (live or in a thread cache). */
  private tinyOccupancy(offset: number, pages: number): number {
    const arena = this.arena;
    const { i32, u32 } = arena;
    let used = 0;
    for (let page = 0; page < pages; page++) {
      const entry = arena.pageEntry(offset + page * PAGE_SIZE);
      const d = entry < 0 ? 0 : u32[entry + PM_DESC]! >>> 2;
      const cls = d === 0 ? -1 : i32[d + SL_CLASS]!;
      if (cls >= 0 && cls < TINY_CLASS_SIZE.length) used += i32[d + SL_USED]! * TINY_CLASS_SIZE[cls]!;
    }
    return used / (pages * PAGE_SIZE);
  }

  // ---------------------------------------------------------------------------------------

  private bufferNow(): ArrayBufferLike {
    const memory = this.arena.memory;
    return memory instanceof WebAssembly.Memory ? memory.buffer : memory;
  }

  private assertAttached(): void {
    if (this.detached) {
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

/**
 * Usable bytes of a page run of `bytes` that was asked for `size`: SPEC §3 bounds usableSize
 * by max(roundUp(size, 16), 1.25 × size) up to 1 MiB, so a run rounded up beyond that bound
 * reports the bound; above 1 MiB, the whole run.
 */
function runUsableBytes(bytes: number, size: number): number {
  if (size > USABLE_BOUND_MAX) return bytes;
  return Math.min(bytes, Math.max((size + 15) & ~15, Math.ceil(1.25 * size), 16));
}

function pagesFor(size: number): number {
  return size === 0 ? 1 : Math.ceil(size / PAGE_SIZE);
}

// ---------------------------------------------------------------------------------------------

/** Formats a new heap (in a created growable SharedArrayBuffer unless `memory` is given). */
export function createHeap(options: HeapOptions = {}): Heap {
  if (options === null || typeof options !== 'object') {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      `createHeap(${describeValue(options)}): options must be an object`,
    );
  }
  const arena = Arena.format(options);
  arena.threadAttach();
  return new Heap(arena);
}

/** Joins the heap createHeap formatted in `memory`, with a thread slot of its own. */
export function attachHeap(memory: HeapMemory, options: AttachOptions = {}): Heap {
  const arena = Arena.attach(memory);
  const heapSafety = arena.strict ? 'strict' : 'fast';
  if (options.safety !== undefined && options.safety !== heapSafety) {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      `attachHeap safety ${describeValue(options.safety)} differs from the heap's '${heapSafety}' ` +
        '(safety is fixed for every thread by createHeap)',
    );
  }
  arena.threadAttach();
  return new Heap(arena);
}

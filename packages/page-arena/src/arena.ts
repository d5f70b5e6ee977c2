/**
 * class Arena: one thread's handle on a heap. It holds what is private to the thread (the views
 * over the memory, the last growth it saw, its lock depth and thread id) and the heap's
 * identity; everything shared is in the memory (layout.ts). Here are format and attach, the
 * views (refresh, pageEntry on every layer's free path, setPageDesc), the arena mutex, and the
 * public methods, each one call into the file of its concern: runs.ts, meta.ts, threads.ts,
 * tiers.ts, growth.ts (trim), stats.ts, check.ts. Their functions take the Arena as their first
 * argument and import the class only as a type, so none of them evaluates this file. runs.ts,
 * growth.ts and meta.ts call one another (allocating a run may grow the memory, growing takes
 * page-map leaves from metaAlloc, metaAlloc takes runs): a cycle of function declarations only,
 * nothing in it runs while the modules are evaluated.
 */
import { arenaCheckLocked, arenaVerifyAttach } from './check';
import { HakmemError } from './errors';
import { arenaTrim } from './growth';
import { arenaFindHeader, arenaFormatHeader } from './header';
import {
  FLAG_SHARED,
  FLAG_STRICT,
  HDR_COMMITTED_PAGES,
  HDR_FLAGS,
  HDR_GROWTH,
  HDR_LEAF_DIR,
  HDR_LOCK,
  HDR_LOCK_STATS,
  HDR_MAX_PAGES,
  HEADER_WORDS,
  LEAF_PAGES,
  LEAF_SHIFT,
  LOCK_OWNER_ANON,
  LOCK_OWNER_MASK,
  LOCK_WAITERS,
  LS_ACQUIRES,
  MAX_BYTES_LIMIT,
  MEMORY_WASM,
  MEMORY_WASM_SHARED,
  PAGE_SHIFT,
  PAGE_SIZE,
  PM_DESC,
  PM_TIER,
  PM_TIER_MASK,
  TIER_FIRST,
  TR_PROBE,
} from './layout';
import {
  type HeapMemory,
  memoryBuffer,
  memoryGrow,
  memoryIsShared,
  memoryKind,
  memoryKindName,
} from './memory';
import { metaAlloc, metaAllocLocked, metaFree, metaFreeLocked } from './meta';
import { mutexLock, mutexOwner, mutexUnlock } from './mutex';
import { type ArenaFormatOptions, arenaResolveOptions, describe, optionError } from './options';
import { arenaAllocRun, arenaAllocRunLocked, arenaFreeRun, arenaResizeRun, arenaRunPages } from './runs';
import { type ArenaRun, type ArenaStats, arenaSnapshot, arenaStats } from './stats';
import {
  arenaBreakLocksOf,
  arenaRegisteredLocks,
  arenaRegisterLock,
  threadAttach,
  threadClaim,
  threadIds,
  threadRecord,
  threadRelease,
  threadState,
  threadTierWords,
} from './threads';
import {
  type ArenaTier,
  tierEntry,
  tierExpect,
  tierFind,
  tierInfo,
  tierKindAt,
  tierList,
  tierOpen,
} from './tiers';

/** Options of Arena.attach. */
export interface ArenaAttachOptions {
  /** Where the header is (the `base` given to format); found by a scan of 64 KiB boundaries when absent. */
  base?: number;
}

/** How long refresh() waits for a lagging WebAssembly.Memory buffer (loop iterations). */
const WASM_GROW_SPINS = 10_000_000;

/**
 * The page-map walk's shifts as literals: pageEntry is on every free's path, and a module-level
 * const (a `var` in the bundle) costs a context load and a small-integer check at each use.
 */
const enum Pe {
  PageShift = 16,
  LeafShift = 10,
  LeafMask = 1023,
}
if (Pe.PageShift !== PAGE_SHIFT || Pe.LeafShift !== LEAF_SHIFT || Pe.LeafMask !== LEAF_PAGES - 1) {
  throw new Error('page-arena: the inlined page-map shifts differ from layout.ts');
}

/**
 * The page arena over one memory, as seen by one thread: views and counters in this object are
 * private to the thread; all shared state is in the memory (see layout.ts).
 */
export class Arena {
  readonly memory: HeapMemory;
  readonly shared: boolean;
  /** Byte offset of the header page; bytes below it are never written. */
  readonly base: number;
  readonly maxBytes: number;
  /** Persisted safety: 'strict' → true. */
  readonly strict: boolean;
  /** This instance's thread slot, 0 until threadAttach(). */
  threadId = 0;

  // Fixed-length views over [0, viewBytes), replaced by refresh().
  u8!: Uint8Array;
  i32!: Int32Array;
  u32!: Uint32Array;
  f32!: Float32Array;
  f64!: Float64Array;
  dataView!: DataView;
  viewBytes = 0;

  /** @internal MEMORY_* kind. */
  readonly kind: number;
  /** @internal i32 index of the header in i32/u32. */
  readonly headerIndex: number;
  /** @internal Page number of the header page. */
  readonly basePage: number;
  /** @internal maxBytes / PAGE_SIZE. */
  readonly maxPages: number;
  /** @internal u32 index of the leaf directory. */
  readonly leafDir: number;
  /** @internal The memory is a WebAssembly.Memory (its buffer object changes on grow). */
  readonly wasm: boolean;
  /** @internal Committed pages as last seen (exact while holding the lock). */
  endPage = 0;
  /** @internal View over the header only (stays in bounds when a resizable buffer shrinks). */
  hdr: Int32Array;
  /** @internal The buffer the views are over (growth.ts replaces it when a grow gives a new one). */
  buffer: ArrayBufferLike;
  /** @internal HDR_GROWTH as of the views (growth and trim set it to their own growth). */
  seenGrowth = -1;
  private lockDepth = 0;

  private constructor(memory: HeapMemory, kind: number, base: number, maxPages: number, strict: boolean) {
    this.memory = memory;
    this.kind = kind;
    this.wasm = kind === MEMORY_WASM || kind === MEMORY_WASM_SHARED;
    this.shared = memoryIsShared(kind);
    this.base = base;
    this.basePage = base / PAGE_SIZE;
    this.maxPages = maxPages;
    this.maxBytes = maxPages * PAGE_SIZE;
    this.strict = strict;
    this.headerIndex = base / 4;
    this.leafDir = this.headerIndex + HDR_LEAF_DIR;
    this.buffer = memoryBuffer(memory);
    this.hdr = new Int32Array(this.buffer, base, HEADER_WORDS);
  }

  // ---------------------------------------------------------------------------------------------
  // Creation

  /** Formats a new heap in `options.memory` (or a created memory). ERR_INVALID_OPTION on bad options. */
  static format(options?: ArenaFormatOptions): Arena {
    const o = arenaResolveOptions(options);
    let memory = o.memory;
    if (memory === undefined) {
      memory = o.shared
        ? new SharedArrayBuffer(o.initialBytes, { maxByteLength: o.maxBytes })
        : new ArrayBuffer(o.initialBytes, { maxByteLength: o.maxBytes });
    }
    const kind = memoryKind(memory);
    const length = Math.min(Math.floor(memoryBuffer(memory).byteLength / PAGE_SIZE) * PAGE_SIZE, o.maxBytes);
    const want = Math.max(length, o.initialBytes);
    if (want > memoryBuffer(memory).byteLength && !memoryGrow(memory, kind, want)) {
      throw optionError(
        `the ${memoryKindName(kind)} holds ${memoryBuffer(memory).byteLength} bytes and cannot grow to ${want} (initialBytes, or base ${o.base} + one 64 KiB header page)`,
      );
    }
    const arena = new Arena(memory, kind, o.base, o.maxBytes / PAGE_SIZE, o.strict);
    arenaFormatHeader(arena, want / PAGE_SIZE, o);
    return arena;
  }

  /** Joins the heap formatted in `memory` (any thread). ERR_HEAP_INCOMPATIBLE when there is none or it has another layout version. */
  static attach(memory: HeapMemory, options?: ArenaAttachOptions): Arena {
    const kind = memoryKind(memory);
    if (kind === 0) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `attach: ${describe(memory)} is not a SharedArrayBuffer, ArrayBuffer or WebAssembly.Memory`,
      );
    }
    const buffer = memoryBuffer(memory);
    const base = arenaFindHeader(buffer, kind, options?.base);
    const header = new Int32Array(buffer, base, HEADER_WORDS);
    const flags = header[HDR_FLAGS]!;
    const shared = (flags & FLAG_SHARED) !== 0;
    if (shared !== memoryIsShared(kind)) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `attach: the heap at offset ${base} was formatted ${shared ? 'shared' : 'non-shared'} but this memory is a ${memoryKindName(kind)}`,
      );
    }
    const committed = Atomics.load(header, HDR_COMMITTED_PAGES) * PAGE_SIZE;
    if (committed > buffer.byteLength) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `attach: the heap at offset ${base} has ${committed} committed bytes but the memory holds only ${buffer.byteLength}`,
      );
    }
    const arena = new Arena(memory, kind, base, header[HDR_MAX_PAGES]!, (flags & FLAG_STRICT) !== 0);
    arenaVerifyAttach(arena); // refreshes the views; a scribbled heap is a coded error now, not a hang later
    return arena;
  }

  // ---------------------------------------------------------------------------------------------
  // Views

  /** Rebuilds the views if the growth counter moved or the buffer object changed; true if it did. */
  refresh(): boolean {
    const buffer = this.wasm ? (this.memory as WebAssembly.Memory).buffer : this.buffer;
    if (buffer === this.buffer) {
      // A plain read: whoever handed this thread a pointer into grown memory synchronised with
      // it (postMessage, Atomics), which orders the grower's Atomics.add before this load.
      if (this.hdr[HDR_GROWTH] === this.seenGrowth) return false;
    } else {
      this.buffer = buffer;
      this.hdr = new Int32Array(buffer, this.base, HEADER_WORDS);
    }
    const growth = Atomics.load(this.hdr, HDR_GROWTH);
    const committed = Atomics.load(this.hdr, HDR_COMMITTED_PAGES);
    const bytes = committed * PAGE_SIZE;
    if (this.buffer.byteLength < bytes) return this.refreshWasmLagging(growth, committed);
    this.mapViews(bytes);
    this.seenGrowth = growth;
    this.endPage = committed;
    return true;
  }

  /**
   * Another thread grew a shared WebAssembly.Memory and this thread's `memory.buffer` still has
   * the old length: V8 hands each thread the grown buffer when it handles the grow interrupt,
   * which happens at a loop back edge, so wait here for it. If it still lags, map what is
   * visible and leave `seenGrowth` stale so the next refresh tries again.
   */
  private refreshWasmLagging(growth: number, committed: number): boolean {
    const memory = this.memory as WebAssembly.Memory;
    const bytes = committed * PAGE_SIZE;
    let buffer = memory.buffer;
    for (let spin = 0; spin < WASM_GROW_SPINS && buffer.byteLength < bytes; spin++) buffer = memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.hdr = new Int32Array(buffer, this.base, HEADER_WORDS);
    }
    if (buffer.byteLength >= bytes) {
      this.mapViews(bytes);
      this.seenGrowth = growth;
      this.endPage = committed;
    } else {
      const visible = Math.floor(buffer.byteLength / PAGE_SIZE);
      this.mapViews(visible * PAGE_SIZE);
      this.endPage = visible;
    }
    return true;
  }

  /** End of the formatted memory in bytes (Atomics read). */
  committedBytes(): number {
    return Atomics.load(this.hdr, HDR_COMMITTED_PAGES) * PAGE_SIZE;
  }

  /** @internal Replaces the views by views over [0, bytes) of this.buffer. */
  mapViews(bytes: number): void {
    const buffer = this.buffer;
    this.u8 = new Uint8Array(buffer, 0, bytes);
    this.i32 = new Int32Array(buffer, 0, bytes / 4);
    this.u32 = new Uint32Array(buffer, 0, bytes / 4);
    this.f32 = new Float32Array(buffer, 0, bytes / 4);
    this.f64 = new Float64Array(buffer, 0, bytes / 8);
    this.dataView = new DataView(buffer, 0, bytes);
    this.viewBytes = bytes;
  }

  // ---------------------------------------------------------------------------------------------
  // The arena mutex

  /** Takes the arena mutex (re-entrant within this instance) and refreshes the views. */
  lock(): void {
    if (this.lockDepth !== 0) {
      this.lockDepth++;
      return;
    }
    // A WebAssembly.Memory grow may have detached the header view.
    if (this.wasm) this.refresh();
    mutexLock(this.hdr, HDR_LOCK, this.threadId || LOCK_OWNER_ANON, HDR_LOCK_STATS);
    this.lockDepth = 1;
    this.refresh();
    this.endPage = Atomics.load(this.hdr, HDR_COMMITTED_PAGES);
  }

  /**
   * @internal Takes the arena mutex over from thread `id`, which holds it and is dead: one CAS
   * from its owner id to this instance's (the waiters flag kept, so unlock wakes a sleeper), so
   * no other thread can take the mutex between the break and the repair. False when `id` does
   * not hold it.
   */
  adoptLockOf(id: number): boolean {
    if (this.lockDepth !== 0) return false;
    if (this.wasm) this.refresh();
    const me = this.threadId || LOCK_OWNER_ANON;
    for (;;) {
      const word = Atomics.load(this.hdr, HDR_LOCK);
      if (word === 0 || (word & LOCK_OWNER_MASK) !== id) return false;
      if (Atomics.compareExchange(this.hdr, HDR_LOCK, word, me | (word & LOCK_WAITERS)) === word) break;
    }
    this.hdr[HDR_LOCK_STATS + LS_ACQUIRES]!++;
    this.lockDepth = 1;
    this.refresh();
    this.endPage = Atomics.load(this.hdr, HDR_COMMITTED_PAGES);
    return true;
  }

  unlock(): void {
    if (this.lockDepth === 0) {
      throw new HakmemError('ERR_HEAP_CORRUPTED', 'unlock: this thread does not hold the arena mutex');
    }
    if (--this.lockDepth === 0) mutexUnlock(this.hdr, HDR_LOCK);
  }

  /**
   * The id of the thread holding the arena mutex at this instant, 0 when it is free (a thread
   * without a slot holds it as 0x7fffffff, LOCK_OWNER_ANON). A reclaimer asks it when a thread it
   * cannot claim — its slot already free — may have died finishing its threadRelease with the
   * mutex still held: then `breakLocksOf(id)` releases it.
   */
  lockOwner(): number {
    if (this.wasm) this.refresh();
    return mutexOwner(this.hdr, HDR_LOCK);
  }

  // ---------------------------------------------------------------------------------------------
  // Page map

  /** u32 index of the page-map entry of `ptr`'s page, -1 if ptr is not in a committed heap page. */
  pageEntry(ptr: number): number {
    if (ptr < this.viewBytes && ptr >= this.base) {
      const page = ptr >>> Pe.PageShift;
      const leaf = this.u32[this.leafDir + (page >>> Pe.LeafShift)];
      // undefined only when a WebAssembly.Memory grow detached the views.
      if (leaf !== undefined) return leaf + ((page & Pe.LeafMask) << 2);
    }
    return this.pageEntrySlow(ptr);
  }

  private pageEntrySlow(ptr: number): number {
    if (!(ptr >= this.base && ptr < MAX_BYTES_LIMIT)) return -1;
    this.refresh();
    if (!(ptr < this.viewBytes)) return -1;
    return this.entryOf(ptr >>> PAGE_SHIFT);
  }

  /** Sets PM_DESC of one page of a run the caller's tier owns. */
  setPageDesc(page: number, desc: number): void {
    if (page * PAGE_SIZE >= this.viewBytes) this.refresh();
    if (__DEV__) {
      if (!Number.isInteger(page) || page <= this.basePage || page >= this.endPage) {
        throw new HakmemError(
          'ERR_INVALID_POINTER',
          `setPageDesc: page ${page} is not a committed heap page`,
        );
      }
      const tier = this.u32[this.entryOf(page) + PM_TIER]! & PM_TIER_MASK;
      if (tier < TIER_FIRST) {
        throw new HakmemError(
          'ERR_INVALID_POINTER',
          `setPageDesc: page ${page} belongs to no tier (tier id ${tier})`,
        );
      }
    }
    this.u32[this.entryOf(page) + PM_DESC] = desc;
  }

  /** @internal u32 index of page `page`'s entry (the page must be committed). */
  entryOf(page: number): number {
    return this.u32[this.leafDir + (page >>> Pe.LeafShift)]! + ((page & Pe.LeafMask) << 2);
  }

  // ---------------------------------------------------------------------------------------------
  // Runs (runs.ts; all ...Locked functions run under the arena mutex)

  /** @internal Best fit, growing the memory on demand; byte offset or 0. */
  arenaAllocRunLocked(pages: number, tier: number): number {
    return arenaAllocRunLocked(this, pages, tier);
  }

  /** Allocates a run of `pages` pages for `tier` (best fit, grows on demand); byte offset, or 0 if maxBytes cannot hold it. */
  allocRun(pages: number, tier: number): number {
    return arenaAllocRun(this, pages, tier);
  }

  /** Frees the allocated run headed at `offset` (coalescing). ERR_INVALID_POINTER / ERR_DOUBLE_FREE, nothing changed. */
  freeRun(offset: number): void {
    arenaFreeRun(this, offset);
  }

  /**
   * Resizes the allocated run at `offset` in place: shrinks it, or grows it into a free
   * successor (growing the memory when the run is last). False when it cannot grow in place.
   */
  resizeRun(offset: number, pages: number): boolean {
    return arenaResizeRun(this, offset, pages);
  }

  /** Pages of the allocated run headed at `offset`, 0 if there is none (lock-free read). */
  runPages(offset: number): number {
    return arenaRunPages(this, offset);
  }

  // ---------------------------------------------------------------------------------------------
  // Out-of-band metadata (meta.ts)

  /** @internal metaAlloc under the lock. */
  metaAllocLocked(bytes: number): number {
    return metaAllocLocked(this, bytes);
  }

  /**
   * Out-of-band metadata: a zero-filled block of a power-of-two class 16 B … 64 KiB (aligned to
   * its size), or above 64 KiB a zero-filled run of META pages. 0 on out-of-memory.
   */
  metaAlloc(bytes: number): number {
    return metaAlloc(this, bytes);
  }

  /** @internal metaFree under the lock. */
  metaFreeLocked(offset: number): void {
    metaFreeLocked(this, offset);
  }

  /** Returns a metaAlloc block (or run). ERR_INVALID_POINTER for anything else. */
  metaFree(offset: number): void {
    metaFree(this, offset);
  }

  // ---------------------------------------------------------------------------------------------
  // Thread registry (threads.ts): chunk k (from metaAlloc) holds 64 << k records; ids are 1-based.

  /**
   * Whether `buffer` is this heap's memory: the same object, or — for shared memory, which every
   * thread and every growth sees through a different SharedArrayBuffer object — a buffer through
   * which a token written into this thread's record reads back through the arena's own view.
   * Needs an attached thread for shared memory (false otherwise).
   */
  ownsBuffer(buffer: unknown): boolean {
    if (buffer === memoryBuffer(this.memory)) return true;
    if (!memoryIsShared(this.kind) || !(buffer instanceof SharedArrayBuffer) || this.threadId === 0)
      return false;
    const word = this.threadRecord(this.threadId) + TR_PROBE;
    if (buffer.byteLength < (word + 1) * 4) return false;
    const token = (this.probeToken = (this.probeToken + 1) | 0) || 1;
    const other = new Int32Array(buffer, word * 4, 1);
    const before = Atomics.load(other, 0);
    Atomics.store(other, 0, token);
    const same = Atomics.load(this.i32, word) === token;
    Atomics.store(other, 0, before);
    return same;
  }

  /** Last token ownsBuffer wrote. */
  private probeToken = 0;

  /** i32 index of thread `id`'s record (THREAD_RECORD_WORDS words). */
  threadRecord(id: number): number {
    return threadRecord(this, id);
  }

  /** TR_STATE of thread `id` (Atomics read). */
  threadState(id: number): number {
    return threadState(this, id);
  }

  /**
   * Claims thread `id` for reclaiming (live → reclaiming by CAS, no lock taken): of two reclaims
   * of one thread exactly one goes on. With `generation`, the slot must still hold it. Returns
   * the generation; ERR_INVALID_THREAD with nothing changed when the slot is free, already being
   * reclaimed, or of another generation. `threadRelease` frees the slot when the reclaim is done.
   */
  threadClaim(id: number, generation?: number): number {
    return threadClaim(this, id, generation);
  }

  /** Takes a thread slot (a released one first) for this instance; sets and returns threadId (≥ 1). */
  threadAttach(): number {
    return threadAttach(this);
  }

  /** Puts slot `id` back (its owner flushed its state first). ERR_INVALID_THREAD if it is not occupied. */
  threadRelease(id: number): void {
    threadRelease(this, id);
  }

  /** Ids of occupied slots (live or being reclaimed), ascending. Slow path for stats and check. */
  threadIds(): number[] {
    return threadIds(this);
  }

  /**
   * i32 index of tier `tierId`'s TIER_THREAD_WORDS words in thread `threadId`'s per-tier block
   * (default: this thread). This thread's block is created or doubled on demand (zero-filled);
   * another thread's is only read: 0 when it has none for that tier.
   */
  threadTierWords(tierId: number, threadId: number = this.threadId): number {
    return threadTierWords(this, tierId, threadId);
  }

  // ---------------------------------------------------------------------------------------------
  // Registered lock words and reclaim (threads.ts)

  /** Registers the lock word at i32 index `index` (in this heap) so breakLocksOf can release it. */
  registerLock(index: number): void {
    arenaRegisterLock(this, index);
  }

  /** i32 indexes of the registered lock words. */
  registeredLocks(): number[] {
    return arenaRegisteredLocks(this);
  }

  /**
   * Releases the arena mutex and every registered lock word held by thread `id` (dead, claimed
   * with threadClaim); returns how many. When `id` held the arena mutex, the mutex is taken over
   * and the arena repaired before it is released: the update the dead thread's intent record
   * names is finished or undone, the free runs, bins and counters rebuilt from the page map.
   */
  breakLocksOf(id: number): number {
    return arenaBreakLocksOf(this, id);
  }

  // ---------------------------------------------------------------------------------------------
  // Tier directory (tiers.ts): id → kind, size range, root block (see layout.ts)

  /**
   * The id of the tier of kind `kind`, adding it to the directory (with a zero-filled root block
   * of `rootWords` words and the request sizes [minSize, maxSize]) when the heap has none yet.
   * Every thread that opens the same kind gets the same id and root. ERR_INVALID_OPTION for a
   * bad kind, range or version; ERR_HEAP_INCOMPATIBLE when the kind exists with another size
   * range or another `layoutVersion` (the version of the layer's own format, recorded with the
   * tier: both are named); ERR_OUT_OF_MEMORY when the directory is full (255 tier ids) or
   * maxBytes has no room for it.
   */
  tierOpen(kind: string, minSize: number, maxSize: number, rootWords: number, layoutVersion = 1): number {
    return tierOpen(this, kind, minSize, maxSize, rootWords, layoutVersion);
  }

  /**
   * Id of the tier of kind `kind`, 0 when the heap has none. With `layoutVersion`, a tier of that
   * kind recorded with another layout version is ERR_HEAP_INCOMPATIBLE, naming both versions.
   */
  tierFind(kind: string, layoutVersion?: number): number {
    return tierFind(this, kind, layoutVersion);
  }

  /**
   * Tier `id` as a layer of kind `kind` and layout `layoutVersion` expects it (its directory
   * entry): ERR_HEAP_INCOMPATIBLE when the id names another kind or a tier recorded by another
   * layout version (both named); `who` names the caller in the message.
   */
  tierExpect(id: number, kind: string, layoutVersion: number, who: string): ArenaTier {
    return tierExpect(this, id, kind, layoutVersion, who);
  }

  /** Every tier of the directory, in id order. */
  tierList(): ArenaTier[] {
    return tierList(this);
  }

  /** Tier `id` of the directory: kind, size range and the i32 index of its root block. ERR_INVALID_OPTION for an id it does not hold. */
  tierInfo(id: number): ArenaTier {
    return tierInfo(this, id);
  }

  /** @internal i32 index of directory entry `id` (lock held, id in the directory). */
  tierEntry(id: number): number {
    return tierEntry(this, id);
  }

  /** @internal The kind name stored at entry `e`. */
  tierKindAt(e: number): string {
    return tierKindAt(this, e);
  }

  // ---------------------------------------------------------------------------------------------
  // Whole-heap operations (check.ts, stats.ts, growth.ts)

  /** Validates every arena invariant; ERR_HEAP_CORRUPTED naming the broken one. */
  check(): void {
    this.lock();
    try {
      arenaCheckLocked(this);
    } finally {
      this.unlock();
    }
  }

  stats(): ArenaStats {
    return arenaStats(this);
  }

  /** Every run of the page map in address order: { offset, pages, tier, desc }. */
  snapshot(): ArenaRun[] {
    return arenaSnapshot(this);
  }

  /**
   * A non-shared resizable ArrayBuffer shrinks to the end of its last used run; returns the
   * bytes released (0 for every other memory or when the last run is in use).
   */
  trim(): number {
    return arenaTrim(this);
  }
}

import { arenaCheckLocked } from './check';
import { HakmemError } from './errors';
import {
  BIN_BITMAP_WORDS,
  BIN_SUMMARY_WORDS,
  binOf,
  EXACT_BINS,
  FLAG_SHARED,
  FLAG_STRICT,
  HDR_BASE,
  HDR_BIN_BITMAP,
  HDR_BIN_HEADS,
  HDR_BIN_SUMMARY,
  HDR_CHECKSUM,
  HDR_COMMITTED_PAGES,
  HDR_FLAGS,
  HDR_FREE_RUNS,
  HDR_GROWTH,
  HDR_GROWTHS,
  HDR_HEADER_BYTES,
  HDR_LEAF_DIR,
  HDR_LOCK,
  HDR_LOCK_STATS,
  HDR_LOCKREG_ARRAY,
  HDR_LOCKREG_CAP,
  HDR_LOCKREG_COUNT,
  HDR_MAGIC,
  HDR_MAX_PAGES,
  HDR_MEMORY_KIND,
  HDR_META_BYTES,
  HDR_META_HEADS,
  HDR_PAGES_BY_TIER,
  HDR_RUN_ALLOCS,
  HDR_RUN_FREES,
  HDR_THREAD_CHUNKS,
  HDR_THREAD_DIR,
  HDR_THREAD_FREE,
  HDR_THREAD_HIGH,
  HDR_THREAD_LIVE,
  HDR_TIER_CAP,
  HDR_TIER_COUNT,
  HDR_TIER_DIR,
  HDR_TRIMS,
  HDR_VERSION,
  HEADER_BYTES,
  HEADER_WORDS,
  HEAP_MAGIC,
  LAYOUT_VERSION,
  LEAF_BYTES,
  LEAF_PAGES,
  LEAF_SHIFT,
  LOCK_OWNER_ANON,
  MAX_BYTES_LIMIT,
  MEMORY_AB_RESIZABLE,
  MEMORY_WASM,
  MEMORY_WASM_SHARED,
  META_DESC_RUN,
  META_LEAF_SHIFT,
  META_MAX_SHIFT,
  META_MIN_SHIFT,
  PAGE_SHIFT,
  PAGE_SIZE,
  PM_DESC,
  PM_ENTRY_WORDS,
  PM_FLAG_HEAD,
  PM_HEAD_PAGE,
  PM_RUN_PAGES,
  PM_TIER,
  PM_TIER_MASK,
  TD_KIND,
  TD_MAX,
  TD_MIN,
  TD_ROOT,
  TD_ROOT_WORDS,
  TD_WORDS,
  THREAD_CHUNK0_SHIFT,
  THREAD_LIVE,
  THREAD_RECORD_WORDS,
  TIER_COUNT,
  TIER_DIR_CAP0,
  TIER_FIRST,
  TIER_FREE,
  TIER_KIND_MAX,
  TIER_LAST,
  TIER_META,
  TIER_THREAD_SLOTS0,
  TIER_THREAD_WORDS,
  TR_GENERATION,
  TR_NEXT_FREE,
  TR_STATE,
  TR_TIER_SLOTS,
  TR_TIER_WORDS,
} from './layout';
import {
  type HeapMemory,
  memoryBuffer,
  memoryGrow,
  memoryIsShared,
  memoryKind,
  memoryKindName,
  memoryShrink,
} from './memory';
import { type LockStats, mutexBreak, mutexLock, mutexStats, mutexUnlock } from './mutex';
import {
  type ArenaFormatOptions,
  arenaResolveOptions,
  describe,
  optionError,
  type ResolvedOptions,
} from './options';

/** Options of Arena.attach. */
export interface ArenaAttachOptions {
  /** Where the header is (the `base` given to format); found by a scan of 64 KiB boundaries when absent. */
  base?: number;
}

/** One entry of the tier directory, as returned by tierList(). */
export interface ArenaTier {
  id: number;
  kind: string;
  minSize: number;
  maxSize: number;
  /** i32 index of the tier's root block. */
  root: number;
}

/** One run of the page map, as returned by snapshot(). */
export interface ArenaRun {
  /** Byte offset of the run's first page. */
  offset: number;
  pages: number;
  /** Tier id (TIER_FREE, TIER_META, or an id from the tier directory). */
  tier: number;
  /** PM_DESC of the first page (0 for free runs; the metaAlloc class log2 for META pages). */
  desc: number;
}

/** Figures of the arena; exact when the heap is quiescent. */
export interface ArenaStats {
  committedBytes: number;
  maxBytes: number;
  base: number;
  /** Pages per tier id (index = TIER_FREE, TIER_META, then the directory's ids), up to the last id with pages. */
  pagesByTier: number[];
  freePages: number;
  freeRuns: number;
  largestFreeRunPages: number;
  /** Bytes handed out by metaAlloc (including the header and page-map leaves). */
  metaBytes: number;
  runAllocs: number;
  runFrees: number;
  growths: number;
  trims: number;
  /** Occupied thread slots. */
  threads: number;
  /** The arena mutex. */
  locks: LockStats;
}

/**
 * The page arena over one memory, as seen by one thread: views and counters in this object are
 * private to the thread; all shared state is in the memory (see layout.ts).
 */
/** How long refresh() waits for a lagging WebAssembly.Memory buffer (loop iterations). */
const WASM_GROW_SPINS = 10_000_000;

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
  private buffer: ArrayBufferLike;
  private seenGrowth = -1;
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
    arena.arenaFormatHeader(want / PAGE_SIZE, o);
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
    arena.refresh();
    return arena;
  }

  private arenaFormatHeader(committedPages: number, _o: ResolvedOptions): void {
    const hp = this.basePage;
    this.mapViews(committedPages * PAGE_SIZE);
    // The header block is [base, base + 16 KiB); zero it whole (a given memory may be dirty).
    this.u8.fill(0, this.base, this.base + (1 << META_LEAF_SHIFT));
    const hdr = this.hdr;
    hdr[HDR_VERSION] = LAYOUT_VERSION;
    hdr[HDR_HEADER_BYTES] = HEADER_BYTES;
    hdr[HDR_BASE] = this.base;
    hdr[HDR_MAX_PAGES] = this.maxPages;
    hdr[HDR_FLAGS] = (this.shared ? FLAG_SHARED : 0) | (this.strict ? FLAG_STRICT : 0);
    hdr[HDR_MEMORY_KIND] = this.kind;
    // The rest of the header page is three 16 KiB metaAlloc blocks; the first becomes its leaf.
    const leafBlockBytes = 1 << META_LEAF_SHIFT;
    for (let off = this.base + PAGE_SIZE - leafBlockBytes; off > this.base; off -= leafBlockBytes) {
      this.metaPush(META_LEAF_SHIFT, off);
    }
    const leaf = this.metaPop(META_LEAF_SHIFT);
    this.u8.fill(0, leaf, leaf + LEAF_BYTES);
    this.u32[this.leafDir + (hp >>> LEAF_SHIFT)] = leaf >>> 2;
    hdr[HDR_META_BYTES] = 2 * leafBlockBytes;
    this.arenaMarkPages(hp, hp, hp + 1, TIER_META);
    this.arenaMarkHead(hp, 1, TIER_META);
    this.u32[this.entryOf(hp) + PM_DESC] = META_LEAF_SHIFT;
    hdr[HDR_PAGES_BY_TIER + TIER_META] = 1;
    this.endPage = hp + 1;
    if (committedPages > hp + 1) this.arenaAddPagesLocked(hp + 1, committedPages, -1);
    this.endPage = committedPages;
    Atomics.store(hdr, HDR_COMMITTED_PAGES, committedPages);
    Atomics.store(hdr, HDR_GROWTH, 0);
    this.seenGrowth = 0;
    hdr[HDR_CHECKSUM] = headerChecksum(hdr, HEAP_MAGIC);
    Atomics.store(hdr, HDR_MAGIC, HEAP_MAGIC);
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

  private mapViews(bytes: number): void {
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

  unlock(): void {
    if (this.lockDepth === 0) {
      throw new HakmemError('ERR_HEAP_CORRUPTED', 'unlock: this thread does not hold the arena mutex');
    }
    if (--this.lockDepth === 0) mutexUnlock(this.hdr, HDR_LOCK);
  }

  // ---------------------------------------------------------------------------------------------
  // Page map

  /** u32 index of the page-map entry of `ptr`'s page, -1 if ptr is not in a committed heap page. */
  pageEntry(ptr: number): number {
    if (ptr < this.viewBytes && ptr >= this.base) {
      const page = ptr >>> PAGE_SHIFT;
      const leaf = this.u32[this.leafDir + (page >>> LEAF_SHIFT)];
      // undefined only when a WebAssembly.Memory grow detached the views.
      if (leaf !== undefined) return leaf + ((page & (LEAF_PAGES - 1)) << 2);
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
    return this.u32[this.leafDir + (page >>> LEAF_SHIFT)]! + ((page & (LEAF_PAGES - 1)) << 2);
  }

  // ---------------------------------------------------------------------------------------------
  // Free-run bins

  private binInsert(head: number, pages: number): void {
    const hdr = this.hdr;
    const u32 = this.u32;
    const bin = binOf(pages);
    const first = hdr[HDR_BIN_HEADS + bin]!;
    u32[this.entryOf(head) + PM_DESC] = first;
    if (first !== 0) {
      const link = this.entryOf(first) + PM_DESC;
      u32[link] = (u32[link]! & 0xffff) | (head << 16);
    }
    hdr[HDR_BIN_HEADS + bin] = head;
    hdr[HDR_BIN_BITMAP + (bin >>> 5)]! |= 1 << (bin & 31);
    hdr[HDR_BIN_SUMMARY + (bin >>> 10)]! |= 1 << ((bin >>> 5) & 31);
    hdr[HDR_FREE_RUNS]!++;
  }

  private binRemove(head: number, pages: number): void {
    const hdr = this.hdr;
    const u32 = this.u32;
    const bin = binOf(pages);
    const link = this.entryOf(head) + PM_DESC;
    const prev = u32[link]! >>> 16;
    const next = u32[link]! & 0xffff;
    u32[link] = 0;
    if (prev !== 0) {
      const p = this.entryOf(prev) + PM_DESC;
      u32[p] = (u32[p]! & 0xffff0000) | next;
    } else {
      hdr[HDR_BIN_HEADS + bin] = next;
    }
    if (next !== 0) {
      const n = this.entryOf(next) + PM_DESC;
      u32[n] = (u32[n]! & 0xffff) | (prev << 16);
    }
    if (prev === 0 && next === 0) {
      const w = HDR_BIN_BITMAP + (bin >>> 5);
      hdr[w]! &= ~(1 << (bin & 31));
      if (hdr[w] === 0) hdr[HDR_BIN_SUMMARY + (bin >>> 10)]! &= ~(1 << ((bin >>> 5) & 31));
    }
    hdr[HDR_FREE_RUNS]!--;
  }

  /** First non-empty bin ≥ bin, -1 if none: two clz32 steps over the two-level bitmap. */
  private binFindFrom(bin: number): number {
    const hdr = this.hdr;
    let word = bin >>> 5;
    if (word >= BIN_BITMAP_WORDS) return -1;
    const bits = hdr[HDR_BIN_BITMAP + word]! & (-1 << (bin & 31));
    if (bits !== 0) return (word << 5) + ctz32(bits);
    word++;
    if (word >= BIN_BITMAP_WORDS) return -1;
    let s = word >>> 5;
    let summary = hdr[HDR_BIN_SUMMARY + s]! & (-1 << (word & 31));
    while (summary === 0) {
      if (++s >= BIN_SUMMARY_WORDS) return -1;
      summary = hdr[HDR_BIN_SUMMARY + s]!;
    }
    word = (s << 5) + ctz32(summary);
    return (word << 5) + ctz32(hdr[HDR_BIN_BITMAP + word]!);
  }

  /** Head page of the smallest free run in `bin` with at least `pages` pages, 0 if none. */
  private binSmallest(bin: number, pages: number): number {
    const u32 = this.u32;
    let best = 0;
    let bestPages = 0;
    for (let head = this.hdr[HDR_BIN_HEADS + bin]!; head !== 0; ) {
      const e = this.entryOf(head);
      const n = u32[e + PM_RUN_PAGES]!;
      if (n >= pages && (best === 0 || n < bestPages)) {
        best = head;
        bestPages = n;
      }
      head = u32[e + PM_DESC]! & 0xffff;
    }
    return best;
  }

  /** Head page of the best-fitting free run for `pages`, 0 if none. */
  private arenaBestFit(pages: number): number {
    const bin = binOf(pages);
    if (pages < EXACT_BINS) {
      const found = this.binFindFrom(bin);
      if (found < 0) return 0;
      return found < EXACT_BINS ? this.hdr[HDR_BIN_HEADS + found]! : this.binSmallest(found, pages);
    }
    const head = this.binSmallest(bin, pages);
    if (head !== 0) return head;
    const found = this.binFindFrom(bin + 1);
    return found < 0 ? 0 : this.binSmallest(found, pages);
  }

  // ---------------------------------------------------------------------------------------------
  // Runs (all ...Locked functions run under the arena mutex)

  /** Writes pages [from, to) as non-head pages of the run headed at `head`. */
  private arenaMarkPages(head: number, from: number, to: number, tier: number): void {
    const u32 = this.u32;
    let e = 0;
    for (let page = from; page < to; page++) {
      // Entries of one leaf are consecutive; look the leaf up again at each leaf boundary.
      e = page === from || (page & (LEAF_PAGES - 1)) === 0 ? this.entryOf(page) : e + PM_ENTRY_WORDS;
      u32[e + PM_TIER] = tier;
      u32[e + PM_HEAD_PAGE] = head;
      u32[e + PM_RUN_PAGES] = 0;
      u32[e + PM_DESC] = 0;
    }
  }

  private arenaMarkHead(head: number, pages: number, tier: number): void {
    const e = this.entryOf(head);
    this.u32[e + PM_TIER] = tier | PM_FLAG_HEAD;
    this.u32[e + PM_RUN_PAGES] = pages;
  }

  /** Boundary tags of a free run (its interior pages already say TIER_FREE). */
  private arenaTagFree(head: number, pages: number): void {
    const u32 = this.u32;
    const e = this.entryOf(head);
    u32[e + PM_TIER] = TIER_FREE | PM_FLAG_HEAD;
    u32[e + PM_HEAD_PAGE] = head;
    u32[e + PM_RUN_PAGES] = pages;
    if (pages > 1) {
      const t = this.entryOf(head + pages - 1);
      u32[t + PM_TIER] = TIER_FREE;
      u32[t + PM_HEAD_PAGE] = head;
      u32[t + PM_RUN_PAGES] = pages;
      u32[t + PM_DESC] = 0;
    }
  }

  /** Takes the first `pages` pages of the free run at `head` for `tier`. */
  private arenaTakeFree(head: number, pages: number, tier: number): void {
    const have = this.u32[this.entryOf(head) + PM_RUN_PAGES]!;
    if (__DEV__) {
      if (this.u32[this.entryOf(head) + PM_TIER] !== (TIER_FREE | PM_FLAG_HEAD) || have < pages) {
        throw new HakmemError(
          'ERR_HEAP_CORRUPTED',
          `arena: taking ${pages} pages from page ${head}, which heads no free run of that size`,
        );
      }
    }
    this.binRemove(head, have);
    if (have > pages) {
      this.arenaTagFree(head + pages, have - pages);
      this.binInsert(head + pages, have - pages);
    }
    this.arenaMarkPages(head, head, head + pages, tier);
    this.arenaMarkHead(head, pages, tier);
    const hdr = this.hdr;
    hdr[HDR_PAGES_BY_TIER + TIER_FREE]! -= pages;
    hdr[HDR_PAGES_BY_TIER + tier]! += pages;
  }

  /**
   * Pages [head, head + pages) become free and coalesce with free neighbours; `limit` is the
   * first page whose entry may not be read. Counts them as free; the caller uncounts their tier.
   */
  private arenaReleaseLocked(head: number, pages: number, limit: number): void {
    const u32 = this.u32;
    if (__DEV__) {
      if (head <= this.basePage || head + pages > limit) {
        throw new HakmemError(
          'ERR_HEAP_CORRUPTED',
          `arena: releasing pages ${head}..${head + pages - 1}, outside the heap's pages`,
        );
      }
    }
    let e = 0;
    for (let page = head; page < head + pages; page++) {
      e = page === head || (page & (LEAF_PAGES - 1)) === 0 ? this.entryOf(page) : e + PM_ENTRY_WORDS;
      u32[e + PM_TIER] = TIER_FREE;
    }
    this.hdr[HDR_PAGES_BY_TIER + TIER_FREE]! += pages;
    let start = head;
    let length = pages;
    if (head > this.basePage) {
      const left = this.entryOf(head - 1);
      if ((u32[left + PM_TIER]! & PM_TIER_MASK) === TIER_FREE) {
        const leftHead = u32[left + PM_HEAD_PAGE]!;
        const leftPages = u32[this.entryOf(leftHead) + PM_RUN_PAGES]!;
        this.binRemove(leftHead, leftPages);
        if (leftHead !== head - 1) u32[left + PM_RUN_PAGES] = 0;
        start = leftHead;
        length += leftPages;
      }
    }
    const end = head + pages;
    if (end < limit) {
      const right = this.entryOf(end);
      if ((u32[right + PM_TIER]! & PM_TIER_MASK) === TIER_FREE) {
        const rightPages = u32[right + PM_RUN_PAGES]!;
        this.binRemove(end, rightPages);
        u32[right + PM_TIER] = TIER_FREE;
        if (rightPages > 1) u32[right + PM_RUN_PAGES] = 0;
        length += rightPages;
      }
    }
    this.arenaTagFree(start, length);
    this.binInsert(start, length);
  }

  /** Length of the free run that ends at the committed end, 0 if the last run is in use. */
  private arenaTrailingFree(): number {
    const e = this.entryOf(this.endPage - 1);
    return (this.u32[e + PM_TIER]! & PM_TIER_MASK) === TIER_FREE ? this.u32[e + PM_RUN_PAGES]! : 0;
  }

  /** @internal Best fit, growing the memory on demand; byte offset or 0. */
  arenaAllocRunLocked(pages: number, tier: number): number {
    for (;;) {
      const head = this.arenaBestFit(pages);
      if (head !== 0) {
        this.arenaTakeFree(head, pages, tier);
        return head * PAGE_SIZE;
      }
      if (!this.arenaGrowLocked(pages - this.arenaTrailingFree(), -1)) return 0;
    }
  }

  /** Allocates a run of `pages` pages for `tier` (best fit, grows on demand); byte offset, or 0 if maxBytes cannot hold it. */
  allocRun(pages: number, tier: number): number {
    if (!Number.isInteger(pages) || pages < 1) {
      throw new HakmemError('ERR_INVALID_SIZE', `allocRun: pages ${pages} is not a positive integer`);
    }
    if (!Number.isInteger(tier) || tier < TIER_FIRST || tier > TIER_LAST) {
      throw new HakmemError(
        'ERR_INVALID_OPTION',
        `allocRun: tier ${tier} is not a tier id ${TIER_FIRST}..${TIER_LAST}`,
      );
    }
    if (pages >= this.maxPages - this.basePage) return 0;
    this.lock();
    try {
      const offset = this.arenaAllocRunLocked(pages, tier);
      if (offset !== 0) this.hdr[HDR_RUN_ALLOCS]!++;
      return offset;
    } finally {
      this.unlock();
    }
  }

  /** Page number of the allocated (non-META) run headed at `offset`; throws the precise error otherwise. */
  private arenaRunHead(
    offset: number,
    op: string,
    freeCode: 'ERR_DOUBLE_FREE' | 'ERR_INVALID_POINTER',
  ): number {
    const end = this.endPage * PAGE_SIZE;
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < this.base || offset >= end) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `${op}: offset ${describe(offset)} is not in the heap's pages [${this.base}, ${end})`,
      );
    }
    if (offset % PAGE_SIZE !== 0) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `${op}: offset ${offset} is not 64 KiB aligned, so it is not the start of a page run`,
      );
    }
    const page = offset / PAGE_SIZE;
    const e = this.entryOf(page);
    const word = this.u32[e + PM_TIER]!;
    const tier = word & PM_TIER_MASK;
    if (tier === TIER_FREE) {
      throw new HakmemError(freeCode, `${op}: the page run at offset ${offset} is free (already freed)`);
    }
    if (tier === TIER_META) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `${op}: offset ${offset} is arena metadata, not a page run`,
      );
    }
    if ((word & PM_FLAG_HEAD) === 0) {
      const head = this.u32[e + PM_HEAD_PAGE]! * PAGE_SIZE;
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `${op}: offset ${offset} is inside the page run at ${head}, not its start`,
      );
    }
    return page;
  }

  /** Frees the allocated run headed at `offset` (coalescing). ERR_INVALID_POINTER / ERR_DOUBLE_FREE, nothing changed. */
  freeRun(offset: number): void {
    this.lock();
    try {
      const head = this.arenaRunHead(offset, 'freeRun', 'ERR_DOUBLE_FREE');
      const e = this.entryOf(head);
      const pages = this.u32[e + PM_RUN_PAGES]!;
      const tier = this.u32[e + PM_TIER]! & PM_TIER_MASK;
      this.arenaReleaseLocked(head, pages, this.endPage);
      this.hdr[HDR_PAGES_BY_TIER + tier]! -= pages;
      this.hdr[HDR_RUN_FREES]!++;
    } finally {
      this.unlock();
    }
  }

  /**
   * Resizes the allocated run at `offset` in place: shrinks it, or grows it into a free
   * successor (growing the memory when the run is last). False when it cannot grow in place.
   */
  resizeRun(offset: number, pages: number): boolean {
    if (!Number.isInteger(pages) || pages < 1) {
      throw new HakmemError('ERR_INVALID_SIZE', `resizeRun: pages ${pages} is not a positive integer`);
    }
    this.lock();
    try {
      const head = this.arenaRunHead(offset, 'resizeRun', 'ERR_INVALID_POINTER');
      const e = this.entryOf(head);
      const have = this.u32[e + PM_RUN_PAGES]!;
      const tier = this.u32[e + PM_TIER]! & PM_TIER_MASK;
      if (pages === have) return true;
      if (pages < have) {
        this.u32[e + PM_RUN_PAGES] = pages;
        this.arenaReleaseLocked(head + pages, have - pages, this.endPage);
        this.hdr[HDR_PAGES_BY_TIER + tier]! -= have - pages;
        return true;
      }
      if (pages >= this.maxPages - this.basePage) return false;
      return this.arenaExtendLocked(head, have, pages, tier);
    } finally {
      this.unlock();
    }
  }

  private arenaExtendLocked(head: number, have: number, pages: number, tier: number): boolean {
    const need = pages - have;
    const next = head + have;
    for (;;) {
      let free = 0;
      if (next < this.endPage) {
        const r = this.entryOf(next);
        if ((this.u32[r + PM_TIER]! & PM_TIER_MASK) !== TIER_FREE) return false;
        free = this.u32[r + PM_RUN_PAGES]!;
      }
      if (free >= need) {
        this.binRemove(next, free);
        if (free > need) {
          this.arenaTagFree(next + need, free - need);
          this.binInsert(next + need, free - need);
        }
        this.arenaMarkPages(head, next, next + need, tier);
        this.u32[this.entryOf(head) + PM_RUN_PAGES] = pages;
        this.hdr[HDR_PAGES_BY_TIER + TIER_FREE]! -= need;
        this.hdr[HDR_PAGES_BY_TIER + tier]! += need;
        return true;
      }
      if (next + free !== this.endPage) return false;
      if (!this.arenaGrowLocked(need - free, next)) return false;
    }
  }

  /** Pages of the allocated run headed at `offset`, 0 if there is none (lock-free read). */
  runPages(offset: number): number {
    const e = this.pageEntry(offset);
    if (e < 0 || offset % PAGE_SIZE !== 0) return 0;
    const word = this.u32[e + PM_TIER]!;
    if ((word & PM_FLAG_HEAD) === 0 || (word & PM_TIER_MASK) < TIER_FIRST) return 0;
    return this.u32[e + PM_RUN_PAGES]!;
  }

  // ---------------------------------------------------------------------------------------------
  // Growth

  /** Pages that new page-map leaves for [from, to) may take (4 leaves per META page, spare 16 KiB blocks first). */
  private arenaLeafPages(from: number, to: number): number {
    let missing = 0;
    for (let leaf = from >>> LEAF_SHIFT; leaf <= (to - 1) >>> LEAF_SHIFT; leaf++) {
      if (this.u32[this.leafDir + leaf] === 0) missing++;
    }
    let block = this.hdr[HDR_META_HEADS + META_LEAF_SHIFT - META_MIN_SHIFT]! >>> 0;
    while (missing > 0 && block !== 0) {
      missing--;
      block = this.u32[block >>> 2]!;
    }
    return Math.ceil(missing / 4);
  }

  /** Last page the growth policy gives for at least `pages` more pages, 0 if maxBytes cannot. */
  private arenaGrowTarget(from: number, pages: number, policy: boolean): number {
    let to = Math.min(
      this.maxPages,
      from + (policy ? Math.max(pages, Math.ceil((from - this.basePage) / 8)) : pages),
    );
    for (;;) {
      const need = pages + this.arenaLeafPages(from, Math.max(to, from + pages));
      if (from + need <= to) return to;
      if (from + need > this.maxPages) return 0;
      to = from + need;
    }
  }

  /**
   * Grows the memory by at least `pages` usable pages (policy: max(pages, committed / 8)),
   * creates page-map leaves, frees the new pages (coalescing with the last free run), then
   * publishes the growth. `protect` is a page that must stay free (resizeRun's successor), -1 if none.
   */
  private arenaGrowLocked(pages: number, protect: number): boolean {
    if (pages < 1) pages = 1;
    const from = this.endPage;
    let to = this.arenaGrowTarget(from, pages, true);
    if (to === 0) return false;
    if (!memoryGrow(this.memory, this.kind, to * PAGE_SIZE)) {
      const least = this.arenaGrowTarget(from, pages, false);
      if (least === 0 || least >= to || !memoryGrow(this.memory, this.kind, least * PAGE_SIZE)) return false;
      to = least;
    }
    const buffer = memoryBuffer(this.memory);
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.hdr = new Int32Array(buffer, this.base, HEADER_WORDS);
    }
    this.mapViews(to * PAGE_SIZE);
    this.arenaAddPagesLocked(from, to, protect);
    this.endPage = to;
    const hdr = this.hdr;
    hdr[HDR_GROWTHS]!++;
    Atomics.store(hdr, HDR_COMMITTED_PAGES, to);
    this.seenGrowth = Atomics.add(hdr, HDR_GROWTH, 1) + 1;
    return true;
  }

  /** Adds the new pages [from, to): leaves first (16 KiB blocks, or META pages carved from the new range), then a free run. */
  private arenaAddPagesLocked(from: number, to: number, protect: number): void {
    let lo = from;
    let hi = to;
    for (let leaf = from >>> LEAF_SHIFT; leaf <= (to - 1) >>> LEAF_SHIFT; leaf++) {
      if (this.u32[this.leafDir + leaf] !== 0) continue;
      let block = this.metaPop(META_LEAF_SHIFT);
      if (block === 0) {
        const page = this.arenaBestFit(1);
        if (page !== 0 && page !== protect) {
          this.arenaTakeFree(page, 1, TIER_META);
          this.metaPageInit(page, META_LEAF_SHIFT);
        } else {
          // No free page outside the new range: carve one (its entry is written below, once its leaf exists).
          this.metaPageBlocks(protect >= 0 ? --hi : lo++, META_LEAF_SHIFT);
        }
        block = this.metaPop(META_LEAF_SHIFT);
      }
      this.u8.fill(0, block, block + LEAF_BYTES);
      this.u32[this.leafDir + leaf] = block >>> 2;
      this.hdr[HDR_META_BYTES]! += LEAF_BYTES;
    }
    for (let page = from; page < lo; page++) this.arenaMarkCarved(page);
    for (let page = hi; page < to; page++) this.arenaMarkCarved(page);
    if (hi > lo) this.arenaReleaseLocked(lo, hi - lo, hi);
  }

  /** Page-map entry of a META page carved for leaves while its own leaf did not exist yet. */
  private arenaMarkCarved(page: number): void {
    this.arenaMarkPages(page, page, page + 1, TIER_META);
    this.arenaMarkHead(page, 1, TIER_META);
    this.u32[this.entryOf(page) + PM_DESC] = META_LEAF_SHIFT;
    this.hdr[HDR_PAGES_BY_TIER + TIER_META]!++;
  }

  // ---------------------------------------------------------------------------------------------
  // Out-of-band metadata

  private metaPush(shift: number, offset: number): void {
    const head = HDR_META_HEADS + shift - META_MIN_SHIFT;
    this.u32[offset >>> 2] = this.hdr[head]!;
    this.hdr[head] = offset;
  }

  private metaPop(shift: number): number {
    const head = HDR_META_HEADS + shift - META_MIN_SHIFT;
    const offset = this.hdr[head]! >>> 0;
    if (offset !== 0) this.hdr[head] = this.u32[offset >>> 2]!;
    return offset;
  }

  /** Pushes every block of META page `page` onto class `shift` (lowest address popped first). */
  private metaPageBlocks(page: number, shift: number): void {
    const size = 1 << shift;
    const start = page * PAGE_SIZE;
    for (let offset = start + PAGE_SIZE - size; offset >= start; offset -= size) this.metaPush(shift, offset);
  }

  private metaPageInit(page: number, shift: number): void {
    this.u32[this.entryOf(page) + PM_DESC] = shift;
    this.metaPageBlocks(page, shift);
  }

  /** @internal metaAlloc under the lock. */
  metaAllocLocked(bytes: number): number {
    if (bytes > 1 << META_MAX_SHIFT) {
      const pages = Math.ceil(bytes / PAGE_SIZE);
      if (pages >= this.maxPages - this.basePage) return 0;
      const offset = this.arenaAllocRunLocked(pages, TIER_META);
      if (offset === 0) return 0;
      this.u8.fill(0, offset, offset + pages * PAGE_SIZE);
      this.hdr[HDR_META_BYTES]! += pages * PAGE_SIZE;
      return offset;
    }
    const shift = Math.max(META_MIN_SHIFT, 32 - Math.clz32(bytes - 1));
    let offset = this.metaPop(shift);
    if (offset === 0) {
      const page = this.arenaAllocRunLocked(1, TIER_META) / PAGE_SIZE;
      if (page === 0) return 0;
      this.metaPageInit(page, shift);
      offset = this.metaPop(shift);
    }
    this.u8.fill(0, offset, offset + (1 << shift));
    this.hdr[HDR_META_BYTES]! += 1 << shift;
    return offset;
  }

  /**
   * Out-of-band metadata: a zero-filled block of a power-of-two class 16 B … 64 KiB (aligned to
   * its size), or above 64 KiB a zero-filled run of META pages. 0 on out-of-memory.
   */
  metaAlloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > MAX_BYTES_LIMIT) {
      throw new HakmemError('ERR_INVALID_SIZE', `metaAlloc: bytes ${bytes} is not an integer in [1, 2^32]`);
    }
    this.lock();
    try {
      return this.metaAllocLocked(bytes);
    } finally {
      this.unlock();
    }
  }

  /** @internal metaFree under the lock. */
  metaFreeLocked(offset: number): void {
    const end = this.endPage * PAGE_SIZE;
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset <= this.base || offset >= end) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `metaFree: offset ${describe(offset)} is not a metaAlloc block in (${this.base}, ${end})`,
      );
    }
    const page = Math.floor(offset / PAGE_SIZE);
    const e = this.entryOf(page);
    const word = this.u32[e + PM_TIER]!;
    if ((word & PM_TIER_MASK) !== TIER_META || (word & PM_FLAG_HEAD) === 0) {
      throw new HakmemError('ERR_INVALID_POINTER', `metaFree: offset ${offset} is not in a metaAlloc page`);
    }
    const shift = this.u32[e + PM_DESC]!;
    if (shift === META_DESC_RUN) {
      if (offset % PAGE_SIZE !== 0) {
        throw new HakmemError(
          'ERR_INVALID_POINTER',
          `metaFree: offset ${offset} is not the start of a metaAlloc run`,
        );
      }
      const pages = this.u32[e + PM_RUN_PAGES]!;
      this.arenaReleaseLocked(page, pages, this.endPage);
      this.hdr[HDR_PAGES_BY_TIER + TIER_META]! -= pages;
      this.hdr[HDR_META_BYTES]! -= pages * PAGE_SIZE;
      return;
    }
    if (offset % (1 << shift) !== 0) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `metaFree: offset ${offset} is not at the start of a ${1 << shift}-byte metaAlloc block`,
      );
    }
    if (shift === META_LEAF_SHIFT && this.arenaIsLeafBlock(offset)) {
      throw new HakmemError('ERR_INVALID_POINTER', `metaFree: offset ${offset} is a page-map leaf`);
    }
    if (__DEV__) {
      for (
        let b = this.hdr[HDR_META_HEADS + shift - META_MIN_SHIFT]! >>> 0;
        b !== 0;
        b = this.u32[b >>> 2]!
      ) {
        if (b === offset) {
          throw new HakmemError('ERR_DOUBLE_FREE', `metaFree: block ${offset} is already free`);
        }
      }
    }
    this.metaPush(shift, offset);
    this.hdr[HDR_META_BYTES]! -= 1 << shift;
  }

  private arenaIsLeafBlock(offset: number): boolean {
    for (let leaf = 0; leaf <= (this.maxPages - 1) >>> LEAF_SHIFT; leaf++) {
      if (this.u32[this.leafDir + leaf] === offset >>> 2) return true;
    }
    return false;
  }

  /** Returns a metaAlloc block (or run). ERR_INVALID_POINTER for anything else. */
  metaFree(offset: number): void {
    this.lock();
    try {
      this.metaFreeLocked(offset);
    } finally {
      this.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Thread registry: chunk k (from metaAlloc) holds 64 << k records; ids are 1-based.

  /** i32 index of thread `id`'s record (THREAD_RECORD_WORDS words). */
  threadRecord(id: number): number {
    if (!(id >= 1 && id <= this.hdr[HDR_THREAD_HIGH]!) || !Number.isInteger(id)) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `threadRecord: thread id ${id} was never handed out (ids 1..${this.hdr[HDR_THREAD_HIGH]})`,
      );
    }
    const index = id - 1;
    const chunk = 31 - Math.clz32((index >>> THREAD_CHUNK0_SHIFT) + 1);
    const first = ((1 << chunk) - 1) << THREAD_CHUNK0_SHIFT;
    const record = this.hdr[HDR_THREAD_DIR + chunk]! + (index - first) * THREAD_RECORD_WORDS;
    if (record * 4 >= this.viewBytes) this.refresh();
    return record;
  }

  /** TR_STATE of thread `id` (Atomics read). */
  threadState(id: number): number {
    return Atomics.load(this.i32, this.threadRecord(id) + TR_STATE);
  }

  /** Takes a thread slot (a released one first) for this instance; sets and returns threadId (≥ 1). */
  threadAttach(): number {
    if (this.threadId !== 0) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `threadAttach: this Arena is already attached as thread ${this.threadId}`,
      );
    }
    this.lock();
    let id = 0;
    try {
      const hdr = this.hdr;
      id = hdr[HDR_THREAD_FREE]!;
      if (id !== 0) {
        hdr[HDR_THREAD_FREE] = this.i32[this.threadRecord(id) + TR_NEXT_FREE]!;
      } else {
        id = hdr[HDR_THREAD_HIGH]! + 1;
        const chunks = hdr[HDR_THREAD_CHUNKS]!;
        if (id > ((1 << chunks) - 1) << THREAD_CHUNK0_SHIFT) {
          const records = 1 << (THREAD_CHUNK0_SHIFT + chunks);
          const chunk = this.metaAllocLocked(records * THREAD_RECORD_WORDS * 4);
          if (chunk === 0) {
            throw new HakmemError(
              'ERR_OUT_OF_MEMORY',
              `threadAttach: no memory for ${records} more thread records`,
            );
          }
          this.hdr[HDR_THREAD_DIR + chunks] = chunk >>> 2;
          this.hdr[HDR_THREAD_CHUNKS] = chunks + 1;
        }
        this.hdr[HDR_THREAD_HIGH] = id;
      }
      const record = this.threadRecord(id);
      const i32 = this.i32;
      for (let w = TR_NEXT_FREE; w < THREAD_RECORD_WORDS; w++) i32[record + w] = 0;
      Atomics.add(i32, record + TR_GENERATION, 1);
      Atomics.store(i32, record + TR_STATE, THREAD_LIVE);
      this.hdr[HDR_THREAD_LIVE]!++;
    } finally {
      this.unlock();
    }
    this.threadId = id;
    return id;
  }

  /** Puts slot `id` back (its owner flushed its state first). ERR_INVALID_THREAD if it is not occupied. */
  threadRelease(id: number): void {
    this.lock();
    try {
      const record = this.threadRecord(id);
      const i32 = this.i32;
      if (Atomics.load(i32, record + TR_STATE) === 0) {
        throw new HakmemError('ERR_INVALID_THREAD', `threadRelease: thread id ${id} is not attached`);
      }
      const block = Atomics.exchange(i32, record + TR_TIER_WORDS, 0);
      if (block !== 0) this.metaFreeLocked(block * 4);
      i32[record + TR_NEXT_FREE] = this.hdr[HDR_THREAD_FREE]!;
      Atomics.store(i32, record + TR_STATE, 0);
      this.hdr[HDR_THREAD_FREE] = id;
      this.hdr[HDR_THREAD_LIVE]!--;
    } finally {
      this.unlock();
    }
    if (id === this.threadId) this.threadId = 0;
  }

  /** Ids of occupied slots (live or being reclaimed), ascending. Slow path for stats and check. */
  threadIds(): number[] {
    this.lock();
    try {
      const ids: number[] = [];
      const high = this.hdr[HDR_THREAD_HIGH]!;
      for (let id = 1; id <= high; id++) {
        if (Atomics.load(this.i32, this.threadRecord(id) + TR_STATE) !== 0) ids.push(id);
      }
      return ids;
    } finally {
      this.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Registered lock words and reclaim

  /** Registers the lock word at i32 index `index` (in this heap) so breakLocksOf can release it. */
  registerLock(index: number): void {
    if (!Number.isInteger(index) || index < this.headerIndex || index * 4 >= this.committedBytes()) {
      throw new HakmemError('ERR_INVALID_POINTER', `registerLock: i32 index ${index} is not in the heap`);
    }
    this.lock();
    try {
      const hdr = this.hdr;
      const count = hdr[HDR_LOCKREG_COUNT]!;
      let array = hdr[HDR_LOCKREG_ARRAY]!;
      for (let i = 0; i < count; i++) if (this.i32[array + i] === index) return;
      if (count === hdr[HDR_LOCKREG_CAP]) {
        const cap = Math.max(16, count * 2);
        const bigger = this.metaAllocLocked(cap * 4);
        if (bigger === 0)
          throw new HakmemError('ERR_OUT_OF_MEMORY', 'registerLock: no memory for the lock registry');
        this.i32.copyWithin(bigger >>> 2, array, array + count);
        if (array !== 0) this.metaFreeLocked(array * 4);
        array = bigger >>> 2;
        hdr[HDR_LOCKREG_ARRAY] = array;
        hdr[HDR_LOCKREG_CAP] = cap;
      }
      this.i32[array + count] = index;
      hdr[HDR_LOCKREG_COUNT] = count + 1;
    } finally {
      this.unlock();
    }
  }

  /** i32 indexes of the registered lock words. */
  registeredLocks(): number[] {
    this.lock();
    try {
      const array = this.hdr[HDR_LOCKREG_ARRAY]!;
      return Array.from(this.i32.subarray(array, array + this.hdr[HDR_LOCKREG_COUNT]!));
    } finally {
      this.unlock();
    }
  }

  /** Releases the arena mutex and every registered lock word held by thread `id`; returns how many. */
  breakLocksOf(id: number): number {
    if (!Number.isInteger(id) || id < 1 || id > LOCK_OWNER_ANON) {
      throw new HakmemError('ERR_INVALID_THREAD', `breakLocksOf: thread id ${id} is not a thread id`);
    }
    this.refresh();
    let broken = mutexBreak(this.hdr, HDR_LOCK, id) ? 1 : 0;
    this.lock();
    try {
      const array = this.hdr[HDR_LOCKREG_ARRAY]!;
      const count = this.hdr[HDR_LOCKREG_COUNT]!;
      for (let i = 0; i < count; i++) if (mutexBreak(this.i32, this.i32[array + i]!, id)) broken++;
    } finally {
      this.unlock();
    }
    return broken;
  }

  // ---------------------------------------------------------------------------------------------
  // Tier directory: id → kind, size range, root block (see layout.ts)

  /**
   * The id of the tier of kind `kind`, adding it to the directory (with a zero-filled root block
   * of `rootWords` words and the request sizes [minSize, maxSize]) when the heap has none yet.
   * Every thread that opens the same kind gets the same id and root. ERR_INVALID_OPTION for a
   * bad kind or range; ERR_HEAP_INCOMPATIBLE when the kind exists with another size range;
   * ERR_OUT_OF_MEMORY when the directory is full (255 tier ids) or maxBytes has no room for it.
   */
  tierOpen(kind: string, minSize: number, maxSize: number, rootWords: number): number {
    tierValidateKind(kind);
    if (
      !Number.isInteger(minSize) ||
      !Number.isInteger(maxSize) ||
      minSize < 0 ||
      maxSize < minSize ||
      maxSize >= MAX_BYTES_LIMIT
    ) {
      throw new HakmemError(
        'ERR_INVALID_OPTION',
        `tierOpen('${kind}'): size range [${describe(minSize)}, ${describe(maxSize)}] is not 0 ≤ min ≤ max < 2^32`,
      );
    }
    if (!Number.isInteger(rootWords) || rootWords < 1 || rootWords > 1 << 14) {
      throw new HakmemError(
        'ERR_INVALID_OPTION',
        `tierOpen('${kind}'): rootWords ${describe(rootWords)} is not an integer in [1, 16384]`,
      );
    }
    this.lock();
    try {
      const found = this.tierFindLocked(kind);
      if (found !== 0) {
        const e = this.tierEntry(found);
        if (this.i32[e + TD_MIN] !== minSize || this.u32[e + TD_MAX] !== maxSize) {
          throw new HakmemError(
            'ERR_HEAP_INCOMPATIBLE',
            `tierOpen('${kind}'): this heap's '${kind}' tier serves sizes ${this.i32[e + TD_MIN]}..${this.u32[e + TD_MAX]}, not ${minSize}..${maxSize}`,
          );
        }
        return found;
      }
      return this.tierAddLocked(kind, minSize, maxSize, rootWords);
    } finally {
      this.unlock();
    }
  }

  /** Id of the tier of kind `kind`, 0 when the heap has none. */
  tierFind(kind: string): number {
    this.lock();
    try {
      return this.tierFindLocked(kind);
    } finally {
      this.unlock();
    }
  }

  /** Every tier of the directory, in id order. */
  tierList(): ArenaTier[] {
    this.lock();
    try {
      const out: ArenaTier[] = [];
      const count = this.hdr[HDR_TIER_COUNT]!;
      for (let id = TIER_FIRST; id < TIER_FIRST + count; id++) out.push(this.tierAt(id));
      return out;
    } finally {
      this.unlock();
    }
  }

  /** Tier `id` of the directory: kind, size range and the i32 index of its root block. ERR_INVALID_OPTION for an id it does not hold. */
  tierInfo(id: number): ArenaTier {
    this.lock();
    try {
      const count = this.hdr[HDR_TIER_COUNT]!;
      if (!Number.isInteger(id) || id < TIER_FIRST || id >= TIER_FIRST + count) {
        throw new HakmemError(
          'ERR_INVALID_OPTION',
          `tierInfo: tier id ${describe(id)} is not in this heap's directory (ids ${TIER_FIRST}..${TIER_FIRST + count - 1})`,
        );
      }
      return this.tierAt(id);
    } finally {
      this.unlock();
    }
  }

  private tierAt(id: number): ArenaTier {
    const e = this.tierEntry(id);
    return {
      id,
      kind: this.tierKindAt(e),
      minSize: this.i32[e + TD_MIN]!,
      maxSize: this.u32[e + TD_MAX]!,
      root: this.i32[e + TD_ROOT]!,
    };
  }

  /** @internal i32 index of directory entry `id` (lock held, id in the directory). */
  tierEntry(id: number): number {
    return this.hdr[HDR_TIER_DIR]! + (id - TIER_FIRST) * TD_WORDS;
  }

  /** @internal The kind name stored at entry `e`. */
  tierKindAt(e: number): string {
    let kind = '';
    for (let i = 0; i < TIER_KIND_MAX; i++) {
      const c = this.u8[(e + TD_KIND) * 4 + i]!;
      if (c === 0) break;
      kind += String.fromCharCode(c);
    }
    return kind;
  }

  private tierFindLocked(kind: string): number {
    const count = this.hdr[HDR_TIER_COUNT]!;
    for (let id = TIER_FIRST; id < TIER_FIRST + count; id++) {
      if (this.tierKindAt(this.tierEntry(id)) === kind) return id;
    }
    return 0;
  }

  private tierAddLocked(kind: string, minSize: number, maxSize: number, rootWords: number): number {
    const hdr = this.hdr;
    const count = hdr[HDR_TIER_COUNT]!;
    if (TIER_FIRST + count > TIER_LAST) {
      throw new HakmemError(
        'ERR_OUT_OF_MEMORY',
        `tierOpen('${kind}'): the page map's 8-bit tier field has no id left (${count} tiers)`,
      );
    }
    const cap = hdr[HDR_TIER_CAP]!;
    if (count === cap) {
      const bigger = cap === 0 ? TIER_DIR_CAP0 : cap * 2;
      const offset = this.metaAllocLocked(bigger * TD_WORDS * 4);
      if (offset === 0) throw tierNoRoom(kind, this.maxBytes);
      const old = hdr[HDR_TIER_DIR]!;
      if (old !== 0) this.i32.copyWithin(offset >>> 2, old, old + count * TD_WORDS);
      hdr[HDR_TIER_DIR] = offset >>> 2;
      hdr[HDR_TIER_CAP] = bigger;
      if (old !== 0) this.metaFreeLocked(old * 4);
    }
    const root = this.metaAllocLocked(rootWords * 4);
    if (root === 0) throw tierNoRoom(kind, this.maxBytes);
    const id = TIER_FIRST + count;
    const e = this.tierEntry(id);
    for (let i = 0; i < kind.length; i++) this.u8[(e + TD_KIND) * 4 + i] = kind.charCodeAt(i);
    this.i32[e + TD_MIN] = minSize;
    this.u32[e + TD_MAX] = maxSize;
    this.i32[e + TD_ROOT] = root >>> 2;
    this.i32[e + TD_ROOT_WORDS] = rootWords;
    Atomics.store(hdr, HDR_TIER_COUNT, count + 1);
    return id;
  }

  /**
   * i32 index of tier `tierId`'s TIER_THREAD_WORDS words in thread `threadId`'s per-tier block
   * (default: this thread). This thread's block is created or doubled on demand (zero-filled);
   * another thread's is only read: 0 when it has none for that tier.
   */
  threadTierWords(tierId: number, threadId: number = this.threadId): number {
    const slot = tierId - TIER_FIRST;
    if (!Number.isInteger(tierId) || slot < 0 || tierId > TIER_LAST) {
      throw new HakmemError('ERR_INVALID_OPTION', `threadTierWords: ${describe(tierId)} is not a tier id`);
    }
    const record = this.threadRecord(threadId);
    const block = Atomics.load(this.i32, record + TR_TIER_WORDS);
    if (block !== 0 && slot < this.i32[record + TR_TIER_SLOTS]!) return block + slot * TIER_THREAD_WORDS;
    if (threadId !== this.threadId) return 0;
    return this.threadTierGrow(record, slot);
  }

  /** Creates or doubles this thread's per-tier block so that `slot` fits. */
  private threadTierGrow(record: number, slot: number): number {
    this.lock();
    try {
      const old = this.i32[record + TR_TIER_WORDS]!;
      const have = old === 0 ? 0 : this.i32[record + TR_TIER_SLOTS]!;
      let slots = Math.max(TIER_THREAD_SLOTS0, have);
      while (slots <= slot) slots *= 2;
      const offset = this.metaAllocLocked(slots * TIER_THREAD_WORDS * 4);
      if (offset === 0) {
        throw new HakmemError(
          'ERR_OUT_OF_MEMORY',
          `thread ${this.threadId}'s tier words: no room for ${slots} tiers within maxBytes ${this.maxBytes}`,
        );
      }
      const block = offset >>> 2;
      if (old !== 0) this.i32.copyWithin(block, old, old + have * TIER_THREAD_WORDS);
      this.i32[record + TR_TIER_SLOTS] = slots;
      Atomics.store(this.i32, record + TR_TIER_WORDS, block);
      if (old !== 0) this.metaFreeLocked(old * 4);
      return block + slot * TIER_THREAD_WORDS;
    } finally {
      this.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Whole-heap operations

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
    this.lock();
    try {
      const hdr = this.hdr;
      const pagesByTier: number[] = [];
      let top = TIER_META;
      for (let tier = 0; tier < TIER_COUNT; tier++) if (hdr[HDR_PAGES_BY_TIER + tier] !== 0) top = tier;
      for (let tier = 0; tier <= top; tier++) pagesByTier.push(hdr[HDR_PAGES_BY_TIER + tier]!);
      let largest = 0;
      const last = this.binFindLast();
      if (last > 0)
        largest = last < EXACT_BINS ? last : this.u32[this.entryOf(this.binLargest(last)) + PM_RUN_PAGES]!;
      return {
        committedBytes: this.endPage * PAGE_SIZE,
        maxBytes: this.maxBytes,
        base: this.base,
        pagesByTier,
        freePages: pagesByTier[TIER_FREE]!,
        freeRuns: hdr[HDR_FREE_RUNS]!,
        largestFreeRunPages: largest,
        metaBytes: hdr[HDR_META_BYTES]! >>> 0,
        runAllocs: hdr[HDR_RUN_ALLOCS]! >>> 0,
        runFrees: hdr[HDR_RUN_FREES]! >>> 0,
        growths: hdr[HDR_GROWTHS]! >>> 0,
        trims: hdr[HDR_TRIMS]! >>> 0,
        threads: hdr[HDR_THREAD_LIVE]!,
        locks: mutexStats(hdr, HDR_LOCK_STATS),
      };
    } finally {
      this.unlock();
    }
  }

  /** Highest non-empty bin, 0 if none. */
  private binFindLast(): number {
    for (let w = BIN_BITMAP_WORDS - 1; w >= 0; w--) {
      const bits = this.hdr[HDR_BIN_BITMAP + w]!;
      if (bits !== 0) return (w << 5) + 31 - Math.clz32(bits);
    }
    return 0;
  }

  private binLargest(bin: number): number {
    let best = 0;
    let bestPages = 0;
    for (let head = this.hdr[HDR_BIN_HEADS + bin]!; head !== 0; ) {
      const e = this.entryOf(head);
      if (this.u32[e + PM_RUN_PAGES]! > bestPages) {
        best = head;
        bestPages = this.u32[e + PM_RUN_PAGES]!;
      }
      head = this.u32[e + PM_DESC]! & 0xffff;
    }
    return best;
  }

  /** Every run of the page map in address order: { offset, pages, tier, desc }. */
  snapshot(): ArenaRun[] {
    this.lock();
    try {
      const runs: ArenaRun[] = [];
      for (let page = this.basePage; page < this.endPage; ) {
        const e = this.entryOf(page);
        const tier = this.u32[e + PM_TIER]! & PM_TIER_MASK;
        const pages = this.u32[e + PM_RUN_PAGES]!;
        runs.push({
          offset: page * PAGE_SIZE,
          pages,
          tier,
          desc: tier === TIER_FREE ? 0 : this.u32[e + PM_DESC]!,
        });
        if (pages === 0) break;
        page += pages;
      }
      return runs;
    } finally {
      this.unlock();
    }
  }

  /**
   * A non-shared resizable ArrayBuffer shrinks to the end of its last used run; returns the
   * bytes released (0 for every other memory or when the last run is in use).
   */
  trim(): number {
    if (!memoryShrinkable(this.kind)) return 0;
    this.lock();
    try {
      const e = this.entryOf(this.endPage - 1);
      if ((this.u32[e + PM_TIER]! & PM_TIER_MASK) !== TIER_FREE) return 0;
      const head = this.u32[e + PM_HEAD_PAGE]!;
      const pages = this.endPage - head;
      this.binRemove(head, pages);
      const hdr = this.hdr;
      hdr[HDR_PAGES_BY_TIER + TIER_FREE]! -= pages;
      hdr[HDR_TRIMS]!++;
      memoryShrink(this.memory, this.kind, head * PAGE_SIZE);
      this.mapViews(head * PAGE_SIZE);
      this.endPage = head;
      Atomics.store(hdr, HDR_COMMITTED_PAGES, head);
      this.seenGrowth = Atomics.add(hdr, HDR_GROWTH, 1) + 1;
      return pages * PAGE_SIZE;
    } finally {
      this.unlock();
    }
  }
}

function tierValidateKind(kind: unknown): void {
  if (typeof kind !== 'string' || !/^[a-z][a-z0-9-]*$/.test(kind) || kind.length > TIER_KIND_MAX) {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      `tier kind ${describe(kind)} is not a name of 1 to ${TIER_KIND_MAX} characters a-z, 0-9, '-' starting with a letter`,
    );
  }
}

function tierNoRoom(kind: string, maxBytes: number): HakmemError {
  return new HakmemError(
    'ERR_OUT_OF_MEMORY',
    `tierOpen('${kind}'): no room for the tier directory within maxBytes ${maxBytes}`,
  );
}

function memoryShrinkable(kind: number): boolean {
  return kind === MEMORY_AB_RESIZABLE;
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Mix of the header's identity words; attach's scan only accepts a header whose checksum matches. */
function headerChecksum(hdr: Int32Array, magic: number): number {
  let h = Math.imul(magic ^ 0x9e3779b9, 0x85ebca6b);
  for (const word of [HDR_VERSION, HDR_HEADER_BYTES, HDR_BASE, HDR_MAX_PAGES, HDR_FLAGS, HDR_MEMORY_KIND]) {
    h = Math.imul(h ^ hdr[word]!, 0xc2b2ae35);
    h ^= h >>> 15;
  }
  return h;
}

function arenaFindHeader(buffer: ArrayBufferLike, kind: number, base: number | undefined): number {
  const length = buffer.byteLength;
  const where = `this ${memoryKindName(kind)} of ${length} bytes`;
  const candidates: number[] = [];
  if (base !== undefined) {
    if (!Number.isInteger(base) || base < 0 || base % PAGE_SIZE !== 0) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `attach: base ${describe(base)} is not a multiple of 64 KiB`,
      );
    }
    candidates.push(base);
  } else {
    for (let off = 0; off + HEADER_BYTES <= length; off += PAGE_SIZE) candidates.push(off);
  }
  let corrupted = -1;
  for (const off of candidates) {
    if (off + HEADER_BYTES > length) break;
    const hdr = new Int32Array(buffer, off, HEADER_WORDS);
    if (Atomics.load(hdr, HDR_MAGIC) !== HEAP_MAGIC || hdr[HDR_BASE] !== off) continue;
    if (hdr[HDR_VERSION] !== LAYOUT_VERSION) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `attach: the heap at offset ${off} has layout version ${hdr[HDR_VERSION]}; this @hakmem/page-arena reads layout version ${LAYOUT_VERSION} only`,
      );
    }
    if (hdr[HDR_CHECKSUM] !== headerChecksum(hdr, HEAP_MAGIC)) {
      corrupted = off;
      continue;
    }
    return off;
  }
  if (corrupted >= 0) {
    throw new HakmemError(
      'ERR_HEAP_INCOMPATIBLE',
      `attach: the heap header at offset ${corrupted} fails its checksum (overwritten options words)`,
    );
  }
  throw new HakmemError(
    'ERR_HEAP_INCOMPATIBLE',
    base !== undefined
      ? `attach: no hakmem heap header (magic 0x${HEAP_MAGIC.toString(16)}) at base ${base} of ${where}`
      : `attach: no hakmem heap in ${where}: no header with magic 0x${HEAP_MAGIC.toString(16)} at any 64 KiB boundary`,
  );
}

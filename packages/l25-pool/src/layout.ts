/**
 * # l25-pool layout
 *
 * The L2.5 tier's memory: **spans** (runs of 1 … 16 pages from `arena.allocRun`, one size class
 * each, carved into equal blocks) grouped in **shards** (one per thread id that used the tier,
 * each with its own lock), and one **cache** per thread. Every list is out of band, in
 * `arena.metaAlloc` blocks: a user block holds no allocator word, so a write after free cannot
 * break a list. Every page of a span has `PM_DESC` = byte offset of its span descriptor, so a free
 * finds its span in O(1) from `arena.pageEntry(ptr)`.
 *
 * ```
 *  span run (allocRun(pages, tier id)), e.g. 40 KiB class: 5 pages, 8 blocks, nothing left over
 *  ┌────────┬────────┬────────┬────────┬────────┬────────┬────────┬────────┐
 *  │ blk 0  │ blk 1  │ blk 2  │ blk 3  │ blk 4  │ blk 5  │ blk 6  │ blk 7  │  block i at start + i × size
 *  └────────┴────────┴────────┴────────┴────────┴────────┴────────┴────────┘
 *    every page: PM_DESC ──► span descriptor (metaAlloc, (Sp.Header + 2 × blocks) words)
 *                           ┌──────────────┬─────────────────────┬─────────────────────┐
 *                           │ header (16)  │ state[0 … blocks)   │ stack[0 … blocks)   │
 *                           └──────┬───────┴─────────────────────┴─────────────────────┘
 *                                  │ Sp.Shard                     free block indexes, Sp.Top of them
 *                                  ▼
 *  tier root ── R.ShardDir[k] ──► chunk k of 4 << k shards (metaAlloc, never freed or moved)
 *               shard: lock │ registry of its spans │ empty list │ partial list head per class
 *
 *  thread's tier word Tw.Area ──► thread area (metaAlloc): header │ record per class │ slots │ slot descriptors
 *                                 record: Count, Cap, Size, Slots ──► L25_CLASS_SLOTS[c] u32 block offsets (a stack; Cap of them in use)
 *                                 strict: slot s's block's span descriptor (i32 index) at s + SlotWord.Desc
 *
 *  one-block span (a block realloc grows): Blocks 1, Pages ≥ the block's pages (room to grow in place)
 *  ┌──────────────────────────┬ ─ ─ ─ ─ ─ ─ ─ ─ ┐
 *  │ blk 0 (class c)          │  room             resize re-classes it in place; beyond the room,
 *  └──────────────────────────┴ ─ ─ ─ ─ ─ ─ ─ ─ ┘ arena.resizeRun takes free successor pages
 * ```
 *
 * ## Tier root (`R`, ROOT_WORDS i32 words from the arena's tier directory)
 *
 * | word         | meaning                                                              | written by |
 * | ------------ | -------------------------------------------------------------------- | ---------- |
 * | DirLock (+3 stats) | mutex of the shard directory (not registered with the arena: reclaim takes it over) | mutexLock |
 * | LockReg      | 1 on a heap made before crash consistency (its locks are registered); never set now | — |
 * | NewChunk     | intent record: byte offset of a chunk of shards made, not yet published | under DirLock |
 * | ChunkHigh    | 1 + highest chunk created                                            | Atomics.store under DirLock |
 * | ShardDir + k | i32 index of chunk k (shards 4·(2^k − 1) … 4·(2^(k+1) − 1) − 1), 0 = none | Atomics.store under DirLock |
 *
 * ## Shard (`Sh`, SH_WORDS words in a chunk; shard index = thread id − 1)
 *
 * | word          | meaning                                                             |
 * | ------------- | ------------------------------------------------------------------- |
 * | Lock (+3 stats) | the shard mutex (not registered with the arena: reclaim takes it over) |
 * | Index         | its index                                                           |
 * | Spans, SpanCount, Pages | registry: every span of the shard (doubly linked), count, pages |
 * | EmptyPages    | pages of its spans with no block out (kept for reuse; beyond KEEP_EMPTY_PAGES a free that empties a span returns the one emptied longest ago to the arena) |
 * | Empty         | head of its empty list: spans a free emptied, reusable for any class (same pages: re-carved in place; more pages: shrunk with arena.resizeRun) |
 * | Partial + c   | head of class c's partial list: spans that may have a free block     |
 *
 * All shard words, and the list and count words of its spans, change only under the shard lock.
 *
 * ## Span descriptor (`Sp`, i32 words at d = descriptor offset >>> 2)
 *
 * | word        | meaning                                                                  |
 * | ----------- | ------------------------------------------------------------------------ |
 * | Start       | byte offset of the run (u32)                                             |
 * | Class, Blocks, Size, Inv, Shift, Pages | the class and its constants (Inv/Shift: block index by exact division); a one-block span has Blocks 1 and any Pages from its block's up to 16 |
 * | Shard       | i32 index of its shard (fixed for the span's life)                      |
 * | Carved      | blocks handed out at least once (block i < Carved exists; fresh ones come from this bump) |
 * | Top         | free blocks on the stack (indexes < Carved)                              |
 * | Used        | blocks out of the span: live, in a thread cache, or in flight = Carved − Top |
 * | Next, Prev, List | link in its shard's partial list of its class or in its empty list, and which (List) |
 * | RNext, RPrev | link in its shard's registry                                            |
 * | Header + i  | strict: state of block i: 0 free, (tid << 2) \| 1 in thread tid's cache, (tid << 2) \| 2 handed out by tid |
 * | Header + Blocks + j | the free stack: block indexes                                    |
 *
 * ## Thread area (`Ta`, `Cr`; metaAlloc, offset in the tier's per-thread word Tw.Area)
 *
 * Header: Thread, CachedBytes (Σ bytes of the cached blocks, ≤ the thread's budget cacheBudgetOf(maxBytes)
 * but for the one block a refill hands out at once), NewRun/NewDesc (a span being made, not yet in a
 * registry), FreeDesc (a span unlinked, its run not yet returned), Misses, DescCount/Descs (free
 * 128-byte span descriptors this thread keeps for its next spans), Grow (a one-block span whose run
 * arena.resizeRun extended before its descriptor says so). Then a record of CR_WORDS words per
 * class: Count, Cap (L25_CLASS_CACHE_CAP … L25_CLASS_SLOTS: grows fourfold after Limit.GrowOverflows
 * frees found the cache full with no refill between), Size, Slots (i32 index of its
 * L25_CLASS_SLOTS slots), Misses, Overflows; then every class's slots; then, SlotWord.Desc words
 * past each slot (an array of the same shape), the slots' descriptor words. Written only by its
 * thread, with plain stores (and by `reclaim` once the thread is dead).
 *
 * Slot descriptors (strict): the slot at i32 index s holds block p; s + SlotWord.Desc holds the
 * i32 index of p's span descriptor. A push (free into the cache, refill) writes both, then Count,
 * in one straight line. A strict malloc takes the descriptor from there instead of the page map:
 * p must be a carved block start of that span (exact division by its Start/Inv/Shift, below
 * Carved), of the record's class, whose state word says "cached by this thread" — the checks of a
 * free, with the two page-map loads replaced by one load beside the slot. A stray write into p
 * or the descriptor word names a block that fails them (not a block start of the span, another
 * class, or a state not cached by this thread); a stale slot above a corrupted Count names a live
 * or free block. Words above Count are meaningless.
 *
 * ## Invariants (checked by `check()`)
 *
 * 1. Every page of a span is a page of the tier naming the span's descriptor; the run is exactly
 *    the span's pages; every run of the tier is a span in exactly one shard registry. A span has
 *    its class's Blocks and Pages, or is a one-block span (Blocks 1, its block's pages ≤ Pages ≤ 16).
 * 2. 0 ≤ Top ≤ Carved ≤ Blocks, Used = Carved − Top; the stack holds distinct indexes < Carved.
 * 3. A span with a free block (Top > 0 or Carved < Blocks) is on its shard's partial list of its
 *    class or (Used = 0) on its empty list; a span on a list is in that shard's registry, and
 *    List says which. EmptyPages = Σ pages of the shard's spans with Used = 0.
 * 4. A cached block is a carved block start of its record's class, not on its span's stack, in
 *    one cache only; CachedBytes = Σ Count × Size; Count ≤ Cap ≤ the class's slots; strict: its
 *    descriptor word names its span.
 * 5. Strict: stacked and uncarved blocks are free; a cached block's state names its cache's
 *    thread; Used = blocks whose state is not free; no state names a thread that is not attached.
 *
 * ## Concurrency protocol
 *
 * - A thread's own malloc and free on a warm cache touch only its area and (strict) the block's
 *   span header and state word (free also reads the page map), with plain loads and stores: no
 *   Atomics, no lock. A block is the thread's own when its state says it handed it out (strict);
 *   in fast mode every free may go to the freeing thread's cache.
 * - Everything that changes a span's stack, counts, lists or (strict) the state of a block not in
 *   the caller's hands holds its shard's lock: refills (the home shard, else stealing from another
 *   shard's partial or empty spans, else a new span), frees that do not fit the cache, frees of
 *   another thread's block (so of two racing frees one finds the state "handed out" and the other
 *   ERR_DOUBLE_FREE), spills, reclaim. No thread holds two shard locks.
 * - Stealing reads other shards' list heads with plain loads (a hint), then takes their lock.
 * - realloc growth in place (resize) changes a one-block span's class under its shard lock, in one
 *   straight-line step (off a partial list it may still be on, new constants, Pages, Ta.Grow
 *   cleared). When it needs more pages, arena.resizeRun extends the run first (Ta.Grow names the
 *   span meanwhile) and setPageDesc names the new pages; `reclaim` gives a dead thread's half-grown
 *   span the pages its run has. Only the block's owner resizes it; its class constants change
 *   while no other thread may use the block.
 * - Lock order: DirLock, then the arena mutex (a chunk of shards is made under it). No arena call
 *   is made while a shard lock is held: a span is made (allocRun, metaAlloc, setPageDesc) before
 *   it is registered, shrunk (resizeRun) and released (freeRun, metaFree) after it is unregistered.
 * - Termination safety: every move of a block between a stack and a cache, and every list change,
 *   is straight-line code inside one function — no call, no loop, and no Atomics call either (a
 *   worker is terminated at interrupt points, and V8 takes them inside Atomics calls too: measured,
 *   1 kill in 10 lands right after an Atomics.add) — so a worker terminated at an interrupt point
 *   leaves consistent structures; a span between the arena and a registry is named by
 *   NewRun/NewDesc or FreeDesc of its thread's area, and `reclaim` finishes the move (below).
 * - Left open, as in the tiny tier: a double free by the owner racing another thread's free of the
 *   same block at the same instant; it surfaces as ERR_HEAP_CORRUPTED when the block is taken again,
 *   never as a block handed out twice. And a worker terminated inside an arena call (allocRun,
 *   freeRun, resizeRun, metaAlloc run loops under the arena mutex) leaves the arena to survive it.
 *
 * ## Crash consistency (issue 9: a thread terminated at any instant, reclaimed by another)
 *
 * A worker is terminated where its code can be interrupted: a call, a loop iteration, an Atomics
 * operation (a lock's wait included), never between two plain stores of straight-line code.
 * Development builds mark those places `crashPoint(section)` (sections: chunk, create, refill,
 * spill, free, release, shrink, grow, solo) and test/crash.test.ts stops a worker at each of them
 * in turn, both modes. Each update, in order:
 *
 * - Locks: DirLock and the shard locks are not registered with the arena (breakLocksOf would hand
 *   them to the first waiter). `reclaim` (repair.ts, first step) takes each one the dead thread
 *   holds over in place (CAS dead id → own id, waiters flag kept), repairs, unlocks; then it wakes
 *   every thread asleep on any l25 lock (Atomics.notify, all): a thread terminated after an
 *   unlock's notify woke it takes that wakeup with it, and the other sleepers would wait on a
 *   free lock for good — the soak's hang (workers stuck in 735–989 KB mallocs).
 * - Shard repair (a lock taken over): the registry is the truth for which spans exist
 *   (spanRegister, spanUnregister: straight line); per span, strict: the free stack, Top and Used
 *   are rebuilt from the block states; fast: Used = Carved − Top. A span with no block out
 *   becomes fresh (Carved = Top = 0, states and stack zero) on the empty list, one with a free
 *   block goes on its class's partial list; SpanCount, Pages, EmptyPages are recounted.
 * - Chunk of shards (DirLock): metaAlloc → R.NewChunk in the straight line after the call; shard
 *   indexes; Atomics.store of ShardDir[k] and NewChunk = 0 in one straight line; ChunkHigh. The
 *   repair frees an unpublished chunk and raises ChunkHigh to the published chunks.
 * - Refill (shard lock): each block moves stack → the thread's cache record in one straight line
 *   (spanTakeOne: Top or Carved, Used, EmptyPages, strict state = cached, slot and its
 *   descriptor word, Count, CachedBytes), so the cache record is the batch's intent record: a
 *   reclaim flushes it. A re-carve (spanRecarve) first makes the empty span fresh (Carved = Top =
 *   0; the zero fill is a call), then changes class and lists in one straight line.
 * - Spill, flush and frees into a span (shard lock): spanReturn links the span to its partial list
 *   if on none (a span on a list with no free block is allowed), then moves the block cache or
 *   user → stack in one straight line (strict: its state checked and freed in it). A remote free
 *   is one such move: no intent record is needed; a strict one found "live" moves or not at all.
 * - Span creation: allocRun → NewRun, descriptor (thread's cache → NewDesc in one straight line,
 *   or metaAlloc → NewDesc after the call), header, page map, then (shard lock) the registry,
 *   partial list and NewRun = NewDesc = 0 in one straight line. A reclaim frees the run while its
 *   head page names the descriptor (or none yet) and the descriptor.
 * - Span release (shard lock): spanUnregister unlinks and counts and sets FreeDesc in one
 *   straight line; after the unlock, freeRun, then the descriptor into the thread's cache with
 *   FreeDesc = 0 in one straight line, or FreeDesc = 0 then metaFree. A reclaim frees the run
 *   while its head page still names the descriptor, then the descriptor.
 * - Shrink (spanShrink): FreeDesc (unregistered); resizeRun; FreeDesc → NewRun/NewDesc in one
 *   straight line; re-carve; then the creation's registration. Grow: Ta.Grow = d; resizeRun;
 *   page map; (shard lock) re-class and Grow = 0 in one straight line. A reclaim gives the span
 *   the pages its run has.
 * - Not covered: a thread dying inside the metaFree of a released descriptor (after FreeDesc = 0)
 *   leaks it (128 B): the arena finishes a metaFree it died in, so freeing it again could free it
 *   twice. A thread dying as a waiter of the *arena* mutex can likewise take its wakeup along:
 *   that is the arena's to repair (breakLocksOf), not this tier's.
 */
import { L25_CLASS_COUNT } from './size-classes';

/** Tier root words. */
export const enum R {
  DirLock = 0,
  DirLockStats = 1,
  /** 1 on heaps whose DirLock and shard locks were registered with the arena (made before layout crash consistency); never set now. */
  LockReg = 4,
  ChunkHigh = 5,
  /** Intent record of a chunk of shards being made (DirLock): its byte offset until published. */
  NewChunk = 6,
  ShardDir = 8,
}
/** Words of the tier root block (asked of the arena's tier directory). */
export const ROOT_WORDS = 128;
/** Chunks the shard directory can name (4 · (2^24 − 1) shards: never the limit). */
export const SHARD_DIR_WORDS = 24;
/** log2 of the shards in chunk 0. */
export const SHARD_CHUNK0_SHIFT = 2;

/** Shard words. */
export const enum Sh {
  Lock = 0,
  LockStats = 1,
  Index = 4,
  Spans = 5,
  SpanCount = 6,
  EmptyPages = 7,
  Pages = 8,
  Empty = 9,
  Partial = 16,
}
/** Words of a shard. */
export const SH_WORDS = 80;

/** Span descriptor words. */
export const enum Sp {
  Start = 0,
  Class = 1,
  Shard = 2,
  Blocks = 3,
  Size = 4,
  Inv = 5,
  Shift = 6,
  Pages = 7,
  Carved = 8,
  Top = 9,
  Used = 10,
  Next = 11,
  Prev = 12,
  List = 13,
  RNext = 14,
  RPrev = 15,
  Header = 16,
}

/** Which list of its shard a span is on (Sp.List). */
export const enum List {
  None = 0,
  /** Its class's partial list. */
  Partial = 1,
  /** The shard's list of empty spans (no block out), reusable for any class. */
  Empty = 2,
}

/** Block states (strict): free, or the thread id << 2 with one of these kinds. */
export const enum Bs {
  Free = 0,
  Cached = 1,
  Live = 2,
  KindMask = 3,
}

/** Thread area header words. */
export const enum Ta {
  Thread = 0,
  CachedBytes = 1,
  NewRun = 2,
  NewDesc = 3,
  FreeDesc = 4,
  Misses = 5,
  /** Descriptors kept for reuse (DESC_CACHE_SLOTS slots from Descs). */
  DescCount = 6,
  /** A span whose run this thread is growing in place (resize): its run may be longer than its Pages until the move ends. */
  Grow = 7,
  Descs = 8,
  Header = 16,
}
/** Span descriptors of DESC_BYTES a thread keeps for its next spans (saves two arena-mutex round trips per span). */
export const DESC_CACHE_SLOTS = 8;
/** metaAlloc size of every descriptor of a span of ≤ 8 blocks (every class ≥ 32 KiB): the ones worth recycling. */
export const DESC_BYTES = 128;

/** Cache record words (CR_WORDS per class after the area header). */
export const enum Cr {
  Count = 0,
  Cap = 1,
  Size = 2,
  Slots = 3,
  Misses = 4,
  /** Frees that found the cache full since its last refill (or growth): at Limit.GrowOverflows, Cap grows. */
  Overflows = 5,
}

/**
 * Strict: the span descriptor (i32 index) of the block in the cache slot at i32 index `slot` is at
 * slot + SlotWord.Desc, an array of every class's slots after the slots (the distance: the slots
 * of all classes, pinned in cache.ts).
 */
export const enum SlotWord {
  Desc = 1656,
}
export const CR_WORDS = 8;

/** Shifts: a block state's thread id (state = tid << Shift.Tid | kind); a class's cache record (records + (cls << Shift.Record)). */
export const enum Shift {
  Tid = 2,
  Record = 3,
}

/** The tier's per-thread words (arena.threadTierWords(tier, thread) + …). */
export const enum Tw {
  /** Byte offset of the thread's area. */
  Area = 0,
}

/** Limits the slow paths test (a const enum: inlined as literals). */
export const enum Limit {
  /** Overflows of a class's cache with no refill between before its capacity grows. */
  GrowOverflows = 4,
}
/** Bytes a thread's cache may hold at least … */
export const CACHE_BUDGET_BYTES = 4 * 1024 * 1024;
/** … and at most; in between, a share of maxBytes (1/CACHE_BUDGET_SHARE). */
export const CACHE_BUDGET_MAX_BYTES = 64 * 1024 * 1024;
export const CACHE_BUDGET_SHARE = 64;

/** Bytes a thread's cache may hold in a heap of `maxBytes`: maxBytes / 64, within 4 … 64 MiB. */
export function cacheBudgetOf(maxBytes: number): number {
  return Math.min(
    CACHE_BUDGET_MAX_BYTES,
    Math.max(CACHE_BUDGET_BYTES, Math.floor(maxBytes / CACHE_BUDGET_SHARE)),
  );
}
/**
 * Room a span made for a block that realloc moves gets (GROW_ROOM × its size, at most
 * SPAN_MAX_PAGES pages), so the next growth steps stay in place.
 */
export const GROW_ROOM = 4;
/** Pages of empty spans a shard keeps (a free that empties a span beyond them returns it to the arena). */
export const KEEP_EMPTY_PAGES = 64;

/**
 * Version of this layout, recorded with the tier in the arena's tier directory (tierOpen /
 * tierFind / tierExpect): a heap recorded by another version is ERR_HEAP_INCOMPATIBLE. Version 2:
 * one-block spans of any class with room to grow (Blocks 1, Pages ≥ the block's), thread areas
 * with L25_CLASS_SLOTS slots per class and a growing Cap, Ta.Grow, Cr.Overflows. Version 3: a
 * span descriptor word beside each cache slot (SlotWord.Desc), which strict malloc reads instead of
 * the page map.
 */
export const L25_LAYOUT_VERSION = 3;

/** A handle that detached: its record and area indexes read as undefined, so fast paths miss. */
export const DETACHED = -(2 ** 30);

// The layout is pinned: the root, shard and record words must fit their blocks.
if (R.ShardDir + SHARD_DIR_WORDS > ROOT_WORDS) {
  throw new Error('l25-pool layout: tier root overflow');
}
if (Ta.Descs + DESC_CACHE_SLOTS > Ta.Header) throw new Error('l25-pool layout: thread area header overflow');
if (Sh.Partial + L25_CLASS_COUNT > SH_WORDS) throw new Error('l25-pool layout: shard overflow');
if (CR_WORDS !== 1 << Shift.Record || Cr.Overflows >= CR_WORDS)
  throw new Error('l25-pool layout: record overflow');

/**
 * # mid-registry layout
 *
 * The mid tier's memory: **spans**, runs of 1 – 5 pages of 64 KiB from the page arena, each
 * carved into blocks of one size class (four classes per doubling from 1 KiB to 32 KiB, and the
 * tiny tier's classes below 1 KiB for the small sizes a composition may route here). All
 * metadata is out of band, in `arena.metaAlloc` blocks: every page of a span has `PM_DESC` =
 * byte offset of the span's descriptor, so a free finds its span in O(1) from
 * `arena.pageEntry(ptr)`. A **registry** (an array that doubles, no maximum but memory) lists
 * every span for check, stats, trim and reclaim.
 *
 * ```
 *  span run (allocRun(pages, tier id); pages from the class table, fewer when no such run fits):
 *  ┌──────────┬──────────┬──────────┬─── … ───┬──────────┬──────┐
 *  │ block 0  │ block 1  │ block 2  │         │ block n−1│ tail │   blocks at start + i × size
 *  └──────────┴──────────┴──────────┴─── … ───┴──────────┴──────┘
 *   every page: PM_DESC ──► span descriptor (metaAlloc, 128 B, 64-byte aligned)
 *  ┌──────────────────────────────┬──────────────────────────────────────┐
 *  │ header: SP_HEADER_WORDS = 18 │ inline bitmaps: 7 × (alloc, remote)   │  (≤ 224 blocks)
 *  └──────────────────────────────┴──────────────────────────────────────┘
 *   SP_BITMAP ─► the inline words, or a 1 KiB metaAlloc block for spans of > 224 blocks (classes ≤ 256 B)
 *
 *  tier root (ROOT_WORDS) ── R_REG ──► registry: [descriptor i32 index] × R_REG_COUNT (capacity R_REG_CAP, doubles)
 *  thread tier words ── TW_SPANS ──► thread area (metaAlloc): partial / full / spare spans per class
 *                    ── TW_CACHE ──► @hakmem/tls-cache area (the cache in front)
 * ```
 *
 * ## Span descriptor (i32 words at `d = descriptorOffset >>> 2`)
 *
 * | word        | meaning                                                          | written by |
 * | ----------- | ---------------------------------------------------------------- | ---------- |
 * | SP_OWNER    | owner thread id; 0 = abandoned                                    | Atomics: store on create/abandon, CAS 0 → id on adopt, CAS dead → id on reclaim |
 * | SP_CLASS    | size class                                                        | creator, once |
 * | SP_START    | first byte of the run (u32, 64 KiB aligned)                       | creator, once |
 * | SP_FREE     | local free list head (u32 block offset, 0 = empty)                | owner, plain |
 * | SP_REMOTE   | remote-free list head                                             | Atomics: CAS push by any thread, exchange take-all by the owner |
 * | SP_USED     | blocks out of the span: live + in a thread cache + remote-pending | owner, plain |
 * | SP_CARVED   | blocks carved so far (lazy carving: block i < carved exists)      | owner, plain |
 * | SP_INV      | the class's MID_CLASS_INV (block index by exact division)         | creator, once |
 * | SP_BITMAP   | strict: i32 index of the bitmaps (inline or metaAlloc)            | creator, once |
 * | SP_SHIFT    | the class's MID_CLASS_SHIFT                                       | creator, once |
 * | SP_CAP      | blocks the span holds (fewer than the class's nominal on a short run) | creator, once |
 * | SP_STATE    | SPAN_PARTIAL / _FULL / _ABANDONED / _DETACHED / _SPARE             | owner, or the tier lock holder for abandoned spans |
 * | SP_NEXT/PREV| link in the owner's partial or full list, or the abandoned list (NEXT only) | owner / tier lock |
 * | SP_PAGES    | pages of the run                                                  | creator, once |
 * | SP_REG      | its index in the registry                                         | tier lock |
 * | SP_COLLECT  | a remote list the owner took and has not yet moved to SP_FREE (0 = none): reclaim finds it here if the owner died collecting | owner, plain |
 *
 * Free blocks: the first u32 word holds the next block (0 ends the list), in the local list,
 * the remote list and the thread caches alike.
 *
 * ## Strict bitmaps (safety 'strict')
 *
 * Alloc word k at SP_BITMAP + 2k, remote word k at SP_BITMAP + 2k + 1 (one line holds both bits
 * of a block). Alloc bit i: block i is with a user or waiting in the remote list; written by the
 * owner only, plain. Remote bit i: block i was freed by another thread and is in the remote list;
 * Atomics.or by the freeing thread, Atomics.and by the owner when it collects the list.
 *
 * ## Tier root (ROOT_WORDS i32 words, the root block of the tier directory entry)
 *
 * | word          | meaning                                                        |
 * | ------------- | -------------------------------------------------------------- |
 * | R_LOCK        | the tier mutex (mutexLock; registered with the arena once)      |
 * | R_LOCK_STATS  | its 3 statistics words                                          |
 * | R_REG         | i32 index of the registry array (metaAlloc; 0 before the first span) |
 * | R_REG_CAP     | entries the array holds (REG_CAP0, doubled when full)            |
 * | R_REG_COUNT   | spans in the registry                                           |
 * | R_CACHE_ROOT  | offset of @hakmem/tls-cache's global block for this tier's cache |
 * | R_LOCK_REG    | unused (the tier mutex is no longer registered with the arena)  |
 * | R_PAGES       | pages of all registered spans                                   |
 * | R_REG_NEW     | intent record of a registry growth: the new array until published |
 * | R_MAKE_RUN/DESC/BITMAP | intent record of a span creation: what it got, until registered |
 * | R_FREE_SPAN   | intent record of a span release: its descriptor until its run is freed |
 * | R_ABANDONED+c | head of class c's abandoned-span list (tier lock; Atomics.load as a hint) |
 *
 * ## Thread area (metaAlloc, offset in the tier's per-thread word TW_SPANS)
 *
 * | word               | meaning                                                         |
 * | ------------------ | --------------------------------------------------------------- |
 * | TS_THREAD          | owner thread id                                                 |
 * | TS_PARTIAL + c     | head of class c's partial list (spans that may have free blocks; the head is current) |
 * | TS_FULL + c        | head of class c's full list (spans found exhausted)              |
 * | TS_FULL_COUNT + c  | its length                                                      |
 * | TS_FULL_CURSOR + c | where the next bounded scan of the full list for remote frees starts |
 * | TS_SPARE_PAGES     | pages of all the thread's kept empty spans (the TS_SPARE lists)     |
 * | TS_REFILL_HEAD/COUNT | intent record of a refill: the chain taken from the spans so far |
 * | TS_SPARE + c       | head of class c's kept empty spans (linked by SP_NEXT, SP_PREV 0; LIFO), 0 = none |
 * | TS_FREEING         | strict: intent record of a remote free (the block)               |
 *
 * Written only by its thread (and by `reclaim` once the thread is dead).
 *
 * ## The owned-span map (thread-private, not in shared memory)
 *
 * Each `MidSpans` handle keeps an Int32Array of two entries per page of maxBytes: [2p] the
 * descriptor's i32 index of the span this thread owns at page p (0 = not this thread's),
 * [2p + 1] its class. Set when the thread creates or adopts a span, cleared when it releases or
 * abandons one: a free of its own block knows "mine, this span, this class" with two adjacent
 * loads and no shared word.
 *
 * ## Invariants (checked by `check()`)
 *
 * 1. Every run of the tier is exactly one registered span: PM_DESC of each of its pages names the
 *    descriptor, SP_START / SP_PAGES match the run, SP_REG is its registry index; the registry
 *    holds R_REG_COUNT distinct spans and R_PAGES = Σ SP_PAGES.
 * 2. A PARTIAL / FULL span is owned by a live thread and is in exactly that list of its owner's
 *    area; a SPARE span is in its owner's TS_SPARE list of its class and has used 0 (the
 *    thread's TS_SPARE_PAGES = Σ their pages); an ABANDONED span has
 *    owner 0 and is in the abandoned list of its class.
 * 3. used = carved − (local free list length); every listed block is in the span, on the class
 *    grid, below carved, and listed once (local, remote or a thread cache).
 * 4. Strict: alloc bits = live + remote-pending = used − cached; remote bits = the remote list;
 *    no bit at or beyond carved.
 * 5. The threads' live counts per class (tls-cache) equal used − cached − remote over the spans.
 *
 * ## Concurrency protocol
 *
 * - A thread's own malloc/free touch only its cache words and (strict) its spans' bitmap words,
 *   with plain loads and stores: no Atomics.
 * - Remote free: (strict) Atomics.or the remote bit (already set → ERR_DOUBLE_FREE), Atomics.load
 *   the alloc bit (clear → undo, ERR_DOUBLE_FREE); then CAS-push on SP_REMOTE. The owner takes the
 *   whole list with one Atomics.exchange (push + take-all has no ABA problem) and clears each
 *   block's alloc bit before its remote bit, so a second free racing the collection finds one of
 *   the two and is ERR_DOUBLE_FREE.
 * - The tier mutex guards the registry, R_PAGES, the abandoned lists, and every span creation and
 *   release (the run, its descriptor, its pages' PM_DESC and its registry entry change together
 *   under it), so a thread that holds it sees no span half made — except one a dead thread left,
 *   which `reclaim` frees (`spanReclaimOrphans`).
 * - Lock order: tier mutex, then the arena mutex (allocRun/freeRun/metaAlloc) — never the reverse.
 * - SP_OWNER changes from an id to 0 only by that thread (abandon) and from 0 or a dead id to an
 *   id by CAS, so a thread that reads its own id there (even plainly) owns the span.
 * - Termination safety: every change of a list is straight-line code (no call, no loop between
 *   its stores), so a worker terminated at an interrupt point leaves consistent lists; a batch is
 *   linked first and published with one store. Strict reclaim rebuilds a dead thread's span lists
 *   from the alloc bitmaps.
 *
 * ## Crash consistency (issue 9: a thread terminated at any instant, reclaimed by another)
 *
 * A worker is terminated where its code can be interrupted: a call, a loop iteration, an
 * Atomics operation (the tier mutex's wait included), never between two plain stores of
 * straight-line code. Development builds mark those places `crashPoint(section)` (sections:
 * create, destroy, abandon, adopt, trim, collect, refill, spill, remote-free) and
 * test/crash.test.ts stops a worker at each of them in turn. Each update, in order:
 *
 * - The tier mutex is not registered with the arena (breakLocksOf would hand it to the first
 *   waiter, who would run on a half-done section). Every reclaim takes it — over from the dead
 *   thread in place when it holds it (CAS dead id → own id, waiters flag kept) — and runs
 *   `midRepair` before unlocking: the root's intent records are finished or undone, then
 *   SP_REG, R_PAGES and the abandoned lists are recomputed from the registry and the
 *   descriptors (every registered span of owner 0 is ABANDONED and listed). Truth: the
 *   registry (which spans exist), SP_OWNER (whose they are).
 * - Span creation (tier lock): registry growth (below); allocRun → R_MAKE_RUN, metaAlloc →
 *   R_MAKE_DESC, → R_MAKE_BITMAP, each stored in the straight line after its call; descriptor
 *   words; SP_OWNER; PM_DESC of each page; registryInsert clears the record in its straight
 *   line. midRepair frees what the record names (the run while the page map still gives it to
 *   the tier), so a span is registered complete or not at all.
 * - Registry growth: metaAlloc → R_REG_NEW; copy; R_REG, R_REG_CAP and R_REG_NEW = 0 in one
 *   straight line; metaFree of the old array. midRepair frees an unpublished new array.
 * - Span release (tier lock): R_FREE_SPAN = d; registryRemove (straight line); freeRun;
 *   R_FREE_SPAN = 0; metaFree of the bitmap and descriptor. midRepair finishes it: the entry
 *   removed if still registered, the run freed if the page map still names d.
 * - Abandon (tier lock): SP_STATE, SP_NEXT/PREV, SP_OWNER = 0 (decisive), the list head.
 *   Adopt and trim's takeover (tier lock): CAS SP_OWNER 0 → self (decisive), SP_STATE, then
 *   the list head. Before the decisive store the span is the dead thread's (reclaim takes it
 *   over by SP_OWNER, found through the registry); after it, midRepair lists it right.
 * - The thread's own lists (partial, full, spare) are not trusted by a reclaim: every span whose
 *   SP_OWNER is the dead thread is taken over and recounted (strict: from the alloc bitmap;
 *   fast: used = carved − the local list, cut at a link that is no block of the span).
 * - Refill: each piece leaves its span (SP_FREE or SP_CARVED, SP_USED) and joins the intent
 *   record TS_REFILL_HEAD/COUNT in one straight line; the record is cleared in the straight
 *   line that returns the chain to the cache, which lists it with no interrupt point between.
 *   A reclaim gives the record's blocks back to their spans.
 * - Spill (the cache's chain back to the spans): @hakmem/tls-cache's spill record
 *   (`spillProgress`); each block goes onto its span's local list, SP_USED − 1 and leaves the
 *   record in one straight line, then list upkeep (full → partial, retire, release).
 * - Remote-list collection: Atomics.exchange takes the chain and SP_COLLECT = head in the same
 *   straight line; validation; strict: each block's alloc then remote bit cleared; the splice,
 *   SP_USED and SP_COLLECT = 0 in one straight line. A reclaim finishes it (spanRecoverCollect).
 * - Strict remote free: TS_FREEING = block, Atomics.or of the remote bit, alloc-bit check, CAS
 *   push, TS_FREEING = 0 (in the straight line of the successful CAS, or before an error). A
 *   reclaim that finds TS_FREEING set clears the remote bit: the push did not happen, the block
 *   stays live (in flight). The freeing thread's live count drops in the CAS's straight line.
 *   A fast remote free is a single CAS.
 * - Not covered: a thread dying inside the metaFree of a released span's descriptor and bitmap,
 *   or of the old registry array, leaks that block (128 B, 1 KiB, the array) — the arena
 *   finishes a metaFree it died in, so freeing it again could free it twice.
 */
import { TIER_THREAD_WORDS } from '@hakmem/page-arena';

// Span descriptor words.
export const SP_OWNER = 0;
export const SP_CLASS = 1;
export const SP_START = 2;
export const SP_FREE = 3;
export const SP_REMOTE = 4;
export const SP_USED = 5;
export const SP_CARVED = 6;
export const SP_INV = 7;
export const SP_BITMAP = 8;
export const SP_SHIFT = 9;
export const SP_CAP = 10;
export const SP_STATE = 11;
export const SP_NEXT = 12;
export const SP_PREV = 13;
export const SP_PAGES = 14;
export const SP_REG = 15;
export const SP_COLLECT = 16;
/** Words of the descriptor header (word 17 unused, so the bitmap pairs start on an even word); the inline bitmaps follow. */
export const SP_HEADER_WORDS = 18;
/** Bytes of a descriptor: header + 7 alloc/remote word pairs (one metaAlloc class). */
export const SPAN_DESC_BYTES = 128;
/** Blocks the inline bitmaps cover. */
export const INLINE_BITMAP_BLOCKS = ((SPAN_DESC_BYTES / 4 - SP_HEADER_WORDS) / 2) * 32;
/** Bytes of an out-of-line bitmap pair (covers 4096 blocks: a one-page span of 16 B blocks). */
export const BITMAP_BYTES = 1024;

// Span states.
/** In its owner's partial list. */
export const SPAN_PARTIAL = 1;
/** In its owner's full list. */
export const SPAN_FULL = 2;
/** In the abandoned list of its class, owner 0. */
export const SPAN_ABANDONED = 3;
/** Owned but in no list (being moved, reclaimed or released). */
export const SPAN_DETACHED = 4;
/** Empty, kept by its owner in the TS_SPARE list of its class. */
export const SPAN_SPARE = 5;

// Tier root words.
export const R_LOCK = 0;
export const R_LOCK_STATS = 1; // 3 words
export const R_REG = 4;
export const R_REG_CAP = 5;
export const R_REG_COUNT = 6;
export const R_CACHE_ROOT = 7;
/** Unused since the tier mutex is taken over by reclaim instead of broken by the arena (kept: a heap may have it set). */
export const R_LOCK_REG = 8;
export const R_PAGES = 9;
/** Intent record of a registry growth: i32 index of the new array until it is published (tier lock). */
export const R_REG_NEW = 10;
/** Intent record of a span creation (tier lock): its run, until registered … */
export const R_MAKE_RUN = 11;
/** … its descriptor's byte offset … */
export const R_MAKE_DESC = 12;
/** … its out-of-line bitmap's byte offset. */
export const R_MAKE_BITMAP = 13;
/** Intent record of a span release (tier lock): its descriptor's i32 index until its run is freed. */
export const R_FREE_SPAN = 14;
export const R_ABANDONED = 16;

/**
 * Version of this layout, recorded with the tier in the arena's tier directory (tierOpen /
 * tierFind / tierExpect): a heap recorded by another version is ERR_HEAP_INCOMPATIBLE.
 * 2: the thread area's TS_SPARE words head lists of kept empty spans, TS_SPARE_PAGES counts them.
 */
export const MID_LAYOUT_VERSION = 2;

/** Size classes of the tier (size-classes.ts lists them). */
export const CLASS_COUNT = 40;

// Thread area words.
export const TS_THREAD = 0;
export const TS_SPARE_PAGES = 1;
/** Intent record of a refill: head of the chain taken from the spans so far … */
export const TS_REFILL_HEAD = 2;
/** … and its length (0: no refill in flight). */
export const TS_REFILL_COUNT = 3;
export const TS_PARTIAL = 4;
export const TS_FULL = TS_PARTIAL + CLASS_COUNT;
export const TS_FULL_COUNT = TS_FULL + CLASS_COUNT;
export const TS_FULL_CURSOR = TS_FULL_COUNT + CLASS_COUNT;
export const TS_SPARE = TS_FULL_CURSOR + CLASS_COUNT;
/** Strict: intent record of a remote free, the block (from its remote bit to its push). */
export const TS_FREEING = TS_SPARE + CLASS_COUNT;
/** Words of a thread area. */
export const TS_WORDS = TS_FREEING + 1;

/** Entries of the first registry array (1 KiB); it doubles when full. */
export const REG_CAP0 = 256;
/** Full spans looked at for remote frees before a new span is made. */
export const FULL_SCAN_STEP = 8;

/** Words of the tier root block (asked of the arena's tier directory). */
export const ROOT_WORDS = 64;

// The tier's per-thread words (arena.threadTierWords(tier, thread) + …).
/** Byte offset of the thread's span area. */
export const TW_SPANS = 0;
/** Byte offset of the thread's tls-cache area (the cache in front of the spans). */
export const TW_CACHE = 1;

/**
 * Per-thread byte budget of the cache in front (its capacities add up to at most this), in a
 * heap of at least CACHE_SHARE_BUDGET times it; a smaller heap gives 1/32 of maxBytes (≥ 256 KiB).
 * Larger budgets measured slower on a churn of 1 – 32 KiB blocks (4 MiB: ~+25 %, 8 MiB: ~+35 %
 * per pair), while one hot class already gets its CACHE_CLASS_BYTES within this one.
 */
export const CACHE_BUDGET_BYTES = 2 * 2 ** 20;
export const CACHE_SHARE_BUDGET = 32;
/**
 * Most bytes one class of the cache may grow to: 1,024 × 1 KiB (also the count cap), 256 ×
 * 4 KiB, 32 × 32 KiB; in a heap of less than CACHE_SHARE_CLASS times it, 1/128 of maxBytes
 * (≥ 64 KiB).
 */
export const CACHE_CLASS_BYTES = 2 ** 20;
export const CACHE_SHARE_CLASS = 128;
/**
 * Most bytes of empty spans a thread keeps for reuse beyond one per class (always kept), in a
 * heap of at least SPARE_SHARE times it; a smaller heap keeps 1/64 of maxBytes. trim() and a
 * malloc that finds no room give them back.
 */
export const SPARE_KEEP_BYTES = 2 * 2 ** 20;
export const SPARE_SHARE = 64;

/** The cache's byte budget per thread in a heap of `maxBytes`. */
export function midCacheBudget(maxBytes: number): number {
  const share = Math.floor(maxBytes / CACHE_SHARE_BUDGET / 65536) * 65536;
  return Math.min(CACHE_BUDGET_BYTES, Math.max(256 * 1024, share));
}

/** The cache's per-class byte cap in a heap of `maxBytes`. */
export function midCacheClassBytes(maxBytes: number): number {
  const share = Math.floor(maxBytes / CACHE_SHARE_CLASS / 65536) * 65536;
  return Math.min(CACHE_CLASS_BYTES, Math.max(65536, share));
}

/** Pages of empty spans a thread keeps beyond one per class, in a heap of `maxBytes`. */
export function midSpareKeepPages(maxBytes: number): number {
  return Math.floor(Math.min(SPARE_KEEP_BYTES, maxBytes / SPARE_SHARE) / 65536);
}

// The layout is pinned: the root words must fit the root block, the thread words their slot.
if (R_ABANDONED + CLASS_COUNT > ROOT_WORDS) throw new Error('mid-registry layout: tier root overflow');
if (TW_CACHE >= TIER_THREAD_WORDS) throw new Error('mid-registry layout: thread words overflow');
if (INLINE_BITMAP_BLOCKS !== 224) throw new Error('mid-registry layout: inline bitmap size');

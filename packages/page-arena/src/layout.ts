/**
 * # page-arena layout
 *
 * ## Files
 *
 * - `layout.ts`: this map of the memory, every word and constant of it, and the layout's pins.
 * - `arena.ts`: class `Arena`, one thread's handle: fields, format/attach, views (refresh,
 *   pageEntry, setPageDesc), the arena mutex, and the public methods (each a call into the files below).
 * - `header.ts`: writing the header at format, its checksum, finding it at attach.
 * - `bins.ts`: the free-run bins (two-level bitmap, doubly linked lists through PM_DESC) and best fit.
 * - `runs.ts`: runs in the page map: marking, taking and releasing (coalescing) pages; allocRun,
 *   freeRun, resizeRun.
 * - `growth.ts`: growing the memory (policy, new page-map leaves, publication) and trim's shrink.
 * - `meta.ts`: metaAlloc/metaFree, the out-of-band metadata allocator (a slab allocator over META pages).
 * - `threads.ts`: the thread registry, per-thread tier words, registered lock words and their breaking.
 * - `tiers.ts`: the tier directory (id → kind, size range, root block).
 * - `stats.ts`: stats() and snapshot().
 * - `check.ts`: check(), every invariant below.
 * - `repair.ts`: the intent record and the repair breakLocksOf runs ("Crash consistency");
 *   `registry.ts`: the registry intent record and its repair; `crash.ts`: development builds'
 *   crash points.
 * - `mutex.ts`, `memory.ts`, `options.ts`, `errors.ts`: the lock word, the memory kinds, format's
 *   options, HakmemError. `tier.ts`, `run-tier.ts`: the tier contract and the page-run tier.
 *
 * Everything the arena knows lives in the managed memory, so any thread (or any `Arena` instance
 * over the same memory) sees the same heap. Pointers are absolute byte offsets; pages are
 * numbered absolutely (`page = ptr >>> PAGE_SHIFT`). Page numbers are < 65536 (maxBytes ≤ 4 GiB),
 * so a byte offset is `page * PAGE_SIZE` (never `page << 16`, which overflows int32).
 *
 * ```
 *  0            base (64 KiB aligned)                                        committed   maxBytes
 *  | not ours    | header page (META) | runs of 64 KiB pages ...               |  (grows) |
 *                  [0,16K) header, [16K,64K) three 16 KiB metaAlloc blocks (the first page-map leaf, two spare)
 * ```
 *
 * ## Header (i32 words, index relative to the header start `H = base >> 2`)
 *
 * | word            | name                  | written by / how                              |
 * | --------------- | --------------------- | --------------------------------------------- |
 * | 0               | HDR_MAGIC             | format, Atomics.store last (publishes the heap) |
 * | 1               | HDR_VERSION           | format (LAYOUT_VERSION)                        |
 * | 2               | HDR_HEADER_BYTES      | format                                         |
 * | 3               | HDR_BASE              | format (u32 byte offset of the header)         |
 * | 4               | HDR_MAX_PAGES         | format (maxBytes / PAGE_SIZE, ≤ 65536)         |
 * | 5               | HDR_FLAGS             | format (FLAG_SHARED, FLAG_STRICT)              |
 * | 6               | HDR_MEMORY_KIND       | format (MEMORY_* below)                        |
 * | 7               | HDR_CHECKSUM          | format (mix of words 0-6, guards the base scan of attach) |
 * | 8               | HDR_TIER_DIR          | i32 index of the tier directory (metaAlloc, doubles when full), 0 = none yet (under the lock) |
 * | 9               | HDR_TIER_COUNT        | tiers in the directory (ids TIER_FIRST … TIER_FIRST + count − 1; under the lock; Atomics.load outside) |
 * | 10              | HDR_TIER_CAP          | directory entries allocated (under the lock)   |
 * | 12              | HDR_GROWTH            | Atomics.add by the grower, after memory and page map are ready |
 * | 13              | HDR_COMMITTED_PAGES   | Atomics.store under the arena lock; Atomics.load by anyone |
 * | 14              | HDR_LOCK              | the arena mutex (Atomics, see mutex.ts)        |
 * | 15-17           | HDR_LOCK_STATS        | acquisitions, contended acquisitions, Atomics.wait calls (plain, by the lock holder) |
 * | 18-23           | HDR_FREE_RUNS … HDR_META_BYTES | counters (plain, under the lock)      |
 * | 24-28           | HDR_INTENT_*          | the lock holder's intent record: op, operands A-D (plain, under the lock; "Crash consistency") |
 * | 32-35           | HDR_THREAD_*          | thread registry: high-water id, free-id list head, live count, chunk count (under the lock) |
 * | 36-38           | HDR_LOCKREG_*         | lock words registered for breakLocksOf: i32 index of an array from metaAlloc (doubles when full), count, capacity (under the lock) |
 * | 40-44           | HDR_REG_*             | the lock holder's registry intent record: op, operands A-D (plain, under the lock; "Crash consistency") |
 * | 48-79           | HDR_THREAD_DIR        | i32 index of thread-record chunk k (chunk k holds 64 << k records) |
 * | 80-92           | HDR_META_HEADS        | first META page (page + 1, 0 = none) of each class's list of pages with a free block, classes 16 B … 64 KiB |
 * | 96-159          | HDR_LEAF_DIR          | u32 index of page-map leaf L (pages L*1024 … L*1024+1023), 0 = none yet |
 * | 160-161         | HDR_BIN_SUMMARY       | bit w set ⇔ bitmap word w ≠ 0                   |
 * | 162-194         | HDR_BIN_BITMAP        | bit b set ⇔ free-run bin b is non-empty         |
 * | 196-1251        | HDR_BIN_HEADS         | first free run (page number) of bin b, 0 = empty |
 * | 1280-1535       | HDR_PAGES_BY_TIER     | pages per tier id 0..255 (plain, under the lock) |
 *
 * All words not marked Atomics are written only while holding the arena mutex; the mutex's
 * Atomics operations order them. Readers outside the lock (stats of a running heap) may see
 * stale values; every figure is exact when the heap is quiescent.
 *
 * ## Page map
 *
 * Two levels. `HDR_LEAF_DIR` holds 64 leaf indexes (4 GiB / 64 MiB). A leaf is 1024 entries of
 * 4 u32 words (16 KiB, a metaAlloc block of class 16 KiB) and is created when the committed memory
 * first reaches its range. Entry of page p: `u32[dir[p >>> 10] + ((p & 1023) << 2)]`:
 *
 * | word          | allocated run (tier ≥ 2, META)             | free run (TIER_FREE)                         |
 * | ------------- | ------------------------------------------ | -------------------------------------------- |
 * | PM_TIER       | tier, + PM_FLAG_HEAD on the first page     | 0 on every page, + PM_FLAG_HEAD on the first page |
 * | PM_HEAD_PAGE  | first page (every page)                    | first page (first and last page)              |
 * | PM_RUN_PAGES  | length (first page)                        | length (first and last page: boundary tags)   |
 * | PM_DESC       | tier-owned descriptor (0 after allocRun); META: `class | used << 5 | firstFree << 18` ("metaAlloc"), 0 for a run from metaAlloc(> 64 KiB) | first page: free-list links `prev << 16 | next` (page numbers, 0 = none; FREE_LINK_SHIFT, FREE_LINK_MASK) |
 *
 * Page 0 is never the head of a free run (it is below base or it is the header page), so 0 is
 * the null link.
 *
 * ## Free runs
 *
 * Bins 1..1023 hold free runs of exactly that many pages; bins 1024..1030 hold runs of
 * [2^k, 2^(k+1)) pages for k = 10..16. A two-level bitmap (HDR_BIN_SUMMARY over HDR_BIN_BITMAP)
 * finds the first non-empty bin ≥ b with two Math.clz32 steps. Runs in a log bin are at least
 * 1024 pages (64 MiB), so all log bins together hold at most 64 runs; allocating from them
 * searches that bin for the smallest fit.
 *
 * Complexity (n = free runs, p = pages of the run being allocated or freed):
 * - allocRun: O(1) bin search + O(64) worst case in a log bin, O(p) page-map stores;
 * - freeRun: O(1) validation and coalescing (boundary tags), O(p) page-map stores;
 * - resizeRun: O(1) + O(Δp) stores; growth: O(new pages) stores (the memory itself is zeroed
 *   by the engine);
 * - pageEntry: two loads, no lock; metaAlloc/metaFree: O(1) (O(block) zero fill; a page taken or
 *   returned is an allocRun/freeRun of one page);
 * - threadAttach/threadRelease/threadRecord: O(1); check/snapshot: O(pages + free runs + meta blocks).
 *
 * ## Growth
 *
 * Under the lock: grow by max(needed, (committed − base pages) / 8) pages, capped at maxBytes
 * (a WebAssembly.Memory that refuses is asked again for exactly the needed pages). Leaves for the
 * new range come from spare 16 KiB blocks (free blocks of class 16 KiB), else from a free page
 * elsewhere (best fit), else from a page carved from the new range (its first page, or its last
 * when resizeRun needs the first free; its blocks used in order, the rest fresh). The rest of the
 * new range is freed, coalescing with the last free run.
 *
 * ## metaAlloc
 *
 * A slab allocator. Classes 16 B … 64 KiB: a META page is split into blocks of one class; above
 * 64 KiB: a run of META pages (PM_DESC META_DESC_RUN = 0). Blocks are zero-filled when handed out.
 * A META page of a class (n = 64 KiB >> class blocks) keeps its state in two places:
 *
 * - its PM_DESC: `class | used << META_DESC_USED_SHIFT | firstFree << META_DESC_FREE_SHIFT` — the
 *   class log2 (bits 0-4), the blocks handed out (bits 5-17) and its first free block (index + 1,
 *   0 = none; bits 18-30). One store of this word commits every pop and push.
 * - the words of its first free block (every class has at least 4):
 *
 * | word          | meaning                                                                      |
 * | ------------- | ---------------------------------------------------------------------------- |
 * | MB_NEXT       | next free block, index + 1 (0 = none); every free block has it, but the fresh one |
 * | MB_PREV_PAGE  | previous page on its class's list (page + 1, 0 = none)                       |
 * | MB_NEXT_PAGE  | next page on that list (page + 1, 0 = none)                                  |
 * | MB_FRESH      | the fresh index f: blocks [f, n) were never handed out since the page was taken |
 *
 * A page's free blocks are its list (MB_NEXT from firstFree) up to the fresh block f, then every
 * block from f on: a list reaches f when f < n and ends with 0 when f = n. So a new page costs no
 * per-block writes. The pages of a class with a free block form a doubly linked list from
 * HDR_META_HEADS (its state words move with the page's first free block; neighbours name pages,
 * not blocks). metaAlloc pops the first free block of the class's first page (the next free block
 * takes over the state words, or the page leaves the list when it was its last), else takes a
 * page (one page's allocRun, the page's state set up at once). metaFree pushes the block onto its
 * page (it takes over the state words, or the page joins its class's list), or — when it was the
 * page's last block handed out — returns the page to the free runs (coalescing). The header page
 * (header and first leaf handed out) and a page holding a leaf (never freed) are never empty.
 *
 * ## Crash consistency
 *
 * A thread may die (worker.terminate()) at any instant, also holding the arena mutex. The
 * survivor's reclaim calls `breakLocksOf(id)`, which takes the mutex over from the dead owner by
 * one CAS (so nobody runs between the break and the repair), repairs, and unlocks. What the mutex
 * guards is of two kinds:
 *
 * - **The page map's runs** (PM_TIER with its head flag, PM_HEAD_PAGE and PM_RUN_PAGES of
 *   allocated runs, META pages' class), the leaf directory, the metaAlloc lists: the source of
 *   truth. Every multi-step update of them first writes the **intent record** (operands, then
 *   the op; cleared when the update is complete), and the repair finishes or undoes it:
 *
 *   | op (A, B, C, D)                  | written by                                 | repair                              |
 *   | -------------------------------- | ------------------------------------------ | ----------------------------------- |
 *   | TAKE (head, pages, tier)         | allocRun, a META run, a META page's take   | undone: the pages free              |
 *   | RELEASE (head, pages, tier)      | freeRun, metaFree of a META run or of a page's last block | finished: the pages free |
 *   | RESIZE (head, old, new, tier)    | resizeRun (shrink, or grow into a successor) | grow undone, shrink finished: the run keeps min(old, new) pages, the rest free |
 *   | META_PAGE (page, –, class)       | metaAlloc's new page (TAKE turns into it), a growth's spare-leaf page | undone: the page free |
 *   | META_POP (block, –, class)       | metaAlloc from a page with a free block    | undone: back on its page's free list unless on it |
 *   | META_PUSH (block, –, class)      | metaFree of a block its page keeps         | finished: on its page's free list unless on it |
 *   | GROW (from, to)                  | growth                                     | HDR_COMMITTED_PAGES = to: finished (HDR_GROWTH published); else undone (new leaves out of the directory, spare blocks back on their page's free list unless on it, the memory grown but uncommitted) |
 *
 *   Orders that make these repairs exact: a run's pages are marked after the bins are updated,
 *   its head last; a META page's pop and push write the block's words (and the class lists)
 *   first and commit with the one store of PM_DESC, so a page's free list and used count always
 *   agree; a page's last block is released under RELEASE after the page left its class list; a
 *   growth publishes a leaf in the directory before popping its block from a spare page, writes
 *   the entries (PM_DESC, fresh index) of pages carved from the new range before the commit
 *   (HDR_COMMITTED_PAGES, an Atomics.store), lists the carved page after it, then bumps
 *   HDR_GROWTH; a free page taken for spare leaves is its own complete step (TAKE → META_PAGE,
 *   ended) before the growth's. A multi-step operation (allocRun that grows, then takes) is a
 *   sequence of such steps, each complete before the next begins: a crash leaves the completed ones.
 * - **Derived state**: free runs' boundary tags, head flags and links, coalescing, the bins, their
 *   bitmaps, HDR_FREE_RUNS and HDR_PAGES_BY_TIER; the metaAlloc class lists (HDR_META_HEADS,
 *   MB_PREV_PAGE, MB_NEXT_PAGE) and the pages' used counts. The repair rebuilds all of it after
 *   the intent is settled — each META page's used count from its free list (a bounded walk), an
 *   empty META page (a release in flight, spare leaves never used) freed, the class lists
 *   relinked; then from the page map every maximal range of free pages one free run
 *   (arenaRebuildFreeRuns) —, O(pages + META blocks), so their stores need no order.
 *
 * - **The thread registry, the tier directory, the lock registry and per-thread tier words**:
 *   their updates call metaAlloc/metaFree (steps of the arena's own record) between their writes,
 *   so they have a second record, the **registry intent** (HDR_REG_*, registry.ts), written the
 *   same way. A block an update takes comes from metaAllocRecorded, which stores its offset into
 *   an operand before its own step ends — so a crash leaves it undone by the arena's repair or
 *   named by the operand; the repair frees a named block only if it is still handed out. After
 *   the arena's repair, breakLocksOf's repair settles this record, then rebuilds the free-id list
 *   and the live count from the records' states (TR_STATE is the source of truth):
 *
 *   | op (A, B, C, D)                     | written by                       | repair                                  |
 *   | ----------------------------------- | -------------------------------- | --------------------------------------- |
 *   | THREAD_CHUNK (k, chunk)             | threadAttach's new registry chunk | HDR_THREAD_CHUNKS > k: finished; else undone (directory word cleared, chunk freed) |
 *   | THREAD_ATTACH (id)                  | threadAttach (owner LOCK_OWNER_ANON) | undone: the slot free                 |
 *   | THREAD_RELEASE (id, tier block)     | threadRelease                    | finished: the tier block freed, the slot free — but a slot the dead thread released for itself while another thread had claimed it stays claimed (that claimer's threadRelease frees it) |
 *   | TIER_WORDS (record, new, old, slots) | threadTierWords' grow            | published (TR_TIER_WORDS = new): old freed; else undone (slots back, new freed) |
 *   | TIER_DIR (new, old, capacity)       | tierOpen doubling the directory  | published: capacity set, old freed; else new freed |
 *   | TIER_ROOT (id, root)                | tierOpen adding a tier           | HDR_TIER_COUNT counts it: finished; else undone (entry zeroed, root freed) |
 *   | LOCK_ARRAY (new, old, capacity)     | registerLock doubling its array  | as TIER_DIR                             |
 *
 *   Orders: a new array or block is filled, then published (the array word, then its capacity;
 *   TR_TIER_SLOTS, then TR_TIER_WORDS), then the old one freed; a tier's entry is written whole
 *   before the count that publishes it; registerLock writes the entry before the count (no
 *   record: every prefix is valid). threadAttach runs under the mutex as LOCK_OWNER_ANON (the id
 *   is not known yet): a thread dying inside it is repaired by breakLocksOf(LOCK_OWNER_ANON). A
 *   thread dying in threadRelease after its state went free still holds the mutex under its id:
 *   threadClaim says so, breakLocksOf(id) repairs.
 *
 * Not covered: the stats counters (HDR_META_BYTES, …) may be off by the operation in flight; a
 * thread dying between its last store and its unlock leaves a complete update. Development
 * builds count a crash point before every shared store of these updates (crash.ts,
 * `debugCrashPoints`); test/crash.test.ts stops a worker at each one and reclaims it.
 *
 * ## Tier directory
 *
 * Tier ids are the page map's 8-bit tier field: TIER_FREE (0), TIER_META (1), then one id per
 * tier in the order tiers were opened (TIER_FIRST = 2 … TIER_LAST = 255). The directory is an
 * array of TD_WORDS-word entries from metaAlloc (capacity 8, doubled when full; the old array is
 * freed after the new one is published under the lock). Entry of id t at `dir + (t − TIER_FIRST) × TD_WORDS`:
 *
 * | word       | meaning                                                                 |
 * | ---------- | ----------------------------------------------------------------------- |
 * | TD_KIND    | 4 words: the tier's kind name, ASCII, zero-padded (≤ 16 characters)     |
 * | TD_MIN/MAX | the request sizes the composition gives it (inclusive)                 |
 * | TD_ROOT    | i32 index of its root block (metaAlloc, zero-filled, owned by the tier) |
 * | TD_ROOT_WORDS | words of that block                                                  |
 * | TD_VERSION | layout version of the layer that opened it (its root, lists and blocks); |
 * |            | a layer meeting another version is ERR_HEAP_INCOMPATIBLE, naming both    |
 *
 * A tier's per-thread words: TIER_THREAD_WORDS words per tier id in a per-thread block (metaAlloc)
 * named by the thread record's TR_TIER_WORDS (capacity in tiers at TR_TIER_SLOTS). Only the
 * thread itself creates or grows its block (under the lock, published with Atomics.store);
 * others read it (reclaim, check). threadRelease frees it.
 *
 * ## Thread records
 *
 * Chunk k of the registry (from metaAlloc, 64 << k records of 16 words) is named by
 * HDR_THREAD_DIR[k]; id i lives in chunk floor(log2((i − 1) / 64 + 1)). Free ids form a LIFO list
 * through TR_NEXT_FREE; new ids raise HDR_THREAD_HIGH.
 *
 * A reclaim claims a slot with no lock (the dead thread may hold them all): a claim token — the
 * claimer's id and generation, one 64-bit Atomics word at TR_CLAIM — goes in by CAS (from 0, or
 * from the token of a claimer that is gone: its slot free, being reclaimed, or of another
 * generation), then TR_STATE goes live → reclaiming by CAS. So of two reclaims one goes on, and a
 * reclaimer that died mid-reclaim does not leave the slot reclaiming for good: the next claim
 * takes it over. threadAttach zeroes the token; threadRelease leaves it.
 *
 * ## Invariants (checked by `check()`)
 *
 * 1. The header page `base >>> 16` is a META run of one page, metaAlloc class 16 KiB, whose
 *    first block is the header.
 * 2. The pages [basePage, committed) are covered exactly once by runs; every page has a leaf.
 * 3. No two free runs are adjacent (coalescing is complete); every free run is in exactly the
 *    bin of its length, bitmap and summary bits equal "bin non-empty", links are consistent.
 * 4. HDR_PAGES_BY_TIER and HDR_FREE_RUNS equal what the page map says.
 * 5. metaAlloc pages: each page's free list is a bounded, loop-free list of its own blocks that
 *    ends at its fresh index; its used count is its blocks minus its free ones, and ≥ 1 (an empty
 *    page is returned); the header block and leaves are not free; each class's list holds exactly
 *    its pages with a free block, once, with consistent back links.
 * 6. Thread records: state ∈ {0,1,2}; the free-id list holds exactly the ids ≤ high-water in
 *    state 0; live count = ids in state ≠ 0; registry chunks and tier-words blocks are metaAlloc
 *    memory; the registry intent record is settled (no update in flight).
 * 7. Tier directory: count ≤ capacity, count ≤ TIER_LAST − TIER_FIRST + 1, kinds distinct and
 *    non-empty, min ≤ max, every root inside the committed memory.
 *
 * ## Concurrency protocol
 *
 * - The arena mutex (HDR_LOCK) guards runs, bins, the page map's tier/head/length words, growth,
 *   metaAlloc and the thread registry. Its word holds the owner's thread id (LOCK_OWNER_ANON
 *   before threadAttach), plus LOCK_WAITERS when a thread sleeps on it.
 * - Growth (under the lock): grow the buffer, create leaves, write the page map, then
 *   Atomics.store(HDR_COMMITTED_PAGES) and Atomics.add(HDR_GROWTH). A thread that sees a new
 *   growth value (Atomics.load in refresh) rebuilds its views over [0, committed).
 * - PM_DESC of an allocated run's pages is written by the tier owning the run (setPageDesc),
 *   with plain stores; the tier orders them with its own protocol.
 * - pageEntry reads the directory and the leaf with plain loads: the directory entry of a
 *   committed page never changes after it is published by the growth counter.
 * - TR_STATE and TR_GENERATION of thread records: Atomics; TR_CLAIM: Atomics on a BigUint64 view.
 */

/** log2 of the page size. */
export const PAGE_SHIFT = 16;
/** Page size: 64 KiB, one WebAssembly page. */
export const PAGE_SIZE = 65536;
/** Bumped on any change of this layout; attach refuses another version. */
export const LAYOUT_VERSION = 4;
/** 'HAKM' little-endian. */
export const HEAP_MAGIC = 0x4d4b4148;
/** The largest maxBytes: 4 GiB (page numbers fit in 16 bits). */
export const MAX_BYTES_LIMIT = 2 ** 32;
/** Pages of the largest heap. */
export const MAX_PAGES_LIMIT = MAX_BYTES_LIMIT / PAGE_SIZE;

// Tier ids (low 8 bits of page-map word 0).
/** Free run owned by the arena. */
export const TIER_FREE = 0;
/** Header, page-map leaves, metaAlloc pages. */
export const TIER_META = 1;
/** The first id the tier directory hands out. */
export const TIER_FIRST = 2;
/** The last tier id the page map's 8-bit field can hold. */
export const TIER_LAST = 255;
/** Tier ids are 0..TIER_COUNT-1. */
export const TIER_COUNT = 256;
/** Mask of the tier id in PM_TIER. */
export const PM_TIER_MASK = 0xff;

// Page-map entry: 4 u32 words at index arena.pageEntry(ptr) in arena.u32.
export const PM_TIER = 0;
export const PM_HEAD_PAGE = 1;
export const PM_RUN_PAGES = 2;
export const PM_DESC = 3;
export const PM_FLAG_HEAD = 0x100;
/** PM_DESC of a free run's first page is `prev << FREE_LINK_SHIFT | next` (page numbers, 0 = none). */
export const FREE_LINK_SHIFT = 16;
/** Mask of `next` in a free run's link word. */
export const FREE_LINK_MASK = 0xffff;
/** u32 words per page-map entry. */
export const PM_ENTRY_WORDS = 4;
/** Pages covered by one leaf (log2). */
export const LEAF_SHIFT = 10;
/** Pages covered by one leaf. */
export const LEAF_PAGES = 1 << LEAF_SHIFT;
/** Bytes of one leaf: 1024 entries × 16 bytes. */
export const LEAF_BYTES = LEAF_PAGES * PM_ENTRY_WORDS * 4;
/** Directory entries: 4 GiB / 64 MiB. */
export const LEAF_DIR_WORDS = MAX_PAGES_LIMIT / LEAF_PAGES;

// Thread record: THREAD_RECORD_WORDS i32 words at arena.threadRecord(id) in arena.i32.
export const THREAD_RECORD_WORDS = 16;
/** Atomics: 0 free, 1 live, 2 being reclaimed (claimed by CAS from live; released to free). */
export const TR_STATE = 0;
export const THREAD_FREE = 0;
export const THREAD_LIVE = 1;
export const THREAD_RECLAIMING = 2;
/** Atomics: incremented at each attach of this slot. */
export const TR_GENERATION = 1;
/** Arena-internal: next id on the free-id list (state 0 only). */
export const TR_NEXT_FREE = 2;
/** Written only by the thread itself: ownsBuffer's probe (a token written through a buffer, read back through the arena's view). */
export const TR_PROBE = 3;
/** Atomics: i32 index of the thread's per-tier words block (0 = none yet). */
export const TR_TIER_WORDS = 4;
/** Tiers that block has room for. */
export const TR_TIER_SLOTS = 5;
/**
 * Words 6-7, one 64-bit Atomics word (BigUint64): the claim token of a reclaim — the claimer's
 * thread id (low 32 bits; LOCK_OWNER_ANON for an instance without a slot) and that slot's
 * generation (high 32 bits); 0 = unclaimed. Zeroed by threadAttach.
 */
export const TR_CLAIM = 6;
/** Words each tier gets per thread. */
export const TIER_THREAD_WORDS = 4;
/** Tier slots of a thread's first per-tier block. */
export const TIER_THREAD_SLOTS0 = 8;
/** Records in the first registry chunk (log2); chunk k holds 64 << k records. */
export const THREAD_CHUNK0_SHIFT = 6;
/** Chunks the directory can name (64 · (2^32 − 1) records: never the limit). */
export const THREAD_DIR_WORDS = 32;

// Tier directory entries.
export const TD_KIND = 0;
/** Words of the kind name (16 ASCII characters). */
export const TD_KIND_WORDS = 4;
export const TD_MIN = 4;
export const TD_MAX = 5;
export const TD_ROOT = 6;
export const TD_ROOT_WORDS = 7;
/** The layout version of the layer that opened the tier (its own format of root and blocks). */
export const TD_VERSION = 8;
/** Words of a directory entry (words 9 … 11 reserved, zero). */
export const TD_WORDS = 12;
/** Entries of the first directory array. */
export const TIER_DIR_CAP0 = 8;
/** Longest tier kind name. */
export const TIER_KIND_MAX = TD_KIND_WORDS * 4;

// The mutex word.
/** Set in a lock word while some thread sleeps (or is about to sleep) on it. */
export const LOCK_WAITERS = 1 << 31;
/** Mask of the owner id in a lock word. */
export const LOCK_OWNER_MASK = 0x7fffffff;
/** Owner id used by an Arena instance that has no thread slot (before threadAttach). */
export const LOCK_OWNER_ANON = 0x7fffffff;
/** Lock statistics words at statsIndex: acquisitions, contended acquisitions, waits. */
export const LOCK_STATS_WORDS = 3;
export const LS_ACQUIRES = 0;
export const LS_CONTENDED = 1;
export const LS_WAITS = 2;

// metaAlloc classes: 16 B (2^4) … 64 KiB (2^16).
export const META_MIN_SHIFT = 4;
export const META_MAX_SHIFT = 16;
export const META_CLASSES = META_MAX_SHIFT - META_MIN_SHIFT + 1;
/** PM_DESC of a META page that is a whole run from metaAlloc (> 64 KiB) or an internal run. */
export const META_DESC_RUN = 0;
/** PM_DESC of a META page of one class, bits 0-4: the class log2 (META_MIN_SHIFT … META_MAX_SHIFT). */
export const META_DESC_CLASS_MASK = 0x1f;
/** PM_DESC bits 5-17: blocks of the page handed out (1 … blocks; 0 only inside an update). */
export const META_DESC_USED_SHIFT = 5;
/** PM_DESC bits 18-30: the page's first free block, index + 1 (0 = none free). */
export const META_DESC_FREE_SHIFT = 18;
/** Mask of the used count and of the first-free field (0 … 4096). */
export const META_DESC_FIELD_MASK = 0x1fff;
// Words of a META page's first free block (every class has ≥ 4 words): the page's slab state.
/** Next free block of the page, index + 1 (0 = none); not read in the block at the fresh index. */
export const MB_NEXT = 0;
/** Previous page of the class's list of pages with a free block, page + 1 (0 = none). */
export const MB_PREV_PAGE = 1;
/** Next page of that list, page + 1 (0 = none). */
export const MB_NEXT_PAGE = 2;
/** The fresh index: blocks [fresh, blocks) were never handed out since the page was taken (free, unlinked). */
export const MB_FRESH = 3;
/** Class of the header page and of page-map leaves. */
export const META_LEAF_SHIFT = 14;

// Free-run bins.
/** Bins 1..EXACT_BINS-1 hold runs of exactly that many pages. */
export const EXACT_BINS = 1024;
/** Log bins: EXACT_BINS + k - 10 for runs of [2^k, 2^(k+1)) pages, k = 10..16. */
export const BIN_COUNT = 1056;
export const BIN_BITMAP_WORDS = BIN_COUNT >>> 5;
export const BIN_SUMMARY_WORDS = 2;

// Header words (i32 index relative to the header start).
export const HDR_MAGIC = 0;
export const HDR_VERSION = 1;
export const HDR_HEADER_BYTES = 2;
export const HDR_BASE = 3;
export const HDR_MAX_PAGES = 4;
export const HDR_FLAGS = 5;
export const HDR_MEMORY_KIND = 6;
export const HDR_CHECKSUM = 7;
export const HDR_TIER_DIR = 8;
export const HDR_TIER_COUNT = 9;
export const HDR_TIER_CAP = 10;
export const HDR_GROWTH = 12;
export const HDR_COMMITTED_PAGES = 13;
export const HDR_LOCK = 14;
export const HDR_LOCK_STATS = 15;
export const HDR_FREE_RUNS = 18;
export const HDR_RUN_ALLOCS = 19;
export const HDR_RUN_FREES = 20;
export const HDR_GROWTHS = 21;
export const HDR_TRIMS = 22;
export const HDR_META_BYTES = 23;
/** The lock holder's intent record (see "Crash consistency"): op, then its operands. */
export const HDR_INTENT_OP = 24;
export const HDR_INTENT_A = 25;
export const HDR_INTENT_B = 26;
export const HDR_INTENT_C = 27;
export const HDR_INTENT_D = 28;
export const HDR_THREAD_HIGH = 32;
export const HDR_THREAD_FREE = 33;
export const HDR_THREAD_LIVE = 34;
export const HDR_THREAD_CHUNKS = 35;
export const HDR_LOCKREG_ARRAY = 36;
export const HDR_LOCKREG_COUNT = 37;
export const HDR_LOCKREG_CAP = 38;
/** The registry intent record (see "Crash consistency"): op, then its operands A … D. */
export const HDR_REG_OP = 40;
export const HDR_REG_A = 41;
export const HDR_REG_B = 42;
export const HDR_REG_C = 43;
export const HDR_REG_D = 44;
export const HDR_THREAD_DIR = 48;
export const HDR_META_HEADS = 80;
export const HDR_LEAF_DIR = 96;
export const HDR_BIN_SUMMARY = 160;
export const HDR_BIN_BITMAP = 162;
export const HDR_BIN_HEADS = 196;
export const HDR_PAGES_BY_TIER = 1280;
export const HEADER_WORDS = HDR_PAGES_BY_TIER + TIER_COUNT;
export const HEADER_BYTES = HEADER_WORDS * 4;

// Intent ops (HDR_INTENT_OP); the operands A … D per op are in "Crash consistency" above.
/** No multi-step update of the page map or the metaAlloc lists in progress. */
export const INTENT_NONE = 0;
/** Taking pages [A, A + B) of a free run for a tier (allocRun, a META run): undone. */
export const INTENT_TAKE = 1;
/** Releasing the run [A, A + B) (freeRun, metaFree of a run or of a META page's last block): finished. */
export const INTENT_RELEASE = 2;
/** resizeRun of the run at A from B to C pages, tier D: undone. */
export const INTENT_RESIZE = 3;
/** META page A being made a page of class C (metaAlloc's new page, a growth's spare-leaf page): undone, the page freed. */
export const INTENT_META_PAGE = 4;
/** Popping block A of class C from its page (metaAlloc): undone (back on its page's free list unless it is on it). */
export const INTENT_META_POP = 5;
/** Pushing block A of class C onto its page's free list (metaFree): finished (pushed unless it is on it). */
export const INTENT_META_PUSH = 6;
/** Growing the committed pages from A to B: finished once HDR_COMMITTED_PAGES is B, else undone. */
export const INTENT_GROW = 7;

// Registry intent ops (HDR_REG_OP); the operands per op are in "Crash consistency" above.
/** No multi-step update of the thread registry, the tier directory or the lock registry in progress. */
export const REG_NONE = 0;
/** Adding thread-registry chunk A (block B once metaAlloc has it): finished once HDR_THREAD_CHUNKS > A, else undone. */
export const REG_THREAD_CHUNK = 1;
/** threadAttach of slot A: undone (the slot free). */
export const REG_THREAD_ATTACH = 2;
/** threadRelease of slot A (its tier-words block B): finished. */
export const REG_THREAD_RELEASE = 3;
/** Thread record A's tier-words block replaced: new block B, old block C of D tiers; finished once published, else undone. */
export const REG_TIER_WORDS = 4;
/** The tier directory replaced by block A (old B, capacity C): finished once published, else undone. */
export const REG_TIER_DIR = 5;
/** Adding tier id A with root block B: finished once HDR_TIER_COUNT counts it, else undone. */
export const REG_TIER_ROOT = 6;
/** The lock registry array replaced by block A (old B, capacity C): finished once published, else undone. */
export const REG_LOCK_ARRAY = 7;

// HDR_FLAGS bits.
export const FLAG_SHARED = 1;
export const FLAG_STRICT = 2;

// HDR_MEMORY_KIND values.
export const MEMORY_SAB_GROWABLE = 1;
export const MEMORY_SAB_FIXED = 2;
export const MEMORY_WASM_SHARED = 3;
export const MEMORY_WASM = 4;
export const MEMORY_AB_RESIZABLE = 5;
export const MEMORY_AB_FIXED = 6;

// Defaults.
export const DEFAULT_INITIAL_BYTES = 4 * 2 ** 20;
export const DEFAULT_MAX_BYTES = 2 ** 30;

// The layout is pinned: these fail the build's first import if someone moves a field into another.
if (HDR_LEAF_DIR + LEAF_DIR_WORDS > HDR_BIN_SUMMARY) throw new Error('layout: leaf directory overlaps bins');
if (HDR_META_HEADS + META_CLASSES > HDR_LEAF_DIR) throw new Error('layout: meta heads overlap');
if (HDR_THREAD_DIR + THREAD_DIR_WORDS > HDR_META_HEADS) throw new Error('layout: thread dir overlaps');
if (HDR_BIN_BITMAP + BIN_BITMAP_WORDS > HDR_BIN_HEADS) throw new Error('layout: bitmap overlaps heads');
if (HDR_BIN_HEADS + BIN_COUNT > HDR_PAGES_BY_TIER) throw new Error('layout: bins overlap tier page counts');
if (HEADER_BYTES > 1 << META_LEAF_SHIFT) throw new Error('layout: header exceeds its 16 KiB block');

/** Free-run bin of a run of `pages` pages. */
export function binOf(pages: number): number {
  return pages < EXACT_BINS ? pages : EXACT_BINS + (31 - Math.clz32(pages)) - LEAF_SHIFT;
}

/**
 * # bigcache layout
 *
 * The big tier's memory: every block is one run of whole 64 KiB pages from the page arena,
 * taken under the tier's id (so the page map names the tier on every page of it). A freed run
 * is not given back at once: it waits in a **cache of freed runs** in shared memory, any
 * thread's free feeds it and any thread's malloc takes from it. All metadata is out of band
 * (nothing is written into a block, live or cached), so a write after free cannot break a link.
 *
 * ```
 *  page runs (allocRun(pages, tier id)), 64 KiB aligned:
 *  ┌────────── live run ──────────┬──── cached run ────┬─ free (arena) ─┬──── cached run ────┐
 *  │ PM_DESC(head) = live desc    │ PM_DESC = node | 1 │                │ PM_DESC = node | 1 │
 *  └──────────────────────────────┴─────────┬──────────┴────────────────┴─────────┬──────────┘
 *                                           ▼                                     ▼
 *  cache nodes (32 B each, in chunks from metaAlloc; a chunk's first 32 B are its header):
 *  ┌────────┬──────┬──────┬──────┬─ … ┐   RUN PAGES STAMP NEXT PREV NEWER OLDER STATE
 *  │ header │ node │ node │ node │    │   bucket lists (NEXT/PREV, one per size bucket) and the
 *  └───┬────┴──────┴──────┴──────┴─ … ┘   age list (NEWER/OLDER, oldest first) run through them
 *      └─► next chunk                      free nodes are linked through NEXT (R_NODE_FREE)
 *
 *  tier root (ROOT_WORDS i32 words, the root block of the tier directory entry):
 *  lock · lock stats · busy · clock · counters · age list ends · node pool · bitmap · bucket heads
 * ```
 *
 * ## PM_DESC of a run's head page (written with arena.setPageDesc, under the tier lock)
 *
 * | value                        | meaning                                                          |
 * | ---------------------------- | ---------------------------------------------------------------- |
 * | 0                            | live; usable size = the whole run (requests above 1 MiB)         |
 * | (size << 2) \| D_SMALL       | live, requested `size` ≤ 1 MiB: usable = min(run, max(roundUp(size, 16), ⌈1.25 size⌉)) |
 * | nodeByteOffset \| D_CACHED   | in the cache; the node's byte offset (a multiple of 32)          |
 *
 * Other pages of the run keep PM_DESC 0 (as allocRun leaves them).
 *
 * ## Tier root (i32 words at `root = arena.tierInfo(id).root`)
 *
 * | word            | meaning                                                                       |
 * | --------------- | ----------------------------------------------------------------------------- |
 * | R_LOCK          | the tier mutex (mutexLock, registered with the arena for breakLocksOf)        |
 * | R_LOCK_STATS    | its 3 statistics words                                                        |
 * | R_LOCK_REG      | 1 once the lock word is registered                                            |
 * | R_BUSY          | id of the thread inside the critical section, 0 outside (see recovery)        |
 * | R_CLOCK         | the tier's age clock: +1 on every malloc and free (wraps; ages are differences) |
 * | R_CACHED_PAGES / R_CACHED_RUNS | pages and runs in the cache                                    |
 * | R_LIVE_BLOCKS / R_LIVE_BYTES   | live blocks, Σ usableSize (u32)                                |
 * | R_HITS / R_MISSES / R_EVICTIONS / R_REPAIRS | counters (u32, wrap)                              |
 * | R_AGE_HEAD / R_AGE_TAIL | oldest / newest cached node (i32 index, 0 = none)                     |
 * | R_NODE_FREE     | free node list head (i32 index, 0 = none)                                    |
 * | R_CHUNKS / R_CHUNK_COUNT / R_NODES | chunk list head (i32 index), chunks, nodes in all chunks   |
 * | R_RESERVED      | Σ A_RESERVED of the thread caches (pages of the byte bound they hold)          |
 * | (word 22)       | unused (0)                                                                    |
 * | R_RUNS          | runs of this tier in the page map (allocRun +1, freeRun −1)                   |
 * | R_INTENT …      | the live-count intent record: R_INTENT (1 = open), COUNTERS (the pair it changes), RUN, PAGES, BLOCKS / BYTES (the pair without the run) |
 * | R_BITMAP + w    | bit b of word w set ⇔ bucket 32w + b is non-empty (BUCKET_WORDS words)        |
 * | R_BUCKETS + b   | head node of bucket b (i32 index, 0 = empty)                                 |
 *
 * ## Buckets
 *
 * A cached run of `p` pages is in bucket `bucketOf(p)`: exact below 8 pages, then 8 log-spaced
 * buckets per doubling (each spans 1/8 of its power of two) up to 65535 pages: 112 buckets. A
 * malloc of `n` pages walks bucket(n) for the smallest run ≥ n (stopping at an exact fit), else
 * takes the smallest run of the next non-empty bucket (found with the bitmap). A run at most
 * n/8 pages larger than needed is taken whole; a larger one is cut to n pages
 * (`arena.resizeRun`, the tail goes back to the arena and coalesces).
 *
 * ## Bounds (nothing has a fixed capacity)
 *
 * - bytes: at most maxBytes / 8 in the cache, thread caches included (oldest runs evicted
 *   first); a larger run is never cached; before a malloc would return 0, this thread's cache
 *   and the shared cache go back and it tries again, and every other thread is asked for its
 *   cache (see Thread caches).
 * - age: a run not reused within AGE_LIMIT mallocs and frees of the tier is evicted.
 * - nodes: chunks of 1 KiB, doubling to 64 KiB, added from metaAlloc when the free list is
 *   empty (no node: the run goes straight back to the arena); trim() returns them.
 * Evicted runs go back with `arena.freeRun`, so they coalesce with their free neighbours.
 *
 * ## Thread caches (local.ts; opt-in: BigTierOptions.threadCache)
 *
 * Each thread keeps up to LOCAL_SLOTS runs it freed in its own area (metaAlloc, AREA_BYTES; its
 * i32 index in the tier's per-thread word TW_AREA):
 *
 * ```
 *  area (64 i32 words):  RESERVED CLOCK LIVE_BLOCKS LIVE_BYTES HITS MIN_STAMP MASK PAGES │ 8 slots
 *  slot k (4 words at A_SLOTS + 4k):  RUN · PAGES · STAMP · (unused)
 * ```
 *
 * A run there has PM_DESC = (threadId << 2) | D_LOCAL | D_CACHED, so every other path sees a
 * cached run (another free: ERR_DOUBLE_FREE). The area is the owner's: plain loads and stores,
 * no Atomics, bit k of A_MASK set ⇔ slot k holds a run. Its one word another thread writes is
 * A_RESERVED, under the tier lock.
 *
 * - The owner's free (no lock, no Atomics): the lowest slot whose A_MASK bit is clear gets
 *   S_RUN / S_PAGES / S_STAMP, then A_MASK and the owner's counters, then PM_DESC = marker.
 * - The owner's malloc (no lock, no Atomics): the best slot of A_MASK by S_PAGES (exact, or at
 *   most 1/8 larger), checked against the page map, then A_MASK and the counters, then PM_DESC.
 * - Asking for a cache (any thread, tier lock held: before its malloc reports out of memory, and
 *   in trim()): A_RESERVED = ~A_RESERVED (negative). The owner's next free fails the reservation
 *   test (A_PAGES + pages > A_RESERVED) and takes the lock, where the cache goes back to the
 *   arena and the reservation is released (localPutLocked; its flush, detach and trim release
 *   it too). No other thread takes a run out of a live thread's cache: the
 *   owner's fast paths would need an Atomics read-modify-write to race such a thief safely. A
 *   thread that stays idle keeps its runs, within its reservation; a dead one gives them back
 *   through reclaim.
 *
 * The area's pages are covered by a reservation of the byte bound (A_RESERVED, Σ in R_RESERVED;
 * shared cache + reservations ≤ maxBytes / 8, one thread ≤ half of it) grown under the lock; a
 * fast free fits within it (A_PAGES), a run beyond it or a full area goes through the lock (the
 * oldest slot moves to the shared cache). Slots not reused within AGE_LIMIT of the thread's own
 * operations go back to the arena. Live and hit counts of the fast paths are deltas in the area
 * (A_LIVE_BLOCKS/BYTES, A_HITS), folded into the root on detach / reclaim. Left open, as in the
 * tiny and L2.5 tiers: a free by the owner racing another thread's free of the same block at the
 * same instant; both modes check a slot against PM_DESC before handing it out
 * (ERR_HEAP_CORRUPTED), so it is never handed out twice.
 *
 * ## Invariants (checked by `check()`)
 *
 * 1. R_BUSY = 0 and R_INTENT = 0 outside the lock.
 * 2. Every node of bucket b holds a run of a page count in bucket b; NEXT/PREV are mutual;
 *    bitmap bit b ⇔ bucket b non-empty; every node reached is inside a chunk and CACHED.
 * 3. The age list holds exactly the bucketed nodes, stamps non-decreasing from oldest to newest.
 * 4. Each cached node's run heads a run of this tier of N_PAGES pages whose PM_DESC names the
 *    node; every run of this tier whose PM_DESC says cached is such a run.
 * 5. Free nodes + cached nodes = R_NODES; free nodes are FREE.
 * 6. R_CACHED_PAGES/R_CACHED_RUNS = Σ over cached nodes; R_LIVE_BLOCKS/R_LIVE_BYTES = the live
 *    runs of this tier in the page map (count, Σ usable) minus the thread caches' deltas;
 *    R_CACHED_PAGES + R_RESERVED ≤ cap; R_RUNS = the runs of this tier in the page map.
 * 7. Each slot of a thread area's A_MASK names a run heading a run of this tier of S_PAGES
 *    pages whose PM_DESC names that thread; every run whose PM_DESC names a thread is in its
 *    area; A_PAGES = Σ S_PAGES over A_MASK ≤ its reservation (A_RESERVED, or ~A_RESERVED while
 *    asked for); Σ reservations = R_RESERVED. (Exact when other threads are quiescent: their
 *    fast paths do not take the lock.)
 *
 * ## Concurrency protocol
 *
 * - Every state change of the tier happens under the tier mutex R_LOCK: the cache lists, the
 *   node pool, the counters, PM_DESC of its runs, and its allocRun / freeRun / resizeRun /
 *   metaAlloc calls. So a run of this tier changes state (live ↔ cached → free) only under the
 *   lock, and free's validation, read under the lock, is exact: a double free from two threads
 *   racing is serialised and the second sees D_CACHED (or a free page): ERR_DOUBLE_FREE.
 * - Lock order: tier mutex, then the arena mutex (inside allocRun, freeRun, resizeRun,
 *   metaAlloc, snapshot) — never the reverse.
 * - All words are plain loads and stores under the lock (the mutex's Atomics order them); the
 *   lock holder calls arena.refresh() first, since a node or run another thread published may
 *   lie in memory it grew. usableSize and occupancy read PM_DESC without the lock (a racing
 *   free of the same block is a program race).
 * - Recovery: the lock holder writes its id to R_BUSY right after taking the lock and clears it
 *   right before releasing it. A thread that dies in between (worker.terminate) leaves R_BUSY
 *   set; whoever takes the lock next (after arena.breakLocksOf freed it) rebuilds every list and
 *   the cache's counters from the page map (the truth: PM_TIER and PM_DESC of each run), keeping each node
 *   whose run still names it, settles the live-count intent record, then re-applies the byte
 *   bound. Each step writes a node completely
 *   before PM_DESC publishes it and re-points PM_DESC before the run changes hands, so a rebuild
 *   only loses a run the dead thread held as live (a block in flight). (A thread that dies inside
 *   the arena's own mutex, in allocRun or freeRun, can leave the page map itself half-written:
 *   page-arena does not recover that.)
 *
 * ## Crash consistency (issue 9: a worker terminated anywhere, then reclaimed)
 *
 * A termination lands only where V8 checks interrupts: a call, a loop iteration, an Atomics
 * operation — never between two plain stores. Development builds mark those places in every
 * multi-step update with `crashPoint(section)` (crash-point.ts; test/crash.test.ts stops a worker
 * at each one, both modes, reclaims it and requires check() to pass, every size to be served
 * and at most the block in flight to be left live). Sections and the order that makes every
 * prefix valid or repairable:
 *
 * - Wakeups (reclaim): a dead thread may have been the sleeper an unlock's notify(…, 1) woke, or
 *   have stopped between an unlock's exchange and its notify; the lock word then reads free and
 *   the other sleepers would sleep for good (the soak's hang). `reclaim(id)` first notifies every
 *   sleeper on R_LOCK (a spurious wakeup only makes a waiter re-read the word).
 * - Locked sections ('take', 'put', 'evict', 'resize', 'local', 'repair'): R_BUSY is set right
 *   after the lock and cleared right before the unlock; a set R_BUSY makes the next holder run
 *   the repair (repair.ts), which recomputes every list, the cache's counters, the node free
 *   list, R_RUNS and R_RESERVED (Σ A_RESERVED) from the page map, the chunk list and the thread
 *   areas — but not the live counters (next item). Each step
 *   writes a node completely before PM_DESC publishes it (put: pop node, cacheLink, setPageDesc)
 *   and unlinks it before PM_DESC or the run changes hands (take: unlink, cut, setPageDesc; evict:
 *   unlink, freeRun), so the page map always says which runs are cached, and by which node.
 * - Live counters (intent.ts): the repair cannot recount R_LIVE_BLOCKS / R_LIVE_BYTES from the
 *   page map: other threads' lock-free takes and puts change their area's deltas and then a
 *   run's PM_DESC while it reads (one seen half is a count off for good), and a seqlock would
 *   livelock behind them. So they are only ever changed by straight-line stores (no termination
 *   point among them), and each locked operation that changes a run's liveness or usable bytes
 *   and a counter pair (root, or the owner's area deltas in localPutLocked) first opens the
 *   intent record: COUNTERS, RUN, PAGES and the pair without the run's contribution (its state
 *   before: 0 for a take, 1 block of its usable bytes for a free or a resize), then R_INTENT = 1;
 *   it is cleared straight after the counters' stores (and at the unlock, for an operation that
 *   threw: before changing its run, or after its counters). The repair sets the pair to the saved
 *   values plus what the page map says of the run now (1 block of usableOf(PM_DESC, pages) when
 *   it heads a live run of this tier, else nothing), so a death before, between or after the
 *   op's PM_DESC, resizeRun, freeRun and counter stores all come out exact. Sites: the three
 *   takes (before setPageDesc), the miss (before allocRun), the shared free (before its counter
 *   stores, through cachePutShared), localPutLocked (before its deltas, through setPageDesc),
 *   resize (before growing in place, through its counter store). A miss opens it with RUN = 0
 *   before allocRun and stores RUN = run and R_RUNS + 1 straight after it returns: a death inside
 *   allocRun or at its unlock leaves RUN = 0, and the repair counts the fresh run (PM_DESC 0, the
 *   whole run usable) exactly when the page map holds R_RUNS + 1 runs of this tier — runs of a
 *   tier are made and freed only under its lock, so that count is stable while the repair holds
 *   it (unlike liveness), and every other allocRun / freeRun updates R_RUNS in the same straight
 *   line. A repair without an open record leaves the counters alone.
 * - Node chunks: a new chunk is in R_CHUNKS (header written, straight after metaAlloc returns)
 *   before its nodes are chained; trim unlinks one chunk at a time before its metaFree. So a chunk
 *   is always reachable, except the one inside metaFree (the arena finishes or undoes it).
 * - Thread caches without the lock (localTake / localPut): every load and call first, then
 *   straight-line stores (no termination point among them), PM_DESC last: a stop leaves the old
 *   or the new state. Under the lock, a slot leaves the area before its run moves (spill, aged
 *   eviction, flush, a larger take); a run still marked with the dead thread's id in no slot is
 *   given back by reclaim(id) (its snapshot sweep), a slot whose run no longer names the thread
 *   is dropped (a locked put stopped before its setPageDesc: the run stays live, the block in
 *   flight).
 * - Left: a detach stopped between clearing TW_AREA and metaFree leaks its 256-byte area (the
 *   detach's block in flight); a run a malloc had taken, or a free had not yet cached, stays live
 *   (the block in flight).
 */
import { PAGE_SIZE } from '@hakmem/page-arena';

// Tier root words.
export const R_LOCK = 0;
export const R_LOCK_STATS = 1; // 3 words
export const R_LOCK_REG = 4;
export const R_BUSY = 5;
export const R_CLOCK = 6;
export const R_CACHED_PAGES = 7;
export const R_CACHED_RUNS = 8;
export const R_LIVE_BLOCKS = 9;
export const R_LIVE_BYTES = 10;
export const R_HITS = 11;
export const R_MISSES = 12;
export const R_EVICTIONS = 13;
export const R_AGE_HEAD = 14;
export const R_AGE_TAIL = 15;
export const R_NODE_FREE = 16;
export const R_CHUNKS = 17;
export const R_CHUNK_COUNT = 18;
export const R_NODES = 19;
export const R_REPAIRS = 20;
/** Σ A_RESERVED of the thread caches: pages of the byte bound they hold (cached + reserved ≤ cap). */
export const R_RESERVED = 21;
// Word 22 is unused (layout 2's R_STEAL: thread caches are no longer stolen from).
/** Runs of this tier in the page map (+1 at each allocRun, −1 at each freeRun; exact again after a repair). */
export const R_RUNS = 23;
/** The live-count intent record (see "Crash consistency"): 1 while a locked operation changes a run's liveness or usable bytes and the live counters, 0 otherwise. Written last. */
export const R_INTENT = 24;
/** i32 index of the counter pair it changes: root + R_LIVE_BLOCKS, or area + A_LIVE_BLOCKS (its owner's deltas); the bytes word follows. */
export const R_INTENT_COUNTERS = 25;
/** The run (byte offset), 0 while an allocRun has not returned it. */
export const R_INTENT_RUN = 26;
/** Pages an allocRun was asked for (its run reads PM_DESC 0 until R_INTENT_RUN names it). */
export const R_INTENT_PAGES = 27;
/** The counter pair without the run's contribution (blocks, then bytes: u32, wrap). */
export const R_INTENT_BLOCKS = 28;
export const R_INTENT_BYTES = 29;
export const R_BITMAP = 32;
/** Size buckets of cached runs. */
export const BUCKETS = 112;
/** Bitmap words over the buckets. */
export const BUCKET_WORDS = 4;
export const R_BUCKETS = R_BITMAP + BUCKET_WORDS;
/** Words of the tier root block. */
export const ROOT_WORDS = R_BUCKETS + BUCKETS;

// Node words (i32 index n, 32-byte aligned).
export const N_RUN = 0;
export const N_PAGES = 1;
export const N_STAMP = 2;
export const N_NEXT = 3;
export const N_PREV = 4;
export const N_NEWER = 5;
export const N_OLDER = 6;
export const N_STATE = 7;
/** Words of a node. */
export const NODE_WORDS = 8;
/** N_STATE of a node on the free list. */
export const NODE_FREE = 0;
/** N_STATE of a node in a bucket and the age list. */
export const NODE_CACHED = 1;

// Chunk header words (the first node slot of a chunk).
export const C_NEXT = 0;
export const C_NODES = 1;
/** log2 bytes of the first chunk (1 KiB: 31 nodes). */
export const CHUNK0_SHIFT = 10;
/** log2 bytes of the largest chunk (64 KiB, metaAlloc's largest class). */
export const CHUNK_MAX_SHIFT = 16;

// PM_DESC of a run head.
/** Bit 0: the run is in the cache (the rest is its node's byte offset). */
export const D_CACHED = 1;
/** Bit 1 of a live run: the requested size (≤ 1 MiB) is in bits 2.. (usableSize keeps its bound). */
export const D_SMALL = 2;

/** Up to this size a block's usable bytes are bounded by max(roundUp(size, 16), 1.25 × size). */
export const USABLE_BOUND_MAX = 1024 * 1024;
/** The standalone tier's smallest size: just above 1 MiB. */
export const BIG_MIN_SIZE = USABLE_BOUND_MAX + 1;
/** The largest request whose page count fits 16 bits: 2^32 − 64 KiB. */
export const BIG_SIZE_LIMIT = 4294967295 - 65535;
/** The tier's kind in the arena's tier directory. */
export const BIG_KIND = 'big';

/** The layout version recorded in the arena's tier directory (tierOpen / tierFind / tierExpect). */
export const BIG_LAYOUT_VERSION = 3;

// Thread caches (local.ts): the tier's per-thread word TW_AREA (arena.threadTierWords(id) + TW_AREA)
// holds the i32 index of the thread's area (metaAlloc, AREA_BYTES), 0 = none.
export const TW_AREA = 0;
/** Pages of the tier's byte bound this thread holds (counted in R_RESERVED; written under the lock); ~pages (negative) while another thread asks for the cache. */
export const A_RESERVED = 0;
/** The owner's age clock: +1 on each of its mallocs and frees served here (owner only). */
export const A_CLOCK = 1;
/** Live blocks / bytes this thread's cache took and gave (owner only; deltas, wrap; added to R_LIVE_BLOCKS / R_LIVE_BYTES). */
export const A_LIVE_BLOCKS = 2;
export const A_LIVE_BYTES = 3;
/** Mallocs served by the thread cache (owner only; added to R_HITS). */
export const A_HITS = 4;
/** A stamp no newer than the oldest slot's (owner only; exact after each aged sweep). */
export const A_MIN_STAMP = 5;
/** Owner only: bit k set ⇔ slot k holds a run. */
export const A_MASK = 6;
/** Owner only: Σ S_PAGES over the slots of A_MASK (≤ the reservation). */
export const A_PAGES = 7;
/** First slot: SLOT_WORDS words each (S_RUN, S_PAGES, S_STAMP, one unused). */
export const A_SLOTS = 8;
/** Owner only: the run (byte offset, a multiple of 64 KiB) while the slot's A_MASK bit is set. */
export const S_RUN = 0;
/** Owner only: the run's pages. */
export const S_PAGES = 1;
/** Owner only: A_CLOCK when the run was put. */
export const S_STAMP = 2;
export const SLOT_WORDS = 4;
/** Runs a thread cache holds at most. */
export const LOCAL_SLOTS = 8;
/** Bytes of a thread area (a metaAlloc class). */
export const AREA_BYTES = 256;
/** Bit 1 of a cached run's PM_DESC: in thread (desc >>> 2)'s cache, not a node (nodes are 32-byte aligned). */
export const D_LOCAL = 2;
/** A thread cache holds at most capPages >> LOCAL_CAP_SHIFT pages (half the tier's bound). */
export const LOCAL_CAP_SHIFT = 1;

/** A run not reused within this many mallocs and frees of the tier is evicted. */
export const AGE_LIMIT = 1024;
/** The cache holds at most maxBytes >> CAP_SHIFT bytes (1/8). */
export const CAP_SHIFT = 3;
/** A cached run at most need >> WHOLE_SHIFT pages larger than needed is taken whole (1/8). */
export const WHOLE_SHIFT = 3;

// The layout is pinned.
if (R_REPAIRS >= R_RESERVED || R_RESERVED >= R_RUNS || R_RUNS >= R_INTENT)
  throw new Error('bigcache layout: root words overlap');
if (A_LIVE_BYTES !== A_LIVE_BLOCKS + 1 || R_LIVE_BYTES !== R_LIVE_BLOCKS + 1)
  throw new Error('bigcache layout: a counter pair is blocks, then bytes');
if (BUCKET_WORDS * 32 < BUCKETS) throw new Error('bigcache layout: bitmap too small');
if (PAGE_SIZE !== 65536) throw new Error('bigcache layout: pages must be 64 KiB');
if ((A_SLOTS + LOCAL_SLOTS * SLOT_WORDS) * 4 > AREA_BYTES)
  throw new Error('bigcache layout: thread area too small');
if (R_INTENT_BYTES >= R_BITMAP) throw new Error('bigcache layout: the intent record overlaps the bitmap');
if (NODE_WORDS * 4 !== 32) throw new Error('bigcache layout: nodes are 32 bytes (D_CACHED needs bit 0 free)');

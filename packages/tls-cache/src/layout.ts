/**
 * # tls-cache layout
 *
 * A per-thread front for any size-class allocator: one LIFO list of free blocks per class, with
 * a capacity that adapts. The state is in the shared memory, in an area from `arena.metaAlloc`
 * whose byte offset is in one of the fronted tier's per-thread words
 * (`arena.threadTierWords(tier, thread) + threadWord`), so another thread can reclaim a dead
 * thread's cached blocks.
 *
 * ```
 *  tier's thread words ── threadWord ──► area (metaAlloc)
 *  ┌───────────────────┬───────────────────┬───────────────────┬─ … ─┐
 *  │ header (8 words)  │ class 0 (16 words)│ class 1 (16 words)│     │
 *  └───────────────────┴─────────┬─────────┴───────────────────┴─ … ─┘
 *                                │ CC_HEAD
 *                                ▼
 *                 free block ──► free block ──► free block ──► 0   (link = the block's first u32)
 * ```
 *
 * ## Area header (i32 words)
 *
 * | word         | meaning                                                        |
 * | ------------ | -------------------------------------------------------------- |
 * | TC_THREAD    | owner thread id                                                |
 * | TC_CLASSES   | number of classes                                              |
 * | TC_BUDGET    | most bytes the capacities may add up to                         |
 * | TC_CAP_BYTES | Σ capacity × block size over the classes (≤ TC_BUDGET)          |
 * | TC_EVENTS    | slow-path events (refills + spills) in the current epoch        |
 * | TC_EPOCHS    | epochs completed                                               |
 * | TC_SLOT      | which tier word names this area: tier id × TIER_THREAD_WORDS + threadWord |
 * | TC_CLASS_BYTES | most bytes one class's capacity may hold (0 = no per-class cap)   |
 *
 * ## Class record (CC_WORDS words at TC_HEADER_WORDS + class × CC_WORDS; one 64-byte line)
 *
 * | word          | meaning                                                      |
 * | ------------- | ------------------------------------------------------------ |
 * | CC_HEAD       | first cached block (u32 offset, 0 = empty)                    |
 * | CC_COUNT      | blocks in the list (≤ CC_CAP)                                 |
 * | CC_CAP        | capacity in blocks (CACHE_MIN_CAP … CACHE_MAX_CAP)            |
 * | CC_LIVE       | blocks this thread handed to users minus blocks it took back (any thread's; may be negative); with `liveWithCached`, that plus CC_COUNT (a hit or a push leaves it alone) |
 * | CC_HITS       | allocations served from the list (u32, wraps)                 |
 * | CC_MISSES     | refills (allocations that found the list empty)               |
 * | CC_SPILLS     | spills (frees that found the list full)                       |
 * | CC_SIZE       | block size of the class                                       |
 * | CC_EPOCH_HITS | CC_HITS when the current epoch began                          |
 * | CC_EPOCH_SLOW | refills + spills of this class in the current epoch           |
 * | CC_MAX_CAP    | largest capacity of the class: min(CACHE_MAX_CAP, max(CACHE_MIN_CAP, TC_CLASS_BYTES / CC_SIZE)); 0 in an area formatted without it = CACHE_MAX_CAP |
 * | CC_SPILL_HEAD | spill intent record: the chain on its way to the backend (see "Crash consistency") |
 * | CC_SPILL_COUNT| its length; 0 = no spill in progress                          |
 *
 * ## Global block (metaAlloc; offset in the word `rootWord` the owning tier gives)
 *
 * G_CLASSES, then G_WORDS words per class: the counters of threads that released their area
 * (G_LIVE, G_HITS, G_MISSES, G_SPILLS), added with Atomics when a thread detaches or is
 * reclaimed. Heap-wide figures = Σ live threads' areas + these.
 *
 * ## Adaptive capacity
 *
 * - A refill fetches max(1, capacity / 2) blocks; a spill keeps the newest capacity / 2.
 * - Grow: a class with CACHE_GROW_AFTER or more slow events in the current epoch doubles its
 *   capacity (up to CC_MAX_CAP: a count cap and, with `classBytes`, a byte cap per class) if
 *   the byte budget allows. So a class of large blocks can hold many of them when hot, and a
 *   class of small blocks cannot take more bytes than one of large blocks.
 * - Shrink: every CACHE_EPOCH_EVENTS slow events of the thread, each class that had neither a
 *   hit nor a slow event in that epoch halves its capacity (down to CACHE_MIN_CAP), spilling
 *   what no longer fits; its bytes go back to the budget.
 *
 * ## Invariants (checked by `TlsCache.cacheCheck`)
 *
 * 1. 0 ≤ CC_COUNT ≤ CC_CAP; the list has exactly CC_COUNT blocks; each is a free block of the
 *    class owned by the thread (the backend checks it).
 * 2. TC_CAP_BYTES = Σ CC_CAP × CC_SIZE ≤ TC_BUDGET.
 * 3. CC_CAP ≤ CC_MAX_CAP, which is what TC_CLASS_BYTES gives the class.
 *
 * ## Concurrency protocol
 *
 * Strict safety (the backend's): every block a pop hands out goes through the backend's
 * `cacheCheckOut` and every block a push takes back through `cacheCheckIn`, so the cache cannot
 * hand out a block twice or take back a block that is not live.
 *
 * The area is written only by its thread, with plain operations (no Atomics on the fast path).
 * Other threads read it for stats/check (exact when quiescent) and take it over in
 * `cacheReclaim` once the thread is dead. Every change of a list is straight-line code (a
 * batch is linked first and published with single stores), so a worker terminated at an
 * interrupt point leaves a consistent area. The record word and the global counters use Atomics.
 *
 * ## Crash consistency (a thread terminated at any instant; `cacheReclaim` from another thread)
 *
 * A worker can be terminated wherever its code can be interrupted: at a call, a loop
 * iteration or an Atomics operation, never between two plain stores of straight-line code.
 * Each update of the area, in order:
 *
 * - pop, push, refill, append: straight-line stores after the last call; the list and CC_COUNT
 *   change together. A refill's batch leaves the backend in the backend's straight line and
 *   enters the list in ours, with only returns (no interrupt point) between them.
 * - spill, flush, shrink (cacheTrimList): first a read-only pass checks the links the cut will
 *   follow (issue 9: a use-after-free write into a cached block is a link): strict, every link
 *   of the list (`backend.cacheLinkValid`) and its 0 end after exactly CC_COUNT blocks (so a
 *   cycle is caught); fast, the `keep` links the cut follows and the chain's head. A broken one
 *   is ERR_HEAP_CORRUPTED with nothing written. Then one straight line detaches the chain (list cut,
 *   CC_COUNT, CC_LIVE) and, for a backend with `spillProgress`, writes the intent record
 *   CC_SPILL_HEAD/CC_SPILL_COUNT = the chain; the backend advances the record in the straight
 *   line that gives each block back; the cache clears it when the backend returns. A reclaim
 *   gives the blocks still in the record back first (`cacheRecover`), then the list's. (Without
 *   `spillProgress` no record is kept: a chain the thread was spilling when it died is lost.)
 */

// Area header words.
export const TC_THREAD = 0;
export const TC_CLASSES = 1;
export const TC_BUDGET = 2;
export const TC_CAP_BYTES = 3;
export const TC_EVENTS = 4;
export const TC_EPOCHS = 5;
export const TC_SLOT = 6;
export const TC_CLASS_BYTES = 7;
/** Words of the area header; class records follow. */
export const TC_HEADER_WORDS = 8;

// Class record words.
export const CC_HEAD = 0;
export const CC_COUNT = 1;
export const CC_CAP = 2;
export const CC_LIVE = 3;
export const CC_HITS = 4;
export const CC_MISSES = 5;
export const CC_SPILLS = 6;
export const CC_SIZE = 7;
export const CC_EPOCH_HITS = 8;
export const CC_EPOCH_SLOW = 9;
export const CC_MAX_CAP = 10;
/** Intent record of a spill in progress (backends with `spillProgress`): the chain not yet back … */
export const CC_SPILL_HEAD = 11;
/** … and its length (0 = no spill in progress). CC_SPILL_HEAD + 1. */
export const CC_SPILL_COUNT = 12;
/** Words per class record (one 64-byte line). */
export const CC_WORDS = 16;
/** log2 of CC_WORDS: class record = TC_HEADER_WORDS + (class << CC_SHIFT). */
export const CC_SHIFT = 4;

// Global block words.
export const G_CLASSES = 0;
export const G_HEADER_WORDS = 4;
export const G_LIVE = 0;
export const G_HITS = 1;
export const G_MISSES = 2;
export const G_SPILLS = 3;
export const G_WORDS = 4;

/** Default per-thread byte budget of one cache. */
export const CACHE_DEFAULT_BUDGET = 256 * 1024;
/** Smallest capacity of a class. */
export const CACHE_MIN_CAP = 2;
/** Largest capacity of a class. */
export const CACHE_MAX_CAP = 1024;
/** Initial capacity: about this many bytes per class, clamped to [CACHE_INIT_MIN_CAP, CACHE_INIT_MAX_CAP]. */
export const CACHE_INIT_BYTES = 2048;
export const CACHE_INIT_MIN_CAP = 4;
export const CACHE_INIT_MAX_CAP = 64;
/** Slow events of a class in an epoch after which each further one doubles its capacity. */
export const CACHE_GROW_AFTER = 2;
/** Slow events of the thread per epoch (the shrink pass runs at the end of each). */
export const CACHE_EPOCH_EVENTS = 64;

if (CC_SPILL_COUNT !== CC_SPILL_HEAD + 1 || CC_SPILL_COUNT >= CC_WORDS)
  throw new Error('tls-cache layout: the spill record must be two adjacent words of a class record');
if (CC_WORDS !== 1 << CC_SHIFT) throw new Error('tls-cache layout: CC_WORDS must be 1 << CC_SHIFT');

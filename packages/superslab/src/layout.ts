/**
 * # superslab layout
 *
 * ## Files
 *
 * - `layout.ts`: this map of the memory, every word and constant of it, the encodings of a
 *   bitmap word and an owned-map entry, and the layout's pins.
 * - `size-classes.ts`: the 21 size classes and their tables (block count, exact-division constants).
 * - `superslab.ts`: class `Superslab`, one thread's handle: fields, constructor, views, the tier
 *   lock, the standalone malloc/free, and the other public methods (each a call into the files below).
 * - `slab-alloc.ts`: the cache's refill (and malloc's): take from the current slab (local list,
 *   remote list, carving), else find a slab (full-list scan, adoption, the pool, a new SuperSlab).
 * - `slab-free.ts`: a block back on its slab's local list, the lock-free remote free and its
 *   collection by the owner, the cache's spill, and a slab emptied (kept or released).
 * - `slab-block.ts`: a pointer as a block of a slab: its index, usableSize, and the strict
 *   checks of a block and of a free-list link (alloc bits set and cleared for a cache in front).
 * - `slab-lists.ts`: a thread's partial and full lists of slabs, and its owned-slab map.
 * - `superslab-registry.ts`: SuperSlabs: the registry, the avail list, adding one from the
 *   arena and returning it, a slab back to the pool.
 * - `slab-reclaim.ts`: slabs leaving a thread: abandon, detach, reclaim of a dead thread, trim.
 * - `slab-check.ts`: check(), every invariant below, with the blocks found in thread caches.
 * - `slab-stats.ts`: stats() of the whole tier.
 * - `slab-errors.ts`: ERR_HEAP_CORRUPTED and the pointer format of the messages.
 * - `tiny-tier.ts`: `TinyTier`, the tier with @hakmem/tls-cache in front (its own fast paths).
 *
 * The tiny tier's memory: SuperSlabs of 32 slabs of 64 KiB, one size class per slab at a time,
 * every byte of a slab a user block. All metadata is out of band, in `arena.metaAlloc` blocks;
 * every page of a SuperSlab has `PM_DESC` = byte offset of its slab's descriptor, so a free
 * finds its slab in O(1) from `arena.pageEntry(ptr)`.
 *
 * ```
 *  SuperSlab run (allocRun(32, tier id); fewer pages when no 32-page run fits):
 *  ┌─────────┬─────────┬─────────┬─── … ───┬─────────┐
 *  │ slab 0  │ slab 1  │ slab 2  │         │ slab 31 │   64 KiB each: blocks at start + i × size
 *  └────┬────┴────┬────┴─────────┴─── … ───┴─────────┘
 *       │ PM_DESC │ PM_DESC
 *       ▼         ▼
 *  SuperSlab descriptor block (metaAlloc, 4 KiB class: header, 32 descriptors, remote heads):
 *  ┌──────────────┬──────────────┬──────────────┬─── … ───┬────────────────────────────┐
 *  │ SS header 64 │ slab desc 64 │ slab desc 64 │         │ remote heads, 32 B apart    │
 *  └──────────────┴──────┬───────┴──────────────┴─── … ───┴────────────────────────────┘
 *                        │ SL_BITMAP (strict only)
 *                        ▼
 *               alloc word 0 │ remote word 0 │ alloc word 1 │ remote word 1 │ …   (metaAlloc)
 * ```
 *
 * ## SuperSlab header (i32 words at the descriptor's i32 index `s`)
 *
 * | word           | meaning                                                  | written by            |
 * | -------------- | -------------------------------------------------------- | --------------------- |
 * | SS_START       | first byte of the run (u32)                              | creator, once         |
 * | SS_SLABS       | slabs in it (1..32)                                      | creator, once         |
 * | SS_EMPTY       | bit i set ⇔ slab i is in the pool (no class, no owner)   | tier lock             |
 * | SS_NEXT/PREV   | registry list of every SuperSlab (descriptor offsets)    | tier lock             |
 * | SS_AVAIL_NEXT/PREV | list of SuperSlabs with SS_EMPTY ≠ 0                 | tier lock             |
 * | SS_IN_AVAIL    | 1 while on that list                                     | tier lock             |
 *
 * ## Slab descriptor (i32 words at `d = slabDescOffset >>> 2`)
 *
 * | word            | meaning                                                        | written by                    |
 * | --------------- | -------------------------------------------------------------- | ----------------------------- |
 * | SL_OWNER        | owner thread id; 0 = none (pool or abandoned)                   | Atomics (store on acquire/abandon, CAS on adopt); the owner's fast path reads it plainly (see below) |
 * | SL_CLASS        | size class, -1 while in the pool                                | owner / tier lock holder      |
 * | SL_START        | first byte of the slab (u32)                                    | creator, once                 |
 * | SL_FREE         | local free list head (u32 block offset, 0 = empty)              | owner, plain                  |
 * | SL_REMOTE_AT    | i32 index of the slab's remote-free list head, which lies off this line (see "Remote heads") | creator, once |
 * | SL_USED         | blocks out of the slab: live + in a thread cache + remote-pending | owner, plain                 |
 * | SL_CARVED       | blocks carved so far (lazy carving: block i < carved exists)    | owner, plain                  |
 * | SL_INV          | the class's TINY_CLASS_INV (block index by exact division, kept on this line) | owner          |
 * | SL_BITMAP       | strict: i32 index of the alloc bitmap (remote bitmap follows)   | owner                         |
 * | SL_SHIFT        | the class's TINY_CLASS_SHIFT                                    | owner                         |
 * | SL_BITMAP_CAP   | words allocated for one bitmap (reused while the class fits)    | owner                         |
 * | SL_STATE        | SLAB_POOL / _PARTIAL / _FULL / _ABANDONED / _DETACHED           | owner / tier lock holder      |
 * | SL_NEXT/PREV    | link in the owner's partial or full list of the class, or in the abandoned list (NEXT only) | owner / tier lock |
 * | SL_SELF         | its own i32 index (check() verifies it)                         | creator, once                 |
 * | SL_INDEX        | slab index in the SuperSlab (the SuperSlab header is at d − SS_HEADER_WORDS − index × SL_WORDS) | creator, once |
 *
 * Free blocks: the first u32 word holds the next block (0 ends the list), in the local list,
 * the remote list and the thread caches alike.
 *
 * ## Links read from memory (issue 9: no write through an unchecked link)
 *
 * A free block's link can be overwritten by a use-after-free write, so every walk checks a link
 * before it reads or writes through it, and every walk is bounded:
 * - the cache's spill/flush/shrink (@hakmem/tls-cache) asks `cacheLinkValid` of each link it
 *   follows: a carved block start of a slab of the class that this thread owns (its owned-map
 *   entry), strict: also free (alloc and remote bits clear); `cacheSpill` checks each block again
 *   before it writes;
 * - a refill's walk of a slab's local list (`slabTakeLocal`): strict, a free block of the slab;
 *   fast, a block start of the slab; bounded by `want`;
 * - a remote-list collection: a read-only pass (bounded by the slab's blocks) before the splice;
 * - reclaim: `cacheRecover` takes a block only if it is a free block of a slab taken over from
 *   the dead thread (strict: a live or remote-pending one stops the walk); the collection intent
 *   is re-checked link by link before its splice; the fast recount stops at the slab's blocks.
 *
 * ## Remote-free batching (the tiny tier's remote frees)
 *
 * A block freed by a thread that does not own its slab does not go to the slab's remote list
 * at once: it is linked, with plain stores, onto a chain in the freeing thread's outgoing buffer
 * (a 2 KiB metaAlloc block named by TS_OUT, made at the first such free), one chain per
 * destination slab in the slot (d >>> 4) & (OUT_SLOTS − 1). The
 * chain is pushed onto the slab's remote head with one CAS (its tail linked to the old head) when it holds
 * OUT_BATCH blocks, when its slot is wanted by another slab, and for every slot when the thread
 * refills with more than OUT_HOLD blocks buffered, needs another slab (slabFind), flushes, trims
 * or detaches (so an owner waits for at most OUT_HOLD + OUT_SLOTS × OUT_BATCH of its blocks per
 * thread, and far fewer in practice). So a remote free is a slot lookup
 * and four plain stores instead of a CAS on a line the owner works on, and the owner's
 * collection takes up to OUT_BATCH blocks per push. Buffered blocks are remote-pending: counted
 * in SL_USED, strict: alloc and remote bits set (a second free of one is ERR_DOUBLE_FREE at once).
 * `check()` walks every attached thread's buffer (each block marked listed once; a slot's chain
 * has OUT_COUNT blocks of its slab, ending at OUT_TAIL) and counts its blocks as remote-pending.
 *
 * Order (a thread terminated at any interrupt point): the block enters a slot in one straight
 * line (link, OUT_TAIL for a new chain, OUT_HEAD, OUT_COUNT, OUT_SLAB; strict: TS_FREEING = 0
 * in the same line); a push writes the tail's link (a free block's word), then the CAS, then
 * clears the slot in the CAS's straight line. Reclaim pushes every non-empty slot of the dead
 * thread onto its slab's remote list (after undoing TS_FREEING's bit), so nothing is lost, and
 * frees the buffer with the area. (The buffer's own creation, metaAlloc then TS_OUT, leaks its
 * 2 KiB when a thread dies between the two.)
 *
 * ## Remote heads
 *
 * A slab's remote-free list head (u32 block offset, 0 = empty; Atomics: CAS push by any thread,
 * exchange take-all by the owner) is not in its descriptor: the owner's strict fast path reads
 * the descriptor's line on every malloc and free (SL_INV, SL_SHIFT, SL_BITMAP, SL_CARVED), and a
 * remote push there would take that line from it. The heads lie after the descriptors in the
 * SuperSlab's descriptor block, at s + SS_REMOTE + index × REMOTE_STRIDE (two per line), and
 * SL_REMOTE_AT names it (written once, before the SuperSlab is published).
 *
 * ## Strict bitmaps (safety 'strict')
 *
 * The two bitmaps are interleaved word by word (alloc word k at SL_BITMAP + 2k, remote word k
 * at SL_BITMAP + 2k + 1), so one cache line holds both bits of a block (`bitmapWordOf` is the
 * alloc word of a block, `bitmapBit` its bit in both words).
 * Bit i of the alloc bitmap: block i is with the user (live) or waiting in the remote list.
 * Written only by the owner, with plain operations. Bit i of the remote-pending bitmap: block i
 * was freed by another thread and is in the remote list; set with Atomics.or by the freeing
 * thread, cleared with Atomics.and by the owner when it takes the remote list.
 *
 * ## Tier root (ROOT_WORDS i32 words: the root block of the tier's entry in the arena's tier directory)
 *
 * | word            | meaning                                               |
 * | --------------- | ----------------------------------------------------- |
 * | R_LOCK          | the tier mutex (mutexLock; registered with the arena) |
 * | R_LOCK_STATS    | its 3 statistics words                                |
 * | R_SS_HEAD       | registry list head                                    |
 * | R_SS_COUNT      | SuperSlabs in the registry                            |
 * | R_AVAIL_HEAD/TAIL | SuperSlabs with a slab in the pool; partly used ones first, fully empty ones at the tail |
 * | R_EMPTY_SS      | fully empty SuperSlabs (hysteresis: at most one is kept) |
 * | R_SLABS_OUT     | slabs out of the pool                                 |
 * | R_CACHE_ROOT    | offset of @hakmem/tls-cache's global block for the tiny cache |
 * | R_LOCK_REG      | unused (older heaps: 1 once the tier mutex was registered with the arena) |
 * | R_ABANDONED + c | head of class c's abandoned-slab list (tier lock; Atomics.load as a hint) |
 *
 * ## Thread area (metaAlloc, offset in the tier's per-thread word TW_SLABS)
 *
 * | word               | meaning                                                         |
 * | ------------------ | --------------------------------------------------------------- |
 * | TS_THREAD          | owner thread id                                                 |
 * | TS_COLLECT_SLAB/HEAD/COUNT | intent record of a remote-list collection (see "Crash consistency") |
 * | TS_PARTIAL + c     | head of class c's partial list: slabs that may have free blocks; the head is the current slab |
 * | TS_FULL + c        | head of class c's full list: slabs found exhausted              |
 * | TS_FULL_COUNT + c  | length of the full list                                         |
 * | TS_FULL_CURSOR + c | where the next bounded scan of the full list for remote frees starts |
 * | TS_FREEING         | strict: intent record of a remote free (the block)              |
 * | TS_OUT_BLOCKS      | blocks in the outgoing buffer (a hint: a refill pushes the whole buffer above OUT_HOLD) |
 * | TS_OUT             | i32 index of the outgoing buffer (metaAlloc, OUT_BYTES; 0 = none yet): slot k at + k × OUT_WORDS holds OUT_SLAB, OUT_HEAD, OUT_TAIL, OUT_COUNT (remote frees not yet pushed) |
 *
 * Written only by its thread (and by `reclaim` once the thread is dead).
 *
 * ## The owned-slab map (thread-private, not in shared memory)
 *
 * Each `Superslab` handle keeps an Int32Array with one entry per page of maxBytes:
 * `(d << 1) | class` for a slab the thread owns (d, the descriptor's i32 index, is a multiple
 * of 16, so the entry is ≥ 32; see `ownedEntry`, `ownedDesc`, `ownedClass`), 0 otherwise. The
 * thread sets it when it acquires or adopts a slab and clears it when it releases or abandons
 * one — the only ways a slab becomes or stops being its own while it lives. So a free finds
 * "mine, this slab, this class" with one load and no shared word, and a strict malloc validates
 * the block it hands out against the entry of the block's page without reading the block. One
 * handle per thread id.
 *
 * ## Invariants (checked by `Superslab.slabCheck`)
 *
 * 1. A SuperSlab's pages are TIER_TINY and PM_DESC of each page names its slab's descriptor.
 * 2. Slab in the pool ⇔ SS_EMPTY bit set ⇔ SL_STATE = POOL, class -1, owner 0, used 0.
 *    SS_IN_AVAIL ⇔ SS_EMPTY ≠ 0; R_EMPTY_SS = SuperSlabs with every slab in the pool.
 * 3. A PARTIAL/FULL slab is owned by a live thread and is in exactly that list of its owner's
 *    area; an ABANDONED slab has owner 0 and is in the abandoned list of its class.
 * 4. used = carved − (local free list length); every listed block is in the slab, on the class
 *    grid, below carved, and listed once (local, remote or a thread cache).
 * 5. Strict: alloc bits = live + remote-pending blocks = used − cached; remote bits = remote
 *    list; no bit at or beyond carved.
 *
 * ## Concurrency protocol
 *
 * - A thread's own malloc/free touch only its slabs' plain words and its caches: no Atomics.
 * - The owner's fast paths find their slabs in the thread-private owned-slab map (below the
 *   thread area), never in a shared word. Slow paths that ask "is it mine?" of a slab read
 *   SL_OWNER; a thread can only see its own id there if it stored it itself (the owner word
 *   changes from an id to 0 only by that thread, and from 0 to an id by CAS), so even a plain
 *   read that says "mine" is exact.
 * - Remote free: (strict) Atomics.or the remote bit (already set → ERR_DOUBLE_FREE), check the
 *   alloc bit (clear → undo, ERR_DOUBLE_FREE); then CAS-push on the remote head. The owner takes the
 *   whole list with one Atomics.exchange (push + take-all has no ABA problem).
 *   A racing double free from two threads at the same instant is a data race in the program;
 *   the owner's plain bitmap accesses do not promise to catch it.
 * - Pool, registry, avail list and abandoned lists change only under the tier mutex. A thread
 *   that needs a slab takes it from the pool under the lock, then initialises it unlocked (it
 *   is the owner). Adoption: pop from the abandoned list under the lock, CAS owner 0 → self.
 * - Lock order: tier mutex, then the arena mutex (metaAlloc/allocRun/freeRun) — never the reverse.
 * - Termination safety: every change of a list is straight-line code (no call, no loop between
 *   its stores), so a worker terminated at an interrupt point leaves consistent lists; a batch
 *   moved between lists is linked first and published with one store.
 *
 * ## Crash consistency (issue 9: a thread terminated at any instant, reclaimed by another)
 *
 * A worker is terminated where its code can be interrupted: a call, a loop iteration, an
 * Atomics operation (Atomics.wait in the tier mutex included), never between two plain stores
 * of straight-line code. Development builds mark those places `crashPoint(section)` and
 * test/crash.test.ts stops a worker at each of them in turn. Each update, in order:
 *
 * - Tier lock sections. Truth is the slab descriptor (SL_STATE, SL_OWNER); SS_EMPTY,
 *   SS_IN_AVAIL, the avail list, R_EMPTY_SS, R_SLABS_OUT, the abandoned lists and the
 *   registry's back links and count are derived from it. Every section stores the descriptor
 *   first, then the derived words:
 *   - acquire (pool → owner): SL_OWNER = self, SL_STATE = DETACHED (decisive), then mask,
 *     counters, avail unlink. Then, unlocked, slabInit (class words; strict: the new bitmap
 *     is stored before the old is freed), then the partial list. A slab with SL_CARVED 0 or
 *     class -1 handed nothing out: its reclaim releases it.
 *   - release (owner → pool), all locked: class -1, counts 0, SL_STATE = POOL (decisive),
 *     SL_OWNER = 0, mask, counters, avail list (the SuperSlab freed to the arena after unlock).
 *   - abandon, all locked: SL_STATE = ABANDONED (decisive), SL_OWNER = 0, list link.
 *   - adopt, all locked: pop, CAS SL_OWNER 0 → self, SL_STATE = DETACHED (decisive).
 *   - trim's takeover of abandoned slabs: per slab SL_OWNER, SL_STATE = DETACHED; heads after.
 *   - add: registry link (R_SS_HEAD last, straight-line), count, R_EMPTY_SS, avail push.
 *   The mutex is not registered with the arena: the reclaim of a thread that died holding it
 *   takes it over in place (CAS dead id → own id, waiters flag kept), runs superslabRepair
 *   (everything derived recomputed from the descriptors) and only then unlocks, so no live
 *   thread runs on a half-done section. Every reclaim repairs, holding the lock.
 * - Reclaim takes over every slab whose SL_OWNER is the dead thread (found through the
 *   registry, under the lock) and recounts it: strict from the alloc bitmap, fast from the local list.
 * - Remote-list collection (owner): Atomics.exchange takes the chain, and the same straight
 *   line writes the intent record TS_COLLECT_SLAB/HEAD (COUNT 0); a read-only pass validates
 *   and counts; COUNT = n, then the splice onto the local list (straight-line); strict: a
 *   pass clears each block's alloc then remote bit; TS_COLLECT_SLAB = 0. A reclaim finishes
 *   it: COUNT 0 → the chain (still 0-terminated) is spliced; COUNT n and SL_FREE ≠ head → the
 *   splice is redone; strict: the n blocks' bits are cleared.
 * - Strict remote free: TS_FREEING = block, Atomics.or of the remote bit, alloc-bit check,
 *   CAS push, TS_FREEING = 0 (cleared in the straight line of a successful CAS or before an
 *   error). A reclaim that finds TS_FREEING set undoes the remote bit: the push did not happen,
 *   the block stays live (in flight). A fast remote free is a single CAS.
 * - Spill (the cache's chain back to the slabs): @hakmem/tls-cache keeps the chain in its
 *   spill record; each block goes onto its slab's local list and leaves the record in one
 *   straight line (then list upkeep: full → partial, release when empty), so a reclaim gives
 *   back exactly the blocks the record still holds.
 * - Not yet covered: a SuperSlab unlinked by release or trim and not yet freed to the arena
 *   (leaks 2 MiB), and superslabAdd between allocRun and the registry link (leaks the run).
 */
import { TIER_THREAD_WORDS } from '@hakmem/page-arena';

/** Bytes of a slab: one 64 KiB page. */
export const SLAB_BYTES = 65536;
/** log2 of SLAB_BYTES. */
export const SLAB_SHIFT = 16;
/** Slabs in a full SuperSlab (2 MiB). */
export const SUPERSLAB_SLABS = 32;

// SuperSlab header words.
export const SS_START = 0;
export const SS_SLABS = 1;
export const SS_EMPTY = 2;
export const SS_NEXT = 3;
export const SS_PREV = 4;
export const SS_AVAIL_NEXT = 5;
export const SS_AVAIL_PREV = 6;
export const SS_IN_AVAIL = 7;
/** Words of the SuperSlab header; slab descriptors follow. */
export const SS_HEADER_WORDS = 16;

// Slab descriptor words.
export const SL_OWNER = 0;
export const SL_CLASS = 1;
export const SL_START = 2;
export const SL_FREE = 3;
/** i32 index of the slab's remote-free head (off the descriptor's line: see "Remote heads"). */
export const SL_REMOTE_AT = 4;
export const SL_USED = 5;
export const SL_CARVED = 6;
export const SL_INV = 7;
export const SL_BITMAP = 8;
export const SL_SHIFT = 9;
export const SL_BITMAP_CAP = 10;
export const SL_STATE = 11;
export const SL_NEXT = 12;
export const SL_PREV = 13;
export const SL_SELF = 14;
export const SL_INDEX = 15;
/** Words of a slab descriptor (one 64-byte line). */
export const SL_WORDS = 16;

// Strict bitmaps: alloc word k at SL_BITMAP + 2k, remote word k right after it.
/** i32 index of the alloc word of block `idx` in the bitmaps at `bitmap` (its remote word is the next). */
export function bitmapWordOf(bitmap: number, idx: number): number {
  return bitmap + ((idx >>> 5) << 1);
}

/** The bit of block `idx` in its bitmap words. */
export function bitmapBit(idx: number): number {
  return 1 << (idx & 31);
}

/** Words of one strict bitmap of a slab of `blocks` blocks. */
export function bitmapWords(blocks: number): number {
  return (blocks + 31) >>> 5;
}

/**
 * Bytes for both strict bitmaps of `words` words each, in three sizes only (64 B, 256 B, 2 KiB):
 * every metaAlloc size class in use costs the heap a META page.
 */
export function bitmapBytes(words: number): number {
  const bytes = words * 8;
  return bytes <= 64 ? 64 : bytes <= 256 ? 256 : 2048;
}

// The owned-slab map (see "The owned-slab map" above): an entry is (d << 1) | class.
/** Bits of an owned-map entry that hold the class (every class is < 32). */
export const OWNED_CLASS_MASK = 31;

/** Owned-map entry of slab `d` (descriptor i32 index, a multiple of 16) of class `cls`. */
export function ownedEntry(d: number, cls: number): number {
  return (d << 1) | cls;
}

/** Descriptor i32 index of owned-map entry `e` (> 0). */
export function ownedDesc(e: number): number {
  return (e & ~OWNED_CLASS_MASK) >>> 1;
}

/** Class of owned-map entry `e` (> 0). */
export function ownedClass(e: number): number {
  return e & OWNED_CLASS_MASK;
}

/** Words from a SuperSlab descriptor's start to its remote heads (after room for SUPERSLAB_SLABS descriptors). */
export const SS_REMOTE = SS_HEADER_WORDS + SUPERSLAB_SLABS * SL_WORDS;
/** Words between two slabs' remote heads (two per 64-byte line). */
export const REMOTE_STRIDE = 8;

/** Bytes of the descriptor block of a SuperSlab of `slabs` slabs: header, descriptors, remote heads (≤ 4 KiB, one metaAlloc class). */
export function superslabDescBytes(slabs: number): number {
  return (SS_REMOTE + slabs * REMOTE_STRIDE) * 4;
}

// Slab states.
/** In the pool: no class, no owner. */
export const SLAB_POOL = 0;
/** In its owner's partial list. */
export const SLAB_PARTIAL = 1;
/** In its owner's full list. */
export const SLAB_FULL = 2;
/** In the abandoned list of its class, owner 0. */
export const SLAB_ABANDONED = 3;
/** Owned but in no list (during reclaim). */
export const SLAB_DETACHED = 4;

// Tier root words (relative to arena.tierRoot(TIER_TINY)).
export const R_LOCK = 0;
export const R_LOCK_STATS = 1; // 3 words
export const R_SS_HEAD = 4;
export const R_SS_COUNT = 5;
export const R_AVAIL_HEAD = 6;
export const R_AVAIL_TAIL = 7;
export const R_EMPTY_SS = 8;
export const R_SLABS_OUT = 9;
export const R_CACHE_ROOT = 10;
export const R_LOCK_REG = 11;
export const R_ABANDONED = 16;

/** Tiny size classes (size-classes.ts lists them). */
export const CLASS_COUNT = 21;

// Thread area words.
export const TS_THREAD = 0;
/** Intent record of a remote-list collection: the slab (descriptor i32 index; 0 = none) … */
export const TS_COLLECT_SLAB = 1;
/** … the chain taken from the remote head … */
export const TS_COLLECT_HEAD = 2;
/** … and its length once validated (0 until then: the chain still ends with a 0 link). */
export const TS_COLLECT_COUNT = 3;
export const TS_PARTIAL = 4;
export const TS_FULL = TS_PARTIAL + CLASS_COUNT;
export const TS_FULL_COUNT = TS_FULL + CLASS_COUNT;
export const TS_FULL_CURSOR = TS_FULL_COUNT + CLASS_COUNT;
/** Strict: intent record of a remote free, the block (0 = none) between its remote bit and its entry into the outgoing buffer. */
export const TS_FREEING = TS_FULL_CURSOR + CLASS_COUNT;
/**
 * i32 index of the thread's outgoing buffer of remote frees (metaAlloc of OUT_BYTES, made at its
 * first buffered remote free; 0 = none): OUT_SLOTS slots of OUT_WORDS words (see "Remote-free batching").
 */
export const TS_OUT = TS_FREEING + 1;
/** Slots of the outgoing buffer; a slab's slot is (d >>> 4) & (OUT_SLOTS − 1). A power of two. */
export const OUT_SLOTS = 128;
/** log2 of OUT_WORDS. */
export const OUT_SHIFT = 2;
/** Words of a slot: the destination slab, the chain's head, its tail, its length. */
export const OUT_WORDS = 1 << OUT_SHIFT;
/** Slot word: destination slab (descriptor i32 index; 0 = empty slot, and then OUT_COUNT is 0). */
export const OUT_SLAB = 0;
/** Slot word: the chain's newest block (u32). */
export const OUT_HEAD = 1;
/** Slot word: the chain's oldest block, whose link the push sets to the old remote head (u32). */
export const OUT_TAIL = 2;
/** Slot word: blocks in the chain (1 … OUT_BATCH). */
export const OUT_COUNT = 3;
/** Blocks a slot holds before it is pushed. */
export const OUT_BATCH = 32;
/** Fewest blocks of a slab (1 KiB class). */
const TINY_BLOCKS_MIN = 64;
/** Bytes of an outgoing buffer (2 KiB: the metaAlloc class of the tls-cache areas, no META page of its own). */
export const OUT_BYTES = OUT_SLOTS * OUT_WORDS * 4;
/** Blocks in the outgoing buffer (a hint for the refill's flush: reset by every flush of the whole buffer). */
export const TS_OUT_BLOCKS = TS_OUT + 1;
/** A refill of a thread whose outgoing buffer holds more blocks than this pushes the whole buffer. */
export const OUT_HOLD = 256;
/** Words of a thread area. */
export const TS_WORDS = TS_OUT_BLOCKS + 1;

/** Fully empty SuperSlabs kept (not returned to the arena) so a workload on the boundary does not thrash. */
export const KEEP_EMPTY_SUPERSLABS = 1;
/** Full slabs looked at for remote frees before taking a slab from the pool. */
export const FULL_SCAN_STEP = 8;

/** Words of the tier root block (asked of the arena's tier directory). */
export const ROOT_WORDS = 64;

// The tier's per-thread words (arena.threadTierWords(tier, thread) + …).
/** Byte offset of the thread's slab area. */
export const TW_SLABS = 0;
/** Byte offset of the thread's tls-cache area (the cache in front of the slabs). */
export const TW_CACHE = 1;

// The layout is pinned: the root words must fit the root block, the thread words their slot.
// An owned-map entry needs every class below 32 and descriptors at multiples of 16 words
// (metaAlloc blocks of ≥ 64 B are 64-byte aligned).
if (CLASS_COUNT > OWNED_CLASS_MASK + 1 || SS_HEADER_WORDS % 16 !== 0 || SL_WORDS % 16 !== 0)
  throw new Error('superslab layout: an owned-map entry cannot hold every class and descriptor');
if (R_ABANDONED + CLASS_COUNT > ROOT_WORDS) throw new Error('superslab layout: tier root overflow');
if (superslabDescBytes(SUPERSLAB_SLABS) > 4096 || REMOTE_STRIDE % 8 !== 0)
  throw new Error(
    'superslab layout: a SuperSlab descriptor block must stay within 4 KiB, remote heads apart',
  );
if (TW_CACHE >= TIER_THREAD_WORDS) throw new Error('superslab layout: thread words overflow');
if ((OUT_SLOTS & (OUT_SLOTS - 1)) !== 0 || OUT_BATCH > TINY_BLOCKS_MIN)
  throw new Error('superslab layout: outgoing-buffer slots must be a power of two, a batch within a slab');

/**
 * hakmem umbrella — routing and the little state it keeps.
 *
 * The umbrella owns no tables of its own: every byte of state lives in the layers.
 *
 *   malloc(size)                       free(ptr)
 *     size ≤ tinyMax ─► TinyTier          ptr ─► arena.pageEntry(ptr) ─► PM_TIER of the page
 *     otherwise       ─► page run            TIER_TINY ─► TinyTier.free (own slab: cache push;
 *                        (TIER_RUN)                       other thread's slab: remote list)
 *                                            TIER_RUN  ─► arena.freeRun (run head only)
 *                                            TIER_FREE ─► ERR_DOUBLE_FREE (page-aligned) or
 *                                                         ERR_INVALID_POINTER
 *                                            other     ─► ERR_INVALID_POINTER
 *
 * Page runs (TIER_RUN): a block of n bytes above the tiny tier is a run of ceil(n / 64 KiB)
 * pages; its usable size is the whole run. The block starts at the run's first byte, so a
 * valid pointer is page-aligned and the page is a run head (PM_FLAG_HEAD). Runs need no
 * metadata beyond the page map; their live counts for `stats()` come from walking it.
 *
 * Threads: each `Heap` object belongs to one thread (its own `Arena` instance, views and
 * tier state). `createHeap` formats and attaches; `attachHeap` attaches; `detach` flushes
 * the thread's caches and releases its slot; `reclaimThread` does the same for a dead
 * thread from any other thread, after breaking any lock it held.
 *
 * Invariants (checked by `Heap.check()` through the layers):
 * - every committed page is covered by exactly one run (arena);
 * - a TIER_RUN run is one live user block;
 * - a TIER_TINY page belongs to a SuperSlab whose slabs the tiny tier validates.
 */

/** Element types accepted by `mallocAs`, with their typed-array constructors' element sizes. */
export const MALLOC_AS_TYPES = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  f64: 8,
  i64: 8,
  u64: 8,
} as const;

export type ElementType = keyof typeof MALLOC_AS_TYPES;

/** Smallest and largest alignment `memalign` accepts (posix_memalign's lower bound). */
export const MIN_ALIGNMENT = 8;
export const MAX_ALIGNMENT = 65536;

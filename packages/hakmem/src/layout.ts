/**
 * hakmem umbrella — composition and routing; it keeps no tables of its own.
 *
 *   createHeap({ tiers })                       the composition: tiers in size order, each
 *     └─► arena.tierOpen(kind, min, max) …      recorded in the arena's tier directory
 *
 *   malloc(size)                               free(ptr)
 *     size ≤ first tier's max ─► first.malloc     first.freeOwned(ptr) ─► done (the tiny tier:
 *     otherwise ─► the tier whose range holds it                          this thread's block)
 *                                                otherwise page map ─► tier id ─► tier.freeAt
 *                                                  (another thread's tiny block: first.freeAt)
 *                                                TIER_FREE (page-aligned) ─► ERR_DOUBLE_FREE
 *                                                anything else ─► ERR_INVALID_POINTER
 *
 * Threads: each `Heap` object belongs to one thread (its own `Arena` instance, views and tier
 * handles). `attachHeap` rebuilds the composition from the directory (built-in kinds, or the
 * `tiers` it is given, which must match). `detach` detaches every tier and releases the slot;
 * `reclaimThread` breaks the dead thread's locks, reclaims it in every tier, releases its slot.
 */

/**
 * Element types accepted by `mallocAs`: u8/i8 (1 byte), u16/i16 (2), u32/i32/f32 (4),
 * f64/i64/u64 (8).
 */
export type ElementType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64' | 'i64' | 'u64';

/** A typed array `mallocAs` returns (and `free` accepts). */
export type AnyTypedArray =
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

/** @internal Element sizes of the element types, in bytes. */
export const MALLOC_AS_TYPES: Readonly<Record<ElementType, number>> = {
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
};

/** Smallest and largest alignment `memalign` accepts (posix_memalign's lower bound). */
export const MIN_ALIGNMENT = 8;
export const MAX_ALIGNMENT = 65536;

import type { Arena } from './arena';

/**
 * # The tier contract
 *
 * A tier is a complete allocator for one range of request sizes, built on the page arena: it
 * takes page runs with its own tier id (so the page map says which tier owns every page), keeps
 * its shared state in the memory (a root block from the arena's tier directory, per-thread words
 * from `arena.threadTierWords`), and reads the memory only through the arena's views (one owner
 * of the views per thread: whatever grows, replaces or shrinks the buffer, the arena's views are
 * the current ones after `arena.refresh()`).
 *
 * One `Tier` object serves one thread. A composition (the `hakmem` umbrella, or a user's own)
 * routes `malloc` by size to the tier whose range holds it and `free` by the page map's tier id.
 * Every method validates what it is given: a tier used on its own is as safe as inside a heap.
 */
export interface Tier {
  /** The tier's id in the page map and the arena's tier directory. */
  readonly id: number;
  /** Its kind name in the directory ('tiny', 'run', a user's own). */
  readonly kind: string;
  /** The request sizes this heap routes to it (inclusive). */
  readonly minSize: number;
  readonly maxSize: number;

  /** A block of at least `size` bytes (minSize ≤ size ≤ maxSize), 0 when maxBytes cannot hold it. */
  malloc(size: number): number;
  /** A block of at least `size` bytes aligned to `alignment` (a power of two, 8 … 65536); 0 when this tier cannot align it or is out of memory. */
  mallocAligned(alignment: number, size: number): number;
  /**
   * The umbrella's first try on every free (`ptr` a non-negative integer): frees `ptr` and
   * returns true when the tier can tell cheaply that the block is its own; false sends the free
   * down the page-map route (`free`). A tier without such a shortcut returns false.
   */
  freeOwned(ptr: number): boolean;
  /** Frees a block of this tier (any thread's). ERR_INVALID_POINTER / ERR_DOUBLE_FREE with nothing changed. */
  free(ptr: number): void;
  /**
   * Optional. `free` for a composition that has already looked `ptr` up: `entry` is
   * `arena.pageEntry(ptr)` and names this tier. The tier skips its own page-map lookup and
   * validates the rest as `free` does. A composition calls `free` when a tier has no `freeAt`.
   */
  freeAt?(ptr: number, entry: number): void;
  /** Bytes usable in the live block at `ptr`; ERR_INVALID_POINTER unless it is one of this tier's. */
  usableSize(ptr: number): number;
  /** Resizes the live block at `ptr` in place to hold `size` bytes (a size of this tier's range); false when it must move. */
  resize(ptr: number, size: number): boolean;
  /**
   * Optional. The caller (a realloc growing a block that lives in another tier) is about to
   * `malloc(size)` from this tier on this thread: the tier may make sure that block is one that
   * can later grow in place (e.g. alone in a run with room after it). Changes no block in use.
   */
  growHint?(size: number): void;

  /** This thread's cached blocks back to the tier's shared structures. */
  flush(): void;
  /** The thread is leaving: flush, give its state back; the object is unusable afterwards. */
  detach(): void;
  /** A dead or terminated thread's state comes back (its locks were broken by the caller). */
  reclaim(threadId: number): void;
  /** Empty memory back to the arena; returns the bytes given back. */
  trim(): number;
  /** Walks the tier's structures; ERR_HEAP_CORRUPTED naming any broken invariant. */
  check(): void;
  /** Heap-wide figures of the tier (exact when every thread is quiescent). */
  stats(): TierStats;
  /** Fraction of the bytes of the run of `pages` pages at `offset` (one of this tier's) handed out. */
  occupancy(offset: number, pages: number): number;
}

/** What every tier's `stats()` has; a tier adds its own figures. */
export interface TierStats {
  liveBlocks: number;
  /** Σ usableSize of the live blocks. */
  liveBytes: number;
}

/**
 * How a composition makes a tier: its kind name (recorded in the heap's tier directory), the
 * largest request it can serve, the root words it needs, and a constructor for one thread.
 */
export interface TierFactory<T extends Tier = Tier> {
  readonly kind: string;
  /** The largest request size the tier can serve at all. */
  readonly sizeLimit: number;
  /** Words of its root block in the tier directory. */
  readonly rootWords: number;
  /**
   * Version of the layer's own layout (its root, lists and block format), recorded with the tier
   * in the heap's directory; a heap recorded by another version is ERR_HEAP_INCOMPATIBLE. Bump it
   * on any change of that layout. Default 1.
   */
  readonly layoutVersion?: number;
  /** This thread's handle on tier `id` of `arena` (the id `arena.tierOpen` gave). */
  create(arena: Arena, id: number): T;
}

/**
 * One small adapter per allocator, so every workload runs the same loop on all of them.
 *
 * A pointer is whatever the allocator hands out (a byte offset, an encoded buffer+offset, or a
 * handle for the garbage collector); workloads only pass it back and read or write one byte at a
 * time through the adapter. One adapter instance belongs to one thread.
 */

export const ALLOCATOR_NAMES = ['hakmem', 'hakmem-fast', 'thi.ng', 'malloc', 'as-tlsf', 'smo', 'gc'] as const;
export type AllocatorName = (typeof ALLOCATOR_NAMES)[number];

export interface Allocator {
  readonly name: string;
  /** A block of at least `size` bytes (size ≥ 1); throws with the reason when it cannot. */
  malloc(size: number): number;
  /** Releases a live block; throws when the allocator rejects the pointer. */
  free(ptr: number): void;
  /** Grows or shrinks a live block, keeping its first min(old, new) bytes. */
  realloc(ptr: number, size: number): number;
  setByte(ptr: number, index: number, value: number): void;
  getByte(ptr: number, index: number): number;
  /** The memory this allocator holds right now (its footprint), in bytes. */
  committedBytes(): number;
  /** What another thread passes to `attach` (thread-safe allocators only). */
  share(): unknown;
  /** Leaves the heap (flushes this thread's caches where there are any). */
  detach(): void;
}

export interface CreateOptions {
  /** Upper bound of memory the workload may need: a growable heap's limit, a fixed heap's size. */
  budgetBytes: number;
}

/** What the CLI and the workloads need to know about one allocator. */
export interface AllocatorInfo {
  readonly name: AllocatorName;
  /** The package and how it is configured, as printed under the table. */
  readonly label: string;
  /** Safe to call from two threads at once on one heap. */
  readonly threadSafe: boolean;
  /** Largest block it can hand out (Infinity when only memory limits it). */
  readonly maxBlock: number;
  /** Why it has no `attach`, or other caveats that belong in the report. */
  readonly notes: string;
  create(options: CreateOptions): Promise<Allocator>;
  /** Joins a heap another thread created (thread-safe allocators only). */
  attach?(shared: unknown): Promise<Allocator>;
}

export class AllocatorError extends Error {
  override name = 'AllocatorError';
}

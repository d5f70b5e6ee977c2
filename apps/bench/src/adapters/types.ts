/**
 * One small adapter per allocator, so every workload runs the same loop on all of them.
 *
 * A pointer is whatever the allocator hands out (a byte offset, an encoded buffer+offset, or a
 * handle for the garbage collector); workloads only pass it back and read or write one byte at a
 * time through the adapter. One adapter instance belongs to one thread.
 */

/** The JS allocators, run through the harness (src/adapters). */
export const ADAPTER_NAMES = [
  'hakmem',
  'hakmem-fast',
  'thi.ng',
  'malloc',
  'as-tlsf',
  'smo',
  'gc',
  'floor',
] as const;
export type AdapterName = (typeof ADAPTER_NAMES)[number];
/** The C references: ports of two workloads built and run outside the harness (src/references). */
export const REFERENCE_NAMES = ['glibc', 'mimalloc', 'em-dlmalloc', 'em-emmalloc'] as const;
export type ReferenceName = (typeof REFERENCE_NAMES)[number];
/** Every column of the table, in order. */
export const ALLOCATOR_NAMES = [...ADAPTER_NAMES, ...REFERENCE_NAMES] as const;
export type AllocatorName = AdapterName | ReferenceName;

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
  /**
   * The byte view the blocks live in, when pointers are byte offsets into one buffer (null when
   * they are not: gc handles, smo's buffer+offset): the harness then touches blocks through it
   * instead of `setByte`/`getByte`. The view may go stale when the memory grows; the harness asks
   * again when an offset lies beyond it.
   */
  bytes(): Uint8Array | null;
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
  readonly name: AdapterName;
  /** The package and how it is configured, as printed under the table. */
  readonly label: string;
  /** Safe to call from two threads at once on one heap. */
  readonly threadSafe: boolean;
  /** Largest block it can hand out (Infinity when only memory limits it). */
  readonly maxBlock: number;
  /** Why it has no `attach`, or other caveats that belong in the report. */
  readonly notes: string;
  /** The note of a cell whose blocks are larger than `maxBlock` (default: its largest block). */
  readonly tooLargeNote?: string;
  create(options: CreateOptions): Promise<Allocator>;
  /** Joins a heap another thread created (thread-safe allocators only). */
  attach?(shared: unknown): Promise<Allocator>;
}

export class AllocatorError extends Error {
  override name = 'AllocatorError';
}

/** Why a workload whose blocks reach `largest` bytes cannot run on this allocator, if it cannot. */
export function tooLarge(info: AllocatorInfo, largest: number): string | undefined {
  if (largest <= info.maxBlock) return undefined;
  return (
    info.tooLargeNote ?? `unsupported: its largest block is ${info.maxBlock.toLocaleString('en-US')} bytes`
  );
}

import type { Allocator } from '../adapters/types';
import { fold, tagFirst, tagLast } from '../prng';

/**
 * A table of live blocks as the workloads keep them: pointer, requested size, and the random
 * draw its tags came from. Every new block gets its first and last byte written; every block is
 * read back before it is freed, compared with what was written, and folded into the checksum.
 */
export class BlockTable {
  readonly ptrs: Float64Array;
  readonly sizes: Int32Array;
  readonly tags: Int32Array;
  /** Running checksum of everything read back. */
  checksum = 0;
  /** Reads that did not return what was written (a broken allocator). */
  corrupt = 0;

  constructor(
    readonly capacity: number,
    buffers?: { ptrs: Float64Array; sizes: Int32Array; tags: Int32Array },
  ) {
    this.ptrs = buffers?.ptrs ?? new Float64Array(capacity);
    this.sizes = buffers?.sizes ?? new Int32Array(capacity);
    this.tags = buffers?.tags ?? new Int32Array(capacity);
  }

  /** malloc(size) into slot i, tagging its first and last byte from r. */
  place(a: Allocator, i: number, size: number, r: number): void {
    const p = a.malloc(size);
    a.setByte(p, 0, tagFirst(r));
    a.setByte(p, size - 1, tagLast(r));
    this.ptrs[i] = p;
    this.sizes[i] = size;
    this.tags[i] = r;
  }

  /** Reads slot i's tags back, checks and folds them. */
  verify(a: Allocator, i: number): void {
    const p = this.ptrs[i]!;
    const r = this.tags[i]!;
    const first = a.getByte(p, 0);
    const last = a.getByte(p, this.sizes[i]! - 1);
    if (first !== tagFirst(r) || last !== tagLast(r)) this.corrupt++;
    this.checksum = fold(this.checksum, first | (last << 8));
  }

  /** verify, then free slot i. */
  release(a: Allocator, i: number): void {
    this.verify(a, i);
    a.free(this.ptrs[i]!);
    this.ptrs[i] = 0;
  }
}

import type { Allocator } from '../adapters/types';
import { fold, tagFirst, tagLast } from '../prng';

/**
 * A table of live blocks as the workloads keep them: pointer, requested size, and the random
 * draw its tags came from. Every new block gets its first and last byte written; every block is
 * read back before it is freed, compared with what was written, and folded into the checksum.
 * Those touches are the workloads' definition; everything else here is harness cost, kept small:
 *
 * - the table belongs to one allocator (one adapter, one thread), so every call site in it sees
 *   one adapter class and V8 inlines the adapter's methods;
 * - when the allocator's pointers are byte offsets into one buffer (`Allocator.bytes()`), the
 *   touches go straight to that byte view, kept here and fetched again only when an offset lies
 *   beyond it (the memory grew, here or in another thread); the others (gc, smo, the model) go
 *   through `getByte`/`setByte`;
 * - `replace` runs a whole stretch of free+malloc pairs with the arrays and the checksum in
 *   locals (churn's timed loop).
 */
export class BlockTable {
  readonly ptrs: Uint32Array;
  readonly sizes: Int32Array;
  readonly tags: Int32Array;
  /** Running checksum of everything read back. */
  checksum = 0;
  /** Reads that did not return what was written (a broken allocator). */
  corrupt = 0;
  /** The allocator's byte view, or null when its blocks are not offsets into one buffer. */
  private u8: Uint8Array | null;

  constructor(
    readonly a: Allocator,
    readonly capacity: number,
    buffers?: { ptrs: Uint32Array; sizes: Int32Array; tags: Int32Array },
  ) {
    this.ptrs = buffers?.ptrs ?? new Uint32Array(capacity);
    this.sizes = buffers?.sizes ?? new Int32Array(capacity);
    this.tags = buffers?.tags ?? new Int32Array(capacity);
    this.u8 = a.bytes();
  }

  /** The allocator's current byte view (after its memory grew). */
  private refresh(): Uint8Array {
    const u8 = this.a.bytes()!;
    this.u8 = u8;
    return u8;
  }

  /** malloc(size) into slot i, tagging its first and last byte from r. */
  place(i: number, size: number, r: number): void {
    const a = this.a;
    const p = a.malloc(size);
    let u8 = this.u8;
    if (u8 !== null) {
      if (p + size > u8.length) u8 = this.refresh();
      u8[p] = tagFirst(r);
      u8[p + size - 1] = tagLast(r);
    } else {
      a.setByte(p, 0, tagFirst(r));
      a.setByte(p, size - 1, tagLast(r));
    }
    this.ptrs[i] = p;
    this.sizes[i] = size;
    this.tags[i] = r;
  }

  /** Reads slot i's tags back, checks and folds them. */
  verify(i: number): void {
    const p = this.ptrs[i]!;
    const size = this.sizes[i]!;
    const r = this.tags[i]!;
    let u8 = this.u8;
    let first: number;
    let last: number;
    if (u8 !== null) {
      if (p + size > u8.length) u8 = this.refresh();
      first = u8[p]!;
      last = u8[p + size - 1]!;
    } else {
      first = this.a.getByte(p, 0);
      last = this.a.getByte(p, size - 1);
    }
    if (first !== tagFirst(r) || last !== tagLast(r)) this.corrupt++;
    this.checksum = fold(this.checksum, first | (last << 8));
  }

  /** verify, then free slot i. */
  release(i: number): void {
    this.verify(i);
    this.a.free(this.ptrs[i]!);
    this.ptrs[i] = 0;
  }

  /**
   * For k in [from, to): release slot slots[k], then place a block of sizes[k] bytes tagged from
   * tags[k] in it. The same touches and checks as release + place, in one loop.
   */
  replace(slots: Int32Array, sizes: Int32Array, tags: Int32Array, from: number, to: number): void {
    if (this.u8 !== null) this.replaceFlat(slots, sizes, tags, from, to);
    else this.replaceGeneric(slots, sizes, tags, from, to);
  }

  private replaceFlat(
    slots: Int32Array,
    sizes: Int32Array,
    tags: Int32Array,
    from: number,
    to: number,
  ): void {
    const a = this.a;
    const ptrs = this.ptrs;
    const bsizes = this.sizes;
    const btags = this.tags;
    let u8 = this.u8!;
    let checksum = this.checksum;
    let corrupt = 0;
    for (let k = from; k < to; k++) {
      const i = slots[k]!;
      const p = ptrs[i]!;
      const old = bsizes[i]!;
      const r = btags[i]!;
      if (p + old > u8.length) u8 = this.refresh();
      const first = u8[p]!;
      const last = u8[p + old - 1]!;
      if (first !== tagFirst(r) || last !== tagLast(r)) corrupt++;
      checksum = fold(checksum, first | (last << 8));
      a.free(p);
      const size = sizes[k]!;
      const r2 = tags[k]!;
      const q = a.malloc(size);
      if (q + size > u8.length) u8 = this.refresh();
      u8[q] = tagFirst(r2);
      u8[q + size - 1] = tagLast(r2);
      ptrs[i] = q;
      bsizes[i] = size;
      btags[i] = r2;
    }
    this.checksum = checksum;
    this.corrupt += corrupt;
  }

  private replaceGeneric(
    slots: Int32Array,
    sizes: Int32Array,
    tags: Int32Array,
    from: number,
    to: number,
  ): void {
    const a = this.a;
    const ptrs = this.ptrs;
    const bsizes = this.sizes;
    const btags = this.tags;
    let checksum = this.checksum;
    let corrupt = 0;
    for (let k = from; k < to; k++) {
      const i = slots[k]!;
      const p = ptrs[i]!;
      const r = btags[i]!;
      const first = a.getByte(p, 0);
      const last = a.getByte(p, bsizes[i]! - 1);
      if (first !== tagFirst(r) || last !== tagLast(r)) corrupt++;
      checksum = fold(checksum, first | (last << 8));
      a.free(p);
      const size = sizes[k]!;
      const r2 = tags[k]!;
      const q = a.malloc(size);
      a.setByte(q, 0, tagFirst(r2));
      a.setByte(q, size - 1, tagLast(r2));
      ptrs[i] = q;
      bsizes[i] = size;
      btags[i] = r2;
    }
    this.checksum = checksum;
    this.corrupt += corrupt;
  }
}

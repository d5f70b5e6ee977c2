import type { Allocator } from '../adapters/types';
import { fold, tagFirst, tagLast } from '../prng';

// The layouts, as const enums so the build writes the numbers into the loops (V8 reloads and
// re-checks a module-level constant at every use in optimised code).
const enum Slot {
  /** Int32 words per slot of a block table: pointer (as uint32 bits), requested size, tag draw. */
  WORDS = 3,
}
const enum Pair {
  /** Int32 words per pre-drawn pair (`BlockTable.replace`): slot × SLOT_WORDS, size, tag draw. */
  WORDS = 3,
}
/** Int32 words per slot of a block table: pointer (as uint32 bits), requested size, tag draw. */
export const SLOT_WORDS: number = Slot.WORDS;
/** Int32 words per pre-drawn pair (`BlockTable.replace`): slot × SLOT_WORDS, size, tag draw. */
export const PAIR_WORDS: number = Pair.WORDS;

/**
 * A table of live blocks as the workloads keep them: pointer, requested size, and the random
 * draw its tags came from. Every new block gets its first and last byte written; every block is
 * read back before it is freed, compared with what was written, and folded into the checksum.
 * Those touches are the workloads' definition; everything else here is harness cost, kept small
 * (the `floor` column shows what is left of it):
 *
 * - the table belongs to one allocator (one adapter, one thread), so every call site in it sees
 *   one adapter class and V8 inlines the adapter's methods;
 * - when the allocator's pointers are byte offsets into one buffer (`Allocator.bytes()`), the
 *   touches go straight to that byte view, kept here and fetched again only when an offset lies
 *   beyond it (the memory grew, here or in another thread); the others (gc, smo, the model) go
 *   through `getByte`/`setByte`;
 * - the three fields of a slot sit side by side in one Int32Array (one typed array to load and
 *   check, one cache line per slot), and can live in a SharedArrayBuffer shared by workers;
 * - `replace` runs a stretch of pre-drawn free+malloc pairs (churn's timed loop) with everything
 *   in locals, the checksum as an int32, and the tag and fold arithmetic written out.
 */
export class BlockTable {
  /** SLOT_WORDS words per slot: pointer (uint32 bits), size, tag draw. */
  readonly slots: Int32Array;
  /** Running checksum of everything read back (uint32). */
  checksum = 0;
  /** Reads that did not return what was written (a broken allocator). */
  corrupt = 0;
  /** The allocator's byte view, or null when its blocks are not offsets into one buffer. */
  private u8: Uint8Array | null;

  /** Where the pre-drawn pairs start in `slots` (after the table), if there are any. */
  readonly pairsAt: number;

  constructor(
    readonly a: Allocator,
    readonly capacity: number,
    /** Shared storage (capacity × SLOT_WORDS words), when workers share the table. */
    slots?: Int32Array,
    /**
     * Room for this many pre-drawn pairs (`setPair`, `replace`) after the table, in the same
     * array: one typed array for the loop to load and check instead of two.
     */
    pairs = 0,
    /**
     * Where this table's pre-drawn pairs start in `slots` (default: right after the table). Workers
     * sharing one table each draw their pairs into their own stretch of the shared array.
     */
    pairsAt = capacity * Slot.WORDS,
  ) {
    this.slots = slots ?? new Int32Array(pairsAt + pairs * Pair.WORDS);
    this.pairsAt = pairsAt;
    this.u8 = a.bytes();
  }

  /** Pre-draws pair k: free slot `slot`, then malloc `size` bytes tagged from `tag` there. */
  setPair(k: number, slot: number, size: number, tag: number): void {
    const s = this.slots;
    const at = this.pairsAt + k * Pair.WORDS;
    s[at] = slot * Slot.WORDS;
    s[at + 1] = size;
    s[at + 2] = tag;
  }

  /** Pointer in slot i (0 once released). */
  ptr(i: number): number {
    return this.slots[i * Slot.WORDS]! >>> 0;
  }
  /** Requested size of the block in slot i. */
  size(i: number): number {
    return this.slots[i * Slot.WORDS + 1]!;
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
      u8[p] = (r & 0x7f) | 0x80; // tagFirst(r), written out (see replaceFlat)
      u8[p + size - 1] = (r >>> 8) & 0x7f || 1; // tagLast(r)
    } else {
      a.setByte(p, 0, tagFirst(r));
      a.setByte(p, size - 1, tagLast(r));
    }
    const s = this.slots;
    const w = i * Slot.WORDS;
    s[w] = p;
    s[w + 1] = size;
    s[w + 2] = r;
  }

  /** Reads slot i's tags back, checks and folds them. */
  verify(i: number): void {
    const s = this.slots;
    const w = i * Slot.WORDS;
    const p = s[w]! >>> 0;
    const size = s[w + 1]!;
    const r = s[w + 2]!;
    let u8 = this.u8;
    let first: number;
    let last: number;
    if (u8 !== null) {
      // Another thread may have allocated this block after the memory grew there.
      if (p + size > u8.length) u8 = this.refresh();
      first = u8[p]!;
      last = u8[p + size - 1]!;
      // tagFirst, tagLast and fold written out (see replaceFlat).
      if (first !== ((r & 0x7f) | 0x80) || last !== ((r >>> 8) & 0x7f || 1)) this.corrupt++;
      const h = Math.imul(this.checksum ^ (first | (last << 8)), 0x01000193);
      this.checksum = (h ^ (h >>> 15)) >>> 0;
      return;
    }
    first = this.a.getByte(p, 0);
    last = this.a.getByte(p, size - 1);
    if (first !== tagFirst(r) || last !== tagLast(r)) this.corrupt++;
    this.checksum = fold(this.checksum, first | (last << 8));
  }

  /** verify, then free slot i. */
  release(i: number): void {
    this.verify(i);
    this.a.free(this.slots[i * Slot.WORDS]! >>> 0);
    this.slots[i * Slot.WORDS] = 0;
  }

  /**
   * For each pre-drawn pair k in [from, to) (`setPair`): release that slot, then place a block of
   * that size tagged from that draw in it. The same touches, checks and checksum as release +
   * place, in one loop for one thread.
   */
  replace(from: number, to: number): void {
    if (this.u8 !== null) this.replaceFlat(from, to);
    else this.replaceGeneric(from, to);
  }

  /**
   * replace on a table workers share (larson): the blocks read back may have been written by
   * another thread after the memory grew beyond this thread's view, so the read is bounds-checked
   * too. Otherwise the same loop as replace.
   */
  replaceShared(from: number, to: number): void {
    if (this.u8 !== null) this.replaceFlatShared(from, to);
    else this.replaceGeneric(from, to);
  }

  /** replaceFlat with the read of another thread's block checked against the view's length. */
  private replaceFlatShared(from: number, to: number): void {
    const a = this.a;
    const s = this.slots;
    const at = this.pairsAt;
    let u8 = this.u8!;
    let h = this.checksum | 0;
    let corrupt = 0;
    for (let k = at + from * Pair.WORDS, end = at + to * Pair.WORDS; k < end; k += Pair.WORDS) {
      const w = s[k]!;
      const p = s[w]! >>> 0;
      const old = s[w + 1]!;
      const r = s[w + 2]!;
      if (p + old > u8.length) u8 = this.refresh();
      const first = u8[p]!;
      const last = u8[p + old - 1]!;
      if (first !== ((r & 0x7f) | 0x80) || last !== ((r >>> 8) & 0x7f || 1)) corrupt++;
      h = Math.imul(h ^ (first | (last << 8)), 0x01000193);
      h ^= h >>> 15;
      a.free(p);
      const size = s[k + 1]!;
      const r2 = s[k + 2]!;
      const q = a.malloc(size);
      if (q + size > u8.length) u8 = this.refresh();
      u8[q] = (r2 & 0x7f) | 0x80;
      u8[q + size - 1] = (r2 >>> 8) & 0x7f || 1;
      s[w] = q;
      s[w + 1] = size;
      s[w + 2] = r2;
    }
    this.checksum = h >>> 0;
    this.corrupt += corrupt;
  }

  /**
   * replace through the byte view. The tag and fold arithmetic is prng.ts's tagFirst, tagLast
   * and fold written out (V8 checks a module-level function's identity at each call); the model,
   * which goes through getByte/setByte and calls them, checks that they agree. One thread: a block read here was written through
   * this view or an older one, which the view still covers, so only a malloc can need a new view.
   */
  private replaceFlat(from: number, to: number): void {
    const a = this.a;
    const s = this.slots;
    const at = this.pairsAt;
    let u8 = this.u8!;
    let h = this.checksum | 0;
    let corrupt = 0;
    for (let k = at + from * Pair.WORDS, end = at + to * Pair.WORDS; k < end; k += Pair.WORDS) {
      const w = s[k]!;
      const p = s[w]! >>> 0;
      const old = s[w + 1]!;
      const r = s[w + 2]!;
      const first = u8[p]!;
      const last = u8[p + old - 1]!;
      if (first !== ((r & 0x7f) | 0x80) || last !== ((r >>> 8) & 0x7f || 1)) corrupt++;
      h = Math.imul(h ^ (first | (last << 8)), 0x01000193);
      h ^= h >>> 15;
      a.free(p);
      const size = s[k + 1]!;
      const r2 = s[k + 2]!;
      const q = a.malloc(size);
      if (q + size > u8.length) u8 = this.refresh();
      u8[q] = (r2 & 0x7f) | 0x80;
      u8[q + size - 1] = (r2 >>> 8) & 0x7f || 1;
      s[w] = q;
      s[w + 1] = size;
      s[w + 2] = r2;
    }
    this.checksum = h >>> 0;
    this.corrupt += corrupt;
  }

  private replaceGeneric(from: number, to: number): void {
    const a = this.a;
    const s = this.slots;
    const at = this.pairsAt;
    let h = this.checksum;
    let corrupt = 0;
    for (let k = at + from * Pair.WORDS, end = at + to * Pair.WORDS; k < end; k += Pair.WORDS) {
      const w = s[k]!;
      const p = s[w]! >>> 0;
      const r = s[w + 2]!;
      const first = a.getByte(p, 0);
      const last = a.getByte(p, s[w + 1]! - 1);
      if (first !== tagFirst(r) || last !== tagLast(r)) corrupt++;
      h = fold(h, first | (last << 8));
      a.free(p);
      const size = s[k + 1]!;
      const r2 = s[k + 2]!;
      const q = a.malloc(size);
      a.setByte(q, 0, tagFirst(r2));
      a.setByte(q, size - 1, tagLast(r2));
      s[w] = q;
      s[w + 1] = size;
      s[w + 2] = r2;
    }
    this.checksum = h;
    this.corrupt += corrupt;
  }
}

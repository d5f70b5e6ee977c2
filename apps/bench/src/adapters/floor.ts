import { type Allocator, AllocatorError, type AllocatorInfo, type CreateOptions } from './types';

/**
 * The floor: the physical limit for small blocks in JavaScript, run through the same harness as
 * every allocator, so a table shows the harness's own cost and how far each allocator is from
 * the limit. A bare segregated free list over one SharedArrayBuffer:
 *
 * - hakmem's tiny size classes (8 B, 16-byte steps to 128 B, four per doubling to 1 KiB);
 * - one LIFO free list per class, its link in the block's first u32 (0 ends a list);
 * - fresh blocks bumped from the current 64 KiB page of their class, pages bumped from the
 *   buffer; a byte per page says its class, which is how `free` finds the list;
 * - no checks (a double free or a foreign pointer corrupts it), no threads, no statistics.
 *
 * It serves 1 B – 1 KiB; realloc is malloc + copy + free within that range.
 */

/** The largest block. */
export const FLOOR_MAX_SIZE = 1024;
const SIZES = [
  8, 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
];
const PAGE_SHIFT = 16;
const PAGE_BYTES = 1 << PAGE_SHIFT;

/** Class of a request, indexed by (size + 7) >>> 3. */
const CLASS_BY_SIZE8 = (() => {
  const table = new Uint8Array((FLOOR_MAX_SIZE >>> 3) + 1);
  let c = 0;
  for (let i = 0; i < table.length; i++) {
    while (SIZES[c]! < i * 8) c++;
    table[i] = c;
  }
  return table;
})();
const CLASS_SIZE = Int32Array.from(SIZES);

export class FloorAllocator implements Allocator {
  readonly name = 'floor' as const;
  /** The whole buffer; blocks are byte offsets into it. */
  readonly u8: Uint8Array;
  private readonly u32: Int32Array;
  /** Free-list head of each class (0: empty). */
  private readonly heads = new Int32Array(SIZES.length);
  /** Next fresh block and end of the current page, per class. */
  private readonly tops = new Int32Array(SIZES.length);
  private readonly ends = new Int32Array(SIZES.length);
  /** Class of each page handed out. */
  private readonly pageClass: Uint8Array;
  /** Pages are bumped from here; page 0 is never handed out, so no block is at offset 0. */
  private brk = PAGE_BYTES;

  constructor(bytes: number) {
    const size = Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES + PAGE_BYTES;
    const sab = new SharedArrayBuffer(size);
    this.u8 = new Uint8Array(sab);
    this.u32 = new Int32Array(sab);
    this.pageClass = new Uint8Array(size >>> PAGE_SHIFT);
  }

  malloc(size: number): number {
    const c = CLASS_BY_SIZE8[(size + 7) >>> 3];
    // Past the table (above 1 KiB): V8 compiles this to nothing until it happens.
    if (c === undefined) throw new AllocatorError(`floor: serves 1 B – 1 KiB, not ${size} bytes`);
    const p = this.heads[c]!;
    if (p !== 0) {
      this.heads[c] = this.u32[p >>> 2]!;
      return p;
    }
    const q = this.tops[c]!;
    const next = q + CLASS_SIZE[c]!;
    if (next <= this.ends[c]!) {
      this.tops[c] = next;
      return q;
    }
    return this.fresh(c);
  }

  /** A new page for class c, and its first block (off the common path). */
  private fresh(c: number): number {
    const page = this.brk;
    if (page + PAGE_BYTES > this.u8.length) {
      throw new AllocatorError(`floor: its ${this.u8.length}-byte buffer is full`);
    }
    this.brk = page + PAGE_BYTES;
    this.pageClass[page >>> PAGE_SHIFT] = c;
    this.tops[c] = page + CLASS_SIZE[c]!;
    this.ends[c] = page + PAGE_BYTES;
    return page;
  }

  free(ptr: number): void {
    const c = this.pageClass[ptr >>> PAGE_SHIFT]!;
    this.u32[ptr >>> 2] = this.heads[c]!;
    this.heads[c] = ptr;
  }

  realloc(ptr: number, size: number): number {
    const old = CLASS_SIZE[this.pageClass[ptr >>> PAGE_SHIFT]!]!;
    const p = this.malloc(size);
    this.u8.copyWithin(p, ptr, ptr + Math.min(old, size));
    this.free(ptr);
    return p;
  }

  setByte(ptr: number, index: number, value: number): void {
    this.u8[ptr + index] = value;
  }
  getByte(ptr: number, index: number): number {
    return this.u8[ptr + index]!;
  }
  bytes(): Uint8Array {
    return this.u8;
  }
  committedBytes(): number {
    return this.brk - PAGE_BYTES;
  }
  share(): unknown {
    throw new AllocatorError('floor is single-threaded');
  }
  detach(): void {}
}

export const floor: AllocatorInfo = {
  name: 'floor',
  label:
    'the floor: a bare segregated free list over a SharedArrayBuffer (hakmem’s tiny classes, 8 B – 1 KiB; LIFO list per class, link in the block’s first u32; bump from 64 KiB pages; no checks, no threads, no stats)',
  threadSafe: false,
  maxBlock: FLOOR_MAX_SIZE,
  notes:
    'the physical limit for small blocks in JS, run through the same harness: its number is mostly the harness’s own cost (the block touches and the loop); it serves blocks up to 1 KiB only',
  tooLargeNote:
    'unsupported: the floor serves small blocks only (up to 1 KiB, hakmem’s tiny tier): it is the limit for those, not an allocator for larger ones',
  async create({ budgetBytes }: CreateOptions) {
    return new FloorAllocator(budgetBytes);
  },
};

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
 * - its state (list heads, bump pointers, class tables) in the buffer's first page, read through
 *   the two views it has anyway, as a C allocator keeps it in a struct;
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

// Page 0 of the buffer holds the state (never handed out, so no block is at offset 0). In i32 words:
const HEADS = 0; // free-list head of each class (0: empty)
const TOPS = 32; // next fresh block of each class's current page
const ENDS = 64; // end of each class's current page
const CLASS_SIZE = 96; // block size of each class
// In bytes:
const CLASS_BY_SIZE8 = 1024; // class of a request, at (size + 7) >>> 3, for 0 … 1024 B
const PAGE_CLASS = 2048; // class of each page handed out, at offset >>> 16 (up to 62 K pages: 4 GiB)

export class FloorAllocator implements Allocator {
  readonly name = 'floor' as const;
  /** The whole buffer; blocks are byte offsets into it. */
  readonly u8: Uint8Array;
  /** The same buffer in i32 words: the state, and the free-list links in the blocks. */
  private readonly m: Int32Array;
  /** Pages are bumped from here. */
  private brk = PAGE_BYTES;

  constructor(bytes: number) {
    const size = Math.min(2 ** 32 - PAGE_BYTES, Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES + PAGE_BYTES);
    const sab = new SharedArrayBuffer(size);
    this.u8 = new Uint8Array(sab);
    this.m = new Int32Array(sab);
    for (let c = 0; c < SIZES.length; c++) this.m[CLASS_SIZE + c] = SIZES[c]!;
    for (let i = 0, c = 0; i <= FLOOR_MAX_SIZE >>> 3; i++) {
      while (SIZES[c]! < i * 8) c++;
      this.u8[CLASS_BY_SIZE8 + i] = c;
    }
  }

  malloc(size: number): number {
    if (!(size <= FLOOR_MAX_SIZE)) throw new AllocatorError(`floor: serves 1 B – 1 KiB, not ${size} bytes`);
    const m = this.m;
    const c = this.u8[CLASS_BY_SIZE8 + ((size + 7) >>> 3)]!;
    const p = m[HEADS + c]!;
    if (p !== 0) {
      m[HEADS + c] = m[p >>> 2]!;
      return p >>> 0;
    }
    const q = m[TOPS + c]!;
    const next = q + m[CLASS_SIZE + c]!;
    if (next <= m[ENDS + c]!) {
      m[TOPS + c] = next;
      return q >>> 0;
    }
    // A new page for the class (inline, not a call: a call in the harness's loop would make V8
    // reload and re-check every array and field after it, on every pair).
    const page = this.brk;
    if (page + PAGE_BYTES > this.u8.length) {
      throw new AllocatorError(`floor: its ${this.u8.length}-byte buffer is full`);
    }
    this.brk = page + PAGE_BYTES;
    this.u8[PAGE_CLASS + (page >>> PAGE_SHIFT)] = c;
    m[TOPS + c] = page + m[CLASS_SIZE + c]!;
    m[ENDS + c] = page + PAGE_BYTES;
    return page;
  }

  free(ptr: number): void {
    const m = this.m;
    const c = this.u8[PAGE_CLASS + (ptr >>> PAGE_SHIFT)]!;
    m[ptr >>> 2] = m[HEADS + c]!;
    m[HEADS + c] = ptr;
  }

  realloc(ptr: number, size: number): number {
    const old = this.m[CLASS_SIZE + this.u8[PAGE_CLASS + (ptr >>> PAGE_SHIFT)]!]!;
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

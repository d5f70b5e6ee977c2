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

// The layout, as const enums so the build writes the numbers into the code: V8 reloads and
// re-checks a module-level constant at every use in optimised code.
const enum Limit {
  MAX_SIZE = 1024,
}
const enum Page {
  SHIFT = 16,
  BYTES = 1 << 16,
}
/** Page 0 of the buffer holds the state (never handed out, so no block is at offset 0); in i32 words: */
const enum I32 {
  /** Free-list head of each class (0: empty). */
  HEADS = 0,
  /** Next fresh block of each class's current page. */
  TOPS = 32,
  /** End of each class's current page. */
  ENDS = 64,
  /** Block size of each class. */
  CLASS_SIZE = 96,
}
/** … and in bytes: */
const enum U8 {
  /** Class of a request, at (size + 7) >>> 3, for 0 … 1024 B. */
  CLASS_BY_SIZE8 = 1024,
  /** Class of each page handed out, at offset >>> 16 (up to 62 K pages: 4 GiB). */
  PAGE_CLASS = 2048,
}

export class FloorAllocator implements Allocator {
  readonly name = 'floor' as const;
  /** The whole buffer; blocks are byte offsets into it. */
  readonly u8: Uint8Array;
  /** The same buffer in i32 words: the state, and the free-list links in the blocks. */
  private readonly m: Int32Array;
  /** Pages are bumped from here. */
  private brk = Page.BYTES;

  constructor(bytes: number) {
    const size = Math.min(2 ** 32 - Page.BYTES, Math.ceil(bytes / Page.BYTES) * Page.BYTES + Page.BYTES);
    const sab = new SharedArrayBuffer(size);
    this.u8 = new Uint8Array(sab);
    this.m = new Int32Array(sab);
    for (let c = 0; c < SIZES.length; c++) this.m[I32.CLASS_SIZE + c] = SIZES[c]!;
    for (let i = 0, c = 0; i <= FLOOR_MAX_SIZE >>> 3; i++) {
      while (SIZES[c]! < i * 8) c++;
      this.u8[U8.CLASS_BY_SIZE8 + i] = c;
    }
  }

  malloc(size: number): number {
    if (!(size <= Limit.MAX_SIZE)) throw new AllocatorError(`floor: serves 1 B – 1 KiB, not ${size} bytes`);
    const m = this.m;
    const c = this.u8[U8.CLASS_BY_SIZE8 + ((size + 7) >>> 3)]!;
    const p = m[I32.HEADS + c]!;
    if (p !== 0) {
      m[I32.HEADS + c] = m[p >>> 2]!;
      return p >>> 0;
    }
    const q = m[I32.TOPS + c]!;
    const next = q + m[I32.CLASS_SIZE + c]!;
    if (next <= m[I32.ENDS + c]!) {
      m[I32.TOPS + c] = next;
      return q >>> 0;
    }
    // A new page for the class (inline, not a call: a call in the harness's loop would make V8
    // reload and re-check every array and field after it, on every pair).
    const page = this.brk;
    if (page + Page.BYTES > this.u8.length) {
      throw new AllocatorError(`floor: its ${this.u8.length}-byte buffer is full`);
    }
    this.brk = page + Page.BYTES;
    this.u8[U8.PAGE_CLASS + (page >>> Page.SHIFT)] = c;
    m[I32.TOPS + c] = page + m[I32.CLASS_SIZE + c]!;
    m[I32.ENDS + c] = page + Page.BYTES;
    return page;
  }

  free(ptr: number): void {
    const m = this.m;
    const c = this.u8[U8.PAGE_CLASS + (ptr >>> Page.SHIFT)]!;
    m[ptr >>> 2] = m[I32.HEADS + c]!;
    m[I32.HEADS + c] = ptr;
  }

  realloc(ptr: number, size: number): number {
    const old = this.m[I32.CLASS_SIZE + this.u8[U8.PAGE_CLASS + (ptr >>> Page.SHIFT)]!]!;
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
    return this.brk - Page.BYTES;
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

/**
 * The mid size classes: four per doubling from 1 KiB to 32 KiB (1024, 1280, 1536, 1792, 2048,
 * 2560, …, 32768), and below 1 KiB the tiny tier's classes (16-byte steps to 128 B, then four
 * per doubling) for the small sizes a composition may route here. Every class is a multiple of
 * 16, so its blocks (at spanStart + i × size, spanStart 64 KiB aligned) are 16-byte aligned,
 * and a request of `size` bytes gets at most max(roundUp(size, 16), 1.25 × size) bytes: a class
 * is at most 1.25 × the one below it, or 16 bytes more.
 */
import { PAGE_SIZE } from '@hakmem/page-arena';
import { CLASS_COUNT } from './layout';

/** The largest request of the tier. */
export const MID_MAX_SIZE = 32768;
/** The smallest request the standalone tier is opened for (the sizes above the tiny tier). */
export const MID_MIN_SIZE = 1025;

/** The tier's kind name in the arena's tier directory. */
export const MID_KIND = 'mid';

const SIZES = [
  16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536,
  1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384, 20480, 24576, 28672,
  32768,
];

/** Number of mid size classes. */
export const MID_CLASS_COUNT = CLASS_COUNT;
if (SIZES.length !== CLASS_COUNT) throw new Error('mid-registry: size class table and CLASS_COUNT differ');

/** Block size of each class. */
export const MID_CLASS_SIZE: Int32Array = Int32Array.from(SIZES);

/** Blocks of a span of `pages` pages of `size`-byte blocks. */
export function spanBlocks(size: number, pages: number): number {
  return Math.floor((pages * PAGE_SIZE) / size);
}

/** Least blocks of a span (a span of fewer pages is made only when no nominal run fits). */
export const SPAN_MIN_BLOCKS = 8;
/** Most bytes a span's tail (after its last block) may waste, as a share of the span. */
export const SPAN_MAX_TAIL = 0.02;

/**
 * Pages of each class's span: the fewest pages holding at least SPAN_MIN_BLOCKS blocks with a
 * tail under SPAN_MAX_TAIL of the span (1 page for most classes, 5 for 20 KiB).
 */
export const MID_CLASS_PAGES: Int32Array = Int32Array.from(SIZES, (size) => {
  for (let pages = 1; ; pages++) {
    const blocks = spanBlocks(size, pages);
    if (blocks >= SPAN_MIN_BLOCKS && pages * PAGE_SIZE - blocks * size < SPAN_MAX_TAIL * pages * PAGE_SIZE)
      return pages;
  }
});

/** Blocks of each class's (nominal) span. */
export const MID_CLASS_BLOCKS: Int32Array = Int32Array.from(SIZES, (size, c) =>
  spanBlocks(size, MID_CLASS_PAGES[c]!),
);

/** Trailing zero bits of each class size: size = odd × 2^shift. */
export const MID_CLASS_SHIFT: Int32Array = Int32Array.from(SIZES, (s) => 31 - Math.clz32(s & -s));

/**
 * Inverse of each size's odd factor modulo 2^32. With x = Math.imul(offset, inv) and
 * idx = ((x >>> shift) | (x << -shift)) >>> 0 (a rotation), idx is the block index when the
 * offset (0 ≤ offset < 5 × 64 KiB) is a multiple of the size, and otherwise at least
 * 2^(32 − shift) / odd ≥ 2^17 / 7 > 4096 (above any span's block count): a stray low bit
 * rotates to the top, and a multiple of 2^shift that is not one of the odd factor maps to
 * a value whose product with the odd factor would exceed 2^(32 − shift). So one unsigned
 * comparison `idx < carved` checks "block start, already carved", with no division.
 */
export const MID_CLASS_INV: Int32Array = Int32Array.from(SIZES, (s) => {
  const odd = s / (s & -s);
  let inv = odd;
  for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(odd, inv));
  return inv;
});

/** Block index of `offset` in a span of class `cls`, or > 4096 when it is not a multiple of the size (see MID_CLASS_INV). */
export function midBlockIndex(cls: number, offset: number): number {
  const x = Math.imul(offset, MID_CLASS_INV[cls]!);
  const shift = MID_CLASS_SHIFT[cls]!;
  return ((x >>> shift) | (x << -shift)) >>> 0;
}

/** Class of a request, indexed by `(size + 15) >>> 4` for 0 ≤ size ≤ MID_MAX_SIZE: O(1), no allocation. */
export const MID_CLASS_BY_SIZE16: Uint8Array = (() => {
  const table = new Uint8Array((MID_MAX_SIZE >>> 4) + 1);
  let c = 0;
  for (let i = 0; i < table.length; i++) {
    while (SIZES[c]! < i * 16) c++;
    table[i] = c;
  }
  return table;
})();

/** Class of a request of `size` bytes (0 ≤ size ≤ 32768; 0 → the 16 B class), -1 outside. */
export function midClassOf(size: number): number {
  if (!(size >= 0 && size <= MID_MAX_SIZE)) return -1;
  return MID_CLASS_BY_SIZE16[(size + 15) >>> 4]!;
}

/**
 * Smallest class whose size is ≥ `size` and a multiple of `alignment` (a power of two), so
 * every block of it is aligned (spans start on 64 KiB); -1 when no class fits (alignments above
 * 32 KiB, or sizes the aligned classes cannot hold).
 */
export function midClassAligned(alignment: number, size: number): number {
  let c = midClassOf(size);
  if (c < 0) return -1;
  for (; c < CLASS_COUNT; c++) {
    if (SIZES[c]! % alignment === 0) return c;
  }
  return -1;
}

/** The usableSize bound of a request: max(roundUp(size, 16), ceil(1.25 × size)). */
export function usableBound(size: number): number {
  return Math.max((size + 15) & ~15, Math.ceil(1.25 * size));
}

/**
 * The tiny size classes: 8 B, then 16-byte steps to 128 B, then four classes per doubling to
 * 1 KiB. Every class ≥ 16 B is a multiple of 16, so its blocks (at slabStart + i × size, with
 * slabStart 64 KiB aligned) are 16-byte aligned, and a request of `size` bytes gets at most
 * max(roundUp(size, 16), 1.25 × size) bytes.
 */
import { CLASS_COUNT, SLAB_BYTES } from './layout';

/** The largest tiny request. */
export const TINY_MAX_SIZE = 1024;

/** The tier's kind name in the arena's tier directory. */
export const TINY_KIND = 'tiny';
/**
 * Layout version of the tiny tier (its root, SuperSlab and slab descriptors, per-thread cache and
 * intent records), recorded with the tier in the heap's directory; bumped on any change of them.
 * 2: the cache's live counter counts cached blocks too, intent records, the tier lock taken over
 * by reclaim (version 1 had neither). 3: the thread area's outgoing buffer of remote frees
 * (TS_OUT; a version-2 area is too small for it), and the slabs' remote heads off their
 * descriptors' lines (SL_REMOTE_AT).
 */
export const TINY_LAYOUT_VERSION = 3;

const SIZES = [
  8, 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
];

/** Number of tiny size classes. */
export const TINY_CLASS_COUNT = CLASS_COUNT;
if (SIZES.length !== CLASS_COUNT) throw new Error('superslab: size class table and CLASS_COUNT differ');

/** Block size of each class. */
export const TINY_CLASS_SIZE: Int32Array = Int32Array.from(SIZES);

/** Blocks in a 64 KiB slab of each class. */
export const TINY_CLASS_BLOCKS: Int32Array = Int32Array.from(SIZES, (s) => Math.floor(SLAB_BYTES / s));

/** Trailing zero bits of each class size: size = odd × 2^shift. */
export const TINY_CLASS_SHIFT: Int32Array = Int32Array.from(SIZES, (s) => 31 - Math.clz32(s & -s));

/**
 * Inverse of each size's odd factor modulo 2^32. With x = Math.imul(offset, inv) and
 * idx = ((x >>> shift) | (x << -shift)) >>> 0 (a rotation), idx is the block index when the
 * offset (−65536 < offset < 65536) is a multiple of the size and otherwise at least 2^16 (above
 * any carve mark), so one unsigned comparison
 * `idx < carved` checks "block start, already carved" with no division (exact division by
 * multiplication with the modular inverse; the rotation moves stray low bits to the top).
 */
export const TINY_CLASS_INV: Int32Array = Int32Array.from(SIZES, (s) => {
  const odd = s / (s & -s);
  let inv = odd;
  for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(odd, inv));
  return inv;
});

/** Block index of `offset` in a slab of class `cls`, or ≥ 2^16 when it is not a multiple of the size (see TINY_CLASS_INV). */
export function tinyBlockIndex(cls: number, offset: number): number {
  const x = Math.imul(offset, TINY_CLASS_INV[cls]!);
  const shift = TINY_CLASS_SHIFT[cls]!;
  return ((x >>> shift) | (x << -shift)) >>> 0;
}

/** Class of a request, indexed by `(size + 7) >>> 3` for 0 ≤ size ≤ TINY_MAX_SIZE: O(1), no allocation. */
export const TINY_CLASS_BY_SIZE8: Uint8Array = (() => {
  const table = new Uint8Array((TINY_MAX_SIZE >>> 3) + 1);
  let c = 0;
  for (let i = 0; i < table.length; i++) {
    while (SIZES[c]! < i * 8) c++;
    table[i] = c;
  }
  return table;
})();

/** Class of a request of `size` bytes (0 ≤ size ≤ 1024; 0 → the 8 B class), -1 above the tiny range. */
export function tinyClassOf(size: number): number {
  if (!(size >= 0 && size <= TINY_MAX_SIZE)) return -1;
  return TINY_CLASS_BY_SIZE8[(size + 7) >>> 3]!;
}

/**
 * Smallest class whose size is ≥ `size` and a multiple of `alignment` (a power of two ≥ 8), so
 * every block of it is aligned (slabs start on 64 KiB); -1 when no tiny class fits.
 */
export function tinyClassAligned(alignment: number, size: number): number {
  let c = tinyClassOf(size);
  if (c < 0) return -1;
  for (; c < TINY_CLASS_COUNT; c++) {
    if (TINY_CLASS_SIZE[c]! % alignment === 0) return c;
  }
  return -1;
}

/**
 * The L2.5 size classes: 16-byte steps to 128 B, then four classes per doubling to 1 MiB
 * (2^e + k · 2^(e−2), k = 1 … 4). Consecutive classes differ by at most 25 %, so a request of
 * `size` bytes gets at most max(roundUp(size, 16), 1.25 × size) bytes; every class is a multiple
 * of 16, so its blocks (at spanStart + i × size, spans 64 KiB aligned) are 16-byte aligned.
 *
 * The tier's own range is 32 KiB – 1 MiB, but a composition may route any size up to 1 MiB to
 * it, so the table starts at 16 B.
 *
 * Each class is carved from **spans**: runs of whole 64 KiB pages holding `blocks` blocks. A
 * span's page count is the smallest that leaves at most 1/64 of it unused (a 40 KiB block
 * costs 40 KiB: 8 of them fill 5 pages), at most 16 pages; the 1-block spans of classes ≥ 256 KiB
 * are exact.
 */
import { PAGE_SIZE } from '@hakmem/page-arena';

/** The largest request the tier can serve. */
export const L25_MAX_SIZE = 1024 * 1024;
/** The smallest request of the tier's own range (above the mid tier's 32 KiB). */
export const L25_MIN_SIZE = 32 * 1024 + 1;
/** The tier's kind name in the arena's tier directory. */
export const L25_KIND = 'l25';

/** Classes: 8 of 16-byte steps (16 … 128 B), then 4 per doubling for 2^7 … 2^20. */
export const L25_CLASS_COUNT = 60;
/** Most pages of a span. */
export const SPAN_MAX_PAGES = 16;
/** A span may leave at most 1/SPAN_WASTE_DIVISOR of its bytes unused. */
const SPAN_WASTE_DIVISOR = 64;

/** Per-thread cache: about this many bytes of blocks per class … */
const CACHE_CLASS_BYTES = 256 * 1024;
/** … at most this many blocks per class. */
export const CACHE_MAX_CAP = 8;

/** Class of a request of `size` bytes (0 ≤ size ≤ 1 MiB): O(1), one Math.clz32. */
export function l25ClassOf(size: number): number {
  if (size <= 128) return size <= 16 ? 0 : ((size + 15) >>> 4) - 1;
  const e = 31 - Math.clz32(size - 1);
  return ((e - 5) << 2) + (((size - 1) >>> (e - 2)) & 3);
}

function classSize(cls: number): number {
  if (cls < 8) return (cls + 1) * 16;
  const e = 7 + ((cls - 8) >>> 2);
  return 2 ** e + ((cls - 8) & 3) * 2 ** (e - 2) + 2 ** (e - 2);
}

/** Pages of a span of class size `size`: the fewest that waste at most 1/64, else the least wasteful. */
function spanPages(size: number): number {
  let best = 0;
  let bestWaste = 1;
  for (let pages = Math.ceil(size / PAGE_SIZE); pages <= SPAN_MAX_PAGES; pages++) {
    const bytes = pages * PAGE_SIZE;
    const waste = (bytes % size) / bytes;
    if (waste <= 1 / SPAN_WASTE_DIVISOR) return pages;
    if (best === 0 || waste < bestWaste) {
      best = pages;
      bestWaste = waste;
    }
  }
  return best;
}

/** Block size of each class. */
export const L25_CLASS_SIZE: Int32Array = Int32Array.from({ length: L25_CLASS_COUNT }, (_, c) =>
  classSize(c),
);

/** Pages of a span of each class. */
export const L25_CLASS_PAGES: Int32Array = Int32Array.from(L25_CLASS_SIZE, spanPages);

/** Blocks in a span of each class. */
export const L25_CLASS_BLOCKS: Int32Array = Int32Array.from(L25_CLASS_SIZE, (s, c) =>
  Math.floor((L25_CLASS_PAGES[c]! * PAGE_SIZE) / s),
);

/** Trailing zero bits of each class size: size = odd × 2^shift. */
export const L25_CLASS_SHIFT: Int32Array = Int32Array.from(L25_CLASS_SIZE, (s) => 31 - Math.clz32(s & -s));

/**
 * Inverse of each size's odd factor modulo 2^32: with x = Math.imul(offset, inv) and
 * idx = ((x >>> shift) | (x << -shift)) >>> 0 (a rotation), idx is the block index when the offset
 * in the span is a multiple of the size, and otherwise at least 2^(32 − shift) ≥ 2^12, above any
 * span's block count — one unsigned comparison checks "a block start" (exact division).
 */
export const L25_CLASS_INV: Int32Array = Int32Array.from(L25_CLASS_SIZE, (s) => {
  const odd = s / (s & -s);
  let inv = odd;
  for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(odd, inv));
  return inv;
});

/** Slots of each class's per-thread cache: what its capacity may grow to (classes ≥ 32 KiB: 64 blocks). */
export const CACHE_MAX_SLOTS = 64;

/** Initial per-thread cache capacity of each class (blocks); it grows on demand up to L25_CLASS_SLOTS. */
export const L25_CLASS_CACHE_CAP: Int32Array = Int32Array.from(L25_CLASS_SIZE, (s) =>
  Math.max(1, Math.min(CACHE_MAX_CAP, Math.floor(CACHE_CLASS_BYTES / s))),
);

/** Slots of each class's per-thread cache (the most its capacity grows to). */
export const L25_CLASS_SLOTS: Int32Array = Int32Array.from(L25_CLASS_SIZE, (s, c) =>
  s >= 32 * 1024 ? CACHE_MAX_SLOTS : L25_CLASS_CACHE_CAP[c]!,
);

/** Pages a block of `size` bytes covers at the start of a span. */
export function l25PagesOf(size: number): number {
  return Math.ceil(size / PAGE_SIZE);
}

/** Block index of `offset` in a span of class `cls`, ≥ 2^12 when it is not a multiple of the size. */
export function l25BlockIndex(cls: number, offset: number): number {
  const x = Math.imul(offset, L25_CLASS_INV[cls]!);
  const shift = L25_CLASS_SHIFT[cls]!;
  return ((x >>> shift) | (x << -shift)) >>> 0;
}

/**
 * Smallest class whose size is ≥ `size` and a multiple of `alignment` (a power of two), so every
 * block of it is aligned (spans start on 64 KiB); -1 when none is.
 */
export function l25ClassAligned(alignment: number, size: number): number {
  for (let c = l25ClassOf(size); c < L25_CLASS_COUNT; c++) {
    if (L25_CLASS_SIZE[c]! % alignment === 0) return c;
  }
  return -1;
}

/** The usableSize bound of a request: max(roundUp(size, 16), ceil(1.25 × size)). */
export function l25UsableBound(size: number): number {
  return Math.max((size + 15) & ~15, Math.ceil(1.25 * size));
}

if (
  L25_CLASS_SIZE[L25_CLASS_COUNT - 1] !== L25_MAX_SIZE ||
  l25ClassOf(L25_MAX_SIZE) !== L25_CLASS_COUNT - 1
) {
  throw new Error('l25-pool: the class table does not end at 1 MiB');
}

import { BUCKETS, D_SMALL, USABLE_BOUND_MAX } from './layout';

/**
 * Sizes of the big tier: page counts of requests, usable bytes of runs, and the size buckets
 * of the cache (exact below 8 pages, then 8 log-spaced buckets per doubling).
 */

/** The fast paths' constants as literals (a module-level const is a context load in V8). */
const enum Z {
  Small = 2,
  BoundMax = 1048576,
}
if (Z.Small !== D_SMALL || Z.BoundMax !== USABLE_BOUND_MAX) {
  throw new Error('bigcache: the inlined size constants differ from layout.ts');
}

/** Pages of the run for a request of `size` bytes (size ≤ 2^32 − 64 KiB; 0 still takes a page). */
export function pagesFor(size: number): number {
  return (size + 65535) >>> 16 || 1;
}

/** PM_DESC of a live run asked for `size` bytes: 0 (the whole run is usable) above 1 MiB. */
export function liveDesc(size: number): number {
  return size > Z.BoundMax ? 0 : (size << 2) | Z.Small;
}

/**
 * Usable bytes of a live run of `pages` pages with descriptor `desc`: the whole run, or for a
 * request of ≤ 1 MiB at most max(roundUp(size, 16), ⌈1.25 × size⌉) (a larger run reports the bound).
 */
export function usableOf(desc: number, pages: number): number {
  const bytes = pages * 65536;
  if ((desc & Z.Small) === 0) return bytes;
  const size = desc >>> 2;
  return Math.min(bytes, Math.max((size + 15) & ~15, Math.ceil(1.25 * size), 16));
}

/** Bucket of a cached run of `pages` pages (1 … 65535): 0 … BUCKETS − 1. */
export function bucketOf(pages: number): number {
  if (pages < 8) return pages;
  const k = 31 - Math.clz32(pages);
  return ((k - 2) << 3) + ((pages >>> (k - 3)) & 7);
}

/** Smallest page count of bucket `b` (the inverse of bucketOf at the bucket's lower edge). */
export function bucketLow(b: number): number {
  if (b < 8) return b;
  const k = (b >>> 3) + 2;
  return (8 + (b & 7)) << (k - 3);
}

if (bucketOf(65535) !== BUCKETS - 1) throw new Error('bigcache: BUCKETS does not match bucketOf');

/**
 * Free-run bins: every free run is on the doubly linked list of the bin of its length (bins
 * 1..1023 exact, 1024..1030 by powers of two), linked through PM_DESC of its first page
 * (`prev << FREE_LINK_SHIFT | next`); a two-level bitmap in the header says which bins are
 * non-empty, so best fit is two Math.clz32 steps (plus a scan of at most 64 runs in a log bin).
 * All of it runs under the arena mutex; see layout.ts, "Free runs".
 */
import type { Arena } from './arena';
import { crashPoint } from './crash';
import {
  BIN_BITMAP_WORDS,
  BIN_SUMMARY_WORDS,
  binOf,
  EXACT_BINS,
  FREE_LINK_MASK,
  FREE_LINK_SHIFT,
  HDR_BIN_BITMAP,
  HDR_BIN_HEADS,
  HDR_BIN_SUMMARY,
  HDR_FREE_RUNS,
  PM_DESC,
  PM_RUN_PAGES,
} from './layout';

export function binInsert(arena: Arena, head: number, pages: number): void {
  const hdr = arena.hdr;
  const u32 = arena.u32;
  const bin = binOf(pages);
  const first = hdr[HDR_BIN_HEADS + bin]!;
  if (__DEV__) crashPoint();
  u32[arena.entryOf(head) + PM_DESC] = first;
  if (first !== 0) {
    const link = arena.entryOf(first) + PM_DESC;
    if (__DEV__) crashPoint();
    u32[link] = (u32[link]! & FREE_LINK_MASK) | (head << FREE_LINK_SHIFT);
  }
  if (__DEV__) crashPoint();
  hdr[HDR_BIN_HEADS + bin] = head;
  if (__DEV__) crashPoint();
  hdr[HDR_BIN_BITMAP + (bin >>> 5)]! |= 1 << (bin & 31);
  if (__DEV__) crashPoint();
  hdr[HDR_BIN_SUMMARY + (bin >>> 10)]! |= 1 << ((bin >>> 5) & 31);
  if (__DEV__) crashPoint();
  hdr[HDR_FREE_RUNS]!++;
}

export function binRemove(arena: Arena, head: number, pages: number): void {
  const hdr = arena.hdr;
  const u32 = arena.u32;
  const bin = binOf(pages);
  const link = arena.entryOf(head) + PM_DESC;
  const prev = u32[link]! >>> FREE_LINK_SHIFT;
  const next = u32[link]! & FREE_LINK_MASK;
  if (__DEV__) crashPoint();
  u32[link] = 0;
  if (prev !== 0) {
    const p = arena.entryOf(prev) + PM_DESC;
    if (__DEV__) crashPoint();
    u32[p] = (u32[p]! & ~FREE_LINK_MASK) | next;
  } else {
    if (__DEV__) crashPoint();
    hdr[HDR_BIN_HEADS + bin] = next;
  }
  if (next !== 0) {
    const n = arena.entryOf(next) + PM_DESC;
    if (__DEV__) crashPoint();
    u32[n] = (u32[n]! & FREE_LINK_MASK) | (prev << FREE_LINK_SHIFT);
  }
  if (prev === 0 && next === 0) {
    const w = HDR_BIN_BITMAP + (bin >>> 5);
    if (__DEV__) crashPoint();
    hdr[w]! &= ~(1 << (bin & 31));
    if (__DEV__) crashPoint();
    if (hdr[w] === 0) hdr[HDR_BIN_SUMMARY + (bin >>> 10)]! &= ~(1 << ((bin >>> 5) & 31));
  }
  if (__DEV__) crashPoint();
  hdr[HDR_FREE_RUNS]!--;
}

/** First non-empty bin ≥ bin, -1 if none: two clz32 steps over the two-level bitmap. */
export function binFindFrom(arena: Arena, bin: number): number {
  const hdr = arena.hdr;
  let word = bin >>> 5;
  if (word >= BIN_BITMAP_WORDS) return -1;
  const bits = hdr[HDR_BIN_BITMAP + word]! & (-1 << (bin & 31));
  if (bits !== 0) return (word << 5) + ctz32(bits);
  word++;
  if (word >= BIN_BITMAP_WORDS) return -1;
  let s = word >>> 5;
  let summary = hdr[HDR_BIN_SUMMARY + s]! & (-1 << (word & 31));
  while (summary === 0) {
    if (++s >= BIN_SUMMARY_WORDS) return -1;
    summary = hdr[HDR_BIN_SUMMARY + s]!;
  }
  word = (s << 5) + ctz32(summary);
  return (word << 5) + ctz32(hdr[HDR_BIN_BITMAP + word]!);
}

/** Head page of the smallest free run in `bin` with at least `pages` pages, 0 if none. */
export function binSmallest(arena: Arena, bin: number, pages: number): number {
  const u32 = arena.u32;
  let best = 0;
  let bestPages = 0;
  for (let head = arena.hdr[HDR_BIN_HEADS + bin]!; head !== 0; ) {
    const e = arena.entryOf(head);
    const n = u32[e + PM_RUN_PAGES]!;
    if (n >= pages && (best === 0 || n < bestPages)) {
      best = head;
      bestPages = n;
    }
    head = u32[e + PM_DESC]! & FREE_LINK_MASK;
  }
  return best;
}

/** Highest non-empty bin, 0 if none. */
export function binFindLast(arena: Arena): number {
  for (let w = BIN_BITMAP_WORDS - 1; w >= 0; w--) {
    const bits = arena.hdr[HDR_BIN_BITMAP + w]!;
    if (bits !== 0) return (w << 5) + 31 - Math.clz32(bits);
  }
  return 0;
}

export function binLargest(arena: Arena, bin: number): number {
  let best = 0;
  let bestPages = 0;
  for (let head = arena.hdr[HDR_BIN_HEADS + bin]!; head !== 0; ) {
    const e = arena.entryOf(head);
    if (arena.u32[e + PM_RUN_PAGES]! > bestPages) {
      best = head;
      bestPages = arena.u32[e + PM_RUN_PAGES]!;
    }
    head = arena.u32[e + PM_DESC]! & FREE_LINK_MASK;
  }
  return best;
}

/** Head page of the best-fitting free run for `pages`, 0 if none. */
export function arenaBestFit(arena: Arena, pages: number): number {
  const bin = binOf(pages);
  if (pages < EXACT_BINS) {
    const found = binFindFrom(arena, bin);
    if (found < 0) return 0;
    return found < EXACT_BINS ? arena.hdr[HDR_BIN_HEADS + found]! : binSmallest(arena, found, pages);
  }
  const head = binSmallest(arena, bin, pages);
  if (head !== 0) return head;
  const found = binFindFrom(arena, bin + 1);
  return found < 0 ? 0 : binSmallest(arena, found, pages);
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

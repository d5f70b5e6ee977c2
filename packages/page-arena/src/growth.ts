/**
 * Growth and shrinking of the committed memory, under the arena mutex: the policy (grow by
 * max(needed, min(committed / 8, GROWTH_SLACK_PAGES)) pages — a few growths amortized, never more
 * than 1 MiB committed ahead of use —, or exactly what is needed when the memory refuses more),
 * page-map leaves for the new range (spare 16 KiB blocks, a free page elsewhere, or a page
 * carved from the new range), freeing the new pages, then publishing the growth
 * (HDR_COMMITTED_PAGES, then the HDR_GROWTH counter other threads' refresh() watches). trim()
 * gives a free tail back to a resizable ArrayBuffer the same way. See layout.ts, "Growth".
 */
import type { Arena } from './arena';
import { arenaBestFit, binRemove } from './bins';
import { crashPoint } from './crash';
import {
  HDR_COMMITTED_PAGES,
  HDR_GROWTH,
  HDR_GROWTHS,
  HDR_META_BYTES,
  HDR_META_HEADS,
  HDR_PAGES_BY_TIER,
  HDR_TRIMS,
  HEADER_WORDS,
  INTENT_GROW,
  LEAF_BYTES,
  LEAF_SHIFT,
  MB_FRESH,
  MEMORY_AB_RESIZABLE,
  META_LEAF_SHIFT,
  META_MIN_SHIFT,
  PAGE_SIZE,
  PM_DESC,
  PM_HEAD_PAGE,
  PM_TIER,
  PM_TIER_MASK,
  TIER_FREE,
  TIER_META,
} from './layout';
import { memoryBuffer, memoryGrow, memoryShrink } from './memory';
import {
  metaDesc,
  metaListPushPage,
  metaPagePop,
  metaPageStart,
  metaPopCheck,
  metaSpareBlocks,
} from './meta';
import { intentBegin, intentEnd } from './repair';
import { arenaMarkHead, arenaMarkPages, arenaReleaseLocked, arenaTakeFree } from './runs';

/** Leaves missing for pages [from, to) beyond the spare 16 KiB blocks. */
function arenaLeavesMissing(arena: Arena, from: number, to: number): number {
  let missing = 0;
  for (let leaf = from >>> LEAF_SHIFT; leaf <= (to - 1) >>> LEAF_SHIFT; leaf++) {
    if (arena.u32[arena.leafDir + leaf] === 0) missing++;
  }
  return missing === 0 ? 0 : missing - metaSpareBlocks(arena, META_LEAF_SHIFT, missing);
}

/** Pages that new page-map leaves for [from, to) may take (4 leaves per META page, spare 16 KiB blocks first). */
export function arenaLeafPages(arena: Arena, from: number, to: number): number {
  return Math.ceil(Math.max(0, arenaLeavesMissing(arena, from, to)) / (PAGE_SIZE / LEAF_BYTES));
}

/**
 * Pages a growth commits ahead of the request at most (1 MiB): growing a SharedArrayBuffer or a
 * WebAssembly.Memory is cheap, and committed memory nobody uses is what `stats()` and the
 * fragmentation bench count (committed / 8 left 6 MiB unused at the top of a 69 MiB heap).
 */
export const GROWTH_SLACK_PAGES = 16;

/** Last page the growth policy gives for at least `pages` more pages, 0 if maxBytes cannot. */
export function arenaGrowTarget(arena: Arena, from: number, pages: number, policy: boolean): number {
  let to = Math.min(
    arena.maxPages,
    from +
      (policy
        ? Math.max(pages, Math.min(GROWTH_SLACK_PAGES, Math.ceil((from - arena.basePage) / 8)))
        : pages),
  );
  for (;;) {
    const need = pages + arenaLeafPages(arena, from, Math.max(to, from + pages));
    if (from + need <= to) return to;
    if (from + need > arena.maxPages) return 0;
    to = from + need;
  }
}

/**
 * Grows the memory by at least `pages` usable pages (policy: max(pages, min(committed / 8, 1 MiB))),
 * creates page-map leaves, frees the new pages (coalescing with the last free run), then
 * publishes the growth. `protect` is a page that must stay free (resizeRun's successor), -1 if none.
 */
export function arenaGrowLocked(arena: Arena, pages: number, protect: number): boolean {
  if (pages < 1) pages = 1;
  const from = arena.endPage;
  let to = arenaGrowTarget(arena, from, pages, true);
  if (to === 0) return false;
  if (!memoryGrow(arena.memory, arena.kind, to * PAGE_SIZE)) {
    const least = arenaGrowTarget(arena, from, pages, false);
    if (least === 0 || least >= to || !memoryGrow(arena.memory, arena.kind, least * PAGE_SIZE)) return false;
    to = least;
  }
  const buffer = memoryBuffer(arena.memory);
  if (buffer !== arena.buffer) {
    arena.buffer = buffer;
    arena.hdr = new Int32Array(buffer, arena.base, HEADER_WORDS);
  }
  arena.mapViews(to * PAGE_SIZE);
  arenaLeafSpares(arena, from, to, protect);
  intentBegin(arena, INTENT_GROW, from, to, 0, 0);
  const carved = arenaAddPagesLocked(arena, from, to, protect);
  const hdr = arena.hdr;
  arena.endPage = to;
  if (__DEV__) crashPoint();
  Atomics.store(hdr, HDR_COMMITTED_PAGES, to);
  if (carved !== 0) metaListPushPage(arena, carved, META_LEAF_SHIFT);
  hdr[HDR_GROWTHS]!++;
  arena.seenGrowth = Atomics.add(hdr, HDR_GROWTH, 1) + 1;
  intentEnd(arena);
  return true;
}

/**
 * Before a growth's own step: spare 16 KiB blocks for its missing leaves from free pages below
 * `from` (each page a complete metaAlloc page step of its own), so that the growth takes its
 * leaves from the spare list, carving pages from the new range only when no free page is left.
 */
function arenaLeafSpares(arena: Arena, from: number, to: number, protect: number): void {
  let missing = arenaLeavesMissing(arena, from, to);
  while (missing > 0) {
    const page = arenaBestFit(arena, 1);
    if (page === 0 || page === protect) return;
    arenaTakeFree(arena, page, 1, TIER_META);
    metaPageStart(arena, page, META_LEAF_SHIFT, 0);
    intentEnd(arena);
    missing -= PAGE_SIZE / LEAF_BYTES;
  }
}

/**
 * The new pages [from, to), the growth's step under INTENT_GROW(from, to): leaves for the new
 * range (each published in the leaf directory before it is popped from its spare page, or
 * taken from a page carved from the new range, its blocks in order), the carved pages' entries
 * (class 16 KiB, the blocks not taken fresh), the new free run. Returns the last carved page
 * when it has blocks left (the caller lists it once the pages are committed: format, or
 * arenaGrowLocked), else 0.
 */
export function arenaAddPagesLocked(arena: Arena, from: number, to: number, protect: number): number {
  const hdr = arena.hdr;
  const spares = HDR_META_HEADS + META_LEAF_SHIFT - META_MIN_SHIFT;
  const perPage = PAGE_SIZE / LEAF_BYTES;
  let lo = from;
  let hi = to;
  let carved = 0;
  let carvedUsed = perPage;
  let leafBytes = 0;
  for (let leaf = from >>> LEAF_SHIFT; leaf <= (to - 1) >>> LEAF_SHIFT; leaf++) {
    if (arena.u32[arena.leafDir + leaf] !== 0) continue;
    const first = hdr[spares]! >>> 0;
    let block: number;
    if (first !== 0) {
      block = metaPopCheck(arena, first - 1, META_LEAF_SHIFT);
      if (__DEV__) crashPoint();
      arena.u32[arena.leafDir + leaf] = block >>> 2;
      metaPagePop(arena, first - 1, META_LEAF_SHIFT);
    } else {
      if (carvedUsed === perPage) {
        // No free page outside the new range: carve one (its entry is written below, once its leaf exists).
        carved = protect >= 0 ? --hi : lo++;
        carvedUsed = 0;
      }
      block = carved * PAGE_SIZE + carvedUsed++ * LEAF_BYTES;
      if (__DEV__) crashPoint();
      arena.u32[arena.leafDir + leaf] = block >>> 2;
    }
    if (__DEV__) crashPoint();
    arena.u8.fill(0, block, block + LEAF_BYTES);
    leafBytes += LEAF_BYTES;
  }
  for (let page = from; page < lo; page++)
    arenaMarkCarved(arena, page, page === carved ? carvedUsed : perPage);
  for (let page = hi; page < to; page++) arenaMarkCarved(arena, page, page === carved ? carvedUsed : perPage);
  if (hi > lo) arenaReleaseLocked(arena, lo, hi - lo, hi);
  hdr[HDR_META_BYTES]! += leafBytes;
  return carved !== 0 && carvedUsed < perPage ? carved : 0;
}

/**
 * Page-map entry of a META page carved for leaves while its own leaf did not exist yet: class
 * 16 KiB, its first `used` blocks leaves, the rest fresh.
 */
export function arenaMarkCarved(arena: Arena, page: number, used: number): void {
  arenaMarkPages(arena, page, page, page + 1, TIER_META);
  arenaMarkHead(arena, page, 1, TIER_META);
  const perPage = PAGE_SIZE / LEAF_BYTES;
  if (used < perPage) {
    if (__DEV__) crashPoint();
    arena.u32[((page * PAGE_SIZE + used * LEAF_BYTES) >>> 2) + MB_FRESH] = used;
  }
  if (__DEV__) crashPoint();
  arena.u32[arena.entryOf(page) + PM_DESC] = metaDesc(META_LEAF_SHIFT, used, used < perPage ? used + 1 : 0);
  if (__DEV__) crashPoint();
  arena.hdr[HDR_PAGES_BY_TIER + TIER_META]!++;
}

/** Arena.trim: a non-shared resizable ArrayBuffer shrinks to the end of its last used run; the bytes released. */
export function arenaTrim(arena: Arena): number {
  if (!memoryShrinkable(arena.kind)) return 0;
  arena.lock();
  try {
    const e = arena.entryOf(arena.endPage - 1);
    if ((arena.u32[e + PM_TIER]! & PM_TIER_MASK) !== TIER_FREE) return 0;
    const head = arena.u32[e + PM_HEAD_PAGE]!;
    const pages = arena.endPage - head;
    binRemove(arena, head, pages);
    const hdr = arena.hdr;
    hdr[HDR_PAGES_BY_TIER + TIER_FREE]! -= pages;
    hdr[HDR_TRIMS]!++;
    memoryShrink(arena.memory, arena.kind, head * PAGE_SIZE);
    arena.mapViews(head * PAGE_SIZE);
    arena.endPage = head;
    Atomics.store(hdr, HDR_COMMITTED_PAGES, head);
    arena.seenGrowth = Atomics.add(hdr, HDR_GROWTH, 1) + 1;
    return pages * PAGE_SIZE;
  } finally {
    arena.unlock();
  }
}

function memoryShrinkable(kind: number): boolean {
  return kind === MEMORY_AB_RESIZABLE;
}

/**
 * Runs of pages in the page map: writing a run's entries (every page names its head; the head
 * holds tier and length; a free run also has a boundary tag on its last page), taking pages
 * from a free run, releasing pages with O(1) coalescing through the boundary tags, and on top
 * of those the run API: allocRun (best fit, growing the memory on demand), freeRun and
 * resizeRun (in place). Every ...Locked function, and every helper without a lock() of its own,
 * runs under the arena mutex. Growth (growth.ts) calls back into this file to free its new pages.
 */
import type { Arena } from './arena';
import { arenaBestFit, binInsert, binRemove } from './bins';
import { crashPoint } from './crash';
import { HakmemError } from './errors';
import { arenaGrowLocked } from './growth';
import {
  HDR_PAGES_BY_TIER,
  HDR_RUN_ALLOCS,
  HDR_RUN_FREES,
  INTENT_RELEASE,
  INTENT_RESIZE,
  INTENT_TAKE,
  LEAF_PAGES,
  PAGE_SIZE,
  PM_DESC,
  PM_ENTRY_WORDS,
  PM_FLAG_HEAD,
  PM_HEAD_PAGE,
  PM_RUN_PAGES,
  PM_TIER,
  PM_TIER_MASK,
  TIER_FIRST,
  TIER_FREE,
  TIER_LAST,
  TIER_META,
} from './layout';
import { describe } from './options';
import { intentBegin, intentEnd } from './repair';

/** Writes pages [from, to) as non-head pages of the run headed at `head`. */
export function arenaMarkPages(arena: Arena, head: number, from: number, to: number, tier: number): void {
  const u32 = arena.u32;
  let e = 0;
  for (let page = from; page < to; page++) {
    // Entries of one leaf are consecutive; look the leaf up again at each leaf boundary.
    e = page === from || (page & (LEAF_PAGES - 1)) === 0 ? arena.entryOf(page) : e + PM_ENTRY_WORDS;
    if (__DEV__) crashPoint();
    u32[e + PM_TIER] = tier;
    if (__DEV__) crashPoint();
    u32[e + PM_HEAD_PAGE] = head;
    u32[e + PM_RUN_PAGES] = 0;
    u32[e + PM_DESC] = 0;
  }
}

export function arenaMarkHead(arena: Arena, head: number, pages: number, tier: number): void {
  const e = arena.entryOf(head);
  if (__DEV__) crashPoint();
  arena.u32[e + PM_TIER] = tier | PM_FLAG_HEAD;
  if (__DEV__) crashPoint();
  arena.u32[e + PM_RUN_PAGES] = pages;
}

/** Boundary tags of a free run (its interior pages already say TIER_FREE). */
export function arenaTagFree(arena: Arena, head: number, pages: number): void {
  const u32 = arena.u32;
  const e = arena.entryOf(head);
  if (__DEV__) crashPoint();
  u32[e + PM_TIER] = TIER_FREE | PM_FLAG_HEAD;
  u32[e + PM_HEAD_PAGE] = head;
  u32[e + PM_RUN_PAGES] = pages;
  if (pages > 1) {
    const t = arena.entryOf(head + pages - 1);
    if (__DEV__) crashPoint();
    u32[t + PM_TIER] = TIER_FREE;
    u32[t + PM_HEAD_PAGE] = head;
    u32[t + PM_RUN_PAGES] = pages;
    u32[t + PM_DESC] = 0;
  }
}

/**
 * Takes the first `pages` pages of the free run at `head` for `tier`, under INTENT_TAKE (left
 * set: the caller ends it, or turns it into the next step of its update).
 */
export function arenaTakeFree(arena: Arena, head: number, pages: number, tier: number): void {
  const have = arena.u32[arena.entryOf(head) + PM_RUN_PAGES]!;
  if (__DEV__) {
    if (arena.u32[arena.entryOf(head) + PM_TIER] !== (TIER_FREE | PM_FLAG_HEAD) || have < pages) {
      throw new HakmemError(
        'ERR_HEAP_CORRUPTED',
        `arena: taking ${pages} pages from page ${head}, which heads no free run of that size`,
      );
    }
  }
  intentBegin(arena, INTENT_TAKE, head, pages, tier, 0);
  binRemove(arena, head, have);
  if (have > pages) {
    arenaTagFree(arena, head + pages, have - pages);
    binInsert(arena, head + pages, have - pages);
  }
  arenaMarkPages(arena, head, head, head + pages, tier);
  arenaMarkHead(arena, head, pages, tier);
  const hdr = arena.hdr;
  if (__DEV__) crashPoint();
  hdr[HDR_PAGES_BY_TIER + TIER_FREE]! -= pages;
  if (__DEV__) crashPoint();
  hdr[HDR_PAGES_BY_TIER + tier]! += pages;
}

/**
 * Pages [head, head + pages) become free and coalesce with free neighbours; `limit` is the
 * first page whose entry may not be read. Counts them as free; the caller uncounts their tier.
 */
export function arenaReleaseLocked(arena: Arena, head: number, pages: number, limit: number): void {
  const u32 = arena.u32;
  if (__DEV__) {
    if (head <= arena.basePage || head + pages > limit) {
      throw new HakmemError(
        'ERR_HEAP_CORRUPTED',
        `arena: releasing pages ${head}..${head + pages - 1}, outside the heap's pages`,
      );
    }
  }
  let e = 0;
  for (let page = head; page < head + pages; page++) {
    e = page === head || (page & (LEAF_PAGES - 1)) === 0 ? arena.entryOf(page) : e + PM_ENTRY_WORDS;
    if (__DEV__) crashPoint();
    u32[e + PM_TIER] = TIER_FREE;
  }
  if (__DEV__) crashPoint();
  arena.hdr[HDR_PAGES_BY_TIER + TIER_FREE]! += pages;
  let start = head;
  let length = pages;
  if (head > arena.basePage) {
    const left = arena.entryOf(head - 1);
    if ((u32[left + PM_TIER]! & PM_TIER_MASK) === TIER_FREE) {
      const leftHead = u32[left + PM_HEAD_PAGE]!;
      const leftPages = u32[arena.entryOf(leftHead) + PM_RUN_PAGES]!;
      binRemove(arena, leftHead, leftPages);
      if (__DEV__) crashPoint();
      if (leftHead !== head - 1) u32[left + PM_RUN_PAGES] = 0;
      start = leftHead;
      length += leftPages;
    }
  }
  const end = head + pages;
  if (end < limit) {
    const right = arena.entryOf(end);
    if ((u32[right + PM_TIER]! & PM_TIER_MASK) === TIER_FREE) {
      const rightPages = u32[right + PM_RUN_PAGES]!;
      binRemove(arena, end, rightPages);
      if (__DEV__) crashPoint();
      u32[right + PM_TIER] = TIER_FREE;
      if (__DEV__) crashPoint();
      if (rightPages > 1) u32[right + PM_RUN_PAGES] = 0;
      length += rightPages;
    }
  }
  arenaTagFree(arena, start, length);
  binInsert(arena, start, length);
}

/** Length of the free run that ends at the committed end, 0 if the last run is in use. */
export function arenaTrailingFree(arena: Arena): number {
  const e = arena.entryOf(arena.endPage - 1);
  return (arena.u32[e + PM_TIER]! & PM_TIER_MASK) === TIER_FREE ? arena.u32[e + PM_RUN_PAGES]! : 0;
}

/** Best fit, growing the memory on demand; byte offset or 0. */
export function arenaAllocRunLocked(arena: Arena, pages: number, tier: number): number {
  const offset = arenaTakeRunLocked(arena, pages, tier);
  if (offset !== 0) intentEnd(arena);
  return offset;
}

/** arenaAllocRunLocked leaving its INTENT_TAKE set (metaAlloc turns it into INTENT_META_PAGE). */
export function arenaTakeRunLocked(arena: Arena, pages: number, tier: number): number {
  for (;;) {
    const head = arenaBestFit(arena, pages);
    if (head !== 0) {
      arenaTakeFree(arena, head, pages, tier);
      return head * PAGE_SIZE;
    }
    if (!arenaGrowLocked(arena, pages - arenaTrailingFree(arena), -1)) return 0;
  }
}

/** Arena.allocRun: validates, then arenaAllocRunLocked under the lock. */
export function arenaAllocRun(arena: Arena, pages: number, tier: number): number {
  if (!Number.isInteger(pages) || pages < 1) {
    throw new HakmemError('ERR_INVALID_SIZE', `allocRun: pages ${pages} is not a positive integer`);
  }
  if (!Number.isInteger(tier) || tier < TIER_FIRST || tier > TIER_LAST) {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      `allocRun: tier ${tier} is not a tier id ${TIER_FIRST}..${TIER_LAST}`,
    );
  }
  if (pages >= arena.maxPages - arena.basePage) return 0;
  arena.lock();
  try {
    const offset = arenaAllocRunLocked(arena, pages, tier);
    if (offset !== 0) arena.hdr[HDR_RUN_ALLOCS]!++;
    return offset;
  } finally {
    arena.unlock();
  }
}

/** Page number of the allocated (non-META) run headed at `offset`; throws the precise error otherwise. */
export function arenaRunHead(
  arena: Arena,
  offset: number,
  op: string,
  freeCode: 'ERR_DOUBLE_FREE' | 'ERR_INVALID_POINTER',
): number {
  const end = arena.endPage * PAGE_SIZE;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < arena.base || offset >= end) {
    throw new HakmemError(
      'ERR_INVALID_POINTER',
      `${op}: offset ${describe(offset)} is not in the heap's pages [${arena.base}, ${end})`,
    );
  }
  if (offset % PAGE_SIZE !== 0) {
    throw new HakmemError(
      'ERR_INVALID_POINTER',
      `${op}: offset ${offset} is not 64 KiB aligned, so it is not the start of a page run`,
    );
  }
  const page = offset / PAGE_SIZE;
  const e = arena.entryOf(page);
  const word = arena.u32[e + PM_TIER]!;
  const tier = word & PM_TIER_MASK;
  if (tier === TIER_FREE) {
    throw new HakmemError(freeCode, `${op}: the page run at offset ${offset} is free (already freed)`);
  }
  if (tier === TIER_META) {
    throw new HakmemError('ERR_INVALID_POINTER', `${op}: offset ${offset} is arena metadata, not a page run`);
  }
  if ((word & PM_FLAG_HEAD) === 0) {
    const head = arena.u32[e + PM_HEAD_PAGE]! * PAGE_SIZE;
    throw new HakmemError(
      'ERR_INVALID_POINTER',
      `${op}: offset ${offset} is inside the page run at ${head}, not its start`,
    );
  }
  return page;
}

/** Arena.freeRun: frees the allocated run headed at `offset` (coalescing). */
export function arenaFreeRun(arena: Arena, offset: number): void {
  arena.lock();
  try {
    const head = arenaRunHead(arena, offset, 'freeRun', 'ERR_DOUBLE_FREE');
    const e = arena.entryOf(head);
    const pages = arena.u32[e + PM_RUN_PAGES]!;
    const tier = arena.u32[e + PM_TIER]! & PM_TIER_MASK;
    intentBegin(arena, INTENT_RELEASE, head, pages, tier, 0);
    arenaReleaseLocked(arena, head, pages, arena.endPage);
    if (__DEV__) crashPoint();
    arena.hdr[HDR_PAGES_BY_TIER + tier]! -= pages;
    arena.hdr[HDR_RUN_FREES]!++;
    intentEnd(arena);
  } finally {
    arena.unlock();
  }
}

/** Arena.resizeRun: shrinks the run in place, or grows it into a free successor (growing the memory when the run is last). */
export function arenaResizeRun(arena: Arena, offset: number, pages: number): boolean {
  if (!Number.isInteger(pages) || pages < 1) {
    throw new HakmemError('ERR_INVALID_SIZE', `resizeRun: pages ${pages} is not a positive integer`);
  }
  arena.lock();
  try {
    const head = arenaRunHead(arena, offset, 'resizeRun', 'ERR_INVALID_POINTER');
    const e = arena.entryOf(head);
    const have = arena.u32[e + PM_RUN_PAGES]!;
    const tier = arena.u32[e + PM_TIER]! & PM_TIER_MASK;
    if (pages === have) return true;
    if (pages < have) {
      intentBegin(arena, INTENT_RESIZE, head, have, pages, tier);
      if (__DEV__) crashPoint();
      arena.u32[e + PM_RUN_PAGES] = pages;
      arenaReleaseLocked(arena, head + pages, have - pages, arena.endPage);
      if (__DEV__) crashPoint();
      arena.hdr[HDR_PAGES_BY_TIER + tier]! -= have - pages;
      intentEnd(arena);
      return true;
    }
    if (pages >= arena.maxPages - arena.basePage) return false;
    return arenaExtendLocked(arena, head, have, pages, tier);
  } finally {
    arena.unlock();
  }
}

export function arenaExtendLocked(
  arena: Arena,
  head: number,
  have: number,
  pages: number,
  tier: number,
): boolean {
  const need = pages - have;
  const next = head + have;
  for (;;) {
    let free = 0;
    if (next < arena.endPage) {
      const r = arena.entryOf(next);
      if ((arena.u32[r + PM_TIER]! & PM_TIER_MASK) !== TIER_FREE) return false;
      free = arena.u32[r + PM_RUN_PAGES]!;
    }
    if (free >= need) {
      intentBegin(arena, INTENT_RESIZE, head, have, pages, tier);
      binRemove(arena, next, free);
      if (free > need) {
        arenaTagFree(arena, next + need, free - need);
        binInsert(arena, next + need, free - need);
      }
      arenaMarkPages(arena, head, next, next + need, tier);
      if (__DEV__) crashPoint();
      arena.u32[arena.entryOf(head) + PM_RUN_PAGES] = pages;
      if (__DEV__) crashPoint();
      arena.hdr[HDR_PAGES_BY_TIER + TIER_FREE]! -= need;
      if (__DEV__) crashPoint();
      arena.hdr[HDR_PAGES_BY_TIER + tier]! += need;
      intentEnd(arena);
      return true;
    }
    if (next + free !== arena.endPage) return false;
    if (!arenaGrowLocked(arena, need - free, next)) return false;
  }
}

/** Arena.runPages: pages of the allocated run headed at `offset`, 0 if there is none (lock-free read). */
export function arenaRunPages(arena: Arena, offset: number): number {
  const e = arena.pageEntry(offset);
  if (e < 0 || offset % PAGE_SIZE !== 0) return 0;
  const word = arena.u32[e + PM_TIER]!;
  if ((word & PM_FLAG_HEAD) === 0 || (word & PM_TIER_MASK) < TIER_FIRST) return 0;
  return arena.u32[e + PM_RUN_PAGES]!;
}

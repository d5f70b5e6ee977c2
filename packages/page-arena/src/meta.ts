/**
 * metaAlloc: the arena's out-of-band metadata allocator (the header's spare blocks, page-map
 * leaves, thread registry chunks, the tier directory, tiers' root blocks and per-thread words).
 * Classes 16 B … 64 KiB split a META page into blocks of one size (PM_DESC = log2 of it), free
 * blocks linked through their first u32 from HDR_META_HEADS; above 64 KiB a whole run of META
 * pages (PM_DESC META_DESC_RUN). Blocks are zero-filled when handed out; META pages are never
 * returned. Everything but metaAlloc/metaFree runs under the arena mutex. See layout.ts, "metaAlloc".
 */
import type { Arena } from './arena';
import { crashPoint } from './crash';
import { HakmemError } from './errors';
import {
  HDR_INTENT_C,
  HDR_INTENT_OP,
  HDR_META_BYTES,
  HDR_META_HEADS,
  HDR_PAGES_BY_TIER,
  INTENT_META_PAGE,
  INTENT_META_POP,
  INTENT_META_PUSH,
  INTENT_RELEASE,
  LEAF_SHIFT,
  MAX_BYTES_LIMIT,
  META_DESC_RUN,
  META_LEAF_SHIFT,
  META_MAX_SHIFT,
  META_MIN_SHIFT,
  PAGE_SIZE,
  PM_DESC,
  PM_FLAG_HEAD,
  PM_RUN_PAGES,
  PM_TIER,
  PM_TIER_MASK,
  TIER_META,
} from './layout';
import { describe } from './options';
import { intentBegin, intentEnd } from './repair';
import { arenaAllocRunLocked, arenaReleaseLocked, arenaTakeRunLocked } from './runs';

export function metaPush(arena: Arena, shift: number, offset: number): void {
  const head = HDR_META_HEADS + shift - META_MIN_SHIFT;
  if (__DEV__) crashPoint();
  arena.u32[offset >>> 2] = arena.hdr[head]!;
  if (__DEV__) crashPoint();
  arena.hdr[head] = offset;
}

export function metaPop(arena: Arena, shift: number): number {
  const head = HDR_META_HEADS + shift - META_MIN_SHIFT;
  const offset = arena.hdr[head]! >>> 0;
  if (__DEV__) crashPoint();
  if (offset !== 0) arena.hdr[head] = arena.u32[offset >>> 2]!;
  return offset;
}

/** Pushes every block of META page `page` onto class `shift` (lowest address popped first). */
export function metaPageBlocks(arena: Arena, page: number, shift: number): void {
  const size = 1 << shift;
  const start = page * PAGE_SIZE;
  for (let offset = start + PAGE_SIZE - size; offset >= start; offset -= size) metaPush(arena, shift, offset);
}

/**
 * META page `page`, just taken under INTENT_TAKE, becomes a page of class `shift`: the intent
 * turns into INTENT_META_PAGE (the repair unlinks its blocks and frees it) and the page's
 * class is set. The caller lists its blocks (metaPageBlocks) and ends the intent.
 */
export function metaPageStart(arena: Arena, page: number, shift: number): void {
  if (__DEV__) crashPoint();
  arena.hdr[HDR_INTENT_C] = shift;
  if (__DEV__) crashPoint();
  arena.hdr[HDR_INTENT_OP] = INTENT_META_PAGE;
  if (__DEV__) crashPoint();
  arena.u32[arena.entryOf(page) + PM_DESC] = shift;
}

/** metaAlloc under the lock. */
export function metaAllocLocked(arena: Arena, bytes: number): number {
  if (bytes > 1 << META_MAX_SHIFT) {
    const pages = Math.ceil(bytes / PAGE_SIZE);
    if (pages >= arena.maxPages - arena.basePage) return 0;
    const offset = arenaAllocRunLocked(arena, pages, TIER_META);
    if (offset === 0) return 0;
    arena.u8.fill(0, offset, offset + pages * PAGE_SIZE);
    arena.hdr[HDR_META_BYTES]! += pages * PAGE_SIZE;
    return offset;
  }
  const shift = Math.max(META_MIN_SHIFT, 32 - Math.clz32(bytes - 1));
  let offset = arena.hdr[HDR_META_HEADS + shift - META_MIN_SHIFT]! >>> 0;
  if (offset !== 0) {
    intentBegin(arena, INTENT_META_POP, offset, 0, shift, 0);
    metaPop(arena, shift);
  } else {
    const page = arenaTakeRunLocked(arena, 1, TIER_META) / PAGE_SIZE;
    if (page === 0) return 0;
    metaPageStart(arena, page, shift);
    metaPageBlocks(arena, page, shift);
    offset = metaPop(arena, shift);
  }
  if (__DEV__) crashPoint();
  arena.u8.fill(0, offset, offset + (1 << shift));
  intentEnd(arena);
  arena.hdr[HDR_META_BYTES]! += 1 << shift;
  return offset;
}

/** Arena.metaAlloc: validates, then metaAllocLocked under the lock. */
export function metaAlloc(arena: Arena, bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > MAX_BYTES_LIMIT) {
    throw new HakmemError('ERR_INVALID_SIZE', `metaAlloc: bytes ${bytes} is not an integer in [1, 2^32]`);
  }
  arena.lock();
  try {
    return metaAllocLocked(arena, bytes);
  } finally {
    arena.unlock();
  }
}

/** metaFree under the lock. */
export function metaFreeLocked(arena: Arena, offset: number): void {
  const end = arena.endPage * PAGE_SIZE;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset <= arena.base || offset >= end) {
    throw new HakmemError(
      'ERR_INVALID_POINTER',
      `metaFree: offset ${describe(offset)} is not a metaAlloc block in (${arena.base}, ${end})`,
    );
  }
  const page = Math.floor(offset / PAGE_SIZE);
  const e = arena.entryOf(page);
  const word = arena.u32[e + PM_TIER]!;
  if ((word & PM_TIER_MASK) !== TIER_META || (word & PM_FLAG_HEAD) === 0) {
    throw new HakmemError('ERR_INVALID_POINTER', `metaFree: offset ${offset} is not in a metaAlloc page`);
  }
  const shift = arena.u32[e + PM_DESC]!;
  if (shift === META_DESC_RUN) {
    if (offset % PAGE_SIZE !== 0) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `metaFree: offset ${offset} is not the start of a metaAlloc run`,
      );
    }
    const pages = arena.u32[e + PM_RUN_PAGES]!;
    intentBegin(arena, INTENT_RELEASE, page, pages, TIER_META, 0);
    arenaReleaseLocked(arena, page, pages, arena.endPage);
    if (__DEV__) crashPoint();
    arena.hdr[HDR_PAGES_BY_TIER + TIER_META]! -= pages;
    intentEnd(arena);
    arena.hdr[HDR_META_BYTES]! -= pages * PAGE_SIZE;
    return;
  }
  if (offset % (1 << shift) !== 0) {
    throw new HakmemError(
      'ERR_INVALID_POINTER',
      `metaFree: offset ${offset} is not at the start of a ${1 << shift}-byte metaAlloc block`,
    );
  }
  if (shift === META_LEAF_SHIFT && arenaIsLeafBlock(arena, offset)) {
    throw new HakmemError('ERR_INVALID_POINTER', `metaFree: offset ${offset} is a page-map leaf`);
  }
  if (__DEV__) {
    for (
      let b = arena.hdr[HDR_META_HEADS + shift - META_MIN_SHIFT]! >>> 0;
      b !== 0;
      b = arena.u32[b >>> 2]!
    ) {
      if (b === offset) {
        throw new HakmemError('ERR_DOUBLE_FREE', `metaFree: block ${offset} is already free`);
      }
    }
  }
  intentBegin(arena, INTENT_META_PUSH, offset, 0, shift, 0);
  metaPush(arena, shift, offset);
  intentEnd(arena);
  arena.hdr[HDR_META_BYTES]! -= 1 << shift;
}

/** Arena.metaFree: metaFreeLocked under the lock. */
export function metaFree(arena: Arena, offset: number): void {
  arena.lock();
  try {
    metaFreeLocked(arena, offset);
  } finally {
    arena.unlock();
  }
}

export function arenaIsLeafBlock(arena: Arena, offset: number): boolean {
  for (let leaf = 0; leaf <= (arena.maxPages - 1) >>> LEAF_SHIFT; leaf++) {
    if (arena.u32[arena.leafDir + leaf] === offset >>> 2) return true;
  }
  return false;
}

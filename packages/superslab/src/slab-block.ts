/**
 * A pointer as a block of a slab: its block index (exact division, below the carve mark), its
 * usable size, and the checks a block passes before it is handed out or taken back — a link of
 * a free list must be a free block of this thread's slab of its class, and in strict mode the
 * alloc bitmap says whether a block is live (set when handed out, cleared when freed, also on
 * behalf of a cache in front: cacheCheckOut/cacheCheckIn). Errors name the broken rule.
 */
import { HakmemError, PM_DESC, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';
import {
  bitmapBit,
  bitmapWordOf,
  bitmapWords,
  ownedClass,
  ownedDesc,
  SL_BITMAP,
  SL_CARVED,
  SL_CLASS,
  SL_OWNER,
  SL_START,
  SLAB_BYTES,
  SLAB_SHIFT,
} from './layout';
import { TINY_CLASS_BLOCKS, TINY_CLASS_SIZE, tinyBlockIndex } from './size-classes';
import { corrupted, hex } from './slab-errors';
import type { Superslab } from './superslab';

/** Superslab.usableSize: finds the slab of `ptr` in the page map. */
export function slabUsableSizeOf(ss: Superslab, ptr: number): number {
  if (ptr >= ss.viewBytes) ss.slabRefreshViews();
  const entry = ss.arena.pageEntry(ptr);
  if (entry < 0 || (ss.u32[entry + PM_TIER]! & PM_TIER_MASK) !== ss.tier) {
    throw new HakmemError('ERR_INVALID_POINTER', `usableSize(${ptr}): not in a tiny slab`);
  }
  return slabUsableSize(ss, ptr, ss.u32[entry + PM_DESC]! >>> 2);
}

/** usableSize for a known slab descriptor `d` (i32 index). */
export function slabUsableSize(ss: Superslab, ptr: number, d: number): number {
  if (d >= ss.i32.length) ss.slabRefreshViews();
  const i32 = ss.i32;
  const cls = d === 0 ? -1 : i32[d + SL_CLASS]!;
  const idx = cls < 0 ? -1 : slabBlockIndex(ss, d, cls, ptr);
  if (idx < 0) throw slabNotBlock(ss, ptr, d, cls);
  if (ss.strict) {
    if (i32[d + SL_BITMAP]! + 2 * bitmapWords(TINY_CLASS_BLOCKS[i32[d + SL_CLASS]!]!) > i32.length)
      ss.slabRefreshViews();
    const w = bitmapWordOf(ss.i32[d + SL_BITMAP]!, idx);
    const bit = bitmapBit(idx);
    if ((ss.i32[w]! & bit) === 0 || (Atomics.load(ss.i32, w + 1) & bit) !== 0) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `usableSize(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is not live`,
      );
    }
  }
  return TINY_CLASS_SIZE[cls]!;
}

/**
 * Block index of `ptr` in slab `d` of class `cls`, -1 when it is not the start of a carved
 * block. The slab's carve mark is the owner's plain word: another thread reading it may see
 * an older value, which only makes a racing (invalid) free look invalid.
 */
export function slabBlockIndex(ss: Superslab, d: number, cls: number, ptr: number): number {
  const off = ptr - ss.u32[d + SL_START]!;
  if (!(off >= 0 && off < SLAB_BYTES)) return -1;
  const idx = tinyBlockIndex(cls, off);
  return idx < ss.i32[d + SL_CARVED]! ? idx : -1;
}

/** ERR_INVALID_POINTER for `ptr` in slab `d` (of class `cls`, -1 in the pool) that is not a block start. */
export function slabNotBlock(ss: Superslab, ptr: number, d: number, cls: number): HakmemError {
  if (cls < 0 || d === 0) {
    return new HakmemError(
      'ERR_INVALID_POINTER',
      `pointer ${ptr} is in a tiny slab that holds no blocks (the slab is free)`,
    );
  }
  const size = TINY_CLASS_SIZE[cls]!;
  const start = ss.u32[d + SL_START]!;
  return new HakmemError(
    'ERR_INVALID_POINTER',
    `pointer ${ptr} is not a block start: its slab at ${start} holds ${size} B blocks (offset ${ptr - start} is not a multiple of ${size} below ${ss.i32[d + SL_CARVED]! * size})`,
  );
}

/** Strict: sets the alloc bit of a block from a free list about to be handed out (validated: ERR_HEAP_CORRUPTED). */
export function slabMarkLive(ss: Superslab, p: number, cls: number): void {
  const d = slabCheckListBlock(ss, p, cls, 'handed out');
  const idx = slabBlockIndex(ss, d, cls, p);
  const w = bitmapWordOf(ss.i32[d + SL_BITMAP]!, idx);
  ss.i32[w] = ss.i32[w]! | bitmapBit(idx);
}

/**
 * Validates a block taken from one of this thread's free lists: in a tiny slab of class
 * `cls` owned by this thread, on the class grid, carved, and (strict) not live. Returns the
 * slab descriptor's i32 index; throws ERR_HEAP_CORRUPTED (a use-after-free write) otherwise.
 */
export function slabCheckListBlock(ss: Superslab, p: number, cls: number, what: string): number {
  if (p >= ss.viewBytes) ss.slabRefreshViews();
  const entry = p > 0 && p < ss.viewBytes ? ss.arena.pageEntry(p) : -1;
  if (entry < 0 || (ss.u32[entry + PM_TIER]! & PM_TIER_MASK) !== ss.tier) {
    throw corrupted(
      `free-list link ${hex(p)} of the ${TINY_CLASS_SIZE[cls]} B class points outside every tiny slab (a write after free?): not ${what}`,
    );
  }
  const d = ss.u32[entry + PM_DESC]! >>> 2;
  const i32 = ss.i32;
  if (d === 0 || i32[d + SL_CLASS] !== cls || i32[d + SL_OWNER] !== ss.threadId) {
    throw corrupted(
      `free-list link ${hex(p)} of the ${TINY_CLASS_SIZE[cls]} B class of thread ${ss.threadId} points into a slab of another class or thread (a write after free?): not ${what}`,
    );
  }
  const idx = slabBlockIndex(ss, d, cls, p);
  if (idx < 0) {
    throw corrupted(
      `free-list link ${hex(p)} is off the ${TINY_CLASS_SIZE[cls]} B grid of its slab at ${i32[d + SL_START]! >>> 0} (a write after free?): not ${what}`,
    );
  }
  if (ss.strict) {
    const w = bitmapWordOf(i32[d + SL_BITMAP]!, idx);
    const bit = bitmapBit(idx);
    if ((i32[w]! & bit) !== 0 || (i32[w + 1]! & bit) !== 0) {
      throw corrupted(
        `free-list link ${hex(p)} names a block that is live (a write after free or a double free): not ${what}`,
      );
    }
  }
  return d;
}

/** Strict: a link of slab `d`'s local free list must be a free block of that slab (ERR_HEAP_CORRUPTED). */
export function slabCheckLocalLink(ss: Superslab, d: number, cls: number, p: number): void {
  const idx = slabBlockIndex(ss, d, cls, p);
  if (idx < 0) {
    throw corrupted(
      `local free list of the ${TINY_CLASS_SIZE[cls]} B slab at ${ss.u32[d + SL_START]} links to ${hex(p)}, outside the slab or off its grid (a write after free?)`,
    );
  }
  const i32 = ss.i32;
  const w = bitmapWordOf(i32[d + SL_BITMAP]!, idx);
  const bit = bitmapBit(idx);
  if ((i32[w]! & bit) !== 0 || (i32[w + 1]! & bit) !== 0) {
    throw corrupted(
      `local free list of the slab at ${ss.u32[d + SL_START]} links to block ${idx}, which is live (a write after free or a double free)`,
    );
  }
}

/**
 * A cache in front is about to follow or write through `p`, a link of this thread's list of
 * class `cls` (a spill, flush or shrink): true when it is a carved block start of a slab of the
 * class that this thread owns (its owned-map entry: no shared word) and, strict, not live.
 * Reads only.
 */
export function cacheLinkValid(ss: Superslab, cls: number, p: number): boolean {
  const e = ss.owned[p >>> SLAB_SHIFT];
  if (e === undefined || !(e > 0) || ownedClass(e) !== cls) return false;
  const d = ownedDesc(e);
  const idx = slabBlockIndex(ss, d, cls, p);
  if (idx < 0) return false;
  if (!ss.strict) return true;
  const i32 = ss.i32;
  const w = bitmapWordOf(i32[d + SL_BITMAP]!, idx);
  return ((i32[w]! | i32[w + 1]!) & bitmapBit(idx)) === 0;
}

/** Strict (a cache in front is popping `p`): validates it as a free block of this thread's slabs of `cls` and marks it live. */
export function cacheCheckOut(ss: Superslab, cls: number, p: number): void {
  slabMarkLive(ss, p, cls);
}

/**
 * Strict (a cache in front takes back `ptr` from a user of this thread): it must be a live
 * block of class `cls` in a slab this thread owns; its alloc bit is cleared.
 * ERR_INVALID_POINTER / ERR_DOUBLE_FREE with nothing changed.
 */
export function cacheCheckIn(ss: Superslab, cls: number, ptr: number): void {
  const e = ptr >>> 0 === ptr ? ss.owned[ptr >>> SLAB_SHIFT]! : 0;
  const d = ownedDesc(e);
  if (!(e > 0) || ownedClass(e) !== cls) {
    throw new HakmemError(
      'ERR_INVALID_POINTER',
      `cache push of ${ptr}: not a block of this thread's ${TINY_CLASS_SIZE[cls] ?? '?'} B slabs`,
    );
  }
  const idx = slabBlockIndex(ss, d, cls, ptr);
  if (idx < 0) throw slabNotBlock(ss, ptr, d, cls);
  const w = bitmapWordOf(ss.i32[d + SL_BITMAP]!, idx);
  const bit = bitmapBit(idx);
  if ((ss.i32[w]! & bit) === 0 || (ss.i32[w + 1]! & bit) !== 0) {
    throw new HakmemError(
      'ERR_DOUBLE_FREE',
      `free(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is not live (already freed)`,
    );
  }
  ss.i32[w] = ss.i32[w]! & ~bit;
}

/**
 * Allocation: the refill of a cache in front (cacheRefill; Superslab.malloc asks it for one
 * block) takes blocks from the current slab of the class — its local list, else its remote
 * list, else carving fresh blocks — and, when the thread's partial slabs are exhausted, finds
 * another slab (slabFind): a full slab with remote frees, an abandoned slab to adopt, a slab
 * from the pool, a new SuperSlab. A slab from the pool is initialised here for its class and
 * its new owner (slabInit).
 */

import { crashPoint } from './crash-point';
import {
  bitmapBytes,
  bitmapWords,
  FULL_SCAN_STEP,
  OUT_HOLD,
  R_ABANDONED,
  R_AVAIL_HEAD,
  R_EMPTY_SS,
  R_SLABS_OUT,
  SL_BITMAP,
  SL_BITMAP_CAP,
  SL_CARVED,
  SL_CLASS,
  SL_FREE,
  SL_INV,
  SL_NEXT,
  SL_OWNER,
  SL_REMOTE_AT,
  SL_SHIFT,
  SL_START,
  SL_STATE,
  SL_USED,
  SL_WORDS,
  SLAB_DETACHED,
  SS_EMPTY,
  SS_HEADER_WORDS,
  SS_SLABS,
  TS_FULL,
  TS_FULL_COUNT,
  TS_FULL_CURSOR,
  TS_OUT_BLOCKS,
  TS_PARTIAL,
} from './layout';
import { TINY_CLASS_BLOCKS, TINY_CLASS_INV, TINY_CLASS_SHIFT, TINY_CLASS_SIZE } from './size-classes';
import { slabBlockIndex, slabCheckLocalLink } from './slab-block';
import { corrupted } from './slab-errors';
import { slabCollectRemote, slabOutFlush } from './slab-free';
import { slabMapOwned, slabMoveToFull, slabPushPartial, slabUnlinkFull } from './slab-lists';
import { slabReleaseKept } from './slab-reclaim';
import type { Superslab } from './superslab';
import { slabRelease, superslabAdd, superslabAvailUnlink, superslabFullMask } from './superslab-registry';

/**
 * Detaches up to `want` free blocks of class `cls` from this thread's slabs (taking a slab
 * from the pool, adopting an abandoned one or adding a SuperSlab when it must), linked
 * through their first word; returns the chain head and sets `refilled`, or 0 on
 * out-of-memory. The blocks count as used by their slab until they come back.
 */
export function cacheRefill(ss: Superslab, cls: number, want: number): number {
  ss.slabRefreshViews();
  // Remote frees this thread buffered go back to their owners before they pile up.
  if (ss.i32[ss.area + TS_OUT_BLOCKS]! > OUT_HOLD) slabOutFlush(ss);
  for (;;) {
    const listHead = ss.area + TS_PARTIAL + cls;
    let d = ss.i32[listHead]!;
    while (d !== 0) {
      const p = slabTake(ss, d, cls, want);
      if (p !== 0) return p;
      slabMoveToFull(ss, d, cls);
      d = ss.i32[listHead]!;
    }
    if (!slabFind(ss, cls)) {
      ss.refilled = 0;
      return 0;
    }
  }
}

/**
 * Takes up to `want` blocks from slab `d`: local list, else the remote list, else carving.
 * Every call site here runs from the first refill of a fresh slab on (an empty local list
 * calls slabCollectRemote, which finds nothing, then carves), so none meets its first use
 * when cross-thread frees begin and the optimised refill path is not deoptimised by them.
 */
function slabTake(ss: Superslab, d: number, cls: number, want: number): number {
  let head = ss.u32[d + SL_FREE]!;
  if (head === 0) {
    head = slabCollectRemote(ss, d);
    if (head === 0) return slabCarve(ss, d, cls, want);
  }
  return slabTakeLocal(ss, d, cls, want, head);
}

/** Detaches up to `want` blocks from the head `head` (≠ 0) of slab `d`'s local list. */
function slabTakeLocal(ss: Superslab, d: number, cls: number, want: number, head: number): number {
  const i32 = ss.i32;
  const u32 = ss.u32;
  const strict = ss.strict;
  // Every link is checked before the walk reads or writes through it (a write after free into a
  // block of the local list): strict, a free block of the slab; fast, a block of the slab.
  if (strict) slabCheckLocalLink(ss, d, cls, head);
  else if (slabBlockIndex(ss, d, cls, head) < 0) slabCheckLocalLink(ss, d, cls, head);
  let tail = head;
  let n = 1;
  for (; n < want; n++) {
    const next = u32[tail >>> 2]!;
    if (next === 0) break;
    if (strict) slabCheckLocalLink(ss, d, cls, next);
    else if (slabBlockIndex(ss, d, cls, next) < 0) slabCheckLocalLink(ss, d, cls, next);
    tail = next;
  }
  const rest = u32[tail >>> 2]!;
  u32[tail >>> 2] = 0;
  i32[d + SL_FREE] = rest;
  i32[d + SL_USED] = i32[d + SL_USED]! + n;
  ss.refilled = n;
  return head;
}

/** Carves up to `want` fresh blocks from slab `d` (0 when it is fully carved). */
function slabCarve(ss: Superslab, d: number, cls: number, want: number): number {
  const i32 = ss.i32;
  const u32 = ss.u32;
  const carved = i32[d + SL_CARVED]!;
  const room = TINY_CLASS_BLOCKS[cls]! - carved;
  if (room <= 0) return 0;
  const n = Math.min(want, room);
  const size = TINY_CLASS_SIZE[cls]!;
  const first = u32[d + SL_START]! + carved * size;
  let p = first;
  for (let i = 1; i < n; i++) {
    u32[p >>> 2] = p + size;
    p += size;
  }
  u32[p >>> 2] = 0;
  i32[d + SL_CARVED] = carved + n;
  i32[d + SL_USED] = i32[d + SL_USED]! + n;
  ss.refilled = n;
  return first;
}

/**
 * Makes a slab with free blocks the head of the partial list of `cls`: a full slab with
 * remote frees, an abandoned slab, a pool slab, a new SuperSlab. False on out-of-memory.
 */
function slabFind(ss: Superslab, cls: number): boolean {
  // The thread needs another slab: its buffered remote frees go back to their slabs first.
  slabOutFlush(ss);
  if (slabScanFull(ss, cls, FULL_SCAN_STEP)) return true;
  if (slabAdopt(ss, cls)) return true;
  if (slabAcquire(ss, cls)) return true;
  if (slabScanFull(ss, cls, ss.i32[ss.area + TS_FULL_COUNT + cls]!)) return true;
  while (superslabAdd(ss)) {
    if (slabAcquire(ss, cls)) return true;
  }
  // Out of memory: give back the empty slabs this thread keeps for other classes, then retry.
  if (slabReleaseKept(ss) > 0 && slabAcquire(ss, cls)) return true;
  return false;
}

/** Looks at up to `limit` full slabs of `cls` for remote frees; moves the first found to the partial list. */
export function slabScanFull(ss: Superslab, cls: number, limit: number): boolean {
  const i32 = ss.i32;
  const area = ss.area;
  const count = i32[area + TS_FULL_COUNT + cls]!;
  let n = Math.min(limit, count);
  if (n === 0) return false;
  const first = i32[area + TS_FULL + cls]!;
  let d = i32[area + TS_FULL_CURSOR + cls]! || first;
  while (n-- > 0) {
    const next = i32[d + SL_NEXT]! || first;
    if (Atomics.load(i32, i32[d + SL_REMOTE_AT]!) !== 0) {
      i32[area + TS_FULL_CURSOR + cls] = next === d ? 0 : next;
      slabUnlinkFull(ss, d, cls);
      slabCollectRemote(ss, d);
      slabPushPartial(ss, d, cls);
      return true;
    }
    d = next;
  }
  i32[area + TS_FULL_CURSOR + cls] = d;
  return false;
}

/**
 * Adopts an abandoned slab of `cls` (owner 0 → this thread). Under the tier lock: the pop, then
 * the owner word and SL_STATE = DETACHED (the decisive store; before it superslabRepair puts
 * the slab back in the abandoned list, after it a reclaim finds it by its owner).
 */
function slabAdopt(ss: Superslab, cls: number): boolean {
  const headIndex = ss.root + R_ABANDONED + cls;
  if (Atomics.load(ss.i32, headIndex) === 0) return false;
  ss.slabLock();
  const i32 = ss.i32;
  const d = i32[headIndex]!;
  if (d !== 0) {
    Atomics.store(i32, headIndex, i32[d + SL_NEXT]!);
    if (__DEV__) crashPoint('adopt');
    if (Atomics.compareExchange(i32, d + SL_OWNER, 0, ss.threadId) !== 0) {
      ss.slabUnlock();
      throw corrupted(
        `abandoned slab at ${ss.u32[d + SL_START]} has owner ${Atomics.load(i32, d + SL_OWNER)}`,
      );
    }
    if (__DEV__) crashPoint('adopt');
    i32[d + SL_STATE] = SLAB_DETACHED;
    if (__DEV__) crashPoint('adopt');
  }
  ss.slabUnlock();
  if (d === 0) return false;
  slabCollectRemote(ss, d);
  if (__DEV__) crashPoint('adopt');
  slabMapOwned(ss, d, cls);
  slabPushPartial(ss, d, cls);
  return true;
}

/**
 * Takes a slab from the pool and gives it class `cls`. Under the tier lock, the descriptor
 * first (owner, then SL_STATE = DETACHED: the decisive store — before it the slab is in the
 * pool for superslabRepair, after it a reclaim finds it by its owner, class -1 or not yet
 * carved), then the pool mask, counters and avail list (derived: superslabRepair recomputes them).
 */
function slabAcquire(ss: Superslab, cls: number): boolean {
  ss.slabLock();
  const i32 = ss.i32;
  const root = ss.root;
  const s = i32[root + R_AVAIL_HEAD]!;
  if (s === 0) {
    ss.slabUnlock();
    return false;
  }
  const mask = i32[s + SS_EMPTY]!;
  if (mask === 0) {
    ss.slabUnlock();
    throw corrupted(`SuperSlab ${s * 4} heads the avail list with no slab in the pool`);
  }
  const bit = mask & -mask;
  const index = 31 - Math.clz32(bit);
  const d = s + SS_HEADER_WORDS + index * SL_WORDS;
  Atomics.store(i32, d + SL_OWNER, ss.threadId);
  if (__DEV__) crashPoint('acquire');
  i32[d + SL_STATE] = SLAB_DETACHED;
  if (__DEV__) crashPoint('acquire');
  if (mask === superslabFullMask(i32[s + SS_SLABS]!)) i32[root + R_EMPTY_SS] = i32[root + R_EMPTY_SS]! - 1;
  if (__DEV__) crashPoint('acquire');
  i32[s + SS_EMPTY] = mask ^ bit;
  if (__DEV__) crashPoint('acquire');
  if ((mask ^ bit) === 0) superslabAvailUnlink(ss, s);
  if (__DEV__) crashPoint('acquire');
  i32[root + R_SLABS_OUT] = i32[root + R_SLABS_OUT]! + 1;
  if (__DEV__) crashPoint('acquire');
  ss.slabUnlock();
  if (!slabInit(ss, d, cls)) {
    slabRelease(ss, d);
    return false;
  }
  if (__DEV__) crashPoint('acquire');
  slabPushPartial(ss, d, cls);
  return true;
}

/**
 * Gives a slab fresh from the pool (owned by this thread, state DETACHED, nothing carved)
 * class `cls`. False when its strict bitmaps do not fit. Until SL_CARVED moves, a reclaim
 * finds nothing handed out whatever it stopped at: the new bitmap is stored before the old is
 * freed (a stop between leaks that metadata block, never frees one twice).
 */
function slabInit(ss: Superslab, d: number, cls: number): boolean {
  if (ss.strict) {
    const words = bitmapWords(TINY_CLASS_BLOCKS[cls]!);
    if (ss.i32[d + SL_BITMAP_CAP]! < words) {
      const bytes = bitmapBytes(words);
      const offset = ss.arena.metaAlloc(bytes);
      if (offset === 0) return false;
      ss.slabRefreshViews();
      const old = ss.i32[d + SL_BITMAP]!;
      ss.i32[d + SL_BITMAP] = offset >>> 2;
      ss.i32[d + SL_BITMAP_CAP] = bytes >>> 3;
      if (__DEV__) crashPoint('acquire');
      if (old !== 0) ss.arena.metaFree(old * 4);
      ss.slabRefreshViews();
    } else {
      const bm = ss.i32[d + SL_BITMAP]!;
      ss.i32.fill(0, bm, bm + 2 * words);
    }
  }
  const i32 = ss.i32;
  i32[d + SL_CLASS] = cls;
  i32[d + SL_FREE] = 0;
  Atomics.store(i32, i32[d + SL_REMOTE_AT]!, 0);
  i32[d + SL_USED] = 0;
  i32[d + SL_CARVED] = 0;
  i32[d + SL_INV] = TINY_CLASS_INV[cls]!;
  i32[d + SL_SHIFT] = TINY_CLASS_SHIFT[cls]!;
  if (__DEV__) crashPoint('acquire');
  slabMapOwned(ss, d, cls);
  return true;
}

/**
 * A thread's slabs: per class, the partial list (slabs that may have free blocks; its head is
 * the current slab) and the full list (slabs found exhausted, with a count and the cursor of
 * the bounded scan for remote frees), both doubly linked through SL_NEXT/SL_PREV in the
 * thread area; and the thread-private owned-slab map that the fast paths read instead of
 * SL_OWNER. Only the owning thread changes them (see layout.ts, "Thread area").
 */
import {
  ownedEntry,
  SL_CARVED,
  SL_FREE,
  SL_NEXT,
  SL_PREV,
  SL_REMOTE_AT,
  SL_START,
  SL_STATE,
  SLAB_DETACHED,
  SLAB_FULL,
  SLAB_PARTIAL,
  SLAB_SHIFT,
  TS_FULL,
  TS_FULL_COUNT,
  TS_FULL_CURSOR,
  TS_PARTIAL,
} from './layout';
import { TINY_CLASS_BLOCKS } from './size-classes';
import type { Superslab } from './superslab';

/** Records slab `d` of class `cls` as this thread's in the page map of owned slabs. */
export function slabMapOwned(ss: Superslab, d: number, cls: number): void {
  ss.owned[ss.u32[d + SL_START]! >>> SLAB_SHIFT] = ownedEntry(d, cls);
}

export function slabUnmapOwned(ss: Superslab, d: number): void {
  ss.owned[ss.u32[d + SL_START]! >>> SLAB_SHIFT] = 0;
}

/** Pushes `d` (in no list) as the head (current slab) of the partial list, or into the full list when it has nothing free. */
export function slabPushPartial(ss: Superslab, d: number, cls: number): void {
  const i32 = ss.i32;
  if (
    i32[d + SL_FREE] === 0 &&
    i32[d + SL_CARVED]! >= TINY_CLASS_BLOCKS[cls]! &&
    Atomics.load(i32, i32[d + SL_REMOTE_AT]!) === 0
  ) {
    slabPushFull(ss, d, cls);
    return;
  }
  const headIndex = ss.area + TS_PARTIAL + cls;
  const next = i32[headIndex]!;
  i32[d + SL_NEXT] = next;
  i32[d + SL_PREV] = 0;
  if (next !== 0) i32[next + SL_PREV] = d;
  i32[d + SL_STATE] = SLAB_PARTIAL;
  i32[headIndex] = d;
}

export function slabUnlinkPartial(ss: Superslab, d: number, cls: number): void {
  const i32 = ss.i32;
  const prev = i32[d + SL_PREV]!;
  const next = i32[d + SL_NEXT]!;
  if (prev !== 0) i32[prev + SL_NEXT] = next;
  else i32[ss.area + TS_PARTIAL + cls] = next;
  if (next !== 0) i32[next + SL_PREV] = prev;
  i32[d + SL_STATE] = SLAB_DETACHED;
}

export function slabPushFull(ss: Superslab, d: number, cls: number): void {
  const i32 = ss.i32;
  const headIndex = ss.area + TS_FULL + cls;
  const next = i32[headIndex]!;
  i32[d + SL_NEXT] = next;
  i32[d + SL_PREV] = 0;
  if (next !== 0) i32[next + SL_PREV] = d;
  i32[d + SL_STATE] = SLAB_FULL;
  i32[headIndex] = d;
  i32[ss.area + TS_FULL_COUNT + cls] = i32[ss.area + TS_FULL_COUNT + cls]! + 1;
}

export function slabUnlinkFull(ss: Superslab, d: number, cls: number): void {
  const i32 = ss.i32;
  const area = ss.area;
  const prev = i32[d + SL_PREV]!;
  const next = i32[d + SL_NEXT]!;
  if (prev !== 0) i32[prev + SL_NEXT] = next;
  else i32[area + TS_FULL + cls] = next;
  if (next !== 0) i32[next + SL_PREV] = prev;
  if (i32[area + TS_FULL_CURSOR + cls] === d) i32[area + TS_FULL_CURSOR + cls] = next;
  i32[area + TS_FULL_COUNT + cls] = i32[area + TS_FULL_COUNT + cls]! - 1;
  i32[d + SL_STATE] = SLAB_DETACHED;
}

export function slabMoveToFull(ss: Superslab, d: number, cls: number): void {
  slabUnlinkPartial(ss, d, cls);
  slabPushFull(ss, d, cls);
}

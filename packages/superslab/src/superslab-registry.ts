/**
 * SuperSlabs: the tier's registry of every SuperSlab and its avail list (SuperSlabs with a slab
 * in the pool: partly used ones at the head, taken first, fully empty ones at the tail), both
 * changed only under the tier lock; adding a SuperSlab from the arena (superslabAdd) and
 * returning one (superslabFree); a slab back to the pool (slabRelease), which keeps one fully
 * empty SuperSlab for hysteresis and returns any other. See layout.ts, "SuperSlab header".
 */
import type { Arena } from '@hakmem/page-arena';
import { crashPoint } from './crash-point';
import {
  CLASS_COUNT,
  KEEP_EMPTY_SUPERSLABS,
  R_ABANDONED,
  R_AVAIL_HEAD,
  R_AVAIL_TAIL,
  R_EMPTY_SS,
  R_SLABS_OUT,
  R_SS_COUNT,
  R_SS_HEAD,
  REMOTE_STRIDE,
  ROOT_WORDS,
  SL_BITMAP,
  SL_CARVED,
  SL_CLASS,
  SL_FREE,
  SL_INDEX,
  SL_NEXT,
  SL_OWNER,
  SL_PREV,
  SL_REMOTE_AT,
  SL_SELF,
  SL_START,
  SL_STATE,
  SL_USED,
  SL_WORDS,
  SLAB_ABANDONED,
  SLAB_BYTES,
  SLAB_POOL,
  SS_AVAIL_NEXT,
  SS_AVAIL_PREV,
  SS_EMPTY,
  SS_HEADER_WORDS,
  SS_IN_AVAIL,
  SS_NEXT,
  SS_PREV,
  SS_REMOTE,
  SS_SLABS,
  SS_START,
  SUPERSLAB_SLABS,
  superslabDescBytes,
} from './layout';
import { TINY_KIND, TINY_LAYOUT_VERSION, TINY_MAX_SIZE } from './size-classes';
import { slabUnmapOwned } from './slab-lists';
import type { Superslab } from './superslab';

/** The heap's 'tiny' tier id, opened with sizes 0 … TINY_MAX_SIZE when the heap has none. */
export function superslabOpenTier(arena: Arena): number {
  return (
    arena.tierFind(TINY_KIND, TINY_LAYOUT_VERSION) ||
    arena.tierOpen(TINY_KIND, 0, TINY_MAX_SIZE, ROOT_WORDS, TINY_LAYOUT_VERSION)
  );
}

/** SS_EMPTY value of a SuperSlab whose `slabs` slabs are all in the pool. */
export function superslabFullMask(slabs: number): number {
  return slabs >= 32 ? -1 : (1 << slabs) - 1;
}

/** Adds a SuperSlab from the arena (32 pages, fewer when no 32-page run fits) with every slab in the pool. */
export function superslabAdd(ss: Superslab): boolean {
  const arena = ss.arena;
  let pages = SUPERSLAB_SLABS;
  let run = 0;
  for (; pages >= 1; pages >>= 1) {
    run = arena.allocRun(pages, ss.tier);
    if (run !== 0) break;
  }
  if (run === 0) return false;
  // Always the full size: one metaAlloc class for every descriptor (each class costs a META page).
  const desc = arena.metaAlloc(superslabDescBytes(SUPERSLAB_SLABS));
  if (desc === 0) {
    arena.freeRun(run);
    return false;
  }
  ss.slabRefreshViews();
  const i32 = ss.i32;
  const s = desc >>> 2;
  i32[s + SS_START] = run;
  i32[s + SS_SLABS] = pages;
  i32[s + SS_EMPTY] = superslabFullMask(pages);
  const firstPage = Math.floor(run / SLAB_BYTES);
  for (let i = 0; i < pages; i++) {
    const d = s + SS_HEADER_WORDS + i * SL_WORDS;
    i32[d + SL_CLASS] = -1;
    i32[d + SL_START] = run + i * SLAB_BYTES;
    i32[d + SL_SELF] = d;
    i32[d + SL_INDEX] = i;
    // The remote head, off the descriptor's line (layout.ts, "Remote heads").
    i32[d + SL_REMOTE_AT] = s + SS_REMOTE + i * REMOTE_STRIDE;
    i32[s + SS_REMOTE + i * REMOTE_STRIDE] = 0;
    i32[d + SL_STATE] = SLAB_POOL;
    arena.setPageDesc(firstPage + i, d * 4);
  }
  const root = ss.root;
  // Locked: the registry link first (straight-line: R_SS_HEAD is the decisive store), then the
  // derived words, which superslabRepair recomputes.
  ss.slabLock();
  const head = ss.i32[root + R_SS_HEAD]!;
  ss.i32[s + SS_NEXT] = head;
  if (head !== 0) ss.i32[head + SS_PREV] = s;
  ss.i32[root + R_SS_HEAD] = s;
  if (__DEV__) crashPoint('add');
  ss.i32[root + R_SS_COUNT] = ss.i32[root + R_SS_COUNT]! + 1;
  if (__DEV__) crashPoint('add');
  ss.i32[root + R_EMPTY_SS] = ss.i32[root + R_EMPTY_SS]! + 1;
  if (__DEV__) crashPoint('add');
  superslabAvailPush(ss, s, false);
  if (__DEV__) crashPoint('add');
  ss.slabUnlock();
  return true;
}

/** Returns SuperSlab `s` (unlinked, every slab in the pool) to the arena. */
export function superslabFree(ss: Superslab, s: number): void {
  const arena = ss.arena;
  const slabs = ss.i32[s + SS_SLABS]!;
  const run = ss.u32[s + SS_START]!;
  for (let i = 0; i < slabs; i++) {
    const bm = ss.i32[s + SS_HEADER_WORDS + i * SL_WORDS + SL_BITMAP]!;
    if (bm !== 0) arena.metaFree(bm * 4);
  }
  arena.freeRun(run);
  arena.metaFree(s * 4);
  ss.releasedBytes += slabs * SLAB_BYTES;
}

/**
 * Returns slab `d` (in no list, no blocks out) to the pool; a fully empty SuperSlab beyond the
 * kept one goes back to the arena. The whole change is made under the tier lock, the
 * descriptor first: SL_STATE = POOL is the decisive store (before it the slab is still the
 * owner's, which a reclaim finds by SL_OWNER; after it, superslabRepair derives the mask,
 * counters and avail list from it), so no other thread ever sees a pool-state slab outside the pool.
 */
export function slabRelease(ss: Superslab, d: number): void {
  slabUnmapOwned(ss, d);
  const root = ss.root;
  let release = 0;
  ss.slabLock();
  const i32 = ss.i32;
  i32[d + SL_CLASS] = -1;
  i32[d + SL_FREE] = 0;
  i32[d + SL_USED] = 0;
  i32[d + SL_CARVED] = 0;
  i32[d + SL_NEXT] = 0;
  i32[d + SL_PREV] = 0;
  i32[d + SL_STATE] = SLAB_POOL;
  if (__DEV__) crashPoint('release');
  Atomics.store(i32, d + SL_OWNER, 0);
  if (__DEV__) crashPoint('release');
  const s = d - SS_HEADER_WORDS - i32[d + SL_INDEX]! * SL_WORDS;
  const mask = i32[s + SS_EMPTY]! | (1 << i32[d + SL_INDEX]!);
  i32[s + SS_EMPTY] = mask;
  if (__DEV__) crashPoint('release');
  i32[root + R_SLABS_OUT] = i32[root + R_SLABS_OUT]! - 1;
  if (__DEV__) crashPoint('release');
  if (i32[s + SS_IN_AVAIL] === 0) superslabAvailPush(ss, s, false);
  if (__DEV__) crashPoint('release');
  if (mask === superslabFullMask(i32[s + SS_SLABS]!)) {
    if (i32[root + R_EMPTY_SS]! >= KEEP_EMPTY_SUPERSLABS) {
      superslabAvailUnlink(ss, s);
      if (__DEV__) crashPoint('release');
      superslabRegistryUnlink(ss, s);
      if (__DEV__) crashPoint('release');
      release = s;
    } else {
      i32[root + R_EMPTY_SS] = i32[root + R_EMPTY_SS]! + 1;
      if (__DEV__) crashPoint('release');
      superslabAvailUnlink(ss, s);
      if (__DEV__) crashPoint('release');
      superslabAvailPush(ss, s, true);
      if (__DEV__) crashPoint('release');
    }
  }
  ss.slabUnlock();
  if (release !== 0) superslabFree(ss, release);
}

/**
 * Tier lock held: rebuilds everything the lock protects from its source of truth, the slab
 * descriptors (SL_STATE, SL_OWNER) reached through the registry: the registry's back links and
 * count, each SuperSlab's SS_EMPTY mask (bit i ⇔ slab i in state POOL), the avail list and
 * SS_IN_AVAIL, R_EMPTY_SS, R_SLABS_OUT and the abandoned lists (state ABANDONED, owner 0).
 * A reclaim runs it after taking over the lock of a thread that died inside a locked section,
 * whatever prefix of it was done (every locked section stores the descriptor first).
 */
export function superslabRepair(ss: Superslab): void {
  const i32 = ss.i32;
  const root = ss.root;
  i32[root + R_AVAIL_HEAD] = 0;
  i32[root + R_AVAIL_TAIL] = 0;
  for (let cls = 0; cls < CLASS_COUNT; cls++) i32[root + R_ABANDONED + cls] = 0;
  let count = 0;
  let empty = 0;
  let out = 0;
  const fullOnes: number[] = [];
  for (let s = i32[root + R_SS_HEAD]!, prev = 0; s !== 0; prev = s, s = i32[s + SS_NEXT]!) {
    i32[s + SS_PREV] = prev;
    count++;
    const slabs = i32[s + SS_SLABS]!;
    let mask = 0;
    for (let i = 0; i < slabs; i++) {
      const d = s + SS_HEADER_WORDS + i * SL_WORDS;
      const state = i32[d + SL_STATE]!;
      if (state === SLAB_POOL) {
        // A release stopped between its decisive store and the owner word.
        Atomics.store(i32, d + SL_OWNER, 0);
        i32[d + SL_CLASS] = -1;
        i32[d + SL_USED] = 0;
        i32[d + SL_CARVED] = 0;
        i32[d + SL_FREE] = 0;
        mask |= 1 << i;
        continue;
      }
      out++;
      if (state === SLAB_ABANDONED && Atomics.load(i32, d + SL_OWNER) === 0) {
        const head = root + R_ABANDONED + i32[d + SL_CLASS]!;
        i32[d + SL_NEXT] = i32[head]!;
        i32[d + SL_PREV] = 0;
        Atomics.store(i32, head, d);
      }
    }
    i32[s + SS_EMPTY] = mask;
    i32[s + SS_IN_AVAIL] = 0;
    if (mask === 0) continue;
    if (mask === superslabFullMask(slabs)) {
      empty++;
      fullOnes.push(s);
    } else {
      superslabAvailPush(ss, s, false);
    }
  }
  for (const s of fullOnes) superslabAvailPush(ss, s, true);
  i32[root + R_SS_COUNT] = count;
  i32[root + R_EMPTY_SS] = empty;
  i32[root + R_SLABS_OUT] = out;
}

/** Avail list: at the head (partly used SuperSlabs, taken first) or the tail (fully empty ones). Tier lock held. */
export function superslabAvailPush(ss: Superslab, s: number, tail: boolean): void {
  const i32 = ss.i32;
  const root = ss.root;
  if (tail) {
    const prev = i32[root + R_AVAIL_TAIL]!;
    i32[s + SS_AVAIL_PREV] = prev;
    i32[s + SS_AVAIL_NEXT] = 0;
    if (prev !== 0) i32[prev + SS_AVAIL_NEXT] = s;
    else i32[root + R_AVAIL_HEAD] = s;
    i32[root + R_AVAIL_TAIL] = s;
  } else {
    const next = i32[root + R_AVAIL_HEAD]!;
    i32[s + SS_AVAIL_NEXT] = next;
    i32[s + SS_AVAIL_PREV] = 0;
    if (next !== 0) i32[next + SS_AVAIL_PREV] = s;
    else i32[root + R_AVAIL_TAIL] = s;
    i32[root + R_AVAIL_HEAD] = s;
  }
  i32[s + SS_IN_AVAIL] = 1;
}

/** Takes SuperSlab `s` off the avail list. Tier lock held. */
export function superslabAvailUnlink(ss: Superslab, s: number): void {
  const i32 = ss.i32;
  const root = ss.root;
  const prev = i32[s + SS_AVAIL_PREV]!;
  const next = i32[s + SS_AVAIL_NEXT]!;
  if (prev !== 0) i32[prev + SS_AVAIL_NEXT] = next;
  else i32[root + R_AVAIL_HEAD] = next;
  if (next !== 0) i32[next + SS_AVAIL_PREV] = prev;
  else i32[root + R_AVAIL_TAIL] = prev;
  i32[s + SS_AVAIL_NEXT] = 0;
  i32[s + SS_AVAIL_PREV] = 0;
  i32[s + SS_IN_AVAIL] = 0;
}

/** Takes SuperSlab `s` out of the registry. Tier lock held. */
export function superslabRegistryUnlink(ss: Superslab, s: number): void {
  const i32 = ss.i32;
  const root = ss.root;
  const prev = i32[s + SS_PREV]!;
  const next = i32[s + SS_NEXT]!;
  if (prev !== 0) i32[prev + SS_NEXT] = next;
  else i32[root + R_SS_HEAD] = next;
  if (next !== 0) i32[next + SS_PREV] = prev;
  i32[root + R_SS_COUNT] = i32[root + R_SS_COUNT]! - 1;
}

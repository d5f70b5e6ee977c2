import { HakmemError, PM_DESC, PM_RUN_PAGES, PM_TIER } from '@hakmem/page-arena';
import type { BigTier } from './big-tier';
import { cacheEvictOver, cachePutShared } from './cache';
import { crashPoint } from './crash-point';
import {
  A_CLOCK,
  A_COUNT,
  A_HITS,
  A_LIVE_BLOCKS,
  A_LIVE_BYTES,
  A_MIN_STAMP,
  A_PAGES,
  A_RESERVED,
  A_SLOTS,
  AGE_LIMIT,
  AREA_BYTES,
  D_CACHED,
  D_LOCAL,
  LOCAL_CAP_SHIFT,
  LOCAL_SLOTS,
  R_CLOCK,
  R_EVICTIONS,
  R_HITS,
  R_LIVE_BLOCKS,
  R_LIVE_BYTES,
  R_RESERVED,
  S_PAGES,
  S_RUN,
  S_STAMP,
  SLOT_WORDS,
  TW_AREA,
  WHOLE_SHIFT,
} from './layout';
import { usableOf } from './size';

/**
 * The thread cache: up to LOCAL_SLOTS runs this thread freed, which its own mallocs take back
 * with plain loads and stores (no lock, no Atomics). A run in it has PM_DESC = marker(thread)
 * (D_CACHED | D_LOCAL), so every other path (another thread's free, resize, the shared cache's
 * validation) sees a cached run. Its pages count against the tier's byte bound through a
 * reservation (A_RESERVED, summed in R_RESERVED) made under the tier lock: a fast free only
 * fits runs within the reservation. Everything under the lock is `…Locked`.
 */

const enum A {
  Count = 0,
  Pages = 1,
  Reserved = 2,
  Clock = 3,
  LiveBlocks = 4,
  LiveBytes = 5,
  Hits = 6,
  MinStamp = 7,
  Slots = 8,
}
const enum S {
  Run = 0,
  Pages = 1,
  Stamp = 2,
  Words = 3,
}
const enum K {
  Slots = 8,
  AgeLimit = 1024,
  WholeShift = 3,
}
const enum Pm {
  Tier = 0,
  RunPages = 2,
  Desc = 3,
}
if (
  A.Count !== A_COUNT ||
  A.Pages !== A_PAGES ||
  A.Reserved !== A_RESERVED ||
  A.Clock !== A_CLOCK ||
  A.LiveBlocks !== A_LIVE_BLOCKS ||
  A.LiveBytes !== A_LIVE_BYTES ||
  A.Hits !== A_HITS ||
  A.MinStamp !== A_MIN_STAMP ||
  A.Slots !== A_SLOTS ||
  S.Run !== S_RUN ||
  S.Pages !== S_PAGES ||
  S.Stamp !== S_STAMP ||
  S.Words !== SLOT_WORDS ||
  K.Slots !== LOCAL_SLOTS ||
  K.AgeLimit !== AGE_LIMIT ||
  K.WholeShift !== WHOLE_SHIFT ||
  Pm.Tier !== PM_TIER ||
  Pm.RunPages !== PM_RUN_PAGES ||
  Pm.Desc !== PM_DESC
) {
  throw new Error('bigcache: the inlined thread-cache offsets differ from layout.ts or @hakmem/page-arena');
}

/** PM_DESC of a run in thread `threadId`'s cache. */
export function localMarker(threadId: number): number {
  return ((threadId << 2) | D_LOCAL | D_CACHED) >>> 0;
}

/** The desc names a thread cache (else a node when D_CACHED). */
export function isLocalDesc(desc: number): boolean {
  return (desc & (D_LOCAL | D_CACHED)) === (D_LOCAL | D_CACHED);
}

// ───────────────────────────── fast paths (no lock) ─────────────────────────────

/**
 * malloc from the thread cache (area `a`): the newest run of `pages` pages, else the smallest
 * at most 1/8 larger; 0 when none fits (or the views are stale: the locked path refreshes).
 * Every load and call comes first, then straight-line stores (a terminated worker leaves the
 * area consistent).
 */
export function localTake(t: BigTier, a: number, pages: number, desc: number): number {
  const arena = t.arena;
  let i32 = arena.i32;
  const count = i32[a + A.Count]!;
  let best = 0;
  let bestPages = 0;
  for (let k = count - 1; k >= 0; k--) {
    const s = a + A.Slots + k * S.Words;
    const p = i32[s + S.Pages]!;
    if (p >= pages && p - pages <= pages >>> K.WholeShift && (best === 0 || p < bestPages)) {
      best = s;
      bestPages = p;
      if (p === pages) break;
    }
  }
  if (best === 0) return 0;
  const run = i32[best + S.Run]! >>> 0;
  const e = arena.pageEntry(run);
  const u32 = arena.u32;
  if (
    e < 0 ||
    u32[e + Pm.Tier] !== t.tierWord ||
    u32[e + Pm.Desc] !== t.marker ||
    u32[e + Pm.RunPages] !== bestPages
  ) {
    throw localCorrupt(t, a, best);
  }
  const usable = usableOf(desc, bestPages);
  if (__DEV__) crashPoint('local');
  i32 = arena.i32;
  const last = a + A.Slots + (count - 1) * S.Words;
  i32[best + S.Run] = i32[last + S.Run]!;
  i32[best + S.Pages] = i32[last + S.Pages]!;
  i32[best + S.Stamp] = i32[last + S.Stamp]!;
  i32[a + A.Count] = count - 1;
  i32[a + A.Pages]! -= bestPages;
  i32[a + A.Clock] = (i32[a + A.Clock]! + 1) | 0;
  i32[a + A.LiveBlocks]!++;
  i32[a + A.LiveBytes]! += usable;
  i32[a + A.Hits]!++;
  u32[e + Pm.Desc] = desc;
  return run;
}

/**
 * free into the thread cache (area `a`): a live run head of this tier at `ptr` (page-map
 * entry `e`) that fits a free slot and the reservation, with no slot older than AGE_LIMIT.
 * False leaves everything to the locked path (which also reports a bad pointer).
 */
export function localPut(t: BigTier, a: number, ptr: number, e: number): boolean {
  const arena = t.arena;
  const u32 = arena.u32;
  const i32 = arena.i32;
  const desc = u32[e + Pm.Desc]!;
  const count = i32[a + A.Count]!;
  if (u32[e + Pm.Tier] !== t.tierWord || (ptr & 0xffff) !== 0 || (desc & 1) !== 0 || !(count < K.Slots)) {
    return false;
  }
  const pages = u32[e + Pm.RunPages]!;
  const have = i32[a + A.Pages]! + pages;
  const clock = (i32[a + A.Clock]! + 1) | 0;
  if (have > i32[a + A.Reserved]! || (count > 0 && ((clock - i32[a + A.MinStamp]!) | 0) > K.AgeLimit)) {
    return false;
  }
  const usable = usableOf(desc, pages);
  if (__DEV__) crashPoint('local');
  const s = a + A.Slots + count * S.Words;
  i32[s + S.Run] = ptr;
  i32[s + S.Pages] = pages;
  i32[s + S.Stamp] = clock;
  if (count === 0) i32[a + A.MinStamp] = clock;
  i32[a + A.Count] = count + 1;
  i32[a + A.Pages] = have;
  i32[a + A.Clock] = clock;
  i32[a + A.LiveBlocks]!--;
  i32[a + A.LiveBytes]! -= usable;
  u32[e + Pm.Desc] = t.marker;
  return true;
}

/** Slot `s` of this thread's cache does not match the page map: the slot is dropped (the run is left as it is) and ERR_HEAP_CORRUPTED names it. */
function localCorrupt(t: BigTier, a: number, s: number): HakmemError {
  const i32 = t.arena.i32;
  const run = i32[s + S.Run]! >>> 0;
  const pages = i32[s + S.Pages]!;
  localRemoveSlot(i32, a, s);
  return new HakmemError(
    'ERR_HEAP_CORRUPTED',
    `big tier: thread ${t.threadId}'s cached run ${run} (${pages} pages) does not match the page map (its run must head a run of this tier of that size whose PM_DESC is ${t.marker}): the slot was dropped, nothing was handed out`,
  );
}

/** Removes slot `s` (the last slot moves into it). */
function localRemoveSlot(i32: Int32Array, a: number, s: number): void {
  const count = i32[a + A.Count]!;
  const last = a + A.Slots + (count - 1) * S.Words;
  const pages = i32[s + S.Pages]!;
  i32[s + S.Run] = i32[last + S.Run]!;
  i32[s + S.Pages] = i32[last + S.Pages]!;
  i32[s + S.Stamp] = i32[last + S.Stamp]!;
  i32[a + A.Count] = count - 1;
  i32[a + A.Pages]! -= pages;
}

// ───────────────────────────── under the tier lock ─────────────────────────────

/** This thread's area, created (metaAlloc, zero-filled) when it has none; 0 when maxBytes has no room (tier lock held). */
function localArea(t: BigTier): number {
  if (t.area > 0) return t.area;
  const arena = t.arena;
  const word = arena.threadTierWords(t.id) + TW_AREA;
  const existing = Atomics.load(arena.i32, word);
  if (existing > 0) {
    t.area = existing;
    return existing;
  }
  const offset = arena.metaAlloc(AREA_BYTES);
  if (offset === 0) return 0;
  Atomics.store(arena.i32, word, offset >>> 2);
  t.area = offset >>> 2;
  return t.area;
}

/**
 * free into the thread cache off the fast path (tier lock held; the run at `ptr` was validated
 * live, `usable` its usable bytes): aged slots leave first, the oldest slots go to the shared
 * cache until the run fits, and the reservation grows (evicting shared runs to make room in the
 * byte bound). False when it cannot hold the run (too large, no area, no room in the bound).
 */
export function localPutLocked(t: BigTier, ptr: number, pages: number, usable: number): boolean {
  const cap = t.capPages >>> LOCAL_CAP_SHIFT;
  if (pages > cap || !t.threadCache) return false;
  const a = localArea(t);
  if (a === 0) return false;
  const arena = t.arena;
  const root = t.root;
  const clock = (arena.i32[a + A.Clock]! + 1) | 0;
  if (__DEV__) crashPoint('local');
  localEvictAgedLocked(t, a, clock);
  // Make room: the oldest slots go to the shared cache.
  while (arena.i32[a + A.Count]! >= K.Slots || arena.i32[a + A.Pages]! + pages > cap) {
    if (__DEV__) crashPoint('local');
    localSpillOldestLocked(t, a, clock);
  }
  if (__DEV__) crashPoint('local');
  let i32 = arena.i32;
  const need = i32[a + A.Pages]! + pages;
  const reserved = i32[a + A.Reserved]!;
  if (need > reserved) {
    const grow = need - reserved;
    if (i32[root + R_RESERVED]! + grow > t.capPages) return false; // other threads hold the bound
    i32[root + R_RESERVED]! += grow;
    i32[a + A.Reserved] = need;
    if (__DEV__) crashPoint('local');
    cacheEvictOver(t);
  }
  i32 = arena.i32;
  const count = i32[a + A.Count]!;
  const s = a + A.Slots + count * S.Words;
  i32[s + S.Run] = ptr;
  i32[s + S.Pages] = pages;
  i32[s + S.Stamp] = clock;
  if (count === 0) i32[a + A.MinStamp] = clock;
  i32[a + A.Count] = count + 1;
  i32[a + A.Pages] = need;
  i32[a + A.Clock] = clock;
  i32[a + A.LiveBlocks]!--;
  i32[a + A.LiveBytes]! -= usable;
  if (__DEV__) crashPoint('local');
  arena.setPageDesc(ptr >>> 16, t.marker);
  return true;
}

/** Moves the oldest slot's run to the shared cache (tier lock held). */
function localSpillOldestLocked(t: BigTier, a: number, clock: number): void {
  const i32 = t.arena.i32;
  const count = i32[a + A.Count]!;
  let oldest = a + A.Slots;
  for (let k = 1; k < count; k++) {
    const s = a + A.Slots + k * S.Words;
    if (((clock - i32[s + S.Stamp]!) | 0) > ((clock - i32[oldest + S.Stamp]!) | 0)) oldest = s;
  }
  const run = i32[oldest + S.Run]! >>> 0;
  const pages = i32[oldest + S.Pages]!;
  localRemoveSlot(i32, a, oldest);
  if (__DEV__) crashPoint('local');
  cachePutShared(t, run, pages, t.arena.i32[t.root + R_CLOCK]!);
}

/** Gives back to the arena every slot not reused within AGE_LIMIT of this thread's operations, and makes A_MIN_STAMP exact (tier lock held). */
function localEvictAgedLocked(t: BigTier, a: number, clock: number): void {
  const arena = t.arena;
  let i32 = arena.i32;
  for (let k = i32[a + A.Count]! - 1; k >= 0; k--) {
    const s = a + A.Slots + k * S.Words;
    if (((clock - i32[s + S.Stamp]!) | 0) <= K.AgeLimit) continue;
    const run = i32[s + S.Run]! >>> 0;
    localRemoveSlot(i32, a, s);
    if (__DEV__) crashPoint('local');
    arena.freeRun(run);
    i32 = arena.i32;
    i32[t.root + R_EVICTIONS]!++;
  }
  let min = clock;
  for (let k = 0; k < i32[a + A.Count]!; k++) {
    const stamp = i32[a + A.Slots + k * S.Words + S.Stamp]!;
    if (((clock - stamp) | 0) > ((clock - min) | 0)) min = stamp;
  }
  i32[a + A.MinStamp] = min;
}

/**
 * Empties this thread's cache (tier lock held): every run to the shared cache, or back to the
 * arena when `toArena`, and the reservation is released. Returns the pages given back to the arena.
 */
export function localFlushLocked(t: BigTier, toArena: boolean): number {
  const a = t.area;
  if (a === 0) return 0;
  const arena = t.arena;
  let pages = 0;
  const clock = arena.i32[t.root + R_CLOCK]!;
  // The reservation first, so the runs moving to the shared cache have its room.
  arena.i32[t.root + R_RESERVED]! -= arena.i32[a + A.Reserved]!;
  arena.i32[a + A.Reserved] = 0;
  while (arena.i32[a + A.Count]! > 0) {
    if (__DEV__) crashPoint('local');
    const i32 = arena.i32;
    const s = a + A.Slots + (i32[a + A.Count]! - 1) * S.Words;
    const run = i32[s + S.Run]! >>> 0;
    const p = i32[s + S.Pages]!;
    localRemoveSlot(i32, a, s);
    if (__DEV__) crashPoint('local');
    if (toArena) {
      arena.freeRun(run);
      arena.i32[t.root + R_EVICTIONS]!++;
      pages += p;
    } else {
      cachePutShared(t, run, p, clock);
    }
  }
  return pages;
}

/**
 * malloc off the fast path (tier lock held): the smallest run of this thread's cache that holds
 * `pages` (more than 1/8 larger: the fast path leaves those), out of the cache; 0 when none.
 * Strict: ERR_HEAP_CORRUPTED (the slot dropped) when it does not match the page map.
 */
export function localTakeLargerLocked(t: BigTier, pages: number): number {
  const a = t.area;
  if (a === 0) return 0;
  const arena = t.arena;
  const i32 = arena.i32;
  let best = 0;
  for (let k = 0; k < i32[a + A.Count]!; k++) {
    const s = a + A.Slots + k * S.Words;
    const p = i32[s + S.Pages]!;
    if (p >= pages && (best === 0 || p < i32[best + S.Pages]!)) best = s;
  }
  if (best === 0) return 0;
  const run = i32[best + S.Run]! >>> 0;
  const e = (run & 0xffff) === 0 ? arena.pageEntry(run) : -1;
  const u32 = arena.u32;
  if (
    e < 0 ||
    u32[e + Pm.Tier] !== t.tierWord ||
    u32[e + Pm.Desc] !== t.marker ||
    u32[e + Pm.RunPages] !== arena.i32[best + S.Pages]
  ) {
    throw localCorrupt(t, a, best);
  }
  localRemoveSlot(arena.i32, a, best);
  return run;
}

/** Removes the run at `run` from this thread's cache and gives it back to the arena (resize grows into it; tier lock held). */
export function localEvictRunLocked(t: BigTier, run: number): void {
  const a = t.area;
  const arena = t.arena;
  const i32 = arena.i32;
  for (let k = 0; k < i32[a + A.Count]!; k++) {
    const s = a + A.Slots + k * S.Words;
    if (i32[s + S.Run]! >>> 0 !== run) continue;
    localRemoveSlot(i32, a, s);
    arena.freeRun(run);
    arena.i32[t.root + R_EVICTIONS]!++;
    return;
  }
}

/**
 * The thread is leaving (tier lock held): its runs go to the shared cache, its counters are
 * folded into the root, its area goes back to metaFree.
 */
export function localDetachLocked(t: BigTier): void {
  const a = t.area;
  if (a === 0) return;
  localFlushLocked(t, false);
  if (__DEV__) crashPoint('local');
  localFoldLocked(t, a);
  if (__DEV__) crashPoint('local');
  const arena = t.arena;
  const words = arena.threadTierWords(t.id);
  if (__DEV__) crashPoint('local');
  Atomics.store(arena.i32, words + TW_AREA, 0);
  if (__DEV__) crashPoint('local');
  arena.metaFree(a * 4);
  t.area = 0;
}

/** Adds area `a`'s counters to the root's (tier lock held). */
function localFoldLocked(t: BigTier, a: number): void {
  const i32 = t.arena.i32;
  const root = t.root;
  i32[root + R_LIVE_BLOCKS]! += i32[a + A.LiveBlocks]!;
  i32[root + R_LIVE_BYTES]! += i32[a + A.LiveBytes]!;
  i32[root + R_HITS]! += i32[a + A.Hits]!;
  i32[a + A.LiveBlocks] = 0;
  i32[a + A.LiveBytes] = 0;
  i32[a + A.Hits] = 0;
}

/**
 * A dead thread's cache (tier lock held; the caller broke its locks): every slot whose run
 * still names it goes to the shared cache, any other run of this tier naming it (a worker
 * terminated between its stores cannot leave one, but a damaged slot can) back to the arena,
 * its counters into the root, its reservation released, its area freed.
 */
export function localReclaimLocked(t: BigTier, deadId: number): void {
  const arena = t.arena;
  const words = arena.threadTierWords(t.id, deadId);
  const a = words > 0 ? Atomics.load(arena.i32, words + TW_AREA) : 0;
  const marker = localMarker(deadId);
  const clock = arena.i32[t.root + R_CLOCK]!;
  if (a > 0) {
    arena.i32[t.root + R_RESERVED]! -= arena.i32[a + A.Reserved]!;
    arena.i32[a + A.Reserved] = 0;
    while (arena.i32[a + A.Count]! > 0) {
      const i32 = arena.i32;
      const s = a + A.Slots + (i32[a + A.Count]! - 1) * S.Words;
      const run = i32[s + S.Run]! >>> 0;
      const pages = i32[s + S.Pages]!;
      localRemoveSlot(i32, a, s);
      const e = (run & 0xffff) === 0 ? arena.pageEntry(run) : -1;
      const u32 = arena.u32;
      if (
        e >= 0 &&
        u32[e + Pm.Tier] === t.tierWord &&
        u32[e + Pm.Desc] === marker &&
        u32[e + Pm.RunPages] === pages
      ) {
        cachePutShared(t, run, pages, clock);
      }
    }
    localFoldLocked(t, a);
    Atomics.store(arena.i32, words + TW_AREA, 0);
    arena.metaFree(a * 4);
  }
  for (const run of arena.snapshot()) {
    if (run.tier === t.id && run.desc === marker) {
      arena.freeRun(run.offset);
      arena.i32[t.root + R_EVICTIONS]!++;
    }
  }
}

/** Every thread area of this tier: [thread id, i32 index] (racy reads of others' words: exact when they are quiescent). */
export function localAreas(t: BigTier): Array<[number, number]> {
  const arena = t.arena;
  const out: Array<[number, number]> = [];
  for (const tid of arena.threadIds()) {
    if (tid === arena.threadId) {
      // threadTierWords would create this thread's block: the handle knows its area.
      if (t.area > 0) out.push([tid, t.area]);
      continue;
    }
    const words = arena.threadTierWords(t.id, tid);
    const a = words > 0 ? Atomics.load(arena.i32, words + TW_AREA) : 0;
    if (a > 0) out.push([tid, a]);
  }
  return out;
}

/** Sums of the thread areas' counters (for stats, check and repair). */
export interface LocalSums {
  liveBlocks: number;
  liveBytes: number;
  hits: number;
  runs: number;
  pages: number;
  reserved: number;
}

export function localSums(t: BigTier): LocalSums {
  const sums: LocalSums = { liveBlocks: 0, liveBytes: 0, hits: 0, runs: 0, pages: 0, reserved: 0 };
  const i32 = t.arena.i32;
  for (const [, a] of localAreas(t)) {
    sums.liveBlocks = (sums.liveBlocks + i32[a + A.LiveBlocks]!) | 0;
    sums.liveBytes = (sums.liveBytes + i32[a + A.LiveBytes]!) | 0;
    sums.hits = (sums.hits + i32[a + A.Hits]!) | 0;
    sums.runs += i32[a + A.Count]!;
    sums.pages += i32[a + A.Pages]!;
    sums.reserved += i32[a + A.Reserved]!;
  }
  return sums;
}

import { HakmemError, PM_DESC, PM_RUN_PAGES, PM_TIER } from '@hakmem/page-arena';
import type { BigTier } from './big-tier';
import { cacheEvictOver, cachePutShared } from './cache';
import { crashPoint } from './crash-point';
import { intentBegin, intentEnd } from './intent';
import {
  A_CLOCK,
  A_HITS,
  A_LIVE_BLOCKS,
  A_LIVE_BYTES,
  A_MASK,
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
  R_RUNS,
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
 * without the tier lock and without Atomics. A run in it has PM_DESC = marker(thread)
 * (D_CACHED | D_LOCAL), so every other path (another thread's free, resize, the shared cache's
 * validation) sees a cached run. Its pages count against the tier's byte bound through a
 * reservation (A_RESERVED, summed in R_RESERVED) made under the tier lock: a fast free only fits
 * runs within the reservation.
 *
 * The area is the owner's: plain loads and stores, A_MASK says which slots hold a run. The one
 * word another thread writes is A_RESERVED, under the tier lock: a malloc about to report out of
 * memory, and trim(), ask every other thread for its cache by storing ~A_RESERVED (negative).
 * The owner's next free then fails the reservation test and takes the lock, where the cache goes
 * back to the arena (localPutLocked). A thread that never frees again keeps its runs (at most
 * its reservation; a worker that died gives them back through reclaim). Everything under the
 * lock is `…Locked`.
 */

const enum A {
  Reserved = 0,
  Clock = 1,
  LiveBlocks = 2,
  LiveBytes = 3,
  Hits = 4,
  MinStamp = 5,
  Mask = 6,
  Pages = 7,
  Slots = 8,
}
const enum S {
  Run = 0,
  Pages = 1,
  Stamp = 2,
  Words = 4,
}
const enum K {
  /** log2 SLOT_WORDS: slot k is at A_SLOTS + (k << SlotShift). */
  SlotShift = 2,
  Slots = 8,
  Full = 0xff,
  AgeLimit = 1024,
  WholeShift = 3,
}
const enum Pm {
  Tier = 0,
  RunPages = 2,
  Desc = 3,
}
if (
  A.Reserved !== A_RESERVED ||
  A.Clock !== A_CLOCK ||
  A.LiveBlocks !== A_LIVE_BLOCKS ||
  A.LiveBytes !== A_LIVE_BYTES ||
  A.Hits !== A_HITS ||
  A.MinStamp !== A_MIN_STAMP ||
  A.Mask !== A_MASK ||
  A.Pages !== A_PAGES ||
  A.Slots !== A_SLOTS ||
  S.Run !== S_RUN ||
  S.Pages !== S_PAGES ||
  S.Stamp !== S_STAMP ||
  S.Words !== SLOT_WORDS ||
  1 << K.SlotShift !== SLOT_WORDS ||
  K.Slots !== LOCAL_SLOTS ||
  K.Full !== (1 << LOCAL_SLOTS) - 1 ||
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

/** i32 index of slot `k` of area `a` (`| 0`: no overflow check, see docs/architecture.md's fast-path rules). */
function localSlot(a: number, k: number): number {
  return (a + A.Slots + (k << K.SlotShift)) | 0;
}

// ───────────────────────────── fast paths (no lock) ─────────────────────────────

/**
 * malloc from the thread cache (area `a`): the newest run of exactly `pages` pages, else
 * (localTakeNear) the smallest at most 1/8 larger; 0 when none fits or when the views are stale
 * (the locked path refreshes). No lock, no Atomics: every load comes first, then straight-line
 * stores (a terminated worker leaves the area consistent, or its claimed run marked with its id
 * in no slot: reclaim gives it back). Small enough for V8 to inline into malloc.
 */
export function localTake(t: BigTier, a: number, pages: number, desc: number): number {
  const i32 = t.arena.i32;
  const mask = i32[(a + A.Mask) | 0]!;
  for (let m = mask; m !== 0; m &= m - 1) {
    const low = m & -m;
    const s = localSlot(a, 31 - Math.clz32(low));
    if (i32[(s + S.Pages) | 0] === pages) return localClaim(t, a, s, low, pages, desc);
  }
  return mask === 0 ? 0 : localTakeNear(t, a, pages, desc);
}

/** localTake's other fit: the smallest run of the cache at most 1/8 larger than `pages` (none is exact). */
function localTakeNear(t: BigTier, a: number, pages: number, desc: number): number {
  const i32 = t.arena.i32;
  let best = 0;
  let bestPages = 0;
  let bit = 0;
  for (let m = i32[a + A.Mask]!; m !== 0; m &= m - 1) {
    const low = m & -m;
    const s = localSlot(a, 31 - Math.clz32(low));
    const p = i32[s + S.Pages]!;
    if (p > pages && p - pages <= pages >>> K.WholeShift && (best === 0 || p < bestPages)) {
      best = s;
      bestPages = p;
      bit = low;
    }
  }
  return best === 0 ? 0 : localClaim(t, a, best, bit, bestPages, desc);
}

/** Claims slot `s` (mask bit `bit`, a run of `pages` pages) for malloc: the page-map check, then the stores. */
function localClaim(t: BigTier, a: number, s: number, bit: number, pages: number, desc: number): number {
  // Indexes as `(… + …) | 0`: no overflow check (docs/architecture.md, the fast-path rules).
  const arena = t.arena;
  const i32 = arena.i32;
  const run = i32[(s + S.Run) | 0]! >>> 0;
  const e = arena.pageEntry(run);
  const u32 = arena.u32;
  if (
    e < 0 ||
    u32[(e + Pm.Tier) | 0] !== t.tierWord ||
    u32[(e + Pm.Desc) | 0] !== t.marker ||
    u32[(e + Pm.RunPages) | 0] !== pages
  ) {
    throw localCorrupt(t, a, s, bit);
  }
  // A request above 1 MiB (desc 0) uses the whole run; written out, since malloc's inlining
  // budget leaves usableOf a call here (a thread cache's run is at most 4096 pages: no overflow).
  const usable = desc === 0 ? pages << 16 : usableOf(desc, pages);
  if (__DEV__) crashPoint('local');
  i32[(a + A.Mask) | 0] = i32[(a + A.Mask) | 0]! ^ bit;
  i32[(a + A.Pages) | 0] = (i32[(a + A.Pages) | 0]! - pages) | 0;
  i32[(a + A.Clock) | 0] = (i32[(a + A.Clock) | 0]! + 1) | 0;
  i32[(a + A.LiveBlocks) | 0] = (i32[(a + A.LiveBlocks) | 0]! + 1) | 0;
  i32[(a + A.LiveBytes) | 0] = (i32[(a + A.LiveBytes) | 0]! + usable) | 0;
  i32[(a + A.Hits) | 0] = (i32[(a + A.Hits) | 0]! + 1) | 0;
  u32[(e + Pm.Desc) | 0] = desc;
  return run;
}

/**
 * free into the thread cache (area `a`): a live run head of this tier at `ptr` (page-map
 * entry `e`) that fits an empty slot and the reservation (negative: another thread asked for
 * the cache), with no slot older than AGE_LIMIT: plain loads and stores, no lock, no Atomics.
 * False leaves everything to the locked path (which also reports a bad pointer).
 */
export function localPut(t: BigTier, a: number, ptr: number, e: number): boolean {
  // Indexes as `(… + …) | 0`, as in localClaim.
  const arena = t.arena;
  const u32 = arena.u32;
  const i32 = arena.i32;
  const desc = u32[(e + Pm.Desc) | 0]!;
  const mask = i32[(a + A.Mask) | 0]!;
  if (u32[(e + Pm.Tier) | 0] !== t.tierWord || (ptr & 0xffff) !== 0 || (desc & 1) !== 0 || mask === K.Full) {
    return false;
  }
  const pages = u32[(e + Pm.RunPages) | 0]!;
  const have = (i32[(a + A.Pages) | 0]! + pages) | 0;
  const clock = (i32[(a + A.Clock) | 0]! + 1) | 0;
  if (
    have > i32[(a + A.Reserved) | 0]! ||
    (mask !== 0 && ((clock - i32[(a + A.MinStamp) | 0]!) | 0) > K.AgeLimit)
  ) {
    return false;
  }
  const usable = desc === 0 ? pages << 16 : usableOf(desc, pages); // as in localClaim
  const free = ~mask & (mask + 1); // the lowest empty slot
  const s = localSlot(a, 31 - Math.clz32(free));
  if (__DEV__) crashPoint('local');
  i32[(s + S.Run) | 0] = ptr;
  i32[(s + S.Pages) | 0] = pages;
  i32[(s + S.Stamp) | 0] = clock;
  if (mask === 0) i32[(a + A.MinStamp) | 0] = clock;
  i32[(a + A.Mask) | 0] = mask | free;
  i32[(a + A.Pages) | 0] = have;
  i32[(a + A.Clock) | 0] = clock;
  i32[(a + A.LiveBlocks) | 0] = (i32[(a + A.LiveBlocks) | 0]! - 1) | 0;
  i32[(a + A.LiveBytes) | 0] = (i32[(a + A.LiveBytes) | 0]! - usable) | 0;
  u32[(e + Pm.Desc) | 0] = t.marker;
  return true;
}

/** Slot `s` (bit `bit`) of this thread's cache did not match the page map: it leaves the cache (the run is left as it is) and ERR_HEAP_CORRUPTED names it. */
function localCorrupt(t: BigTier, a: number, s: number, bit: number): HakmemError {
  const i32 = t.arena.i32;
  const run = i32[s + S.Run]! >>> 0;
  const pages = i32[s + S.Pages]!;
  i32[a + A.Mask]! &= ~bit;
  i32[a + A.Pages]! -= pages;
  return new HakmemError(
    'ERR_HEAP_CORRUPTED',
    `big tier: thread ${t.threadId}'s cached run ${run} (${pages} pages) does not match the page map (its run must head a run of this tier of that size whose PM_DESC is ${t.marker}): the slot was dropped, nothing was handed out`,
  );
}

// ───────────────────────────── the owner, under the tier lock ─────────────────────────────

/** Empties slot `k` of this thread's area `a` (owner, tier lock held). */
function localRemoveSlot(i32: Int32Array, a: number, k: number): void {
  i32[a + A.Mask]! &= ~(1 << k);
  i32[a + A.Pages]! -= i32[localSlot(a, k) + S.Pages]!;
}

/** Pages of the byte bound area `a` holds: A_RESERVED, or ~A_RESERVED while its cache is asked for. */
export function localReserved(i32: Int32Array, a: number): number {
  const r = i32[a + A.Reserved]!;
  return r < 0 ? ~r : r;
}

/**
 * Asks every other thread for its cache (tier lock held): its A_RESERVED becomes ~A_RESERVED,
 * so its next free takes the lock and gives the runs back (localPutLocked). Before a malloc
 * reports out of memory, and in trim().
 */
export function localAskAllLocked(t: BigTier): void {
  const i32 = t.arena.i32;
  for (const [tid, a] of localAreas(t)) {
    const r = i32[a + A.Reserved]!;
    if (tid !== t.threadId && r > 0) i32[a + A.Reserved] = ~r;
  }
}

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
 * live, `usable` its usable bytes): when another thread asked for the cache, every run goes
 * back to the arena (and the reservation) and false; else aged slots go back, the oldest slots
 * go to the shared cache until the run fits, and the reservation grows (evicting shared runs to
 * make room in the byte bound). False when it cannot hold the run (too large, no area, no room
 * in the bound).
 */
export function localPutLocked(t: BigTier, ptr: number, pages: number, usable: number): boolean {
  const arena = t.arena;
  if (t.area > 0 && arena.i32[t.area + A.Reserved]! < 0) {
    // Another thread asked for the cache: it goes back, and this run to the shared cache.
    localFlushLocked(t, true);
    return false;
  }
  const cap = t.capPages >>> LOCAL_CAP_SHIFT;
  if (pages > cap || !t.threadCache) return false;
  const a = localArea(t);
  if (a === 0) return false;
  const root = t.root;
  const clock = (arena.i32[a + A.Clock]! + 1) | 0;
  if (__DEV__) crashPoint('local');
  localEvictAgedLocked(t, a, clock);
  // Make room: the oldest slots go to the shared cache.
  while (arena.i32[a + A.Mask]! === K.Full || arena.i32[a + A.Pages]! + pages > cap) {
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
  // The owner's deltas and PM_DESC change under the live-count intent record.
  intentBegin(t, a + A.LiveBlocks, ptr, pages, 1, usable, 'local');
  i32 = arena.i32;
  const mask = i32[a + A.Mask]!;
  const free = ~mask & (mask + 1);
  const s = localSlot(a, 31 - Math.clz32(free));
  i32[s + S.Run] = ptr;
  i32[s + S.Pages] = pages;
  i32[s + S.Stamp] = clock;
  if (mask === 0) i32[a + A.MinStamp] = clock;
  i32[a + A.Mask] = mask | free;
  i32[a + A.Pages] = need;
  i32[a + A.Clock] = clock;
  i32[a + A.LiveBlocks]!--;
  i32[a + A.LiveBytes]! -= usable;
  if (__DEV__) crashPoint('local');
  arena.setPageDesc(ptr >>> 16, t.marker);
  intentEnd(t);
  return true;
}

/** Moves the oldest slot's run to the shared cache (owner, tier lock held, owner's words in sync). */
function localSpillOldestLocked(t: BigTier, a: number, clock: number): void {
  const i32 = t.arena.i32;
  let oldest = -1;
  for (let m = i32[a + A.Mask]!; m !== 0; m &= m - 1) {
    const k = 31 - Math.clz32(m & -m);
    const age = (clock - i32[localSlot(a, k) + S.Stamp]!) | 0;
    if (oldest < 0 || age > ((clock - i32[localSlot(a, oldest) + S.Stamp]!) | 0)) oldest = k;
  }
  const s = localSlot(a, oldest);
  const run = i32[s + S.Run]! >>> 0;
  const pages = i32[s + S.Pages]!;
  localRemoveSlot(i32, a, oldest);
  if (__DEV__) crashPoint('local');
  cachePutShared(t, run, pages, t.arena.i32[t.root + R_CLOCK]!);
}

/** Gives back to the arena every slot not reused within AGE_LIMIT of this thread's operations, and makes A_MIN_STAMP exact (owner, tier lock held, owner's words in sync). */
function localEvictAgedLocked(t: BigTier, a: number, clock: number): void {
  const arena = t.arena;
  let i32 = arena.i32;
  for (let m = i32[a + A.Mask]!; m !== 0; m &= m - 1) {
    const k = 31 - Math.clz32(m & -m);
    const s = localSlot(a, k);
    if (((clock - i32[s + S.Stamp]!) | 0) <= K.AgeLimit) continue;
    const run = i32[s + S.Run]! >>> 0;
    localRemoveSlot(i32, a, k);
    if (__DEV__) crashPoint('local');
    arena.freeRun(run);
    i32 = arena.i32;
    i32[t.root + R_RUNS]!--;
    i32[t.root + R_EVICTIONS]!++;
  }
  let min = clock;
  for (let m = i32[a + A.Mask]!; m !== 0; m &= m - 1) {
    const stamp = i32[localSlot(a, 31 - Math.clz32(m & -m)) + S.Stamp]!;
    if (((clock - stamp) | 0) > ((clock - min) | 0)) min = stamp;
  }
  i32[a + A.MinStamp] = min;
}

/**
 * Empties this thread's cache (owner, tier lock held): every run to the shared cache, or back
 * to the arena when `toArena`, and the reservation is released. Returns the pages given back
 * to the arena.
 */
export function localFlushLocked(t: BigTier, toArena: boolean): number {
  const a = t.area;
  if (a === 0) return 0;
  const arena = t.arena;
  let pages = 0;
  const clock = arena.i32[t.root + R_CLOCK]!;
  // The reservation first (asked for or not), so the runs moving to the shared cache have its room.
  arena.i32[t.root + R_RESERVED]! -= localReserved(arena.i32, a);
  arena.i32[a + A.Reserved] = 0;
  while (arena.i32[a + A.Mask]! !== 0) {
    if (__DEV__) crashPoint('local');
    const i32 = arena.i32;
    const k = 31 - Math.clz32(i32[a + A.Mask]!);
    const s = localSlot(a, k);
    const run = i32[s + S.Run]! >>> 0;
    const p = i32[s + S.Pages]!;
    localRemoveSlot(i32, a, k);
    if (__DEV__) crashPoint('local');
    if (toArena) {
      arena.freeRun(run);
      arena.i32[t.root + R_RUNS]!--;
      arena.i32[t.root + R_EVICTIONS]!++;
      pages += p;
    } else {
      cachePutShared(t, run, p, clock);
    }
  }
  return pages;
}

/**
 * malloc off the fast path (owner, tier lock held): the smallest run of this thread's cache that
 * holds `pages` (more than 1/8 larger: the fast path leaves those), out of the cache; 0 when
 * none. ERR_HEAP_CORRUPTED (the slot dropped) when it does not match the page map.
 */
export function localTakeLargerLocked(t: BigTier, pages: number): number {
  const a = t.area;
  if (a === 0) return 0;
  const arena = t.arena;
  const i32 = arena.i32;
  let best = -1;
  for (let m = i32[a + A.Mask]!; m !== 0; m &= m - 1) {
    const k = 31 - Math.clz32(m & -m);
    const p = i32[localSlot(a, k) + S.Pages]!;
    if (p >= pages && (best < 0 || p < i32[localSlot(a, best) + S.Pages]!)) best = k;
  }
  if (best < 0) return 0;
  const s = localSlot(a, best);
  const run = i32[s + S.Run]! >>> 0;
  const e = (run & 0xffff) === 0 ? arena.pageEntry(run) : -1;
  const u32 = arena.u32;
  const matches =
    e >= 0 &&
    u32[e + Pm.Tier] === t.tierWord &&
    u32[e + Pm.Desc] === t.marker &&
    u32[e + Pm.RunPages] === arena.i32[s + S.Pages];
  if (!matches) throw localCorrupt(t, a, s, 1 << best);
  localRemoveSlot(arena.i32, a, best);
  return run;
}

/** Removes the run at `run` from this thread's cache and gives it back to the arena (resize grows into it; owner, tier lock held). */
export function localEvictRunLocked(t: BigTier, run: number): void {
  const a = t.area;
  const arena = t.arena;
  const i32 = arena.i32;
  for (let m = i32[a + A.Mask]!; m !== 0; m &= m - 1) {
    const k = 31 - Math.clz32(m & -m);
    if (i32[localSlot(a, k) + S.Run]! >>> 0 !== run) continue;
    localRemoveSlot(i32, a, k);
    arena.freeRun(run);
    arena.i32[t.root + R_RUNS]!--;
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

/** Adds area `a`'s counters to the root's (tier lock held; its owner is this thread or dead). */
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

// ───────────────────────────── other threads' caches, under the tier lock ─────────────────────────────

/** The run at `run` heads a run of this tier whose PM_DESC is `marker` (a thread cache's run); its pages, else 0. */
function localRunPages(t: BigTier, run: number, marker: number): number {
  const arena = t.arena;
  const e = run !== 0 && (run & 0xffff) === 0 ? arena.pageEntry(run) : -1;
  if (e < 0) return 0;
  const u32 = arena.u32;
  return u32[e + Pm.Tier] === t.tierWord && u32[e + Pm.Desc] === marker ? u32[e + Pm.RunPages]! : 0;
}

/**
 * A dead thread's cache (tier lock held; the caller broke its locks): every slot whose run
 * still names it goes to the shared cache, any other run of this tier naming it (one it was
 * taking or putting when it stopped, or a damaged slot's) back to the arena, its counters into
 * the root, its reservation released, its area freed.
 */
export function localReclaimLocked(t: BigTier, deadId: number): void {
  const arena = t.arena;
  const words = arena.threadTierWords(t.id, deadId);
  const a = words > 0 ? Atomics.load(arena.i32, words + TW_AREA) : 0;
  const marker = localMarker(deadId);
  const clock = arena.i32[t.root + R_CLOCK]!;
  if (a > 0) {
    arena.i32[t.root + R_RESERVED]! -= localReserved(arena.i32, a);
    arena.i32[a + A.Reserved] = 0;
    // Its slots by its mask (a slot whose run no longer names it is dropped; the sweep below
    // gives back a run naming it in no slot).
    for (let m = arena.i32[a + A.Mask]! & K.Full; m !== 0; m &= m - 1) {
      const run = arena.i32[localSlot(a, 31 - Math.clz32(m & -m)) + S.Run]! >>> 0;
      const pages = localRunPages(t, run, marker);
      if (pages > 0) cachePutShared(t, run, pages, clock);
    }
    arena.i32[a + A.Mask] = 0;
    arena.i32[a + A.Pages] = 0;
    localFoldLocked(t, a);
    Atomics.store(arena.i32, words + TW_AREA, 0);
    arena.metaFree(a * 4);
  }
  for (const run of arena.snapshot()) {
    if (run.tier === t.id && run.desc === marker) {
      arena.freeRun(run.offset);
      arena.i32[t.root + R_RUNS]!--;
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

/** Sums of the thread areas' counters (for stats, check and repair): runs and pages of the slots that hold one. */
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
    for (let m = i32[a + A.Mask]! & K.Full; m !== 0; m &= m - 1) {
      sums.runs++;
      sums.pages += i32[localSlot(a, 31 - Math.clz32(m & -m)) + S.Pages]!;
    }
    sums.reserved += localReserved(i32, a);
  }
  return sums;
}

/** @internal For check(): thread `tid`'s area `a` as [run, pages] of its full slots (by A_MASK); ERR text for a mismatch of its words, else ''. */
export function localSlotsOf(t: BigTier, a: number): { runs: Array<[number, number]>; problem: string } {
  const i32 = t.arena.i32;
  const runs: Array<[number, number]> = [];
  const mask = i32[a + A.Mask]!;
  if ((mask & ~K.Full) !== 0) return { runs, problem: `its slot mask ${mask} names slots beyond ${K.Slots}` };
  let pages = 0;
  for (let m = mask; m !== 0; m &= m - 1) {
    const k = 31 - Math.clz32(m & -m);
    const s = localSlot(a, k);
    const run = i32[s + S.Run]!;
    if (run === 0 || (run & 0xffff) !== 0) {
      return { runs, problem: `slot ${k} (in its mask) reads ${run >>> 0}, not a run offset` };
    }
    pages += i32[s + S.Pages]!;
    runs.push([run >>> 0, i32[s + S.Pages]!]);
  }
  const reserved = localReserved(i32, a);
  if (pages !== i32[a + A.Pages] || pages > reserved) {
    return {
      runs,
      problem: `its slots hold ${pages} pages, its area counts ${i32[a + A.Pages]} of ${reserved} reserved`,
    };
  }
  return { runs, problem: '' };
}

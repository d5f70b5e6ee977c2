import { HakmemError, mutexLock, mutexUnlock, PM_DESC, PM_RUN_PAGES, PM_TIER } from '@hakmem/page-arena';
import type { BigTier } from './big-tier';
import { crashPoint } from './crash-point';
import { intentAllocated, intentBegin, intentEnd } from './intent';
import {
  AGE_LIMIT,
  C_NEXT,
  C_NODES,
  CHUNK_MAX_SHIFT,
  CHUNK0_SHIFT,
  D_CACHED,
  N_NEWER,
  N_NEXT,
  N_OLDER,
  N_PAGES,
  N_PREV,
  N_RUN,
  N_STAMP,
  N_STATE,
  NODE_CACHED,
  NODE_FREE,
  NODE_WORDS,
  R_AGE_HEAD,
  R_AGE_TAIL,
  R_BITMAP,
  R_BUCKETS,
  R_BUSY,
  R_CACHED_PAGES,
  R_CACHED_RUNS,
  R_CHUNK_COUNT,
  R_CHUNKS,
  R_CLOCK,
  R_EVICTIONS,
  R_HITS,
  R_INTENT,
  R_LIVE_BLOCKS,
  R_LIVE_BYTES,
  R_LOCK,
  R_LOCK_STATS,
  R_MISSES,
  R_NODE_FREE,
  R_NODES,
  R_RESERVED,
  R_RUNS,
  WHOLE_SHIFT,
} from './layout';
import {
  isLocalDesc,
  localAskAllLocked,
  localEvictRunLocked,
  localFlushLocked,
  localPutLocked,
  localTakeLargerLocked,
} from './local';
import { bigRepairLocked } from './repair';
import { bucketOf, liveDesc, pagesFor, usableOf } from './size';

/**
 * The cache of freed runs and the tier lock: every function here but bigLock runs with the
 * tier mutex held (see layout.ts for the words and the protocol). Fast paths (a hit of the
 * right size, a free into a node from the pool) are straight-line code over the arena's views;
 * everything that calls the arena (allocRun, freeRun, resizeRun, metaAlloc) is a `…Slow`
 * function that releases the lock in a `finally`.
 */

// The root and node words the fast paths use, inlined as literals (pinned below).
const enum R {
  Lock = 0,
  LockStats = 1,
  Busy = 5,
  Clock = 6,
  CachedPages = 7,
  CachedRuns = 8,
  LiveBlocks = 9,
  LiveBytes = 10,
  Hits = 11,
  Misses = 12,
  Evictions = 13,
  AgeHead = 14,
  AgeTail = 15,
  NodeFree = 16,
  Runs = 23,
  Intent = 24,
  Bitmap = 32,
  Buckets = 36,
}
const enum N {
  Run = 0,
  Pages = 1,
  Stamp = 2,
  Next = 3,
  Prev = 4,
  Newer = 5,
  Older = 6,
  State = 7,
}
const enum K {
  AgeLimit = 1024,
  WholeShift = 3,
  Cached = 1,
}
const enum Node {
  Free = 0,
  Cached = 1,
}
const enum Pm {
  Tier = 0,
  RunPages = 2,
  Desc = 3,
}
if (
  R.Lock !== R_LOCK ||
  R.LockStats !== R_LOCK_STATS ||
  R.Busy !== R_BUSY ||
  R.Clock !== R_CLOCK ||
  R.CachedPages !== R_CACHED_PAGES ||
  R.CachedRuns !== R_CACHED_RUNS ||
  R.LiveBlocks !== R_LIVE_BLOCKS ||
  R.LiveBytes !== R_LIVE_BYTES ||
  R.Hits !== R_HITS ||
  R.Misses !== R_MISSES ||
  R.Evictions !== R_EVICTIONS ||
  R.AgeHead !== R_AGE_HEAD ||
  R.AgeTail !== R_AGE_TAIL ||
  R.NodeFree !== R_NODE_FREE ||
  R.Runs !== R_RUNS ||
  R.Intent !== R_INTENT ||
  R.Bitmap !== R_BITMAP ||
  R.Buckets !== R_BUCKETS ||
  N.Run !== N_RUN ||
  N.Pages !== N_PAGES ||
  N.Stamp !== N_STAMP ||
  N.Next !== N_NEXT ||
  N.Prev !== N_PREV ||
  N.Newer !== N_NEWER ||
  N.Older !== N_OLDER ||
  N.State !== N_STATE ||
  K.AgeLimit !== AGE_LIMIT ||
  K.WholeShift !== WHOLE_SHIFT ||
  K.Cached !== D_CACHED ||
  Node.Free !== NODE_FREE ||
  Node.Cached !== NODE_CACHED ||
  Pm.Tier !== PM_TIER ||
  Pm.RunPages !== PM_RUN_PAGES ||
  Pm.Desc !== PM_DESC
) {
  throw new Error('bigcache: the inlined layout offsets differ from layout.ts or @hakmem/page-arena');
}

// ───────────────────────────── the tier lock ─────────────────────────────

/**
 * Takes the tier mutex and returns the current i32 view. Views are refreshed first when they
 * read empty (a detached buffer: Atomics would throw) and after (nodes and runs others
 * published may lie in memory they grew). A set R_BUSY means the last holder died inside:
 * the lists are rebuilt from the page map before anything reads them.
 */
export function bigLock(t: BigTier): Int32Array {
  const arena = t.arena;
  const root = t.root;
  if (arena.i32[root + R.Lock] === undefined) arena.refresh();
  mutexLock(arena.i32, root + R.Lock, t.threadId, root + R.LockStats);
  arena.refresh();
  if (arena.i32[root + R.Busy] !== 0) bigRepairOrUnlock(t);
  const i32 = arena.i32;
  i32[root + R.Busy] = t.threadId;
  return i32;
}

/** The last holder died inside the critical section: rebuild (a failed rebuild releases the lock and throws, R_BUSY still set). */
function bigRepairOrUnlock(t: BigTier): void {
  try {
    bigRepairLocked(t);
  } catch (error) {
    mutexUnlock(t.arena.i32, t.root + R.Lock);
    throw error;
  }
}

/**
 * Releases the tier mutex (R_BUSY cleared first: the structures are consistent again). An
 * intent record still open was left by an operation that threw (before it changed its run, or
 * after its counters): it is closed, so no later repair settles it against newer counters.
 */
export function bigUnlock(t: BigTier): void {
  const i32 = t.arena.i32;
  if (__DEV__) {
    if (i32[t.root + R.Busy] !== t.threadId) {
      throw new HakmemError(
        'ERR_HEAP_CORRUPTED',
        `big tier: unlock by thread ${t.threadId}, but R_BUSY is ${i32[t.root + R.Busy]}`,
      );
    }
  }
  i32[t.root + R.Intent] = 0;
  i32[t.root + R.Busy] = 0;
  mutexUnlock(i32, t.root + R.Lock);
}

// ───────────────────────────── malloc ─────────────────────────────

/**
 * A run of `pages` pages described `desc` (a live descriptor): from the cache when a run of
 * exactly that size, or at most 1/8 larger, heads bucket(pages)'s best fit; everything else
 * (a larger run to cut, the next bucket, a miss) is cacheTakeSlow. 0 when maxBytes cannot hold it.
 */
export function cacheTake(t: BigTier, pages: number, desc: number): number {
  let i32 = bigLock(t);
  const root = t.root;
  const clock = (i32[root + R.Clock]! + 1) | 0;
  i32[root + R.Clock] = clock;
  const b = bucketOf(pages);
  let best = 0;
  let bestPages = 0;
  for (let n = i32[root + R.Buckets + b]!; n > 0; n = i32[n + N.Next]!) {
    const p = i32[n + N.Pages]!;
    if (p >= pages && (best === 0 || p < bestPages)) {
      best = n;
      bestPages = p;
      if (p === pages) break;
    }
  }
  if (best === 0 || bestPages - pages > pages >>> K.WholeShift) {
    return cacheTakeSlow(t, pages, desc, b, best, clock);
  }
  const run = i32[best + N.Run]! >>> 0;
  // Strict: the node must match the page map (else the slow path reports it).
  if (t.strict && !cacheNodeMatches(t, best)) return cacheTakeSlow(t, pages, desc, b, best, clock);
  if (__DEV__) crashPoint('take');
  cacheUnlink(i32, root, best, b);
  if (__DEV__) crashPoint('take');
  intentBegin(t, root + R.LiveBlocks, run, bestPages, 0, 0, 'take');
  if (__DEV__) crashPoint('take');
  t.arena.setPageDesc(run >>> 16, desc);
  if (__DEV__) crashPoint('take');
  i32 = t.arena.i32;
  i32[root + R.CachedPages]! -= bestPages;
  i32[root + R.CachedRuns]!--;
  i32[root + R.Hits]!++;
  i32[root + R.LiveBlocks]!++;
  i32[root + R.LiveBytes]! += usableOf(desc, bestPages);
  intentEnd(t);
  const old = i32[root + R.AgeHead]!;
  if (old > 0 && ((clock - i32[old + N.Stamp]!) | 0) > K.AgeLimit) cacheEvictSlow(t, clock);
  else bigUnlock(t);
  return run;
}

/**
 * malloc off the fast path (lock held; released here): strict validation of the node, the
 * smallest run of the next non-empty bucket, a run cut to size, or a miss (allocRun; when it
 * fails and the cache holds runs, all of them go back to the arena and it tries once more).
 */
function cacheTakeSlow(
  t: BigTier,
  pages: number,
  desc: number,
  b: number,
  best: number,
  clock: number,
): number {
  const arena = t.arena;
  const root = t.root;
  try {
    let i32 = arena.i32;
    if (best === 0) best = cacheSmallestAbove(i32, root, b);
    if (best !== 0) {
      const bestPages = i32[best + N.Pages]!;
      const run = i32[best + N.Run]! >>> 0;
      if (t.strict) cacheCheckNode(t, best, 'handed out');
      if (__DEV__) crashPoint('take');
      cacheUnlink(i32, root, best, bucketOf(bestPages));
      if (__DEV__) crashPoint('take');
      let have = bestPages;
      // Cut a run more than 1/8 too large: the tail goes back to the arena and coalesces.
      if (bestPages - pages > pages >>> K.WholeShift && arena.resizeRun(run, pages)) have = pages;
      if (__DEV__) crashPoint('take');
      intentBegin(t, root + R.LiveBlocks, run, have, 0, 0, 'take');
      if (__DEV__) crashPoint('take');
      arena.setPageDesc(run >>> 16, desc);
      if (__DEV__) crashPoint('take');
      i32 = arena.i32;
      i32[root + R.CachedPages]! -= bestPages;
      i32[root + R.CachedRuns]!--;
      i32[root + R.Hits]!++;
      i32[root + R.LiveBlocks]!++;
      i32[root + R.LiveBytes]! += usableOf(desc, have);
      intentEnd(t);
      cacheEvictAged(t, clock);
      return run;
    }
    // A larger run of this thread's cache: cut to size like a shared one.
    const mine = localTakeLargerLocked(t, pages);
    if (__DEV__) crashPoint('take');
    if (mine !== 0) {
      const minePages = arena.u32[arena.pageEntry(mine) + Pm.RunPages]!;
      let have = minePages;
      if (minePages - pages > pages >>> K.WholeShift && arena.resizeRun(mine, pages)) have = pages;
      if (__DEV__) crashPoint('take');
      intentBegin(t, root + R.LiveBlocks, mine, have, 0, 0, 'take');
      if (__DEV__) crashPoint('take');
      arena.setPageDesc(mine >>> 16, desc);
      if (__DEV__) crashPoint('take');
      i32 = arena.i32;
      i32[root + R.Hits]!++;
      i32[root + R.LiveBlocks]!++;
      i32[root + R.LiveBytes]! += usableOf(desc, have);
      intentEnd(t);
      cacheEvictAged(t, clock);
      return mine;
    }
    i32[root + R.Misses]!++;
    // The record names no run until allocRun returns one (see intentAllocated).
    intentBegin(t, root + R.LiveBlocks, 0, pages, 0, 0, 'take');
    let run = arena.allocRun(pages, t.id);
    intentAllocated(t, run);
    if (__DEV__) crashPoint('take');
    if (run === 0) {
      // Before out of memory: this thread's cache and the shared cache go back to the arena,
      // where they coalesce; then once more. Every other thread is asked for its cache (its
      // next free gives it back: no thread takes runs out of a live thread's cache).
      let back = localFlushLocked(t, true) > 0;
      if (__DEV__) crashPoint('take');
      back = cacheEvictAll(t) > 0 || back;
      localAskAllLocked(t);
      if (back) {
        if (__DEV__) crashPoint('take');
        intentBegin(t, root + R.LiveBlocks, 0, pages, 0, 0, 'take');
        run = arena.allocRun(pages, t.id);
        intentAllocated(t, run);
      }
      if (__DEV__) crashPoint('take');
    }
    if (run !== 0) {
      if (desc !== 0) arena.setPageDesc(run >>> 16, desc);
      if (__DEV__) crashPoint('take');
      i32 = arena.i32;
      i32[root + R.LiveBlocks]!++;
      i32[root + R.LiveBytes]! += usableOf(desc, pages);
      intentEnd(t);
    }
    cacheEvictAged(t, clock);
    return run;
  } finally {
    bigUnlock(t);
  }
}

/** The smallest cached run of the first non-empty bucket above `b` (all of them fit), 0 if none. */
function cacheSmallestAbove(i32: Int32Array, root: number, b: number): number {
  let w = (b + 1) >>> 5;
  if (w >= 4) return 0;
  let bits = i32[root + R.Bitmap + w]! & (-1 << ((b + 1) & 31));
  while (bits === 0) {
    if (++w >= 4) return 0;
    bits = i32[root + R.Bitmap + w]!;
  }
  const bucket = (w << 5) + 31 - Math.clz32(bits & -bits);
  let best = 0;
  let bestPages = 0;
  for (let n = i32[root + R.Buckets + bucket]!; n > 0; n = i32[n + N.Next]!) {
    const p = i32[n + N.Pages]!;
    if (best === 0 || p < bestPages) {
      best = n;
      bestPages = p;
    }
  }
  return best;
}

// ───────────────────────────── free ─────────────────────────────

/**
 * Frees the run at `ptr` (page-map entry `e`) off the thread cache's fast path: validated
 * under the lock (a live run head of this tier, else the precise error with nothing changed),
 * then into this thread's cache (growing its reservation), else into the shared cache.
 */
export function cachePut(t: BigTier, ptr: number, e: number): void {
  // Checked before the lock too, so a rejected free changes nothing (not even lock statistics).
  if (!cacheIsLive(t, ptr, e)) throw t.bigFreeError(ptr, 'free');
  const arena = t.arena;
  const i32 = bigLock(t);
  try {
    const u32 = arena.u32;
    const desc = u32[e + Pm.Desc]!;
    if (u32[e + Pm.Tier] !== t.tierWord || (ptr & 0xffff) !== 0 || (desc & K.Cached) !== 0) {
      throw t.bigFreeError(ptr, 'free');
    }
    const root = t.root;
    const pages = u32[e + Pm.RunPages]!;
    const clock = (i32[root + R.Clock]! + 1) | 0;
    i32[root + R.Clock] = clock;
    const usable = usableOf(desc, pages);
    if (__DEV__) crashPoint('put');
    if (localPutLocked(t, ptr, pages, usable)) return;
    if (__DEV__) crashPoint('put');
    intentBegin(t, root + R.LiveBlocks, ptr, pages, 1, usable, 'put');
    arena.i32[root + R.LiveBlocks]!--;
    arena.i32[root + R.LiveBytes]! -= usable;
    cachePutShared(t, ptr, pages, clock);
    intentEnd(t);
    if (__DEV__) crashPoint('put');
    cacheEvictAged(t, clock);
  } finally {
    bigUnlock(t);
  }
}

/**
 * Puts the run at `ptr` (of `pages` pages, no longer live) into the shared cache (lock held):
 * a node from the pool (a new chunk when it is empty; none: straight back to the arena, as is a
 * run above the byte bound), linked into its bucket and at the young end of the age list, then
 * PM_DESC names it; the oldest runs leave while the cache is over its bound.
 */
export function cachePutShared(t: BigTier, ptr: number, pages: number, clock: number): void {
  const arena = t.arena;
  const root = t.root;
  if (pages > t.capPages || (!(arena.i32[root + R.NodeFree]! > 0) && !cacheNodesGrow(t))) {
    arena.freeRun(ptr);
    arena.i32[root + R.Runs]!--;
    return;
  }
  const i32 = arena.i32;
  const n = i32[root + R.NodeFree]!;
  if (__DEV__) cacheAssertState(i32, n, Node.Free, 'taken from the free node list');
  i32[root + R.NodeFree] = i32[n + N.Next]!;
  if (__DEV__) crashPoint('put');
  cacheLink(i32, root, n, ptr, pages, clock);
  if (__DEV__) crashPoint('put');
  arena.setPageDesc(ptr >>> 16, n * 4 + K.Cached);
  if (__DEV__) crashPoint('put');
  arena.i32[root + R.CachedPages]! += pages;
  arena.i32[root + R.CachedRuns]!++;
  cacheEvictOver(t);
}

/** Evictions after a free (lock held; released here): the oldest runs until the cache is within its bytes and age bounds. */
function cacheEvictSlow(t: BigTier, clock: number): void {
  try {
    cacheEvictOver(t);
    cacheEvictAged(t, clock);
  } finally {
    bigUnlock(t);
  }
}

// ───────────────────────────── resize and trim ─────────────────────────────

/**
 * Resizes the live run at `ptr` (page-map entry `e`) in place for `size` bytes: the same
 * pages (only the descriptor changes), a shrink (arena.resizeRun gives the tail back), or a
 * growth into the free successor (after evicting a cached run of this tier there when that
 * makes room). Validated under the lock like free; false when it must move.
 */
export function cacheResize(t: BigTier, ptr: number, e: number, size: number): boolean {
  if (!cacheIsLive(t, ptr, e)) throw t.bigFreeError(ptr, 'resize');
  bigLock(t);
  try {
    const arena = t.arena;
    const u32 = arena.u32;
    const desc = u32[e + Pm.Desc]!;
    if (u32[e + Pm.Tier] !== t.tierWord || (ptr & 0xffff) !== 0 || (desc & K.Cached) !== 0) {
      throw t.bigFreeError(ptr, 'resize');
    }
    const have = u32[e + Pm.RunPages]!;
    const need = pagesFor(size);
    const usable = usableOf(desc, have);
    if (__DEV__) crashPoint('resize');
    intentBegin(t, t.root + R.LiveBlocks, ptr, have, 1, usable, 'resize');
    if (need > have && !cacheGrowInPlace(t, ptr, have, need)) {
      intentEnd(t);
      return false;
    }
    if (__DEV__) crashPoint('resize');
    if (need < have) arena.resizeRun(ptr, need);
    if (__DEV__) crashPoint('resize');
    const next = liveDesc(size);
    arena.setPageDesc(ptr >>> 16, next);
    if (__DEV__) crashPoint('resize');
    arena.i32[t.root + R.LiveBytes]! += usableOf(next, need) - usable;
    intentEnd(t);
    return true;
  } finally {
    bigUnlock(t);
  }
}

/**
 * Grows the run at `ptr` from `have` to `need` pages into its successors (lock held): when the
 * runs right behind it — cached runs of this tier and free runs, up to the end of the memory —
 * make room, the cached ones are evicted (they coalesce with the free ones into one free run)
 * and arena.resizeRun takes the pages.
 */
function cacheGrowInPlace(t: BigTier, ptr: number, have: number, need: number): boolean {
  const arena = t.arena;
  let next = ptr + have * 65536;
  let room = 0;
  let evict: number[] | null = null;
  while (room < need - have) {
    const e = arena.pageEntry(next);
    if (e < 0) {
      room = Number.POSITIVE_INFINITY; // the end of the memory: the arena grows it
      break;
    }
    const u32 = arena.u32;
    const tier = u32[e + Pm.Tier]!;
    if (tier !== t.tierWord && (tier & 0xff) !== 0) break; // another tier's run
    if (tier === t.tierWord) {
      const desc = u32[e + Pm.Desc]!;
      if ((desc & K.Cached) === 0) break; // a live block
      if (isLocalDesc(desc) && desc !== t.marker) break; // in another thread's cache
      (evict ??= []).push(next);
    }
    room += u32[e + Pm.RunPages]!;
    next += u32[e + Pm.RunPages]! * 65536;
  }
  if (evict !== null && room >= need - have) {
    // From the last one back: the ones before it still head their runs.
    for (let k = evict.length - 1; k >= 0; k--) {
      if (__DEV__) crashPoint('resize');
      const desc = arena.u32[arena.pageEntry(evict[k]!) + Pm.Desc]!;
      if (isLocalDesc(desc)) localEvictRunLocked(t, evict[k]!);
      else cacheEvict(t, desc >>> 2);
    }
    if (__DEV__) crashPoint('resize');
  }
  return arena.resizeRun(ptr, need);
}

/** Every cached run back to the arena and every node chunk back to metaAlloc (lock held); returns the bytes of the runs. */
export function cacheTrimLocked(t: BigTier): number {
  // Other threads' caches: asked for (their next free gives them back).
  localAskAllLocked(t);
  const bytes = localFlushLocked(t, true) * 65536 + cacheEvictAll(t);
  if (__DEV__) crashPoint('evict');
  cacheNodesRelease(t);
  return bytes;
}

/** The run at `ptr` (page-map entry `e`) is a live run head of this tier (plain reads; exact under the lock). */
function cacheIsLive(t: BigTier, ptr: number, e: number): boolean {
  const u32 = t.arena.u32;
  return u32[e + Pm.Tier] === t.tierWord && (ptr & 0xffff) === 0 && (u32[e + Pm.Desc]! & K.Cached) === 0;
}

// ───────────────────────────── lists ─────────────────────────────

/** Fills node `n` for the run at `ptr` and links it at the head of its bucket and the young end of the age list. */
export function cacheLink(
  i32: Int32Array,
  root: number,
  n: number,
  ptr: number,
  pages: number,
  clock: number,
): void {
  const b = bucketOf(pages);
  i32[n + N.Run] = ptr;
  i32[n + N.Pages] = pages;
  i32[n + N.Stamp] = clock;
  i32[n + N.State] = Node.Cached;
  const head = i32[root + R.Buckets + b]!;
  i32[n + N.Next] = head;
  i32[n + N.Prev] = 0;
  if (head > 0) i32[head + N.Prev] = n;
  i32[root + R.Buckets + b] = n;
  i32[root + R.Bitmap + (b >>> 5)]! |= 1 << (b & 31);
  const tail = i32[root + R.AgeTail]!;
  i32[n + N.Older] = tail;
  i32[n + N.Newer] = 0;
  if (tail > 0) i32[tail + N.Newer] = n;
  else i32[root + R.AgeHead] = n;
  i32[root + R.AgeTail] = n;
}

/** Unlinks node `n` (of bucket `b`) from its bucket and the age list and puts it on the free node list. */
function cacheUnlink(i32: Int32Array, root: number, n: number, b: number): void {
  if (__DEV__) cacheAssertState(i32, n, Node.Cached, 'unlinked');
  const next = i32[n + N.Next]!;
  const prev = i32[n + N.Prev]!;
  if (prev > 0) i32[prev + N.Next] = next;
  else i32[root + R.Buckets + b] = next;
  if (next > 0) i32[next + N.Prev] = prev;
  else if (prev === 0) i32[root + R.Bitmap + (b >>> 5)]! &= ~(1 << (b & 31));
  const newer = i32[n + N.Newer]!;
  const older = i32[n + N.Older]!;
  if (older > 0) i32[older + N.Newer] = newer;
  else i32[root + R.AgeHead] = newer;
  if (newer > 0) i32[newer + N.Older] = older;
  else i32[root + R.AgeTail] = older;
  i32[n + N.State] = Node.Free;
  i32[n + N.Next] = i32[root + R.NodeFree]!;
  i32[root + R.NodeFree] = n;
}

/** Debug builds: node `n` is in state `state` where the code expects it. */
function cacheAssertState(i32: Int32Array, n: number, state: number, what: string): void {
  if (!(n > 0) || i32[n + N.State] !== state) {
    throw new HakmemError(
      'ERR_HEAP_CORRUPTED',
      `big tier: node ${n * 4} ${what} has state ${i32[n + N.State]}, expected ${state === Node.Cached ? 'CACHED' : 'FREE'}`,
    );
  }
}

// ───────────────────────────── eviction ─────────────────────────────

/** Gives cached node `n`'s run back to the arena (lock held): unlinked first, then freeRun (it coalesces). Returns its pages. */
export function cacheEvict(t: BigTier, n: number): number {
  const arena = t.arena;
  const root = t.root;
  if (t.strict) cacheCheckNode(t, n, 'evicted');
  if (__DEV__) crashPoint('evict');
  let i32 = arena.i32;
  const run = i32[n + N.Run]! >>> 0;
  const pages = i32[n + N.Pages]!;
  cacheUnlink(i32, root, n, bucketOf(pages));
  if (__DEV__) crashPoint('evict');
  arena.freeRun(run);
  arena.i32[root + R.Runs]!--;
  if (__DEV__) crashPoint('evict');
  i32 = arena.i32;
  i32[root + R.CachedPages]! -= pages;
  i32[root + R.CachedRuns]!--;
  i32[root + R.Evictions]!++;
  return pages;
}

/** Evicts the oldest runs while they were not reused within AGE_LIMIT operations (lock held). */
function cacheEvictAged(t: BigTier, clock: number): void {
  const root = t.root;
  for (;;) {
    const i32 = t.arena.i32;
    const old = i32[root + R.AgeHead]!;
    if (!(old > 0) || ((clock - i32[old + N.Stamp]!) | 0) <= K.AgeLimit) return;
    cacheEvict(t, old);
  }
}

/** Evicts the oldest runs while the cache and the thread caches' reservations hold more than the byte bound (lock held). */
export function cacheEvictOver(t: BigTier): void {
  const root = t.root;
  for (let n = t.arena.i32[root + R.AgeHead]!; n > 0; n = t.arena.i32[root + R.AgeHead]!) {
    if (t.arena.i32[root + R.CachedPages]! + t.arena.i32[root + R_RESERVED]! <= t.capPages) return;
    cacheEvict(t, n);
  }
}

/** Every cached run back to the arena (lock held); returns the bytes. */
export function cacheEvictAll(t: BigTier): number {
  const root = t.root;
  let pages = 0;
  for (let n = t.arena.i32[root + R.AgeHead]!; n > 0; n = t.arena.i32[root + R.AgeHead]!) {
    pages += cacheEvict(t, n);
  }
  return pages * 65536;
}

// ───────────────────────────── node pool ─────────────────────────────

/**
 * Adds a chunk of nodes from metaAlloc (lock held): 1 KiB, doubling with each chunk up to
 * 64 KiB. The chunk header is written before the root publishes the chunk. False when
 * maxBytes has no room for it.
 */
function cacheNodesGrow(t: BigTier): boolean {
  const arena = t.arena;
  const root = t.root;
  const count = arena.i32[root + R_CHUNK_COUNT]!;
  const bytes = 1 << Math.min(CHUNK0_SHIFT + count, CHUNK_MAX_SHIFT);
  const offset = arena.metaAlloc(bytes);
  if (offset === 0) return false;
  const i32 = arena.i32;
  const c = offset >>> 2;
  const nodes = bytes / (NODE_WORDS * 4) - 1;
  // Published first (straight-line after metaAlloc returns: no crash point between), so a
  // thread stopped in the loop below leaves the chunk in the list, whose nodes the repair
  // (R_BUSY still set) puts on the free list: no chunk is ever held by nobody.
  i32[c + C_NEXT] = i32[root + R_CHUNKS]!;
  i32[c + C_NODES] = nodes;
  i32[root + R_CHUNKS] = c;
  i32[root + R_CHUNK_COUNT] = count + 1;
  i32[root + R_NODES]! += nodes;
  const first = c + NODE_WORDS;
  for (let k = 0; k < nodes - 1; k++) {
    if (__DEV__) if ((k & 7) === 0) crashPoint('put');
    i32[first + k * NODE_WORDS + N.Next] = first + (k + 1) * NODE_WORDS;
  }
  i32[first + (nodes - 1) * NODE_WORDS + N.Next] = i32[root + R.NodeFree]!;
  i32[root + R.NodeFree] = first;
  return true;
}

/** Returns every node chunk to metaAlloc (lock held, cache empty: every node is free). */
export function cacheNodesRelease(t: BigTier): void {
  const arena = t.arena;
  const root = t.root;
  arena.i32[root + R.NodeFree] = 0;
  // One chunk at a time, out of the list before metaFree: a thread stopped here leaves the
  // chunks not yet freed in the list (the repair rebuilds the free list from them); only the
  // chunk inside metaFree is in flight (the arena's metaFree finishes or undoes it).
  for (let c = arena.i32[root + R_CHUNKS]!; c > 0; c = arena.i32[root + R_CHUNKS]!) {
    if (__DEV__) crashPoint('evict');
    const i32 = arena.i32;
    i32[root + R_CHUNKS] = i32[c + C_NEXT]!;
    i32[root + R_CHUNK_COUNT]!--;
    i32[root + R_NODES]! -= i32[c + C_NODES]!;
    arena.metaFree(c * 4);
  }
}

// ───────────────────────────── strict validation ─────────────────────────────

/**
 * Strict: node `n` about to be handed out or evicted must be CACHED and its run must head a
 * run of this tier of N_PAGES pages whose PM_DESC names it; ERR_HEAP_CORRUPTED (a wild write
 * over the metadata) otherwise, before anything changes.
 */
export function cacheCheckNode(t: BigTier, n: number, what: string): void {
  if (cacheNodeMatches(t, n)) return;
  const i32 = t.arena.i32;
  throw new HakmemError(
    'ERR_HEAP_CORRUPTED',
    `big tier: cached node ${n * 4} (run ${i32[n + N.Run]! >>> 0}, ${i32[n + N.Pages]} pages, state ${i32[n + N.State]}) to be ${what} does not match the page map (its run must head a cached run of this tier naming the node): nothing was ${what}`,
  );
}

/** Node `n` is CACHED and its run heads a run of this tier of N_PAGES pages whose PM_DESC names it. */
function cacheNodeMatches(t: BigTier, n: number): boolean {
  const arena = t.arena;
  const i32 = arena.i32;
  const run = i32[n + N.Run]! >>> 0;
  const e = (run & 0xffff) === 0 ? arena.pageEntry(run) : -1;
  const u32 = arena.u32;
  return (
    e >= 0 &&
    i32[n + N.State] === Node.Cached &&
    u32[e + Pm.Tier] === t.tierWord &&
    u32[e + Pm.RunPages] === i32[n + N.Pages] &&
    u32[e + Pm.Desc] === n * 4 + K.Cached
  );
}

import { HakmemError, PM_DESC, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';
import { crashPoint } from './crash-point';
import type { L25Tier } from './l25-tier';
import { Bs, CR_WORDS, Cr, Sh, Shift, SlotWord, Sp, Ta, Tw } from './layout';
import { locksReclaim } from './repair';
import { shardAt, shardLock, shardRange, shardUnlock } from './shards';
import { L25_CLASS_CACHE_CAP, L25_CLASS_COUNT, L25_CLASS_SIZE, L25_CLASS_SLOTS } from './size-classes';
import {
  corrupted,
  descCacheFree,
  shardKeep,
  shardRefill,
  shardReleaseEmpty,
  spanBlockIndex,
  spanCreate,
  spanFinishMoves,
  spanFree,
  spanReturn,
  spanShrink,
} from './spans';

/**
 * The per-thread cache: per class a stack of free blocks (out of band, in the thread's area) whose
 * capacity starts at L25_CLASS_CACHE_CAP and grows fourfold, up to L25_CLASS_SLOTS, when frees
 * find it full Limit.GrowOverflows times with no refill between (a batch of frees) and the
 * thread's cache holds less than its byte budget (t.cacheBudget, a share of maxBytes). Its slow paths: refill (home shard, then stealing, then a new span; a batch under
 * one lock), spill (half a class's blocks under one lock per shard) and flush (blocks back to
 * their spans), and the reclaim of a dead thread's area.
 */

/** Slots of every class's cache: the distance from a slot to its descriptor word (SlotWord.Desc). */
const SLOT_WORDS: number = L25_CLASS_SLOTS.reduce((a, b) => a + b, 0);
if (SLOT_WORDS !== SlotWord.Desc) {
  throw new Error(`l25-pool layout: SlotWord.Desc must be the slots of all classes (${SLOT_WORDS})`);
}

/** Words of a thread area: header, records, every class's slots, then their descriptor words. */
export const AREA_WORDS: number = Ta.Header + L25_CLASS_COUNT * CR_WORDS + 2 * SLOT_WORDS;

/** This thread's area (created, or the one another handle of this thread id made); its i32 index. */
export function areaEnsure(t: L25Tier): number {
  const arena = t.arena;
  const word = arena.threadTierWords(t.id) + Tw.Area;
  const have = Atomics.load(arena.i32, word) >>> 0;
  if (have !== 0) return have >>> 2;
  const offset = arena.metaAlloc(AREA_WORDS * 4);
  if (offset === 0) {
    throw new HakmemError(
      'ERR_OUT_OF_MEMORY',
      `l25: no room for thread ${t.threadId}'s cache area within maxBytes ${arena.maxBytes}`,
    );
  }
  const i32 = arena.i32;
  const area = offset >>> 2;
  i32[area + Ta.Thread] = t.threadId;
  let slots = area + Ta.Header + L25_CLASS_COUNT * CR_WORDS;
  for (let c = 0; c < L25_CLASS_COUNT; c++) {
    const h = area + Ta.Header + (c << Shift.Record);
    i32[h + Cr.Cap] = L25_CLASS_CACHE_CAP[c]!;
    i32[h + Cr.Size] = L25_CLASS_SIZE[c]!;
    i32[h + Cr.Slots] = slots;
    slots += L25_CLASS_SLOTS[c]!;
  }
  Atomics.store(i32, arena.threadTierWords(t.id) + Tw.Area, offset);
  return area;
}

/**
 * The cache of `cls` is empty: fills it with up to half its capacity (within the byte budget)
 * from the home shard, else from another shard's partial spans, else from a new span; out of
 * memory, flushes this thread's cache and returns the empty spans of every shard, then tries
 * once more. Returns the blocks added (0: maxBytes cannot hold a span of the class).
 */
export function cacheRefill(t: L25Tier, cls: number): number {
  const arena = t.arena;
  const h = t.records + (cls << Shift.Record);
  const i32 = arena.i32;
  const size = L25_CLASS_SIZE[cls]!;
  const room = i32[h + Cr.Cap]! - i32[h + Cr.Count]!;
  let want = Math.max(1, Math.min(room, i32[h + Cr.Cap]! >>> 1));
  const budget = t.cacheBudget - i32[t.area + Ta.CachedBytes]!;
  if (want * size > budget) want = Math.max(1, Math.floor(budget / size));
  i32[h + Cr.Misses] = i32[h + Cr.Misses]! + 1;
  i32[h + Cr.Overflows] = 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    const n = cacheTake(t, cls, want, h);
    if (n > 0) return n;
    if (attempt === 0) {
      cacheFlush(t);
      releaseEmptySpans(t);
    }
  }
  return 0;
}

/**
 * Up to `want` blocks of `cls` into record `h`, in this order: the home shard (a partial span,
 * or an empty one of the class's page count re-carved), every other shard the same way
 * (stealing), a larger empty span found on the way shrunk into the home shard, a new span.
 */
function cacheTake(t: L25Tier, cls: number, want: number, h: number): number {
  const arena = t.arena;
  const total = shardRange(arena, t.root);
  for (let k = 0; k < total; k++) {
    const sh = shardAt(arena, t.root, (t.homeIndex + k) % total);
    if (sh === 0) continue;
    if (__DEV__) crashPoint('refill');
    const n = shardRefill(t, sh, cls, want, h);
    if (n > 0) return n;
    if (n < 0) {
      const got = spanShrink(t, -n, cls, want, h);
      if (got > 0) return got;
    }
  }
  return spanCreate(t, cls, want, h);
}

/** Every empty span of every shard back to the arena; the bytes returned. */
export function releaseEmptySpans(t: L25Tier): number {
  let bytes = 0;
  const total = shardRange(t.arena, t.root);
  for (let index = 0; index < total; index++) {
    const sh = shardAt(t.arena, t.root, index);
    if (sh !== 0) bytes += shardReleaseEmpty(t, sh);
  }
  return bytes;
}

/**
 * Span descriptor (i32 index) of block `p` of this tier and its index, written to `out`; false
 * when `p` is not a carved block start of a span of this tier.
 */
export function blockLocate(t: L25Tier, p: number, out: Int32Array): boolean {
  const arena = t.arena;
  const e = p > 0 ? arena.pageEntry(p) : -1;
  if (e < 0) return false;
  const u32 = arena.u32;
  const i32 = arena.i32;
  if ((u32[e + PM_TIER]! & PM_TIER_MASK) !== t.id) return false;
  const d = u32[e + PM_DESC]! >>> 2;
  if (d === 0) return false;
  const idx = spanBlockIndex(i32, u32, d, p);
  if (!(idx < i32[d + Sp.Carved]!)) return false;
  out[0] = d;
  out[1] = idx;
  return true;
}

/** Spills every block of the cache in `area` (this thread's, or a dead thread's in reclaim) back to its span. */
export function cacheFlushArea(t: L25Tier, area: number, cachedTag: number, lenient: boolean): void {
  const where = t.scratch;
  for (let cls = 0; cls < L25_CLASS_COUNT; cls++) {
    const h = area + Ta.Header + (cls << Shift.Record);
    for (;;) {
      if (__DEV__) crashPoint('spill');
      t.arena.refresh();
      const i32 = t.arena.i32;
      const n = i32[h + Cr.Count]!;
      if (!(n > 0)) break;
      const p = t.arena.u32[i32[h + Cr.Slots]! + n - 1]!;
      let r = -3;
      if (blockLocate(t, p, where) && i32[where[0]! + Sp.Class] === cls) {
        r = spanFree(t, where[0]!, where[1]!, cachedTag, h, area);
      }
      if (r === 0) continue;
      if (!lenient) {
        throw corrupted(
          `l25: thread ${i32[area + Ta.Thread]}'s cache of the ${L25_CLASS_SIZE[cls]} B class holds ${p}, which is not a block it may cache`,
        );
      }
      // Reclaim: a slot the dead thread was changing is dropped (the block stays out: in flight).
      i32[h + Cr.Count] = n - 1;
      i32[area + Ta.CachedBytes] = i32[area + Ta.CachedBytes]! - L25_CLASS_SIZE[cls]!;
    }
  }
}

/**
 * Up to `count` blocks from the top of this thread's cache record `h` (class `cls`) back to their
 * spans: one shard lock for each run of blocks of one shard. A slot that names no block of the
 * class is ERR_HEAP_CORRUPTED (the blocks spilled before it are spilled; nothing else changes).
 */
export function cacheSpill(t: L25Tier, cls: number, h: number, count: number): void {
  const where = t.scratch;
  const area = t.area;
  let left = count;
  while (left > 0) {
    if (__DEV__) crashPoint('spill');
    t.arena.refresh();
    let i32 = t.arena.i32;
    let n = i32[h + Cr.Count]!;
    if (!(n > 0)) return;
    let p = t.arena.u32[i32[h + Cr.Slots]! + n - 1]!;
    if (!(blockLocate(t, p, where) && i32[where[0]! + Sp.Class] === cls)) throw spillCorrupt(t, cls, p);
    const sh = i32[where[0]! + Sp.Shard]!;
    shardLock(t, sh);
    try {
      i32 = t.arena.i32;
      for (;;) {
        if (__DEV__) crashPoint('spill');
        const r = spanReturn(t, sh, where[0]!, where[1]!, t.cachedTag, h, area);
        if (r !== 0) throw spillCorrupt(t, cls, p);
        left--;
        n--;
        if (left === 0 || n === 0) break;
        p = t.arena.u32[i32[h + Cr.Slots]! + n - 1]!;
        if (!(blockLocate(t, p, where) && i32[where[0]! + Sp.Class] === cls)) throw spillCorrupt(t, cls, p);
        if (i32[where[0]! + Sp.Shard] !== sh) break;
      }
    } finally {
      shardUnlock(t, sh);
    }
    if (t.arena.i32[sh + Sh.EmptyPages]! > t.keepPages) shardKeep(t, sh);
  }
}

function spillCorrupt(t: L25Tier, cls: number, p: number): HakmemError {
  return corrupted(
    `l25: thread ${t.threadId}'s cache of the ${L25_CLASS_SIZE[cls]} B class holds ${p}, which is not a block it may cache`,
  );
}

/** This thread's cached blocks back to their spans. */
export function cacheFlush(t: L25Tier): void {
  cacheFlushArea(t, t.area, t.cachedTag, false);
}

/**
 * Reclaim of a dead thread: the span moves its area names are finished, its cached blocks go back
 * to their spans (strict: so do blocks its state words say it was caching while it moved them),
 * its home shard's empty spans go back to the arena, and its area is freed.
 */
export function cacheReclaim(t: L25Tier, deadThreadId: number): void {
  const arena = t.arena;
  locksReclaim(t, deadThreadId);
  arena.refresh();
  const words = arena.threadTierWords(t.id, deadThreadId);
  const offset = words === 0 ? 0 : Atomics.load(arena.i32, words + Tw.Area) >>> 0;
  if (offset !== 0) {
    const area = offset >>> 2;
    spanFinishMoves(t, area);
    const deadTag = (deadThreadId << Shift.Tid) | Bs.Cached;
    cacheFlushArea(t, area, deadTag, true);
    if (t.strict) reclaimStates(t, deadTag);
    descCacheFree(t, area);
    Atomics.store(arena.i32, words + Tw.Area, 0);
    arena.metaFree(offset);
  }
  const home = shardAt(arena, t.root, deadThreadId - 1);
  if (home !== 0) shardReleaseEmpty(t, home);
}

/** Strict reclaim: any block whose state still says "in the dead thread's cache" goes back to its span. */
function reclaimStates(t: L25Tier, deadTag: number): void {
  const arena = t.arena;
  const total = shardRange(arena, t.root);
  for (let index = 0; index < total; index++) {
    const sh = shardAt(arena, t.root, index);
    if (sh === 0) continue;
    shardLock(t, sh);
    try {
      const i32 = arena.i32;
      for (let d = i32[sh + Sh.Spans]!; d !== 0; d = i32[d + Sp.RNext]!) {
        const carved = i32[d + Sp.Carved]!;
        for (let idx = 0; idx < carved; idx++) {
          if (i32[d + Sp.Header + idx] === deadTag) spanReturn(t, sh, d, idx, deadTag, 0, 0);
        }
      }
    } finally {
      shardUnlock(t, sh);
    }
    if (arena.i32[sh + Sh.EmptyPages]! > t.keepPages) shardReleaseEmpty(t, sh);
  }
}

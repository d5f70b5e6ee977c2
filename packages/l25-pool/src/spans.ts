import { HakmemError, PAGE_SIZE, PM_DESC, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';
import type { L25Tier } from './l25-tier';
import { Bs, Cr, KEEP_EMPTY_PAGES, R, Sh, Sp, Ta } from './layout';
import { shardLock, shardUnlock } from './shards';
import {
  L25_CLASS_BLOCKS,
  L25_CLASS_INV,
  L25_CLASS_PAGES,
  L25_CLASS_SHIFT,
  L25_CLASS_SIZE,
} from './size-classes';

/**
 * Spans: runs of pages carved into blocks of one class, in a shard's registry and (while they may
 * have a free block) on its partial list of their class. Every function here that changes a span
 * runs under its shard's lock and is straight-line between its calls: a worker terminated at any
 * interrupt point leaves each span, list and cache consistent (see layout.ts).
 */

export function corrupted(detail: string): HakmemError {
  return new HakmemError('ERR_HEAP_CORRUPTED', detail);
}

/** Block index of `ptr` in span `d` (≥ 2^12 unless a block start; see L25_CLASS_INV). */
export function spanBlockIndex(i32: Int32Array, u32: Uint32Array, d: number, ptr: number): number {
  const x = Math.imul(ptr - u32[d + Sp.Start]!, i32[d + Sp.Inv]!);
  const shift = i32[d + Sp.Shift]!;
  return ((x >>> shift) | (x << -shift)) >>> 0;
}

/** Puts span `d` (on no list) at the head of shard `sh`'s partial list of `cls`. */
function spanLinkPartial(t: L25Tier, sh: number, d: number, cls: number): void {
  const i32 = t.arena.i32;
  const head = i32[sh + Sh.Partial + cls]!;
  i32[d + Sp.Next] = head;
  i32[d + Sp.Prev] = 0;
  if (head !== 0) i32[head + Sp.Prev] = d;
  i32[d + Sp.OnPartial] = 1;
  i32[sh + Sh.Partial + cls] = d;
  Atomics.add(i32, t.root + R.Avail + cls, 1);
}

/** Takes span `d` off shard `sh`'s partial list of `cls` (it has no free block left). */
export function spanUnlinkPartial(t: L25Tier, sh: number, d: number, cls: number): void {
  const i32 = t.arena.i32;
  const prev = i32[d + Sp.Prev]!;
  const next = i32[d + Sp.Next]!;
  if (prev !== 0) i32[prev + Sp.Next] = next;
  else i32[sh + Sh.Partial + cls] = next;
  if (next !== 0) i32[next + Sp.Prev] = prev;
  i32[d + Sp.Next] = 0;
  i32[d + Sp.Prev] = 0;
  i32[d + Sp.OnPartial] = 0;
  Atomics.sub(i32, t.root + R.Avail + cls, 1);
}

/**
 * Moves one free block of span `d` (shard `sh`) into the cache record `h` of this thread's area:
 * the top of its stack, else the next fresh block. 1 when it did, 0 when the span has none, -1
 * when the stack names a block that is not free (strict) or not carved (ERR_HEAP_CORRUPTED).
 */
export function spanTakeOne(t: L25Tier, sh: number, d: number, h: number): number {
  const i32 = t.arena.i32;
  const blocks = i32[d + Sp.Blocks]!;
  const top = i32[d + Sp.Top]!;
  const carved = i32[d + Sp.Carved]!;
  let idx = carved;
  if (top > 0) {
    idx = i32[d + Sp.Header + blocks + top - 1]!;
    if (!(idx >= 0 && idx < carved)) return -1;
    if (t.strict && i32[d + Sp.Header + idx] !== Bs.Free) return -1;
  } else if (carved >= blocks) {
    return 0;
  }
  const size = i32[d + Sp.Size]!;
  const used = i32[d + Sp.Used]!;
  const n = i32[h + Cr.Count]!;
  const p = t.arena.u32[d + Sp.Start]! + idx * size;
  // One straight-line move, stack (or carve mark) → cache.
  if (top > 0) i32[d + Sp.Top] = top - 1;
  else i32[d + Sp.Carved] = carved + 1;
  i32[d + Sp.Used] = used + 1;
  if (used === 0) i32[sh + Sh.EmptyPages] = i32[sh + Sh.EmptyPages]! - i32[d + Sp.Pages]!;
  if (t.strict) i32[d + Sp.Header + idx] = t.cachedTag;
  i32[i32[h + Cr.Slots]! + n] = p;
  i32[h + Cr.Count] = n + 1;
  i32[t.area + Ta.CachedBytes] = i32[t.area + Ta.CachedBytes]! + size;
  return 1;
}

/** Under shard `sh`'s lock: up to `want` blocks of `cls` from its partial spans into record `h`; how many. */
export function shardTake(t: L25Tier, sh: number, cls: number, want: number, h: number): number {
  let n = 0;
  while (n < want) {
    const d = t.arena.i32[sh + Sh.Partial + cls]!;
    if (d === 0) break;
    const r = spanTakeOne(t, sh, d, h);
    if (r > 0) n++;
    else if (r === 0) spanUnlinkPartial(t, sh, d, cls);
    else throw spanCorruptStack(t, d);
  }
  return n;
}

function spanCorruptStack(t: L25Tier, d: number): HakmemError {
  const i32 = t.arena.i32;
  const top = i32[d + Sp.Top]!;
  const idx = i32[d + Sp.Header + i32[d + Sp.Blocks]! + top - 1]!;
  return corrupted(
    `l25: the free stack of the ${i32[d + Sp.Size]} B span at ${t.arena.u32[d + Sp.Start]} names block ${idx}, which is not a free carved block (carved ${i32[d + Sp.Carved]}, state ${i32[d + Sp.Header + idx] ?? 'none'})`,
  );
}

/** Locks shard `sh` and takes up to `want` blocks of `cls` into record `h`. */
export function shardTakeLocked(t: L25Tier, sh: number, cls: number, want: number, h: number): number {
  shardLock(t, sh);
  try {
    return shardTake(t, sh, cls, want, h);
  } finally {
    shardUnlock(t, sh);
  }
}

/**
 * Under the shard lock: block `idx` of span `d` back onto its stack. Strict: its state must be
 * `expected` (else -1, nothing changed; the state changes with Atomics.compareExchange, so of two
 * racing frees one wins). `h`/`cacheArea`: the cache record and area the block leaves (h = 0: it
 * comes from a user). -2: every carved block is on the stack already (a double free), nothing
 * changed. 0: done.
 */
export function spanReturn(
  t: L25Tier,
  sh: number,
  d: number,
  idx: number,
  expected: number,
  h: number,
  cacheArea: number,
): number {
  const i32 = t.arena.i32;
  const top = i32[d + Sp.Top]!;
  if (!(top < i32[d + Sp.Carved]!)) return -2;
  if (t.strict && i32[d + Sp.Header + idx] !== expected) return -1;
  // A span on the list without a free block is allowed (takers drop it), so link first.
  if (i32[d + Sp.OnPartial] === 0) spanLinkPartial(t, sh, d, i32[d + Sp.Class]!);
  if (t.strict && Atomics.compareExchange(i32, d + Sp.Header + idx, expected, Bs.Free) !== expected)
    return -1;
  // One straight-line move, user or cache → stack.
  i32[d + Sp.Header + i32[d + Sp.Blocks]! + top] = idx;
  i32[d + Sp.Top] = top + 1;
  const used = i32[d + Sp.Used]! - 1;
  i32[d + Sp.Used] = used;
  if (used === 0) i32[sh + Sh.EmptyPages] = i32[sh + Sh.EmptyPages]! + i32[d + Sp.Pages]!;
  if (h !== 0) {
    i32[h + Cr.Count] = i32[h + Cr.Count]! - 1;
    i32[cacheArea + Ta.CachedBytes] = i32[cacheArea + Ta.CachedBytes]! - i32[d + Sp.Size]!;
  }
  return 0;
}

/**
 * Under the shard lock: takes empty span `d` out of shard `sh` (partial list, registry, counts)
 * and names it in this thread's FreeDesc; `spanRelease` returns it to the arena after the unlock.
 */
export function spanUnregister(t: L25Tier, sh: number, d: number): void {
  const i32 = t.arena.i32;
  const cls = i32[d + Sp.Class]!;
  const pages = i32[d + Sp.Pages]!;
  if (i32[d + Sp.OnPartial] === 1) {
    const prev = i32[d + Sp.Prev]!;
    const next = i32[d + Sp.Next]!;
    if (prev !== 0) i32[prev + Sp.Next] = next;
    else i32[sh + Sh.Partial + cls] = next;
    if (next !== 0) i32[next + Sp.Prev] = prev;
    i32[d + Sp.OnPartial] = 0;
    Atomics.sub(i32, t.root + R.Avail + cls, 1);
  }
  const rprev = i32[d + Sp.RPrev]!;
  const rnext = i32[d + Sp.RNext]!;
  if (rprev !== 0) i32[rprev + Sp.RNext] = rnext;
  else i32[sh + Sh.Spans] = rnext;
  if (rnext !== 0) i32[rnext + Sp.RPrev] = rprev;
  i32[sh + Sh.SpanCount] = i32[sh + Sh.SpanCount]! - 1;
  i32[sh + Sh.Pages] = i32[sh + Sh.Pages]! - pages;
  i32[sh + Sh.EmptyPages] = i32[sh + Sh.EmptyPages]! - pages;
  i32[t.area + Ta.FreeDesc] = d;
}

/** Returns span `d` (unregistered, named by FreeDesc) to the arena: its run, then its descriptor. */
export function spanRelease(t: L25Tier, d: number): void {
  const arena = t.arena;
  const start = arena.u32[d + Sp.Start]!;
  const pages = arena.i32[d + Sp.Pages]!;
  arena.freeRun(start);
  arena.i32[t.area + Ta.FreeDesc] = 0;
  arena.metaFree(d * 4);
  t.releasedBytes += pages * PAGE_SIZE;
}

/**
 * Block `idx` of span `d` back to the span (any thread, under the span's shard lock); an empty
 * span beyond the shard's keep goes back to the arena. Returns spanReturn's code (0, -1, -2).
 */
export function spanFree(
  t: L25Tier,
  d: number,
  idx: number,
  expected: number,
  h: number,
  cacheArea: number,
): number {
  const sh = t.arena.i32[d + Sp.Shard]!;
  let release = 0;
  let r = 0;
  shardLock(t, sh);
  try {
    r = spanReturn(t, sh, d, idx, expected, h, cacheArea);
    const i32 = t.arena.i32;
    if (r === 0 && i32[d + Sp.Used] === 0 && i32[sh + Sh.EmptyPages]! > KEEP_EMPTY_PAGES) {
      spanUnregister(t, sh, d);
      release = d;
    }
  } finally {
    shardUnlock(t, sh);
  }
  if (release !== 0) spanRelease(t, release);
  return r;
}

/** Under shard `sh`'s lock: registers the new span `d` of `cls` (registry and partial list) and clears NewRun/NewDesc. */
function spanRegister(t: L25Tier, sh: number, d: number, cls: number): void {
  const i32 = t.arena.i32;
  const pages = i32[d + Sp.Pages]!;
  const rhead = i32[sh + Sh.Spans]!;
  i32[d + Sp.RNext] = rhead;
  i32[d + Sp.RPrev] = 0;
  if (rhead !== 0) i32[rhead + Sp.RPrev] = d;
  i32[sh + Sh.Spans] = d;
  i32[sh + Sh.SpanCount] = i32[sh + Sh.SpanCount]! + 1;
  i32[sh + Sh.Pages] = i32[sh + Sh.Pages]! + pages;
  i32[sh + Sh.EmptyPages] = i32[sh + Sh.EmptyPages]! + pages;
  const head = i32[sh + Sh.Partial + cls]!;
  i32[d + Sp.Next] = head;
  i32[d + Sp.Prev] = 0;
  if (head !== 0) i32[head + Sp.Prev] = d;
  i32[d + Sp.OnPartial] = 1;
  i32[sh + Sh.Partial + cls] = d;
  Atomics.add(i32, t.root + R.Avail + cls, 1);
  i32[t.area + Ta.NewRun] = 0;
  i32[t.area + Ta.NewDesc] = 0;
}

/**
 * Makes a span of `cls` in this thread's home shard: a run from the arena, its descriptor, the
 * page map, then (under the shard lock) the registry. False when maxBytes has no room.
 */
export function spanCreate(t: L25Tier, cls: number): boolean {
  const arena = t.arena;
  const pages = L25_CLASS_PAGES[cls]!;
  const blocks = L25_CLASS_BLOCKS[cls]!;
  const run = arena.allocRun(pages, t.id);
  if (run === 0) return false;
  arena.i32[t.area + Ta.NewRun] = run;
  const desc = arena.metaAlloc((Sp.Header + 2 * blocks) * 4);
  if (desc === 0) {
    // Cleared first: a run leaked by a termination here beats a run freed twice.
    arena.i32[t.area + Ta.NewRun] = 0;
    arena.freeRun(run);
    return false;
  }
  const i32 = arena.i32;
  i32[t.area + Ta.NewDesc] = desc;
  const d = desc >>> 2;
  i32[d + Sp.Start] = run;
  i32[d + Sp.Class] = cls;
  i32[d + Sp.Shard] = t.home;
  i32[d + Sp.Blocks] = blocks;
  i32[d + Sp.Size] = L25_CLASS_SIZE[cls]!;
  i32[d + Sp.Inv] = L25_CLASS_INV[cls]!;
  i32[d + Sp.Shift] = L25_CLASS_SHIFT[cls]!;
  i32[d + Sp.Pages] = pages;
  const first = run / PAGE_SIZE;
  for (let i = 0; i < pages; i++) arena.setPageDesc(first + i, desc);
  shardLock(t, t.home);
  try {
    spanRegister(t, t.home, d, cls);
  } finally {
    shardUnlock(t, t.home);
  }
  return true;
}

/** Under shard `sh`'s lock: the first span of its registry with no block out, 0 if none. */
function shardFindEmpty(t: L25Tier, sh: number): number {
  const i32 = t.arena.i32;
  for (let d = i32[sh + Sh.Spans]!; d !== 0; d = i32[d + Sp.RNext]!) {
    if (i32[d + Sp.Used] === 0) return d;
  }
  return 0;
}

/** Returns every empty span of shard `sh` to the arena; the bytes returned. */
export function shardReleaseEmpty(t: L25Tier, sh: number): number {
  let bytes = 0;
  for (;;) {
    if (t.arena.i32[sh + Sh.EmptyPages] === 0) return bytes;
    let d = 0;
    shardLock(t, sh);
    try {
      d = shardFindEmpty(t, sh);
      if (d !== 0) spanUnregister(t, sh, d);
    } finally {
      shardUnlock(t, sh);
    }
    if (d === 0) return bytes;
    bytes += t.arena.i32[d + Sp.Pages]! * PAGE_SIZE;
    spanRelease(t, d);
  }
}

/**
 * Reclaim: finishes the span moves a terminated thread's area names — a span made but not
 * registered goes back to the arena, and so does one unregistered but not yet returned.
 */
export function spanFinishMoves(t: L25Tier, area: number): void {
  const arena = t.arena;
  arena.refresh();
  const run = arena.u32[area + Ta.NewRun]!;
  const desc = arena.u32[area + Ta.NewDesc]!;
  if (run !== 0) {
    // Not registered (registering clears NewRun in the same straight-line step): ours alone.
    if (spanOwnsRun(t, run, desc, true)) arena.freeRun(run);
    arena.i32[area + Ta.NewRun] = 0;
  }
  if (desc !== 0) {
    arena.i32[area + Ta.NewDesc] = 0;
    arena.metaFree(desc);
  }
  const d = arena.i32[area + Ta.FreeDesc]!;
  if (d !== 0) {
    const start = arena.u32[d + Sp.Start]!;
    // The run may be free (or someone else's) already: only a run still naming d is ours.
    if (spanOwnsRun(t, start, d * 4, false)) arena.freeRun(start);
    arena.i32[area + Ta.FreeDesc] = 0;
    arena.metaFree(d * 4);
  }
}

/** The run at `run` is a run of this tier whose head page names descriptor `desc` (or, `orNone`, none yet). */
function spanOwnsRun(t: L25Tier, run: number, desc: number, orNone: boolean): boolean {
  const arena = t.arena;
  if (arena.runPages(run) === 0) return false;
  const e = arena.pageEntry(run);
  const pmDesc = arena.u32[e + PM_DESC]!;
  return (arena.u32[e + PM_TIER]! & PM_TIER_MASK) === t.id && (pmDesc === desc || (orNone && pmDesc === 0));
}

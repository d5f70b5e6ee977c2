import { HakmemError, PAGE_SIZE, PM_DESC, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';
import { crashPoint } from './crash-point';
import type { L25Tier } from './l25-tier';
import { Bs, Cr, DESC_BYTES, DESC_CACHE_SLOTS, List, Sh, SlotWord, Sp, Ta } from './layout';
import { shardLock, shardUnlock } from './shards';
import {
  L25_CLASS_BLOCKS,
  L25_CLASS_INV,
  L25_CLASS_PAGES,
  L25_CLASS_SHIFT,
  L25_CLASS_SIZE,
  l25PagesOf,
  SPAN_MAX_PAGES,
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

/** Development builds: span `d` of shard `sh` has consistent counts before a block moves. */
function spanAssert(t: L25Tier, sh: number, d: number): void {
  const i32 = t.arena.i32;
  const blocks = i32[d + Sp.Blocks]!;
  const top = i32[d + Sp.Top]!;
  const carved = i32[d + Sp.Carved]!;
  if (
    i32[d + Sp.Shard] !== sh ||
    !(top >= 0 && top <= carved && carved <= blocks && i32[d + Sp.Used] === carved - top) ||
    t.arena.u32[t.arena.pageEntry(t.arena.u32[d + Sp.Start]!) + PM_DESC] !== d * 4
  ) {
    throw corrupted(
      `l25: span ${d * 4} of shard ${sh * 4} has shard ${i32[d + Sp.Shard]! * 4}, blocks ${blocks}, carved ${carved}, stack ${top}, used ${i32[d + Sp.Used]}`,
    );
  }
}

/** Puts span `d` (on no list) at the head of shard `sh`'s partial list of `cls`. */
function spanLinkPartial(t: L25Tier, sh: number, d: number, cls: number): void {
  const i32 = t.arena.i32;
  const head = i32[sh + Sh.Partial + cls]!;
  i32[d + Sp.Next] = head;
  i32[d + Sp.Prev] = 0;
  if (head !== 0) i32[head + Sp.Prev] = d;
  i32[d + Sp.List] = List.Partial;
  i32[sh + Sh.Partial + cls] = d;
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
  i32[d + Sp.List] = List.None;
}

/**
 * Moves one free block of span `d` (shard `sh`) into the cache record `h` of this thread's area:
 * the top of its stack, else the next fresh block. 1 when it did, 0 when the span has none, -1
 * when the stack names a block that is not free (strict) or not carved (ERR_HEAP_CORRUPTED).
 */
export function spanTakeOne(t: L25Tier, sh: number, d: number, h: number): number {
  if (__DEV__) spanAssert(t, sh, d);
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
  const slot = i32[h + Cr.Slots]! + n;
  i32[slot] = p;
  if (t.strict) {
    i32[d + Sp.Header + idx] = t.cachedTag;
    i32[slot + SlotWord.Desc] = d;
  }
  i32[h + Cr.Count] = n + 1;
  i32[t.area + Ta.CachedBytes] = i32[t.area + Ta.CachedBytes]! + size;
  return 1;
}

/** Under shard `sh`'s lock: up to `want` blocks of `cls` from its partial spans into record `h`; how many. */
export function shardTake(t: L25Tier, sh: number, cls: number, want: number, h: number): number {
  let n = 0;
  while (n < want) {
    if (__DEV__) crashPoint('refill');
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

/**
 * Under the shard lock: block `idx` of span `d` back onto its stack. Strict: its state must be
 * `expected` (else -1, nothing changed; two frees by other threads are serialised by the lock, so
 * of two racing frees one wins). `h`/`cacheArea`: the cache record and area the block leaves (h = 0: it
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
  if (__DEV__) spanAssert(t, sh, d);
  const i32 = t.arena.i32;
  const top = i32[d + Sp.Top]!;
  if (!(top < i32[d + Sp.Carved]!)) return -2;
  if (t.strict && i32[d + Sp.Header + idx] !== expected) return -1;
  // A span on the list without a free block is allowed (takers drop it), so link first.
  if (i32[d + Sp.List] === List.None) spanLinkPartial(t, sh, d, i32[d + Sp.Class]!);
  if (__DEV__) crashPoint(h !== 0 ? 'spill' : 'free');
  // One straight-line move, user or cache → stack (and, when it empties the span, partial list →
  // empty list). No Atomics call in it: a call to one is an interrupt point, where a terminated
  // worker would stop halfway.
  if (t.strict) i32[d + Sp.Header + idx] = Bs.Free;
  i32[d + Sp.Header + i32[d + Sp.Blocks]! + top] = idx;
  i32[d + Sp.Top] = top + 1;
  const used = i32[d + Sp.Used]! - 1;
  i32[d + Sp.Used] = used;
  if (h !== 0) {
    i32[h + Cr.Count] = i32[h + Cr.Count]! - 1;
    i32[cacheArea + Ta.CachedBytes] = i32[cacheArea + Ta.CachedBytes]! - i32[d + Sp.Size]!;
  }
  if (used === 0) {
    i32[sh + Sh.EmptyPages] = i32[sh + Sh.EmptyPages]! + i32[d + Sp.Pages]!;
    const cls = i32[d + Sp.Class]!;
    const prev = i32[d + Sp.Prev]!;
    const next = i32[d + Sp.Next]!;
    if (prev !== 0) i32[prev + Sp.Next] = next;
    else i32[sh + Sh.Partial + cls] = next;
    if (next !== 0) i32[next + Sp.Prev] = prev;
    const head = i32[sh + Sh.Empty]!;
    i32[d + Sp.Next] = head;
    i32[d + Sp.Prev] = 0;
    if (head !== 0) i32[head + Sp.Prev] = d;
    i32[sh + Sh.Empty] = d;
    i32[d + Sp.List] = List.Empty;
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
  const list = i32[d + Sp.List]!;
  if (list !== List.None) {
    const prev = i32[d + Sp.Prev]!;
    const next = i32[d + Sp.Next]!;
    if (prev !== 0) i32[prev + Sp.Next] = next;
    else if (list === List.Partial) i32[sh + Sh.Partial + cls] = next;
    else i32[sh + Sh.Empty] = next;
    if (next !== 0) i32[next + Sp.Prev] = prev;
    i32[d + Sp.Next] = 0;
    i32[d + Sp.Prev] = 0;
    i32[d + Sp.List] = List.None;
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

/** Bytes of the descriptor of a span of `blocks` blocks. */
export function descBytes(blocks: number): number {
  return (Sp.Header + 2 * blocks) * 4;
}

/**
 * Returns span `d` (unregistered, named by FreeDesc) to the arena: its run, then its descriptor
 * (kept in this thread's area for its next span when it is a 128-byte one and there is room).
 */
export function spanRelease(t: L25Tier, d: number): void {
  const arena = t.arena;
  const start = arena.u32[d + Sp.Start]!;
  const pages = arena.i32[d + Sp.Pages]!;
  if (__DEV__) crashPoint('release');
  arena.freeRun(start);
  t.releasedBytes += pages * PAGE_SIZE;
  if (__DEV__) crashPoint('release');
  const i32 = arena.i32;
  const area = t.area;
  const n = i32[area + Ta.DescCount]!;
  if (descBytes(i32[d + Sp.Blocks]!) <= DESC_BYTES && n < DESC_CACHE_SLOTS) {
    // One straight-line step: FreeDesc → the descriptor cache.
    i32[area + Ta.Descs + n] = d;
    i32[area + Ta.DescCount] = n + 1;
    i32[area + Ta.FreeDesc] = 0;
    return;
  }
  i32[area + Ta.FreeDesc] = 0;
  if (__DEV__) crashPoint('release');
  arena.metaFree(d * 4);
}

/** A zeroed descriptor for a span of `blocks` blocks: from this thread's cache, else metaAlloc; 0 when out of memory. NewDesc names it. */
function descTake(t: L25Tier, blocks: number): number {
  const arena = t.arena;
  const i32 = arena.i32;
  const area = t.area;
  const n = i32[area + Ta.DescCount]!;
  if (n > 0 && descBytes(blocks) <= DESC_BYTES) {
    const d = i32[area + Ta.Descs + n - 1]!;
    // One straight-line step: the cache → NewDesc.
    i32[area + Ta.NewDesc] = d * 4;
    i32[area + Ta.DescCount] = n - 1;
    if (__DEV__) crashPoint('create');
    i32.fill(0, d, d + DESC_BYTES / 4);
    return d * 4;
  }
  if (__DEV__) crashPoint('create');
  const desc = arena.metaAlloc(descBytes(blocks));
  if (desc !== 0) arena.i32[area + Ta.NewDesc] = desc;
  return desc;
}

/** The descriptors a thread area keeps go back to metaAlloc (detach, reclaim). */
export function descCacheFree(t: L25Tier, area: number): void {
  const arena = t.arena;
  for (;;) {
    const n = arena.i32[area + Ta.DescCount]!;
    if (!(n > 0)) return;
    const d = arena.i32[area + Ta.Descs + n - 1]!;
    arena.i32[area + Ta.DescCount] = n - 1;
    arena.metaFree(d * 4);
  }
}

/**
 * Block `idx` of span `d` back to the span (any thread, under the span's shard lock); beyond the
 * shard's keep, empty spans go back to the arena. Returns spanReturn's code (0, -1, -2).
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
  let r = 0;
  if (__DEV__) crashPoint('free');
  shardLock(t, sh);
  try {
    if (__DEV__) crashPoint('free');
    r = spanReturn(t, sh, d, idx, expected, h, cacheArea);
    if (__DEV__) crashPoint('free');
  } finally {
    shardUnlock(t, sh);
  }
  if (__DEV__) crashPoint('free');
  if (r === 0 && t.arena.i32[sh + Sh.EmptyPages]! > t.keepPages) shardKeep(t, sh);
  return r;
}

/** Returns the spans of shard `sh` emptied longest ago (the empty list's tail) to the arena until its empty pages fit the keep. */
export function shardKeep(t: L25Tier, sh: number): void {
  for (;;) {
    let d = 0;
    if (__DEV__) crashPoint('release');
    shardLock(t, sh);
    try {
      const i32 = t.arena.i32;
      if (i32[sh + Sh.EmptyPages]! > t.keepPages) {
        for (let e = i32[sh + Sh.Empty]!; e !== 0; e = i32[e + Sp.Next]!) d = e;
        if (__DEV__) crashPoint('release');
        if (d !== 0) spanUnregister(t, sh, d);
        if (__DEV__) crashPoint('release');
      }
    } finally {
      shardUnlock(t, sh);
    }
    if (d === 0) return;
    spanRelease(t, d);
  }
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
  i32[d + Sp.List] = List.Partial;
  i32[sh + Sh.Partial + cls] = d;
  i32[t.area + Ta.NewRun] = 0;
  i32[t.area + Ta.NewDesc] = 0;
}

/** Writes the header of span `d` (zeroed words, run at `run`) for class `cls` in this thread's home shard. */
function spanInit(t: L25Tier, d: number, run: number, cls: number): void {
  const i32 = t.arena.i32;
  i32[d + Sp.Start] = run;
  i32[d + Sp.Class] = cls;
  i32[d + Sp.Shard] = t.home;
  i32[d + Sp.Blocks] = L25_CLASS_BLOCKS[cls]!;
  i32[d + Sp.Size] = L25_CLASS_SIZE[cls]!;
  i32[d + Sp.Inv] = L25_CLASS_INV[cls]!;
  i32[d + Sp.Shift] = L25_CLASS_SHIFT[cls]!;
  i32[d + Sp.Pages] = L25_CLASS_PAGES[cls]!;
}

/** Registers span `d` (NewRun/NewDesc name it) in this thread's home shard and takes up to `want` of its blocks into record `h`. */
function spanRegisterHome(t: L25Tier, d: number, cls: number, want: number, h: number): number {
  if (__DEV__) crashPoint('create');
  shardLock(t, t.home);
  try {
    if (__DEV__) crashPoint('create');
    spanRegister(t, t.home, d, cls);
    if (__DEV__) crashPoint('create');
    return shardTake(t, t.home, cls, want, h);
  } finally {
    shardUnlock(t, t.home);
  }
}

/**
 * Makes a span of `cls` in this thread's home shard — a run from the arena, its descriptor, the
 * page map, then (under the shard lock) the registry — and takes up to `want` of its blocks into
 * record `h`. Returns how many (0: maxBytes has no room).
 */
export function spanCreate(t: L25Tier, cls: number, want: number, h: number): number {
  const arena = t.arena;
  const pages = L25_CLASS_PAGES[cls]!;
  if (__DEV__) crashPoint('create');
  const run = arena.allocRun(pages, t.id);
  if (run === 0) return 0;
  arena.i32[t.area + Ta.NewRun] = run;
  if (__DEV__) crashPoint('create');
  const desc = descTake(t, L25_CLASS_BLOCKS[cls]!);
  if (desc === 0) {
    // Cleared first: a run leaked by a termination here beats a run freed twice.
    arena.i32[t.area + Ta.NewRun] = 0;
    arena.freeRun(run);
    return 0;
  }
  const d = desc >>> 2;
  spanInit(t, d, run, cls);
  const first = run / PAGE_SIZE;
  for (let i = 0; i < pages; i++) {
    if (__DEV__) crashPoint('create');
    arena.setPageDesc(first + i, desc);
  }
  return spanRegisterHome(t, d, cls, want, h);
}

/**
 * Under shard `sh`'s lock: an empty span of the shard for class `cls`. One of the class's page
 * count is re-carved in place and put on the class's partial list (returns 1); else the smallest
 * larger one is unregistered (FreeDesc names it) for `spanShrink` (returns −d); else 0.
 */
export function shardReuseEmpty(t: L25Tier, sh: number, cls: number, exact: boolean): number {
  const i32 = t.arena.i32;
  const pages = L25_CLASS_PAGES[cls]!;
  // Only spans with 128-byte descriptors (≤ 8 blocks: every class ≥ 32 KiB) change class.
  if (descBytes(L25_CLASS_BLOCKS[cls]!) > DESC_BYTES) return 0;
  let best = 0;
  let bestPages = 0;
  for (let d = i32[sh + Sh.Empty]!; d !== 0; d = i32[d + Sp.Next]!) {
    if (__DEV__) crashPoint('refill');
    const have = i32[d + Sp.Pages]!;
    if (descBytes(i32[d + Sp.Blocks]!) > DESC_BYTES) continue;
    if (have === pages) {
      spanRecarve(t, sh, d, cls);
      return 1;
    }
    if (have > pages && (best === 0 || have < bestPages)) {
      best = d;
      bestPages = have;
    }
  }
  if (best === 0 || exact) return 0;
  spanUnregister(t, sh, best);
  return -best;
}

/** Under the shard lock, one straight-line step: empty span `d` off the empty list, carved for `cls`, onto its partial list. */
function spanRecarve(t: L25Tier, sh: number, d: number, cls: number): void {
  const i32 = t.arena.i32;
  const recarve = i32[d + Sp.Class] !== cls || i32[d + Sp.Blocks] !== L25_CLASS_BLOCKS[cls];
  if (recarve) {
    // Still on the empty list: first a fresh span (nothing carved: Carved = Top = 0, then every
    // state and stack word zero — the fill is a call, an interrupt point, so it comes between two
    // consistent states), then the new class and the move in one straight line.
    i32[d + Sp.Carved] = 0;
    i32[d + Sp.Top] = 0;
    if (__DEV__) crashPoint('refill');
    i32.fill(0, d + Sp.Header, d + DESC_BYTES / 4);
    if (__DEV__) crashPoint('refill');
  }
  const prev = i32[d + Sp.Prev]!;
  const next = i32[d + Sp.Next]!;
  if (prev !== 0) i32[prev + Sp.Next] = next;
  else i32[sh + Sh.Empty] = next;
  if (next !== 0) i32[next + Sp.Prev] = prev;
  if (recarve) {
    i32[d + Sp.Class] = cls;
    i32[d + Sp.Blocks] = L25_CLASS_BLOCKS[cls]!;
    i32[d + Sp.Size] = L25_CLASS_SIZE[cls]!;
    i32[d + Sp.Inv] = L25_CLASS_INV[cls]!;
    i32[d + Sp.Shift] = L25_CLASS_SHIFT[cls]!;
  }
  const head = i32[sh + Sh.Partial + cls]!;
  i32[d + Sp.Next] = head;
  i32[d + Sp.Prev] = 0;
  if (head !== 0) i32[head + Sp.Prev] = d;
  i32[d + Sp.List] = List.Partial;
  i32[sh + Sh.Partial + cls] = d;
}

/**
 * Empty span `d` (unregistered by shardReuseEmpty, named by FreeDesc) becomes a span of `cls` in
 * the home shard: its run shrinks in place (arena.resizeRun frees the tail), its descriptor is
 * re-carved, it is registered again and up to `want` of its blocks go into record `h`. Returns
 * how many (0: the arena refused; the span is released).
 */
export function spanShrink(t: L25Tier, d: number, cls: number, want: number, h: number): number {
  const arena = t.arena;
  const start = arena.u32[d + Sp.Start]!;
  if (__DEV__) crashPoint('shrink');
  if (!arena.resizeRun(start, L25_CLASS_PAGES[cls]!)) {
    spanRelease(t, d);
    return 0;
  }
  const i32 = arena.i32;
  // One straight-line step: FreeDesc → NewRun/NewDesc (a span being made).
  i32[t.area + Ta.NewRun] = start;
  i32[t.area + Ta.NewDesc] = d * 4;
  i32[t.area + Ta.FreeDesc] = 0;
  if (__DEV__) crashPoint('shrink');
  i32.fill(0, d, d + DESC_BYTES / 4);
  spanInit(t, d, start, cls);
  if (__DEV__) crashPoint('shrink');
  return spanRegisterHome(t, d, cls, want, h);
}

/**
 * One lock of shard `sh`: up to `want` blocks of `cls` into record `h` from its partial spans,
 * else from one of its empty spans re-carved in place. Returns how many, or −d when only a larger
 * empty span d was found (unregistered: the caller shrinks it with spanShrink).
 */
export function shardRefill(t: L25Tier, sh: number, cls: number, want: number, h: number): number {
  const i32 = t.arena.i32;
  if (i32[sh + Sh.Partial + cls] === 0 && i32[sh + Sh.Empty] === 0) return 0;
  if (__DEV__) crashPoint('refill');
  shardLock(t, sh);
  try {
    let n = shardTake(t, sh, cls, want, h);
    // A batch under this one lock: re-carve empty spans of the class's page count while it wants more.
    while (n < want) {
      if (__DEV__) crashPoint('refill');
      const reuse = shardReuseEmpty(t, sh, cls, n > 0);
      if (reuse < 0) return reuse;
      if (reuse === 0) break;
      n += shardTake(t, sh, cls, want - n, h);
    }
    return n;
  } finally {
    shardUnlock(t, sh);
  }
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
    if (__DEV__) crashPoint('release');
    shardLock(t, sh);
    try {
      d = shardFindEmpty(t, sh);
      if (__DEV__) crashPoint('release');
      if (d !== 0) spanUnregister(t, sh, d);
      if (__DEV__) crashPoint('release');
    } finally {
      shardUnlock(t, sh);
    }
    if (d === 0) return bytes;
    bytes += t.arena.i32[d + Sp.Pages]! * PAGE_SIZE;
    spanRelease(t, d);
  }
}

/**
 * Under shard `sh`'s lock, one straight-line step: span `d`, whose one block is out, becomes a
 * span of `cls` (its block now of that class, in place) of `pages` pages, off any partial list
 * (it has no free block); ends the growth Ta.Grow names.
 */
function spanReclass(t: L25Tier, sh: number, d: number, cls: number, pages: number): void {
  const i32 = t.arena.i32;
  if (i32[d + Sp.List] === List.Partial) {
    const prev = i32[d + Sp.Prev]!;
    const next = i32[d + Sp.Next]!;
    if (prev !== 0) i32[prev + Sp.Next] = next;
    else i32[sh + Sh.Partial + i32[d + Sp.Class]!] = next;
    if (next !== 0) i32[next + Sp.Prev] = prev;
    i32[d + Sp.Next] = 0;
    i32[d + Sp.Prev] = 0;
    i32[d + Sp.List] = List.None;
  }
  i32[sh + Sh.Pages] = i32[sh + Sh.Pages]! + pages - i32[d + Sp.Pages]!;
  i32[d + Sp.Pages] = pages;
  i32[d + Sp.Class] = cls;
  i32[d + Sp.Size] = L25_CLASS_SIZE[cls]!;
  i32[d + Sp.Inv] = L25_CLASS_INV[cls]!;
  i32[d + Sp.Shift] = L25_CLASS_SHIFT[cls]!;
  i32[t.area + Ta.Grow] = 0;
}

/**
 * realloc growth in place: block 0 of span `d`, alone in it (Blocks 1) and out, becomes a block
 * of `cls` (larger). The span's run already has the pages, or grows into free successor pages
 * (arena.resizeRun; Ta.Grow names the span while its run is longer than its Pages). False when
 * the arena cannot extend the run (nothing changed).
 */
export function spanGrow(t: L25Tier, d: number, cls: number): boolean {
  const arena = t.arena;
  const have = arena.i32[d + Sp.Pages]!;
  const need = l25PagesOf(L25_CLASS_SIZE[cls]!);
  if (need > have) {
    const start = arena.u32[d + Sp.Start]!;
    arena.i32[t.area + Ta.Grow] = d;
    if (__DEV__) crashPoint('grow');
    if (!arena.resizeRun(start, need)) {
      arena.i32[t.area + Ta.Grow] = 0;
      return false;
    }
    arena.refresh();
    const first = start / PAGE_SIZE;
    for (let i = have; i < need; i++) {
      if (__DEV__) crashPoint('grow');
      arena.setPageDesc(first + i, d * 4);
    }
  }
  const sh = arena.i32[d + Sp.Shard]!;
  if (__DEV__) crashPoint('grow');
  shardLock(t, sh);
  try {
    if (__DEV__) crashPoint('grow');
    spanReclass(t, sh, d, cls, Math.max(need, have));
  } finally {
    shardUnlock(t, sh);
  }
  return true;
}

/**
 * Under the home shard's lock: the empty span of the home shard with the most pages (≥ `need`),
 * re-carved as a one-block span of `cls` (its pages kept: room to grow) onto the class's partial
 * list; 0 if none.
 */
function shardSoloEmpty(t: L25Tier, sh: number, cls: number, need: number): number {
  const i32 = t.arena.i32;
  let best = 0;
  let bestPages = 0;
  for (let d = i32[sh + Sh.Empty]!; d !== 0; d = i32[d + Sp.Next]!) {
    if (__DEV__) crashPoint('solo');
    const have = i32[d + Sp.Pages]!;
    if (have >= need && have > bestPages) {
      best = d;
      bestPages = have;
      if (have === SPAN_MAX_PAGES) break;
    }
  }
  if (best === 0) return 0;
  const d = best;
  // One straight-line step: empty list → the class's partial list, re-carved for one block.
  const prev = i32[d + Sp.Prev]!;
  const next = i32[d + Sp.Next]!;
  if (prev !== 0) i32[prev + Sp.Next] = next;
  else i32[sh + Sh.Empty] = next;
  if (next !== 0) i32[next + Sp.Prev] = prev;
  i32[d + Sp.Carved] = 0;
  i32[d + Sp.Top] = 0;
  i32[d + Sp.Header] = Bs.Free;
  i32[d + Sp.Class] = cls;
  i32[d + Sp.Blocks] = 1;
  i32[d + Sp.Size] = L25_CLASS_SIZE[cls]!;
  i32[d + Sp.Inv] = L25_CLASS_INV[cls]!;
  i32[d + Sp.Shift] = L25_CLASS_SHIFT[cls]!;
  const head = i32[sh + Sh.Partial + cls]!;
  i32[d + Sp.Next] = head;
  i32[d + Sp.Prev] = 0;
  if (head !== 0) i32[head + Sp.Prev] = d;
  i32[d + Sp.List] = List.Partial;
  i32[sh + Sh.Partial + cls] = d;
  return d;
}

/**
 * The block a moving realloc takes next: a span holding one block of `cls` with room to grow (an
 * empty span of the home shard with the most pages, else a new run of `room` pages, else of just
 * the block's), its block put on top of record `h` — the next malloc of the class pops it.
 * 1 when done, 0 when maxBytes has no room.
 */
export function spanSoloMake(t: L25Tier, cls: number, room: number, h: number): number {
  const arena = t.arena;
  const need = l25PagesOf(L25_CLASS_SIZE[cls]!);
  if (arena.i32[t.home + Sh.Empty] !== 0) {
    if (__DEV__) crashPoint('solo');
    shardLock(t, t.home);
    try {
      if (shardSoloEmpty(t, t.home, cls, need) !== 0) return shardTake(t, t.home, cls, 1, h);
    } finally {
      shardUnlock(t, t.home);
    }
  }
  let pages = room;
  let run = arena.allocRun(pages, t.id);
  if (run === 0 && room > need) {
    pages = need;
    run = arena.allocRun(pages, t.id);
  }
  if (run === 0) return 0;
  arena.i32[t.area + Ta.NewRun] = run;
  if (__DEV__) crashPoint('solo');
  const desc = descTake(t, 1);
  if (desc === 0) {
    arena.i32[t.area + Ta.NewRun] = 0;
    arena.freeRun(run);
    return 0;
  }
  const d = desc >>> 2;
  spanInit(t, d, run, cls);
  arena.i32[d + Sp.Blocks] = 1;
  arena.i32[d + Sp.Pages] = pages;
  const first = run / PAGE_SIZE;
  for (let i = 0; i < pages; i++) {
    if (__DEV__) crashPoint('solo');
    arena.setPageDesc(first + i, desc);
  }
  return spanRegisterHome(t, d, cls, 1, h);
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
  const g = arena.i32[area + Ta.Grow]!;
  if (g !== 0) {
    // A growth in place stopped between arena.resizeRun and the re-class: the span takes the pages.
    const start = arena.u32[g + Sp.Start]!;
    const have = arena.i32[g + Sp.Pages]!;
    const pages = spanOwnsRun(t, start, g * 4, false) ? arena.runPages(start) : have;
    for (let i = have; i < pages; i++) arena.setPageDesc(start / PAGE_SIZE + i, g * 4);
    const sh = arena.i32[g + Sp.Shard]!;
    shardLock(t, sh);
    try {
      const i32 = arena.i32;
      i32[sh + Sh.Pages] = i32[sh + Sh.Pages]! + pages - have;
      i32[g + Sp.Pages] = pages;
      i32[area + Ta.Grow] = 0;
    } finally {
      shardUnlock(t, sh);
    }
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

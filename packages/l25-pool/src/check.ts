import {
  PAGE_SIZE,
  PM_DESC,
  PM_FLAG_HEAD,
  PM_RUN_PAGES,
  PM_TIER,
  PM_TIER_MASK,
  type TierStats,
} from '@hakmem/page-arena';
import { blockLocate } from './cache';
import type { L25Tier } from './l25-tier';
import { Bs, Cr, DESC_CACHE_SLOTS, List, Sh, Shift, SlotWord, Sp, Ta, Tw } from './layout';
import { shardAt, shardLock, shardRange, shardUnlock } from './shards';
import {
  L25_CLASS_BLOCKS,
  L25_CLASS_CACHE_CAP,
  L25_CLASS_COUNT,
  L25_CLASS_INV,
  L25_CLASS_PAGES,
  L25_CLASS_SHIFT,
  L25_CLASS_SIZE,
  L25_CLASS_SLOTS,
  l25ClassOf,
  l25PagesOf,
  SPAN_MAX_PAGES,
} from './size-classes';
import { corrupted } from './spans';

/** Figures of one size class (all threads; exact when quiescent). */
export interface L25ClassStats {
  size: number;
  /** Pages and blocks of one span of the class. */
  spanPages: number;
  spanBlocks: number;
  spans: number;
  /** Blocks handed to users and not freed. */
  liveBlocks: number;
  /** Blocks in thread caches. */
  cachedBlocks: number;
  /** Cache refills (allocations that found the thread's cache of the class empty). */
  misses: number;
}

/** The L2.5 tier's figures. */
export interface L25Stats extends TierStats {
  /** Σ class size of the live blocks. */
  liveBytes: number;
  spans: number;
  /** Pages of all spans. */
  pages: number;
  /** Shards that hold a span. */
  shards: number;
  cachedBlocks: number;
  cachedBytes: number;
  /** Pages of spans with no block out, kept by their shards for reuse (trim returns them). */
  emptyPages: number;
  /** The classes of the tier's size range, and any other class that has spans. */
  classes: L25ClassStats[];
}

/** Each thread area of an attached thread: [thread id, area i32 index]. */
function threadAreas(t: L25Tier): Array<[number, number]> {
  const arena = t.arena;
  const out: Array<[number, number]> = [];
  for (const tid of arena.threadIds()) {
    const words = arena.threadTierWords(t.id, tid);
    const offset = words === 0 ? 0 : Atomics.load(arena.i32, words + Tw.Area) >>> 0;
    if (offset !== 0) out.push([tid, offset >>> 2]);
  }
  return out;
}

/** Walks every shard (under its lock) with `visit(sh)`. */
function eachShard(t: L25Tier, visit: (sh: number) => void): void {
  const arena = t.arena;
  const total = shardRange(arena, t.root);
  for (let index = 0; index < total; index++) {
    const sh = shardAt(arena, t.root, index);
    if (sh === 0) continue;
    shardLock(t, sh);
    try {
      visit(sh);
    } finally {
      shardUnlock(t, sh);
    }
  }
}

export function tierStats(t: L25Tier): L25Stats {
  const arena = t.arena;
  arena.refresh();
  const spans = new Float64Array(L25_CLASS_COUNT);
  const used = new Float64Array(L25_CLASS_COUNT);
  const cached = new Float64Array(L25_CLASS_COUNT);
  const misses = new Float64Array(L25_CLASS_COUNT);
  let pages = 0;
  let emptyPages = 0;
  let shards = 0;
  eachShard(t, (sh) => {
    const i32 = arena.i32;
    if (i32[sh + Sh.Spans] !== 0) shards++;
    emptyPages += i32[sh + Sh.EmptyPages]!;
    for (let d = i32[sh + Sh.Spans]!; d !== 0; d = i32[d + Sp.RNext]!) {
      const cls = i32[d + Sp.Class]!;
      spans[cls]!++;
      used[cls]! += i32[d + Sp.Used]!;
      pages += i32[d + Sp.Pages]!;
    }
  });
  let cachedBytes = 0;
  for (const [, area] of threadAreas(t)) {
    const i32 = arena.i32;
    cachedBytes += i32[area + Ta.CachedBytes]!;
    for (let cls = 0; cls < L25_CLASS_COUNT; cls++) {
      const h = area + Ta.Header + (cls << Shift.Record);
      cached[cls]! += i32[h + Cr.Count]!;
      misses[cls]! += i32[h + Cr.Misses]!;
    }
  }
  const first = l25ClassOf(Math.min(t.minSize, t.maxSize));
  const last = l25ClassOf(t.maxSize);
  const classes: L25ClassStats[] = [];
  let liveBlocks = 0;
  let liveBytes = 0;
  let cachedBlocks = 0;
  for (let cls = 0; cls < L25_CLASS_COUNT; cls++) {
    const live = used[cls]! - cached[cls]!;
    liveBlocks += live;
    liveBytes += live * L25_CLASS_SIZE[cls]!;
    cachedBlocks += cached[cls]!;
    if ((cls >= first && cls <= last) || spans[cls]! > 0) {
      classes.push({
        size: L25_CLASS_SIZE[cls]!,
        spanPages: L25_CLASS_PAGES[cls]!,
        spanBlocks: L25_CLASS_BLOCKS[cls]!,
        spans: spans[cls]!,
        liveBlocks: live,
        cachedBlocks: cached[cls]!,
        misses: misses[cls]!,
      });
    }
  }
  return {
    liveBlocks,
    liveBytes,
    spans: spans.reduce((a, b) => a + b, 0),
    pages,
    shards,
    cachedBlocks,
    cachedBytes,
    emptyPages,
    classes,
  };
}

/** Share of the bytes of the span at `offset` in blocks out of it (live or cached). */
export function tierOccupancy(t: L25Tier, offset: number, pages: number): number {
  const arena = t.arena;
  arena.refresh();
  const e = arena.pageEntry(offset);
  if (e < 0 || (arena.u32[e + PM_TIER]! & PM_TIER_MASK) !== t.id) return 0;
  const d = arena.u32[e + PM_DESC]! >>> 2;
  if (d === 0) return 0;
  return (arena.i32[d + Sp.Used]! * arena.i32[d + Sp.Size]!) / (pages * PAGE_SIZE);
}

/**
 * Every invariant of layout.ts: the caches of the attached threads, then every shard under its
 * lock (registry, spans, stacks, states, partial lists, counts), then the arena's page map: every
 * run of this tier is a registered span. ERR_HEAP_CORRUPTED naming the first broken one.
 */
export function tierCheck(t: L25Tier): void {
  const arena = t.arena;
  arena.refresh();
  const strict = t.strict;
  const where = new Int32Array(2);
  // Cached blocks: p → the thread whose cache holds it.
  const cachedBy = new Map<number, number>();
  const cachedIn = new Map<number, number>();
  const live = new Set(arena.threadIds());
  // Span descriptors kept for reuse by a thread: d → the thread.
  const keptDescs = new Map<number, number>();
  for (const [tid, area] of threadAreas(t)) {
    const i32 = arena.i32;
    if (i32[area + Ta.Thread] !== tid)
      throw corrupted(`l25: thread ${tid}'s area names thread ${i32[area + Ta.Thread]}`);
    for (const w of [Ta.NewRun, Ta.NewDesc, Ta.FreeDesc, Ta.Grow]) {
      if (i32[area + w] !== 0) {
        throw corrupted(
          `l25: thread ${tid}'s area names a span in flight (word ${w} = ${i32[area + w]}) while quiescent`,
        );
      }
    }
    const descs = i32[area + Ta.DescCount]!;
    if (!(descs >= 0 && descs <= DESC_CACHE_SLOTS))
      throw corrupted(`l25: thread ${tid} keeps ${descs} span descriptors`);
    for (let k = 0; k < descs; k++) keptDescs.set(i32[area + Ta.Descs + k]!, tid);
    let bytes = 0;
    let slot = area + Ta.Header + L25_CLASS_COUNT * (1 << Shift.Record);
    for (let cls = 0; cls < L25_CLASS_COUNT; cls++) {
      const h = area + Ta.Header + (cls << Shift.Record);
      const n = i32[h + Cr.Count]!;
      const cap = i32[h + Cr.Cap]!;
      if (
        !(cap >= L25_CLASS_CACHE_CAP[cls]! && cap <= L25_CLASS_SLOTS[cls]!) ||
        i32[h + Cr.Size] !== L25_CLASS_SIZE[cls] ||
        i32[h + Cr.Slots] !== slot
      ) {
        throw corrupted(
          `l25: thread ${tid}'s cache record of class ${cls} has capacity ${cap}, size ${i32[h + Cr.Size]}, slots at ${i32[h + Cr.Slots]}`,
        );
      }
      if (!(n >= 0 && n <= cap))
        throw corrupted(
          `l25: thread ${tid}'s cache of the ${L25_CLASS_SIZE[cls]} B class holds ${n} blocks, capacity ${cap}`,
        );
      for (let k = 0; k < n; k++) {
        const p = arena.u32[slot + k]!;
        if (!blockLocate(t, p, where) || i32[where[0]! + Sp.Class] !== cls) {
          throw corrupted(
            `l25: thread ${tid}'s cache of the ${L25_CLASS_SIZE[cls]} B class holds ${p}, not a carved block of that class`,
          );
        }
        if (strict && i32[where[0]! + Sp.Header + where[1]!] !== ((tid << Shift.Tid) | Bs.Cached)) {
          throw corrupted(
            `l25: thread ${tid}'s cache holds block ${p}, whose state is ${i32[where[0]! + Sp.Header + where[1]!]}, not "cached by ${tid}"`,
          );
        }
        if (strict && i32[slot + k + SlotWord.Desc] !== where[0]) {
          throw corrupted(
            `l25: thread ${tid}'s cache slot ${k} of the ${L25_CLASS_SIZE[cls]} B class holds ${p}, a block of descriptor ${where[0]}, but names descriptor ${i32[slot + k + SlotWord.Desc]}`,
          );
        }
        if (cachedBy.has(p))
          throw corrupted(`l25: block ${p} is in the caches of threads ${cachedBy.get(p)} and ${tid}`);
        cachedBy.set(p, tid);
        cachedIn.set(where[0]!, (cachedIn.get(where[0]!) ?? 0) + 1);
      }
      bytes += n * L25_CLASS_SIZE[cls]!;
      slot += L25_CLASS_SLOTS[cls]!;
    }
    if (bytes !== i32[area + Ta.CachedBytes])
      throw corrupted(
        `l25: thread ${tid}'s cache holds ${bytes} bytes, its count says ${i32[area + Ta.CachedBytes]}`,
      );
    if (bytes > t.cacheBudget + L25_CLASS_SIZE[L25_CLASS_COUNT - 1]!)
      throw corrupted(`l25: thread ${tid}'s cache holds ${bytes} bytes, above its budget`);
  }
  const registered = new Map<number, number>();
  eachShard(t, (sh) => {
    const i32 = arena.i32;
    const u32 = arena.u32;
    let count = 0;
    let pages = 0;
    let emptyPages = 0;
    let prev = 0;
    for (let d = i32[sh + Sh.Spans]!; d !== 0; prev = d, d = i32[d + Sp.RNext]!) {
      if (registered.has(d))
        throw corrupted(`l25: span descriptor ${d * 4} is registered twice (or a registry has a cycle)`);
      registered.set(d, sh);
      if (i32[d + Sp.RPrev] !== prev)
        throw corrupted(
          `l25: span descriptor ${d * 4}: registry back link ${i32[d + Sp.RPrev]! * 4} ≠ ${prev * 4}`,
        );
      checkSpan(t, sh, d, cachedBy, cachedIn.get(d) ?? 0, live);
      count++;
      pages += i32[d + Sp.Pages]!;
      if (i32[d + Sp.Used] === 0) emptyPages += i32[d + Sp.Pages]!;
    }
    if (
      count !== i32[sh + Sh.SpanCount] ||
      pages !== i32[sh + Sh.Pages] ||
      emptyPages !== i32[sh + Sh.EmptyPages]
    ) {
      throw corrupted(
        `l25: shard ${i32[sh + Sh.Index]} registers ${count} spans of ${pages} pages (${emptyPages} empty); its counts say ${i32[sh + Sh.SpanCount]}, ${i32[sh + Sh.Pages]}, ${i32[sh + Sh.EmptyPages]}`,
      );
    }
    let onLists = 0;
    for (let cls = 0; cls < L25_CLASS_COUNT; cls++) {
      let back = 0;
      for (let d = i32[sh + Sh.Partial + cls]!; d !== 0; back = d, d = i32[d + Sp.Next]!) {
        if (
          registered.get(d) !== sh ||
          i32[d + Sp.Class] !== cls ||
          i32[d + Sp.List] !== List.Partial ||
          i32[d + Sp.Prev] !== back
        ) {
          throw corrupted(
            `l25: span descriptor ${d * 4} on shard ${i32[sh + Sh.Index]}'s partial list of class ${cls} is not a span of that shard and class linked there (registered in shard ${registered.get(d)}, class ${i32[d + Sp.Class]}, list ${i32[d + Sp.List]}, back link ${i32[d + Sp.Prev]! * 4} ≠ ${back * 4})`,
          );
        }
        if (++onLists > registered.size)
          throw corrupted(`l25: shard ${i32[sh + Sh.Index]}'s partial list of class ${cls} has a cycle`);
      }
    }
    let back = 0;
    let empties = 0;
    for (let d = i32[sh + Sh.Empty]!; d !== 0; back = d, d = i32[d + Sp.Next]!) {
      if (
        registered.get(d) !== sh ||
        i32[d + Sp.List] !== List.Empty ||
        i32[d + Sp.Prev] !== back ||
        i32[d + Sp.Used] !== 0
      ) {
        throw corrupted(
          `l25: span descriptor ${d * 4} on shard ${i32[sh + Sh.Index]}'s empty list is not an empty span of that shard linked there`,
        );
      }
      if (++empties > registered.size)
        throw corrupted(`l25: shard ${i32[sh + Sh.Index]}'s empty list has a cycle`);
    }
    for (let d = i32[sh + Sh.Spans]!; d !== 0; d = i32[d + Sp.RNext]!) {
      const free = i32[d + Sp.Top]! + i32[d + Sp.Blocks]! - i32[d + Sp.Carved]!;
      if (free > 0 && i32[d + Sp.List] === List.None) {
        throw corrupted(`l25: the span at ${u32[d + Sp.Start]} has ${free} free blocks but is on no list`);
      }
    }
  });
  for (const [d, tid] of keptDescs) {
    if (registered.has(d))
      throw corrupted(
        `l25: thread ${tid} keeps span descriptor ${d * 4} for reuse, but a shard registers it`,
      );
  }
  for (const [p, tid] of cachedBy) {
    if (!blockLocate(t, p, where) || !registered.has(where[0]!))
      throw corrupted(`l25: thread ${tid}'s cache holds ${p}, in a span no shard registers`);
  }
  let runs = 0;
  for (const run of arena.snapshot()) {
    if (run.tier !== t.id) continue;
    runs++;
    const d = run.desc >>> 2;
    if (
      !registered.has(d) ||
      arena.u32[d + Sp.Start] !== run.offset ||
      arena.i32[d + Sp.Pages] !== run.pages
    ) {
      throw corrupted(
        `l25: the run of ${run.pages} pages at ${run.offset} is a page run of this tier but no registered span`,
      );
    }
  }
  if (runs !== registered.size)
    throw corrupted(
      `l25: ${registered.size} spans are registered, the page map holds ${runs} runs of this tier`,
    );
}

/** One span of shard `sh`: page map, constants, counts, stack, states. */
function checkSpan(
  t: L25Tier,
  sh: number,
  d: number,
  cachedBy: Map<number, number>,
  cached: number,
  live: Set<number>,
): void {
  const arena = t.arena;
  const i32 = arena.i32;
  const u32 = arena.u32;
  const start = u32[d + Sp.Start]!;
  const cls = i32[d + Sp.Class]!;
  const at = `l25: the span at ${start}`;
  if (!(cls >= 0 && cls < L25_CLASS_COUNT)) throw corrupted(`${at} has class ${cls}`);
  const size = L25_CLASS_SIZE[cls]!;
  // A span of the class's shape, or one block alone in a span of its own (room to grow in place).
  const solo = i32[d + Sp.Blocks] === 1;
  const blocks = solo ? 1 : L25_CLASS_BLOCKS[cls]!;
  const pages = solo ? i32[d + Sp.Pages]! : L25_CLASS_PAGES[cls]!;
  if (
    i32[d + Sp.Shard] !== sh ||
    i32[d + Sp.Blocks] !== blocks ||
    i32[d + Sp.Size] !== size ||
    i32[d + Sp.Inv] !== L25_CLASS_INV[cls] ||
    i32[d + Sp.Shift] !== L25_CLASS_SHIFT[cls] ||
    i32[d + Sp.Pages] !== pages ||
    !(pages >= l25PagesOf(size) && pages <= SPAN_MAX_PAGES)
  ) {
    throw corrupted(
      `${at}: its descriptor's shard or class constants do not belong to its shard and the ${size} B class`,
    );
  }
  if (start % PAGE_SIZE !== 0) throw corrupted(`${at} does not start on a page`);
  for (let i = 0; i < pages; i++) {
    const e = arena.pageEntry(start + i * PAGE_SIZE);
    const word = e < 0 ? 0 : u32[e + PM_TIER]!;
    if (
      e < 0 ||
      (word & PM_TIER_MASK) !== t.id ||
      u32[e + PM_DESC] !== d * 4 ||
      ((word & PM_FLAG_HEAD) !== 0) !== (i === 0)
    ) {
      throw corrupted(`${at}: page ${i} is not a page of tier ${t.id} naming its descriptor ${d * 4}`);
    }
    if (i === 0 && u32[e + PM_RUN_PAGES] !== pages)
      throw corrupted(`${at}: its run has ${u32[e + PM_RUN_PAGES]} pages, not ${pages}`);
  }
  const carved = i32[d + Sp.Carved]!;
  const top = i32[d + Sp.Top]!;
  const used = i32[d + Sp.Used]!;
  if (!(top >= 0 && top <= carved && carved <= blocks && used === carved - top)) {
    throw corrupted(
      `${at} (${size} B): blocks ${blocks}, carved ${carved}, free stack ${top}, used ${used} are inconsistent`,
    );
  }
  const onStack = new Uint8Array(blocks);
  for (let j = 0; j < top; j++) {
    const idx = i32[d + Sp.Header + blocks + j]!;
    if (!(idx >= 0 && idx < carved) || onStack[idx] !== 0) {
      throw corrupted(
        `${at}: free stack entry ${j} names block ${idx} (carved ${carved}), out of range or twice`,
      );
    }
    onStack[idx] = 1;
    if (cachedBy.has(start + idx * size))
      throw corrupted(
        `${at}: block ${idx} is on the free stack and in thread ${cachedBy.get(start + idx * size)}'s cache`,
      );
  }
  if (cached > used) throw corrupted(`${at}: ${cached} of its blocks are cached, but only ${used} are out`);
  if (!strict(t)) return;
  let out = 0;
  let cachedStates = 0;
  for (let idx = 0; idx < blocks; idx++) {
    const state = i32[d + Sp.Header + idx]!;
    if (idx >= carved || onStack[idx] !== 0) {
      if (state !== Bs.Free)
        throw corrupted(
          `${at}: block ${idx} is ${idx >= carved ? 'not carved' : 'on the free stack'} but its state is ${state}`,
        );
      continue;
    }
    out++;
    const tid = state >>> Shift.Tid;
    const kind = state & Bs.KindMask;
    if ((kind !== Bs.Live && kind !== Bs.Cached) || tid === 0)
      throw corrupted(`${at}: block ${idx} is out of the span but its state is ${state}`);
    if (kind === Bs.Cached) {
      cachedStates++;
      if (!live.has(tid) || cachedBy.get(start + idx * size) !== tid) {
        throw corrupted(`${at}: block ${idx}'s state says thread ${tid}'s cache holds it, which it does not`);
      }
    }
  }
  if (out !== used) throw corrupted(`${at}: ${out} blocks are out by their states, used says ${used}`);
  if (cachedStates !== cached)
    throw corrupted(`${at}: ${cachedStates} blocks are cached by their states, the caches hold ${cached}`);
}

function strict(t: L25Tier): boolean {
  return t.strict;
}

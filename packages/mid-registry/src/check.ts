/** check() and stats of the spans: walks of the registry, the thread lists and every span. */
import {
  PAGE_SIZE,
  PM_DESC,
  PM_FLAG_HEAD,
  PM_HEAD_PAGE,
  PM_RUN_PAGES,
  PM_TIER,
  PM_TIER_MASK,
} from '@hakmem/page-arena';
import { corrupted, hex } from './errors';
import {
  INLINE_BITMAP_BLOCKS,
  R_ABANDONED,
  R_PAGES,
  R_REG,
  R_REG_CAP,
  R_REG_COUNT,
  SP_BITMAP,
  SP_CAP,
  SP_CARVED,
  SP_CLASS,
  SP_COLLECT,
  SP_FREE,
  SP_HEADER_WORDS,
  SP_INV,
  SP_NEXT,
  SP_OWNER,
  SP_PAGES,
  SP_PREV,
  SP_REG,
  SP_REMOTE,
  SP_SHIFT,
  SP_START,
  SP_STATE,
  SP_USED,
  SPAN_ABANDONED,
  SPAN_FULL,
  SPAN_PARTIAL,
  SPAN_SPARE,
  TS_FULL,
  TS_FULL_COUNT,
  TS_PARTIAL,
  TS_SPARE,
  TS_SPARE_PAGES,
  TS_THREAD,
  TW_SPANS,
} from './layout';
import { registrySpans } from './registry';
import {
  MID_CLASS_COUNT,
  MID_CLASS_INV,
  MID_CLASS_PAGES,
  MID_CLASS_SHIFT,
  MID_CLASS_SIZE,
  spanBlocks,
} from './size-classes';
import type { MidSpans } from './spans';

/** Figures of the spans (walks the registry under the tier lock; exact when quiescent). */
export interface SpanStats {
  /** Spans in the registry. */
  spans: number;
  /** Pages of all spans. */
  pages: number;
  /** Abandoned spans (owner detached or died), adoptable by any thread. */
  abandonedSpans: number;
  /** Empty spans kept as spares by their owners. */
  spareSpans: number;
  /** Entries the registry array has room for. */
  registryCapacity: number;
  /** Per class: spans, blocks out of the spans (live + cached + remote-pending), remote-pending blocks. */
  classes: Array<{ size: number; spans: number; used: number; remote: number }>;
}

/** Counts of the whole tier. */
export function spanStats(s: MidSpans): SpanStats {
  const classes = Array.from(MID_CLASS_SIZE, (size) => ({ size, spans: 0, used: 0, remote: 0 }));
  let pages = 0;
  let abandonedSpans = 0;
  let spareSpans = 0;
  let spans: number[];
  let registryCapacity: number;
  s.spanLock();
  try {
    const i32 = s.arena.i32;
    const u32 = s.arena.u32;
    spans = registrySpans(s);
    registryCapacity = i32[s.root + R_REG_CAP]!;
    for (const d of spans) {
      pages += i32[d + SP_PAGES]!;
      const state = i32[d + SP_STATE]!;
      if (state === SPAN_ABANDONED) abandonedSpans++;
      if (state === SPAN_SPARE) spareSpans++;
      const c = classes[i32[d + SP_CLASS]!]!;
      c.spans++;
      c.used += i32[d + SP_USED]!;
      const cap = i32[d + SP_CAP]!;
      let remote = 0;
      for (let p = Atomics.load(i32, d + SP_REMOTE) >>> 0; p !== 0 && remote <= cap; p = u32[p >>> 2]!)
        remote++;
      c.remote += remote;
    }
  } finally {
    s.spanUnlock();
  }
  return { spans: spans.length, pages, abandonedSpans, spareSpans, registryCapacity, classes };
}

/**
 * check, step 2 (after the caches were walked through `cacheCheckBlock`): the registry, the
 * page map of every span, the thread and abandoned lists, and every span's lists and bitmaps
 * (see the invariants in layout.ts). Returns the live blocks per class the spans account for
 * (used − cached − remote-pending).
 */
export function spansCheck(s: MidSpans): Float64Array {
  if (s.checkMarks === null) s.checkBegin();
  const arena = s.arena;
  arena.refresh();
  const live = new Float64Array(MID_CLASS_COUNT);
  const cached = s.checkCached!;
  const liveThreads = new Set(arena.threadIds());
  const inList = new Set<number>();
  s.spanLock();
  try {
    const i32 = arena.i32;
    const u32 = arena.u32;
    // Thread lists.
    for (const tid of liveThreads) {
      const words = arena.threadTierWords(s.tier, tid);
      const offset = words === 0 ? 0 : Atomics.load(i32, words + TW_SPANS) >>> 0;
      if (offset === 0) continue;
      const area = offset >>> 2;
      if (i32[area + TS_THREAD] !== tid)
        throw corrupted(`thread ${tid}'s mid area names thread ${i32[area + TS_THREAD]}`);
      let sparePages = 0;
      for (let cls = 0; cls < MID_CLASS_COUNT; cls++) {
        for (const [head, state] of [
          [TS_PARTIAL, SPAN_PARTIAL],
          [TS_FULL, SPAN_FULL],
        ] as const) {
          let prev = 0;
          let n = 0;
          for (let d = i32[area + head + cls]!; d !== 0; d = i32[d + SP_NEXT]!) {
            if (inList.has(d))
              throw corrupted(`span descriptor ${d * 4} is in two lists (or a list has a cycle)`);
            inList.add(d);
            if (i32[d + SP_PREV] !== prev)
              throw corrupted(
                `span at ${u32[d + SP_START]}: back link ${i32[d + SP_PREV]! * 4} ≠ ${prev * 4}`,
              );
            if (i32[d + SP_STATE] !== state || i32[d + SP_CLASS] !== cls || i32[d + SP_OWNER] !== tid) {
              throw corrupted(
                `span at ${u32[d + SP_START]} in thread ${tid}'s ${state === SPAN_PARTIAL ? 'partial' : 'full'} list of class ${cls} has state ${i32[d + SP_STATE]}, class ${i32[d + SP_CLASS]}, owner ${i32[d + SP_OWNER]}`,
              );
            }
            prev = d;
            n++;
          }
          if (state === SPAN_FULL && n !== i32[area + TS_FULL_COUNT + cls]) {
            throw corrupted(
              `thread ${tid}'s full list of class ${cls} has ${n} spans, its count says ${i32[area + TS_FULL_COUNT + cls]}`,
            );
          }
        }
        for (let spare = i32[area + TS_SPARE + cls]!; spare !== 0; spare = i32[spare + SP_NEXT]!) {
          if (inList.has(spare))
            throw corrupted(
              `spare span descriptor ${spare * 4} is also in a list (or the spare list has a cycle)`,
            );
          inList.add(spare);
          if (
            i32[spare + SP_STATE] !== SPAN_SPARE ||
            i32[spare + SP_CLASS] !== cls ||
            i32[spare + SP_OWNER] !== tid ||
            i32[spare + SP_USED] !== 0
          ) {
            throw corrupted(
              `thread ${tid}'s spare span of class ${cls} at ${u32[spare + SP_START]} has state ${i32[spare + SP_STATE]}, class ${i32[spare + SP_CLASS]}, owner ${i32[spare + SP_OWNER]}, used ${i32[spare + SP_USED]}`,
            );
          }
          sparePages += i32[spare + SP_PAGES]!;
        }
      }
      if (sparePages !== i32[area + TS_SPARE_PAGES]) {
        throw corrupted(
          `thread ${tid} keeps ${sparePages} pages of empty spans, its count says ${i32[area + TS_SPARE_PAGES]}`,
        );
      }
    }
    // Abandoned lists.
    for (let cls = 0; cls < MID_CLASS_COUNT; cls++) {
      let n = 0;
      for (let d = i32[s.root + R_ABANDONED + cls]!; d !== 0; d = i32[d + SP_NEXT]!) {
        if (inList.has(d) || ++n > 1 << 26)
          throw corrupted(`span descriptor ${d * 4} is in two lists (or the abandoned list has a cycle)`);
        inList.add(d);
        if (i32[d + SP_STATE] !== SPAN_ABANDONED || i32[d + SP_CLASS] !== cls || i32[d + SP_OWNER] !== 0) {
          throw corrupted(
            `span at ${u32[d + SP_START]} in the abandoned list of class ${cls} has state ${i32[d + SP_STATE]}, class ${i32[d + SP_CLASS]}, owner ${i32[d + SP_OWNER]}`,
          );
        }
      }
    }
    // The registry, each span's pages, and each span.
    const count = i32[s.root + R_REG_COUNT]!;
    const cap = i32[s.root + R_REG_CAP]!;
    if (!(count >= 0 && count <= cap) || (cap !== 0 && i32[s.root + R_REG] === 0)) {
      throw corrupted(`the span registry holds ${count} spans with room for ${cap}`);
    }
    const spans = registrySpans(s);
    const starts = new Map<number, number>();
    let pages = 0;
    for (let i = 0; i < spans.length; i++) {
      const d = spans[i]!;
      const start = u32[d + SP_START]!;
      if (i32[d + SP_REG] !== i)
        throw corrupted(`span at ${start}: registry index ${i32[d + SP_REG]}, found at ${i}`);
      if (starts.has(start)) throw corrupted(`the span registry lists the span at ${start} twice`);
      starts.set(start, d);
      spanCheckPages(s, d);
      pages += i32[d + SP_PAGES]!;
      if (!inList.has(d)) {
        throw corrupted(
          `span at ${start} (state ${i32[d + SP_STATE]}, owner ${i32[d + SP_OWNER]}) is in no list: neither its owner's nor the abandoned list`,
        );
      }
      const state = i32[d + SP_STATE]!;
      if (state !== SPAN_ABANDONED && !liveThreads.has(i32[d + SP_OWNER]!)) {
        throw corrupted(`span at ${start} is owned by thread ${i32[d + SP_OWNER]}, which is not attached`);
      }
      live[i32[d + SP_CLASS]!]! += spanCheckOne(s, d, cached.get(d) ?? 0);
    }
    if (pages !== i32[s.root + R_PAGES]) {
      throw corrupted(
        `the registered spans hold ${pages} pages, the registry's count says ${i32[s.root + R_PAGES]}`,
      );
    }
    for (const d of inList) {
      if (!starts.has(u32[d + SP_START]!) || starts.get(u32[d + SP_START]!) !== d)
        throw corrupted(`span descriptor ${d * 4} is in a list but not in the registry`);
    }
    for (const d of cached.keys()) {
      if (!starts.has(u32[d + SP_START]!))
        throw corrupted(`a thread cache holds blocks of span descriptor ${d * 4}, which is not registered`);
    }
    // Every run of the tier is a registered span.
    for (const run of arena.snapshot()) {
      if (run.tier !== s.tier) continue;
      const d = starts.get(run.offset);
      if (d === undefined || i32[d + SP_PAGES] !== run.pages) {
        throw corrupted(
          `the run of ${run.pages} pages at ${run.offset} belongs to the mid tier but is no registered span`,
        );
      }
    }
  } finally {
    s.spanUnlock();
  }
  // This handle's private map of owned spans agrees with the shared owner words.
  const owned = s.owned;
  const i32 = arena.i32;
  const u32 = arena.u32;
  for (let page = 0; 2 * page < owned.length; page++) {
    const d = owned[2 * page]!;
    if (d === 0) continue;
    const start = u32[d + SP_START]! >>> 16;
    if (
      !(page >= start && page < start + i32[d + SP_PAGES]!) ||
      i32[d + SP_OWNER] !== s.threadId ||
      i32[d + SP_CLASS] !== owned[2 * page + 1]
    ) {
      throw corrupted(
        `thread ${s.threadId}'s map of owned spans names page ${page} as its class ${owned[2 * page + 1]} span ${d * 4}, which it is not`,
      );
    }
  }
  if (s.area !== 0) {
    for (let cls = 0; cls < MID_CLASS_COUNT; cls++) {
      const mine: number[] = [];
      for (const head of [TS_PARTIAL, TS_FULL])
        for (let d = i32[s.area + head + cls]!; d !== 0; d = i32[d + SP_NEXT]!) mine.push(d);
      for (let d = i32[s.area + TS_SPARE + cls]!; d !== 0; d = i32[d + SP_NEXT]!) mine.push(d);
      for (const d of mine) {
        if (owned[2 * (u32[d + SP_START]! >>> 16)] !== d) {
          throw corrupted(
            `thread ${s.threadId}'s span at ${u32[d + SP_START]} is missing from its map of owned spans`,
          );
        }
      }
    }
  }
  s.checkMarks = null;
  s.checkCached = null;
  return live;
}

/** Every page of span `d` is a page of the tier's run that starts at SP_START, naming the descriptor. */
function spanCheckPages(s: MidSpans, d: number): void {
  const arena = s.arena;
  const u32 = arena.u32;
  const start = u32[d + SP_START]!;
  const pages = arena.i32[d + SP_PAGES]!;
  const head = arena.pageEntry(start);
  if (
    start % PAGE_SIZE !== 0 ||
    head < 0 ||
    u32[head + PM_TIER] !== (s.tier | PM_FLAG_HEAD) ||
    u32[head + PM_RUN_PAGES] !== pages
  ) {
    throw corrupted(
      `span descriptor ${d * 4} names a run at ${start} of ${pages} pages that the page map does not hold for tier ${s.tier}`,
    );
  }
  for (let page = 0; page < pages; page++) {
    const e = arena.pageEntry(start + page * PAGE_SIZE);
    if (
      (u32[e + PM_TIER]! & PM_TIER_MASK) !== s.tier ||
      u32[e + PM_HEAD_PAGE] !== start / PAGE_SIZE ||
      u32[e + PM_DESC] !== d * 4
    ) {
      throw corrupted(
        `page ${start / PAGE_SIZE + page} of the span at ${start} does not name its descriptor ${d * 4}`,
      );
    }
  }
}

/** Checks one span; returns its live blocks (used − cached − remote-pending). */
function spanCheckOne(s: MidSpans, d: number, cached: number): number {
  const i32 = s.arena.i32;
  const u32 = s.arena.u32;
  const cls = i32[d + SP_CLASS]!;
  const start = u32[d + SP_START]!;
  const where = `span at ${start}`;
  if (!(cls >= 0 && cls < MID_CLASS_COUNT)) throw corrupted(`${where} has class ${cls}`);
  const size = MID_CLASS_SIZE[cls]!;
  const pages = i32[d + SP_PAGES]!;
  const cap = i32[d + SP_CAP]!;
  if (!(pages >= 1 && pages <= MID_CLASS_PAGES[cls]!) || cap !== spanBlocks(size, pages)) {
    throw corrupted(`${where} (${size} B): ${pages} pages holding ${cap} blocks`);
  }
  const carved = i32[d + SP_CARVED]!;
  const used = i32[d + SP_USED]!;
  if (!(carved >= 0 && carved <= cap) || !(used >= 0 && used <= carved)) {
    throw corrupted(`${where} (${size} B): capacity ${cap}, carved ${carved}, used ${used} are inconsistent`);
  }
  if (i32[d + SP_INV] !== MID_CLASS_INV[cls] || i32[d + SP_SHIFT] !== MID_CLASS_SHIFT[cls]) {
    throw corrupted(`${where}: its block-index constants do not belong to the ${size} B class`);
  }
  if (i32[d + SP_COLLECT] !== 0) {
    throw corrupted(
      `${where}: a remote list taken at ${hex(i32[d + SP_COLLECT]!)} was never moved to its local list`,
    );
  }
  const strict = s.strict;
  let free = 0;
  for (let p = u32[d + SP_FREE]!; p !== 0; p = u32[p >>> 2]!) {
    const idx = s.spanBlockIndex(d, p);
    if (idx < 0)
      throw corrupted(`${where}: local free list links to ${hex(p)}, not a carved block of ${size} B`);
    s.checkMark(d, idx, 'the local free list');
    if (strict) checkBits(s, d, idx, false, false, 'in the local free list');
    free++;
  }
  let remote = 0;
  for (let p = Atomics.load(i32, d + SP_REMOTE) >>> 0; p !== 0; p = u32[p >>> 2]!) {
    const idx = s.spanBlockIndex(d, p);
    if (idx < 0)
      throw corrupted(`${where}: remote-free list links to ${hex(p)}, not a carved block of ${size} B`);
    s.checkMark(d, idx, 'the remote-free list');
    if (strict) checkBits(s, d, idx, true, true, 'in the remote-free list');
    remote++;
  }
  if (used !== carved - free) throw corrupted(`${where}: used ${used} ≠ carved ${carved} − free ${free}`);
  if (used < cached + remote)
    throw corrupted(`${where}: used ${used} < cached ${cached} + remote-pending ${remote}`);
  if (strict) {
    const bm = i32[d + SP_BITMAP]!;
    const inline = cap <= INLINE_BITMAP_BLOCKS;
    if (inline !== (bm === d + SP_HEADER_WORDS) || bm === 0)
      throw corrupted(`${where}: bitmap at i32 index ${bm} for ${cap} blocks`);
    const words = (cap + 31) >>> 5;
    let alloc = 0;
    let pending = 0;
    for (let w = 0; w < words; w++) {
      const a = i32[bm + 2 * w]!;
      const r = i32[bm + 2 * w + 1]!;
      alloc += popcount(a);
      pending += popcount(r);
      for (let b = 0; b < 32; b++) {
        if (w * 32 + b >= carved && ((a | r) & (1 << b)) !== 0)
          throw corrupted(`${where}: bitmap bit ${w * 32 + b} is set beyond carved ${carved}`);
      }
    }
    if (pending !== remote)
      throw corrupted(
        `${where}: ${pending} remote-pending bits for ${remote} blocks in the remote-free list`,
      );
    if (alloc !== used - cached)
      throw corrupted(
        `${where}: ${alloc} alloc bits, but used ${used} − cached ${cached} = ${used - cached}`,
      );
  }
  return used - cached - remote;
}

function checkBits(
  s: MidSpans,
  d: number,
  idx: number,
  alloc: boolean,
  pending: boolean,
  where: string,
): void {
  const i32 = s.arena.i32;
  const w = i32[d + SP_BITMAP]! + ((idx >>> 5) << 1);
  const bit = 1 << (idx & 31);
  const a = (i32[w]! & bit) !== 0;
  const r = (i32[w + 1]! & bit) !== 0;
  if (a !== alloc || r !== pending) {
    throw corrupted(
      `block ${idx} of the span at ${s.arena.u32[d + SP_START]} ${where} has alloc bit ${+a} and remote bit ${+r}`,
    );
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

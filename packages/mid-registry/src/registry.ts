/**
 * Span creation and release, and the span registry: every change of either happens under the
 * tier mutex, so a thread holding it sees every span complete and registered (see layout.ts).
 */
import { PAGE_SIZE, PM_DESC, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';
import {
  BITMAP_BYTES,
  INLINE_BITMAP_BLOCKS,
  R_PAGES,
  R_REG,
  R_REG_CAP,
  R_REG_COUNT,
  REG_CAP0,
  SP_BITMAP,
  SP_CAP,
  SP_CLASS,
  SP_HEADER_WORDS,
  SP_INV,
  SP_OWNER,
  SP_PAGES,
  SP_REG,
  SP_SHIFT,
  SP_START,
  SP_STATE,
  SPAN_DESC_BYTES,
  SPAN_DETACHED,
} from './layout';
import { MID_CLASS_INV, MID_CLASS_SHIFT, MID_CLASS_SIZE, spanBlocks } from './size-classes';
import type { MidSpans } from './spans';

/**
 * Makes a span of `pages` pages for class `cls`, owned by this thread, registered, in no list
 * (state DETACHED); returns its descriptor's i32 index, 0 when maxBytes cannot hold it.
 */
export function spanCreate(s: MidSpans, cls: number, pages: number): number {
  const arena = s.arena;
  const size = MID_CLASS_SIZE[cls]!;
  const cap = spanBlocks(size, pages);
  if (cap < 1) return 0;
  s.spanLock();
  try {
    if (!registryRoom(s)) return 0;
    let run = 0;
    let desc = 0;
    let bitmap = 0;
    // One arena lock for the run and its metadata (the arena mutex is re-entrant).
    arena.lock();
    try {
      run = arena.allocRun(pages, s.tier);
      if (run === 0) return 0;
      desc = arena.metaAlloc(SPAN_DESC_BYTES);
      if (desc !== 0 && s.strict && cap > INLINE_BITMAP_BLOCKS) {
        bitmap = arena.metaAlloc(BITMAP_BYTES);
        if (bitmap === 0) {
          arena.metaFree(desc);
          desc = 0;
        }
      }
      if (desc === 0) {
        arena.freeRun(run);
        return 0;
      }
    } finally {
      arena.unlock();
    }
    arena.refresh();
    const i32 = arena.i32;
    const d = desc >>> 2;
    i32[d + SP_CLASS] = cls;
    i32[d + SP_START] = run;
    i32[d + SP_INV] = MID_CLASS_INV[cls]!;
    i32[d + SP_SHIFT] = MID_CLASS_SHIFT[cls]!;
    i32[d + SP_CAP] = cap;
    i32[d + SP_PAGES] = pages;
    i32[d + SP_STATE] = SPAN_DETACHED;
    i32[d + SP_BITMAP] = !s.strict ? 0 : bitmap !== 0 ? bitmap >>> 2 : d + SP_HEADER_WORDS;
    Atomics.store(i32, d + SP_OWNER, s.threadId);
    const first = run / PAGE_SIZE;
    for (let page = 0; page < pages; page++) arena.setPageDesc(first + page, desc);
    registryInsert(s, d);
    return d;
  } finally {
    s.spanUnlock();
  }
}

/**
 * Gives span `d` (in no list, no block out, not in this thread's owned map) back to the arena:
 * unregistered first, then its run, then its metadata (a thread dying in between leaves at most
 * an unregistered run, which reclaim frees).
 */
export function spanDestroy(s: MidSpans, d: number): void {
  const arena = s.arena;
  s.spanLock();
  try {
    const i32 = arena.i32;
    const pages = i32[d + SP_PAGES]!;
    const run = arena.u32[d + SP_START]!;
    const bitmap = i32[d + SP_BITMAP]!;
    registryRemove(s, d);
    arena.lock();
    try {
      arena.freeRun(run);
      if (bitmap !== 0 && bitmap !== d + SP_HEADER_WORDS) arena.metaFree(bitmap * 4);
      arena.metaFree(d * 4);
    } finally {
      arena.unlock();
    }
    s.releasedBytes += pages * PAGE_SIZE;
  } finally {
    s.spanUnlock();
  }
}

/** Tier lock held: the registry has room for one more span (it doubles when full); false when maxBytes cannot hold it. */
function registryRoom(s: MidSpans): boolean {
  const arena = s.arena;
  const root = s.root;
  const count = arena.i32[root + R_REG_COUNT]!;
  const cap = arena.i32[root + R_REG_CAP]!;
  if (count < cap) return true;
  const bigger = cap === 0 ? REG_CAP0 : cap * 2;
  const offset = arena.metaAlloc(bigger * 4);
  if (offset === 0) return false;
  arena.refresh();
  const i32 = arena.i32;
  const old = i32[root + R_REG]!;
  if (old !== 0) i32.copyWithin(offset >>> 2, old, old + count);
  // Published before the old array is freed: a thread dying here leaks one array, never a span.
  i32[root + R_REG] = offset >>> 2;
  i32[root + R_REG_CAP] = bigger;
  if (old !== 0) arena.metaFree(old * 4);
  return true;
}

/** Tier lock held, room made: appends span `d`. */
function registryInsert(s: MidSpans, d: number): void {
  const i32 = s.arena.i32;
  const root = s.root;
  const count = i32[root + R_REG_COUNT]!;
  i32[i32[root + R_REG]! + count] = d;
  i32[d + SP_REG] = count;
  i32[root + R_REG_COUNT] = count + 1;
  i32[root + R_PAGES] = i32[root + R_PAGES]! + i32[d + SP_PAGES]!;
}

/** Tier lock held: removes span `d`, moving the last entry into its slot (O(1)). */
function registryRemove(s: MidSpans, d: number): void {
  const i32 = s.arena.i32;
  const root = s.root;
  const reg = i32[root + R_REG]!;
  const last = i32[root + R_REG_COUNT]! - 1;
  const at = i32[d + SP_REG]!;
  const moved = i32[reg + last]!;
  i32[reg + at] = moved;
  i32[moved + SP_REG] = at;
  i32[reg + last] = 0;
  i32[root + R_REG_COUNT] = last;
  i32[root + R_PAGES] = i32[root + R_PAGES]! - i32[d + SP_PAGES]!;
}

/** Tier lock held: the registered spans' descriptor indexes (a copy). */
export function registrySpans(s: MidSpans): number[] {
  const i32 = s.arena.i32;
  const reg = i32[s.root + R_REG]!;
  const count = i32[s.root + R_REG_COUNT]!;
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(i32[reg + i]!);
  return out;
}

/**
 * Tier lock held (reclaim): frees every run of the tier that is no registered span — a span a
 * dead thread was creating or releasing when it died — with its descriptor when the run's
 * PM_DESC names one that describes it. Returns the runs freed.
 */
export function spanReclaimOrphans(s: MidSpans): number {
  const arena = s.arena;
  const registered = new Set<number>();
  for (const d of registrySpans(s)) registered.add(arena.u32[d + SP_START]!);
  let freed = 0;
  for (const run of arena.snapshot()) {
    if (run.tier !== s.tier || registered.has(run.offset)) continue;
    const e = arena.pageEntry(run.offset);
    const desc = e < 0 ? 0 : arena.u32[e + PM_DESC]!;
    const d = desc >>> 2;
    const own =
      desc !== 0 &&
      (arena.u32[e + PM_TIER]! & PM_TIER_MASK) === s.tier &&
      arena.u32[d + SP_START] === run.offset &&
      arena.i32[d + SP_PAGES] === run.pages;
    const bitmap = own ? arena.i32[d + SP_BITMAP]! : 0;
    arena.lock();
    try {
      arena.freeRun(run.offset);
      if (own) {
        if (bitmap !== 0 && bitmap !== d + SP_HEADER_WORDS) arena.metaFree(bitmap * 4);
        arena.metaFree(desc);
      }
    } finally {
      arena.unlock();
    }
    s.releasedBytes += run.pages * PAGE_SIZE;
    freed++;
  }
  return freed;
}

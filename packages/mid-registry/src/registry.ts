/**
 * Span creation and release, and the span registry: every change of either happens under the
 * tier mutex, so a thread holding it sees every span complete and registered (see layout.ts).
 */
import { PAGE_SIZE, PM_DESC, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';
import { crashPoint } from './crash-point';
import {
  BITMAP_BYTES,
  INLINE_BITMAP_BLOCKS,
  R_ABANDONED,
  R_FREE_SPAN,
  R_MAKE_BITMAP,
  R_MAKE_DESC,
  R_MAKE_RUN,
  R_PAGES,
  R_REG,
  R_REG_CAP,
  R_REG_COUNT,
  R_REG_NEW,
  REG_CAP0,
  SP_BITMAP,
  SP_CAP,
  SP_CLASS,
  SP_HEADER_WORDS,
  SP_INV,
  SP_NEXT,
  SP_OWNER,
  SP_PAGES,
  SP_PREV,
  SP_REG,
  SP_SHIFT,
  SP_START,
  SP_STATE,
  SPAN_ABANDONED,
  SPAN_DESC_BYTES,
  SPAN_DETACHED,
} from './layout';
import { MID_CLASS_COUNT, MID_CLASS_INV, MID_CLASS_SHIFT, MID_CLASS_SIZE, spanBlocks } from './size-classes';
import type { MidSpans } from './spans';

/**
 * Makes a span of `pages` pages for class `cls`, owned by this thread, registered, in no list
 * (state DETACHED); returns its descriptor's i32 index, 0 when maxBytes cannot hold it.
 * Crash consistency: the run, descriptor and bitmap enter the intent record R_MAKE_* in the
 * straight line after the call that got each; the registration clears it (midRepair frees what
 * it names).
 */
export function spanCreate(s: MidSpans, cls: number, pages: number): number {
  const arena = s.arena;
  const size = MID_CLASS_SIZE[cls]!;
  const cap = spanBlocks(size, pages);
  if (cap < 1) return 0;
  if (__DEV__) crashPoint('create');
  s.spanLock();
  try {
    if (__DEV__) crashPoint('create');
    if (!registryRoom(s)) return 0;
    const root = s.root;
    let run = 0;
    let desc = 0;
    let bitmap = 0;
    // One arena lock for the run and its metadata (the arena mutex is re-entrant).
    if (__DEV__) crashPoint('create');
    arena.lock();
    try {
      if (__DEV__) crashPoint('create');
      run = arena.allocRun(pages, s.tier);
      if (run === 0) return 0;
      arena.i32[root + R_MAKE_RUN] = run;
      if (__DEV__) crashPoint('create');
      desc = arena.metaAlloc(SPAN_DESC_BYTES);
      arena.i32[root + R_MAKE_DESC] = desc;
      if (desc !== 0 && s.strict && cap > INLINE_BITMAP_BLOCKS) {
        if (__DEV__) crashPoint('create');
        bitmap = arena.metaAlloc(BITMAP_BYTES);
        arena.i32[root + R_MAKE_BITMAP] = bitmap;
      }
      if (desc === 0 || (s.strict && cap > INLINE_BITMAP_BLOCKS && bitmap === 0)) {
        makeUndo(s);
        return 0;
      }
    } finally {
      if (__DEV__) crashPoint('create');
      arena.unlock();
    }
    if (__DEV__) crashPoint('create');
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
    if (__DEV__) crashPoint('create');
    Atomics.store(i32, d + SP_OWNER, s.threadId);
    const first = run / PAGE_SIZE;
    for (let page = 0; page < pages; page++) {
      if (__DEV__) crashPoint('create');
      arena.setPageDesc(first + page, desc);
    }
    if (__DEV__) crashPoint('create');
    registryInsert(s, d);
    return d;
  } finally {
    if (__DEV__) crashPoint('create');
    s.spanUnlock();
  }
}

/**
 * Tier lock held: gives back what the creation intent record R_MAKE_* names (a span that was
 * never registered), then clears it. The record is cleared before each free, so a thread dying
 * inside metaFree leaks that block rather than freeing it twice.
 */
function makeUndo(s: MidSpans): void {
  const arena = s.arena;
  const root = s.root;
  let i32 = arena.i32;
  const run = i32[root + R_MAKE_RUN]! >>> 0;
  const desc = i32[root + R_MAKE_DESC]! >>> 0;
  const bitmap = i32[root + R_MAKE_BITMAP]! >>> 0;
  if (run === 0 && desc === 0 && bitmap === 0) return;
  if (run !== 0) {
    // Still the tier's (only this section, under the tier lock, makes or frees the tier's runs
    // while the record is set; the arena finished a freeRun it died in): freed.
    const e = arena.pageEntry(run);
    if (e >= 0 && (arena.u32[e + PM_TIER]! & PM_TIER_MASK) === s.tier) arena.freeRun(run);
    i32 = arena.i32;
    i32[root + R_MAKE_RUN] = 0;
  }
  i32[root + R_MAKE_BITMAP] = 0;
  if (bitmap !== 0) arena.metaFree(bitmap);
  i32 = arena.i32;
  i32[root + R_MAKE_DESC] = 0;
  if (desc !== 0) arena.metaFree(desc);
}

/**
 * Gives span `d` (in no list, no block out, not in this thread's owned map) back to the arena.
 * Crash consistency: R_FREE_SPAN = d, the registry entry removed (straight line), the run freed,
 * R_FREE_SPAN = 0, then the metadata freed (a thread dying inside those metaFree calls leaks
 * the descriptor, 128 B, and a strict bitmap, 1 KiB). midRepair finishes a release it finds in
 * R_FREE_SPAN (the registry and page map say which steps are done).
 */
export function spanDestroy(s: MidSpans, d: number): void {
  const arena = s.arena;
  if (__DEV__) crashPoint('destroy');
  s.spanLock();
  try {
    const i32 = arena.i32;
    const pages = i32[d + SP_PAGES]!;
    const run = arena.u32[d + SP_START]!;
    const bitmap = i32[d + SP_BITMAP]!;
    i32[s.root + R_FREE_SPAN] = d;
    if (__DEV__) crashPoint('destroy');
    registryRemove(s, d);
    if (__DEV__) crashPoint('destroy');
    arena.lock();
    try {
      if (__DEV__) crashPoint('destroy');
      arena.freeRun(run);
      arena.i32[s.root + R_FREE_SPAN] = 0;
      if (bitmap !== 0 && bitmap !== d + SP_HEADER_WORDS) {
        if (__DEV__) crashPoint('destroy');
        arena.metaFree(bitmap * 4);
      }
      if (__DEV__) crashPoint('destroy');
      arena.metaFree(d * 4);
    } finally {
      if (__DEV__) crashPoint('destroy');
      arena.unlock();
    }
    s.releasedBytes += pages * PAGE_SIZE;
  } finally {
    if (__DEV__) crashPoint('destroy');
    s.spanUnlock();
  }
}

/** Tier lock held: finishes the release R_FREE_SPAN names (registry entry, run, metadata). */
function destroyFinish(s: MidSpans): void {
  const arena = s.arena;
  const root = s.root;
  const d = arena.i32[root + R_FREE_SPAN]!;
  if (d === 0) return;
  const reg = arena.i32[root + R_REG]!;
  const at = arena.i32[d + SP_REG]!;
  if (at >= 0 && at < arena.i32[root + R_REG_COUNT]! && arena.i32[reg + at] === d) registryRemove(s, d);
  const run = arena.u32[d + SP_START]!;
  const e = arena.pageEntry(run);
  if (e >= 0 && (arena.u32[e + PM_TIER]! & PM_TIER_MASK) === s.tier && arena.u32[e + PM_DESC] === d * 4) {
    arena.freeRun(run);
  }
  const bitmap = arena.i32[d + SP_BITMAP]!;
  arena.i32[root + R_FREE_SPAN] = 0;
  if (bitmap !== 0 && bitmap !== d + SP_HEADER_WORDS) arena.metaFree(bitmap * 4);
  arena.metaFree(d * 4);
}

/**
 * Reclaim, tier lock held (taken over from a dead holder or not): finishes or undoes the intent
 * records of the tier root (registry growth, span creation, span release), then recomputes what
 * the lock guards from the descriptors: every registered span's SP_REG and R_PAGES, and the
 * abandoned lists (every registered span of owner 0, state ABANDONED). See layout.ts, "Crash
 * consistency".
 */
export function midRepair(s: MidSpans): void {
  const arena = s.arena;
  const root = s.root;
  arena.refresh();
  const grown = arena.i32[root + R_REG_NEW]!;
  if (grown !== 0) {
    // Never published (the publication clears the record in its straight line).
    arena.i32[root + R_REG_NEW] = 0;
    if (grown !== arena.i32[root + R_REG]) arena.metaFree(grown * 4);
  }
  makeUndo(s);
  destroyFinish(s);
  arena.refresh();
  const i32 = arena.i32;
  const reg = i32[root + R_REG]!;
  const count = i32[root + R_REG_COUNT]!;
  const tails = new Int32Array(MID_CLASS_COUNT);
  for (let cls = 0; cls < MID_CLASS_COUNT; cls++) i32[root + R_ABANDONED + cls] = 0;
  let pages = 0;
  for (let i = 0; i < count; i++) {
    const d = i32[reg + i]!;
    i32[d + SP_REG] = i;
    pages += i32[d + SP_PAGES]!;
    if (Atomics.load(i32, d + SP_OWNER) !== 0) continue;
    const cls = i32[d + SP_CLASS]!;
    i32[d + SP_STATE] = SPAN_ABANDONED;
    i32[d + SP_NEXT] = 0;
    i32[d + SP_PREV] = 0;
    if (tails[cls] === 0) i32[root + R_ABANDONED + cls] = d;
    else i32[tails[cls]! + SP_NEXT] = d;
    tails[cls] = d;
  }
  i32[root + R_PAGES] = pages;
}

/**
 * Tier lock held: the registry has room for one more span (it doubles when full); false when
 * maxBytes cannot hold it. The new array is in R_REG_NEW until published (midRepair frees an
 * unpublished one); a thread dying inside the metaFree of the old array leaks that array.
 */
function registryRoom(s: MidSpans): boolean {
  const arena = s.arena;
  const root = s.root;
  const count = arena.i32[root + R_REG_COUNT]!;
  const cap = arena.i32[root + R_REG_CAP]!;
  if (count < cap) return true;
  const bigger = cap === 0 ? REG_CAP0 : cap * 2;
  if (__DEV__) crashPoint('create');
  const offset = arena.metaAlloc(bigger * 4);
  if (offset === 0) return false;
  arena.i32[root + R_REG_NEW] = offset >>> 2;
  if (__DEV__) crashPoint('create');
  arena.refresh();
  const i32 = arena.i32;
  const old = i32[root + R_REG]!;
  if (__DEV__) crashPoint('create');
  if (old !== 0) i32.copyWithin(offset >>> 2, old, old + count);
  // Published before the old array is freed, and the record cleared in the same straight line.
  i32[root + R_REG] = offset >>> 2;
  i32[root + R_REG_CAP] = bigger;
  i32[root + R_REG_NEW] = 0;
  if (__DEV__) crashPoint('create');
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
  // Registered: the creation's intent record is done (same straight line).
  i32[root + R_MAKE_RUN] = 0;
  i32[root + R_MAKE_DESC] = 0;
  i32[root + R_MAKE_BITMAP] = 0;
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

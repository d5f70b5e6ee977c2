/**
 * Crash consistency: the intent record every multi-step update of the page map or the metaAlloc
 * lists writes first (HDR_INTENT_*, one record: only the arena mutex's holder writes it), and the
 * repair that breakLocksOf runs after taking the mutex over from a dead holder: it finishes or
 * undoes the update the intent names, then rebuilds everything derived from the page map (free
 * runs' boundary tags and coalescing, the bins, their bitmaps, the free-run count, pages by
 * tier). See layout.ts, "Crash consistency".
 */
import type { Arena } from './arena';
import { binInsert } from './bins';
import { crashPoint } from './crash';
import { HakmemError } from './errors';
import {
  BIN_BITMAP_WORDS,
  BIN_COUNT,
  BIN_SUMMARY_WORDS,
  HDR_BIN_BITMAP,
  HDR_BIN_HEADS,
  HDR_BIN_SUMMARY,
  HDR_COMMITTED_PAGES,
  HDR_FREE_RUNS,
  HDR_GROWTH,
  HDR_INTENT_A,
  HDR_INTENT_B,
  HDR_INTENT_C,
  HDR_INTENT_D,
  HDR_INTENT_OP,
  HDR_META_HEADS,
  HDR_PAGES_BY_TIER,
  INTENT_GROW,
  INTENT_META_PAGE,
  INTENT_META_POP,
  INTENT_META_PUSH,
  INTENT_NONE,
  INTENT_RELEASE,
  INTENT_RESIZE,
  INTENT_TAKE,
  LEAF_PAGES,
  LEAF_SHIFT,
  META_CLASSES,
  META_LEAF_SHIFT,
  META_MAX_SHIFT,
  META_MIN_SHIFT,
  PAGE_SIZE,
  PM_DESC,
  PM_ENTRY_WORDS,
  PM_FLAG_HEAD,
  PM_RUN_PAGES,
  PM_TIER,
  PM_TIER_MASK,
  TIER_COUNT,
  TIER_FREE,
  TIER_META,
} from './layout';
import {
  metaBlockIsFree,
  metaBlocks,
  metaDesc,
  metaDescClass,
  metaDescFree,
  metaListPushPage,
  metaPagePushRaw,
  metaPageWalk,
} from './meta';
import { registryRepairLocked } from './registry';
import { arenaTagFree } from './runs';

/** Writes the intent record: operands first, the op last (a record is whole once its op is). */
export function intentBegin(arena: Arena, op: number, a: number, b: number, c: number, d: number): void {
  const hdr = arena.hdr;
  hdr[HDR_INTENT_A] = a;
  hdr[HDR_INTENT_B] = b;
  hdr[HDR_INTENT_C] = c;
  hdr[HDR_INTENT_D] = d;
  if (__DEV__) crashPoint();
  hdr[HDR_INTENT_OP] = op;
}

/** The update is complete: no intent. */
export function intentEnd(arena: Arena): void {
  if (__DEV__) crashPoint();
  arena.hdr[HDR_INTENT_OP] = INTENT_NONE;
}

/**
 * Under the mutex taken over from dead holder `dead`: finishes or undoes the update its intent
 * record names, rebuilds the metaAlloc pages' derived state and the free runs, bins and counters
 * from the page map, then settles the registry intent (registry.ts). O(pages + META blocks + thread ids).
 */
export function arenaRepairLocked(arena: Arena, dead: number): void {
  const hdr = arena.hdr;
  const op = hdr[HDR_INTENT_OP]!;
  const a = hdr[HDR_INTENT_A]! >>> 0;
  const b = hdr[HDR_INTENT_B]! >>> 0;
  const c = hdr[HDR_INTENT_C]! >>> 0;
  switch (op) {
    case INTENT_NONE:
      break;
    case INTENT_TAKE: // undone: the run never reached its caller
    case INTENT_RELEASE: // finished: its caller gave it up
      repairFreePages(arena, a, a + b);
      break;
    case INTENT_RESIZE: {
      // Grow undone, shrink finished: the run keeps min(old, new) pages, untouched.
      const keep = Math.min(b, c);
      arena.u32[arena.entryOf(a) + PM_RUN_PAGES] = keep;
      repairFreePages(arena, a + keep, a + Math.max(b, c));
      break;
    }
    case INTENT_META_PAGE: // undone: the page free (the class lists are rebuilt below)
      repairFreePages(arena, a, a + 1);
      break;
    case INTENT_META_POP: // undone: back on its page's free list unless the pop did not happen
    case INTENT_META_PUSH: // finished: on its page's free list unless the push completed
      repairMetaBlock(arena, a, c);
      break;
    case INTENT_GROW:
      repairGrow(arena, a, b);
      break;
    default:
      throw new HakmemError(
        'ERR_HEAP_CORRUPTED',
        `repair: the intent record names op ${op}, not an arena update`,
      );
  }
  hdr[HDR_INTENT_OP] = INTENT_NONE;
  metaRebuild(arena);
  arenaRebuildFreeRuns(arena);
  registryRepairLocked(arena, dead);
}

/** Pages [from, to) of the committed heap become free pages (the rebuild makes them runs). */
function repairFreePages(arena: Arena, from: number, to: number): void {
  const end = Math.min(to, arena.endPage);
  for (let page = Math.max(from, arena.basePage + 1); page < end; page++) {
    arena.u32[arena.entryOf(page) + PM_TIER] = TIER_FREE;
  }
}

/**
 * Block `offset` of class `shift` is back on its page's free list unless it is on it (or its page
 * is no longer a META page of that class: a release of the page finished it).
 */
function repairMetaBlock(arena: Arena, offset: number, shift: number): void {
  const page = Math.floor(offset / PAGE_SIZE);
  if (page < arena.basePage || page >= arena.endPage) return;
  const e = arena.entryOf(page);
  const desc = arena.u32[e + PM_DESC]!;
  if (arena.u32[e + PM_TIER] !== (TIER_META | PM_FLAG_HEAD) || metaDescClass(desc) !== shift) return;
  const index = (offset - page * PAGE_SIZE) >>> shift;
  if (!metaBlockIsFree(arena, page, shift, desc, index)) metaPagePushRaw(arena, page, shift, offset);
}

/**
 * The metaAlloc pages' derived state from their free lists (bounded walks): each page's used
 * count recomputed, a page with nothing handed out (but the header page) freed — a metaFree's
 * release of it finished, a page taken for spare leaves unused —, the class lists rebuilt
 * (lowest page first). Runs before arenaRebuildFreeRuns, which makes the freed pages free runs.
 */
function metaRebuild(arena: Arena): void {
  const u32 = arena.u32;
  for (let c = 0; c < META_CLASSES; c++) arena.hdr[HDR_META_HEADS + c] = 0;
  for (let page = arena.endPage - 1; page >= arena.basePage; page--) {
    const e = arena.entryOf(page);
    const desc = u32[e + PM_DESC]!;
    const shift = metaDescClass(desc);
    if (
      u32[e + PM_TIER] !== (TIER_META | PM_FLAG_HEAD) ||
      u32[e + PM_RUN_PAGES] !== 1 ||
      shift < META_MIN_SHIFT ||
      shift > META_MAX_SHIFT
    )
      continue;
    const { listed, fresh } = metaPageWalk(arena, page, shift, desc);
    const free = listed.length + metaBlocks(shift) - fresh;
    const used = metaBlocks(shift) - free;
    if (used === 0 && page !== arena.basePage) {
      u32[e + PM_TIER] = TIER_FREE;
      continue;
    }
    u32[e + PM_DESC] = metaDesc(shift, used, metaDescFree(desc));
    if (free > 0) metaListPushPage(arena, page, shift);
  }
}

/**
 * A growth from page `from` to `to`: committed (HDR_COMMITTED_PAGES is `to`) it is finished —
 * the unused 16 KiB blocks of pages carved for leaves listed, the growth counter published —;
 * otherwise undone: the new leaves leave the directory (spare blocks back on their list, blocks
 * of carved pages beyond the committed end dropped), the memory stays grown but uncommitted.
 */
function repairGrow(arena: Arena, from: number, to: number): void {
  const hdr = arena.hdr;
  const committed = Atomics.load(hdr, HDR_COMMITTED_PAGES);
  const firstLeaf = ((from - 1) >>> LEAF_SHIFT) + 1;
  const lastLeaf = (to - 1) >>> LEAF_SHIFT;
  if (committed === to) {
    Atomics.add(hdr, HDR_GROWTH, 1);
    arena.refresh();
    arena.endPage = to;
    return;
  }
  for (let leaf = lastLeaf; leaf >= firstLeaf; leaf--) {
    const index = arena.u32[arena.leafDir + leaf]!;
    if (index === 0) continue;
    arena.u32[arena.leafDir + leaf] = 0;
    // A spare block below the committed end goes back to its page; a carved page's block is dropped.
    if (index * 4 < committed * PAGE_SIZE) repairMetaBlock(arena, index * 4, META_LEAF_SHIFT);
  }
}

/**
 * Rebuilds the free runs from the page map: every maximal range of free pages becomes one free
 * run (interior pages plain TIER_FREE, boundary tags, in its bin), the bins, bitmaps, free-run
 * count and pages by tier are recomputed. Allocated runs are read from their heads. O(pages).
 */
export function arenaRebuildFreeRuns(arena: Arena): void {
  const hdr = arena.hdr;
  const u32 = arena.u32;
  for (let bin = 0; bin < BIN_COUNT; bin++) hdr[HDR_BIN_HEADS + bin] = 0;
  for (let w = 0; w < BIN_BITMAP_WORDS; w++) hdr[HDR_BIN_BITMAP + w] = 0;
  for (let w = 0; w < BIN_SUMMARY_WORDS; w++) hdr[HDR_BIN_SUMMARY + w] = 0;
  for (let tier = 0; tier < TIER_COUNT; tier++) hdr[HDR_PAGES_BY_TIER + tier] = 0;
  hdr[HDR_FREE_RUNS] = 0;
  const end = arena.endPage;
  const isFree = (page: number) => (u32[arena.entryOf(page) + PM_TIER]! & PM_TIER_MASK) === TIER_FREE;
  for (let page = arena.basePage; page < end; ) {
    const e = arena.entryOf(page);
    const word = u32[e + PM_TIER]!;
    const tier = word & PM_TIER_MASK;
    if (tier !== TIER_FREE) {
      const pages = u32[e + PM_RUN_PAGES]!;
      if ((word & PM_FLAG_HEAD) === 0 || pages < 1 || page + pages > end) {
        throw new HakmemError(
          'ERR_HEAP_CORRUPTED',
          `repair: page ${page} (tier word ${word}, length ${pages}) heads no run, beyond what an intent record can repair`,
        );
      }
      hdr[HDR_PAGES_BY_TIER + tier]! += pages;
      page += pages;
      continue;
    }
    let last = page + 1;
    while (last < end && isFree(last)) last++;
    let pe = e;
    for (let p = page + 1; p < last; p++) {
      pe = (p & (LEAF_PAGES - 1)) === 0 ? arena.entryOf(p) : pe + PM_ENTRY_WORDS;
      u32[pe + PM_TIER] = TIER_FREE;
    }
    arenaTagFree(arena, page, last - page);
    binInsert(arena, page, last - page);
    hdr[HDR_PAGES_BY_TIER + TIER_FREE]! += last - page;
    page = last;
  }
}

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
  LEAF_BYTES,
  LEAF_PAGES,
  LEAF_SHIFT,
  META_LEAF_SHIFT,
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
 * Under the mutex taken over from a dead holder: finishes or undoes the update its intent record
 * names, then rebuilds the free runs, bins and counters from the page map. O(pages).
 */
export function arenaRepairLocked(arena: Arena): void {
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
    case INTENT_META_PAGE:
      metaUnlinkPage(arena, a, c);
      repairFreePages(arena, a, a + 1);
      break;
    case INTENT_META_POP: // undone: back on its list unless the pop did not happen
    case INTENT_META_PUSH: // finished: on its list unless the push completed
      if (hdr[HDR_META_HEADS + c - META_MIN_SHIFT]! >>> 0 !== a) metaPushRaw(arena, c, a);
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
  arenaRebuildFreeRuns(arena);
}

/** Pages [from, to) of the committed heap become free pages (the rebuild makes them runs). */
function repairFreePages(arena: Arena, from: number, to: number): void {
  const end = Math.min(to, arena.endPage);
  for (let page = Math.max(from, arena.basePage + 1); page < end; page++) {
    arena.u32[arena.entryOf(page) + PM_TIER] = TIER_FREE;
  }
}

function metaPushRaw(arena: Arena, shift: number, offset: number): void {
  const head = HDR_META_HEADS + shift - META_MIN_SHIFT;
  arena.u32[offset >>> 2] = arena.hdr[head]!;
  arena.hdr[head] = offset;
}

/** Unlinks every block of META page `page` from the free list of class `shift`. */
export function metaUnlinkPage(arena: Arena, page: number, shift: number): void {
  if (shift < META_MIN_SHIFT) return;
  const u32 = arena.u32;
  const head = HDR_META_HEADS + shift - META_MIN_SHIFT;
  let prev = -1;
  for (let block = arena.hdr[head]! >>> 0; block !== 0; ) {
    const next = u32[block >>> 2]!;
    if (Math.floor(block / PAGE_SIZE) === page) {
      if (prev < 0) arena.hdr[head] = next;
      else u32[prev >>> 2] = next;
    } else {
      prev = block;
    }
    block = next;
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
  const heads = HDR_META_HEADS + META_LEAF_SHIFT - META_MIN_SHIFT;
  if (committed === to) {
    Atomics.add(hdr, HDR_GROWTH, 1);
    arena.refresh();
    arena.endPage = to;
    const leaves = new Set<number>();
    for (let leaf = firstLeaf; leaf <= lastLeaf; leaf++) leaves.add(arena.u32[arena.leafDir + leaf]! * 4);
    const listed = new Set<number>();
    for (let block = hdr[heads]! >>> 0; block !== 0; block = arena.u32[block >>> 2]!) listed.add(block);
    for (let page = from; page < to; page++) {
      const e = arena.entryOf(page);
      if (arena.u32[e + PM_TIER] !== (TIER_META | PM_FLAG_HEAD) || arena.u32[e + PM_DESC] !== META_LEAF_SHIFT)
        continue;
      for (
        let block = page * PAGE_SIZE + PAGE_SIZE - LEAF_BYTES;
        block >= page * PAGE_SIZE;
        block -= LEAF_BYTES
      ) {
        if (!leaves.has(block) && !listed.has(block)) metaPushRaw(arena, META_LEAF_SHIFT, block);
      }
    }
    return;
  }
  // Last published first: a spare block still at the head of its list was never popped.
  for (let leaf = lastLeaf; leaf >= firstLeaf; leaf--) {
    const index = arena.u32[arena.leafDir + leaf]!;
    if (index === 0) continue;
    arena.u32[arena.leafDir + leaf] = 0;
    const block = index * 4;
    if (block < committed * PAGE_SIZE && hdr[heads]! >>> 0 !== block)
      metaPushRaw(arena, META_LEAF_SHIFT, block);
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

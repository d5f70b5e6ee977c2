/**
 * Figures of a heap for people and tools: stats() (counters from the header, the largest free
 * run from the bins, the arena mutex's statistics) and snapshot() (every run of the page map in
 * address order). Both take the arena mutex; the figures are exact when the heap is quiescent.
 */
import type { Arena } from './arena';
import { binFindLast, binLargest } from './bins';
import {
  EXACT_BINS,
  HDR_FREE_RUNS,
  HDR_GROWTHS,
  HDR_LOCK_STATS,
  HDR_META_BYTES,
  HDR_PAGES_BY_TIER,
  HDR_RUN_ALLOCS,
  HDR_RUN_FREES,
  HDR_THREAD_LIVE,
  HDR_TRIMS,
  PAGE_SIZE,
  PM_DESC,
  PM_RUN_PAGES,
  PM_TIER,
  PM_TIER_MASK,
  TIER_COUNT,
  TIER_FREE,
  TIER_META,
} from './layout';
import { metaDescClass } from './meta';
import { type LockStats, mutexStats } from './mutex';

/** One run of the page map, as returned by snapshot(). */
export interface ArenaRun {
  /** Byte offset of the run's first page. */
  offset: number;
  pages: number;
  /** Tier id (TIER_FREE, TIER_META, or an id from the tier directory). */
  tier: number;
  /** PM_DESC of the first page (0 for free runs; the metaAlloc class log2 for META pages). */
  desc: number;
}

/** Figures of the arena; exact when the heap is quiescent. */
export interface ArenaStats {
  committedBytes: number;
  maxBytes: number;
  base: number;
  /** Pages per tier id (index = TIER_FREE, TIER_META, then the directory's ids), up to the last id with pages. */
  pagesByTier: number[];
  freePages: number;
  freeRuns: number;
  largestFreeRunPages: number;
  /** Bytes handed out by metaAlloc (including the header and page-map leaves). */
  metaBytes: number;
  runAllocs: number;
  runFrees: number;
  growths: number;
  trims: number;
  /** Occupied thread slots. */
  threads: number;
  /** The arena mutex. */
  locks: LockStats;
}

/** Arena.stats. */
export function arenaStats(arena: Arena): ArenaStats {
  arena.lock();
  try {
    const hdr = arena.hdr;
    const pagesByTier: number[] = [];
    let top = TIER_META;
    for (let tier = 0; tier < TIER_COUNT; tier++) if (hdr[HDR_PAGES_BY_TIER + tier] !== 0) top = tier;
    for (let tier = 0; tier <= top; tier++) pagesByTier.push(hdr[HDR_PAGES_BY_TIER + tier]!);
    let largest = 0;
    const last = binFindLast(arena);
    if (last > 0)
      largest = last < EXACT_BINS ? last : arena.u32[arena.entryOf(binLargest(arena, last)) + PM_RUN_PAGES]!;
    return {
      committedBytes: arena.endPage * PAGE_SIZE,
      maxBytes: arena.maxBytes,
      base: arena.base,
      pagesByTier,
      freePages: pagesByTier[TIER_FREE]!,
      freeRuns: hdr[HDR_FREE_RUNS]!,
      largestFreeRunPages: largest,
      metaBytes: hdr[HDR_META_BYTES]! >>> 0,
      runAllocs: hdr[HDR_RUN_ALLOCS]! >>> 0,
      runFrees: hdr[HDR_RUN_FREES]! >>> 0,
      growths: hdr[HDR_GROWTHS]! >>> 0,
      trims: hdr[HDR_TRIMS]! >>> 0,
      threads: hdr[HDR_THREAD_LIVE]!,
      locks: mutexStats(hdr, HDR_LOCK_STATS),
    };
  } finally {
    arena.unlock();
  }
}

/** Arena.snapshot: every run of the page map in address order. */
export function arenaSnapshot(arena: Arena): ArenaRun[] {
  arena.lock();
  try {
    const runs: ArenaRun[] = [];
    for (let page = arena.basePage; page < arena.endPage; ) {
      const e = arena.entryOf(page);
      const tier = arena.u32[e + PM_TIER]! & PM_TIER_MASK;
      const pages = arena.u32[e + PM_RUN_PAGES]!;
      runs.push({
        offset: page * PAGE_SIZE,
        pages,
        tier,
        desc:
          tier === TIER_FREE
            ? 0
            : tier === TIER_META
              ? metaDescClass(arena.u32[e + PM_DESC]!)
              : arena.u32[e + PM_DESC]!,
      });
      if (pages === 0) break;
      page += pages;
    }
    return runs;
  } finally {
    arena.unlock();
  }
}

import { PM_DESC, PM_RUN_PAGES, PM_TIER } from '@hakmem/page-arena';
import type { BigTier } from './big-tier';
import { crashPoint } from './crash-point';
import {
  D_CACHED,
  R_INTENT,
  R_INTENT_BLOCKS,
  R_INTENT_BYTES,
  R_INTENT_COUNTERS,
  R_INTENT_PAGES,
  R_INTENT_RUN,
  R_RUNS,
} from './layout';
import { usableOf } from './size';

/**
 * The live-count intent record (layout.ts, "Crash consistency", live counters): a locked
 * operation that changes a run's liveness or usable bytes together with a counter pair opens it
 * before its first such store and closes it straight after the counters; the repair settles an
 * open one from the page map instead of recounting live runs that other threads' lock-free
 * thread caches change under it.
 */

/**
 * Opens the record (tier lock held): the pair at i32 index `counters` (blocks, then bytes) is
 * about to change with the run at `run` (0: an allocRun of `pages` pages not yet returned),
 * which counts `blocks` (0 or 1) of `bytes` usable bytes in it now. Operands first, R_INTENT last.
 */
export function intentBegin(
  t: BigTier,
  counters: number,
  run: number,
  pages: number,
  blocks: number,
  bytes: number,
  section: string,
): void {
  const i32 = t.arena.i32;
  const root = t.root;
  i32[root + R_INTENT_COUNTERS] = counters;
  i32[root + R_INTENT_RUN] = run;
  i32[root + R_INTENT_PAGES] = pages;
  i32[root + R_INTENT_BLOCKS] = (i32[counters]! - blocks) | 0;
  i32[root + R_INTENT_BYTES] = (i32[counters + 1]! - bytes) | 0;
  if (__DEV__) crashPoint(section);
  i32[root + R_INTENT] = 1;
}

/** An allocRun opened with run 0 returned `run` (straight after it: R_RUNS counts it in the same line), or nothing (the record closes). */
export function intentAllocated(t: BigTier, run: number): void {
  const i32 = t.arena.i32;
  const root = t.root;
  if (run === 0) {
    i32[root + R_INTENT] = 0;
    return;
  }
  i32[root + R_INTENT_RUN] = run;
  i32[root + R_RUNS]!++;
}

/** Closes the record (the counters are stored). */
export function intentEnd(t: BigTier): void {
  t.arena.i32[t.root + R_INTENT] = 0;
}

/**
 * Repair (tier lock held, the last holder died inside, the page map settled by the arena):
 * an open record's counter pair becomes its saved values plus the run's contribution now — one
 * block of usableOf(PM_DESC, pages) when it heads a live run of this tier, else none; an
 * allocRun not yet returned made its run (PM_DESC 0) iff the page map holds `tierRuns` =
 * R_RUNS + 1 runs of this tier. Then the record is closed. Without one the counters stay.
 */
export function intentRepairLocked(t: BigTier, tierRuns: number): void {
  const arena = t.arena;
  const i32 = arena.i32;
  const root = t.root;
  if (i32[root + R_INTENT] === 0) return;
  const counters = i32[root + R_INTENT_COUNTERS]!;
  const run = i32[root + R_INTENT_RUN]! >>> 0;
  let blocks = i32[root + R_INTENT_BLOCKS]!;
  let bytes = i32[root + R_INTENT_BYTES]!;
  if (run !== 0) {
    const e = (run & 0xffff) === 0 ? arena.pageEntry(run) : -1;
    const u32 = arena.u32;
    if (e >= 0 && u32[e + PM_TIER] === t.tierWord && (u32[e + PM_DESC]! & D_CACHED) === 0) {
      blocks++;
      bytes += usableOf(u32[e + PM_DESC]!, u32[e + PM_RUN_PAGES]!);
    }
  } else if (tierRuns === ((i32[root + R_RUNS]! + 1) | 0)) {
    blocks++;
    bytes += i32[root + R_INTENT_PAGES]! * 65536;
  }
  const out = arena.i32;
  out[counters] = blocks | 0;
  out[counters + 1] = bytes | 0;
  out[root + R_INTENT] = 0;
}

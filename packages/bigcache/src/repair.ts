import type { BigTier } from './big-tier';
import { cacheEvictOver, cacheLink } from './cache';
import { crashPoint } from './crash-point';
import { intentRepairLocked } from './intent';
import {
  BUCKET_WORDS,
  BUCKETS,
  C_NEXT,
  C_NODES,
  D_CACHED,
  N_NEXT,
  N_PAGES,
  N_RUN,
  N_STAMP,
  N_STATE,
  NODE_FREE,
  NODE_WORDS,
  R_AGE_HEAD,
  R_AGE_TAIL,
  R_BITMAP,
  R_BUCKETS,
  R_CACHED_PAGES,
  R_CACHED_RUNS,
  R_CHUNK_COUNT,
  R_CHUNKS,
  R_CLOCK,
  R_EVICTIONS,
  R_NODE_FREE,
  R_NODES,
  R_REPAIRS,
  R_RESERVED,
  R_RUNS,
} from './layout';
import { isLocalDesc, localSums } from './local';

/**
 * Rebuilds the cache from the page map (tier lock held) after a thread died inside the
 * critical section: the page map is the truth (a run of this tier is cached iff its PM_DESC
 * names a node), so every list and counter is recomputed from it. A node is kept when its run
 * still names it and it still describes that run (RUN and PAGES are written before PM_DESC
 * publishes a node, and stay while a taken node waits on the free list), in age order;
 * every other node goes to the free list. A run whose PM_DESC names no such node was being
 * evicted or cut: it goes back to the arena. Runs the dead thread held live stay live. The live
 * counters are not recounted (other threads' thread caches change liveness without the lock):
 * the dead holder's open intent record, if any, is settled. Then the byte bound holds again (the
 * dead thread may have died before its evictions). Runs in thread caches stay there (their
 * threads own them; reclaim takes a dead thread's).
 */
export function bigRepairLocked(t: BigTier): void {
  const arena = t.arena;
  const root = t.root;
  const runs = arena.snapshot();
  const i32 = arena.i32;
  // The chunk list is the truth for the node pool (a thread may have died after publishing a
  // chunk and before counting it).
  const slots = new Set<number>();
  const seen = new Set<number>();
  for (let c = i32[root + R_CHUNKS]!; c > 0 && !seen.has(c); c = i32[c + C_NEXT]!) {
    seen.add(c);
    const count = i32[c + C_NODES]!;
    for (let j = 1; j <= count; j++) slots.add(c + j * NODE_WORDS);
  }
  i32[root + R_CHUNK_COUNT] = seen.size;
  i32[root + R_NODES] = slots.size;
  const kept: number[] = [];
  const claimed = new Set<number>();
  const strays: number[] = [];
  let tierRuns = 0;
  for (const run of runs) {
    if (run.tier !== t.id) continue;
    tierRuns++;
    // A live run, or a thread cache's (it stays there): other threads' lock-free takes and puts
    // flip these under this loop, so the live counters are not recounted here (intent.ts).
    if ((run.desc & D_CACHED) === 0 || isLocalDesc(run.desc)) continue;
    const n = run.desc >>> 2;
    if (
      slots.has(n) &&
      !claimed.has(n) &&
      i32[n + N_RUN]! >>> 0 === run.offset &&
      i32[n + N_PAGES] === run.pages &&
      run.pages <= t.capPages
    ) {
      claimed.add(n);
      kept.push(n);
    } else {
      strays.push(run.offset);
    }
  }
  const clock = i32[root + R_CLOCK]!;
  kept.sort((a, b) => ((i32[a + N_STAMP]! - clock) | 0) - ((i32[b + N_STAMP]! - clock) | 0));
  for (let w = 0; w < BUCKET_WORDS; w++) i32[root + R_BITMAP + w] = 0;
  for (let b = 0; b < BUCKETS; b++) i32[root + R_BUCKETS + b] = 0;
  i32[root + R_AGE_HEAD] = 0;
  i32[root + R_AGE_TAIL] = 0;
  i32[root + R_NODE_FREE] = 0;
  for (const n of slots) {
    if (claimed.has(n)) continue;
    i32[n + N_STATE] = NODE_FREE;
    i32[n + N_NEXT] = i32[root + R_NODE_FREE]!;
    i32[root + R_NODE_FREE] = n;
  }
  let cachedPages = 0;
  for (const n of kept) {
    const pages = i32[n + N_PAGES]!;
    cacheLink(i32, root, n, i32[n + N_RUN]!, pages, i32[n + N_STAMP]!);
    cachedPages += pages;
  }
  i32[root + R_CACHED_PAGES] = cachedPages;
  i32[root + R_CACHED_RUNS] = kept.length;
  // The live counters: exact unless the dead holder left its intent record open.
  intentRepairLocked(t, tierRuns);
  i32[root + R_RUNS] = tierRuns;
  i32[root + R_RESERVED] = localSums(t).reserved;
  i32[root + R_REPAIRS]!++;
  for (const run of strays) {
    if (__DEV__) crashPoint('repair');
    arena.freeRun(run);
    arena.i32[root + R_RUNS]!--;
    arena.i32[root + R_EVICTIONS]!++;
  }
  // A thread that died between linking a run and evicting for it left the cache over its bound.
  cacheEvictOver(t);
}

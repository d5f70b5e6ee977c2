import { HakmemError, type LockStats, mutexStats, PAGE_SIZE } from '@hakmem/page-arena';
import type { BigTier } from './big-tier';
import {
  BUCKETS,
  C_NEXT,
  C_NODES,
  D_CACHED,
  N_NEWER,
  N_NEXT,
  N_OLDER,
  N_PAGES,
  N_PREV,
  N_RUN,
  N_STAMP,
  N_STATE,
  NODE_CACHED,
  NODE_FREE,
  NODE_WORDS,
  R_AGE_HEAD,
  R_AGE_TAIL,
  R_BITMAP,
  R_BUCKETS,
  R_BUSY,
  R_CACHED_PAGES,
  R_CACHED_RUNS,
  R_CHUNK_COUNT,
  R_CHUNKS,
  R_CLOCK,
  R_EVICTIONS,
  R_HITS,
  R_INTENT,
  R_INTENT_RUN,
  R_LIVE_BLOCKS,
  R_LIVE_BYTES,
  R_LOCK_STATS,
  R_MISSES,
  R_NODE_FREE,
  R_NODES,
  R_REPAIRS,
  R_RESERVED,
  R_RUNS,
} from './layout';
import { isLocalDesc, localAreas, localMarker, localReserved, localSlotsOf, localSums } from './local';
import { bucketOf, usableOf } from './size';

/** Heap-wide figures of the big tier (exact: read under the tier lock). */
export interface BigStats {
  /** Live blocks (runs handed out and not freed). */
  liveBlocks: number;
  /** Σ usableSize of the live blocks. */
  liveBytes: number;
  /** Mallocs served from the cache. */
  hits: number;
  /** Mallocs that took a new run from the arena. */
  misses: number;
  /** Cached runs given back to the arena (age, byte bound, memory pressure, trim, resize). */
  evictions: number;
  /** Bytes of the runs in the cache (shared and thread caches). */
  cachedBytes: number;
  /** Runs in the cache (shared and thread caches). */
  cachedRuns: number;
  /** Of those, the runs in thread caches (each thread's own mallocs take them without a lock). */
  threadCachedRuns: number;
  /** Bytes of the runs in thread caches. */
  threadCachedBytes: number;
  /** The cache's byte bound (maxBytes / 8). */
  capacityBytes: number;
  /** Rebuilds after a thread died inside the tier's critical section. */
  repairs: number;
  /** The tier lock: acquisitions, contended acquisitions, waits. */
  locks: LockStats;
}

function corrupted(rule: string): HakmemError {
  return new HakmemError('ERR_HEAP_CORRUPTED', `big tier: ${rule}`);
}

/** The counters of the root and the thread caches (tier lock held; other threads' caches are exact when those threads are quiescent). */
export function bigStatsLocked(t: BigTier): BigStats {
  const sums = localSums(t);
  const i32 = t.arena.i32;
  const root = t.root;
  return {
    liveBlocks: (i32[root + R_LIVE_BLOCKS]! + sums.liveBlocks) | 0,
    liveBytes: (i32[root + R_LIVE_BYTES]! + sums.liveBytes) >>> 0,
    hits: (i32[root + R_HITS]! + sums.hits) >>> 0,
    misses: i32[root + R_MISSES]! >>> 0,
    evictions: i32[root + R_EVICTIONS]! >>> 0,
    cachedBytes: (i32[root + R_CACHED_PAGES]! + sums.pages) * PAGE_SIZE,
    cachedRuns: i32[root + R_CACHED_RUNS]! + sums.runs,
    threadCachedRuns: sums.runs,
    threadCachedBytes: sums.pages * PAGE_SIZE,
    capacityBytes: t.capPages * PAGE_SIZE,
    repairs: i32[root + R_REPAIRS]! >>> 0,
    locks: mutexStats(i32, root + R_LOCK_STATS),
  };
}

/**
 * Walks the chunks, every bucket, the age list, the free node list and the page map's runs of
 * this tier (tier lock held); ERR_HEAP_CORRUPTED naming the first broken invariant of layout.ts.
 */
export function bigCheckLocked(t: BigTier): void {
  const arena = t.arena;
  const root = t.root;
  const runs = arena.snapshot();
  const i32 = arena.i32;
  if (i32[root + R_BUSY] !== t.threadId) {
    throw corrupted(
      `R_BUSY is ${i32[root + R_BUSY]} while thread ${t.threadId} holds the lock (invariant 1)`,
    );
  }
  if (i32[root + R_INTENT] !== 0) {
    throw corrupted(
      `the live-count intent record is open (run ${i32[root + R_INTENT_RUN]! >>> 0}) outside an operation (invariant 1)`,
    );
  }
  // Chunks: every node slot.
  const slots = new Set<number>();
  const chunkCount = i32[root + R_CHUNK_COUNT]!;
  let chunks = 0;
  for (let c = i32[root + R_CHUNKS]!; c !== 0; c = i32[c + C_NEXT]!) {
    if (!(c > 0) || c * 4 >= arena.viewBytes || ++chunks > chunkCount) {
      throw corrupted(
        `the chunk list has more than R_CHUNK_COUNT = ${chunkCount} chunks or leaves the memory at ${c * 4}`,
      );
    }
    const count = i32[c + C_NODES]!;
    for (let j = 1; j <= count; j++) slots.add(c + j * NODE_WORDS);
  }
  if (chunks !== chunkCount || slots.size !== i32[root + R_NODES]) {
    throw corrupted(
      `${chunks} chunks of ${slots.size} nodes, but the root counts ${chunkCount} chunks of ${i32[root + R_NODES]} nodes (invariant 5)`,
    );
  }
  // Buckets (invariant 2).
  const cached = new Set<number>();
  let cachedPages = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const head = i32[root + R_BUCKETS + b]!;
    const bit = (i32[root + R_BITMAP + (b >>> 5)]! >>> (b & 31)) & 1;
    if (bit !== (head !== 0 ? 1 : 0)) {
      throw corrupted(
        `bitmap bit of bucket ${b} is ${bit} but the bucket is ${head !== 0 ? 'non-empty' : 'empty'} (invariant 2)`,
      );
    }
    let prev = 0;
    for (let n = head; n !== 0; n = i32[n + N_NEXT]!) {
      if (!slots.has(n))
        throw corrupted(`bucket ${b} links ${n * 4}, which is no node of a chunk (invariant 2)`);
      if (cached.has(n)) throw corrupted(`node ${n * 4} is linked twice in the buckets (invariant 2)`);
      if (i32[n + N_STATE] !== NODE_CACHED)
        throw corrupted(`node ${n * 4} in bucket ${b} is not CACHED (invariant 2)`);
      if (i32[n + N_PREV] !== prev)
        throw corrupted(`node ${n * 4} of bucket ${b}: PREV is not its predecessor (invariant 2)`);
      const pages = i32[n + N_PAGES]!;
      if (!(pages >= 1 && pages <= 65535) || bucketOf(pages) !== b) {
        throw corrupted(
          `node ${n * 4} holds a run of ${pages} pages, which is not in bucket ${b} (invariant 2)`,
        );
      }
      cached.add(n);
      cachedPages += pages;
      prev = n;
    }
  }
  // Age list (invariant 3).
  const clock = i32[root + R_CLOCK]!;
  let older = 0;
  let lastAge = Number.POSITIVE_INFINITY;
  let aged = 0;
  for (let n = i32[root + R_AGE_HEAD]!; n !== 0; n = i32[n + N_NEWER]!) {
    if (!cached.has(n) || ++aged > cached.size) {
      throw corrupted(`the age list reaches ${n * 4}, which is not a bucketed node (or loops) (invariant 3)`);
    }
    if (i32[n + N_OLDER] !== older)
      throw corrupted(`node ${n * 4}: OLDER is not its predecessor in the age list (invariant 3)`);
    const age = (clock - i32[n + N_STAMP]!) | 0;
    if (age > lastAge || age < 0)
      throw corrupted(`node ${n * 4} (age ${age}) is out of age order (invariant 3)`);
    lastAge = age;
    older = n;
  }
  if (aged !== cached.size || i32[root + R_AGE_TAIL] !== older) {
    throw corrupted(
      `the age list holds ${aged} nodes ending at ${older * 4}, the buckets ${cached.size} (invariant 3)`,
    );
  }
  // Free nodes (invariant 5).
  let free = 0;
  for (let n = i32[root + R_NODE_FREE]!; n !== 0; n = i32[n + N_NEXT]!) {
    if (!slots.has(n) || cached.has(n) || ++free > slots.size) {
      throw corrupted(
        `the free node list reaches ${n * 4}, which is no free node of a chunk (or loops) (invariant 5)`,
      );
    }
    if (i32[n + N_STATE] !== NODE_FREE) throw corrupted(`free node ${n * 4} is not FREE (invariant 5)`);
  }
  if (free + cached.size !== slots.size) {
    throw corrupted(
      `${free} free + ${cached.size} cached nodes, but the chunks hold ${slots.size} (invariant 5)`,
    );
  }
  // Thread caches (invariant 7).
  const local = new Map<number, number>(); // run offset → PM_DESC its slot expects
  let reserved = 0;
  for (const [tid, a] of localAreas(t)) {
    const { runs: slotRuns, problem } = localSlotsOf(t, a);
    if (problem !== '') throw corrupted(`thread ${tid}'s cache: ${problem} (invariant 7)`);
    for (const [run, pages] of slotRuns) {
      if (local.has(run) || cached.has(run))
        throw corrupted(`the run at ${run} is in two caches (invariant 7)`);
      local.set(run, localMarker(tid) + pages * 2 ** 32);
    }
    reserved += localReserved(i32, a);
  }
  if (reserved !== i32[root + R_RESERVED]) {
    throw corrupted(
      `the thread caches reserve ${reserved} pages, R_RESERVED counts ${i32[root + R_RESERVED]} (invariant 7)`,
    );
  }
  // The page map (invariants 4, 6 and 7).
  let liveBlocks = 0;
  let liveBytes = 0;
  let named = 0;
  let localNamed = 0;
  let tierRuns = 0;
  for (const run of runs) {
    if (run.tier !== t.id) continue;
    tierRuns++;
    if (isLocalDesc(run.desc)) {
      if (local.get(run.offset) !== run.desc + run.pages * 2 ** 32) {
        throw corrupted(
          `the run at ${run.offset} (${run.pages} pages) says it is in thread ${run.desc >>> 2}'s cache, which does not hold it (invariant 7)`,
        );
      }
      localNamed++;
      continue;
    }
    if ((run.desc & D_CACHED) === 0) {
      liveBlocks++;
      liveBytes += usableOf(run.desc, run.pages);
      continue;
    }
    const n = run.desc >>> 2;
    if (!cached.has(n) || i32[n + N_RUN]! >>> 0 !== run.offset || i32[n + N_PAGES] !== run.pages) {
      throw corrupted(
        `the run at ${run.offset} (${run.pages} pages) says it is cached in node ${n * 4}, which does not hold it (invariant 4)`,
      );
    }
    named++;
  }
  if (localNamed !== local.size) {
    throw corrupted(
      `${local.size} runs in thread caches but ${localNamed} such runs in the page map (invariant 7)`,
    );
  }
  if (named !== cached.size) {
    throw corrupted(`${cached.size} cached nodes but ${named} cached runs in the page map (invariant 4)`);
  }
  if (cachedPages !== i32[root + R_CACHED_PAGES] || cached.size !== i32[root + R_CACHED_RUNS]) {
    throw corrupted(
      `the cache holds ${cached.size} runs of ${cachedPages} pages, the root counts ${i32[root + R_CACHED_RUNS]} of ${i32[root + R_CACHED_PAGES]} (invariant 6)`,
    );
  }
  if (cachedPages + reserved > t.capPages) {
    throw corrupted(
      `the cache holds ${cachedPages} pages and the thread caches reserve ${reserved}, above the bound of ${t.capPages} (invariant 6)`,
    );
  }
  if (tierRuns !== i32[root + R_RUNS]) {
    throw corrupted(
      `the page map holds ${tierRuns} runs of this tier, R_RUNS counts ${i32[root + R_RUNS]} (invariant 6)`,
    );
  }
  const sums = localSums(t);
  const rootBlocks = (i32[root + R_LIVE_BLOCKS]! + sums.liveBlocks) | 0;
  const rootBytes = (i32[root + R_LIVE_BYTES]! + sums.liveBytes) >>> 0;
  if (liveBlocks !== rootBlocks || liveBytes % 2 ** 32 !== rootBytes) {
    throw corrupted(
      `the page map holds ${liveBlocks} live runs of ${liveBytes} usable bytes, the root and the thread caches count ${rootBlocks} of ${rootBytes} (invariant 6)`,
    );
  }
}

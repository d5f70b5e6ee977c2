import { type Arena, HakmemError, mutexLock, mutexUnlock } from '@hakmem/page-arena';
import { crashPoint } from './crash-point';
import type { L25Tier } from './l25-tier';
import { R, SH_WORDS, SHARD_CHUNK0_SHIFT, SHARD_DIR_WORDS, Sh } from './layout';

/**
 * The shard directory: chunk k holds 4 << k shards and is never freed or moved, so a shard's i32
 * index is stable for the heap's life. Its lock words are not registered with the arena (see
 * layout.ts, "Crash consistency"): a reclaim takes a dead holder's lock over in place.
 * Shard i is the home shard of thread id i + 1: the set grows with the threads that use the tier.
 */

/** Shards in chunks 0 … k − 1. */
export function shardsBelow(k: number): number {
  return ((1 << k) - 1) << SHARD_CHUNK0_SHIFT;
}

function chunkOf(index: number): number {
  return 31 - Math.clz32((index >>> SHARD_CHUNK0_SHIFT) + 1);
}

/** i32 index of shard `index`, 0 while its chunk does not exist. */
export function shardAt(arena: Arena, root: number, index: number): number {
  const k = chunkOf(index);
  const chunk = Atomics.load(arena.i32, root + R.ShardDir + k);
  return chunk === 0 ? 0 : chunk + (index - shardsBelow(k)) * SH_WORDS;
}

/** Shard indexes that may exist: 0 … shardRange − 1 (some chunks may be missing). */
export function shardRange(arena: Arena, root: number): number {
  return shardsBelow(Atomics.load(arena.i32, root + R.ChunkHigh));
}

/** i32 index of shard `index`, creating its chunk (under the directory lock) when missing. */
export function shardEnsure(t: L25Tier, index: number): number {
  const arena = t.arena;
  const root = t.root;
  const found = shardAt(arena, root, index);
  if (found !== 0) return found;
  const k = chunkOf(index);
  if (k >= SHARD_DIR_WORDS) {
    throw new HakmemError('ERR_OUT_OF_MEMORY', `l25: shard ${index} is beyond the shard directory`);
  }
  mutexLock(arena.i32, root + R.DirLock, t.threadId, root + R.DirLockStats);
  try {
    arena.refresh();
    if (Atomics.load(arena.i32, root + R.ShardDir + k) === 0) {
      const count = 1 << (k + SHARD_CHUNK0_SHIFT);
      if (__DEV__) crashPoint('chunk');
      const offset = arena.metaAlloc(count * SH_WORDS * 4);
      if (offset === 0) {
        throw new HakmemError(
          'ERR_OUT_OF_MEMORY',
          `l25: no room for ${count} more shards (thread ${t.threadId}) within maxBytes ${arena.maxBytes}`,
        );
      }
      // Intent record (straight line after the call): a chunk made, not yet published.
      arena.i32[root + R.NewChunk] = offset;
      const chunk = offset >>> 2;
      const first = shardsBelow(k);
      for (let j = 0; j < count; j++) {
        if (__DEV__) crashPoint('chunk');
        arena.i32[chunk + j * SH_WORDS + Sh.Index] = first + j;
      }
      if (__DEV__) crashPoint('chunk');
      // Published, then the record cleared (a termination between the two: the repair sees the
      // chunk published and only clears the record).
      Atomics.store(arena.i32, root + R.ShardDir + k, chunk);
      arena.i32[root + R.NewChunk] = 0;
      if (__DEV__) crashPoint('chunk');
      if (Atomics.load(arena.i32, root + R.ChunkHigh) < k + 1)
        Atomics.store(arena.i32, root + R.ChunkHigh, k + 1);
    }
  } finally {
    mutexUnlock(arena.i32, root + R.DirLock);
  }
  return shardAt(arena, root, index);
}

/** Takes shard `sh`'s lock, then refreshes the views (spans published under it may lie in grown memory). */
export function shardLock(t: L25Tier, sh: number): void {
  const arena = t.arena;
  arena.refresh();
  mutexLock(arena.i32, sh + Sh.Lock, t.threadId, sh + Sh.LockStats);
  arena.refresh();
}

export function shardUnlock(t: L25Tier, sh: number): void {
  mutexUnlock(t.arena.i32, sh + Sh.Lock);
}

/** The owner bits of a mutexLock word (the top bit is its waiters flag). */
const LOCK_OWNER_MASK = 0x7fffffff;

/**
 * Reclaim: takes over in place the lock at i32 index `index` when dead thread `deadThreadId`
 * holds it (one CAS from its id to ours, waiters flag kept); true when it did. The lock is not
 * registered with the arena, so no live thread ran on what the dead one left half-done.
 */
export function lockTakeOver(t: L25Tier, index: number, deadThreadId: number): boolean {
  const i32 = t.arena.i32;
  for (;;) {
    const word = Atomics.load(i32, index);
    if (word === 0 || (word & LOCK_OWNER_MASK) !== deadThreadId) return false;
    if (Atomics.compareExchange(i32, index, word, (word & ~LOCK_OWNER_MASK) | t.threadId) === word) {
      t.arena.refresh();
      return true;
    }
  }
}

/**
 * Reclaim, directory lock taken (over): a chunk the dead thread made but did not publish
 * (R.NewChunk) goes back to metaAlloc; published, the record is only cleared.
 */
export function dirFinishIntent(t: L25Tier): void {
  const arena = t.arena;
  const i32 = arena.i32;
  const offset = i32[t.root + R.NewChunk]! >>> 0;
  if (offset === 0) return;
  let published = false;
  let high = 0;
  for (let k = 0; k < SHARD_DIR_WORDS; k++) {
    const chunk = i32[t.root + R.ShardDir + k]!;
    if (chunk !== 0) high = k + 1;
    if (chunk === offset >>> 2) published = true;
  }
  // Published but ChunkHigh not raised yet: raised here.
  if (Atomics.load(i32, t.root + R.ChunkHigh) < high) Atomics.store(i32, t.root + R.ChunkHigh, high);
  i32[t.root + R.NewChunk] = 0;
  if (!published) arena.metaFree(offset);
}

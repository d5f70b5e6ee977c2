import { type Arena, HakmemError, mutexLock, mutexUnlock } from '@hakmem/page-arena';
import type { L25Tier } from './l25-tier';
import { R, SH_WORDS, SHARD_CHUNK0_SHIFT, SHARD_DIR_WORDS, Sh } from './layout';

/**
 * The shard directory: chunk k holds 4 << k shards and is never freed or moved (its lock words
 * are registered with the arena once), so a shard's i32 index is stable for the heap's life.
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
      const offset = arena.metaAlloc(count * SH_WORDS * 4);
      if (offset === 0) {
        throw new HakmemError(
          'ERR_OUT_OF_MEMORY',
          `l25: no room for ${count} more shards (thread ${t.threadId}) within maxBytes ${arena.maxBytes}`,
        );
      }
      const chunk = offset >>> 2;
      const first = shardsBelow(k);
      for (let j = 0; j < count; j++) {
        const sh = chunk + j * SH_WORDS;
        arena.i32[sh + Sh.Index] = first + j;
        // So arena.breakLocksOf frees a shard lock a terminated worker held.
        arena.registerLock(sh + Sh.Lock);
      }
      Atomics.store(arena.i32, root + R.ShardDir + k, chunk);
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

import { mutexUnlock } from '@hakmem/page-arena';
import type { L25Tier } from './l25-tier';
import { Bs, List, R, Sh, Sp } from './layout';
import { dirFinishIntent, lockTakeOver, shardAt, shardRange } from './shards';
import { L25_CLASS_COUNT } from './size-classes';

/**
 * Reclaim, first step: every l25 lock the dead thread held is taken over in place (it is not
 * registered with the arena, so nobody ran on its half-done section), what it protects is
 * repaired, and it is unlocked; then every thread asleep on any l25 lock is woken (a thread
 * terminated right after an unlock woke it took that wakeup with it: the others would sleep on a
 * free lock for good). See layout.ts, "Crash consistency".
 */
export function locksReclaim(t: L25Tier, deadThreadId: number): void {
  const arena = t.arena;
  arena.refresh();
  const dir = t.root + R.DirLock;
  if (lockTakeOver(t, dir, deadThreadId)) {
    try {
      dirFinishIntent(t);
    } finally {
      mutexUnlock(arena.i32, dir);
    }
  }
  Atomics.notify(arena.i32, dir);
  const total = shardRange(arena, t.root);
  for (let index = 0; index < total; index++) {
    const sh = shardAt(arena, t.root, index);
    if (sh === 0) continue;
    if (lockTakeOver(t, sh + Sh.Lock, deadThreadId)) {
      try {
        shardRepair(t, sh);
      } finally {
        mutexUnlock(arena.i32, sh + Sh.Lock);
      }
    }
    Atomics.notify(arena.i32, sh + Sh.Lock);
  }
}

/**
 * Under shard `sh`'s lock (taken over from a dead holder): rebuilds what the lock protects from
 * the registry (which spans exist: spanRegister and spanUnregister are straight-line) and each
 * span's words — strict: the free stack, Top and Used from the block states; fast: Used =
 * Carved − Top — then the lists (a span with no block out on the empty list, re-carved fresh:
 * Carved = Top = 0; one with a free block on its class's partial list) and the shard's counts.
 */
export function shardRepair(t: L25Tier, sh: number): void {
  const i32 = t.arena.i32;
  i32[sh + Sh.Empty] = 0;
  for (let c = 0; c < L25_CLASS_COUNT; c++) i32[sh + Sh.Partial + c] = 0;
  let count = 0;
  let pages = 0;
  let emptyPages = 0;
  let prev = 0;
  for (let d = i32[sh + Sh.Spans]!; d !== 0; d = i32[d + Sp.RNext]!) {
    i32[d + Sp.RPrev] = prev;
    prev = d;
    count++;
    const blocks = i32[d + Sp.Blocks]!;
    const carved = i32[d + Sp.Carved]!;
    const stack = d + Sp.Header + blocks;
    let top = i32[d + Sp.Top]!;
    if (t.strict) {
      top = 0;
      for (let idx = 0; idx < carved; idx++)
        if (i32[d + Sp.Header + idx] === Bs.Free) i32[stack + top++] = idx;
      i32[d + Sp.Top] = top;
    }
    const used = carved - top;
    i32[d + Sp.Used] = used;
    const p = i32[d + Sp.Pages]!;
    pages += p;
    let list = List.None;
    let headIndex = 0;
    if (used === 0) {
      // Every block is free: a fresh span (states and stack zero).
      i32[d + Sp.Carved] = 0;
      i32[d + Sp.Top] = 0;
      i32.fill(0, d + Sp.Header, stack + blocks);
      emptyPages += p;
      list = List.Empty;
      headIndex = sh + Sh.Empty;
    } else if (top > 0 || carved < blocks) {
      list = List.Partial;
      headIndex = sh + Sh.Partial + i32[d + Sp.Class]!;
    }
    if (list === List.None) {
      i32[d + Sp.Next] = 0;
      i32[d + Sp.Prev] = 0;
    } else {
      const head = i32[headIndex]!;
      i32[d + Sp.Next] = head;
      i32[d + Sp.Prev] = 0;
      if (head !== 0) i32[head + Sp.Prev] = d;
      i32[headIndex] = d;
    }
    i32[d + Sp.List] = list;
  }
  i32[sh + Sh.SpanCount] = count;
  i32[sh + Sh.Pages] = pages;
  i32[sh + Sh.EmptyPages] = emptyPages;
}

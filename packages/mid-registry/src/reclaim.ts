/**
 * Spans coming back from threads that left or died, and empty spans going back to the arena:
 * reclaim (a terminated worker) and trim.
 */
import { PM_DESC, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';
import { crashPoint } from './crash-point';
import {
  R_ABANDONED,
  R_LOCK,
  SP_BITMAP,
  SP_CAP,
  SP_CARVED,
  SP_CLASS,
  SP_COLLECT,
  SP_FREE,
  SP_NEXT,
  SP_OWNER,
  SP_START,
  SP_STATE,
  SP_USED,
  SPAN_DETACHED,
  TS_FREEING,
  TS_FULL_COUNT,
  TS_REFILL_COUNT,
  TS_REFILL_HEAD,
  TW_SPANS,
} from './layout';
import { midRepair, registrySpans, spanReclaimOrphans } from './registry';
import { MID_CLASS_COUNT, MID_CLASS_SIZE } from './size-classes';
import type { MidSpans } from './spans';

/**
 * Reclaim of a dead thread, step 1: this thread takes over every span the dead one owns (found
 * through the registry, so a list the dead thread left half-changed cannot hide one), and frees
 * the runs of any span it was creating or releasing when it died. Its cached blocks then come
 * back with `cacheRecover`; step 2 is `spansReclaimEnd`.
 */
export function spansReclaimBegin(s: MidSpans, deadThreadId: number): void {
  const arena = s.arena;
  arena.refresh();
  const found = s.taken;
  found.length = 0;
  // The tier mutex is not registered with the arena: a dead holder's is taken over in place
  // (nobody runs on a half-done section), and every reclaim repairs under it.
  spanLockFrom(s, deadThreadId);
  try {
    midRepair(s);
    for (const d of registrySpans(s)) {
      if (Atomics.load(arena.i32, d + SP_OWNER) === deadThreadId) found.push(d);
    }
    spanReclaimOrphans(s);
  } finally {
    s.spanUnlock();
  }
  const i32 = arena.i32;
  for (const d of found) {
    Atomics.compareExchange(i32, d + SP_OWNER, deadThreadId, s.threadId);
    i32[d + SP_STATE] = SPAN_DETACHED;
  }
  spansFinishIntents(s, deadThreadId);
}

/** The owner bits of a mutexLock word (the top bit is its waiters flag). */
const LOCK_OWNER_MASK = 0x7fffffff;

/** Takes the tier mutex: over from `deadThreadId` when it holds it (one CAS, waiters flag kept), else as usual. */
function spanLockFrom(s: MidSpans, deadThreadId: number): void {
  const i32 = s.arena.i32;
  const index = s.root + R_LOCK;
  for (;;) {
    const word = Atomics.load(i32, index);
    if (word === 0 || (word & LOCK_OWNER_MASK) !== deadThreadId) break;
    const mine = (word & ~LOCK_OWNER_MASK) | s.threadId;
    if (Atomics.compareExchange(i32, index, word, mine) === word) {
      s.arena.refresh();
      return;
    }
  }
  s.spanLock();
}

/**
 * Reclaim: the dead thread's intent records (its span area): a refill's chain goes back to its
 * spans (they are this thread's now, DETACHED), and a strict remote free that set its block's
 * remote bit but did not push it is undone (the block stays live: in flight).
 */
function spansFinishIntents(s: MidSpans, deadThreadId: number): void {
  const arena = s.arena;
  const words = arena.threadTierWords(s.tier, deadThreadId);
  const offset = words === 0 ? 0 : Atomics.load(arena.i32, words + TW_SPANS) >>> 0;
  if (offset === 0) return;
  const area = offset >>> 2;
  const count = arena.i32[area + TS_REFILL_COUNT]!;
  let p = arena.u32[area + TS_REFILL_HEAD]!;
  for (let i = 0; i < count && p !== 0; i++) {
    arena.refresh();
    const entry = arena.pageEntry(p);
    if (entry < 0 || (arena.u32[entry + PM_TIER]! & PM_TIER_MASK) !== s.tier) break;
    const cls = arena.i32[(arena.u32[entry + PM_DESC]! >>> 2) + SP_CLASS]!;
    const next = s.cacheRecover(cls, p, deadThreadId);
    if (next < 0) break;
    p = next;
  }
  arena.i32[area + TS_REFILL_COUNT] = 0;
  arena.i32[area + TS_REFILL_HEAD] = 0;
  const freeing = arena.u32[area + TS_FREEING]!;
  if (s.strict && freeing !== 0) {
    const entry = arena.pageEntry(freeing);
    const d = entry < 0 ? 0 : arena.u32[entry + PM_DESC]! >>> 2;
    const idx =
      d === 0 || (arena.u32[entry + PM_TIER]! & PM_TIER_MASK) !== s.tier ? -1 : s.spanBlockIndex(d, freeing);
    if (idx >= 0)
      Atomics.and(arena.i32, arena.i32[d + SP_BITMAP]! + ((idx >>> 5) << 1) + 1, ~(1 << (idx & 31)));
  }
  arena.i32[area + TS_FREEING] = 0;
}

/**
 * Reclaim, step 2: recounts each taken-over span (strict: from its alloc bitmap, so a batch the
 * dead thread was moving between its cache and a span comes back; fast: from its local list,
 * cut where a link is not a block), then gives it back to the arena (empty) or abandons it.
 * Blocks the dead thread held in flight stay counted as used. Frees the dead thread's area.
 */
export function spansReclaimEnd(s: MidSpans, deadThreadId: number): void {
  const arena = s.arena;
  arena.refresh();
  for (const d of s.taken) {
    spanRecoverCollect(s, d);
    if (s.strict) spanRebuildFromBitmap(s, d);
    else spanRecountLocal(s, d);
    s.spanLetGo(d);
  }
  s.taken.length = 0;
  s.spanFreeArea(deadThreadId);
}

/**
 * The dead thread died collecting span `d`'s remote list (SP_COLLECT names the chain it took):
 * every block of that chain was freed by another thread, so it is free — strict: both its bits
 * are cleared (the rebuild then lists it); fast: the chain joins the local list (the recount
 * then counts it). The chain's links are intact: the owner changes none before it publishes.
 */
function spanRecoverCollect(s: MidSpans, d: number): void {
  const i32 = s.arena.i32;
  const u32 = s.arena.u32;
  const head = i32[d + SP_COLLECT]! >>> 0;
  if (head === 0) return;
  const cap = i32[d + SP_CAP]!;
  const bitmap = i32[d + SP_BITMAP]!;
  let tail = 0;
  let n = 0;
  for (let p = head; p !== 0 && n < cap; p = u32[p >>> 2]!, n++) {
    const idx = s.spanBlockIndex(d, p);
    if (idx < 0) break;
    if (s.strict) {
      const w = bitmap + ((idx >>> 5) << 1);
      i32[w] = i32[w]! & ~(1 << (idx & 31));
      Atomics.and(i32, w + 1, ~(1 << (idx & 31)));
    }
    tail = p;
  }
  if (!s.strict && tail !== 0) {
    u32[tail >>> 2] = u32[d + SP_FREE]!;
    i32[d + SP_FREE] = head;
  }
  i32[d + SP_COLLECT] = 0;
}

/** Strict reclaim: the local list of span `d` becomes every carved block whose alloc bit is clear. */
function spanRebuildFromBitmap(s: MidSpans, d: number): void {
  const i32 = s.arena.i32;
  const u32 = s.arena.u32;
  const carved = i32[d + SP_CARVED]!;
  const size = MID_CLASS_SIZE[i32[d + SP_CLASS]!]!;
  const start = u32[d + SP_START]!;
  const bitmap = i32[d + SP_BITMAP]!;
  let head = 0;
  let used = 0;
  for (let idx = carved - 1; idx >= 0; idx--) {
    if ((i32[bitmap + ((idx >>> 5) << 1)]! & (1 << (idx & 31))) !== 0) {
      used++;
      continue;
    }
    const p = start + idx * size;
    u32[p >>> 2] = head;
    head = p;
  }
  i32[d + SP_FREE] = head;
  i32[d + SP_USED] = used;
}

/** Fast reclaim: span `d`'s local list is counted (and cut at a link that is no block of it); used = carved − free. */
function spanRecountLocal(s: MidSpans, d: number): void {
  const i32 = s.arena.i32;
  const u32 = s.arena.u32;
  const cap = i32[d + SP_CAP]!;
  let free = 0;
  let prev = 0;
  let p = u32[d + SP_FREE]!;
  while (p !== 0) {
    if (free >= cap || s.spanBlockIndex(d, p) < 0) {
      if (prev === 0) i32[d + SP_FREE] = 0;
      else u32[prev >>> 2] = 0;
      break;
    }
    free++;
    prev = p;
    p = u32[p >>> 2]!;
  }
  i32[d + SP_USED] = i32[d + SP_CARVED]! - free;
}

/**
 * Gives back what is not in use: this thread's empty spans (after collecting the remote frees of
 * its full ones) and abandoned spans whose blocks have all come back. Returns the bytes of spans
 * returned to the arena.
 */
export function spansTrim(s: MidSpans): number {
  const arena = s.arena;
  arena.refresh();
  const before = s.releasedBytes;
  if (s.area !== 0) {
    for (let cls = 0; cls < MID_CLASS_COUNT; cls++) {
      // Each found span moves to the partial list (count − 1 left), so this ends.
      while (spanScanAll(s, cls)) {}
    }
    s.spanReleaseKept();
  }
  const taken = s.taken;
  taken.length = 0;
  s.spanLock();
  try {
    const i32 = arena.i32;
    for (let cls = 0; cls < MID_CLASS_COUNT; cls++) {
      const headIndex = s.root + R_ABANDONED + cls;
      // Each span leaves the list owned by this thread (a reclaim finds it if this thread dies).
      for (let d = i32[headIndex]!; d !== 0; d = i32[headIndex]!) {
        // The owner first (decisive), then state and unlink (midRepair relists owner-0 spans only).
        if (__DEV__) crashPoint('trim');
        Atomics.compareExchange(i32, d + SP_OWNER, 0, s.threadId);
        i32[d + SP_STATE] = SPAN_DETACHED;
        if (__DEV__) crashPoint('trim');
        Atomics.store(i32, headIndex, i32[d + SP_NEXT]!);
        taken.push(d);
      }
    }
  } finally {
    s.spanUnlock();
  }
  for (const d of taken) s.spanLetGo(d);
  taken.length = 0;
  return s.releasedBytes - before;
}

function spanScanAll(s: MidSpans, cls: number): boolean {
  return s.spanScanFull(cls, s.arena.i32[s.area + TS_FULL_COUNT + cls]!);
}

/**
 * Slabs leaving a thread: a slab it lets go is released to the pool when empty, else abandoned
 * (owner 0, in its class's abandoned list, adoptable by any thread). Detach lets go of every
 * slab of a leaving thread; reclaim takes over the slabs of a dead one, puts back the blocks
 * found in its cache and recounts each slab before letting it go; trim gives back what is not
 * in use: kept empty slabs, abandoned slabs whose blocks all came back, empty SuperSlabs.
 */
import { mutexOwner, PM_DESC, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';
import {
  bitmapBit,
  bitmapWordOf,
  R_ABANDONED,
  R_AVAIL_HEAD,
  R_EMPTY_SS,
  R_LOCK,
  R_SS_HEAD,
  SL_BITMAP,
  SL_CARVED,
  SL_CLASS,
  SL_FREE,
  SL_NEXT,
  SL_OWNER,
  SL_PREV,
  SL_REMOTE,
  SL_START,
  SL_STATE,
  SL_USED,
  SL_WORDS,
  SLAB_ABANDONED,
  SLAB_DETACHED,
  SS_AVAIL_NEXT,
  SS_EMPTY,
  SS_HEADER_WORDS,
  SS_NEXT,
  SS_SLABS,
  TS_FULL,
  TS_FULL_COUNT,
  TS_PARTIAL,
  TW_SLABS,
} from './layout';
import { TINY_CLASS_BLOCKS, TINY_CLASS_COUNT, TINY_CLASS_SIZE } from './size-classes';
import { slabScanFull } from './slab-alloc';
import { slabBlockIndex } from './slab-block';
import { slabCollectRemote } from './slab-free';
import { slabUnlinkFull, slabUnlinkPartial, slabUnmapOwned } from './slab-lists';
import type { Superslab } from './superslab';
import {
  slabRelease,
  superslabAvailUnlink,
  superslabFree,
  superslabFullMask,
  superslabRegistryUnlink,
} from './superslab-registry';

/** Abandons slab `d` (in no list, blocks still out): owner 0, adoptable by any thread. */
function slabAbandon(ss: Superslab, d: number): void {
  const i32 = ss.i32;
  const cls = i32[d + SL_CLASS]!;
  i32[d + SL_STATE] = SLAB_ABANDONED;
  slabUnmapOwned(ss, d);
  Atomics.store(i32, d + SL_OWNER, 0);
  const headIndex = ss.root + R_ABANDONED + cls;
  ss.slabLock();
  ss.i32[d + SL_NEXT] = ss.i32[headIndex]!;
  ss.i32[d + SL_PREV] = 0;
  Atomics.store(ss.i32, headIndex, d);
  ss.slabUnlock();
}

/** Slab `d` leaves this thread: empty → pool, else abandoned. It must be in no list. */
function slabLetGo(ss: Superslab, d: number): void {
  slabCollectRemote(ss, d);
  if (ss.i32[d + SL_USED] === 0) slabRelease(ss, d);
  else slabAbandon(ss, d);
}

/**
 * The thread is leaving (flush its caches first): every slab it owns goes to the pool
 * (empty) or becomes adoptable; its area is freed.
 */
export function slabDetach(ss: Superslab): void {
  if (ss.area === 0) return;
  ss.slabRefreshViews();
  for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
    for (;;) {
      const d = ss.i32[ss.area + TS_PARTIAL + cls]!;
      if (d === 0) break;
      slabUnlinkPartial(ss, d, cls);
      slabLetGo(ss, d);
    }
    for (;;) {
      const d = ss.i32[ss.area + TS_FULL + cls]!;
      if (d === 0) break;
      slabUnlinkFull(ss, d, cls);
      slabLetGo(ss, d);
    }
  }
  slabFreeArea(ss, ss.threadId);
  ss.area = 0;
}

/** Frees the slab area of thread `threadId` (its tier word is cleared first). */
function slabFreeArea(ss: Superslab, threadId: number): void {
  const words = ss.arena.threadTierWords(ss.tier, threadId);
  if (words === 0) return;
  const offset = Atomics.exchange(ss.i32, words + TW_SLABS, 0) >>> 0;
  if (offset !== 0) ss.arena.metaFree(offset);
}

/**
 * Reclaim of a dead thread, step 1: this thread takes over every slab the dead one owns
 * (found through the registry, so a list the dead thread left half-changed cannot hide one),
 * so its cached blocks can come back with `cacheRecover`. Step 2 is `slabReclaimEnd`.
 */
export function slabReclaimBegin(ss: Superslab, deadThreadId: number): void {
  ss.slabRefreshViews();
  const i32 = ss.i32;
  if (mutexOwner(i32, ss.root + R_LOCK) === deadThreadId) {
    // The dead thread died holding the tier lock: free it (its critical sections are short stores).
    Atomics.store(i32, ss.root + R_LOCK, 0);
    Atomics.notify(i32, ss.root + R_LOCK);
  }
  const found = ss.reclaimed;
  found.length = 0;
  ss.slabLock();
  for (let s = ss.i32[ss.root + R_SS_HEAD]!; s !== 0; s = ss.i32[s + SS_NEXT]!) {
    const slabs = ss.i32[s + SS_SLABS]!;
    for (let i = 0; i < slabs; i++) {
      const d = s + SS_HEADER_WORDS + i * SL_WORDS;
      if (Atomics.load(ss.i32, d + SL_OWNER) === deadThreadId) found.push(d);
    }
  }
  ss.slabUnlock();
  for (const d of found) {
    Atomics.compareExchange(ss.i32, d + SL_OWNER, deadThreadId, ss.threadId);
    ss.i32[d + SL_STATE] = SLAB_DETACHED;
  }
}

/**
 * Reclaim: a block found in the dead thread's cache. When it is a free block of class `cls`
 * in a slab taken over by slabReclaimBegin, it goes back to its slab and the link it held is
 * returned; otherwise -1 (the walk of that list stops: the rest was in flight).
 */
export function cacheRecover(ss: Superslab, cls: number, ptr: number): number {
  if (ptr >= ss.viewBytes) ss.slabRefreshViews();
  const entry = ptr > 0 && ptr < ss.viewBytes ? ss.arena.pageEntry(ptr) : -1;
  if (entry < 0 || (ss.u32[entry + PM_TIER]! & PM_TIER_MASK) !== ss.tier) return -1;
  const d = ss.u32[entry + PM_DESC]! >>> 2;
  const i32 = ss.i32;
  if (
    d === 0 ||
    i32[d + SL_CLASS] !== cls ||
    i32[d + SL_OWNER] !== ss.threadId ||
    i32[d + SL_STATE] !== SLAB_DETACHED
  ) {
    return -1;
  }
  const idx = slabBlockIndex(ss, d, cls, ptr);
  if (idx < 0) return -1;
  if (ss.strict) {
    const w = bitmapWordOf(i32[d + SL_BITMAP]!, idx);
    const bit = bitmapBit(idx);
    if ((Atomics.load(i32, w + 1) & bit) !== 0) return -1;
    // Set only if the thread died between marking the block live and taking it off its list.
    i32[w] = i32[w]! & ~bit;
  }
  const next = ss.u32[ptr >>> 2]!;
  ss.u32[ptr >>> 2] = ss.u32[d + SL_FREE]!;
  i32[d + SL_FREE] = ptr;
  return next;
}

/**
 * Reclaim, step 2: recounts each taken-over slab from its free list (blocks the dead thread
 * held in flight stay counted as used), then releases it (empty) or abandons it.
 */
export function slabReclaimEnd(ss: Superslab, deadThreadId: number): void {
  ss.slabRefreshViews();
  for (const d of ss.reclaimed) {
    const i32 = ss.i32;
    const u32 = ss.u32;
    const cls = i32[d + SL_CLASS]!;
    if (ss.strict) {
      slabRebuildFromBitmap(ss, d, cls);
      slabLetGo(ss, d);
      continue;
    }
    const cap = TINY_CLASS_BLOCKS[i32[d + SL_CLASS]!]!;
    let free = 0;
    let prev = 0;
    let p = u32[d + SL_FREE]!;
    while (p !== 0) {
      if (free >= cap || slabBlockIndex(ss, d, cls, p) < 0) {
        // A link the dead thread was writing: cut the list there.
        if (prev === 0) i32[d + SL_FREE] = 0;
        else u32[prev >>> 2] = 0;
        break;
      }
      free++;
      prev = p;
      p = u32[p >>> 2]!;
    }
    i32[d + SL_USED] = i32[d + SL_CARVED]! - free;
    slabLetGo(ss, d);
  }
  ss.reclaimed.length = 0;
  slabFreeArea(ss, deadThreadId);
}

/**
 * Strict reclaim of a dead thread's slab: the alloc bitmap says which carved blocks are in
 * use (handed out, or waiting in the remote list); every other carved block is free. The
 * local list is rebuilt from it, so a batch the thread was moving between its cache and the
 * slab when it was terminated comes back instead of being lost.
 */
function slabRebuildFromBitmap(ss: Superslab, d: number, cls: number): void {
  const i32 = ss.i32;
  const u32 = ss.u32;
  const carved = i32[d + SL_CARVED]!;
  const size = TINY_CLASS_SIZE[cls]!;
  const start = u32[d + SL_START]!;
  const bitmap = i32[d + SL_BITMAP]!;
  let head = 0;
  let used = 0;
  for (let idx = carved - 1; idx >= 0; idx--) {
    if ((i32[bitmapWordOf(bitmap, idx)]! & bitmapBit(idx)) !== 0) {
      used++;
      continue;
    }
    const p = start + idx * size;
    u32[p >>> 2] = head;
    head = p;
  }
  i32[d + SL_FREE] = head;
  i32[d + SL_USED] = used;
}

/**
 * Gives back what is not in use: this thread's kept empty slabs, abandoned slabs whose
 * blocks have all come back, and every fully empty SuperSlab (to the arena). Returns the
 * bytes of SuperSlabs returned to the arena.
 */
export function slabTrim(ss: Superslab): number {
  ss.slabRefreshViews();
  const before = ss.releasedBytes;
  if (ss.area !== 0) {
    for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
      for (;;) {
        if (!slabScanFull(ss, cls, ss.i32[ss.area + TS_FULL_COUNT + cls]!)) break;
      }
    }
    slabReleaseKept(ss);
  }
  // Abandoned slabs: take them all, keep the ones still in use abandoned.
  const taken = ss.reclaimed;
  taken.length = 0;
  ss.slabLock();
  for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
    const headIndex = ss.root + R_ABANDONED + cls;
    for (let d = ss.i32[headIndex]!; d !== 0; d = ss.i32[d + SL_NEXT]!) taken.push(d);
    Atomics.store(ss.i32, headIndex, 0);
  }
  ss.slabUnlock();
  for (const d of taken) {
    Atomics.compareExchange(ss.i32, d + SL_OWNER, 0, ss.threadId);
    ss.i32[d + SL_STATE] = SLAB_DETACHED;
    slabLetGo(ss, d);
  }
  taken.length = 0;
  // Fully empty SuperSlabs, including the one kept for hysteresis.
  const empty: number[] = [];
  ss.slabLock();
  const root = ss.root;
  for (let s = ss.i32[root + R_AVAIL_HEAD]!; s !== 0; ) {
    const next = ss.i32[s + SS_AVAIL_NEXT]!;
    if (ss.i32[s + SS_EMPTY] === superslabFullMask(ss.i32[s + SS_SLABS]!)) {
      superslabAvailUnlink(ss, s);
      superslabRegistryUnlink(ss, s);
      ss.i32[root + R_EMPTY_SS] = ss.i32[root + R_EMPTY_SS]! - 1;
      empty.push(s);
    }
    s = next;
  }
  ss.slabUnlock();
  for (const s of empty) superslabFree(ss, s);
  return ss.releasedBytes - before;
}

/** Releases every empty slab this thread keeps (the last partial slab of each class). Returns how many. */
export function slabReleaseKept(ss: Superslab): number {
  let released = 0;
  for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
    let d = ss.i32[ss.area + TS_PARTIAL + cls]!;
    while (d !== 0) {
      const next = ss.i32[d + SL_NEXT]!;
      if (Atomics.load(ss.i32, d + SL_REMOTE) !== 0) slabCollectRemote(ss, d);
      if (ss.i32[d + SL_USED] === 0) {
        slabUnlinkPartial(ss, d, cls);
        slabRelease(ss, d);
        released++;
      }
      d = next;
    }
  }
  return released;
}

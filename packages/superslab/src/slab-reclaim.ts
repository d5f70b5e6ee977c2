/**
 * Slabs leaving a thread: a slab it lets go is released to the pool when empty, else abandoned
 * (owner 0, in its class's abandoned list, adoptable by any thread). Detach lets go of every
 * slab of a leaving thread; reclaim takes over the slabs of a dead one, puts back the blocks
 * found in its cache and recounts each slab before letting it go; trim gives back what is not
 * in use: kept empty slabs, abandoned slabs whose blocks all came back, empty SuperSlabs.
 */
import { PM_DESC, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';
import { crashPoint } from './crash-point';
import {
  bitmapBit,
  bitmapWordOf,
  OUT_COUNT,
  OUT_HEAD,
  OUT_SHIFT,
  OUT_SLAB,
  OUT_SLOTS,
  OUT_TAIL,
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
  SL_REMOTE_AT,
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
  TS_COLLECT_COUNT,
  TS_COLLECT_HEAD,
  TS_COLLECT_SLAB,
  TS_FREEING,
  TS_FULL,
  TS_FULL_COUNT,
  TS_OUT,
  TS_PARTIAL,
  TW_SLABS,
} from './layout';
import { TINY_CLASS_BLOCKS, TINY_CLASS_COUNT, TINY_CLASS_SIZE } from './size-classes';
import { slabScanFull } from './slab-alloc';
import { slabBlockIndex } from './slab-block';
import { slabCollectRemote, slabOutFlush, slabOutPush } from './slab-free';
import { slabUnlinkFull, slabUnlinkPartial, slabUnmapOwned } from './slab-lists';
import type { Superslab } from './superslab';
import {
  slabRelease,
  superslabAvailUnlink,
  superslabFree,
  superslabFullMask,
  superslabRegistryUnlink,
  superslabRepair,
} from './superslab-registry';

/**
 * Abandons slab `d` (in no list, blocks still out): owner 0, adoptable by any thread. Under the
 * tier lock: SL_STATE = ABANDONED (decisive: before it the slab is still this thread's, found
 * by a reclaim through SL_OWNER), the owner word, then the list link (superslabRepair relinks
 * every ABANDONED slab of owner 0).
 */
function slabAbandon(ss: Superslab, d: number): void {
  slabUnmapOwned(ss, d);
  ss.slabLock();
  const i32 = ss.i32;
  const headIndex = ss.root + R_ABANDONED + i32[d + SL_CLASS]!;
  i32[d + SL_STATE] = SLAB_ABANDONED;
  if (__DEV__) crashPoint('abandon');
  Atomics.store(i32, d + SL_OWNER, 0);
  if (__DEV__) crashPoint('abandon');
  i32[d + SL_NEXT] = i32[headIndex]!;
  i32[d + SL_PREV] = 0;
  Atomics.store(i32, headIndex, d);
  if (__DEV__) crashPoint('abandon');
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
  slabOutFlush(ss);
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
  if (offset === 0) return;
  // Its outgoing buffer (pushed already: by slabDetach, or by a reclaim's slabFinishIntents).
  const out = ss.i32[(offset >>> 2) + TS_OUT]!;
  if (out !== 0) ss.arena.metaFree(out * 4);
  ss.arena.metaFree(offset);
}

/**
 * Reclaim of a dead thread, step 1: this thread takes over every slab the dead one owns
 * (found through the registry, so a list the dead thread left half-changed cannot hide one),
 * so its cached blocks can come back with `cacheRecover`. Step 2 is `slabReclaimEnd`.
 */
export function slabReclaimBegin(ss: Superslab, deadThreadId: number): void {
  ss.slabRefreshViews();
  const found = ss.reclaimed;
  found.length = 0;
  slabLockFrom(ss, deadThreadId);
  // Whatever locked section the dead thread was in (or any thread, when an older heap had the
  // lock broken by arena.breakLocksOf), the lock's state is rebuilt from the descriptors.
  superslabRepair(ss);
  const i32 = ss.i32;
  for (let s = i32[ss.root + R_SS_HEAD]!; s !== 0; s = i32[s + SS_NEXT]!) {
    const slabs = i32[s + SS_SLABS]!;
    for (let i = 0; i < slabs; i++) {
      const d = s + SS_HEADER_WORDS + i * SL_WORDS;
      if (Atomics.load(i32, d + SL_OWNER) === deadThreadId) {
        Atomics.store(i32, d + SL_OWNER, ss.threadId);
        i32[d + SL_STATE] = SLAB_DETACHED;
        found.push(d);
      }
    }
  }
  ss.slabUnlock();
  slabFinishIntents(ss, deadThreadId);
}

/**
 * Takes the tier lock; when dead thread `deadThreadId` holds it, takes it over in place (one
 * CAS from its id to ours, keeping the waiters flag) so no live thread runs on what the dead
 * one left half-changed before superslabRepair. (The lock is not registered with the arena for
 * that reason: arena.breakLocksOf would free it for the first waiter.)
 */
/** The owner bits of a mutexLock word (the top bit is its waiters flag). */
const LOCK_OWNER_MASK = 0x7fffffff;

function slabLockFrom(ss: Superslab, deadThreadId: number): void {
  const i32 = ss.i32;
  const index = ss.root + R_LOCK;
  for (;;) {
    const word = Atomics.load(i32, index);
    if (word === 0 || (word & LOCK_OWNER_MASK) !== deadThreadId) break;
    const mine = (word & ~LOCK_OWNER_MASK) | ss.threadId;
    if (Atomics.compareExchange(i32, index, word, mine) === word) {
      ss.slabRefreshViews();
      return;
    }
  }
  ss.slabLock();
}

/**
 * Reclaim: finishes or undoes what the dead thread's intent records say it was doing (see
 * layout.ts, "Crash consistency"): a remote-list collection (the chain it took goes onto the
 * slab's local list, its strict bits cleared) and a strict remote free (its remote bit undone:
 * the block stays live, in flight).
 */
function slabFinishIntents(ss: Superslab, deadThreadId: number): void {
  const words = ss.arena.threadTierWords(ss.tier, deadThreadId);
  const offset = words === 0 ? 0 : Atomics.load(ss.i32, words + TW_SLABS) >>> 0;
  if (offset === 0) return;
  const area = offset >>> 2;
  const i32 = ss.i32;
  const u32 = ss.u32;
  const d = i32[area + TS_COLLECT_SLAB]!;
  if (d !== 0 && i32[d + SL_OWNER] === ss.threadId) {
    const cls = i32[d + SL_CLASS]!;
    const cap = TINY_CLASS_BLOCKS[cls]!;
    const head = u32[area + TS_COLLECT_HEAD]!;
    let n = i32[area + TS_COLLECT_COUNT]!;
    if (n === 0) {
      // Taken, not yet validated: the chain still ends with a 0 link; keep its valid prefix.
      let tail = 0;
      for (let p = head; p !== 0 && n < cap && slabBlockIndex(ss, d, cls, p) >= 0; p = u32[p >>> 2]!) {
        tail = p;
        n++;
      }
      if (tail !== 0) {
        u32[tail >>> 2] = u32[d + SL_FREE]!;
        i32[d + SL_FREE] = head;
      }
    } else if (u32[d + SL_FREE] !== head) {
      // Validated by the dead thread, but a write after free may have changed a link since:
      // each is checked before the splice writes through the last (a bad one cuts the chain).
      let tail = 0;
      let k = 0;
      if (slabBlockIndex(ss, d, cls, head) >= 0) {
        tail = head;
        for (k = 1; k < n && k < cap; k++) {
          const next = u32[tail >>> 2]!;
          if (slabBlockIndex(ss, d, cls, next) < 0) break;
          tail = next;
        }
      }
      n = k;
      if (tail !== 0) {
        u32[tail >>> 2] = u32[d + SL_FREE]!;
        i32[d + SL_FREE] = head;
      }
    }
    if (ss.strict) {
      const bm = i32[d + SL_BITMAP]!;
      let p = head;
      for (let k = 0; k < n; k++) {
        const idx = slabBlockIndex(ss, d, cls, p);
        if (idx < 0) break;
        const w = bitmapWordOf(bm, idx);
        const bit = bitmapBit(idx);
        i32[w] = i32[w]! & ~bit;
        Atomics.and(i32, w + 1, ~bit);
        p = u32[p >>> 2]!;
      }
    }
  }
  i32[area + TS_COLLECT_SLAB] = 0;
  const freeing = u32[area + TS_FREEING]!;
  if (freeing !== 0) {
    const entry = ss.arena.pageEntry(freeing);
    const fd =
      entry < 0 || (u32[entry + PM_TIER]! & PM_TIER_MASK) !== ss.tier ? 0 : u32[entry + PM_DESC]! >>> 2;
    const cls = fd === 0 ? -1 : i32[fd + SL_CLASS]!;
    const idx = cls < 0 ? -1 : slabBlockIndex(ss, fd, cls, freeing);
    if (idx >= 0) Atomics.and(i32, bitmapWordOf(i32[fd + SL_BITMAP]!, idx) + 1, ~bitmapBit(idx));
    i32[area + TS_FREEING] = 0;
  }
  // Its outgoing buffer: every chain goes onto its slab's remote list (a slot whose words do
  // not name a chain of blocks of a slab in use is dropped: those blocks stay used, in flight).
  const out = i32[area + TS_OUT]!;
  for (let k = 0; out > 0 && out + (OUT_SLOTS << OUT_SHIFT) <= i32.length && k < OUT_SLOTS; k++) {
    const slot = out + (k << OUT_SHIFT);
    const od = i32[slot + OUT_SLAB]!;
    if (od === 0) continue;
    const ocls = od > 0 && od < i32.length ? i32[od + SL_CLASS]! : -1;
    const n = i32[slot + OUT_COUNT]!;
    if (
      ocls >= 0 &&
      ocls < TINY_CLASS_COUNT &&
      n >= 1 &&
      n <= TINY_CLASS_BLOCKS[ocls]! &&
      slabBlockIndex(ss, od, ocls, u32[slot + OUT_HEAD]!) >= 0 &&
      slabBlockIndex(ss, od, ocls, u32[slot + OUT_TAIL]!) >= 0
    ) {
      slabOutPush(ss, slot);
    } else {
      i32[slot + OUT_SLAB] = 0;
      i32[slot + OUT_COUNT] = 0;
    }
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
    // A live or remote-pending block is not a cached one (a write after free linked it): the
    // walk stops before writing into it. Nothing is lost: the slab is rebuilt from its bitmap.
    if (((i32[w]! | Atomics.load(i32, w + 1)) & bit) !== 0) return -1;
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
    if (cls < 0 || i32[d + SL_CARVED] === 0) {
      // Taken from the pool and stopped before carving: nothing was handed out.
      slabRelease(ss, d);
      continue;
    }
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
  slabOutFlush(ss);
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
  // Locked: each slab's owner and state (decisive) before the list heads (superslabRepair
  // relists only ABANDONED slabs of owner 0).
  ss.slabLock();
  for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
    const headIndex = ss.root + R_ABANDONED + cls;
    for (let d = ss.i32[headIndex]!; d !== 0; d = ss.i32[d + SL_NEXT]!) {
      Atomics.store(ss.i32, d + SL_OWNER, ss.threadId);
      ss.i32[d + SL_STATE] = SLAB_DETACHED;
      taken.push(d);
      if (__DEV__) crashPoint('trim');
    }
    Atomics.store(ss.i32, headIndex, 0);
  }
  ss.slabUnlock();
  for (const d of taken) slabLetGo(ss, d);
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
      if (Atomics.load(ss.i32, ss.i32[d + SL_REMOTE_AT]!) !== 0) slabCollectRemote(ss, d);
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

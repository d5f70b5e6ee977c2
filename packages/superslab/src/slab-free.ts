/**
 * Freeing: a block of one of this thread's slabs goes on the slab's local list with plain
 * stores (slabPushLocal, for Superslab.free and for a cache's spill, cacheSpill); a block of
 * another thread's or an abandoned slab goes on the slab's lock-free remote list (CAS push;
 * strict: the remote-pending bit first), which the owner takes whole with one exchange
 * (slabCollectRemote). A slab whose last block came back is kept (the class's only partial
 * slab) or released to the pool (slabRetire). See layout.ts, "Concurrency protocol".
 */
import { HakmemError } from '@hakmem/page-arena';
import { crashPoint } from './crash-point';
import {
  bitmapBit,
  bitmapWordOf,
  bitmapWords,
  OUT_BATCH,
  OUT_BYTES,
  OUT_COUNT,
  OUT_HEAD,
  OUT_SHIFT,
  OUT_SLAB,
  OUT_SLOTS,
  OUT_TAIL,
  ownedClass,
  ownedDesc,
  SL_BITMAP,
  SL_CLASS,
  SL_FREE,
  SL_NEXT,
  SL_REMOTE_AT,
  SL_START,
  SL_STATE,
  SL_USED,
  SLAB_FULL,
  SLAB_PARTIAL,
  SLAB_SHIFT,
  TS_COLLECT_COUNT,
  TS_COLLECT_HEAD,
  TS_COLLECT_SLAB,
  TS_FREEING,
  TS_OUT,
  TS_OUT_BLOCKS,
  TS_PARTIAL,
} from './layout';
import { TINY_CLASS_BLOCKS, TINY_CLASS_SIZE } from './size-classes';
import { slabBlockIndex, slabCheckListBlock, slabCheckLocalLink, slabNotBlock } from './slab-block';
import { corrupted, hex } from './slab-errors';
import { slabPushPartial, slabUnlinkFull, slabUnlinkPartial } from './slab-lists';
import type { Superslab } from './superslab';
import { slabRelease } from './superslab-registry';

/**
 * Frees `ptr` (in slab `d`, i32 index of its descriptor) into the slab's lock-free remote
 * list: for blocks of other threads' or abandoned slabs. Returns the block's class.
 */
export function slabFreeRemote(ss: Superslab, ptr: number, d: number): number {
  if (ptr >= ss.viewBytes || d >= ss.i32.length) ss.slabRefreshViews();
  const i32 = ss.i32;
  const cls = d === 0 ? -1 : i32[d + SL_CLASS]!;
  const idx = cls < 0 ? -1 : slabBlockIndex(ss, d, cls, ptr);
  if (idx < 0) throw slabNotBlock(ss, ptr, d, cls);
  // Strict: the intent record (TS_FREEING) covers the block from its remote bit to its push,
  // so a reclaim of this thread undoes a bit whose push did not happen.
  const intent = ss.area === 0 ? 0 : ss.area + TS_FREEING;
  if (ss.strict) {
    const bm = i32[d + SL_BITMAP]!;
    if (bm + 2 * bitmapWords(TINY_CLASS_BLOCKS[cls]!) > i32.length) return slabFreeRemoteStale(ss, ptr, d);
    const w = bitmapWordOf(bm, idx);
    const bit = bitmapBit(idx);
    if (intent !== 0) i32[intent] = ptr;
    if ((Atomics.or(i32, w + 1, bit) & bit) !== 0) {
      if (intent !== 0) i32[intent] = 0;
      throw new HakmemError(
        'ERR_DOUBLE_FREE',
        `free(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is already waiting in the slab's remote-free list`,
      );
    }
    if (__DEV__) crashPoint('remote-free');
    if ((Atomics.load(i32, w) & bit) === 0) {
      Atomics.and(i32, w + 1, ~bit);
      if (intent !== 0) i32[intent] = 0;
      throw new HakmemError(
        'ERR_DOUBLE_FREE',
        `free(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is not live (already freed)`,
      );
    }
  }
  // CAS push, retried in place (a retry call site would meet its first contention without type feedback).
  const head = i32[d + SL_REMOTE_AT]!;
  const u32 = ss.u32;
  for (;;) {
    const old = Atomics.load(i32, head);
    u32[ptr >>> 2] = old;
    if (Atomics.compareExchange(i32, head, old, ptr | 0) === old) {
      if (intent !== 0) i32[intent] = 0;
      return cls;
    }
    if (__DEV__) crashPoint('remote-free');
  }
}

/**
 * The tiny tier's remote free (see layout.ts, "Remote-free batching"): `ptr` (in slab `d`, not
 * this thread's) joins the chain of its slab in this thread's outgoing buffer with plain stores;
 * the chain is pushed onto the slab's remote list with one CAS when it is full or its slot is
 * wanted by another slab. Strict: the remote bit is set first (TS_FREEING covers the block until
 * it is in the buffer), so a second free is ERR_DOUBLE_FREE at once. Returns the block's class.
 */
export function slabFreeRemoteBuffered(ss: Superslab, ptr: number, d: number): number {
  const area = ss.area;
  if (area === 0) return slabFreeRemote(ss, ptr, d);
  if (ptr >= ss.viewBytes || d >= ss.i32.length) ss.slabRefreshViews();
  const cls = d === 0 ? -1 : ss.i32[d + SL_CLASS]!;
  const idx = cls < 0 ? -1 : slabBlockIndex(ss, d, cls, ptr);
  if (idx < 0) throw slabNotBlock(ss, ptr, d, cls);
  if (ss.outPending !== 0) slabOutPushPending(ss);
  let out = ss.i32[area + TS_OUT]!;
  if (out === 0) {
    out = slabOutCreate(ss);
    if (out === 0) return slabFreeRemote(ss, ptr, d);
  }
  const slot = out + (((d >>> 4) & (OUT_SLOTS - 1)) << OUT_SHIFT);
  const held = ss.i32[slot + OUT_SLAB]!;
  if (held !== d && held !== 0) slabOutPush(ss, slot);
  const strict = ss.strict;
  if (strict) slabRemoteMark(ss, ptr, d, cls, idx, area + TS_FREEING);
  const i32 = ss.i32;
  const u32 = ss.u32;
  const n = i32[slot + OUT_COUNT]!;
  // One straight line: the block enters the chain (and leaves the strict intent record).
  u32[ptr >>> 2] = n === 0 ? 0 : u32[slot + OUT_HEAD]!;
  if (n === 0) i32[slot + OUT_TAIL] = ptr;
  i32[slot + OUT_HEAD] = ptr;
  i32[slot + OUT_COUNT] = n + 1;
  i32[slot + OUT_SLAB] = d;
  i32[area + TS_OUT_BLOCKS]!++;
  if (strict) i32[area + TS_FREEING] = 0;
  // A full chain is pushed by the caller (slabOutPushPending) once its own bookkeeping of this
  // free is stored: the push is an interrupt point, and the free must be whole before it.
  if (n + 1 >= OUT_BATCH) ss.outPending = slot;
  return cls;
}

/**
 * Strict remote free of block `idx` (`ptr`) of slab `d`: intent record, remote bit (already set:
 * ERR_DOUBLE_FREE), alloc bit checked (clear: bit undone, ERR_DOUBLE_FREE). The caller clears
 * the intent record in the straight line that puts the block where it goes.
 */
function slabRemoteMark(
  ss: Superslab,
  ptr: number,
  d: number,
  cls: number,
  idx: number,
  intent: number,
): void {
  let i32 = ss.i32;
  if (i32[d + SL_BITMAP]! + 2 * bitmapWords(TINY_CLASS_BLOCKS[cls]!) > i32.length) {
    ss.slabRefreshViews();
    i32 = ss.i32;
    if (i32[d + SL_BITMAP]! + 2 * bitmapWords(TINY_CLASS_BLOCKS[cls]!) > i32.length) {
      throw corrupted(
        `slab descriptor ${d * 4} names bitmaps at i32 index ${i32[d + SL_BITMAP]} beyond the memory`,
      );
    }
  }
  const w = bitmapWordOf(i32[d + SL_BITMAP]!, idx);
  const bit = bitmapBit(idx);
  i32[intent] = ptr;
  if ((Atomics.or(i32, w + 1, bit) & bit) !== 0) {
    i32[intent] = 0;
    throw new HakmemError(
      'ERR_DOUBLE_FREE',
      `free(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is already waiting to go back to its owner (a remote free)`,
    );
  }
  if (__DEV__) crashPoint('remote-free');
  if ((Atomics.load(i32, w) & bit) === 0) {
    Atomics.and(i32, w + 1, ~bit);
    i32[intent] = 0;
    throw new HakmemError(
      'ERR_DOUBLE_FREE',
      `free(${ptr}): block ${idx} of its ${TINY_CLASS_SIZE[cls]} B slab is not live (already freed)`,
    );
  }
}

/**
 * Pushes the chain of outgoing-buffer slot `slot` (an i32 index in any thread's area) onto its
 * slab's remote list with one CAS, and empties the slot in the CAS's straight line.
 */
export function slabOutPush(ss: Superslab, slot: number): void {
  const i32 = ss.i32;
  const u32 = ss.u32;
  const d = i32[slot + OUT_SLAB]!;
  if (d === 0) return;
  const head = u32[slot + OUT_HEAD]!;
  const tail = u32[slot + OUT_TAIL]!;
  const remote = i32[d + SL_REMOTE_AT]!;
  for (;;) {
    const old = Atomics.load(i32, remote);
    u32[tail >>> 2] = old;
    if (__DEV__) crashPoint('remote-flush');
    if (Atomics.compareExchange(i32, remote, old, head | 0) === old) {
      i32[slot + OUT_SLAB] = 0;
      i32[slot + OUT_COUNT] = 0;
      return;
    }
  }
}

/** Pushes the chain slabFreeRemoteBuffered found full (see there). */
export function slabOutPushPending(ss: Superslab): void {
  const slot = ss.outPending;
  ss.outPending = 0;
  if (slot !== 0) slabOutPush(ss, slot);
}

/** This thread's outgoing buffer, made at its first buffered remote free; 0 when maxBytes has no room (the free goes unbuffered). */
function slabOutCreate(ss: Superslab): number {
  const offset = ss.arena.metaAlloc(OUT_BYTES);
  if (offset === 0) return 0;
  ss.slabRefreshViews();
  ss.i32.fill(0, offset >>> 2, (offset + OUT_BYTES) >>> 2);
  ss.i32[ss.area + TS_OUT] = offset >>> 2;
  return offset >>> 2;
}

/** Pushes every non-empty slot of the outgoing buffer at i32 index `out` (any thread's) onto its slab's remote list. */
export function slabOutPushAll(ss: Superslab, out: number): void {
  for (let k = 0; k < OUT_SLOTS; k++) {
    const slot = out + (k << OUT_SHIFT);
    if (ss.i32[slot + OUT_SLAB] !== 0) slabOutPush(ss, slot);
  }
}

/** Pushes every non-empty slot of this thread's outgoing buffer (its remote frees reach their slabs). */
export function slabOutFlush(ss: Superslab): void {
  const area = ss.area;
  if (area === 0) return;
  ss.slabRefreshViews();
  ss.outPending = 0;
  const out = ss.i32[area + TS_OUT]!;
  if (out !== 0) slabOutPushAll(ss, out);
  ss.i32[area + TS_OUT_BLOCKS] = 0;
}

/** The slab's bitmaps lie in memory another thread grew: refresh the views and retry. */
function slabFreeRemoteStale(ss: Superslab, ptr: number, d: number): number {
  ss.slabRefreshViews();
  const i32 = ss.i32;
  if (i32[d + SL_BITMAP]! + 2 * bitmapWords(TINY_CLASS_BLOCKS[i32[d + SL_CLASS]!]!) > i32.length) {
    throw corrupted(
      `slab descriptor ${d * 4} names bitmaps at i32 index ${i32[d + SL_BITMAP]} beyond the memory`,
    );
  }
  return slabFreeRemote(ss, ptr, d);
}

/**
 * Owner: moves the whole remote list of slab `d` to its local list; returns the local list's
 * new head, 0 when the remote list was empty. (Too large for V8 to inline: callers that run
 * it on every empty local list keep its first real collection out of their optimised code.)
 */
export function slabCollectRemote(ss: Superslab, d: number): number {
  const i32 = ss.i32;
  const u32 = ss.u32;
  if (Atomics.load(i32, i32[d + SL_REMOTE_AT]!) === 0) return 0;
  const head = Atomics.exchange(i32, i32[d + SL_REMOTE_AT]!, 0) >>> 0;
  if (head === 0) return 0;
  // The intent record, in the same straight line as the exchange: a reclaim of this thread
  // puts the chain onto the local list and clears its bits, whatever step it stopped at.
  const area = ss.area;
  if (area !== 0) {
    i32[area + TS_COLLECT_HEAD] = head;
    i32[area + TS_COLLECT_COUNT] = 0;
    i32[area + TS_COLLECT_SLAB] = d;
  }
  if (__DEV__) crashPoint('collect');
  const cls = i32[d + SL_CLASS]!;
  const cap = TINY_CLASS_BLOCKS[i32[d + SL_CLASS]!]!;
  const strict = ss.strict;
  const bm = i32[d + SL_BITMAP]!;
  // Strict: pass 1 keeps the block indexes, so pass 2 does not walk the blocks again.
  const indexes = ss.collectIndexes;
  // Pass 1 validates and counts (reads only).
  let p = head;
  let tail = head;
  let n = 0;
  while (p !== 0) {
    if (++n > cap)
      throw corrupted(
        `remote-free list of the slab at ${u32[d + SL_START]} is longer than its ${cap} blocks (a cycle: a write after free?)`,
      );
    const idx = slabBlockIndex(ss, d, cls, p);
    if (idx < 0) {
      throw corrupted(
        `remote-free list of the slab at ${u32[d + SL_START]} links to ${hex(p)}, off its ${TINY_CLASS_SIZE[cls]} B grid (a write after free?)`,
      );
    }
    if (strict) {
      const w = bitmapWordOf(bm, idx);
      const bit = bitmapBit(idx);
      if ((i32[w]! & bit) === 0 || (Atomics.load(i32, w + 1) & bit) === 0) {
        throw corrupted(
          `remote-free list of the slab at ${u32[d + SL_START]} holds block ${idx}, whose bitmaps do not say "freed by another thread"`,
        );
      }
      indexes[n - 1] = idx;
    }
    if (__DEV__) crashPoint('collect');
    tail = p;
    p = u32[p >>> 2]!;
  }
  // Splice (straight-line; the count goes first: the chain's end link is about to change).
  if (area !== 0) i32[area + TS_COLLECT_COUNT] = n;
  u32[tail >>> 2] = u32[d + SL_FREE]!;
  i32[d + SL_FREE] = head;
  i32[d + SL_USED] = i32[d + SL_USED]! - n;
  if (__DEV__) crashPoint('collect');
  if (strict) {
    // Pass 2: the bits. The alloc bit goes first: a second remote free that lands before the
    // remote bit is cleared finds the remote bit set, and one after finds the alloc bit clear;
    // either is ERR_DOUBLE_FREE at the second free (the Atomics.and publishes the plain store).
    for (let k = 0; k < n; k++) {
      const idx = indexes[k]!;
      const w = bitmapWordOf(bm, idx);
      const bit = bitmapBit(idx);
      i32[w] = i32[w]! & ~bit;
      Atomics.and(i32, w + 1, ~bit);
      if (__DEV__) crashPoint('collect');
    }
  }
  if (area !== 0) i32[area + TS_COLLECT_SLAB] = 0;
  return head;
}

/**
 * Blocks of class `cls` (this thread's, chained from `head`) back to their slabs. With
 * `progress` (the i32 index of the cache's spill record: chain head, then count), each block
 * leaves the record in the same straight line that puts it on its slab's local list, so a
 * reclaim of this thread finds every block not yet back in the record.
 */
export function cacheSpill(ss: Superslab, cls: number, head: number, count: number, progress = 0): void {
  ss.slabRefreshViews();
  let p = head;
  for (let i = 0; i < count && p !== 0; i++) {
    // A cached block lies in a slab of this class that this thread owns (its owned-map entry).
    const e = ss.owned[p >>> SLAB_SHIFT]!;
    const d = e > 0 && ownedClass(e) === cls ? ownedDesc(e) : slabCheckListBlock(ss, p, cls, 'spilled');
    if (ss.strict) slabCheckLocalLink(ss, d, cls, p);
    else if (slabBlockIndex(ss, d, cls, p) < 0) slabCheckListBlock(ss, p, cls, 'spilled');
    const i32 = ss.i32;
    const u32 = ss.u32;
    const next = u32[p >>> 2]!;
    u32[p >>> 2] = u32[d + SL_FREE]!;
    i32[d + SL_FREE] = p;
    const used = i32[d + SL_USED]! - 1;
    i32[d + SL_USED] = used;
    if (progress !== 0) {
      i32[progress] = next;
      i32[progress + 1] = count - i - 1;
    }
    if (__DEV__) crashPoint('spill');
    slabPushedLocal(ss, d, cls, used);
    if (__DEV__) crashPoint('spill');
    p = next;
  }
}

/** Owner: block `p` (alloc bit already clear) onto slab `d`'s local list; list upkeep. */
export function slabPushLocal(ss: Superslab, d: number, cls: number, p: number): void {
  const i32 = ss.i32;
  ss.u32[p >>> 2] = ss.u32[d + SL_FREE]!;
  i32[d + SL_FREE] = p;
  const used = i32[d + SL_USED]! - 1;
  i32[d + SL_USED] = used;
  slabPushedLocal(ss, d, cls, used);
}

/** Owner: list upkeep after a block went onto slab `d`'s local list (`used` is its new count). */
function slabPushedLocal(ss: Superslab, d: number, cls: number, used: number): void {
  const i32 = ss.i32;
  if (i32[d + SL_STATE] === SLAB_FULL) {
    slabUnlinkFull(ss, d, cls);
    slabPushPartial(ss, d, cls);
  }
  if (used === 0) slabRetire(ss, d, cls);
}

/** Owner: used dropped to 0 in slab `d`. Keeps it when it is the class's only partial slab, else releases it. */
export function slabRetire(ss: Superslab, d: number, cls: number): void {
  const i32 = ss.i32;
  const state = i32[d + SL_STATE]!;
  if (state === SLAB_PARTIAL) {
    if (i32[ss.area + TS_PARTIAL + cls] === d && i32[d + SL_NEXT] === 0) return;
    slabUnlinkPartial(ss, d, cls);
  } else if (state === SLAB_FULL) {
    slabUnlinkFull(ss, d, cls);
  } else {
    return;
  }
  slabRelease(ss, d);
}

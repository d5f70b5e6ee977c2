/**
 * check(): validates every SuperSlab, slab, list and bitmap against the invariants in
 * layout.ts and returns the live blocks per class the slabs account for. It runs in two steps
 * around the cache in front: slabCheckBegin, then cacheCheckBlock for each block found in a
 * thread cache (each block must be listed once: local list, remote list or a cache), then
 * slabCheck. Errors are ERR_HEAP_CORRUPTED naming the first broken rule.
 */
import { PM_DESC, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';
import {
  bitmapBit,
  bitmapWordOf,
  bitmapWords,
  OUT_BATCH,
  OUT_COUNT,
  OUT_HEAD,
  OUT_SHIFT,
  OUT_SLAB,
  OUT_SLOTS,
  OUT_TAIL,
  ownedClass,
  ownedDesc,
  ownedEntry,
  R_ABANDONED,
  R_AVAIL_HEAD,
  R_AVAIL_TAIL,
  R_EMPTY_SS,
  R_SLABS_OUT,
  R_SS_COUNT,
  R_SS_HEAD,
  REMOTE_STRIDE,
  SL_BITMAP,
  SL_BITMAP_CAP,
  SL_CARVED,
  SL_CLASS,
  SL_FREE,
  SL_INDEX,
  SL_INV,
  SL_NEXT,
  SL_OWNER,
  SL_PREV,
  SL_REMOTE_AT,
  SL_SELF,
  SL_SHIFT,
  SL_START,
  SL_STATE,
  SL_USED,
  SL_WORDS,
  SLAB_ABANDONED,
  SLAB_BYTES,
  SLAB_FULL,
  SLAB_PARTIAL,
  SLAB_POOL,
  SLAB_SHIFT,
  SS_AVAIL_NEXT,
  SS_AVAIL_PREV,
  SS_EMPTY,
  SS_HEADER_WORDS,
  SS_IN_AVAIL,
  SS_NEXT,
  SS_PREV,
  SS_REMOTE,
  SS_SLABS,
  SS_START,
  SUPERSLAB_SLABS,
  TS_FULL,
  TS_FULL_COUNT,
  TS_OUT,
  TS_PARTIAL,
  TS_THREAD,
  TW_SLABS,
} from './layout';
import {
  TINY_CLASS_BLOCKS,
  TINY_CLASS_COUNT,
  TINY_CLASS_INV,
  TINY_CLASS_SHIFT,
  TINY_CLASS_SIZE,
} from './size-classes';
import { slabBlockIndex } from './slab-block';
import { corrupted, hex } from './slab-errors';
import type { Superslab } from './superslab';
import { superslabFullMask } from './superslab-registry';

/** check, step 1: start counting the blocks found in thread caches (cacheCheckBlock). */
export function slabCheckBegin(ss: Superslab): void {
  ss.slabRefreshViews();
  ss.checkMarks = new Map();
  ss.checkCached = new Map();
}

/** check: a block found in the cache of thread `threadId`; ERR_HEAP_CORRUPTED unless a free block of `cls` owned by it, listed once. */
export function cacheCheckBlock(ss: Superslab, cls: number, ptr: number, threadId: number): void {
  if (ss.checkMarks === null) slabCheckBegin(ss);
  if (ptr >= ss.viewBytes) ss.slabRefreshViews();
  const entry = ptr > 0 && ptr < ss.viewBytes ? ss.arena.pageEntry(ptr) : -1;
  if (entry < 0 || (ss.u32[entry + PM_TIER]! & PM_TIER_MASK) !== ss.tier) {
    throw corrupted(
      `thread ${threadId}'s cache of the ${TINY_CLASS_SIZE[cls]} B class holds ${hex(ptr)}, outside every tiny slab`,
    );
  }
  const d = ss.u32[entry + PM_DESC]! >>> 2;
  const i32 = ss.i32;
  if (d === 0 || i32[d + SL_CLASS] !== cls || i32[d + SL_OWNER] !== threadId) {
    throw corrupted(
      `thread ${threadId}'s cache of the ${TINY_CLASS_SIZE[cls]} B class holds ${hex(ptr)}, in a slab of class ${i32[d + SL_CLASS]} owned by thread ${i32[d + SL_OWNER]}`,
    );
  }
  const idx = slabBlockIndex(ss, d, cls, ptr);
  if (idx < 0)
    throw corrupted(
      `thread ${threadId}'s cache of the ${TINY_CLASS_SIZE[cls]} B class holds ${hex(ptr)}, which is not a carved block start`,
    );
  if (ss.strict) {
    const w = bitmapWordOf(i32[d + SL_BITMAP]!, idx);
    const bit = bitmapBit(idx);
    if ((i32[w]! & bit) !== 0 || (i32[w + 1]! & bit) !== 0) {
      throw corrupted(
        `thread ${threadId}'s cache holds block ${hex(ptr)}, whose alloc bitmap says it is live`,
      );
    }
  }
  slabCheckMark(ss, d, idx, 'a thread cache');
  const cached = ss.checkCached!;
  cached.set(d, (cached.get(d) ?? 0) + 1);
}

/** Marks block `idx` of slab `d` as listed (in `where`); ERR_HEAP_CORRUPTED when it was listed already. */
function slabCheckMark(ss: Superslab, d: number, idx: number, where: string): void {
  const marks = ss.checkMarks!;
  let m = marks.get(d);
  if (m === undefined) {
    m = new Uint8Array(TINY_CLASS_BLOCKS[ss.i32[d + SL_CLASS]!]!);
    marks.set(d, m);
  }
  if (m[idx] !== 0) {
    throw corrupted(
      `block ${idx} of the slab at ${ss.u32[d + SL_START]} is listed twice (again in ${where})`,
    );
  }
  m[idx] = 1;
}

/**
 * check, step 2: every SuperSlab, slab, list and bitmap (see the invariants in layout.ts).
 * Returns the live blocks per class that the slabs account for (used − cached − remote).
 */
export function slabCheck(ss: Superslab): Float64Array {
  if (ss.checkMarks === null) slabCheckBegin(ss);
  ss.slabRefreshViews();
  const arena = ss.arena;
  const i32 = ss.i32;
  const u32 = ss.u32;
  const root = ss.root;
  const strict = ss.strict;
  const live = new Float64Array(TINY_CLASS_COUNT);
  const cached = ss.checkCached!;
  const liveThreads = new Set(arena.threadIds());
  const seenInList = new Set<number>();
  /** Blocks per slab in the threads' outgoing buffers (remote-pending, not yet in the remote list). */
  const outbound = new Map<number, number>();

  // Thread lists.
  for (const tid of liveThreads) {
    const words = arena.threadTierWords(ss.tier, tid);
    const offset = words === 0 ? 0 : Atomics.load(i32, words + TW_SLABS) >>> 0;
    if (offset === 0) continue;
    const area = offset >>> 2;
    if (i32[area + TS_THREAD] !== tid)
      throw corrupted(`thread ${tid}'s tiny area names thread ${i32[area + TS_THREAD]}`);
    for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
      for (const [head, state] of [
        [TS_PARTIAL, SLAB_PARTIAL],
        [TS_FULL, SLAB_FULL],
      ] as const) {
        let prev = 0;
        let n = 0;
        for (let d = i32[area + head + cls]!; d !== 0; d = i32[d + SL_NEXT]!) {
          if (seenInList.has(d))
            throw corrupted(`slab descriptor ${d * 4} is in two lists (or a list has a cycle)`);
          seenInList.add(d);
          if (i32[d + SL_PREV] !== prev)
            throw corrupted(`slab at ${u32[d + SL_START]}: back link ${i32[d + SL_PREV]! * 4} ≠ ${prev * 4}`);
          if (i32[d + SL_STATE] !== state || i32[d + SL_CLASS] !== cls || i32[d + SL_OWNER] !== tid) {
            throw corrupted(
              `slab at ${u32[d + SL_START]} in thread ${tid}'s ${state === SLAB_PARTIAL ? 'partial' : 'full'} list of class ${cls} has state ${i32[d + SL_STATE]}, class ${i32[d + SL_CLASS]}, owner ${i32[d + SL_OWNER]}`,
            );
          }
          prev = d;
          n++;
        }
        if (state === SLAB_FULL && n !== i32[area + TS_FULL_COUNT + cls]) {
          throw corrupted(
            `thread ${tid}'s full list of class ${cls} has ${n} slabs, its count says ${i32[area + TS_FULL_COUNT + cls]}`,
          );
        }
      }
    }
    slabCheckOutgoing(ss, tid, area, outbound);
  }
  // Abandoned lists.
  for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
    for (let d = i32[root + R_ABANDONED + cls]!; d !== 0; d = i32[d + SL_NEXT]!) {
      if (seenInList.has(d))
        throw corrupted(`slab descriptor ${d * 4} is in two lists (or the abandoned list has a cycle)`);
      seenInList.add(d);
      if (i32[d + SL_STATE] !== SLAB_ABANDONED || i32[d + SL_CLASS] !== cls || i32[d + SL_OWNER] !== 0) {
        throw corrupted(
          `slab at ${u32[d + SL_START]} in the abandoned list of class ${cls} has state ${i32[d + SL_STATE]}, class ${i32[d + SL_CLASS]}, owner ${i32[d + SL_OWNER]}`,
        );
      }
    }
  }

  // Registry, SuperSlabs, slabs.
  let count = 0;
  let emptySS = 0;
  let slabsOut = 0;
  let prevS = 0;
  const avail = new Set<number>();
  for (let s = i32[root + R_AVAIL_HEAD]!, prev = 0; s !== 0; prev = s, s = i32[s + SS_AVAIL_NEXT]!) {
    if (avail.has(s)) throw corrupted('the SuperSlab avail list has a cycle');
    if (i32[s + SS_AVAIL_PREV] !== prev) throw corrupted(`SuperSlab ${s * 4}: avail back link is wrong`);
    avail.add(s);
    if (i32[s + SS_AVAIL_NEXT] === 0 && i32[root + R_AVAIL_TAIL] !== s)
      throw corrupted('the SuperSlab avail list tail is wrong');
  }
  for (let s = i32[root + R_SS_HEAD]!; s !== 0; prevS = s, s = i32[s + SS_NEXT]!) {
    if (++count > 1 << 20) throw corrupted('the SuperSlab registry has a cycle');
    if (i32[s + SS_PREV] !== prevS) throw corrupted(`SuperSlab ${s * 4}: registry back link is wrong`);
    const slabs = i32[s + SS_SLABS]!;
    const start = u32[s + SS_START]!;
    if (!(slabs >= 1 && slabs <= SUPERSLAB_SLABS) || start % SLAB_BYTES !== 0) {
      throw corrupted(`SuperSlab ${s * 4} has ${slabs} slabs from ${start}`);
    }
    const mask = i32[s + SS_EMPTY]!;
    if ((mask !== 0) !== avail.has(s) || (i32[s + SS_IN_AVAIL] === 1) !== avail.has(s)) {
      throw corrupted(
        `SuperSlab at ${start}: empty mask ${hex(mask)} disagrees with its place in the avail list`,
      );
    }
    if (mask === superslabFullMask(slabs)) emptySS++;
    for (let i = 0; i < slabs; i++) {
      const d = s + SS_HEADER_WORDS + i * SL_WORDS;
      const slabStart = start + i * SLAB_BYTES;
      const entry = arena.pageEntry(slabStart);
      if (entry < 0 || (u32[entry + PM_TIER]! & PM_TIER_MASK) !== ss.tier || u32[entry + PM_DESC] !== d * 4) {
        throw corrupted(
          `page ${slabStart / SLAB_BYTES} of SuperSlab at ${start} is not a page of tier ${ss.tier} naming its slab descriptor`,
        );
      }
      if (
        u32[d + SL_START] !== slabStart ||
        i32[d + SL_SELF] !== d ||
        i32[d + SL_INDEX] !== i ||
        i32[d + SL_REMOTE_AT] !== s + SS_REMOTE + i * REMOTE_STRIDE
      ) {
        throw corrupted(`slab descriptor ${d * 4} does not describe slab ${i} of SuperSlab at ${start}`);
      }
      const inPool = (mask & (1 << i)) !== 0;
      const state = i32[d + SL_STATE]!;
      if (inPool) {
        if (
          state !== SLAB_POOL ||
          i32[d + SL_CLASS] !== -1 ||
          i32[d + SL_OWNER] !== 0 ||
          i32[d + SL_USED] !== 0
        ) {
          throw corrupted(
            `pool slab at ${slabStart} has state ${state}, class ${i32[d + SL_CLASS]}, owner ${i32[d + SL_OWNER]}, used ${i32[d + SL_USED]}`,
          );
        }
        continue;
      }
      slabsOut++;
      if (!seenInList.has(d)) {
        throw corrupted(
          `slab at ${slabStart} (state ${state}, owner ${i32[d + SL_OWNER]}) is in no list: neither its owner's nor the abandoned list`,
        );
      }
      if ((state === SLAB_PARTIAL || state === SLAB_FULL) && !liveThreads.has(i32[d + SL_OWNER]!)) {
        throw corrupted(
          `slab at ${slabStart} is owned by thread ${i32[d + SL_OWNER]}, which is not attached`,
        );
      }
      live[i32[d + SL_CLASS]!]! += slabCheckOne(ss, d, cached.get(d) ?? 0, outbound.get(d) ?? 0, strict);
    }
  }
  if (count !== i32[root + R_SS_COUNT])
    throw corrupted(`the registry holds ${count} SuperSlabs, its count says ${i32[root + R_SS_COUNT]}`);
  for (const s of avail) {
    if (i32[s + SS_EMPTY] === 0) throw corrupted(`SuperSlab ${s * 4} is in the avail list with no pool slab`);
  }
  if (emptySS !== i32[root + R_EMPTY_SS])
    throw corrupted(`${emptySS} SuperSlabs are fully empty, the count says ${i32[root + R_EMPTY_SS]}`);
  if (slabsOut !== i32[root + R_SLABS_OUT])
    throw corrupted(`${slabsOut} slabs are out of the pool, the count says ${i32[root + R_SLABS_OUT]}`);
  for (const d of cached.keys()) {
    if (!seenInList.has(d))
      throw corrupted(`a thread cache holds blocks of slab descriptor ${d * 4}, which is not in use`);
  }
  for (const d of outbound.keys()) {
    if (!seenInList.has(d))
      throw corrupted(`an outgoing buffer holds blocks of slab descriptor ${d * 4}, which is not in use`);
  }
  // This handle's private map of owned slabs agrees with the shared owner words.
  const owned = ss.owned;
  for (let page = 0; page < owned.length; page++) {
    const e = owned[page]!;
    if (e === 0) continue;
    const d = ownedDesc(e);
    if (
      u32[d + SL_START]! >>> SLAB_SHIFT !== page ||
      i32[d + SL_OWNER] !== ss.threadId ||
      i32[d + SL_CLASS] !== ownedClass(e)
    ) {
      throw corrupted(
        `thread ${ss.threadId}'s map of owned slabs names page ${page} as its ${ownedClass(e)} class slab ${d * 4}, which it is not`,
      );
    }
  }
  if (ss.area !== 0) {
    for (let cls = 0; cls < TINY_CLASS_COUNT; cls++) {
      for (const head of [TS_PARTIAL, TS_FULL]) {
        for (let d = i32[ss.area + head + cls]!; d !== 0; d = i32[d + SL_NEXT]!) {
          if (owned[u32[d + SL_START]! >>> SLAB_SHIFT] !== ownedEntry(d, cls)) {
            throw corrupted(
              `thread ${ss.threadId}'s slab at ${u32[d + SL_START]} is missing from its map of owned slabs`,
            );
          }
        }
      }
    }
  }
  ss.checkMarks = null;
  ss.checkCached = null;
  return live;
}

/**
 * Thread `tid`'s outgoing buffer (its area at i32 index `area`): each slot empty (slab 0, count
 * 0) or a chain of OUT_COUNT remote-pending blocks of a slab in use ending at OUT_TAIL, each
 * listed once; adds each slab's blocks to `outbound`.
 */
function slabCheckOutgoing(ss: Superslab, tid: number, area: number, outbound: Map<number, number>): void {
  const i32 = ss.i32;
  const u32 = ss.u32;
  const out = i32[area + TS_OUT]!;
  if (out === 0) return;
  if (!(out > 0 && out + (OUT_SLOTS << OUT_SHIFT) <= i32.length))
    throw corrupted(`thread ${tid}'s outgoing buffer is at i32 index ${out}, outside the memory`);
  for (let k = 0; k < OUT_SLOTS; k++) {
    const slot = out + (k << OUT_SHIFT);
    const d = i32[slot + OUT_SLAB]!;
    const n = i32[slot + OUT_COUNT]!;
    const where = `thread ${tid}'s outgoing buffer slot ${k}`;
    if (d === 0) {
      if (n !== 0) throw corrupted(`${where} names no slab but counts ${n} blocks`);
      continue;
    }
    const cls = d > 0 && d < i32.length && (d & 15) === 0 ? i32[d + SL_CLASS]! : -1;
    if (!(cls >= 0 && cls < TINY_CLASS_COUNT) || ((d >>> 4) & (OUT_SLOTS - 1)) !== k) {
      throw corrupted(
        `${where} names slab descriptor ${d * 4} (class ${cls}), not a slab in use of this slot`,
      );
    }
    if (!(n >= 1 && n <= OUT_BATCH)) throw corrupted(`${where} counts ${n} blocks (1 … ${OUT_BATCH})`);
    let p = u32[slot + OUT_HEAD]!;
    let last = 0;
    for (let i = 0; i < n; i++) {
      const idx = slabBlockIndex(ss, d, cls, p);
      if (idx < 0) {
        throw corrupted(
          `${where}: link ${i} is ${hex(p)}, not a carved block of the ${TINY_CLASS_SIZE[cls]} B slab`,
        );
      }
      slabCheckMark(ss, d, idx, `thread ${tid}'s outgoing buffer`);
      if (ss.strict) slabCheckBits(ss, d, idx, true, true, 'in an outgoing buffer');
      last = p;
      p = u32[p >>> 2]!;
    }
    if (last !== u32[slot + OUT_TAIL])
      throw corrupted(
        `${where}: its ${n} blocks end at ${hex(last)}, its tail says ${hex(u32[slot + OUT_TAIL]!)}`,
      );
    outbound.set(d, (outbound.get(d) ?? 0) + n);
  }
}

/** Checks one slab in use; returns its live blocks (used − cached − remote-pending). */
function slabCheckOne(ss: Superslab, d: number, cached: number, outbound: number, strict: boolean): number {
  const i32 = ss.i32;
  const u32 = ss.u32;
  const cls = i32[d + SL_CLASS]!;
  const start = u32[d + SL_START]!;
  const where = `slab at ${start}`;
  if (!(cls >= 0 && cls < TINY_CLASS_COUNT)) throw corrupted(`${where} has class ${cls}`);
  const cap = TINY_CLASS_BLOCKS[i32[d + SL_CLASS]!]!;
  const carved = i32[d + SL_CARVED]!;
  const used = i32[d + SL_USED]!;
  if (!(carved >= 0 && carved <= cap) || !(used >= 0 && used <= carved)) {
    throw corrupted(
      `${where} (${TINY_CLASS_SIZE[cls]} B): capacity ${cap}, carved ${carved}, used ${used} are inconsistent`,
    );
  }
  if (i32[d + SL_INV] !== TINY_CLASS_INV[cls] || i32[d + SL_SHIFT] !== TINY_CLASS_SHIFT[cls]) {
    throw corrupted(
      `${where}: its block-index constants do not belong to the ${TINY_CLASS_SIZE[cls]} B class`,
    );
  }
  let free = 0;
  for (let p = u32[d + SL_FREE]!; p !== 0; p = u32[p >>> 2]!) {
    const idx = slabBlockIndex(ss, d, cls, p);
    if (idx < 0)
      throw corrupted(
        `${where}: local free list links to ${hex(p)}, not a carved block of ${TINY_CLASS_SIZE[cls]} B`,
      );
    slabCheckMark(ss, d, idx, 'the local free list');
    if (strict) slabCheckBits(ss, d, idx, false, false, 'in the local free list');
    free++;
  }
  let remote = 0;
  for (let p = Atomics.load(i32, i32[d + SL_REMOTE_AT]!) >>> 0; p !== 0; p = u32[p >>> 2]!) {
    const idx = slabBlockIndex(ss, d, cls, p);
    if (idx < 0)
      throw corrupted(
        `${where}: remote-free list links to ${hex(p)}, not a carved block of ${TINY_CLASS_SIZE[cls]} B`,
      );
    slabCheckMark(ss, d, idx, 'the remote-free list');
    if (strict) slabCheckBits(ss, d, idx, true, true, 'in the remote-free list');
    remote++;
  }
  const listed = remote;
  remote += outbound;
  if (used !== carved - free) throw corrupted(`${where}: used ${used} ≠ carved ${carved} − free ${free}`);
  if (used < cached + remote)
    throw corrupted(`${where}: used ${used} < cached ${cached} + remote-pending ${remote}`);
  if (strict) {
    const bm = i32[d + SL_BITMAP]!;
    const words = bitmapWords(cap);
    if (words > i32[d + SL_BITMAP_CAP]!)
      throw corrupted(`${where}: bitmap of ${words} words for ${cap} blocks`);
    let alloc = 0;
    let pending = 0;
    for (let w = 0; w < words; w++) {
      const a = i32[bm + 2 * w]!;
      const r = i32[bm + 2 * w + 1]!;
      alloc += popcount(a);
      pending += popcount(r);
      for (let b = 0; b < 32; b++) {
        const idx = w * 32 + b;
        if (idx >= carved && ((a | r) & (1 << b)) !== 0)
          throw corrupted(`${where}: bitmap bit ${idx} is set beyond carved ${carved}`);
      }
    }
    if (pending !== remote)
      throw corrupted(
        `${where}: ${pending} remote-pending bits for ${listed} blocks in the remote-free list and ${outbound} in outgoing buffers`,
      );
    if (alloc !== used - cached)
      throw corrupted(
        `${where}: ${alloc} alloc bits, but used ${used} − cached ${cached} = ${used - cached}`,
      );
  }
  return used - cached - remote;
}

/** Strict: block `idx` of slab `d` must have the alloc and remote bits `alloc` and `pending`. */
function slabCheckBits(
  ss: Superslab,
  d: number,
  idx: number,
  alloc: boolean,
  pending: boolean,
  where: string,
): void {
  const i32 = ss.i32;
  const w = bitmapWordOf(i32[d + SL_BITMAP]!, idx);
  const bit = bitmapBit(idx);
  const a = (i32[w]! & bit) !== 0;
  const r = (i32[w + 1]! & bit) !== 0;
  if (a !== alloc || r !== pending) {
    throw corrupted(
      `block ${idx} of the slab at ${ss.u32[d + SL_START]} ${where} has alloc bit ${+a} and remote bit ${+r}`,
    );
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

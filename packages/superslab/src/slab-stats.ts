/**
 * The tier's figures: SuperSlabs, pages, slabs in and out of the pool, abandoned slabs, and
 * per class the slabs, the blocks out of them and the remote-pending blocks — counted by a walk
 * of the registry under the tier lock (a slow path, exact when the threads are quiescent).
 */
import {
  OUT_COUNT,
  OUT_SHIFT,
  OUT_SLAB,
  OUT_SLOTS,
  R_SS_HEAD,
  SL_CLASS,
  SL_REMOTE_AT,
  SL_STATE,
  SL_USED,
  SL_WORDS,
  SLAB_ABANDONED,
  SS_HEADER_WORDS,
  SS_NEXT,
  SS_SLABS,
  TS_OUT,
  TW_SLABS,
} from './layout';
import { TINY_CLASS_BLOCKS, TINY_CLASS_SIZE } from './size-classes';
import type { Superslab } from './superslab';

/** Per-class figures of the slabs (slow path: walks the registry). */
export interface SlabStats {
  /** SuperSlabs in the registry. */
  superslabs: number;
  /** Pages of all SuperSlabs. */
  pages: number;
  /** Slabs out of the pool (owned or abandoned). */
  slabs: number;
  /** Slabs in the pool (free for any class or thread). */
  poolSlabs: number;
  /** Abandoned slabs (owner detached or died), adoptable by any thread. */
  abandonedSlabs: number;
  /** Per class: slabs, blocks out of the slabs (live + cached + remote-pending), remote-pending blocks. */
  classes: Array<{ size: number; slabs: number; used: number; remote: number }>;
}

/** Counts of the whole tier (walks the registry under the tier lock; exact when quiescent). */
export function slabStats(ss: Superslab): SlabStats {
  ss.slabRefreshViews();
  const classes = Array.from(TINY_CLASS_SIZE, (size) => ({ size, slabs: 0, used: 0, remote: 0 }));
  let superslabs = 0;
  let pages = 0;
  let slabs = 0;
  let poolSlabs = 0;
  let abandonedSlabs = 0;
  ss.slabLock();
  const i32 = ss.i32;
  const u32 = ss.u32;
  for (let s = i32[ss.root + R_SS_HEAD]!; s !== 0; s = i32[s + SS_NEXT]!) {
    superslabs++;
    const n = i32[s + SS_SLABS]!;
    pages += n;
    for (let i = 0; i < n; i++) {
      const d = s + SS_HEADER_WORDS + i * SL_WORDS;
      const cls = i32[d + SL_CLASS]!;
      if (cls < 0) {
        poolSlabs++;
        continue;
      }
      slabs++;
      if (i32[d + SL_STATE] === SLAB_ABANDONED) abandonedSlabs++;
      const c = classes[cls]!;
      c.slabs++;
      c.used += i32[d + SL_USED]!;
      let remote = 0;
      const cap = TINY_CLASS_BLOCKS[i32[d + SL_CLASS]!]!;
      for (
        let p = Atomics.load(i32, i32[d + SL_REMOTE_AT]!) >>> 0;
        p !== 0 && remote <= cap;
        p = u32[p >>> 2]!
      )
        remote++;
      c.remote += remote;
    }
  }
  ss.slabUnlock();
  // Remote frees still in the threads' outgoing buffers are remote-pending too.
  for (const tid of ss.arena.threadIds()) {
    const words = ss.arena.threadTierWords(ss.tier, tid);
    const offset = words === 0 ? 0 : Atomics.load(ss.i32, words + TW_SLABS) >>> 0;
    const out = offset === 0 ? 0 : ss.i32[(offset >>> 2) + TS_OUT]!;
    if (out === 0) continue;
    for (let k = 0; k < OUT_SLOTS; k++) {
      const slot = out + (k << OUT_SHIFT);
      const d = ss.i32[slot + OUT_SLAB]!;
      const cls = d === 0 ? -1 : ss.i32[d + SL_CLASS]!;
      if (cls >= 0 && cls < TINY_CLASS_SIZE.length) classes[cls]!.remote += ss.i32[slot + OUT_COUNT]!;
    }
  }
  return { superslabs, pages, slabs, poolSlabs, abandonedSlabs, classes };
}

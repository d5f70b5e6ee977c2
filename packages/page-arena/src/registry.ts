/**
 * The registry intent record (HDR_REG_*): what the arena mutex's holder is doing to the thread
 * registry, the tier directory or the lock registry — updates that call metaAlloc/metaFree (whose
 * own steps use the arena's intent record, repair.ts) between their writes. breakLocksOf's repair
 * settles the arena's record and rebuilds the page map's derived state first, then finishes or
 * undoes the update named here (freeing a block it held only if it is still handed out), then
 * rebuilds the registry's derived state: the free-id list and the live count, from the records'
 * states. See layout.ts, "Crash consistency".
 */
import type { Arena } from './arena';
import { crashPoint } from './crash';
import { HakmemError } from './errors';
import {
  HDR_LOCKREG_ARRAY,
  HDR_LOCKREG_CAP,
  HDR_REG_A,
  HDR_REG_B,
  HDR_REG_C,
  HDR_REG_D,
  HDR_REG_OP,
  HDR_THREAD_CHUNKS,
  HDR_THREAD_DIR,
  HDR_THREAD_FREE,
  HDR_THREAD_HIGH,
  HDR_THREAD_LIVE,
  HDR_TIER_CAP,
  HDR_TIER_COUNT,
  HDR_TIER_DIR,
  REG_LOCK_ARRAY,
  REG_NONE,
  REG_THREAD_ATTACH,
  REG_THREAD_CHUNK,
  REG_THREAD_RELEASE,
  REG_TIER_DIR,
  REG_TIER_ROOT,
  REG_TIER_WORDS,
  TD_WORDS,
  THREAD_FREE,
  THREAD_LIVE,
  TIER_FIRST,
  TR_NEXT_FREE,
  TR_STATE,
  TR_TIER_SLOTS,
  TR_TIER_WORDS,
} from './layout';
import { metaFreeLocked, metaIsHandedOut } from './meta';

/** Writes the registry intent record: operands first, the op last. */
export function regBegin(arena: Arena, op: number, a: number, b: number, c: number, d = 0): void {
  const hdr = arena.hdr;
  if (__DEV__) crashPoint();
  hdr[HDR_REG_A] = a;
  hdr[HDR_REG_B] = b;
  hdr[HDR_REG_C] = c;
  hdr[HDR_REG_D] = d;
  if (__DEV__) crashPoint();
  hdr[HDR_REG_OP] = op;
}

/** The registry update is complete (or was given up before its first write): no intent. */
export function regEnd(arena: Arena): void {
  if (__DEV__) crashPoint();
  arena.hdr[HDR_REG_OP] = REG_NONE;
}

/** Frees metaAlloc block `offset` if it is still handed out (the repair's free). */
function repairFree(arena: Arena, offset: number): void {
  if (offset !== 0 && metaIsHandedOut(arena, offset)) metaFreeLocked(arena, offset);
}

/**
 * Under the mutex taken over from dead thread `dead`, after the arena's own repair: finishes or
 * undoes the registry update its record names, then rebuilds the free-id list and the live
 * count from the records' states. O(thread ids).
 */
export function registryRepairLocked(arena: Arena, dead: number): void {
  const hdr = arena.hdr;
  const op = hdr[HDR_REG_OP]!;
  const a = hdr[HDR_REG_A]! >>> 0;
  const b = hdr[HDR_REG_B]! >>> 0;
  const c = hdr[HDR_REG_C]! >>> 0;
  const d = hdr[HDR_REG_D]! >>> 0;
  switch (op) {
    case REG_NONE:
      break;
    case REG_THREAD_CHUNK:
      if (hdr[HDR_THREAD_CHUNKS]! <= a) {
        hdr[HDR_THREAD_DIR + a] = 0;
        repairFree(arena, b);
      }
      break;
    case REG_THREAD_ATTACH: // undone: nobody learnt the id (a new id not yet counted was not taken)
      if (a >= 1 && a <= hdr[HDR_THREAD_HIGH]!)
        Atomics.store(arena.i32, arena.threadRecord(a) + TR_STATE, THREAD_FREE);
      break;
    case REG_THREAD_RELEASE: {
      // Finished: the tier words freed; the slot free — unless the dead thread released its own
      // slot while another thread had claimed it, whose threadRelease frees it.
      const record = arena.threadRecord(a);
      repairFree(arena, b);
      Atomics.store(arena.i32, record + TR_TIER_WORDS, 0);
      const state = Atomics.load(arena.i32, record + TR_STATE);
      if (a !== dead || state === THREAD_LIVE) Atomics.store(arena.i32, record + TR_STATE, THREAD_FREE);
      break;
    }
    case REG_TIER_WORDS:
      if (b !== 0 && Atomics.load(arena.i32, a + TR_TIER_WORDS) === b >>> 2) {
        repairFree(arena, c * 4);
      } else {
        arena.i32[a + TR_TIER_SLOTS] = d;
        repairFree(arena, b);
      }
      break;
    case REG_TIER_DIR:
      repairReplaced(arena, HDR_TIER_DIR, HDR_TIER_CAP, a, b, c);
      break;
    case REG_TIER_ROOT:
      if (hdr[HDR_TIER_COUNT]! <= a - TIER_FIRST) {
        const dir = hdr[HDR_TIER_DIR]!;
        const e = dir + (a - TIER_FIRST) * TD_WORDS;
        if (dir !== 0) arena.i32.fill(0, e, e + TD_WORDS);
        repairFree(arena, b);
      }
      break;
    case REG_LOCK_ARRAY:
      repairReplaced(arena, HDR_LOCKREG_ARRAY, HDR_LOCKREG_CAP, a, b, c);
      break;
    default:
      throw new HakmemError(
        'ERR_HEAP_CORRUPTED',
        `repair: the registry intent record names op ${op}, not a registry update`,
      );
  }
  hdr[HDR_REG_OP] = REG_NONE;
  threadsRebuild(arena);
}

/**
 * An array (header words `arrayWord`, `capWord`) being replaced by block `next` (capacity `cap`),
 * the old one at `old`: finished when published (capacity set, the old block freed), else undone.
 */
function repairReplaced(
  arena: Arena,
  arrayWord: number,
  capWord: number,
  next: number,
  old: number,
  cap: number,
): void {
  if (next !== 0 && arena.hdr[arrayWord] === next >>> 2) {
    arena.hdr[capWord] = cap;
    repairFree(arena, old * 4);
  } else {
    repairFree(arena, next);
  }
}

/** The free-id list (lowest id first) and the live count from the records' states. O(thread ids). */
export function threadsRebuild(arena: Arena): void {
  const hdr = arena.hdr;
  const i32 = arena.i32;
  let head = 0;
  let live = 0;
  for (let id = hdr[HDR_THREAD_HIGH]!; id >= 1; id--) {
    const record = arena.threadRecord(id);
    if (Atomics.load(i32, record + TR_STATE) === THREAD_FREE) {
      i32[record + TR_NEXT_FREE] = head;
      head = id;
    } else {
      live++;
    }
  }
  hdr[HDR_THREAD_FREE] = head;
  hdr[HDR_THREAD_LIVE] = live;
}

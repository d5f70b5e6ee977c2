/**
 * The thread registry: 1-based thread ids, each with a record of THREAD_RECORD_WORDS words in
 * chunk k of the registry (from metaAlloc, 64 << k records); released ids form a LIFO free
 * list, new ids raise the high-water mark. A thread's per-tier words (TIER_THREAD_WORDS per
 * tier id) live in a block its record names, created and doubled only by the thread itself.
 * Here too are the lock words tiers register so that breakLocksOf can release whatever a dead
 * thread held. See layout.ts, "Thread records".
 */
import type { Arena } from './arena';
import { crashPoint } from './crash';
import { HakmemError } from './errors';
import {
  HDR_LOCK,
  HDR_LOCKREG_ARRAY,
  HDR_LOCKREG_CAP,
  HDR_LOCKREG_COUNT,
  HDR_REG_A,
  HDR_REG_B,
  HDR_THREAD_CHUNKS,
  HDR_THREAD_DIR,
  HDR_THREAD_FREE,
  HDR_THREAD_HIGH,
  HDR_THREAD_LIVE,
  LOCK_OWNER_ANON,
  LOCK_OWNER_MASK,
  REG_LOCK_ARRAY,
  REG_THREAD_ATTACH,
  REG_THREAD_CHUNK,
  REG_THREAD_RELEASE,
  REG_TIER_WORDS,
  THREAD_CHUNK0_SHIFT,
  THREAD_FREE,
  THREAD_LIVE,
  THREAD_RECLAIMING,
  THREAD_RECORD_WORDS,
  TIER_FIRST,
  TIER_LAST,
  TIER_THREAD_SLOTS0,
  TIER_THREAD_WORDS,
  TR_CLAIM,
  TR_GENERATION,
  TR_NEXT_FREE,
  TR_STATE,
  TR_TIER_SLOTS,
  TR_TIER_WORDS,
} from './layout';
import { metaAllocRecorded, metaFreeLocked } from './meta';
import { mutexBreak } from './mutex';
import { describe } from './options';
import { regBegin, regEnd } from './registry';
import { arenaRepairLocked } from './repair';

/** i32 index of thread `id`'s record (THREAD_RECORD_WORDS words). */
export function threadRecord(arena: Arena, id: number): number {
  if (!(id >= 1 && id <= arena.hdr[HDR_THREAD_HIGH]!) || !Number.isInteger(id)) {
    throw new HakmemError(
      'ERR_INVALID_THREAD',
      `threadRecord: thread id ${id} was never handed out (ids 1..${arena.hdr[HDR_THREAD_HIGH]})`,
    );
  }
  const index = id - 1;
  const chunk = 31 - Math.clz32((index >>> THREAD_CHUNK0_SHIFT) + 1);
  const first = ((1 << chunk) - 1) << THREAD_CHUNK0_SHIFT;
  const record = arena.hdr[HDR_THREAD_DIR + chunk]! + (index - first) * THREAD_RECORD_WORDS;
  if (record * 4 >= arena.viewBytes) arena.refresh();
  return record;
}

/** TR_STATE of thread `id` (Atomics read). */
export function threadState(arena: Arena, id: number): number {
  return Atomics.load(arena.i32, threadRecord(arena, id) + TR_STATE);
}

/** The claim token word (TR_CLAIM) of the record at i32 index `record`, as a one-element BigUint64Array. */
function threadClaimWord(arena: Arena, record: number): BigUint64Array {
  return new BigUint64Array(arena.buffer, (record + TR_CLAIM) * 4, 1);
}

/** The claim token of this instance: its thread id and its slot's generation. */
function threadClaimToken(arena: Arena): bigint {
  const me = arena.threadId;
  if (me === 0) return BigInt(LOCK_OWNER_ANON);
  const generation = Atomics.load(arena.i32, threadRecord(arena, me) + TR_GENERATION) >>> 0;
  return BigInt(me) | (BigInt(generation) << 32n);
}

/**
 * Whether the claimer named by `token` is gone: its slot free or being reclaimed, or attached
 * again (another generation). An instance without a slot (LOCK_OWNER_ANON) is never known gone.
 */
function threadClaimerGone(arena: Arena, token: bigint): boolean {
  const claimer = Number(token & 0xffffffffn);
  const generation = Number(token >> 32n);
  if (claimer === LOCK_OWNER_ANON || claimer < 1 || claimer > arena.hdr[HDR_THREAD_HIGH]!) return false;
  const record = threadRecord(arena, claimer);
  return (
    Atomics.load(arena.i32, record + TR_STATE) !== THREAD_LIVE ||
    Atomics.load(arena.i32, record + TR_GENERATION) >>> 0 !== generation
  );
}

/**
 * Claims thread `id` for reclaiming, without any lock (the dead thread may hold them all): a
 * claim token (this instance's id and generation) goes into the slot by CAS, then its state goes
 * live → reclaiming, so of two reclaims of one thread exactly one goes on. A slot whose claimer
 * is itself gone (reclaimed, released, or its slot attached again) — a reclaimer that died
 * mid-reclaim — is taken over the same way: the new claimer goes on from wherever the dead one
 * stopped, so every step of a reclaim must be safe to run again over a half-reclaimed thread (the
 * arena's breakLocksOf and threadRelease are; the tiers' reclaim are run again from the start).
 * Claim from an attached instance: an unattached claimer can never be known gone. With
 * `generation`, the slot must still hold that generation (the thread the caller saw, not a later
 * one attached to the same slot). Returns the slot's generation. ERR_INVALID_THREAD, with nothing
 * changed, when the slot is free, being reclaimed by a claimer that is not gone, or of another
 * generation.
 */
export function threadClaim(arena: Arena, id: number, generation?: number): number {
  arena.refresh(); // the token's view is made over the current buffer
  const record = threadRecord(arena, id);
  const i32 = arena.i32;
  const word = threadClaimWord(arena, record);
  const mine = threadClaimToken(arena);
  for (;;) {
    const seen = Atomics.load(i32, record + TR_GENERATION);
    if (generation !== undefined && seen !== generation) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `threadClaim(${id}): the slot holds generation ${seen}, not ${describe(generation)} (the thread it named is gone)`,
      );
    }
    const state = Atomics.load(i32, record + TR_STATE);
    if (state === THREAD_FREE) {
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        (Atomics.load(arena.hdr, HDR_LOCK) & LOCK_OWNER_MASK) === id
          ? `threadClaim(${id}): thread ${id} is not attached but holds the arena mutex (it died finishing its threadRelease): breakLocksOf(${id}) releases it`
          : `threadClaim(${id}): thread ${id} is not attached`,
      );
    }
    const token = Atomics.load(word, 0);
    if (token !== 0n && !threadClaimerGone(arena, token)) {
      const claimer = Number(token & 0xffffffffn);
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `threadClaim(${id}): thread ${id} is already being reclaimed by ${claimer === LOCK_OWNER_ANON ? 'an instance without a thread slot' : `thread ${claimer}`}`,
      );
    }
    if (token === 0n && state !== THREAD_LIVE) {
      // Reclaiming with no token: a claim of the old protocol, or a claimer between its two steps.
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        `threadClaim(${id}): thread ${id} is already being reclaimed by another thread`,
      );
    }
    if (Atomics.compareExchange(word, 0, token, mine) !== token) continue; // another claim won: look again
    const was = Atomics.compareExchange(i32, record + TR_STATE, THREAD_LIVE, THREAD_RECLAIMING);
    const now = Atomics.load(i32, record + TR_GENERATION);
    if (was === THREAD_FREE || (generation !== undefined && now !== generation)) {
      // Released, or released and attached again, since the reads above: give it back.
      if (was === THREAD_LIVE) Atomics.store(i32, record + TR_STATE, THREAD_LIVE);
      Atomics.compareExchange(word, 0, mine, 0n);
      throw new HakmemError(
        'ERR_INVALID_THREAD',
        was === THREAD_FREE
          ? `threadClaim(${id}): thread ${id} is not attached`
          : `threadClaim(${id}): generation ${generation} is gone`,
      );
    }
    return now;
  }
}

/**
 * Takes a thread slot (a released one first) for this instance; sets and returns threadId (≥ 1).
 * Under the mutex as LOCK_OWNER_ANON (the id is not known yet): a thread that dies inside it is
 * repaired by breakLocksOf(LOCK_OWNER_ANON) — the attach undone, its slot free.
 */
export function threadAttach(arena: Arena): number {
  if (arena.threadId !== 0) {
    throw new HakmemError(
      'ERR_INVALID_THREAD',
      `threadAttach: this Arena is already attached as thread ${arena.threadId}`,
    );
  }
  arena.lock();
  let id = 0;
  try {
    const reused = arena.hdr[HDR_THREAD_FREE]!;
    id = reused;
    if (id === 0) {
      id = arena.hdr[HDR_THREAD_HIGH]! + 1;
      const chunks = arena.hdr[HDR_THREAD_CHUNKS]!;
      if (id > ((1 << chunks) - 1) << THREAD_CHUNK0_SHIFT) threadChunkAdd(arena, chunks);
    }
    // metaAlloc may have grown the memory: the header is read through the current view.
    const hdr = arena.hdr;
    regBegin(arena, REG_THREAD_ATTACH, id, 0, 0);
    if (reused !== 0) {
      const next = arena.i32[threadRecord(arena, id) + TR_NEXT_FREE]!;
      if (__DEV__) crashPoint();
      hdr[HDR_THREAD_FREE] = next;
    } else {
      if (__DEV__) crashPoint();
      hdr[HDR_THREAD_HIGH] = id;
    }
    const record = threadRecord(arena, id);
    const i32 = arena.i32;
    if (__DEV__) crashPoint();
    i32.fill(0, record + TR_NEXT_FREE, record + THREAD_RECORD_WORDS);
    if (__DEV__) crashPoint();
    Atomics.add(i32, record + TR_GENERATION, 1);
    if (__DEV__) crashPoint();
    Atomics.store(i32, record + TR_STATE, THREAD_LIVE);
    if (__DEV__) crashPoint();
    hdr[HDR_THREAD_LIVE]!++;
    regEnd(arena);
  } finally {
    arena.unlock();
  }
  arena.threadId = id;
  return id;
}

/** Registry chunk `k` (64 << k records) from metaAlloc, published in HDR_THREAD_DIR (lock held). */
function threadChunkAdd(arena: Arena, k: number): void {
  const records = 1 << (THREAD_CHUNK0_SHIFT + k);
  regBegin(arena, REG_THREAD_CHUNK, k, 0, 0);
  const chunk = metaAllocRecorded(arena, records * THREAD_RECORD_WORDS * 4, HDR_REG_B);
  if (chunk === 0) {
    regEnd(arena);
    throw new HakmemError('ERR_OUT_OF_MEMORY', `threadAttach: no memory for ${records} more thread records`);
  }
  if (__DEV__) crashPoint();
  arena.hdr[HDR_THREAD_DIR + k] = chunk >>> 2;
  if (__DEV__) crashPoint();
  arena.hdr[HDR_THREAD_CHUNKS] = k + 1;
  regEnd(arena);
}

/**
 * Puts slot `id` back (its owner flushed its state first): its tier-words block freed, the slot
 * free and first on the free-id list. ERR_INVALID_THREAD if it is not occupied. A thread that
 * dies inside it (its own slot, or a slot it reclaims) is repaired by breakLocksOf: the release
 * finished — a slot another thread has claimed is left to that claimer's threadRelease.
 */
export function threadRelease(arena: Arena, id: number): void {
  arena.lock();
  try {
    const record = threadRecord(arena, id);
    const i32 = arena.i32;
    if (Atomics.load(i32, record + TR_STATE) === THREAD_FREE) {
      throw new HakmemError('ERR_INVALID_THREAD', `threadRelease: thread id ${id} is not attached`);
    }
    const block = Atomics.load(i32, record + TR_TIER_WORDS);
    regBegin(arena, REG_THREAD_RELEASE, id, block * 4, 0);
    if (block !== 0) {
      metaFreeLocked(arena, block * 4);
      if (__DEV__) crashPoint();
      Atomics.store(arena.i32, record + TR_TIER_WORDS, 0);
    }
    const hdr = arena.hdr;
    if (__DEV__) crashPoint();
    arena.i32[record + TR_NEXT_FREE] = hdr[HDR_THREAD_FREE]!;
    if (__DEV__) crashPoint();
    Atomics.store(arena.i32, record + TR_STATE, THREAD_FREE);
    if (__DEV__) crashPoint();
    hdr[HDR_THREAD_FREE] = id;
    if (__DEV__) crashPoint();
    hdr[HDR_THREAD_LIVE]!--;
    regEnd(arena);
  } finally {
    arena.unlock();
  }
  if (id === arena.threadId) arena.threadId = 0;
}

/** Ids of occupied slots (live or being reclaimed), ascending. Slow path for stats and check. */
export function threadIds(arena: Arena): number[] {
  arena.lock();
  try {
    const ids: number[] = [];
    const high = arena.hdr[HDR_THREAD_HIGH]!;
    for (let id = 1; id <= high; id++) {
      if (Atomics.load(arena.i32, threadRecord(arena, id) + TR_STATE) !== 0) ids.push(id);
    }
    return ids;
  } finally {
    arena.unlock();
  }
}

// ---------------------------------------------------------------------------------------------
// Per-thread tier words

/**
 * i32 index of tier `tierId`'s TIER_THREAD_WORDS words in thread `threadId`'s per-tier block.
 * This thread's block is created or doubled on demand (zero-filled); another thread's is only
 * read: 0 when it has none for that tier.
 */
export function threadTierWords(arena: Arena, tierId: number, threadId: number): number {
  const slot = tierId - TIER_FIRST;
  if (!Number.isInteger(tierId) || slot < 0 || tierId > TIER_LAST) {
    throw new HakmemError('ERR_INVALID_OPTION', `threadTierWords: ${describe(tierId)} is not a tier id`);
  }
  const record = threadRecord(arena, threadId);
  const block = Atomics.load(arena.i32, record + TR_TIER_WORDS);
  if (block !== 0 && slot < arena.i32[record + TR_TIER_SLOTS]!) return block + slot * TIER_THREAD_WORDS;
  if (threadId !== arena.threadId) return 0;
  return threadTierGrow(arena, record, slot);
}

/**
 * Creates or doubles this thread's per-tier block so that `slot` fits: the new block filled and
 * published (slots, then the block with Atomics.store) before the old one is freed, under the
 * registry intent (a crash: undone before the publication, finished after).
 */
export function threadTierGrow(arena: Arena, record: number, slot: number): number {
  arena.lock();
  try {
    const old = arena.i32[record + TR_TIER_WORDS]!;
    const have = old === 0 ? 0 : arena.i32[record + TR_TIER_SLOTS]!;
    let slots = Math.max(TIER_THREAD_SLOTS0, have);
    while (slots <= slot) slots *= 2;
    regBegin(arena, REG_TIER_WORDS, record, 0, old, have);
    const offset = metaAllocRecorded(arena, slots * TIER_THREAD_WORDS * 4, HDR_REG_B);
    if (offset === 0) {
      regEnd(arena);
      throw new HakmemError(
        'ERR_OUT_OF_MEMORY',
        `thread ${arena.threadId}'s tier words: no room for ${slots} tiers within maxBytes ${arena.maxBytes}`,
      );
    }
    const block = offset >>> 2;
    if (old !== 0) {
      if (__DEV__) crashPoint();
      arena.i32.copyWithin(block, old, old + have * TIER_THREAD_WORDS);
    }
    if (__DEV__) crashPoint();
    arena.i32[record + TR_TIER_SLOTS] = slots;
    if (__DEV__) crashPoint();
    Atomics.store(arena.i32, record + TR_TIER_WORDS, block);
    if (old !== 0) metaFreeLocked(arena, old * 4);
    regEnd(arena);
    return block + slot * TIER_THREAD_WORDS;
  } finally {
    arena.unlock();
  }
}

// ---------------------------------------------------------------------------------------------
// Registered lock words and reclaim

/**
 * Registers the lock word at i32 index `index` (in this heap) so breakLocksOf can release it.
 * The entry is written before the count that covers it; a full array is replaced under the
 * registry intent (the new one published before the old one is freed).
 */
export function arenaRegisterLock(arena: Arena, index: number): void {
  if (!Number.isInteger(index) || index < arena.headerIndex || index * 4 >= arena.committedBytes()) {
    throw new HakmemError('ERR_INVALID_POINTER', `registerLock: i32 index ${index} is not in the heap`);
  }
  arena.lock();
  try {
    const count = arena.hdr[HDR_LOCKREG_COUNT]!;
    let array = arena.hdr[HDR_LOCKREG_ARRAY]!;
    for (let i = 0; i < count; i++) if (arena.i32[array + i] === index) return;
    if (count === arena.hdr[HDR_LOCKREG_CAP]) array = lockArrayGrow(arena, array, count);
    if (__DEV__) crashPoint();
    arena.i32[array + count] = index;
    if (__DEV__) crashPoint();
    arena.hdr[HDR_LOCKREG_COUNT] = count + 1;
  } finally {
    arena.unlock();
  }
}

/** Replaces the full lock registry array `old` (`count` entries) by one twice as large; its i32 index. */
function lockArrayGrow(arena: Arena, old: number, count: number): number {
  const cap = Math.max(16, count * 2);
  regBegin(arena, REG_LOCK_ARRAY, 0, old, cap);
  const bigger = metaAllocRecorded(arena, cap * 4, HDR_REG_A);
  if (bigger === 0) {
    regEnd(arena);
    throw new HakmemError('ERR_OUT_OF_MEMORY', 'registerLock: no memory for the lock registry');
  }
  // metaAlloc may have grown the memory: a non-shared WebAssembly.Memory replaced its buffer.
  if (__DEV__) crashPoint();
  arena.i32.copyWithin(bigger >>> 2, old, old + count);
  if (__DEV__) crashPoint();
  arena.hdr[HDR_LOCKREG_ARRAY] = bigger >>> 2;
  if (__DEV__) crashPoint();
  arena.hdr[HDR_LOCKREG_CAP] = cap;
  if (old !== 0) metaFreeLocked(arena, old * 4);
  regEnd(arena);
  return bigger >>> 2;
}

/** i32 indexes of the registered lock words. */
export function arenaRegisteredLocks(arena: Arena): number[] {
  arena.lock();
  try {
    const array = arena.hdr[HDR_LOCKREG_ARRAY]!;
    return Array.from(arena.i32.subarray(array, array + arena.hdr[HDR_LOCKREG_COUNT]!));
  } finally {
    arena.unlock();
  }
}

/**
 * Releases the arena mutex and every registered lock word held by thread `id`; returns how many.
 * The arena mutex is taken over (adoptLockOf) and the arena repaired (repair.ts) before it is
 * released, so no thread sees the dead holder's half-done update.
 */
export function arenaBreakLocksOf(arena: Arena, id: number): number {
  if (!Number.isInteger(id) || id < 1 || id > LOCK_OWNER_ANON) {
    throw new HakmemError('ERR_INVALID_THREAD', `breakLocksOf: thread id ${id} is not a thread id`);
  }
  arena.refresh();
  let broken = 0;
  if (arena.adoptLockOf(id)) {
    broken = 1;
    try {
      arenaRepairLocked(arena, id);
    } finally {
      arena.unlock();
    }
  }
  arena.lock();
  try {
    const array = arena.hdr[HDR_LOCKREG_ARRAY]!;
    const count = arena.hdr[HDR_LOCKREG_COUNT]!;
    for (let i = 0; i < count; i++) {
      const word = arena.i32[array + i]!;
      if (mutexBreak(arena.i32, word, id)) broken++;
      // A wakeup the dead thread took with it (woken, then terminated before it locked):
      // every sleeper re-reads its word now instead of at its next timed wake.
      Atomics.notify(arena.i32, word);
    }
  } finally {
    arena.unlock();
  }
  Atomics.notify(arena.hdr, HDR_LOCK);
  return broken;
}

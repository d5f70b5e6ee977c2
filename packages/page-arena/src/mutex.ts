import { HakmemError } from './errors';
import { LOCK_OWNER_MASK, LOCK_WAITERS, LS_ACQUIRES, LS_CONTENDED, LS_WAITS } from './layout';

/**
 * A mutex over one i32 word (Drepper's "mutex 3" with the owner's id in the word):
 * 0 = free, `owner` = held, `owner | LOCK_WAITERS` = held and some thread sleeps on it.
 * Statistics go to three words at `statsIndex` (acquisitions, contended acquisitions, waits),
 * written by the thread that holds the lock.
 */

/** Spins before a contended locker sleeps. */
const MUTEX_SPINS = 64;
/**
 * A sleeper re-reads the lock word at least this often (ms). An unlock wakes one sleeper; if
 * that thread is terminated before it takes the lock (or the unlocking thread dies between its
 * exchange and its notify), the wakeup is lost and the waiters flag with it — without a bound,
 * the other sleepers would sleep forever on a free lock.
 */
const MUTEX_SLEEP_MS = 20;

/** False once Atomics.wait threw (a browser main thread): contended lockers then spin. */
let mutexCanSleep = true;

/** Takes the lock at `i32[index]` for `owner` (≥ 1); counts into `i32[statsIndex..+2]`. */
export function mutexLock(i32: Int32Array, index: number, owner: number, statsIndex: number): void {
  if (Atomics.compareExchange(i32, index, 0, owner) === 0) {
    i32[statsIndex + LS_ACQUIRES]!++;
    return;
  }
  mutexLockSlow(i32, index, owner, statsIndex);
}

/** Takes the lock if it is free; never waits. */
export function mutexTryLock(i32: Int32Array, index: number, owner: number, statsIndex: number): boolean {
  if (Atomics.compareExchange(i32, index, 0, owner) !== 0) return false;
  i32[statsIndex + LS_ACQUIRES]!++;
  return true;
}

function mutexLockSlow(i32: Int32Array, index: number, owner: number, statsIndex: number): void {
  if (!(i32.buffer instanceof SharedArrayBuffer)) {
    // One thread only: nobody else can ever release it.
    const holder = Atomics.load(i32, index) & LOCK_OWNER_MASK;
    throw new HakmemError(
      'ERR_HEAP_CORRUPTED',
      `lock word at i32 index ${index} is held by owner ${holder} in a non-shared memory, where no other thread can release it (re-entrant lock or a lock left held)`,
    );
  }
  let waits = 0;
  for (let spin = 0; spin < MUTEX_SPINS; spin++) {
    if (Atomics.load(i32, index) === 0 && Atomics.compareExchange(i32, index, 0, owner) === 0) {
      mutexCount(i32, statsIndex, waits);
      return;
    }
  }
  for (;;) {
    let word = Atomics.load(i32, index);
    if (word === 0) {
      // Others may still sleep: keep the waiters flag so our unlock wakes one.
      if (Atomics.compareExchange(i32, index, 0, owner | LOCK_WAITERS) === 0) break;
      continue;
    }
    if ((word & LOCK_WAITERS) === 0) {
      if (Atomics.compareExchange(i32, index, word, word | LOCK_WAITERS) !== word) continue;
      word |= LOCK_WAITERS;
    }
    if (mutexCanSleep) {
      try {
        waits++;
        Atomics.wait(i32, index, word, MUTEX_SLEEP_MS);
      } catch {
        waits--;
        mutexCanSleep = false;
      }
    }
  }
  mutexCount(i32, statsIndex, waits);
}

function mutexCount(i32: Int32Array, statsIndex: number, waits: number): void {
  i32[statsIndex + LS_ACQUIRES]!++;
  i32[statsIndex + LS_CONTENDED]!++;
  i32[statsIndex + LS_WAITS]! += waits;
}

/** Releases the lock at `i32[index]` and wakes one sleeper if there is one. */
export function mutexUnlock(i32: Int32Array, index: number): void {
  const word = Atomics.exchange(i32, index, 0);
  if (__DEV__) {
    if (word === 0)
      throw new HakmemError('ERR_HEAP_CORRUPTED', `unlock of lock word ${index}, which is not held`);
  }
  if ((word & LOCK_WAITERS) !== 0) Atomics.notify(i32, index, 1);
}

/** Owner id holding the lock at `i32[index]`, 0 when free. */
export function mutexOwner(i32: Int32Array, index: number): number {
  return Atomics.load(i32, index) & LOCK_OWNER_MASK;
}

/**
 * Releases the lock at `i32[index]` if `owner` holds it (the owner died), waking every sleeper.
 * Returns whether it did.
 */
export function mutexBreak(i32: Int32Array, index: number, owner: number): boolean {
  for (;;) {
    const word = Atomics.load(i32, index);
    if (word === 0 || (word & LOCK_OWNER_MASK) !== owner) return false;
    if (Atomics.compareExchange(i32, index, word, 0) === word) {
      Atomics.notify(i32, index);
      return true;
    }
  }
}

/** Lock statistics as counted by mutexLock. */
export interface LockStats {
  /** Every acquisition. */
  acquisitions: number;
  /** Acquisitions that found the lock held. */
  contended: number;
  /** Times a locker went to sleep in Atomics.wait (woken or finding the word already changed). */
  waits: number;
}

/** Reads the three statistics words of a lock (racy while others hold it; exact when quiescent). */
export function mutexStats(i32: Int32Array, statsIndex: number): LockStats {
  return {
    acquisitions: Atomics.load(i32, statsIndex + LS_ACQUIRES) >>> 0,
    contended: Atomics.load(i32, statsIndex + LS_CONTENDED) >>> 0,
    waits: Atomics.load(i32, statsIndex + LS_WAITS) >>> 0,
  };
}

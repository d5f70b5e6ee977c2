/**
 * Crash points (development builds only): every multi-step update of the arena's shared state
 * calls `crashPoint()` before each of its shared stores (`if (__DEV__) crashPoint();`, removed
 * from release builds). A test arms `debugCrashPoints({ stopAt: n, signal })` in a worker: its
 * n-th crash point from then on stores n into `signal[0]`, notifies it, and blocks that thread
 * forever in Atomics.wait — a thread stopped in the middle of a locked section, as a
 * `worker.terminate()` there leaves it — so that the test can reclaim it and check the repair.
 */
import { HakmemError } from './errors';

let armed = false;
let count = 0;
let stopAt = 0;
let signal: Int32Array | null = null;

/** Options of debugCrashPoints. */
export interface CrashPointOptions {
  /** Block forever at this crash point (1-based, counted from arming); 0 counts only. */
  stopAt: number;
  /** Shared word pair: [0] receives the crash point reached (notified), [1] is waited on forever. */
  signal?: Int32Array;
}

/**
 * Development builds: arms (or with null disarms) the crash-point counter of this thread and
 * returns the crash points counted since the last arming. Release builds: ERR_INVALID_OPTION.
 */
export function debugCrashPoints(options: CrashPointOptions | null): number {
  if (!__DEV__) {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      'debugCrashPoints: only development builds have crash points',
    );
  }
  const counted = count;
  armed = options !== null;
  count = 0;
  stopAt = options?.stopAt ?? 0;
  signal = options?.signal ?? null;
  return counted;
}

/** One crash point: counts it, and at the armed one stops this thread for good. */
export function crashPoint(): void {
  if (!armed) return;
  if (++count !== stopAt) return;
  const word = signal ?? new Int32Array(new SharedArrayBuffer(8));
  Atomics.store(word, 0, count);
  Atomics.notify(word, 0);
  for (;;) Atomics.wait(word, 1, 0);
}

/** A crash plan of `tierCrashPoint`, set on `globalThis.__hakmemCrashPlan` by a test's worker. */
interface TierCrashPlan {
  section: string;
  at: number;
  count: number;
  park: Int32Array;
}

/**
 * The crash point of the tiers (superslab, tls-cache, mid-registry, l25-pool, bigcache), one
 * for all of them: every call site is `if (__DEV__) crashPoint('section')` in the tier's own
 * code, removed from its release build. A worker that sets `globalThis.__hakmemCrashPlan =
 * { section, at, count: 0, park }` stops for good at the `at`-th crash point of `section` it
 * passes — a place where a real `worker.terminate()` can land — after storing 1 in `park[0]`
 * and notifying it, blocked in Atomics.wait until it is terminated; the test then reclaims it
 * and requires a valid heap.
 */
export function tierCrashPoint(section: string): void {
  const plan = (globalThis as { __hakmemCrashPlan?: TierCrashPlan }).__hakmemCrashPlan;
  if (plan === undefined || plan.section !== section || ++plan.count !== plan.at) return;
  Atomics.store(plan.park, 0, 1);
  Atomics.notify(plan.park, 0);
  for (;;) Atomics.wait(plan.park, 1, 0);
}

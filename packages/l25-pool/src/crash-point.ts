/**
 * Development builds only (every call site is `if (__DEV__) crashPoint(…)`, removed from the
 * release build): the hook of the crash-consistency tests. A worker that sets
 * `globalThis.__hakmemCrashPlan = { section, at, count: 0, park }` stops for good at the
 * `at`-th crash point of `section` it passes — a place where a real `worker.terminate()` can
 * land (a call, a loop iteration, an Atomics operation) — after storing 1 in `park[0]` and
 * notifying it, blocked in Atomics.wait until it is terminated. The test then reclaims it and
 * requires a valid heap. @hakmem/mid-registry, @hakmem/superslab and @hakmem/tls-cache have the same hook under the same global.
 */
interface CrashPlan {
  section: string;
  at: number;
  count: number;
  park: Int32Array;
}

export function crashPoint(section: string): void {
  const plan = (globalThis as { __hakmemCrashPlan?: CrashPlan }).__hakmemCrashPlan;
  if (plan === undefined || plan.section !== section || ++plan.count !== plan.at) return;
  Atomics.store(plan.park, 0, 1);
  Atomics.notify(plan.park, 0);
  for (;;) Atomics.wait(plan.park, 1, 0);
}

/**
 * The crash-consistency tests' shared part: a worker of the development build (export condition
 * `development`, so the crash points exist) that stops for good at one crash point of a section,
 * and the enumeration of every crash point of a section, one worker each, until the section ends
 * before the point.
 *
 * The worker's side of the protocol: it posts `{ threadId }` once attached, then arms its crash
 * plan with `workerData.park` (a SharedArrayBuffer this module creates) as the park word; at the
 * plan's point it sets the word, notifies it and blocks forever; if the section ends first it
 * posts `{ finished: true }`. Anything else it posts is kept in `messages`.
 *
 * What a tier's test keeps: its sections, how it formats and prepares a heap, its part of a
 * scenario while the worker runs, what it reclaims and checks after a stop. (page-arena's crash
 * test stops the arena's own operations with a protocol of its own — `debugCrashPoints`, a stop
 * word set to the point, `ready`/`done` messages, a reference run counting the points first —
 * and does not use this module.)
 */
import { Worker } from 'node:worker_threads';
import { expect } from 'vitest';

export type CrashOutcome = 'parked' | 'finished';

export interface CrashRun {
  worker: Worker;
  /** The worker's thread id in the heap (its `{ threadId }` message). */
  threadId: number;
  /** Every message the worker posted, as they arrive (the protocol's ones included). */
  messages: Record<string, unknown>[];
  /**
   * 'parked': the worker stopped at its crash point (it blocks until terminated); 'finished':
   * the section ended first. Rejects if the worker throws.
   */
  outcome: Promise<CrashOutcome>;
}

/** What the tiers' crash workers read from `workerData` (plus `park`, which startCrashWorker adds). */
export interface CrashWorkerData {
  /** The heap's memory (`arena.memory`). */
  memory: unknown;
  /** The worker's scenario: the section under test, or a helper (a donor, an idle thread, …). */
  scenario: string;
  /** The crash point to stop at: 1, 2, …; 0 for none. */
  at: number;
  /** The blocks the worker holds (held[0] = entries, then pointers; 0 = freed); shared with the test. */
  held?: Int32Array;
  /** A word the worker and the test hand turns of a scenario over with. */
  gate?: Int32Array;
}

/**
 * Starts a development-build worker on `url` with `data` (`held` and `gate` passed as their
 * buffers) and a park word of its own (`park`, 8 bytes); resolves once the worker has posted its
 * `{ threadId }`.
 */
export function startCrashWorker(url: URL, data: CrashWorkerData): Promise<CrashRun> {
  const park = new SharedArrayBuffer(8);
  const { memory, scenario, at, held, gate } = data;
  const worker = new Worker(url, {
    workerData: { memory, scenario, at, park, held: held?.buffer, gate: gate?.buffer },
    execArgv: ['--conditions=development'],
  });
  const messages: Record<string, unknown>[] = [];
  let settle: (outcome: CrashOutcome) => void = () => {};
  let fail: (error: unknown) => void = () => {};
  const outcome = new Promise<CrashOutcome>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  return new Promise((resolveStart, rejectStart) => {
    let started = false;
    worker.on('message', (m: Record<string, unknown>) => {
      messages.push(m);
      if (typeof m.threadId === 'number' && !started) {
        started = true;
        void (async () => {
          await Atomics.waitAsync(new Int32Array(park), 0, 0).value;
          settle('parked');
        })();
        resolveStart({ worker, threadId: m.threadId, messages, outcome });
      }
      if (m.finished) settle('finished');
    });
    worker.once('error', (error) => {
      if (started) fail(error);
      else rejectStart(error);
    });
  });
}

/**
 * A helper worker without a crash point (`at: 0`) that must run its scenario to the end (a donor
 * preparing the heap for the section under test): started, its finish awaited, terminated.
 */
export async function runCrashWorkerToEnd(url: URL, data: Omit<CrashWorkerData, 'at'>): Promise<CrashRun> {
  const run = await startCrashWorker(url, { ...data, at: 0 });
  expect(await run.outcome).toBe('finished');
  await run.worker.terminate();
  return run;
}

/**
 * The reclaim of dead threads from the test's thread: every one's locks broken first (threads of
 * one worker die together, and any of them may hold the lock another's reclaim takes), then each
 * one's tier state taken back and its slot released.
 */
export function reclaimCrashed(
  arena: { breakLocksOf(threadId: number): unknown; threadRelease(threadId: number): void },
  tier: { reclaim(threadId: number): void },
  threadIds: readonly number[],
): void {
  for (const id of threadIds) arena.breakLocksOf(id);
  for (const id of threadIds) {
    tier.reclaim(id);
    arena.threadRelease(id);
  }
}

/** Frees every block `held` still lists (`held[0]` entries; 0 = already freed) and clears the list. */
export function freeHeld(tier: { free(ptr: number): void }, held: Int32Array): void {
  for (let i = 1; i <= held[0]!; i++) if (held[i] !== 0) tier.free(held[i]! >>> 0);
  held.fill(0);
}

/**
 * The test's turn at the gate: waits until the worker moves `gate[0]` off 0, runs `then`, and
 * hands the turn back (2, notified).
 */
export async function openGate(gate: Int32Array, then: () => void): Promise<void> {
  await Atomics.waitAsync(gate, 0, 0).value;
  then();
  Atomics.store(gate, 0, 2);
  Atomics.notify(gate, 0);
}

/** The tier still serves: `each` blocks of every size in `sizes` allocated (none may fail), then freed. */
export function expectServes(
  tier: { malloc(size: number): number; free(p: number): void },
  sizes: readonly number[],
  each: number,
): void {
  const fresh: number[] = [];
  for (const size of sizes) {
    for (let i = 0; i < each; i++) fresh.push(tier.malloc(size));
  }
  expect(fresh.every((p) => p > 0)).toBe(true);
  for (const p of fresh) tier.free(p);
}

export interface CrashPoints<H> {
  /** Bound on the points of the section: every `at` tried is asserted below it. */
  below: number;
  /** A fresh heap for the point `at`, prepared for the section. */
  setup(at: number): H | Promise<H>;
  /** Starts the worker (startCrashWorker) stopped at `at`, and plays the test's part of the scenario while it runs. */
  run(heap: H, at: number): Promise<CrashRun>;
  /** The worker stopped at its point and is terminated: reclaim it and check the heap. */
  afterParked(heap: H, run: CrashRun): void | Promise<void>;
  /** The section ended before the point `at` (the worker is terminated): check the heap. */
  afterFinished(heap: H, run: CrashRun): void | Promise<void>;
}

/**
 * For at = 1, 2, …: a fresh heap, a worker stopped at crash point `at` of the section, terminated
 * there; until the section ends before its point. Returns the number of points it stopped at.
 */
export async function enumerateCrashPoints<H>(points: CrashPoints<H>): Promise<number> {
  let parked = 0;
  for (let at = 1; ; at++) {
    expect(at).toBeLessThan(points.below);
    const heap = await points.setup(at);
    const run = await points.run(heap, at);
    const outcome = await run.outcome;
    await run.worker.terminate();
    if (outcome === 'finished') {
      await points.afterFinished(heap, run);
      return parked;
    }
    parked++;
    await points.afterParked(heap, run);
  }
}

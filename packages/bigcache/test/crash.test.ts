// Crash consistency of the big tier (issue 9): a worker stopped at each crash point of a section
// (development build: see src/crash-point.ts), terminated there and reclaimed from this thread;
// the tier must check, serve every size again, and lose nothing beyond the block in flight at
// the stop. And the soak's hang: a waiter whose wakeup a dead thread took is woken by reclaim.
import { Arena } from '@hakmem/page-arena';
import { describe, expect, it, vi } from 'vitest';
import {
  type CrashRun,
  enumerateCrashPoints,
  expectServes,
  freeHeld,
  reclaimCrashed,
  startCrashWorker,
} from '../../../scripts/crash-harness';
import { BigTier } from '../src/index';
import { R_BUSY, R_LOCK } from '../src/layout';

// One worker per crash point, every point of a section in one test: minutes on a loaded
// 2-core machine (the sections' own bound, not a timing expectation).
vi.setConfig({ testTimeout: 600_000 });

const WORKER = new URL('./crash-worker.mjs', import.meta.url);
const SECTIONS = ['take', 'put', 'evict', 'resize', 'local', 'ask', 'repair'] as const;
const MiB = 2 ** 20;
const WAITERS = -0x80000000;

/** Other threads the worker attached (they die with it). */
function also(run: CrashRun): number[] {
  return run.messages.flatMap((m) => (m.also === undefined ? [] : [m.also as number]));
}

describe('big tier: a dead thread never keeps a live one asleep on the tier lock', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: reclaim wakes a waiter whose wakeup the dead thread took (the soak's hang)`, async () => {
      const arena = Arena.format({ maxBytes: 64 * MiB, safety });
      arena.threadAttach();
      const big = new BigTier(arena, undefined, { threadCache: true });
      const lock = big.root + R_LOCK;
      // The thread that will "die": attached, parked.
      const dead = await startCrashWorker(WORKER, {
        memory: arena.memory,
        scenario: 'idle',
        at: 0,
        held: new Int32Array(new SharedArrayBuffer(64)),
        gate: new Int32Array(2),
      });
      expect(await dead.outcome).toBe('parked');
      // It holds the tier lock, and a live worker's malloc goes to sleep on it.
      Atomics.store(arena.i32, lock, dead.threadId);
      const held = new Int32Array(new SharedArrayBuffer(64));
      const gate = new Int32Array(new SharedArrayBuffer(8));
      const waiter = await startCrashWorker(WORKER, {
        memory: arena.memory,
        scenario: 'lock-wait',
        at: 0,
        held,
        gate,
      });
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      while (Atomics.load(arena.i32, lock) !== (dead.threadId | WAITERS))
        await new Promise((r) => setTimeout(r, 1));
      // The waiter flagged the word and sleeps on it (a schedule slower than this can only let
      // the test pass without the fix, never fail with it: JavaScript cannot see a sleeper).
      await new Promise((r) => setTimeout(r, 200));
      // The dead thread's unlock: its exchange happened, its notify never did (it was stopped in
      // between — or it was the sleeper that notify(…, 1) woke, and died before taking the lock).
      Atomics.store(arena.i32, lock, 0);
      await dead.worker.terminate();
      arena.breakLocksOf(dead.threadId);
      big.reclaim(dead.threadId);
      arena.threadRelease(dead.threadId);
      // Nobody may still sleep on the (free) lock word: this notify would be the first to wake it.
      expect(Atomics.notify(arena.i32, lock)).toBe(0);
      expect(await waiter.outcome).toBe('finished');
      await waiter.worker.terminate();
      expect(held[1]).toBeGreaterThan(0);
      big.free(held[1]!);
      big.trim();
      big.check();
      expect(big.stats().liveBlocks).toBe(0);
    });
  }
});

describe('big tier: a worker terminated at any crash point of a section is reclaimed to a valid tier', () => {
  for (const safety of ['strict', 'fast'] as const) {
    for (const section of SECTIONS) {
      it(`${safety}: ${section}`, async () => {
        const parked = await enumerateCrashPoints({
          below: 2000,
          setup() {
            const arena = Arena.format({ maxBytes: 512 * MiB, safety });
            arena.threadAttach();
            const main = new BigTier(arena, undefined, { threadCache: false });
            const held = new Int32Array(new SharedArrayBuffer(4 * 1024));
            const gate = new Int32Array(new SharedArrayBuffer(8));
            let mine: number[] = [];
            if (section === 'repair') {
              // A holder "died" inside the lock: R_BUSY set, and a cached run whose PM_DESC names
              // another run's node (a stray the repair gives back to the arena).
              mine = [main.malloc(2 * MiB), main.malloc(3 * MiB), main.malloc(4 * MiB)];
              for (const p of mine) main.free(p);
              const u32 = arena.u32;
              const descOf = (p: number) => u32[arena.pageEntry(p) + 3]!;
              arena.setPageDesc(mine[0]! >>> 16, descOf(mine[1]!));
              arena.i32[main.root + R_BUSY] = 77;
              mine = [];
            }
            return { arena, main, held, gate };
          },
          run: ({ arena, held, gate }, at) =>
            startCrashWorker(WORKER, { memory: arena.memory, scenario: section, at, held, gate }),
          afterFinished: ({ main }) => main.check(),
          afterParked({ arena, main, held }, run) {
            reclaimCrashed(arena, main, [run.threadId, ...also(run)]);
            main.check();
            // The worker's blocks first (the 'ask' worker filled the heap with them).
            freeHeld(main, held);
            expectServes(main, [MiB + 1, 2 * MiB, 3 * MiB, 5 * MiB, 8 * MiB, 2 * MiB], 1);
            main.trim();
            main.check();
            // Only the block in flight at the stop may be left.
            expect(main.stats().liveBlocks).toBeLessThanOrEqual(1);
            expect(main.stats().cachedRuns).toBe(0);
          },
        });
        expect(parked).toBeGreaterThan(0);
      });
    }
  }
});

// Crash consistency of the mid tier (issue 9): a worker stopped at each crash point of a section
// (development build: see src/crash-point.ts), terminated there and reclaimed from this thread;
// the heap must check, this thread must allocate in every class involved, and no block may be
// lost beyond the one in flight at the stop.
import { Arena } from '@hakmem/page-arena';
import { describe, expect, it, vi } from 'vitest';
import {
  enumerateCrashPoints,
  expectServes,
  freeHeld,
  openGate,
  reclaimCrashed,
  runCrashWorkerToEnd,
  startCrashWorker,
} from '../../../scripts/crash-harness';
import { MidTier } from '../src/mid-tier';

// One worker per crash point, every point of a section in one test: minutes on a loaded
// 2-core machine (the sections' own bound, not a timing expectation).
vi.setConfig({ testTimeout: 600_000 });

const WORKER = new URL('./crash-worker.mjs', import.meta.url);
const SCENARIOS = [
  'create',
  'grow',
  'destroy',
  'abandon',
  'adopt',
  'trim',
  'collect',
  'refill',
  'spill',
  'remote-free',
] as const;
const SIZES = [1024, 2048, 3000, 4096, 5000, 6000, 8192, 28672];

describe('mid tier: a worker terminated at any crash point of a section is reclaimed to a valid heap', () => {
  for (const safety of ['strict', 'fast'] as const) {
    for (const scenario of SCENARIOS) {
      it(`${safety}: ${scenario}`, async () => {
        const parked = await enumerateCrashPoints({
          below: 2000,
          async setup() {
            const arena = Arena.format({ maxBytes: 64 * 2 ** 20, safety });
            arena.threadAttach();
            const main = new MidTier(arena);
            const held = new Int32Array(new SharedArrayBuffer(4 * 4096));
            const gate = new Int32Array(new SharedArrayBuffer(8));
            const before = new Int32Array(new SharedArrayBuffer(4 * 1024));
            if (scenario === 'adopt' || scenario === 'trim') {
              // The only span of the class, abandoned by a worker that detached with a block out.
              await runCrashWorkerToEnd(WORKER, {
                memory: arena.memory,
                scenario: 'abandon',
                held: before,
                gate,
              });
            }
            if (scenario === 'remote-free') {
              held[0] = 6;
              for (let i = 1; i <= 6; i++) held[i] = main.malloc(4096);
            }
            return { arena, main, held, gate, before };
          },
          async run({ arena, main, held, gate, before }, at) {
            const run = await startCrashWorker(WORKER, { memory: arena.memory, scenario, at, held, gate });
            if (scenario === 'collect') {
              await openGate(gate, () => {
                for (let i = 1; i <= held[0]!; i++) {
                  main.free(held[i]!);
                  held[i] = 0;
                }
              });
            }
            if (scenario === 'trim') await openGate(gate, () => freeHeld(main, before));
            return run;
          },
          afterFinished: ({ main }) => main.check(),
          afterParked({ arena, main, held, before }, run) {
            reclaimCrashed(arena, main, [run.threadId]);
            main.check();
            expectServes(main, SIZES, 24);
            freeHeld(main, held);
            freeHeld(main, before);
            main.trim();
            main.check();
            expect(main.stats().liveBlocks).toBeLessThanOrEqual(1);
          },
        });
        expect(parked).toBeGreaterThan(0);
      });
    }
  }
});

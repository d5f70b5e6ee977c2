// Crash consistency of the L2.5 tier (issue 9): a worker stopped at each crash point of a section
// (development build: see src/crash-point.ts), terminated there and reclaimed from this thread;
// the heap must check, this thread must allocate in every class involved, and no block may be
// lost beyond the one in flight at the stop.
import { Arena } from '@hakmem/page-arena';
import { describe, expect, it, vi } from 'vitest';
import {
  enumerateCrashPoints,
  expectServes,
  freeHeld,
  reclaimCrashed,
  startCrashWorker,
} from '../../../scripts/crash-harness';
import { L25Tier } from '../src/index';

// One worker per crash point, every point of a section in one test: minutes on a loaded
// 2-core machine (the sections' own bound, not a timing expectation).
vi.setConfig({ testTimeout: 600_000 });

const WORKER = new URL('./crash-worker.mjs', import.meta.url);
const SCENARIOS = [
  'chunk',
  'create',
  'refill',
  'spill',
  'free',
  'release',
  'shrink',
  'grow',
  'solo',
] as const;
const SIZES = [33_000, 40_000, 80 * 1024, 100_000, 200_000, 300_000, 500_000, 900_000, 1024 * 1024];
const MiB = 2 ** 20;

describe('l25 tier: a worker terminated at any crash point of a section is reclaimed to a valid heap', () => {
  for (const safety of ['strict', 'fast'] as const) {
    for (const scenario of SCENARIOS) {
      it(`${safety}: ${scenario}`, async () => {
        const parked = await enumerateCrashPoints({
          below: 500,
          setup() {
            const arena = Arena.format({ maxBytes: 256 * MiB, safety });
            arena.threadAttach();
            const main = new L25Tier(arena);
            const held = new Int32Array(new SharedArrayBuffer(4 * 1024));
            if (scenario === 'chunk') {
              // Thread ids 2 … 4 taken: the worker is thread 5, the first of chunk 1.
              for (let i = 0; i < 3; i++) Arena.attach(arena.memory).threadAttach();
            }
            if (scenario === 'free') {
              held[0] = 24;
              for (let i = 1; i <= 24; i++) held[i] = main.malloc(300_000);
            }
            return { arena, main, held };
          },
          run: ({ arena, held }, at) =>
            startCrashWorker(WORKER, { memory: arena.memory, scenario, at, held }),
          afterFinished: ({ main }) => main.check(),
          afterParked({ arena, main, held }, run) {
            reclaimCrashed(arena, main, [run.threadId]);
            main.check();
            arena.check();
            expectServes(main, SIZES, 6);
            freeHeld(main, held);
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

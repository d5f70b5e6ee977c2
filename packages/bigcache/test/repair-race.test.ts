// The repair after a thread died holding the tier lock, while another thread runs its thread
// cache's lock-free paths: the live counters must come out exact (invariant 6). The soak found
// a repair that recounted them from the page map and the thread areas, read at different
// moments, off by the cache operations half seen in between.
import { Worker } from 'node:worker_threads';
import { Arena } from '@hakmem/page-arena';
import { describe, expect, it, vi } from 'vitest';
import { BigTier } from '../src/index';
import { R_BUSY } from '../src/layout';

vi.setConfig({ testTimeout: 120_000 });

const WORKER = new URL('./repair-race-worker.mjs', import.meta.url);
const MiB = 2 ** 20;
const ROUNDS = 100;
const REPAIRS = 4;
const RUN = 0;
const PAUSE = 1;
const STOP = 2;
const PAUSED = 2;

describe('big tier: a repair racing another thread cache', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: the live counters stay exact while another thread takes and puts lock-free`, async () => {
      const arena = Arena.format({ maxBytes: 128 * MiB, safety });
      arena.threadAttach();
      const big = new BigTier(arena, undefined, { threadCache: false });
      const held = [big.malloc(3 * MiB), big.malloc(5 * MiB)];
      const control = new Int32Array(new SharedArrayBuffer(16));
      const worker = new Worker(WORKER, { workerData: { memory: arena.memory, control: control.buffer } });
      const stopped = new Promise<void>((resolve, reject) => {
        worker.on('message', (m: { stopped?: boolean }) => {
          if (m.stopped) resolve();
        });
        worker.once('error', reject);
      });
      await new Promise<void>((resolve) => worker.once('message', () => resolve()));
      const failures: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Wait for the worker's loop to run, then "a holder died inside the lock": the next
        // lock holder (stats) repairs, while the worker keeps taking and putting.
        const before = Atomics.load(control, 2);
        while (Atomics.load(control, 2) === before) await new Promise((r) => setTimeout(r, 0));
        for (let k = 0; k < REPAIRS; k++) {
          arena.i32[big.root + R_BUSY] = 77;
          big.stats();
        }
        // Quiescent: the worker waits between two operations; check() is exact then.
        Atomics.store(control, 0, PAUSE);
        while (Atomics.load(control, 1) !== PAUSED) await new Promise((r) => setTimeout(r, 0));
        try {
          big.check();
        } catch (error) {
          failures.push(`round ${round}: ${(error as Error).message}`);
        }
        Atomics.store(control, 0, RUN);
        Atomics.notify(control, 0);
      }
      Atomics.store(control, 0, STOP);
      Atomics.notify(control, 0);
      await stopped;
      await worker.terminate();
      if (failures.length > 0)
        console.log(`${failures.length}/${ROUNDS} rounds failed check():\n${failures.join('\n')}`);
      expect(failures).toEqual([]);
      for (const p of held) big.free(p);
      big.trim();
      big.check();
      expect(big.stats().liveBlocks).toBe(0);
      expect(big.stats().repairs).toBe(ROUNDS * REPAIRS);
    });
  }
});

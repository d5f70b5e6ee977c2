import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Arena, PAGE_SIZE } from '../src/index';

const TIER_RUN = 6;

interface LiveReport {
  kind: 'live';
  index: number;
  threadId: number;
  live: [number, number][];
  foreignGrowthsSeen: number;
  growthPhaseChecks: number;
  failedAllocs: number;
  viewBytes: number;
}

const WORKERS = 4;

const memories: [string, () => Arena][] = [
  ['a growable SharedArrayBuffer', () => Arena.format({ initialBytes: 1 << 20, maxBytes: 1 << 30 })],
  [
    'a shared WebAssembly.Memory with a base',
    () => {
      const memory = new WebAssembly.Memory({ initial: 24, maximum: 16384, shared: true });
      new Uint8Array(memory.buffer).fill(0x3c); // the module's data: must survive untouched
      return Arena.format({ memory, base: 512 * 1024, maxBytes: 1 << 30 });
    },
  ],
];

describe('page runs from 4 worker threads on one heap', () => {
  it.each(memories)(
    'in %s: allocates, resizes and frees concurrently while the memory grows; no overlap; check() passes',
    async (_name, create) => {
      const arena = create();
      const startBytes = arena.committedBytes();
      const control = new SharedArrayBuffer(64);
      const ctl = new Int32Array(control);
      const reports: LiveReport[] = [];
      let done = 0;
      let resolveLive!: () => void;
      const allLive = new Promise<void>((resolve) => {
        resolveLive = resolve;
      });
      let resolveDone!: () => void;
      const allDone = new Promise<void>((resolve) => {
        resolveDone = resolve;
      });
      const errors: unknown[] = [];
      const workers = Array.from({ length: WORKERS }, (_, index) => {
        const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
          workerData: {
            memory: arena.memory,
            control,
            index,
            workers: WORKERS,
            seed: 0x5eed + 17,
            ops: 5000,
            maxLive: 48,
            maxRunPages: 8,
          },
        });
        worker.on('message', (message: LiveReport | { kind: 'done' }) => {
          if (message.kind === 'live') {
            reports.push(message);
            if (reports.length === WORKERS) resolveLive();
          } else if (++done === WORKERS) {
            resolveDone();
          }
        });
        worker.on('error', (error) => {
          errors.push(error);
          resolveLive();
          resolveDone();
        });
        return worker;
      });
      try {
        await allLive;
        expect(errors).toEqual([]);
        // Every worker saw every other worker's forced growth (phase A) through refresh().
        for (const report of reports) expect(report.growthPhaseChecks).toBe(2 * (WORKERS - 1));
        // Quiescent now: the union of live runs must not overlap and must match the page map.
        arena.check();
        const runs = reports.flatMap((r) => r.live).sort((a, b) => a[0] - b[0]);
        for (let i = 1; i < runs.length; i++) {
          expect(runs[i]![0]).toBeGreaterThanOrEqual(runs[i - 1]![0] + runs[i - 1]![1] * PAGE_SIZE);
        }
        const snapshot = arena.snapshot().filter((run) => run.tier === TIER_RUN);
        expect(snapshot.map((run) => [run.offset, run.pages])).toEqual(runs);
        expect(arena.committedBytes()).toBeGreaterThan(startBytes);
        expect(arena.stats().threads).toBe(WORKERS);
        Atomics.store(ctl, 5, 1);
        Atomics.notify(ctl, 5);
        await allDone;
        expect(errors).toEqual([]);
        arena.check();
        const stats = arena.stats();
        expect(stats.pagesByTier[TIER_RUN] ?? 0).toBe(0);
        expect(stats.threads).toBe(0);
        expect(stats.growths).toBeGreaterThanOrEqual(2 * WORKERS);
        expect(stats.locks.acquisitions).toBeGreaterThan(WORKERS * 5000);
        // Everything freed: one free run after the META pages.
        const free = arena.snapshot().filter((run) => run.tier === 0);
        expect(free.length).toBe(1);
        expect(free[0]!.offset + free[0]!.pages * PAGE_SIZE).toBe(arena.committedBytes());
        if (arena.base > 0) expect(arena.u8.subarray(0, arena.base).every((b) => b === 0x3c)).toBe(true);
      } finally {
        await Promise.all(workers.map((worker) => worker.terminate()));
      }
    },
  );
});

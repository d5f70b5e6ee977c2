import { Worker } from 'node:worker_threads';
import { Arena } from '@hakmem/page-arena';
import { afterEach, describe, expect, it } from 'vitest';
import { Superslab } from '../src/superslab';

const WORKER = new URL('./stress-worker.mjs', import.meta.url);
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function reply<T>(w: Worker, pick: (m: Record<string, unknown>) => boolean, send?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (!pick(m)) return;
      w.off('message', onMessage);
      resolve(m as T);
    };
    w.on('message', onMessage);
    w.once('error', reject);
    if (send !== undefined) w.postMessage(send);
  });
}

describe('Superslab under workers', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: 4 workers allocate, free and hand blocks to each other (remote frees), payloads checked`, async () => {
      const arena = Arena.format({ initialBytes: 2 ** 20, maxBytes: 256 * 2 ** 20, safety });
      arena.threadAttach();
      const main = new Superslab(arena);
      const n = 4;
      const rings = Array.from({ length: n }, () => new SharedArrayBuffer(256 * 4));
      const sizeRings = Array.from({ length: n }, () => new SharedArrayBuffer(256 * 4));
      const team = Array.from({ length: n }, (_, index) => {
        const w = new Worker(WORKER, {
          workerData: {
            memory: arena.memory,
            index,
            workers: n,
            rounds: 60_000,
            seed: 31 + index,
            rings,
            sizeRings,
          },
        });
        workers.push(w);
        return w;
      });
      const done = await Promise.all(team.map((w) => reply<{ handed: number }>(w, (m) => m.done === true)));
      const drained = await Promise.all(
        team.map((w) => reply<{ received: number }>(w, (m) => m.drained === true, 'drain')),
      );
      const handed = done.reduce((a, d) => a + d.handed, 0);
      expect(handed).toBeGreaterThan(1000);
      expect(drained.reduce((a, d) => a + d.received, 0)).toBe(handed);
      main.slabCheck();
      const st = main.slabStats();
      // blocks out of slabs are only those freed remotely and not yet collected by their owner
      expect(st.classes.reduce((a, c) => a + c.used - c.remote, 0)).toBe(0);
      expect(st.classes.reduce((a, c) => a + c.remote, 0)).toBeGreaterThan(0);
      await Promise.all(team.map((w) => reply(w, (m) => m.detached === true, 'detach')));
      main.slabCheck();
      expect(main.slabStats().classes.reduce((a, c) => a + c.used, 0)).toBe(0);
      main.slabTrim();
      expect(main.slabStats().superslabs).toBe(0);
      main.slabCheck();
      arena.check();
    });
  }
});

import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HDR_LOCK, HEADER_WORDS } from '../src/layout';

const WORKER = new URL('./scribble-worker.mjs', import.meta.url);
/** No case may take this long: a stall is a hang (an unbounded walk or a lock nobody holds). */
const STALL_MS = 10_000;

describe('attach of a scribbled heap', () => {
  it('every header word overwritten with 0, −1, 2^31 − 1, a small and a large number: a working heap or a coded error, in bounded time', async () => {
    const words = Array.from({ length: HEADER_WORDS }, (_, i) => i);
    const values = [0, -1, 0x7fffffff, 3, 12_345, -65_536];
    // Not scribbles but legal states: the arena mutex held by an Arena instance without a thread
    // slot (owner LOCK_OWNER_ANON, with or without waiters) — attach waits for it like any holder.
    const legal = [`${HDR_LOCK}:${0x7fffffff}`, `${HDR_LOCK}:-1`];
    const worker = new Worker(WORKER, { workerData: { words, values, legal } });
    const result = await new Promise<{ done: number; uncoded: string[] }>((resolve, reject) => {
      let last = { progress: 0, word: -1 };
      let timer = setTimeout(stall, STALL_MS);
      function stall() {
        void worker.terminate();
        reject(
          new Error(
            `no progress for ${STALL_MS} ms after ${last.progress} cases (near header word ${last.word}): a hang`,
          ),
        );
      }
      worker.on('message', (m) => {
        clearTimeout(timer);
        if ('done' in m) resolve(m);
        else {
          last = m;
          timer = setTimeout(stall, STALL_MS);
        }
      });
      worker.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    await worker.terminate();
    expect(result.done).toBe(words.length * values.length - legal.length);
    expect(result.uncoded).toEqual([]);
  }, 300_000);
});

// Scribbles one header word of a used heap at a time (every word of the header, several values)
// and attaches: each case must end with a working heap or a HakmemError with a code, never a
// hang (the parent sees progress stall) or an uncoded error. Reports the uncoded ones.
import { parentPort, workerData } from 'node:worker_threads';
import { Arena, HakmemError, PAGE_SIZE } from '@hakmem/page-arena';

const { words, values, legal = [] } = workerData;
const memory = new SharedArrayBuffer(8 * PAGE_SIZE, { maxByteLength: 64 * PAGE_SIZE });
const a = Arena.format({ memory, maxBytes: 64 * PAGE_SIZE });
a.threadAttach();
const tier = a.tierOpen('test', 0, 1 << 20, 16);
const runs = [1, 3, 2, 5, 1].map((p) => a.allocRun(p, tier));
a.freeRun(runs[1]);
a.freeRun(runs[3]);
const metas = [24, 100, 5000, 70_000].map((b) => a.metaAlloc(b));
a.metaFree(metas[1]);
const image = new Uint8Array(memory.byteLength);
image.set(new Uint8Array(memory));
const base = a.headerIndex;

const copy = new SharedArrayBuffer(image.length, { maxByteLength: 64 * PAGE_SIZE });
const uncoded = [];
let cases = 0;
for (const word of words) {
  for (const value of values) {
    if (legal.includes(`${word}:${value}`)) continue;
    // One memory for every case (a new SharedArrayBuffer each time costs more than the case):
    // the image again, and zeros where an earlier case grew it.
    const bytes = new Uint8Array(copy);
    bytes.set(image);
    bytes.fill(0, image.length);
    new Int32Array(copy)[base + word] = value;
    try {
      const b = Arena.attach(copy);
      b.threadAttach();
      const r = b.allocRun(2, tier);
      const m = b.metaAlloc(40);
      b.freeRun(r);
      b.metaFree(m);
      b.check();
    } catch (error) {
      if (!(error instanceof HakmemError)) uncoded.push(`word ${word} = ${value}: ${error}`);
    }
    if (++cases % 64 === 0) parentPort.postMessage({ progress: cases, word });
  }
}
parentPort.postMessage({ done: cases, uncoded });

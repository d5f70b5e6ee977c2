// A worker of the composition tests: joins the heap with the composition it is given (the bump
// tier is a user's own, so it must be given), allocates in every tier and frees what it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { attachHeap, HakmemError, runTier, tinyTier } from 'hakmem';
import { bumpTier } from './bump-tier.mjs';

const tiers = [{ tier: tinyTier, maxSize: 512 }, { tier: bumpTier, maxSize: 4096 }, { tier: runTier }];
const heap = attachHeap(workerData.memory, { tiers });
const cookie = (p, i) => (p + i * 7) & 0xff;

parentPort.on('message', (msg) => {
  try {
    if (msg.op === 'alloc') {
      const blocks = msg.sizes.map((size) => {
        const p = heap.malloc(size);
        const u8 = heap.u8;
        for (let i = 0; i < size; i++) u8[p + i] = cookie(p, i);
        return { p, size };
      });
      parentPort.postMessage({ ok: true, blocks });
    } else if (msg.op === 'free') {
      let damaged = 0;
      const u8 = heap.u8;
      for (const { p, size } of msg.blocks) {
        for (let i = 8; i < size; i++) if (u8[p + i] !== cookie(p, i)) damaged++;
        heap.free(p);
      }
      let second = '';
      try {
        heap.free(msg.blocks[0].p);
      } catch (error) {
        second = HakmemError.codeOf(error);
      }
      heap.detach();
      parentPort.postMessage({ ok: true, damaged, second });
    }
  } catch (error) {
    parentPort.postMessage({ ok: false, error: String(error?.message ?? error) });
  }
});

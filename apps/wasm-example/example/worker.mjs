// A worker of the example: joins the heap, instantiates the module over the same memory, and
// lets the module allocate, check and free blocks through this thread's malloc/free.
import { parentPort, workerData } from 'node:worker_threads';
import { attachHeap } from 'hakmem';
import { instantiateBlocks } from './blocks.mjs';

const { memory, module } = workerData;
const heap = attachHeap(memory);
const wasm = instantiateBlocks(module, memory, () => heap);

parentPort.on('message', (msg) => {
  try {
    switch (msg.op) {
      case 'make': {
        // The module mallocs and fills each block; the memory grows under it when it must.
        const blocks = msg.sizes.map((size, i) => {
          const seed = msg.seed + i;
          return { ptr: wasm.makeBlock(size, seed), size, seed };
        });
        parentPort.postMessage({ ok: true, threadId: heap.threadId, blocks, pages: wasm.pages() });
        break;
      }
      case 'checkAndFree': {
        // Blocks another thread made: the module checks each and frees it (a cross-thread free).
        for (const b of msg.blocks) {
          const bad = wasm.checkAndFree(b.ptr, b.size, b.seed);
          if (bad >= 0) throw new Error(`block ${b.ptr} (${b.size} B) damaged at +${bad}`);
        }
        parentPort.postMessage({ ok: true, pages: wasm.pages() });
        break;
      }
      case 'detach':
        heap.detach();
        parentPort.postMessage({ ok: true });
        break;
    }
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error?.stack ?? error) });
  }
});

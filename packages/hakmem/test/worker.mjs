// A worker for the hakmem thread tests: attaches to the heap it is given and follows commands.
import { parentPort, workerData } from 'node:worker_threads';
import { attachHeap } from 'hakmem';

const heap = attachHeap(workerData.memory);

function fill(ptr, size, seed) {
  const u8 = heap.u8;
  for (let i = 0; i < size; i++) u8[ptr + i] = (seed + i * 31) & 0xff;
}

function verify(ptr, size, seed) {
  const u8 = heap.u8;
  for (let i = 0; i < size; i++) {
    if (u8[ptr + i] !== ((seed + i * 31) & 0xff)) throw new Error(`payload of ${ptr} damaged at +${i}`);
  }
}

parentPort.on('message', (msg) => {
  try {
    switch (msg.op) {
      case 'free': {
        // Blocks another thread allocated: check their payload, then free them here.
        for (const b of msg.blocks) {
          verify(b.ptr, b.size, b.seed);
          heap.free(b.ptr);
        }
        parentPort.postMessage({ ok: true, threadId: heap.threadId });
        break;
      }
      case 'alloc': {
        const blocks = [];
        for (let i = 0; i < msg.sizes.length; i++) {
          const size = msg.sizes[i];
          const ptr = heap.malloc(size);
          fill(ptr, size, i);
          blocks.push({ ptr, size, seed: i });
        }
        parentPort.postMessage({ ok: true, blocks, threadId: heap.threadId });
        break;
      }
      case 'freeViews':
        // Views another thread made (posted here: each over this thread's own copy of the SAB object).
        for (const view of msg.views) heap.free(view);
        parentPort.postMessage({ ok: true, threadId: heap.threadId });
        break;
      case 'detach':
        heap.detach();
        parentPort.postMessage({ ok: true });
        break;
      case 'reclaim': {
        // Wait at the gate (so two reclaimers start together), then reclaim thread msg.id.
        const gate = new Int32Array(msg.gate);
        Atomics.add(gate, 1, 1);
        Atomics.wait(gate, 0, 0);
        let code = 'ok';
        try {
          heap.reclaimThread(msg.id);
        } catch (error) {
          code = error.code ?? String(error);
        }
        parentPort.postMessage({ ok: true, code, threadId: heap.threadId });
        break;
      }
      case 'hang':
        parentPort.postMessage({ ok: true, threadId: heap.threadId });
        for (;;) {} // terminated from outside
    }
  } catch (error) {
    parentPort.postMessage({ ok: false, message: error.message });
  }
});

// A module Web Worker for two-workers.mjs: attaches to the heap it is sent and follows commands.
import { attachHeap } from 'hakmem';

let heap;

function fill(ptr, size) {
  const u8 = heap.u8;
  for (let i = 0; i < size; i++) u8[ptr + i] = (ptr + i * 31) & 0xff;
}

function verify(ptr, size) {
  const u8 = heap.u8;
  for (let i = 0; i < size; i++) {
    if (u8[ptr + i] !== ((ptr + i * 31) & 0xff)) throw new Error(`payload of ${ptr} damaged at +${i}`);
  }
}

self.onmessage = (event) => {
  const msg = event.data;
  try {
    switch (msg.op) {
      case 'attach':
        heap = attachHeap(msg.memory);
        self.postMessage({ ok: true, threadId: heap.threadId });
        break;
      case 'alloc': {
        const blocks = msg.sizes.map((size) => {
          const ptr = heap.malloc(size);
          fill(ptr, size);
          return { ptr, size };
        });
        self.postMessage({ ok: true, blocks });
        break;
      }
      case 'free':
        for (const { ptr, size } of msg.blocks) {
          verify(ptr, size);
          heap.free(ptr);
        }
        self.postMessage({ ok: true });
        break;
      case 'detach':
        heap.detach();
        self.postMessage({ ok: true });
        break;
      default:
        throw new Error(`unknown op ${msg.op}`);
    }
  } catch (error) {
    self.postMessage({ ok: false, error: String(error?.stack ?? error) });
  }
};

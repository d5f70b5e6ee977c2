import { attachHeap } from './hakmem.js';

self.onmessage = ({ data: memory }) => {
  const heap = attachHeap(memory); // its own thread slot in the same heap
  const ptr = heap.malloc(5);
  heap.u8.set(new TextEncoder().encode('hello'), ptr);
  self.postMessage(ptr);
};

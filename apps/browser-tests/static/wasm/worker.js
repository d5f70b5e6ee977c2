// A module worker of the WebAssembly page: joins the heap, instantiates the module it is sent.
import { blocksWorker } from '/wasm-example/blocks.mjs';
import { attachHeap } from './hakmem.js';

const handle = blocksWorker(attachHeap);
self.onmessage = ({ data }) => self.postMessage(handle(data));

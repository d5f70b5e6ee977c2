// A Node worker of the example (worker_threads): its replies come from blocksWorker.
import { parentPort } from 'node:worker_threads';
import { attachHeap } from 'hakmem';
import { blocksWorker } from './blocks.mjs';

const handle = blocksWorker(attachHeap);
parentPort.on('message', (msg) => parentPort.postMessage(handle(msg)));

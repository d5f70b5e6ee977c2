// Crash-point worker: attaches to the heap, arms the development build's crash points to stop
// (block forever) at the `stopAt`-th one, and runs one arena operation on what main prepared.
import { parentPort, workerData } from 'node:worker_threads';
import { Arena, debugCrashPoints } from '../dist/dev/index.js';

const { memory, signal, stopAt, op, args } = workerData;
const arena = Arena.attach(memory);
const id = arena.threadAttach();
parentPort.postMessage({ ready: id });
debugCrashPoints({ stopAt, signal: new Int32Array(signal) });
let result;
switch (op) {
  case 'allocRun':
    result = arena.allocRun(args.pages, args.tier);
    break;
  case 'freeRun':
    arena.freeRun(args.offset);
    break;
  case 'resizeRun':
    result = arena.resizeRun(args.offset, args.pages);
    break;
  case 'metaAlloc':
    result = arena.metaAlloc(args.bytes);
    break;
  case 'metaFree':
    arena.metaFree(args.offset);
    break;
  default:
    throw new Error(`crash-worker: unknown op ${op}`);
}
parentPort.postMessage({ done: debugCrashPoints(null), result });

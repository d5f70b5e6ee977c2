// Crash-point worker: attaches to the heap (but for the 'threadAttach' op), arms the development
// build's crash points to stop (block forever) at the `stopAt`-th one, and runs one arena
// operation on what main prepared.
import { parentPort, workerData } from 'node:worker_threads';
import { Arena, debugCrashPoints } from '../dist/dev/index.js';

const { memory, signal, stopAt, op, args } = workerData;
const arena = Arena.attach(memory);
const id = op === 'threadAttach' ? 0 : arena.threadAttach();
if (args.prepareTier !== undefined) arena.threadTierWords(args.prepareTier);
if (op === 'reclaimRelease') arena.threadClaim(args.id);
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
  case 'threadAttach':
    result = arena.threadAttach();
    break;
  case 'threadRelease':
    arena.threadRelease(id);
    break;
  case 'reclaimRelease':
    arena.threadRelease(args.id);
    break;
  case 'threadTierWords':
    result = arena.threadTierWords(args.tier);
    break;
  case 'tierOpen':
    result = arena.tierOpen(`kind-${args.kind}`, 0, 100, 16);
    break;
  case 'registerLock':
    arena.registerLock(args.index);
    break;
  default:
    throw new Error(`crash-worker: unknown op ${op}`);
}
parentPort.postMessage({ done: debugCrashPoints(null), result, threadId: arena.threadId });

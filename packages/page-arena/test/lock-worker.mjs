// Lock worker: takes the arena mutex on command, or allocates a run (waiting for the mutex).
import { parentPort, workerData } from 'node:worker_threads';
import { Arena } from '@hakmem/page-arena';

const TIER_RUN = 6;

const arena = Arena.attach(workerData.memory);
const id = arena.threadAttach();
parentPort.on('message', (command) => {
  if (command === 'lock-and-hang') {
    arena.lock();
    parentPort.postMessage({ locked: id });
  } else if (command === 'alloc') {
    parentPort.postMessage({ allocating: id });
    const offset = arena.allocRun(1, TIER_RUN);
    parentPort.postMessage({ offset });
  }
});
parentPort.postMessage({ ready: id });

// A worker of the repair-race test: a thread cache in a tight malloc/free loop of one size (the
// lock-free fast paths only, after the first round trip), paused and stopped through `control`.
import { parentPort, workerData } from 'node:worker_threads';
import { BigTier } from '@hakmem/bigcache';
import { Arena } from '@hakmem/page-arena';

// control[0]: 0 run, PAUSE, STOP (the test); control[1]: RUNNING / PAUSED (this worker); control[2]: operations.
const PAUSE = 1;
const STOP = 2;
const RUNNING = 1;
const PAUSED = 2;
const arena = Arena.attach(workerData.memory);
arena.threadAttach();
const control = new Int32Array(workerData.control);
const big = new BigTier(arena, undefined, { threadCache: true });
const size = 2 * 2 ** 20;
// The first free goes through the lock (the area and its reservation); every later one does not.
big.free(big.malloc(size));
Atomics.store(control, 1, RUNNING);
parentPort.postMessage({ ready: true });
for (;;) {
  const command = Atomics.load(control, 0);
  if (command === STOP) break;
  if (command === PAUSE) {
    Atomics.store(control, 1, PAUSED);
    Atomics.notify(control, 1);
    Atomics.wait(control, 0, PAUSE);
    Atomics.store(control, 1, RUNNING);
    continue;
  }
  for (let i = 0; i < 64; i++) big.free(big.malloc(size));
  Atomics.add(control, 2, 64);
}
big.detach();
parentPort.postMessage({ stopped: true });

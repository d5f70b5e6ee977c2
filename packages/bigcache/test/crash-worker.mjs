// A worker of the crash-consistency tests (development build: `--conditions=development`, so
// the crash points exist). It prepares a scenario with the plan disarmed, then arms
// globalThis.__hakmemCrashPlan and runs the section under test: it stops for good at the plan's
// crash point (the test terminates it there) or reports that the section ended first. The blocks
// it holds are listed in `held` (held[0] = entries, then pointers; 0 = freed), so the test frees
// them after the reclaim; an entry is cleared before its free (that block is in flight).
import { parentPort, workerData } from 'node:worker_threads';
import { BigTier } from '@hakmem/bigcache';
import { Arena } from '@hakmem/page-arena';

const { memory, scenario, at, park, held: heldBuffer, gate: gateBuffer } = workerData;
const arena = Arena.attach(memory);
arena.threadAttach();
const MiB = 2 ** 20;
const held = new Int32Array(heldBuffer);
const gate = new Int32Array(gateBuffer);
const arm = (section) => {
  globalThis.__hakmemCrashPlan = { section, at, count: 0, park: new Int32Array(park) };
};
const keep = (p) => {
  held[++held[0]] = p;
};
const freeHeld = (big, i) => {
  const p = held[i];
  held[i] = 0;
  big.free(p);
};
const shared = () => new BigTier(arena, undefined, { threadCache: false });

const scenarios = {
  /** A thread that stops at once (the test makes it the holder of the tier lock, then terminates it). */
  idle() {
    new BigTier(arena, undefined, { threadCache: true });
    const p = new Int32Array(park);
    Atomics.store(p, 0, 1);
    Atomics.notify(p, 0);
    for (;;) Atomics.wait(p, 1, 0);
  },
  /** Taken by the test (no crash plan): a malloc that sleeps on the tier lock the test holds for a "dead" thread. */
  'lock-wait'() {
    const big = new BigTier(arena, undefined, { threadCache: true });
    parentPort.postMessage({ threadId: arena.threadId });
    Atomics.wait(gate, 0, 0);
    keep(big.malloc(2 * MiB));
  },
  /** malloc from the shared cache: an exact hit, a cut of a larger run, a miss. */
  take() {
    const big = shared();
    const a = big.malloc(3 * MiB);
    const b = big.malloc(8 * MiB);
    big.free(a);
    big.free(b);
    arm('take');
    keep(big.malloc(3 * MiB));
    keep(big.malloc(2 * MiB));
    keep(big.malloc(5 * MiB));
  },
  /** frees into the shared cache, past the first node chunk (a chunk is added). */
  put() {
    const big = shared();
    for (let i = 0; i < 40; i++) keep(big.malloc(MiB + 1));
    arm('put');
    for (let i = 1; i <= 40; i++) freeHeld(big, i);
  },
  /** trim: every cached run back to the arena, the node chunks to metaFree. */
  evict() {
    const big = shared();
    for (let i = 0; i < 40; i++) keep(big.malloc(MiB + 1 + (i % 3) * MiB));
    for (let i = 1; i <= 40; i++) freeHeld(big, i);
    arm('evict');
    big.trim();
  },
  /** resize: growth in place over a cached run behind the block, then a shrink. */
  resize() {
    const big = shared();
    const p = big.malloc(2 * MiB);
    keep(p);
    const q = big.malloc(2 * MiB);
    big.free(q);
    arm('resize');
    big.resize(p, 5 * MiB);
    big.resize(p, 3 * MiB);
  },
  /** The thread cache: frees into it (its area, its reservation, a spill to the shared cache), a malloc back, flush, detach. */
  local() {
    const big = new BigTier(arena, undefined, { threadCache: true });
    for (let i = 0; i < 10; i++) keep(big.malloc(MiB + 1 + (i % 4) * MiB));
    arm('local');
    for (let i = 1; i <= 10; i++) freeHeld(big, i);
    keep(big.malloc(MiB + 1));
    big.flush();
    freeHeld(big, 11);
    big.detach();
  },
  /**
   * Another thread's cache asked for (a malloc about to fail asks) and given back by its owner's
   * next free. The owner is a second thread of this worker (its id posted as `also`, so the test
   * reclaims it too) whose cache holds runs while the heap is full.
   */
  ask() {
    const big = shared();
    const ownerArena = Arena.attach(memory);
    const ownerId = ownerArena.threadAttach();
    parentPort.postMessage({ also: ownerId });
    const owner = new BigTier(ownerArena, undefined, { threadCache: true });
    for (let p = big.malloc(4 * MiB); p !== 0; p = big.malloc(4 * MiB)) keep(p);
    for (let i = 1; i <= 3; i++) freeHeld(owner, i);
    arm('local');
    if (big.malloc(4 * MiB) !== 0) throw new Error('ask: the heap was not full');
    for (let i = 4; i <= 5; i++) freeHeld(owner, i);
    keep(big.malloc(4 * MiB));
    big.trim();
  },
  /** A thread takes the lock after a holder died inside (R_BUSY set: the repair). */
  repair() {
    const big = shared();
    // The test left R_BUSY set, as a dead holder does, and cached runs the page map disowns.
    arm('repair');
    keep(big.malloc(2 * MiB));
  },
};
if (scenario !== 'lock-wait') parentPort.postMessage({ threadId: arena.threadId });
scenarios[scenario]();
globalThis.__hakmemCrashPlan = undefined;
parentPort.postMessage({ finished: true });

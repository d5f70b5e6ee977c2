// A worker of the crash-consistency test (development build: `--conditions=development`, so the
// crash points exist). It prepares a scenario with the plan disarmed, then arms
// globalThis.__hakmemCrashPlan and runs the section under test: it stops for good at the plan's
// crash point (the test terminates it there) or reports that the section ended first. The blocks
// it holds are listed in `held` (held[0] = entries, then pointers; 0 = freed), so the test
// frees them after the reclaim; an entry is cleared before its free (that block is in flight).
import { parentPort, workerData } from 'node:worker_threads';
import { Arena } from '@hakmem/page-arena';
import { TinyTier } from '@hakmem/superslab';

const { memory, scenario, at, park, held: heldBuffer, gate: gateBuffer } = workerData;
const arena = Arena.attach(memory);
arena.threadAttach();
parentPort.postMessage({ threadId: arena.threadId });
const tiny = new TinyTier(arena);
const held = new Int32Array(heldBuffer);
const gate = new Int32Array(gateBuffer);
const arm = (section) => {
  globalThis.__hakmemCrashPlan = { section, at, count: 0, park: new Int32Array(park) };
};
const keep = (p) => {
  held[++held[0]] = p;
};
const freeHeld = (i) => {
  const p = held[i];
  held[i] = 0;
  tiny.free(p);
};

const scenarios = {
  /** A first block of a class: a slab from the pool (tier lock), then its initialisation. */
  acquire() {
    arm('acquire');
    keep(tiny.malloc(200));
  },
  /** Trim: the kept empty slab goes back to the pool (tier lock). */
  release() {
    tiny.free(tiny.malloc(300));
    tiny.flush();
    arm('release');
    tiny.trim();
  },
  /** Detach with a block still out: the slab is abandoned (tier lock). */
  abandon() {
    keep(tiny.malloc(160));
    arm('abandon');
    tiny.detach();
    arena.threadRelease(arena.threadId);
  },
  /** A class whose only slab is abandoned (by a worker before this one): adopted. */
  adopt() {
    arm('adopt');
    keep(tiny.malloc(160));
  },
  /** Blocks the test frees remotely into this thread's slab: collected on a refill. */
  collect() {
    for (let i = 0; i < 12; i++) keep(tiny.malloc(64));
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    Atomics.wait(gate, 0, 1);
    arm('collect');
    for (let i = 0; i < 14; i++) keep(tiny.malloc(64));
  },
  /** Own frees filling the cache: spills back to the slabs. */
  spill() {
    for (let i = 0; i < 12; i++) keep(tiny.malloc(96));
    arm('spill');
    for (let i = 1; i <= 12; i++) freeHeld(i);
    tiny.flush();
  },
  /** Frees of the test's blocks (held lists them): remote frees. */
  'remote-free'() {
    arm('remote-free');
    for (let i = 1; i <= held[0]; i++) freeHeld(i);
  },
  /** Remote frees of the test's blocks, pushed from the outgoing buffer (a full slot, then a flush). */
  'remote-flush'() {
    arm('remote-flush');
    for (let i = 1; i <= held[0]; i++) freeHeld(i);
    tiny.flush();
  },
};
scenarios[scenario]();
globalThis.__hakmemCrashPlan = undefined;
parentPort.postMessage({ finished: true });

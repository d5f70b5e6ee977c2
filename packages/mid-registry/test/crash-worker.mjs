// A worker of the mid tier's crash-consistency test (development build: `--conditions=development`,
// so the crash points exist). It prepares a scenario with the plan disarmed, then arms
// globalThis.__hakmemCrashPlan and runs the section under test: it stops for good at the plan's
// crash point (the test terminates it there) or reports that the section ended first. The blocks
// it holds are listed in `held` (held[0] = entries, then pointers; 0 = freed), so the test frees
// them after the reclaim; an entry is cleared before its free (that block is in flight).
import { parentPort, workerData } from 'node:worker_threads';
import { MidTier } from '@hakmem/mid-registry';
import { Arena } from '@hakmem/page-arena';

const { memory, scenario, at, park, held: heldBuffer, gate: gateBuffer } = workerData;
const arena = Arena.attach(memory);
arena.threadAttach();
parentPort.postMessage({ threadId: arena.threadId });
const mid = new MidTier(arena);
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
  mid.free(p);
};
/** The tier root's R_REG_COUNT and R_REG_CAP (layout.ts). */
const registry = () => [arena.i32[mid.spans.root + 6], arena.i32[mid.spans.root + 5]];
const waitGate = () => {
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
  Atomics.wait(gate, 0, 1);
};

const scenarios = {
  /** A first block of a class: a new span (tier lock: run, descriptor, page map, registry). */
  create() {
    arm('create');
    keep(mid.malloc(5000));
  },
  /** The 257th span: the registry doubles (tier lock), then the span is made. */
  grow() {
    while (registry()[0] < 256) keep(mid.malloc(8192));
    const [count] = registry();
    arm('create');
    while (registry()[0] === count) keep(mid.malloc(8192));
  },
  /** Trim: the empty span goes back to the arena (tier lock: registry, run, metadata). */
  destroy() {
    mid.free(mid.malloc(3000));
    arm('destroy');
    mid.trim();
  },
  /** Detach with a block still out: the span is abandoned (tier lock). */
  abandon() {
    keep(mid.malloc(6000));
    arm('abandon');
    mid.detach();
    arena.threadRelease(arena.threadId);
  },
  /** A class whose only span is abandoned (by a worker before this one): adopted. */
  adopt() {
    arm('adopt');
    keep(mid.malloc(6000));
  },
  /** Trim takes the abandoned spans over (the test freed their blocks): each goes back. */
  trim() {
    waitGate();
    arm('trim');
    mid.trim();
  },
  /** Blocks the test frees remotely into this thread's span: collected on a refill. */
  collect() {
    for (let i = 0; i < 16; i++) keep(mid.malloc(4096));
    waitGate();
    arm('collect');
    for (let i = 0; i < 40; i++) keep(mid.malloc(4096));
  },
  /** Misses: batches from the spans (carved, taken from a local list, across spans). */
  refill() {
    for (let i = 0; i < 30; i++) keep(mid.malloc(2048));
    for (let i = 1; i <= 30; i += 2) freeHeld(i);
    mid.flush();
    arm('refill');
    for (let i = 0; i < 120; i++) keep(mid.malloc(2048));
  },
  /** Own frees filling the cache: spills back to the spans. */
  spill() {
    for (let i = 0; i < 80; i++) keep(mid.malloc(28672));
    arm('spill');
    for (let i = 1; i <= 80; i++) freeHeld(i);
    mid.flush();
  },
  /** Frees of the test's blocks (held lists them): remote frees. */
  'remote-free'() {
    arm('remote-free');
    for (let i = 1; i <= held[0]; i++) freeHeld(i);
  },
};
scenarios[scenario]();
globalThis.__hakmemCrashPlan = undefined;
parentPort.postMessage({ finished: true });

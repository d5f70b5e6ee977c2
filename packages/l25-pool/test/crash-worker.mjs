// A worker of the L2.5 tier's crash-consistency test (development build: `--conditions=development`,
// so the crash points exist). It prepares a scenario with the plan disarmed, then arms
// globalThis.__hakmemCrashPlan and runs the section under test: it stops for good at the plan's
// crash point (the test terminates it there) or reports that the section ended first. The blocks
// it holds are listed in `held` (held[0] = entries, then pointers; 0 = freed), so the test frees
// them after the reclaim; an entry is cleared before its free (that block is in flight).
import { parentPort, workerData } from 'node:worker_threads';
import { L25Tier } from '@hakmem/l25-pool';
import { Arena } from '@hakmem/page-arena';

const { memory, scenario, at, park, held: heldBuffer } = workerData;
const arena = Arena.attach(memory);
arena.threadAttach();
parentPort.postMessage({ threadId: arena.threadId });
const held = new Int32Array(heldBuffer);
const arm = (section) => {
  globalThis.__hakmemCrashPlan = { section, at, count: 0, park: new Int32Array(park) };
};
const keep = (p) => {
  held[++held[0]] = p;
};
let l25;
const freeHeld = (i) => {
  const p = held[i];
  held[i] = 0;
  l25.free(p);
};
const KiB = 1024;

const scenarios = {
  /** Thread id 5: its home shard is in chunk 1, made by its first handle (directory lock). */
  chunk() {
    arm('chunk');
    l25 = new L25Tier(arena);
  },
  /** A first block of a class: a new span (run, descriptor, page map, then the registry under the home shard's lock). */
  create() {
    arm('create');
    keep(l25.malloc(40_000));
    keep(l25.malloc(200_000));
  },
  /** Misses: batches from partial spans, then empty 40 KiB spans re-carved for 80 KiB (same 5 pages). */
  refill() {
    for (let i = 0; i < 32; i++) keep(l25.malloc(40_000));
    for (let i = 1; i <= 16; i += 2) freeHeld(i);
    for (let i = 17; i <= 32; i++) freeHeld(i);
    l25.flush();
    arm('refill');
    for (let i = 0; i < 16; i++) keep(l25.malloc(40_000));
    for (let i = 0; i < 8; i++) keep(l25.malloc(80 * KiB));
  },
  /** Own frees filling the cache: half a class spilled back to its spans (one shard lock), then a flush. */
  spill() {
    for (let i = 0; i < 80; i++) keep(l25.malloc(40_000));
    arm('spill');
    for (let i = 1; i <= 80; i++) freeHeld(i);
    l25.flush();
  },
  /** Frees of the test's blocks (held lists them): into their spans under the test's shard lock. */
  free() {
    arm('free');
    for (let i = 1; i <= held[0]; i++) freeHeld(i);
  },
  /** Trim: the empty spans go back to the arena (unregistered under the lock, FreeDesc, freeRun, descriptor). */
  release() {
    for (let i = 0; i < 8; i++) keep(l25.malloc(100_000 + i * 40_000));
    for (let i = 1; i <= 8; i++) freeHeld(i);
    arm('release');
    l25.trim();
  },
  /** An empty 16-page span shrunk for a 5-page class (FreeDesc, resizeRun, NewRun/NewDesc, registry). */
  shrink() {
    const p = l25.malloc(1024 * KiB);
    l25.free(p);
    l25.flush();
    arm('shrink');
    keep(l25.malloc(300_000));
  },
  /** realloc growth in place: a one-block span takes its successor pages (Ta.Grow, resizeRun, page map, re-class). */
  grow() {
    const p = l25.malloc(300_000);
    keep(p);
    arm('grow');
    if (!l25.resize(p, 900_000)) throw new Error('grow: not in place');
  },
  /** A block with room to grow: an empty span re-carved for one block, then a new run with room. */
  solo() {
    const p = l25.malloc(500_000);
    l25.free(p);
    l25.flush();
    arm('solo');
    l25.growHint(100_000);
    keep(l25.malloc(100_000));
    l25.growHint(200_000);
    keep(l25.malloc(200_000));
  },
};
if (scenario !== 'chunk') l25 = new L25Tier(arena);
scenarios[scenario]();
globalThis.__hakmemCrashPlan = undefined;
parentPort.postMessage({ finished: true });

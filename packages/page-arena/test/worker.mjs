// Stress worker: attaches to the arena in workerData.memory, allocates and frees page runs with
// a seeded PRNG, writes a checked pattern into every run, and proves it sees other workers' growth.
import { parentPort, workerData } from 'node:worker_threads';
import { Arena, PAGE_SIZE } from '@hakmem/page-arena';

const TIER_RUN = 6;

const { memory, control, index, workers, seed, ops, maxLive, maxRunPages } = workerData;
const ctl = new Int32Array(control);
// ctl words: 0 barrier arrivals, 1 barrier generation, 2 published page, 3 published pages, 4 published tag, 5 main's "go"
const arena = Arena.attach(memory);
const threadId = arena.threadAttach();

let state = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
function random() {
  // mulberry32
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randomInt = (n) => Math.floor(random() * n);

function barrier() {
  const generation = Atomics.load(ctl, 1);
  if (Atomics.add(ctl, 0, 1) === workers - 1) {
    Atomics.store(ctl, 0, 0);
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  } else {
    while (Atomics.load(ctl, 1) === generation) Atomics.wait(ctl, 1, generation);
  }
}

function cookie(tag, page, slot) {
  let h = Math.imul(tag ^ Math.imul(page + 1, 0x85ebca6b), 0xc2b2ae35) ^ slot;
  h ^= h >>> 13;
  return Math.imul(h, 0x27d4eb2d) | 0;
}
const SLOTS = [0, PAGE_SIZE / 8, PAGE_SIZE / 4 - 1];
function writePattern(offset, pages, tag) {
  if (offset + pages * PAGE_SIZE > arena.viewBytes)
    throw new Error(`run ${offset}+${pages} beyond own views ${arena.viewBytes}`);
  const i32 = arena.i32;
  for (let p = 0; p < pages; p++) {
    const word = (offset + p * PAGE_SIZE) / 4;
    for (let s = 0; s < SLOTS.length; s++) i32[word + SLOTS[s]] = cookie(tag, p, s);
  }
}
function verifyPattern(offset, pages, tag, who) {
  const i32 = arena.i32;
  for (let p = 0; p < pages; p++) {
    const word = (offset + p * PAGE_SIZE) / 4;
    for (let s = 0; s < SLOTS.length; s++) {
      if (i32[word + SLOTS[s]] !== cookie(tag, p, s)) {
        throw new Error(`worker ${index} (${who}): pattern broken in run at ${offset} page ${p} slot ${s}`);
      }
    }
  }
}

let foreignGrowthsSeen = 0;
let growthPhaseChecks = 0;

// Phase A: each worker in turn forces a growth; every other worker must see it and read the run.
for (let round = 0; round < workers * 2; round++) {
  barrier();
  const grower = round % workers === index;
  if (grower) {
    const before = arena.committedBytes();
    const pages = arena.stats().largestFreeRunPages + 1 + randomInt(4);
    const offset = arena.allocRun(pages, TIER_RUN);
    if (offset === 0) throw new Error(`worker ${index}: growth allocation of ${pages} pages failed`);
    if (arena.committedBytes() <= before)
      throw new Error(`worker ${index}: allocating ${pages} pages did not grow`);
    const tag = (randomInt(0x7fffffff) + 1) | 0;
    writePattern(offset, pages, tag);
    Atomics.store(ctl, 2, offset / PAGE_SIZE);
    Atomics.store(ctl, 3, pages);
    Atomics.store(ctl, 4, tag);
  }
  barrier();
  if (!grower) {
    const offset = Atomics.load(ctl, 2) * PAGE_SIZE;
    const pages = Atomics.load(ctl, 3);
    if (!arena.refresh()) throw new Error(`worker ${index}: refresh() missed the growth of round ${round}`);
    if (offset + pages * PAGE_SIZE > arena.viewBytes)
      throw new Error(`worker ${index}: views do not reach the grown run`);
    if (arena.runPages(offset) !== pages)
      throw new Error(`worker ${index}: page map does not show the grown run`);
    verifyPattern(offset, pages, Atomics.load(ctl, 4), 'grown run of another worker');
    growthPhaseChecks++;
  }
  barrier();
  if (grower) arena.freeRun(Atomics.load(ctl, 2) * PAGE_SIZE);
}
barrier();

// Phase B: concurrent random allocations, frees and resizes while the memory grows.
const live = [];
let failedAllocs = 0;
for (let op = 0; op < ops; op++) {
  if (arena.refresh()) foreignGrowthsSeen++;
  const roll = random();
  if (live.length < maxLive && (live.length === 0 || roll < 0.55)) {
    const pages = 1 + (random() < 0.1 ? randomInt(maxRunPages * 4) : randomInt(maxRunPages));
    const offset = arena.allocRun(pages, TIER_RUN);
    if (offset === 0) {
      failedAllocs++;
      continue;
    }
    if (offset % PAGE_SIZE !== 0 || arena.runPages(offset) !== pages)
      throw new Error(`worker ${index}: bad run ${offset}`);
    const tag = (randomInt(0x7fffffff) + 1) | 0;
    writePattern(offset, pages, tag);
    live.push({ offset, pages, tag });
  } else if (roll < 0.65 && live.length > 0) {
    const run = live[randomInt(live.length)];
    verifyPattern(run.offset, run.pages, run.tag, 'before resize');
    const pages = 1 + randomInt(maxRunPages * 2);
    if (arena.resizeRun(run.offset, pages)) {
      run.pages = pages;
      writePattern(run.offset, pages, run.tag);
    }
  } else if (live.length > 0) {
    const at = randomInt(live.length);
    const run = live[at];
    verifyPattern(run.offset, run.pages, run.tag, 'before free');
    arena.freeRun(run.offset);
    live[at] = live[live.length - 1];
    live.pop();
  }
}
for (const run of live) verifyPattern(run.offset, run.pages, run.tag, 'end of phase B');

// Hand the live runs to the main thread, which checks the whole heap while everyone is quiescent.
parentPort.postMessage({
  kind: 'live',
  index,
  threadId,
  live: live.map((r) => [r.offset, r.pages]),
  foreignGrowthsSeen,
  growthPhaseChecks,
  failedAllocs,
  viewBytes: arena.viewBytes,
});
while (Atomics.load(ctl, 5) === 0) Atomics.wait(ctl, 5, 0);

for (const run of live) {
  verifyPattern(run.offset, run.pages, run.tag, 'final');
  arena.freeRun(run.offset);
}
arena.threadRelease(threadId);
parentPort.postMessage({ kind: 'done', index });

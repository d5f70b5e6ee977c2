// A worker for the superslab stress test: its own thread slot and Superslab over the shared
// memory; random malloc/free of its own blocks, and blocks handed to the next worker through a
// shared ring (so most frees of handed blocks are remote frees).
import { parentPort, workerData } from 'node:worker_threads';
import { Arena } from '@hakmem/page-arena';
import { Superslab } from '@hakmem/superslab';

const arena = Arena.attach(workerData.memory);
arena.threadAttach();
const slabs = new Superslab(arena);

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const fill = (p, size) => {
  if (p + size > arena.viewBytes) arena.refresh();
  const u8 = arena.u8;
  for (let i = 0; i < size; i++) u8[p + i] = (p + i * 13) & 0xff;
};
const verify = (p, size) => {
  if (p + size > arena.viewBytes) arena.refresh();
  const u8 = arena.u8;
  for (let i = 0; i < size; i++)
    if (u8[p + i] !== ((p + i * 13) & 0xff)) throw new Error(`block ${p} damaged at +${i}`);
};

const { index, workers, rounds, seed, rings, sizeRings } = workerData;
const next = rng(seed);
// ring k: written by worker k, read by worker k + 1
const out = new Int32Array(rings[index]);
const outSize = new Int32Array(sizeRings[index]);
const inp = new Int32Array(rings[(index + workers - 1) % workers]);
const inpSize = new Int32Array(sizeRings[(index + workers - 1) % workers]);
const mine = new Map();
let outAt = 0;
let inAt = 0;
let handed = 0;
let received = 0;

function drain() {
  for (;;) {
    const p = Atomics.load(inp, inAt) >>> 0;
    if (p === 0) return;
    verify(p, inpSize[inAt]);
    slabs.free(p); // mostly a remote free
    Atomics.store(inp, inAt, 0);
    inAt = (inAt + 1) % inp.length;
    received++;
  }
}

for (let r = 0; r < rounds; r++) {
  const roll = next() % 100;
  if (roll < 55 || mine.size === 0) {
    const size = next() % 1025;
    const p = slabs.malloc(size);
    if (p === 0) throw new Error('out of memory');
    fill(p, size);
    mine.set(p, size);
  } else if (roll < 85) {
    const keys = mine.keys();
    const p = keys.next().value;
    verify(p, mine.get(p));
    slabs.free(p);
    mine.delete(p);
  } else {
    // hand one over if the slot is free
    const [p, size] = mine.entries().next().value;
    if (Atomics.load(out, outAt) === 0) {
      mine.delete(p);
      outSize[outAt] = size;
      Atomics.store(out, outAt, p);
      outAt = (outAt + 1) % out.length;
      handed++;
    }
  }
  if ((r & 63) === 0) drain();
}
for (const [p, size] of mine) {
  verify(p, size);
  slabs.free(p);
}
parentPort.postMessage({ done: true, handed });
// keep draining until the main thread says every ring is empty
parentPort.on('message', (msg) => {
  if (msg === 'drain') {
    drain();
    parentPort.postMessage({ drained: true, received });
  } else if (msg === 'detach') {
    slabs.slabDetach();
    arena.threadRelease(arena.threadId);
    parentPort.postMessage({ detached: true });
  }
});

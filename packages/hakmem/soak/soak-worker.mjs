// A soak worker: attaches to the heap and churns blocks of every tier with cookies (a pattern
// from a seed in the first and last bytes, checked before every free), hands blocks over to the
// other workers through a shared ring and frees the ones it takes, until told to stop or killed.
// It publishes its counters in its row of the shared stats array after every operation, so the
// parent knows how many blocks it held when it was terminated.
import { parentPort, workerData } from 'node:worker_threads';
import { attachHeap } from 'hakmem';
import { soakTiers } from './soak-tiers.mjs';

const { memory, ring, stats, tables, control, row, seed, ringSlots, max, bigThreadCache } = workerData;
const C = new Int32Array(control); // [0] pause requested, [1] workers paused
const tiers = soakTiers(bigThreadCache);
const heap = attachHeap(memory, tiers ? { tiers } : {});
const R = new Int32Array(ring); // [slot * 3 + 0] state (0 empty, 1 writing, 2 full, 3 taking), +1 ptr, +2 seed|size
const S = new Float64Array(stats); // row: 0 ops, 1 live blocks, 2 frees of handed blocks, 3 threadId, 4 stop, 5 cookie failures, 6 current op (1 malloc, 2 free, 3 free of a handed block; 0 none), 7 its size or pointer
const base = row * 8;
S[base + 3] = heap.threadId;
let s = seed >>> 0 || 1;
function next() {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return s >>> 0;
}
/** Sizes of every tier: 70 % tiny, 20 % mid, 8 % L2.5, 2 % big. */
function size(r) {
  const pick = r % 100;
  const v = next();
  if (pick < 70) return 8 + (v % 1017); // ≥ 8: the cookie takes the first two bytes and the last
  if (pick < 90) return 1025 + (v % 31_743);
  if (pick < 98) return 32_769 + (v % 1_015_807);
  return 1_048_577 + (v % 3_145_728);
}
function cookie(ptr, bytes, tag) {
  const u8 = heap.u8;
  u8[ptr] = tag & 0xff;
  u8[ptr + 1] = (tag >>> 8) & 0xff;
  u8[ptr + bytes - 1] = (tag >>> 16) & 0xff;
}
function intact(ptr, bytes, tag) {
  const u8 = heap.u8;
  return (
    u8[ptr] === (tag & 0xff) &&
    u8[ptr + 1] === ((tag >>> 8) & 0xff) &&
    u8[ptr + bytes - 1] === ((tag >>> 16) & 0xff)
  );
}
// This worker's blocks, in shared memory so the parent frees them when it kills the worker:
// entry i = (ptr, size, tag) at T[t + 3i …]; S[base + 1] = how many. An entry is written before
// the count covers it, and leaves the table before its block is freed, so the parent never frees
// a block twice; a kill between the two steps leaks at most one block (in flight).
const MAX = max;
const T = new Float64Array(tables);
const t = row * MAX * 3;
let live = 0;
function remove(i) {
  live--;
  T[t + 3 * i] = T[t + 3 * live];
  T[t + 3 * i + 1] = T[t + 3 * live + 1];
  T[t + 3 * i + 2] = T[t + 3 * live + 2];
  S[base + 1] = live;
}
function release(i) {
  const ptr = T[t + 3 * i];
  const bytes = T[t + 3 * i + 1];
  if (!intact(ptr, bytes, T[t + 3 * i + 2])) S[base + 5]++;
  remove(i);
  S[base + 6] = 2;
  S[base + 7] = ptr;
  heap.free(ptr);
  S[base + 6] = 0;
}
const SIZE_BITS = 23; // sizes < 8 MiB in the low bits of slot word 2, the tag's 8 bits above
for (;;) {
  if (S[base + 4] !== 0) break;
  if (C[0] !== 0) {
    // The parent checks the heap: wait, holding nothing, until it is done.
    Atomics.add(C, 1, 1);
    while (Atomics.load(C, 0) !== 0) Atomics.wait(C, 0, 1, 50);
    Atomics.sub(C, 1, 1);
  }
  const r = next();
  const op = r % 16;
  if (op < 7 && live < MAX) {
    const bytes = size(next());
    S[base + 6] = 1;
    S[base + 7] = bytes;
    const ptr = heap.malloc(bytes);
    S[base + 6] = 0;
    const tag = next() & 0xffffff;
    cookie(ptr, bytes, tag);
    T[t + 3 * live] = ptr;
    T[t + 3 * live + 1] = bytes;
    T[t + 3 * live + 2] = tag;
    live++;
    S[base + 1] = live;
  } else if (op < 13 && live > 0) {
    release(next() % live);
  } else if (op < 15 && live > 0) {
    // Hand a block over: claim an empty slot, fill it, publish it.
    const slot = next() % ringSlots;
    if (Atomics.compareExchange(R, slot * 3, 0, 1) === 0) {
      const i = next() % live;
      const ptr = T[t + 3 * i];
      const bytes = T[t + 3 * i + 1];
      const tag = T[t + 3 * i + 2] & 0xff;
      // Out of the table before its cookie changes (a kill in between leaves it in flight, not
      // a table entry whose cookie no longer matches), then into the slot.
      remove(i);
      cookie(ptr, bytes, tag | (tag << 8) | (tag << 16));
      R[slot * 3 + 1] = ptr;
      R[slot * 3 + 2] = bytes | (tag << SIZE_BITS);
      Atomics.store(R, slot * 3, 2);
    }
  } else {
    // Take a handed-over block: check its cookie, free it here (often another thread's block).
    const slot = next() % ringSlots;
    if (Atomics.compareExchange(R, slot * 3, 2, 3) === 2) {
      const ptr = R[slot * 3 + 1] >>> 0;
      const word = R[slot * 3 + 2] >>> 0;
      const bytes = word & ((1 << SIZE_BITS) - 1);
      const tag = word >>> SIZE_BITS;
      if (!intact(ptr, bytes, tag | (tag << 8) | (tag << 16))) S[base + 5]++;
      S[base + 6] = 3;
      S[base + 7] = ptr;
      heap.free(ptr);
      S[base + 6] = 0;
      Atomics.store(R, slot * 3, 0);
      S[base + 2]++;
    }
  }
  S[base]++;
}
while (live > 0) release(live - 1);
heap.detach();
parentPort.postMessage('done');

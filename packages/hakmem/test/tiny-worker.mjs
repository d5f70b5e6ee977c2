// A worker for the tiny-tier thread tests: joins the heap it is given and runs one scenario.
// Blocks carry a payload derived from a seed; every block is checked before it is freed.
import { parentPort, workerData } from 'node:worker_threads';
import { attachHeap } from 'hakmem';

const heap = attachHeap(workerData.memory);

/** mulberry32: the same sequence for the same seed. */
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

function fill(ptr, size, seed) {
  const u8 = heap.u8;
  for (let i = 0; i < size; i++) u8[ptr + i] = (seed + i * 31) & 0xff;
}

function verify(ptr, size, seed, who) {
  const u8 = heap.u8;
  for (let i = 0; i < size; i++) {
    if (u8[ptr + i] !== ((seed + i * 31) & 0xff)) {
      throw new Error(`${who}: payload of block ${ptr} (${size} B) damaged at +${i}`);
    }
  }
}

/** Fills the heap with random blocks of minSize … maxSize (default 16 B – 1 KiB) until the first out-of-memory. */
function fillUntilFull({ seed, minSize = 16, maxSize = 1024 }) {
  const next = rng(seed);
  const ptrs = [];
  const sizes = [];
  let requested = 0;
  for (;;) {
    const size = minSize + (next() % (maxSize - minSize + 1));
    const ptr = heap.tryMalloc(size);
    if (ptr === 0) break;
    fill(ptr, size, ptr);
    ptrs.push(ptr);
    sizes.push(size);
    requested += size;
  }
  return { ptrs, sizes, requested };
}

let held = null;

/** Producer: allocates blocks and hands them over through a shared ring; a consumer frees them. */
function produce({ ring, sizes, count, seed }) {
  const slots = new Int32Array(ring);
  const lens = new Int32Array(sizes);
  const next = rng(seed);
  let at = 0;
  for (let n = 0; n < count; n++) {
    const size = 16 + (next() % 1009);
    const ptr = heap.malloc(size);
    fill(ptr, size, ptr);
    // wait for a free slot (the consumer empties them)
    while (Atomics.load(slots, at) !== 0) Atomics.wait(slots, at, Atomics.load(slots, at), 1);
    lens[at] = size;
    Atomics.store(slots, at, ptr);
    Atomics.notify(slots, at);
    at = (at + 1) % slots.length;
  }
  return { produced: count };
}

function consume({ ring, sizes, count }) {
  const slots = new Int32Array(ring);
  const lens = new Int32Array(sizes);
  let at = 0;
  for (let n = 0; n < count; n++) {
    let ptr = Atomics.load(slots, at);
    while (ptr === 0) {
      Atomics.wait(slots, at, 0, 1);
      ptr = Atomics.load(slots, at);
    }
    const size = lens[at];
    Atomics.store(slots, at, 0);
    Atomics.notify(slots, at);
    verify(ptr >>> 0, size, ptr >>> 0, 'consumer');
    heap.free(ptr >>> 0);
    at = (at + 1) % slots.length;
  }
  return { consumed: count };
}

/**
 * Churns until terminated, recording every live block in a shared table so the main thread can
 * free them after reclaiming this thread: table[2i] = ptr, table[2i + 1] = size. A block is
 * recorded right after malloc and unrecorded right before free (the only blocks in flight).
 */
function churnRecorded({ table, seed, slots }) {
  const t = new Int32Array(table);
  const next = rng(seed);
  Atomics.store(t, t.length - 1, 1); // started
  for (let round = 0; ; round++) {
    const i = next() % slots;
    const old = t[2 * i] >>> 0;
    if (old !== 0) {
      verify(old, t[2 * i + 1], old, 'churn');
      t[2 * i] = 0;
      heap.free(old);
    }
    const size = next() % 1025;
    const ptr = heap.malloc(size);
    fill(ptr, size, ptr);
    t[2 * i + 1] = size;
    t[2 * i] = ptr;
    if ((round & 1023) === 0) Atomics.add(t, t.length - 2, 1); // progress
  }
}

parentPort.on('message', (msg) => {
  try {
    switch (msg.op) {
      case 'fill': {
        held = fillUntilFull(msg);
        parentPort.postMessage({
          ok: true,
          threadId: heap.threadId,
          count: held.ptrs.length,
          requested: held.requested,
        });
        break;
      }
      case 'handOver': {
        // The blocks this worker holds, for another worker to check and free.
        const { ptrs, sizes } = held;
        held = null;
        parentPort.postMessage({ ok: true, threadId: heap.threadId, ptrs, sizes });
        break;
      }
      case 'freeThese': {
        for (let i = 0; i < msg.ptrs.length; i++) {
          verify(msg.ptrs[i], msg.sizes[i], msg.ptrs[i], 'handed over');
          heap.free(msg.ptrs[i]);
        }
        parentPort.postMessage({ ok: true, threadId: heap.threadId });
        break;
      }
      case 'verifyFree': {
        const { ptrs, sizes } = held;
        for (let i = 0; i < ptrs.length; i++) {
          verify(ptrs[i], sizes[i], ptrs[i], 'fill');
          heap.free(ptrs[i]);
        }
        held = null;
        parentPort.postMessage({ ok: true, threadId: heap.threadId });
        break;
      }
      case 'produce':
        parentPort.postMessage({ ok: true, threadId: heap.threadId, ...produce(msg) });
        break;
      case 'consume':
        parentPort.postMessage({ ok: true, threadId: heap.threadId, ...consume(msg) });
        break;
      case 'churnRecorded':
        parentPort.postMessage({ ok: true, threadId: heap.threadId, started: true });
        churnRecorded(msg);
        break;
      case 'detach':
        heap.detach();
        parentPort.postMessage({ ok: true });
        break;
      default:
        throw new Error(`unknown op ${msg.op}`);
    }
  } catch (e) {
    parentPort.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});

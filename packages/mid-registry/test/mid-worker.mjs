// A worker of the mid tier's thread tests: a mid-only allocator composed from the packages'
// public exports (the built @hakmem/page-arena and @hakmem/mid-registry), following the
// commands the test posts. Every block carries a header the thread that frees it checks:
// +4 its requested size, +8 a cookie of (ptr, size), +12 the allocating thread's id, and the
// cookie again in its last 4 bytes (a block of < 20 bytes has no trailing copy).
import { parentPort, workerData } from 'node:worker_threads';
import { MidTier } from '@hakmem/mid-registry';
import { Arena, HakmemError } from '@hakmem/page-arena';

const arena = Arena.attach(workerData.memory);
arena.threadAttach();
const mid = new MidTier(arena);
const me = arena.threadId;

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

const cookie = (p, size) => (Math.imul(p, 2654435761) ^ Math.imul(size, 40503)) | 0;

/** Writes the header and trailer of block `p` of `size` (≥ 16) bytes. */
function stamp(p, size) {
  if (p + size > arena.viewBytes) arena.refresh();
  const i32 = arena.i32;
  i32[(p >>> 2) + 1] = size;
  i32[(p >>> 2) + 2] = cookie(p, size);
  i32[(p >>> 2) + 3] = me;
  if (size >= 20) arena.dataView.setInt32(p + size - 4, cookie(p, size) ^ 0x5a5a5a5a, true);
}

/** The block's size if its header and trailer are intact, -1 otherwise; `from` gets the allocating thread. */
function verify(p) {
  if (p + 16 > arena.viewBytes) arena.refresh();
  const i32 = arena.i32;
  const size = i32[(p >>> 2) + 1];
  if (!(size >= 16 && size <= 32768) || i32[(p >>> 2) + 2] !== cookie(p, size)) return -1;
  // Another thread may have grown the memory and stamped a block that ends past this thread's views.
  if (p + size > arena.viewBytes) arena.refresh();
  if (size >= 20 && arena.dataView.getInt32(p + size - 4, true) !== (cookie(p, size) ^ 0x5a5a5a5a)) return -1;
  return size;
}

function allocator(p) {
  return arena.i32[(p >>> 2) + 3];
}

/** The code a call throws, 'ok' if it returns. */
function codeOf(fn) {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return HakmemError.codeOf(error) ?? String(error);
  }
}

/** A random size of 1 – 32 KiB (the fill and exchange workloads). */
const midSize = (next) => 1024 + (next() % 31745);

let kept = [];
let filled = [];

const handlers = {
  /** Errors of the same thread: double free, interior pointer, a write after free over a link. */
  own() {
    const out = {};
    const p = mid.malloc(3000);
    mid.free(p);
    out.doubleFree = codeOf(() => mid.free(p));
    const q = mid.malloc(5000);
    out.interior = codeOf(() => mid.free(q + 16));
    out.interiorUsable = codeOf(() => mid.usableSize(q + 16));
    mid.free(q);
    const a = mid.malloc(20000);
    const live = mid.malloc(20000);
    mid.free(a);
    arena.u32[a >>> 2] = live; // the link of a cached block now names a live block
    out.handedAgain = mid.malloc(20000) === a;
    out.corrupted = codeOf(() => mid.malloc(20000));
    return out;
  },
  /** `count` blocks of `size` for another thread (every other one kept, so no span empties). */
  give({ count, size, table }) {
    const t = new Int32Array(table);
    for (let i = 0; i < 2 * count; i++) {
      const p = mid.malloc(size);
      stamp(p, size);
      if (i % 2 === 0) t[i >> 1] = p;
      else kept.push(p);
    }
    return { given: count };
  },
  /** Frees the blocks of `table` (another thread's), each twice, all racers starting together. */
  race({ table, count, go }) {
    const t = new Int32Array(table);
    const flag = new Int32Array(go);
    Atomics.add(flag, 1, 1);
    while (Atomics.load(flag, 0) === 0) {}
    const outcomes = {};
    let damaged = 0;
    for (let i = 0; i < count; i++) {
      const p = t[i];
      if (verify(p) < 0) damaged++;
      for (let k = 0; k < 2; k++) {
        const code = codeOf(() => mid.free(p));
        outcomes[code] = (outcomes[code] ?? 0) + 1;
      }
    }
    return { outcomes, damaged };
  },
  /** The owner collects its spans' remote lists again and again while others free. */
  collect({ go }) {
    const flag = new Int32Array(go);
    let rounds = 0;
    Atomics.add(flag, 1, 1); // the racers start once the owner is here too
    do {
      mid.trim();
      rounds++;
    } while (Atomics.load(flag, 2) === 0);
    return { rounds };
  },
  /** A second remote free before and after the owner collects, and an interior pointer. */
  cross({ p }) {
    return {
      first: codeOf(() => mid.free(p)),
      second: codeOf(() => mid.free(p)),
      interior: codeOf(() => mid.free(p + 16)),
    };
  },
  /** Blocks from `table` (another thread's) are checked and freed here. */
  take({ table, count }) {
    const t = new Int32Array(table);
    let damaged = 0;
    for (let i = 0; i < count; i++) {
      if (verify(t[i]) < 0) damaged++;
      mid.free(t[i]);
    }
    return { damaged };
  },
  release() {
    for (const p of kept) mid.free(p);
    kept = [];
    return { live: mid.stats().liveBlocks };
  },
  /**
   * Blocks change hands through a shared table of slots: each round puts a new block into a
   * random slot with Atomics.exchange and frees (after checking) whatever it took out, which is
   * often another thread's block.
   */
  exchange({ table, rounds, seed, go, team }) {
    const t = new Int32Array(table);
    const flag = new Int32Array(go);
    Atomics.add(flag, 0, 1);
    while (Atomics.load(flag, 0) < team) {} // start together
    const next = rng(seed);
    let remote = 0;
    let damaged = 0;
    for (let r = 0; r < rounds; r++) {
      const size = next() % 5 === 0 ? 16 + (next() % 1009) : midSize(next);
      const p = mid.malloc(size);
      if (p === 0) throw new Error(`malloc(${size}) failed`);
      stamp(p, size);
      const old = Atomics.exchange(t, next() % t.length, p) >>> 0;
      if (old !== 0) {
        if (verify(old) < 0) damaged++;
        if (allocator(old) !== me) remote++;
        mid.free(old);
      }
    }
    return { remote, damaged };
  },
  /** Fills the heap with random 1 – 32 KiB blocks until the first malloc that returns 0. */
  fill({ seed }) {
    const next = rng(seed);
    filled = [];
    let requested = 0;
    for (;;) {
      const size = midSize(next);
      const p = mid.malloc(size);
      if (p === 0) break;
      stamp(p, size);
      filled.push(p);
      requested += size;
    }
    return { count: filled.length, requested };
  },
  /** Hands the second half of the filled blocks to another thread (`table`), frees the first half here. */
  handOff({ table }) {
    const t = new Int32Array(table);
    const half = filled.length >> 1;
    let damaged = 0;
    for (let i = half; i < filled.length; i++) t[i - half] = filled[i];
    for (let i = 0; i < half; i++) {
      if (verify(filled[i]) < 0) damaged++;
      mid.free(filled[i]);
    }
    const handed = filled.length - half;
    filled = [];
    return { handed, damaged };
  },
  /**
   * Churns until terminated, recording every live block in a shared table so the main thread
   * can free them after reclaiming this thread: table[i] = ptr. A block is recorded right after
   * malloc and unrecorded right before free (the only blocks in flight).
   */
  churnRecorded({ table, seed, slots }) {
    const t = new Int32Array(table);
    const next = rng(seed);
    parentPort.postMessage({ id: -1, ok: true, started: true });
    for (let round = 0; ; round++) {
      const i = next() % slots;
      const old = Atomics.exchange(t, i, 0) >>> 0; // a thief may take blocks from the table too
      if (old !== 0) {
        if (verify(old) < 0) throw new Error(`block ${old} damaged`);
        mid.free(old);
      }
      const size = next() % 4 === 0 ? next() % 1025 : midSize(next);
      const p = mid.malloc(Math.max(16, size));
      stamp(p, Math.max(16, size));
      Atomics.store(t, i, p);
      if ((round & 255) === 0) Atomics.add(t, slots, 1); // progress
    }
  },
  /** Takes random blocks out of a churning thread's table and frees them here (remote frees) until told to stop. */
  steal({ table, slots, stop, seed }) {
    const t = new Int32Array(table);
    const flag = new Int32Array(stop);
    const next = rng(seed);
    let stolen = 0;
    let damaged = 0;
    while (Atomics.load(flag, 0) === 0) {
      // the first half of the table only: the second half is left for the main thread to free
      const p = Atomics.exchange(t, next() % (slots >> 1), 0) >>> 0;
      if (p === 0) continue;
      if (verify(p) < 0) damaged++;
      mid.free(p);
      stolen++;
    }
    return { stolen, damaged };
  },
  trim() {
    return { bytes: mid.trim() };
  },
  detach() {
    mid.detach();
    arena.threadRelease(me);
    return {};
  },
};

parentPort.on('message', (msg) => {
  try {
    parentPort.postMessage({ id: msg.id, ok: true, ...handlers[msg.op](msg) });
  } catch (error) {
    parentPort.postMessage({ id: msg.id, ok: false, error: String(error?.message ?? error) });
  }
});
parentPort.postMessage({ id: 0, ok: true, threadId: me });

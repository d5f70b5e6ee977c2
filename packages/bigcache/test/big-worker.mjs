// A worker of the big tier's thread tests: an Arena joined from the shared memory and the
// BigTier of the built @hakmem/bigcache, following the commands the test posts.
import { parentPort, workerData } from 'node:worker_threads';
import { BigTier } from '@hakmem/bigcache';
import { Arena, HakmemError } from '@hakmem/page-arena';

const arena = Arena.attach(workerData.memory);
arena.threadAttach();
// Thread caches on unless the test says otherwise (they are what the fill and threads tests exercise).
const big = new BigTier(arena, undefined, { threadCache: workerData.threadCache ?? true });

/** The code a call throws, 'ok' if it returns. */
function codeOf(fn) {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return HakmemError.codeOf(error) ?? String(error);
  }
}

let s = 1;
const random = () => {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return s >>> 0;
};

/**
 * A block's cookies: words 0-2 hold its size, a seed and a check word; bytes at the middle and
 * the end carry values derived from them, so the thread that frees it can check it alone.
 */
const tag = (p, seed, i) => (Math.imul(p ^ seed, 2654435761) + i * 40503) >>> 24;
function stamp(p, size) {
  const seed = random();
  if (p + size > arena.viewBytes) arena.refresh();
  const u32 = arena.u32;
  u32[p >>> 2] = size;
  u32[(p >>> 2) + 1] = seed;
  u32[(p >>> 2) + 2] = Math.imul(size ^ seed ^ p, 0x9e3779b1);
  const u8 = arena.u8;
  const mid = p + ((size >>> 1) & ~7);
  for (let i = 0; i < 8; i++) {
    u8[mid + i] = tag(p, seed, i);
    u8[p + size - 8 + i] = tag(p, seed, i + 8);
  }
}
function intact(p) {
  if (p + 16 > arena.viewBytes) arena.refresh();
  const u32 = arena.u32;
  const size = u32[p >>> 2];
  const seed = u32[(p >>> 2) + 1];
  if (u32[(p >>> 2) + 2] !== Math.imul(size ^ seed ^ p, 0x9e3779b1) >>> 0) return false;
  if (p + size > arena.viewBytes) arena.refresh();
  const u8 = arena.u8;
  const mid = p + ((size >>> 1) & ~7);
  for (let i = 0; i < 8; i++) {
    if (u8[mid + i] !== tag(p, seed, i) || u8[p + size - 8 + i] !== tag(p, seed, i + 8)) return false;
  }
  return true;
}
const sizeIn = (min, max) => min + (random() % (max - min + 1));

const handlers = {
  /**
   * Blocks handed between threads: `rounds` times, take a random slot of the shared `table`
   * (Atomics.exchange); a block found there (any thread's) is checked and freed here, an empty
   * slot gets a new block. The last word of `progress` counts rounds (the test watches it).
   */
  churn({ table, progress, rounds, seed, minSize, maxSize, pause }) {
    s = seed >>> 0 || 1;
    const t = new Int32Array(table);
    const done = new Int32Array(progress);
    // pause[0] = 1: wait between rounds (outside every lock), counted in pause[1].
    const pz = pause ? new Int32Array(pause) : null;
    let freed = 0;
    let allocated = 0;
    let damaged = 0;
    let oom = 0;
    for (let round = 0; round < rounds; round++) {
      if (pz !== null && Atomics.load(pz, 0) === 1) {
        Atomics.add(pz, 1, 1);
        while (Atomics.load(pz, 0) === 1) Atomics.wait(pz, 0, 1, 20);
        Atomics.sub(pz, 1, 1);
      }
      const i = random() % t.length;
      const p = Atomics.exchange(t, i, 0) >>> 0;
      if (p !== 0) {
        if (!intact(p)) damaged++;
        big.free(p);
        freed++;
      } else {
        const size = sizeIn(minSize, maxSize);
        const q = big.malloc(size);
        if (q === 0) {
          oom++;
        } else {
          stamp(q, size);
          allocated++;
          if (Atomics.compareExchange(t, i, 0, q) !== 0) {
            big.free(q);
            freed++;
          }
        }
      }
      Atomics.add(done, 0, 1);
    }
    return { freed, allocated, damaged, oom };
  },
  /** Frees the blocks of `table` (another thread's), each twice, starting with the others; counts the outcomes. */
  race({ table, count, go }) {
    const t = new Int32Array(table);
    const flag = new Int32Array(go);
    Atomics.add(flag, 1, 1);
    while (Atomics.load(flag, 0) === 0) {} // start together
    const outcomes = {};
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < 2; k++) {
        const code = codeOf(() => big.free(t[i] >>> 0));
        outcomes[code] = (outcomes[code] ?? 0) + 1;
      }
    }
    return { outcomes };
  },
  /** `count` blocks of `size` bytes into `table`. */
  give({ table, count, size }) {
    const t = new Int32Array(table);
    for (let i = 0; i < count; i++) {
      const p = big.malloc(size);
      stamp(p, size);
      t[i] = p;
    }
    return {};
  },
  /** Fill scenario, phase 1: malloc and free random blocks, holding up to `hold` at a time, then free them all (the cache fills). */
  warm({ seed, rounds, hold, minSize, maxSize }) {
    s = seed >>> 0 || 1;
    const held = [];
    for (let round = 0; round < rounds; round++) {
      const size = sizeIn(minSize, maxSize);
      const p = big.malloc(size);
      if (p !== 0) {
        stamp(p, size);
        held.push(p);
      }
      if (held.length > hold) big.free(held.splice(random() % held.length, 1)[0]);
    }
    for (const p of held) big.free(p);
    return {};
  },
  /** Fill scenario, phase 2: malloc random blocks until any thread's first out-of-memory (`stop`); keeps them. */
  fill({ seed, minSize, maxSize, stop }) {
    s = seed >>> 0 || 1;
    const flag = new Int32Array(stop);
    globalThis.held = [];
    let failed = 0;
    let cachedAtFailure = -1;
    while (Atomics.load(flag, 0) === 0) {
      const size = sizeIn(minSize, maxSize);
      const p = big.malloc(size);
      if (p === 0) {
        failed = size;
        // The shared cache went back before the failure, and the thread caches are empty (the
        // test flushed them; every thread only mallocs now, so nothing refills a cache).
        cachedAtFailure = big.stats().cachedRuns;
        Atomics.store(flag, 0, 1);
        break;
      }
      stamp(p, size);
      globalThis.held.push(p);
    }
    let bytes = 0;
    for (const p of globalThis.held) bytes += big.usableSize(p);
    return { blocks: globalThis.held.length, bytes, failed, cachedAtFailure };
  },
  /** Fill scenario, end: every held block checked and freed. */
  release() {
    let damaged = 0;
    for (const p of globalThis.held ?? []) {
      if (!intact(p)) damaged++;
      big.free(p);
    }
    globalThis.held = [];
    big.flush(); // this thread's cache to the shared one, which any thread's trim() empties
    return { damaged };
  },
  /** This thread's cache to the shared one. */
  flush() {
    big.flush();
    return {};
  },
  detach() {
    big.detach();
    arena.threadRelease(arena.threadId);
    return {};
  },
};

if (workerData.autorun) {
  // Run one command at once (a worker the test terminates mid-run).
  parentPort.postMessage({ id: 0, ok: true, threadId: arena.threadId });
  const result = handlers[workerData.autorun.op](workerData.autorun);
  parentPort.postMessage({ id: -1, ok: true, ...result });
} else {
  parentPort.on('message', (msg) => {
    try {
      parentPort.postMessage({ id: msg.id, ok: true, ...handlers[msg.op](msg) });
    } catch (error) {
      parentPort.postMessage({ id: msg.id, ok: false, error: String(error?.message ?? error) });
    }
  });
  parentPort.postMessage({ id: 0, ok: true, threadId: arena.threadId });
}

// A worker of the thread tests: an L2.5 tier on a shared memory, built from the packages' public
// exports alone (@hakmem/page-arena and the built @hakmem/l25-pool), following the commands the
// test posts. Payloads carry cookies (a function of the block's offset and size) checked on free.
import { parentPort, workerData } from 'node:worker_threads';
import { L25Tier } from '@hakmem/l25-pool';
import { Arena, HakmemError } from '@hakmem/page-arena';

const arena = Arena.attach(workerData.memory);
arena.threadAttach();
const l25 = new L25Tier(arena);

const MIN = 32 * 1024;
const MAX = 1024 * 1024;

/** xorshift32 from a seed. */
function prng(seed) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** Log-uniform 32 KiB – 1 MiB: a random octave, then uniform inside it. */
function sizeOf(next) {
  const e = 15 + (next() % 5);
  return Math.min(MAX, 2 ** e + (next() % 2 ** e));
}

const cookie = (p, size, i) => (Math.imul(p ^ size, 2654435761) + i * 31) >>> 24;
/** Offsets the cookie covers: the first and last 64 bytes and one byte per 4 KiB. */
function spots(size, visit) {
  for (let i = 0; i < Math.min(64, size); i++) {
    visit(i);
    visit(size - 1 - i);
  }
  for (let i = 4096; i < size; i += 4096) visit(i);
}
function fill(p, size) {
  if (p + size > arena.viewBytes) arena.refresh();
  const u8 = arena.u8;
  spots(size, (i) => {
    u8[p + i] = cookie(p, size, i);
  });
}
function intact(p, size) {
  if (p + size > arena.viewBytes) arena.refresh();
  const u8 = arena.u8;
  let ok = true;
  spots(size, (i) => {
    if (u8[p + i] !== cookie(p, size, i)) ok = false;
  });
  return ok;
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

const BUSY = -1;

const handlers = {
  /**
   * Churn over a table shared by every worker: [2i] = block (0 empty, -1 claimed), [2i + 1] = its
   * size. A claimed full slot is checked and freed (often another worker's block); a claimed empty
   * one gets a new block. `hold` (2 words per worker) names the block in this worker's hands and
   * whether it was about to be freed (2) or just allocated (1), for a terminated worker's reclaim.
   */
  churn({ table, rounds, seed, hold, slot }) {
    const t = new Int32Array(table);
    const h = new Int32Array(hold);
    const slots = t.length >> 1;
    const next = prng(seed);
    let damaged = 0;
    let frees = 0;
    let mallocs = 0;
    for (let round = 0; round < rounds; round++) {
      const i = next() % slots;
      const old = Atomics.load(t, 2 * i);
      if (old === BUSY || Atomics.compareExchange(t, 2 * i, old, BUSY) !== old) continue;
      if (old !== 0) {
        const p = old >>> 0;
        const size = t[2 * i + 1];
        h[2 * slot + 1] = 2;
        h[2 * slot] = p;
        if (!intact(p, size)) damaged++;
        l25.free(p);
        h[2 * slot] = 0;
        frees++;
        Atomics.store(t, 2 * i, 0);
      } else {
        const size = sizeOf(next);
        const p = l25.malloc(size);
        if (p === 0) {
          Atomics.store(t, 2 * i, 0);
          continue;
        }
        h[2 * slot + 1] = 1;
        h[2 * slot] = p;
        fill(p, size);
        t[2 * i + 1] = size;
        Atomics.store(t, 2 * i, p);
        h[2 * slot] = 0;
        mallocs++;
      }
      if ((round & 63) === 0) Atomics.add(h, h.length - 1, 1);
    }
    return { damaged, frees, mallocs };
  },
  /**
   * The tier's slow paths without payloads, until terminated: a window of blocks in `table`
   * (this worker's alone, [2i] block) of random `sizes` (all of one span page count: the spans are
   * re-carved in place, not taken from the arena), so most steps miss the cache: refills from its
   * shard and others', frees into spans, spans emptied and re-carved, flushes. `hold` as in
   * churn: [0] the block in hand, [1] 1 allocated / 2 about to be freed, last word progress.
   */
  spin({ table, hold, seed, sizes }) {
    const t = new Int32Array(table);
    const h = new Int32Array(hold);
    const slots = t.length >> 1;
    const next = prng(seed);
    for (let round = 0; ; round++) {
      const i = next() % slots;
      const old = t[2 * i] >>> 0;
      if (old !== 0) {
        h[1] = 2;
        h[0] = old;
        t[2 * i] = 0;
        l25.free(old);
        h[0] = 0;
      }
      const p = l25.malloc(sizes[next() % sizes.length]);
      h[1] = 1;
      h[0] = p;
      t[2 * i] = p;
      h[0] = 0;
      if ((round & 15) === 0) {
        if ((round & 255) === 0) l25.flush();
        Atomics.add(h, h.length - 1, 1);
      }
    }
  },
  /** Fill: blocks of random sizes until the first out-of-memory; the blocks go to `table` ([2i] block, [2i + 1] size). */
  fill({ table, seed }) {
    const t = new Int32Array(table);
    const next = prng(seed);
    let n = 0;
    let requested = 0;
    for (;;) {
      const size = sizeOf(next);
      const p = l25.malloc(size);
      if (p === 0) break;
      if (2 * n + 1 >= t.length) throw new Error('fill table too small');
      fill(p, size);
      t[2 * n] = p;
      t[2 * n + 1] = size;
      n++;
      requested += size;
    }
    return { blocks: n, requested };
  },
  /** Frees every block of `table` (another worker's), checking its cookies. */
  freeAll({ table, count }) {
    const t = new Int32Array(table);
    let damaged = 0;
    for (let i = 0; i < count; i++) {
      const p = t[2 * i] >>> 0;
      if (!intact(p, t[2 * i + 1])) damaged++;
      l25.free(p);
    }
    return { damaged };
  },
  /** Blocks for the racers: `count` blocks of `size`, every other one kept (so no span empties). */
  give({ count, size, table }) {
    const t = new Int32Array(table);
    const kept = [];
    for (let i = 0; i < 2 * count; i++) {
      const p = l25.malloc(size);
      fill(p, size);
      if (i % 2 === 0) t[i >> 1] = p;
      else kept.push(p);
    }
    globalThis.kept = kept;
    return {};
  },
  /** Frees the blocks of `table` (another thread's), each twice, all racers starting together; counts the outcomes. */
  race({ table, count, size, go }) {
    const t = new Int32Array(table);
    const flag = new Int32Array(go);
    Atomics.add(flag, 1, 1);
    while (Atomics.load(flag, 0) === 0) {}
    const outcomes = {};
    let damaged = 0;
    for (let i = 0; i < count; i++) {
      const p = t[i] >>> 0;
      if (!intact(p, size)) damaged++;
      for (let k = 0; k < 2; k++) {
        const code = codeOf(() => l25.free(p));
        outcomes[code] = (outcomes[code] ?? 0) + 1;
      }
    }
    return { outcomes, damaged };
  },
  /**
   * The owner mallocs and frees its own blocks while the racers free (its shard lock is theirs
   * too), in classes the racers' blocks are not of: a racer's second free of a block reused by
   * then would be a legal free of a new block.
   */
  busy({ go }) {
    const flag = new Int32Array(go);
    const sizes = [130_000, 200_000, 500_000, 900_000];
    let rounds = 0;
    while (Atomics.load(flag, 2) === 0) {
      const a = l25.malloc(sizes[rounds & 3]);
      const b = l25.malloc(sizes[(rounds + 1) & 3]);
      l25.free(a);
      l25.free(b);
      if ((rounds & 15) === 0) l25.flush();
      rounds++;
    }
    return { rounds };
  },
  release() {
    for (const p of globalThis.kept ?? []) l25.free(p);
    globalThis.kept = [];
    return { live: l25.stats().liveBlocks };
  },
  detach() {
    l25.detach();
    arena.threadRelease(arena.threadId);
    return {};
  },
};

parentPort.on('message', (msg) => {
  try {
    parentPort.postMessage({ id: msg.id, ok: true, ...handlers[msg.op](msg) });
  } catch (error) {
    parentPort.postMessage({ id: msg.id, ok: false, error: String(error?.stack ?? error) });
  }
});
parentPort.postMessage({ id: 0, ok: true, threadId: arena.threadId, min: MIN });

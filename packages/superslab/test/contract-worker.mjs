// A worker of the contract test: a tiny-only allocator composed from the layer packages'
// public exports alone (an Arena joined from the shared memory, and the TinyTier of
// @hakmem/superslab), following the commands the test posts.
import { parentPort, workerData } from 'node:worker_threads';
import { Arena, HakmemError } from '@hakmem/page-arena';
import { TinyTier } from '@hakmem/superslab';

const arena = Arena.attach(workerData.memory);
arena.threadAttach();
const tiny = new TinyTier(arena);

/** The code a call throws, 'ok' if it returns. */
function codeOf(fn) {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return HakmemError.codeOf(error) ?? String(error);
  }
}

const cookie = (p, i) => (Math.imul(p, 2654435761) + i * 31) & 0xff;
function fill(p, size) {
  arena.refresh();
  for (let i = 0; i < size; i++) arena.u8[p + i] = cookie(p, i);
}
/** The payload past the first 8 bytes (a freed block's first word holds its free-list link). */
function intact(p, size) {
  arena.refresh();
  for (let i = 8; i < size; i++) if (arena.u8[p + i] !== cookie(p, i)) return false;
  return true;
}

const handlers = {
  /** Errors of the same thread: double free, interior pointer, a write after free over a link. */
  own() {
    const out = {};
    const p = tiny.malloc(64);
    tiny.free(p);
    out.doubleFree = codeOf(() => tiny.free(p));
    const q = tiny.malloc(100);
    out.interior = codeOf(() => tiny.free(q + 8));
    out.interiorUsable = codeOf(() => tiny.usableSize(q + 8));
    tiny.free(q);
    // A use-after-free write over the link of a cached block: the block it names is live.
    const a = tiny.malloc(200);
    const live = tiny.malloc(200);
    tiny.free(a);
    arena.u32[a >>> 2] = live;
    out.handedAgain = tiny.malloc(200) === a;
    out.corrupted = codeOf(() => tiny.malloc(200));
    return out;
  },
  /** Blocks for another thread: `count` blocks of `size`, every other one kept (so no slab empties). */
  give({ count, size, table }) {
    const t = new Int32Array(table);
    const kept = [];
    for (let i = 0; i < 2 * count; i++) {
      const p = tiny.malloc(size);
      fill(p, size);
      if (i % 2 === 0) t[i >> 1] = p;
      else kept.push(p);
    }
    globalThis.kept = kept;
    return { given: count };
  },
  /** Frees the blocks of `table` (another thread's), each twice; counts the outcomes. */
  race({ table, count, size, go }) {
    const t = new Int32Array(table);
    const flag = new Int32Array(go);
    Atomics.add(flag, 1, 1);
    while (Atomics.load(flag, 0) === 0) {} // start together
    const outcomes = {};
    let damaged = 0;
    for (let i = 0; i < count; i++) {
      const p = t[i];
      if (!intact(p, size)) damaged++;
      for (let k = 0; k < 2; k++) {
        const code = codeOf(() => tiny.free(p));
        outcomes[code] = (outcomes[code] ?? 0) + 1;
      }
    }
    return { outcomes, damaged };
  },
  /** The owner collects its slabs' remote lists again and again while others free (no malloc: no reuse). */
  collect({ go }) {
    const flag = new Int32Array(go);
    let rounds = 0;
    while (Atomics.load(flag, 2) === 0) {
      tiny.trim();
      rounds++;
    }
    return { rounds };
  },
  /** The cross-thread cases one at a time: a second remote free before and after the owner collects. */
  cross({ p }) {
    return {
      first: codeOf(() => tiny.free(p)),
      second: codeOf(() => tiny.free(p)),
      interior: codeOf(() => tiny.free(p + 16)),
    };
  },
  /** Payload ping-pong: blocks from `table` (another thread's) are checked and freed here. */
  take({ table, count, size }) {
    const t = new Int32Array(table);
    let damaged = 0;
    for (let i = 0; i < count; i++) {
      if (!intact(t[i], size)) damaged++;
      tiny.free(t[i]);
    }
    return { damaged };
  },
  release() {
    for (const p of globalThis.kept ?? []) tiny.free(p);
    globalThis.kept = [];
    return { live: tiny.stats().liveBlocks };
  },
  detach() {
    tiny.detach();
    arena.threadRelease(arena.threadId);
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
parentPort.postMessage({ id: 0, ok: true, threadId: arena.threadId });

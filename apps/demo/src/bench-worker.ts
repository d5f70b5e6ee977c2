// A benchmark worker: runs the workload on one allocator and reports operations done.
import { MemPool } from '@thi.ng/malloc';
import { attachHeap } from 'hakmem';
import { type BenchReply, type BenchRequest, sizeSource } from './workload';

interface Slots {
  malloc(size: number): void;
  /** Frees slot i, allocates `size` bytes into it, touches its ends. */
  replace(i: number, size: number): void;
  finish(keep: boolean): void;
}

function hakmemSlots(memory: SharedArrayBuffer, window: number): Slots {
  const heap = attachHeap(memory);
  const ptrs = new Float64Array(window);
  const sizes = new Uint32Array(window);
  let n = 0;
  const put = (i: number, size: number) => {
    const p = heap.malloc(size);
    const u8 = heap.u8;
    u8[p] = 1;
    u8[p + size - 1] = 2;
    ptrs[i] = p;
    sizes[i] = size;
  };
  return {
    malloc: (size) => put(n++, size),
    replace(i, size) {
      heap.free(ptrs[i]!);
      put(i, size);
    },
    finish(keep) {
      if (!keep) {
        for (let i = 0; i < n; i++) heap.free(ptrs[i]!);
        heap.detach();
      }
    },
  };
}

function thingSlots(window: number): Slots {
  const buf = new ArrayBuffer(256 * 2 ** 20);
  const pool = new MemPool({ buf });
  const u8 = new Uint8Array(buf);
  const ptrs = new Float64Array(window);
  let n = 0;
  const put = (i: number, size: number) => {
    const p = pool.malloc(size);
    if (p === 0) throw new Error(`@thi.ng/malloc: out of memory for ${size} B`);
    u8[p] = 1;
    u8[p + size - 1] = 2;
    ptrs[i] = p;
  };
  return {
    malloc: (size) => put(n++, size),
    replace(i, size) {
      pool.free(ptrs[i]!);
      put(i, size);
    },
    finish() {},
  };
}

function typedArraySlots(window: number): Slots {
  const blocks: (Uint8Array | null)[] = new Array(window).fill(null);
  let n = 0;
  const put = (i: number, size: number) => {
    const b = new Uint8Array(size);
    b[0] = 1;
    b[size - 1] = 2;
    blocks[i] = b;
  };
  return {
    malloc: (size) => put(n++, size),
    replace(i, size) {
      blocks[i] = null; // the garbage collector frees it
      put(i, size);
    },
    finish() {
      blocks.fill(null);
    },
  };
}

self.onmessage = (event: MessageEvent<BenchRequest>) => {
  const req = event.data;
  try {
    const slots =
      req.allocator === 'hakmem'
        ? hakmemSlots(req.memory!, req.window)
        : req.allocator === 'thi.ng'
          ? thingSlots(req.window)
          : typedArraySlots(req.window);
    const size = sizeSource(req.seed);
    for (let i = 0; i < req.window; i++) slots.malloc(size());
    let pick = req.seed * 7919;
    let ops = 0;
    const start = performance.now();
    const end = start + req.durationMs;
    while (performance.now() < end) {
      for (let k = 0; k < 256; k++) {
        pick = (pick * 1103515245 + 12345) >>> 0;
        slots.replace(pick % req.window, size());
      }
      ops += 256;
    }
    const ms = performance.now() - start;
    slots.finish(req.keep);
    self.postMessage({ ok: true, allocator: req.allocator, ops, ms } satisfies BenchReply);
  } catch (error) {
    self.postMessage({
      ok: false,
      allocator: req.allocator,
      ops: 0,
      ms: 0,
      error: String(error),
    } satisfies BenchReply);
  }
};

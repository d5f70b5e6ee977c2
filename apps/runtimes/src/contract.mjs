// The core of hakmem's contract as plain JavaScript with no test framework, so the very same
// cases run under Node, Deno and Bun. Each case throws on a broken rule. Only the public API is
// used (createHeap, attachHeap, Heap, HakmemError), as a user of the published package would.
import { attachHeap, createHeap, HakmemError } from 'hakmem';

const MiB = 2 ** 20;

export class ContractError extends Error {}

function ok(condition, message) {
  if (!condition) throw new ContractError(message);
}

function eq(actual, expected, what) {
  if (actual !== expected) throw new ContractError(`${what}: expected ${expected}, got ${actual}`);
}

/** Runs `call`, expects a HakmemError with `code`, and checks the rejected call changed nothing. */
function rejects(heap, code, call) {
  const before = JSON.stringify([heap.stats().liveBlocks, heap.stats().liveBytes, heap.snapshot()]);
  let caught;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  ok(caught instanceof HakmemError, `expected HakmemError ${code}, got ${caught}`);
  eq(caught.code, code, 'error code');
  ok(
    caught.message.startsWith(`[${code}] `),
    `message ${JSON.stringify(caught.message)} starts with [${code}]`,
  );
  eq(HakmemError.codeOf(new Error(caught.message)), code, 'HakmemError.codeOf');
  const after = JSON.stringify([heap.stats().liveBlocks, heap.stats().liveBytes, heap.snapshot()]);
  eq(after, before, 'heap after a rejected call');
  heap.check();
  return caught;
}

function small(options = {}) {
  return createHeap({ initialBytes: MiB, maxBytes: 32 * MiB, ...options });
}

/** @type {{ name: string, run: () => void }[]} */
export const cases = [
  {
    name: 'createHeap makes a growable SharedArrayBuffer; attachHeap joins with its own slot',
    run() {
      const heap = createHeap();
      ok(heap.memory instanceof SharedArrayBuffer, 'memory is a SharedArrayBuffer');
      ok(heap.memory.growable === true, 'memory is growable');
      ok(heap.threadId >= 1, 'threadId ≥ 1');
      const s = heap.stats();
      eq(s.maxBytes, 2 ** 30, 'default maxBytes');
      eq(s.liveBlocks, 0, 'liveBlocks');
      eq(s.threads, 1, 'threads');
      const other = attachHeap(heap.memory);
      ok(other.threadId !== heap.threadId, 'attached handle has its own slot');
      eq(heap.stats().threads, 2, 'threads after attach');
      const p = other.malloc(64);
      heap.free(p); // freed by another thread slot
      other.detach();
      eq(heap.stats().threads, 1, 'threads after detach');
      heap.check();
    },
  },
  {
    name: 'malloc returns distinct, aligned, usable blocks from 8 B to 2 MiB; free returns them',
    run() {
      const heap = small();
      const seen = new Map();
      for (const size of [0, 0, 1, 8, 15, 16, 100, 1000, 1024, 1025, 4096, 65536, 65537, 300_000, 2 * MiB]) {
        const p = heap.malloc(size);
        ok(p > 0, `malloc(${size}) > 0`);
        eq(p % (size >= 16 ? 16 : 8), 0, `alignment of malloc(${size})`);
        ok(!seen.has(p), `malloc(${size}) is distinct`);
        ok(heap.usableSize(p) >= size, `usableSize(malloc(${size})) ≥ ${size}`);
        heap.u8.fill(size & 0xff, p, p + size);
        seen.set(p, size);
      }
      for (const [p, size] of seen) {
        const u8 = heap.u8;
        for (let i = 0; i < size; i++)
          if (u8[p + i] !== (size & 0xff)) throw new ContractError(`payload of ${p}`);
      }
      eq(heap.stats().liveBlocks, seen.size, 'liveBlocks');
      for (const p of seen.keys()) heap.free(p);
      eq(heap.stats().liveBlocks, 0, 'liveBlocks after free');
      heap.free(0);
      heap.check();
    },
  },
  {
    name: 'calloc zero-fills, realloc keeps contents, memalign aligns 8 … 65536',
    run() {
      const heap = small();
      const dirty = heap.malloc(70_000);
      heap.u8.fill(0xff, dirty, dirty + 70_000);
      heap.free(dirty);
      const z = heap.calloc(7, 10_000);
      ok(
        heap.u8.subarray(z, z + 70_000).every((b) => b === 0),
        'calloc zero-filled',
      );
      heap.free(z);
      let p = heap.realloc(0, 1000);
      for (let i = 0; i < 1000; i++) heap.u8[p + i] = i & 0xff;
      for (const size of [200_000, 40, 1500, 3 * MiB, 10]) {
        p = heap.realloc(p, size);
        ok(heap.usableSize(p) >= size, `realloc to ${size} is large enough`);
        const kept = Math.min(size, 10);
        for (let i = 0; i < kept; i++) eq(heap.u8[p + i], i & 0xff, `byte ${i} after realloc to ${size}`);
      }
      heap.free(p);
      for (let alignment = 8; alignment <= 65536; alignment *= 2) {
        const q = heap.memalign(alignment, 24);
        eq(q % alignment, 0, `memalign(${alignment})`);
        heap.free(q);
      }
      eq(heap.stats().liveBlocks, 0, 'liveBlocks');
      heap.check();
    },
  },
  {
    name: 'mallocAs returns naturally aligned typed arrays that free accepts',
    run() {
      const heap = small();
      const types = {
        u8: Uint8Array,
        i8: Int8Array,
        u16: Uint16Array,
        i16: Int16Array,
        u32: Uint32Array,
        i32: Int32Array,
        f32: Float32Array,
        f64: Float64Array,
        i64: BigInt64Array,
        u64: BigUint64Array,
      };
      for (const [type, ctor] of Object.entries(types)) {
        const view = heap.mallocAs(type, 10);
        ok(view instanceof ctor, `mallocAs('${type}') is a ${ctor.name}`);
        eq(view.length, 10, `mallocAs('${type}').length`);
        eq(view.byteOffset % view.BYTES_PER_ELEMENT, 0, `mallocAs('${type}') alignment`);
        heap.free(view);
      }
      eq(heap.stats().liveBlocks, 0, 'liveBlocks');
      rejects(heap, 'ERR_INVALID_OPTION', () => heap.mallocAs('u128', 1));
    },
  },
  {
    name: 'views stay current after the memory grows',
    run() {
      const heap = small();
      const before = heap.u8.length;
      const p = heap.malloc(4 * MiB);
      ok(heap.u8.length > before, 'u8 grew with the memory');
      heap.u8[p + 4 * MiB - 1] = 9;
      eq(heap.dataView.getUint8(p + 4 * MiB - 1), 9, 'dataView sees the write');
      heap.i32[(p >> 2) + 1] = -5;
      eq(heap.u32[(p >> 2) + 1], 2 ** 32 - 5, 'u32 over i32');
      heap.f64[(p >> 3) + 1] = 1.5;
      eq(heap.f32.length, heap.u8.length / 4, 'f32 length');
      heap.free(p);
      heap.check();
    },
  },
  {
    name: 'invalid calls throw HakmemError with their code and change nothing',
    run() {
      const heap = small();
      const p = heap.malloc(100_000);
      const t = heap.malloc(24);
      for (const size of [-1, 1.5, Number.NaN, 2 ** 32, '5', 64 * MiB]) {
        rejects(heap, 'ERR_INVALID_SIZE', () => heap.malloc(size));
      }
      rejects(heap, 'ERR_INVALID_SIZE', () => heap.calloc(65536, 65536));
      for (const alignment of [0, 3, 12, 131072]) {
        rejects(heap, 'ERR_INVALID_ALIGNMENT', () => heap.memalign(alignment, 16));
      }
      for (const ptr of [p + 16, -1, 3, 2 ** 40]) {
        rejects(heap, 'ERR_INVALID_POINTER', () => heap.free(ptr));
      }
      rejects(heap, 'ERR_INVALID_POINTER', () => heap.free(new Uint8Array(16)));
      rejects(heap, 'ERR_INVALID_THREAD', () => heap.reclaimThread(heap.threadId));
      heap.free(t);
      rejects(heap, 'ERR_DOUBLE_FREE', () => heap.free(t));
      heap.free(p);
      rejects(heap, 'ERR_INVALID_OPTION', () => createHeap({ maxBytes: 5 * 2 ** 30 }));
      let incompatible;
      try {
        attachHeap(new SharedArrayBuffer(MiB));
      } catch (error) {
        incompatible = error;
      }
      eq(incompatible?.code, 'ERR_HEAP_INCOMPATIBLE', 'attachHeap of memory without a heap');
    },
  },
  {
    name: 'tryMalloc returns 0 where malloc throws ERR_OUT_OF_MEMORY',
    run() {
      const heap = createHeap({ initialBytes: MiB, maxBytes: 2 * MiB });
      const a = heap.malloc(MiB);
      eq(heap.tryMalloc(MiB), 0, 'tryMalloc when full');
      rejects(heap, 'ERR_OUT_OF_MEMORY', () => heap.malloc(MiB));
      heap.free(a);
      const b = heap.tryMalloc(MiB);
      ok(b > 0, 'tryMalloc after free');
      heap.free(b);
      heap.check();
    },
  },
  {
    name: 'a WebAssembly.Memory with base, and a resizable ArrayBuffer (shared: false) that trim shrinks',
    run() {
      const wasm = new WebAssembly.Memory({ initial: 4, maximum: 400, shared: true });
      new Uint8Array(wasm.buffer).fill(0xab, 0, 100_000); // the module's static data
      const onWasm = createHeap({ memory: wasm, base: 100_000, maxBytes: 400 * 65536 });
      const c = onWasm.malloc(5 * 65536); // grows the wasm memory
      ok(c >= 131072, 'blocks lie above base');
      eq(new Uint8Array(wasm.buffer)[99_999], 0xab, 'bytes below base untouched');
      ok(wasm.buffer.byteLength > 5 * 65536, 'the WebAssembly.Memory grew');
      onWasm.u8[c + 5 * 65536 - 1] = 1;
      const d = onWasm.malloc(100);
      onWasm.free(c);
      onWasm.free(d);
      onWasm.check();

      const local = createHeap({ shared: false, initialBytes: MiB, maxBytes: 32 * MiB });
      ok(local.memory instanceof ArrayBuffer && local.memory.resizable, 'a resizable ArrayBuffer');
      const e = local.malloc(10 * MiB);
      ok(local.memory.byteLength > 10 * MiB, 'the ArrayBuffer grew');
      local.free(e);
      ok(local.trim() >= 9 * MiB, 'trim released the free memory');
      ok(local.memory.byteLength < 2 * MiB, 'the ArrayBuffer shrank');
      local.check();
    },
  },
  {
    name: 'stats, snapshot, reclaimThread and check',
    run() {
      const heap = small();
      const tiny = Array.from({ length: 500 }, () => heap.malloc(64));
      const big = heap.malloc(2_000_000);
      const s = heap.stats();
      eq(s.liveBlocks, 501, 'liveBlocks');
      ok(s.liveBytes >= 2_000_000 + 500 * 64, 'liveBytes');
      ok(s.tiers.tiny.liveBlocks === 500, 'tiny tier counts its blocks');
      const runs = heap.snapshot();
      ok(
        runs.some((r) => r.tier === 'tiny' && r.occupancy > 0),
        'snapshot shows a tiny run in use',
      );
      ok(
        runs.some((r) => r.offset === big && r.tier === 'big' && r.occupancy === 1),
        'snapshot shows the page run of the big block',
      );
      const other = attachHeap(heap.memory);
      const lost = other.malloc(1000);
      heap.reclaimThread(other.threadId); // a thread that never detached
      eq(heap.stats().threads, 1, 'threads after reclaim');
      heap.free(lost);
      for (const p of tiny) heap.free(p);
      heap.free(big);
      eq(heap.stats().liveBlocks, 0, 'liveBlocks after free');
      heap.check();
    },
  },
];

/** Runs every case; one result per case, in order. */
export function runAll() {
  return cases.map(({ name, run }) => {
    const start = performance.now();
    try {
      run();
      return { name, ok: true, ms: Math.round(performance.now() - start) };
    } catch (error) {
      return { name, ok: false, error: String(error?.stack ?? error) };
    }
  });
}

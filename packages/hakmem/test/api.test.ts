import { describe, expect, it } from 'vitest';
import { attachHeap, createHeap, HakmemError, type Heap, type HeapOptions } from '../src/index';

const MiB = 2 ** 20;

/** Event counters, not state: a rejected malloc is still a miss, and reading stats takes the locks it counts. */
const COUNTERS = new Set(['locks', 'hits', 'misses', 'evictions', 'spills']);

/** The tiers' figures without their event counters. */
function withoutCounters(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutCounters);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !COUNTERS.has(key))
      .map(([key, v]) => [key, withoutCounters(v)]),
  );
}

/** What a rejected call must leave unchanged: the counts and the exact page map. */
function observable(heap: Heap) {
  const s = heap.stats();
  return {
    committedBytes: s.committedBytes,
    maxBytes: s.maxBytes,
    liveBytes: s.liveBytes,
    liveBlocks: s.liveBlocks,
    threads: s.threads,
    tiers: withoutCounters(s.tiers),
    snapshot: heap.snapshot(),
  };
}

/** Runs `call`, expects a HakmemError with `code`, and checks nothing changed. */
function expectRejected(heap: Heap, code: string, call: () => unknown): HakmemError {
  const before = observable(heap);
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(HakmemError);
  const error = caught as HakmemError;
  expect(error.code).toBe(code);
  expect(error.message.startsWith(`[${code}] `)).toBe(true);
  expect(HakmemError.codeOf(new Error(error.message))).toBe(code);
  expect(observable(heap)).toEqual(before);
  heap.check();
  return error;
}

function small(options: HeapOptions = {}): Heap {
  return createHeap({ initialBytes: MiB, maxBytes: 16 * MiB, ...options });
}

describe('createHeap / attachHeap', () => {
  it('creates a growable SharedArrayBuffer by default', () => {
    const heap = createHeap();
    expect(heap.memory).toBeInstanceOf(SharedArrayBuffer);
    expect((heap.memory as SharedArrayBuffer).growable).toBe(true);
    expect(heap.threadId).toBeGreaterThanOrEqual(1);
    const s = heap.stats();
    expect(s.maxBytes).toBe(2 ** 30);
    expect(s.committedBytes).toBe(4 * MiB);
    expect(s.liveBlocks).toBe(0);
    expect(s.threads).toBe(1);
    heap.check();
  });

  it('manages a fixed SharedArrayBuffer, a resizable ArrayBuffer and a WebAssembly.Memory with base', () => {
    const fixed = createHeap({ memory: new SharedArrayBuffer(2 * MiB) });
    const a = fixed.malloc(100);
    fixed.u8[a] = 7;
    expect(fixed.u8[a]).toBe(7);
    fixed.free(a);
    fixed.check();

    const local = createHeap({ shared: false, initialBytes: MiB, maxBytes: 8 * MiB });
    expect(local.memory).toBeInstanceOf(ArrayBuffer);
    expect((local.memory as ArrayBuffer).resizable).toBe(true);
    const b = local.malloc(3 * MiB); // grows the buffer
    expect((local.memory as ArrayBuffer).byteLength).toBeGreaterThan(3 * MiB);
    local.free(b);
    expect(local.trim()).toBeGreaterThan(0);
    expect((local.memory as ArrayBuffer).byteLength).toBeLessThan(3 * MiB);
    local.check();

    const wasm = new WebAssembly.Memory({ initial: 4, maximum: 200, shared: true });
    new Uint8Array(wasm.buffer).fill(0xab, 0, 3 * 65536); // the module's static data
    const onWasm = createHeap({ memory: wasm, base: 100_000, maxBytes: 200 * 65536 });
    const c = onWasm.malloc(5 * 65536); // grows the wasm memory
    expect(c).toBeGreaterThanOrEqual(131072);
    expect(new Uint8Array(wasm.buffer)[99_999]).toBe(0xab);
    expect(wasm.buffer.byteLength).toBeGreaterThan(5 * 65536);
    onWasm.u8[c + 5 * 65536 - 1] = 1;
    onWasm.free(c);
    onWasm.check();
  });

  it('small and mid-size blocks keep working after another tier grows the memory (every kind of memory, both modes)', () => {
    // The tiny and mid tiers' fast paths read the view of their last slow path: a growth by
    // another tier leaves it older than the arena's (detached, for a non-shared WebAssembly.Memory).
    const memories: Array<[string, (safety: 'strict' | 'fast') => Heap]> = [
      ['growable SharedArrayBuffer', (safety) => createHeap({ maxBytes: 64 * MiB, safety })],
      ['resizable ArrayBuffer', (safety) => createHeap({ shared: false, maxBytes: 64 * MiB, safety })],
      [
        'shared WebAssembly.Memory',
        (safety) =>
          createHeap({ memory: new WebAssembly.Memory({ initial: 2, maximum: 1024, shared: true }), safety }),
      ],
      [
        'WebAssembly.Memory',
        (safety) => createHeap({ memory: new WebAssembly.Memory({ initial: 2, maximum: 1024 }), safety }),
      ],
    ];
    for (const [kind, make] of memories) {
      for (const safety of ['strict', 'fast'] as const) {
        const heap = make(safety);
        const live = new Map<number, number>(); // block → tag
        let tag = 1;
        const place = (size: number) => {
          const p = heap.malloc(size);
          expect(live.has(p), `${kind} ${safety}: block ${p} handed out twice`).toBe(false);
          heap.u8[p] = tag & 0xff;
          live.set(p, tag++ & 0xff);
        };
        // Tiny sizes, and one block in five of the mid tier (1–32 KiB).
        const sizeOf = (i: number, k: number) =>
          i % 5 === 4 ? 1025 + ((i * k) % 31744) : 8 + ((i * k) % 1017);
        for (let i = 0; i < 600; i++) place(sizeOf(i, 37));
        const big: number[] = [];
        for (let round = 0; round < 3; round++) {
          big.push(heap.malloc(6 * MiB)); // another tier grows the memory
          // Frees (cache pushes) and mallocs (pops, then refills that take new slabs) with the
          // tiny tier's views older than the arena's.
          let k = 0;
          for (const p of [...live.keys()]) {
            if (k++ % 2 === 0) continue;
            expect(heap.u8[p], `${kind} ${safety}: tag of ${p}`).toBe(live.get(p));
            heap.free(p);
            live.delete(p);
          }
          for (let i = 0; i < 900; i++) place(sizeOf(i, 53));
          heap.check();
        }
        for (const [p, t] of live) {
          expect(heap.u8[p], `${kind} ${safety}: tag of ${p}`).toBe(t);
          heap.free(p);
        }
        for (const b of big) heap.free(b);
        expect(heap.stats().liveBlocks).toBe(0);
        heap.check();
      }
    }
  });

  it('small and mid-size blocks above 2 GiB (offsets beyond int32) are handed out, freed and reused, both modes', () => {
    for (const safety of ['strict', 'fast'] as const) {
      const heap = createHeap({ maxBytes: 3 * 2 ** 30, safety });
      const low = heap.malloc(2 ** 31 + 5 * MiB); // untouched: the next slabs lie above 2 GiB
      const blocks: number[] = [];
      // Tiny sizes, and one block in five of the mid tier (1–32 KiB).
      const sizeOf = (i: number) => (i % 5 === 4 ? 1025 + ((i * 29) % 31744) : 8 + ((i * 29) % 1017));
      for (let i = 0; i < 3000; i++) {
        const p = heap.malloc(sizeOf(i));
        heap.u8[p] = i & 0xff;
        blocks.push(p);
      }
      expect(blocks.every((p) => p >= 2 ** 31)).toBe(true);
      // Pushes and pops of blocks whose offsets read back negative as int32 words.
      for (let round = 0; round < 3; round++) {
        for (let i = round % 2; i < blocks.length; i += 2) {
          expect(heap.u8[blocks[i]!]).toBe(i & 0xff);
          heap.free(blocks[i]!);
          const p = heap.malloc(sizeOf(i));
          expect(p).toBeGreaterThanOrEqual(2 ** 31);
          heap.u8[p] = i & 0xff;
          blocks[i] = p;
        }
        heap.check();
      }
      expect(new Set(blocks).size).toBe(blocks.length);
      for (const p of blocks) heap.free(p);
      heap.free(low);
      expect(heap.stats().liveBlocks).toBe(0);
      heap.check();
    }
  });

  it('attaches from the same thread with its own slot, and rejects incompatible memory', () => {
    const heap = small();
    const other = attachHeap(heap.memory);
    expect(other.threadId).not.toBe(heap.threadId);
    expect(heap.stats().threads).toBe(2);
    const p = other.malloc(64);
    heap.free(p);
    other.detach();
    expect(heap.stats().threads).toBe(1);
    expect(() => attachHeap(new SharedArrayBuffer(MiB))).toThrow(/ERR_HEAP_INCOMPATIBLE/);
    expectRejected(heap, 'ERR_INVALID_OPTION', () => attachHeap(heap.memory, { safety: 'fast' }));
  });

  it('rejects invalid options with ERR_INVALID_OPTION', () => {
    for (const options of [
      { maxBytes: 5 * 2 ** 30 },
      { initialBytes: 8 * MiB, maxBytes: 4 * MiB },
      { safety: 'paranoid' as 'strict' },
      { maxBytes: -1 },
    ]) {
      expect(() => createHeap(options), JSON.stringify(options)).toThrow(HakmemError);
    }
  });
});

describe('malloc family', () => {
  it('malloc returns distinct, in-bounds, 16-byte aligned blocks; size 0 is unique', () => {
    const heap = small();
    const seen = new Set<number>();
    for (const size of [0, 0, 1, 15, 16, 100, 1024, 4096, 65536, 65537, 300_000]) {
      const p = heap.malloc(size);
      expect(p).toBeGreaterThan(0);
      expect(p % (size >= 16 ? 16 : 8)).toBe(0);
      expect(seen.has(p)).toBe(false);
      seen.add(p);
      expect(heap.usableSize(p)).toBeGreaterThanOrEqual(size);
      heap.u8.fill(size & 0xff, p, p + size);
    }
    expect(heap.stats().liveBlocks).toBe(seen.size);
    for (const p of seen) heap.free(p);
    expect(heap.stats().liveBlocks).toBe(0);
    heap.check();
  });

  it('tryMalloc returns 0 where malloc throws ERR_OUT_OF_MEMORY', () => {
    const heap = createHeap({ initialBytes: MiB, maxBytes: 2 * MiB });
    const a = heap.malloc(MiB);
    expect(heap.tryMalloc(MiB)).toBe(0);
    const error = expectRejected(heap, 'ERR_OUT_OF_MEMORY', () => heap.malloc(MiB));
    expect(error.message).toContain(String(MiB));
    heap.free(a);
    expect(heap.tryMalloc(MiB)).toBeGreaterThan(0);
  });

  it('calloc zero-fills recycled memory', () => {
    const heap = small();
    const p = heap.malloc(70_000);
    heap.u8.fill(0xff, p, p + 70_000);
    heap.free(p);
    const q = heap.calloc(7, 10_000);
    expect(heap.u8.subarray(q, q + 70_000).every((b) => b === 0)).toBe(true);
    heap.free(q);
  });

  it('realloc preserves contents, acts as malloc on 0, and grows in place where it can', () => {
    const heap = small();
    const p = heap.realloc(0, 1000);
    for (let i = 0; i < 1000; i++) heap.u8[p + i] = i & 0xff;
    expect(heap.realloc(p, 1010)).toBe(p); // the block's class still fits: in place
    const q = heap.realloc(p, 2_000_000);
    for (let i = 0; i < 1000; i++) expect(heap.u8[q + i]).toBe(i & 0xff);
    expect(heap.usableSize(q)).toBeGreaterThanOrEqual(2_000_000);
    const r = heap.realloc(q, 3_000_000); // the last run of the memory: grows in place
    expect(r).toBe(q);
    const s = heap.realloc(r, 10);
    for (let i = 0; i < 10; i++) expect(heap.u8[s + i]).toBe(i & 0xff);
    heap.free(s);
    expect(heap.stats().liveBlocks).toBe(0);
    heap.check();
  });

  it('realloc keeps every byte of a moved block, short copies (word by word) and long ones alike, and touches nothing else', () => {
    const heap = small();
    const sizes = [1, 3, 7, 8, 13, 24, 100, 255, 256, 257, 300, 511, 1000, 1024, 1025, 5000];
    for (const from of sizes) {
      for (const to of sizes) {
        if (to === from) continue;
        const guard = heap.malloc(64);
        heap.u8.fill(0xee, guard, guard + 64);
        let p = heap.malloc(from);
        for (let i = 0; i < from; i++) heap.u8[p + i] = (i * 7 + from) & 0xff;
        const q = heap.realloc(p, to);
        const kept = Math.min(from, to);
        for (let i = 0; i < kept; i++) {
          if (heap.u8[q + i] !== ((i * 7 + from) & 0xff))
            throw new Error(`${from} → ${to}: byte ${i} changed`);
        }
        expect(heap.u8.subarray(guard, guard + 64).every((b) => b === 0xee)).toBe(true);
        p = q;
        heap.free(p);
        heap.free(guard);
      }
    }
    expect(heap.stats().liveBlocks).toBe(0);
    heap.check();
  });

  it('a buffer realloc grows from the mid tier into the L2.5 tier lands where it keeps growing in place', () => {
    const heap = createHeap({ maxBytes: 256 * MiB });
    const p = heap.malloc(30_000);
    for (let i = 0; i < 30_000; i += 1000) heap.u8[p + i] = (i / 1000) & 0xff;
    const q = heap.realloc(p, 45_000); // mid → l25: moves (another tier), into a span with room
    expect(q).not.toBe(p);
    expect(heap.realloc(q, 67_500)).toBe(q); // then in place
    expect(heap.realloc(q, 101_250)).toBe(q);
    for (let i = 0; i < 30_000; i += 1000) expect(heap.u8[q + i]).toBe((i / 1000) & 0xff);
    heap.free(q);
    expect(heap.stats().liveBlocks).toBe(0);
    heap.check();
  });

  it('memalign aligns to every power of two from 8 to 65536', () => {
    const heap = small();
    for (let alignment = 8; alignment <= 65536; alignment *= 2) {
      const p = heap.memalign(alignment, 24);
      expect(p % alignment).toBe(0);
      expect(heap.usableSize(p)).toBeGreaterThanOrEqual(24);
      heap.free(p);
    }
  });

  it('free(view) accepts views over this heap only: a view over another buffer at a live offset is ERR_INVALID_POINTER, on every kind of memory', () => {
    // [heap, whether a growth detaches the views made before it (a non-shared WebAssembly.Memory)]
    const memories: Array<[() => Heap, boolean]> = [
      [() => createHeap({ maxBytes: 16 * MiB }), false],
      [() => createHeap({ shared: false, maxBytes: 16 * MiB }), false],
      [
        () => createHeap({ memory: new WebAssembly.Memory({ initial: 2, maximum: 256, shared: true }) }),
        false,
      ],
      [() => createHeap({ memory: new WebAssembly.Memory({ initial: 2, maximum: 256 }) }), true],
    ];
    for (const [make, detaches] of memories) {
      const heap = make();
      const view = heap.mallocAs('u8', 16);
      const length = view.buffer.byteLength;
      for (const foreign of [new ArrayBuffer(length), new SharedArrayBuffer(length)]) {
        expectRejected(heap, 'ERR_INVALID_POINTER', () =>
          heap.free(new Uint8Array(foreign, view.byteOffset, 16)),
        );
      }
      expect(heap.usableSize(view.byteOffset)).toBeGreaterThanOrEqual(16);
      // A view made before the memory grew (another SharedArrayBuffer object for shared memory).
      const offset = view.byteOffset;
      const big = heap.malloc(5 * MiB);
      if (detaches) heap.free(offset);
      else heap.free(view);
      heap.free(big);
      expect(heap.stats().liveBlocks).toBe(0);
      heap.check();
    }
  });

  it('mallocAs returns naturally aligned views that free accepts', () => {
    const heap = small();
    const cases = [
      ['u8', Uint8Array],
      ['i8', Int8Array],
      ['u16', Uint16Array],
      ['i16', Int16Array],
      ['u32', Uint32Array],
      ['i32', Int32Array],
      ['f32', Float32Array],
      ['f64', Float64Array],
      ['i64', BigInt64Array],
      ['u64', BigUint64Array],
    ] as const;
    for (const [type, ctor] of cases) {
      const view = heap.mallocAs(type, 10);
      expect(view).toBeInstanceOf(ctor);
      expect(view.length).toBe(10);
      expect(view.byteOffset % view.BYTES_PER_ELEMENT).toBe(0);
      expect(heap.usableSize(view.byteOffset)).toBeGreaterThanOrEqual(view.byteLength);
      heap.free(view);
    }
    expect(heap.stats().liveBlocks).toBe(0);
    expectRejected(heap, 'ERR_INVALID_OPTION', () => heap.mallocAs('u128' as 'u8', 1));
    // An array whose string form names a type is not a type (Object.hasOwn would coerce it).
    expectRejected(heap, 'ERR_INVALID_OPTION', () => heap.mallocAs(['u8'] as unknown as 'u8', 16));
  });

  it('views stay current after the memory grows', () => {
    const heap = small();
    const before = heap.u8.length;
    const p = heap.malloc(4 * MiB);
    expect(heap.u8.length).toBeGreaterThan(before);
    heap.u8[p + 4 * MiB - 1] = 9;
    expect(heap.dataView.getUint8(p + 4 * MiB - 1)).toBe(9);
    heap.i32[(p >> 2) + 1] = -5;
    expect(heap.u32[(p >> 2) + 1]).toBe(2 ** 32 - 5);
    heap.f64[(p >> 3) + 1] = 1.5;
    expect(heap.f32.length).toBe(heap.u8.length / 4);
    heap.free(p);
  });
});

describe('errors leave the heap unchanged', () => {
  it('ERR_INVALID_SIZE', () => {
    const heap = small();
    const p = heap.malloc(10);
    for (const size of [
      -1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      2 ** 32,
      '5',
      null,
      undefined,
      17 * MiB,
    ]) {
      expectRejected(heap, 'ERR_INVALID_SIZE', () => heap.malloc(size as number));
      expectRejected(heap, 'ERR_INVALID_SIZE', () => heap.tryMalloc(size as number));
      expectRejected(heap, 'ERR_INVALID_SIZE', () => heap.realloc(p, size as number));
    }
    expectRejected(heap, 'ERR_INVALID_SIZE', () => heap.calloc(65536, 65536));
    expectRejected(heap, 'ERR_INVALID_SIZE', () => heap.calloc(-1, 4));
    expectRejected(heap, 'ERR_INVALID_SIZE', () => heap.mallocAs('f64', -3));
    const error = expectRejected(heap, 'ERR_INVALID_SIZE', () => heap.malloc(-1));
    expect(error.message).toContain('-1');
    heap.free(p);
  });

  it('ERR_INVALID_ALIGNMENT', () => {
    const heap = small();
    for (const alignment of [0, 1, 2, 4, 3, 12, 24, 131072, 1.5, -8, Number.NaN]) {
      const error = expectRejected(heap, 'ERR_INVALID_ALIGNMENT', () => heap.memalign(alignment, 16));
      expect(error.message).toContain('power of two');
    }
  });

  it('ERR_INVALID_POINTER', () => {
    const heap = small();
    const p = heap.malloc(100_000);
    for (const ptr of [p + 16, p + 65536, -1, 1.5, 3, 2 ** 40, 15 * MiB, '64' as unknown as number]) {
      expectRejected(heap, 'ERR_INVALID_POINTER', () => heap.free(ptr));
      expectRejected(heap, 'ERR_INVALID_POINTER', () => heap.usableSize(ptr));
      expectRejected(heap, 'ERR_INVALID_POINTER', () => heap.realloc(ptr, 10));
    }
    expectRejected(heap, 'ERR_INVALID_POINTER', () => heap.free(new Uint8Array(16)));
    expectRejected(heap, 'ERR_INVALID_POINTER', () => heap.free({} as Uint8Array));
    heap.free(p);
  });

  it('ERR_DOUBLE_FREE', () => {
    const heap = small();
    const p = heap.malloc(5000);
    const keep = heap.malloc(5000); // so the freed page stays a separate free run
    heap.free(p);
    const error = expectRejected(heap, 'ERR_DOUBLE_FREE', () => heap.free(p));
    expect(error.message).toContain(String(p));
    heap.free(keep);
  });

  it('ERR_OUT_OF_MEMORY on a fixed memory', () => {
    const heap = createHeap({ memory: new SharedArrayBuffer(2 * MiB) });
    const held = heap.malloc(MiB);
    expect(heap.stats().committedBytes).toBe(2 * MiB);
    expectRejected(heap, 'ERR_OUT_OF_MEMORY', () => heap.malloc(MiB));
    expectRejected(heap, 'ERR_OUT_OF_MEMORY', () => heap.calloc(1, MiB));
    expectRejected(heap, 'ERR_OUT_OF_MEMORY', () => heap.memalign(64, MiB));
    const next = heap.malloc(8 * 65536); // blocks growth in place
    expectRejected(heap, 'ERR_OUT_OF_MEMORY', () => heap.realloc(held, 20 * 65536));
    expect(heap.usableSize(held)).toBe(MiB);
    heap.free(next);
  });

  it('ERR_INVALID_THREAD', () => {
    const heap = small();
    expectRejected(heap, 'ERR_INVALID_THREAD', () => heap.reclaimThread(heap.threadId));
    expectRejected(heap, 'ERR_INVALID_THREAD', () => heap.reclaimThread(999));
    expectRejected(heap, 'ERR_INVALID_THREAD', () => heap.reclaimThread(0.5));
  });

  it('ERR_HEAP_CORRUPTED from check() when the page map is broken', () => {
    const heap = small();
    const p = heap.malloc(200_000);
    const arena = (heap as unknown as { arena: { pageEntry(p: number): number; u32: Uint32Array } }).arena;
    const entry = arena.pageEntry(p + 65536);
    const saved = arena.u32[entry]!;
    arena.u32[entry] = 0xfe; // an unknown tier inside a run
    expect(() => heap.check()).toThrow(/ERR_HEAP_CORRUPTED/);
    arena.u32[entry] = saved;
    heap.check();
  });

  it('ERR_HEAP_INCOMPATIBLE for memory without a heap, or of another layout version', () => {
    expect(() => attachHeap(new SharedArrayBuffer(2 * MiB))).toThrow(
      expect.objectContaining({ code: 'ERR_HEAP_INCOMPATIBLE' }),
    );
    const heap = small();
    const copy = new SharedArrayBuffer((heap.memory as SharedArrayBuffer).byteLength);
    new Uint8Array(copy).set(heap.u8);
    new Uint32Array(copy)[1]! += 1; // the layout version word follows the magic
    expect(() => attachHeap(copy)).toThrow(/ERR_HEAP_INCOMPATIBLE/);
  });
});

describe('whole-heap operations', () => {
  it('stats counts live blocks and bytes; snapshot shows runs with tiers', () => {
    const heap = small();
    const a = heap.malloc(10);
    const b = heap.malloc(2_000_000);
    const s = heap.stats();
    expect(s.liveBlocks).toBe(2);
    expect(s.liveBytes).toBeGreaterThanOrEqual(2_000_010);
    expect(s.committedBytes).toBeGreaterThanOrEqual(MiB);
    expect(typeof s.locks).toBe('object');
    const runs = heap.snapshot();
    expect(runs.some((r) => r.offset === b && r.pages === 31 && r.tier === 'big' && r.occupancy === 1)).toBe(
      true,
    );
    expect(runs.some((r) => r.tier === 'tiny' && r.occupancy > 0)).toBe(true);
    for (const r of runs) expect(['free', 'meta', 'tiny', 'mid', 'l25', 'big']).toContain(r.tier);
    let covered = 0;
    for (const r of runs) covered += r.pages;
    expect(covered * 65536).toBe(s.committedBytes - runs[0]!.offset);
    heap.free(a);
    heap.free(b);
  });

  it('detach releases the slot and makes the handle unusable', () => {
    const heap = small();
    const other = attachHeap(heap.memory);
    const id = other.threadId;
    other.detach();
    expect(() => other.malloc(1)).toThrow(/ERR_INVALID_THREAD/);
    const again = attachHeap(heap.memory);
    expect(again.threadId).toBe(id); // slot reused
  });

  it('reclaimThread releases another thread that never detached', () => {
    const heap = small();
    const other = attachHeap(heap.memory);
    const p = other.malloc(1000);
    heap.reclaimThread(other.threadId);
    expect(heap.stats().threads).toBe(1);
    heap.free(p); // its blocks are still the heap's
    heap.check();
  });

  it('reclaimThread of a thread that died finishing its detach (slot free, arena mutex still its own) releases the mutex', () => {
    const heap = small();
    const other = attachHeap(heap.memory);
    const id = other.threadId;
    other.detach();
    // As if it died between its release's last store and its unlock: the arena mutex word
    // (header word 14, the owner id in its low 31 bits) still names it.
    const hdr = new Int32Array(heap.memory as SharedArrayBuffer, 0, 64);
    hdr[14] = id;
    heap.reclaimThread(id); // would otherwise wait for good at the next arena operation
    expect(hdr[14]! & 0x7fffffff).toBe(0);
    expect(heap.malloc(5 * MiB)).toBeGreaterThan(0);
    heap.check();
    expectRejected(heap, 'ERR_INVALID_THREAD', () => heap.reclaimThread(id)); // not attached, holds nothing
  });

  it('trim returns free memory of a resizable heap and reports the bytes', () => {
    const heap = createHeap({ shared: false, initialBytes: MiB, maxBytes: 32 * MiB });
    const p = heap.malloc(10 * MiB);
    heap.free(p);
    const committed = heap.stats().committedBytes;
    const released = heap.trim();
    expect(released).toBeGreaterThanOrEqual(9 * MiB);
    expect(heap.stats().committedBytes).toBeLessThan(2 * MiB);
    // Each byte counted once: never more than the memory the heap held beyond its floor.
    expect(released).toBeLessThanOrEqual(committed - heap.stats().committedBytes + 2 * MiB);
    // Tiny blocks freed, their slabs cached: trim gives them back; a second trim has nothing left.
    const blocks = Array.from({ length: 20_000 }, () => heap.malloc(200));
    for (const b of blocks) heap.free(b);
    const before = heap.stats().committedBytes;
    const again = heap.trim();
    const shrunk = before - heap.stats().committedBytes;
    expect(again).toBeGreaterThanOrEqual(shrunk);
    expect(again).toBeLessThanOrEqual(Math.max(shrunk, 20_000 * 256));
    expect(heap.trim()).toBe(0);
    heap.check();
  });
});

describe('snapshot of the tiny tier', () => {
  it('reports a SuperSlab run with its occupancy', () => {
    const heap = small();
    const blocks = Array.from({ length: 1000 }, () => heap.malloc(64));
    const tinyRuns = heap.snapshot().filter((r) => r.tier === 'tiny');
    expect(tinyRuns.length).toBeGreaterThan(0);
    const used = tinyRuns.reduce((sum, r) => sum + r.occupancy * r.pages * 65536, 0);
    expect(used).toBeGreaterThanOrEqual(64 * 1000);
    for (const p of blocks) heap.free(p);
    heap.check();
  });
});

describe('usableSize bound (SPEC §3)', () => {
  it('size ≤ usableSize ≤ max(roundUp(size, 16), 1.25 × size) up to 1 MiB; page-rounded above', () => {
    const heap = createHeap({ initialBytes: MiB, maxBytes: 64 * MiB });
    const sizes = [
      1025,
      4000,
      65535,
      65536,
      65537,
      100_000,
      131_073,
      262_143,
      700_001,
      MiB,
      MiB + 1,
      3 * MiB + 5,
    ];
    for (let s = 1500; s < MiB; s = Math.floor(s * 1.37) + 1) sizes.push(s);
    for (const size of sizes) {
      const p = heap.malloc(size);
      const usable = heap.usableSize(p);
      expect(usable, `size ${size}`).toBeGreaterThanOrEqual(size);
      if (size <= MiB) {
        expect(usable, `size ${size}`).toBeLessThanOrEqual(
          Math.max(Math.ceil(size / 16) * 16, Math.ceil(1.25 * size)),
        );
      } else {
        expect(usable % 65536).toBe(0);
      }
      heap.u8[p + usable - 1] = 1; // every usable byte is the block's
      heap.free(p);
    }
    // realloc keeps the bound for the new size, in place or moved
    let p = heap.malloc(70_000);
    for (const size of [90_000, 140_000, 80_000, 300_000]) {
      p = heap.realloc(p, size);
      const usable = heap.usableSize(p);
      expect(usable).toBeGreaterThanOrEqual(size);
      expect(usable).toBeLessThanOrEqual(Math.ceil(1.25 * size));
    }
    heap.free(p);
    heap.check();
  });
});

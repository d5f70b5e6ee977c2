// Bad input, as a table: every member of the API with every kind of wrong value. Each call must
// throw a HakmemError with the right code, a message that names the value, and change nothing
// (the counts and the page map are the same, check() passes) — in both safety modes.
import { describe, expect, it } from 'vitest';
import { attachHeap, createHeap, HakmemError, type Heap } from '../src/index';

const MiB = 2 ** 20;

/** Values of every JavaScript type that are not what a size, a count, a pointer or an id must be. */
const NOT_INTEGERS: ReadonlyArray<[label: string, value: unknown, shown: string | null]> = [
  ['-1', -1, '-1'],
  ['1.5', 1.5, '1.5'],
  ['NaN', Number.NaN, 'NaN'],
  ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
  ['2^32', 2 ** 32, '4294967296'],
  ['8n', 8n, '8n'],
  ["'8'", '8', '"8"'],
  ['null', null, 'null'],
  ['undefined', undefined, 'undefined'],
  ['true', true, 'true'],
  ['{}', {}, null],
  ['[8]', [8], null],
  ['Symbol', Symbol('x'), null],
  ['() => 8', () => 8, null],
];

type Call = (heap: Heap, live: number, value: unknown) => unknown;

/** [member, call with the wrong value in one argument, expected code]. */
const TABLE: ReadonlyArray<[string, Call, string]> = [
  ['malloc(size)', (h, _p, v) => h.malloc(v as number), 'ERR_INVALID_SIZE'],
  ['tryMalloc(size)', (h, _p, v) => h.tryMalloc(v as number), 'ERR_INVALID_SIZE'],
  ['calloc(count, 8)', (h, _p, v) => h.calloc(v as number, 8), 'ERR_INVALID_SIZE'],
  ['calloc(8, size)', (h, _p, v) => h.calloc(8, v as number), 'ERR_INVALID_SIZE'],
  ['realloc(live, size)', (h, p, v) => h.realloc(p, v as number), 'ERR_INVALID_SIZE'],
  ['realloc(ptr, 8)', (h, _p, v) => h.realloc(v as number, 8), 'ERR_INVALID_POINTER'],
  ['memalign(alignment, 8)', (h, _p, v) => h.memalign(v as number, 8), 'ERR_INVALID_ALIGNMENT'],
  ['memalign(64, size)', (h, _p, v) => h.memalign(64, v as number), 'ERR_INVALID_SIZE'],
  ['mallocAs(type, 4)', (h, _p, v) => h.mallocAs(v as 'u8', 4), 'ERR_INVALID_OPTION'],
  ["mallocAs('f64', count)", (h, _p, v) => h.mallocAs('f64', v as number), 'ERR_INVALID_SIZE'],
  ['free(ptr)', (h, _p, v) => h.free(v as number), 'ERR_INVALID_POINTER'],
  ['usableSize(ptr)', (h, _p, v) => h.usableSize(v as number), 'ERR_INVALID_POINTER'],
  ['reclaimThread(id)', (h, _p, v) => h.reclaimThread(v as number), 'ERR_INVALID_THREAD'],
];

function observable(heap: Heap) {
  const s = heap.stats();
  return {
    committedBytes: s.committedBytes,
    liveBytes: s.liveBytes,
    liveBlocks: s.liveBlocks,
    threads: s.threads,
    snapshot: heap.snapshot(),
  };
}

function rejects(heap: Heap, call: () => unknown, code: string, shown: string | null): void {
  const before = observable(heap);
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(HakmemError);
  const error = caught as HakmemError;
  expect(error.code, error.message).toBe(code);
  expect(error.message.startsWith(`[${code}] `)).toBe(true);
  if (shown !== null) expect(error.message).toContain(shown); // the message names the value
  expect(observable(heap)).toEqual(before);
  heap.check();
}

for (const safety of ['strict', 'fast'] as const) {
  describe(`bad input, ${safety}`, () => {
    const heap = createHeap({ maxBytes: 64 * MiB, safety });
    const live = heap.malloc(100);
    for (const [member, call, code] of TABLE) {
      it(`${member}: every wrong type and value is ${code}, nothing changed`, () => {
        for (const [, value, shown] of NOT_INTEGERS)
          rejects(heap, () => call(heap, live, value), code, shown);
      });
    }

    it('pointers of the right type that name no block: interior, freed, past the end, below the heap', () => {
      const p = heap.malloc(64);
      const q = heap.malloc(64);
      heap.free(q);
      const big = heap.malloc(3 * MiB);
      const end = heap.stats().committedBytes;
      // Fast mode does not see a pointer inside a block ≤ 32 KiB or a freed one ≤ 1 MiB (see the guide).
      const everywhere = [big + 65536, big + 8, end, end + 65536, 4, 2 ** 31];
      const strictOnly = safety === 'strict' ? [p + 8, p + 1] : [];
      for (const bad of [...everywhere, ...strictOnly]) {
        rejects(heap, () => heap.free(bad), 'ERR_INVALID_POINTER', String(bad));
        rejects(heap, () => heap.usableSize(bad), 'ERR_INVALID_POINTER', String(bad));
        rejects(heap, () => heap.realloc(bad, 10), 'ERR_INVALID_POINTER', String(bad));
      }
      if (safety === 'strict') rejects(heap, () => heap.free(q), 'ERR_DOUBLE_FREE', String(q));
      rejects(
        heap,
        () => heap.free(new Uint8Array(new ArrayBuffer(64), 0, 16)),
        'ERR_INVALID_POINTER',
        'Uint8Array',
      );
      heap.free(p);
      heap.free(big);
    });

    it('sizes of the right type beyond what maxBytes can hold are ERR_INVALID_SIZE', () => {
      for (const size of [64 * MiB, 2 ** 32 - 1]) {
        rejects(heap, () => heap.malloc(size), 'ERR_INVALID_SIZE', String(size));
        rejects(heap, () => heap.realloc(live, size), 'ERR_INVALID_SIZE', String(size));
        rejects(heap, () => heap.memalign(64, size), 'ERR_INVALID_SIZE', String(size));
      }
      rejects(heap, () => heap.calloc(2 ** 16, 2 ** 16), 'ERR_INVALID_SIZE', String(2 ** 32));
      rejects(heap, () => heap.mallocAs('f64', 2 ** 29), 'ERR_INVALID_SIZE', String(2 ** 29));
      for (const alignment of [0, 3, 4, 48, 2 ** 17]) {
        rejects(heap, () => heap.memalign(alignment, 8), 'ERR_INVALID_ALIGNMENT', String(alignment));
      }
    });

    it('thread ids: its own, never handed out, not attached', () => {
      rejects(heap, () => heap.reclaimThread(heap.threadId), 'ERR_INVALID_THREAD', String(heap.threadId));
      rejects(heap, () => heap.reclaimThread(999), 'ERR_INVALID_THREAD', '999');
      const other = attachHeap(heap.memory);
      const id = other.threadId;
      other.detach();
      rejects(heap, () => heap.reclaimThread(id), 'ERR_INVALID_THREAD', String(id));
      // A detached handle refuses everything.
      for (const call of [
        () => other.malloc(8),
        () => other.free(live),
        () => other.stats(),
        () => other.check(),
      ]) {
        expect(() => call()).toThrow(/ERR_INVALID_THREAD.*detached/);
      }
    });
  });
}

describe('bad options', () => {
  const heap = createHeap({ maxBytes: 16 * MiB });
  const table: ReadonlyArray<[string, () => unknown, string]> = [
    ['createHeap(5)', () => createHeap(5 as never), 'ERR_INVALID_OPTION'],
    ['createHeap(null)', () => createHeap(null as never), 'ERR_INVALID_OPTION'],
    ['createHeap({ maxBytes: 8n })', () => createHeap({ maxBytes: 8n as never }), 'ERR_INVALID_OPTION'],
    ["createHeap({ maxBytes: '1' })", () => createHeap({ maxBytes: '1' as never }), 'ERR_INVALID_OPTION'],
    ['createHeap({ maxBytes: 1 })', () => createHeap({ maxBytes: 1 }), 'ERR_INVALID_OPTION'],
    ["createHeap({ safety: 'none' })", () => createHeap({ safety: 'none' as never }), 'ERR_INVALID_OPTION'],
    ['createHeap({ tiers: [] })', () => createHeap({ tiers: [] }), 'ERR_INVALID_OPTION'],
    ['createHeap({ typo: 1 })', () => createHeap({ typo: 1 } as never), 'ERR_INVALID_OPTION'],
    ['attachHeap(memory, null)', () => attachHeap(heap.memory, null as never), 'ERR_INVALID_OPTION'],
    ['attachHeap(memory, 5)', () => attachHeap(heap.memory, 5 as never), 'ERR_INVALID_OPTION'],
    [
      "attachHeap(memory, { safety: 'fast' })",
      () => attachHeap(heap.memory, { safety: 'fast' }),
      'ERR_INVALID_OPTION',
    ],
    [
      'attachHeap(memory, { typo: 1 })',
      () => attachHeap(heap.memory, { typo: 1 } as never),
      'ERR_INVALID_OPTION',
    ],
    ['attachHeap(undefined)', () => attachHeap(undefined as never), 'ERR_HEAP_INCOMPATIBLE'],
    ['attachHeap({})', () => attachHeap({} as never), 'ERR_HEAP_INCOMPATIBLE'],
    ['attachHeap(new ArrayBuffer)', () => attachHeap(new ArrayBuffer(2 * MiB)), 'ERR_HEAP_INCOMPATIBLE'],
    [
      'attachHeap(new SharedArrayBuffer)',
      () => attachHeap(new SharedArrayBuffer(2 * MiB)),
      'ERR_HEAP_INCOMPATIBLE',
    ],
  ];
  for (const [label, call, code] of table) {
    it(`${label} is ${code} and takes no thread slot`, () => {
      const threads = heap.stats().threads;
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(HakmemError);
      expect((caught as HakmemError).code, (caught as Error).message).toBe(code);
      expect(heap.stats().threads).toBe(threads);
      heap.check();
    });
  }
});

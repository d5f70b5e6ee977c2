import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { type AnyTypedArray, createHeap, type Heap } from '../src/index';

/**
 * A model of the whole Heap: random sequences of malloc, calloc, memalign, realloc, free,
 * mallocAs and trim over every tier (0 B – 6 MiB), in both modes. After every operation: each
 * live block holds what was written to it (every byte up to 4 KiB, beyond that its first and
 * last 64 bytes and one byte per 4 KiB), no two live blocks overlap, usableSize keeps its bound,
 * the heap counts the model's live blocks, and check() passes. Live bytes stay below a quarter of
 * maxBytes, so an out-of-memory is a failure (no false out-of-memory).
 *
 * CI runs a small number of sequences. The long run (≥ 10⁶ operations across seeds):
 *   HAKMEM_MODEL_RUNS=17000 HAKMEM_MODEL_CHECK_EVERY=50 pnpm --filter hakmem exec vitest run test/heap-model.test.ts
 * (HAKMEM_MODEL_SEED picks the seed; the operation count is printed).
 */

const MiB = 2 ** 20;
const MAX_BYTES = 96 * MiB;
const LIVE_LIMIT = MAX_BYTES / 4;
const RUNS = Number(process.env.HAKMEM_MODEL_RUNS ?? 30);
const CHECK_EVERY = Number(process.env.HAKMEM_MODEL_CHECK_EVERY ?? 1);
const SEED = process.env.HAKMEM_MODEL_SEED === undefined ? undefined : Number(process.env.HAKMEM_MODEL_SEED);
if (RUNS > 100) vi.setConfig({ testTimeout: 24 * 3600_000 });

const TYPES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'f64', 'i64', 'u64'] as const;

/** Sizes over every tier: mostly small, some mid and L2.5, a few big. */
const size = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 1024 }) },
  { weight: 3, arbitrary: fc.integer({ min: 1025, max: 32 * 1024 }) },
  { weight: 2, arbitrary: fc.integer({ min: 32 * 1024 + 1, max: MiB }) },
  { weight: 1, arbitrary: fc.integer({ min: MiB + 1, max: 6 * MiB }) },
);

const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('malloc' as const), size }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('calloc' as const),
      count: fc.integer({ min: 0, max: 64 }),
      size: fc.integer({ min: 0, max: 4096 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('memalign' as const),
      shift: fc.integer({ min: 3, max: 16 }),
      size,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('mallocAs' as const),
      type: fc.constantFrom(...TYPES),
      count: fc.integer({ min: 0, max: 20_000 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('realloc' as const), pick: fc.nat(), size }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('free' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'trim' as const }) },
);

interface Block {
  size: number;
  seed: number;
  view?: AnyTypedArray;
}

/** The byte offsets a block's content is written and checked at. */
function forEachProbe(n: number, f: (i: number) => void): void {
  if (n <= 4096) {
    for (let i = 0; i < n; i++) f(i);
    return;
  }
  for (let i = 0; i < 64; i++) f(i);
  for (let i = 4096; i < n - 64; i += 4096) f(i);
  for (let i = n - 64; i < n; i++) f(i);
}

const byteAt = (seed: number, i: number) => (seed + i * 29 + (i >>> 8)) & 0xff;

function fill(heap: Heap, p: number, n: number, seed: number): void {
  const u8 = heap.u8;
  forEachProbe(n, (i) => {
    u8[p + i] = byteAt(seed, i);
  });
}

function intact(heap: Heap, p: number, n: number, seed: number): boolean {
  const u8 = heap.u8;
  let ok = true;
  forEachProbe(n, (i) => {
    if (u8[p + i] !== byteAt(seed, i)) ok = false;
  });
  return ok;
}

let operations = 0;

describe('the whole Heap against a model', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: every tier, every operation; payloads, bounds, counts and check() after each step`, () => {
      operations = 0;
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 120, size: 'max' }), (ops) => {
          const heap = createHeap({ initialBytes: 4 * MiB, maxBytes: MAX_BYTES, safety });
          const live = new Map<number, Block>();
          let liveBytes = 0;
          let seed = 0;
          const place = (p: number, n: number, bounded: boolean) => {
            const u = heap.usableSize(p);
            if (u < n) throw new Error(`usableSize(${p}) = ${u} < ${n}`);
            if (bounded && n > 0 && n <= MiB && u > Math.max(Math.ceil(n / 16) * 16, Math.ceil(1.25 * n))) {
              throw new Error(`usableSize(${p}) = ${u} above the bound of ${n}`);
            }
            const end = p + Math.max(n, 1);
            for (const [q, b] of live) {
              if (q !== p && end > q && q + Math.max(b.size, 1) > p) {
                throw new Error(`block ${p} (+${n}) overlaps live block ${q} (+${b.size})`);
              }
            }
          };
          const add = (p: number, n: number, view?: AnyTypedArray) => {
            fill(heap, p, n, ++seed);
            live.set(p, view === undefined ? { size: n, seed } : { size: n, seed, view });
            liveBytes += n;
          };
          let step = 0;
          for (const o of ops) {
            operations++;
            const room = (n: number) => liveBytes + n <= LIVE_LIMIT;
            switch (o.op) {
              case 'malloc':
              case 'memalign': {
                if (!room(o.size)) break;
                const p = o.op === 'malloc' ? heap.malloc(o.size) : heap.memalign(2 ** o.shift, o.size);
                if (o.op === 'memalign') expect(p % 2 ** o.shift).toBe(0);
                place(p, o.size, o.op === 'malloc');
                add(p, o.size);
                break;
              }
              case 'calloc': {
                const n = o.count * o.size;
                if (!room(n)) break;
                const p = heap.calloc(o.count, o.size);
                place(p, n, true);
                for (let i = 0; i < n; i++)
                  if (heap.u8[p + i] !== 0) throw new Error(`calloc: byte ${i} is not 0`);
                add(p, n);
                break;
              }
              case 'mallocAs': {
                const view = heap.mallocAs(o.type, o.count);
                const n = view.byteLength;
                expect(view.length).toBe(o.count);
                place(view.byteOffset, n, false);
                add(view.byteOffset, n, view);
                break;
              }
              case 'realloc':
              case 'free': {
                if (live.size === 0) break;
                const keys = [...live.keys()];
                const p = keys[o.pick % keys.length]!;
                const b = live.get(p)!;
                if (!intact(heap, p, b.size, b.seed))
                  throw new Error(`block ${p} (+${b.size}) was overwritten`);
                if (o.op === 'free') {
                  live.delete(p);
                  liveBytes -= b.size;
                  heap.free(b.view ?? p);
                  break;
                }
                if (b.view !== undefined || !room(o.size - b.size)) break; // views are freed, not resized
                live.delete(p);
                liveBytes -= b.size;
                const q = heap.realloc(p, o.size);
                const kept = Math.min(b.size, o.size);
                const u8 = heap.u8;
                let keptOk = true;
                forEachProbe(b.size, (i) => {
                  if (i < kept && u8[q + i] !== byteAt(b.seed, i)) keptOk = false;
                });
                if (!keptOk) throw new Error(`realloc(${p}, ${o.size}) → ${q} lost the old contents`);
                place(q, o.size, true);
                add(q, o.size);
                break;
              }
              case 'trim':
                heap.trim();
                break;
            }
            if (++step % CHECK_EVERY === 0) {
              heap.check();
              expect(heap.stats().liveBlocks).toBe(live.size);
            }
          }
          heap.check();
          expect(heap.stats().liveBlocks).toBe(live.size);
          for (const [p, b] of live) {
            if (!intact(heap, p, b.size, b.seed)) throw new Error(`block ${p} (+${b.size}) was overwritten`);
            heap.free(b.view ?? p);
          }
          const s = heap.stats();
          expect(s.liveBlocks).toBe(0);
          expect(s.liveBytes).toBe(0);
          heap.trim();
          heap.check();
        }),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
      );
      if (RUNS > 100)
        console.log(`${safety}: ${operations.toLocaleString('en-US')} operations in ${RUNS} sequences`);
      expect(operations).toBeGreaterThan(RUNS);
    });
  }
});

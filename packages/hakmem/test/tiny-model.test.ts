import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHeap } from '../src/index';

/** Model test of the tiny tier through the Heap API: malloc/calloc/realloc/free/memalign of 0 B – 1 KiB (and across the tier boundary). */
describe('tiny tier through the Heap API, against a model', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: random malloc/realloc/free keep payloads, never overlap, and check() passes after every step`, () => {
      const size = fc.oneof(fc.integer({ min: 0, max: 1024 }), fc.integer({ min: 1025, max: 3000 }));
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.record({ op: fc.constant('malloc' as const), size }),
              fc.record({ op: fc.constant('calloc' as const), size: fc.integer({ min: 0, max: 1024 }) }),
              fc.record({
                op: fc.constant('memalign' as const),
                shift: fc.integer({ min: 3, max: 9 }),
                size: fc.integer({ min: 0, max: 1024 }),
              }),
              fc.record({ op: fc.constant('realloc' as const), pick: fc.nat(), size }),
              fc.record({ op: fc.constant('free' as const), pick: fc.nat() }),
            ),
            { minLength: 1, maxLength: 80 },
          ),
          (ops) => {
            const heap = createHeap({ initialBytes: 2 ** 20, maxBytes: 32 * 2 ** 20, safety });
            const live = new Map<number, { size: number; seed: number }>();
            let seed = 0;
            const fill = (p: number, n: number, s: number) => {
              const u8 = heap.u8;
              for (let i = 0; i < n; i++) u8[p + i] = (s + i * 29) & 0xff;
            };
            const intact = (p: number, n: number, s: number) => {
              const u8 = heap.u8;
              for (let i = 0; i < n; i++) if (u8[p + i] !== ((s + i * 29) & 0xff)) return false;
              return true;
            };
            const place = (p: number, n: number, bounded = true) => {
              const u = heap.usableSize(p);
              expect(u).toBeGreaterThanOrEqual(n);
              if (bounded && n > 0 && n <= 1024)
                expect(u).toBeLessThanOrEqual(Math.max(Math.ceil(n / 16) * 16, Math.ceil(1.25 * n)));
              for (const [q, b] of live) {
                if (q === p) continue;
                expect(p + Math.max(n, 1) <= q || q + Math.max(b.size, 1) <= p).toBe(true);
              }
            };
            for (const o of ops) {
              if (o.op === 'malloc' || o.op === 'calloc' || o.op === 'memalign') {
                const p =
                  o.op === 'malloc'
                    ? heap.malloc(o.size)
                    : o.op === 'calloc'
                      ? heap.calloc(1, o.size)
                      : heap.memalign(2 ** o.shift, o.size);
                if (o.op === 'calloc') for (let i = 0; i < o.size; i++) expect(heap.u8[p + i]).toBe(0);
                if (o.op === 'memalign') expect(p % 2 ** o.shift).toBe(0);
                place(p, o.size, o.op !== 'memalign'); // memalign: the smallest class that is a multiple of the alignment
                fill(p, o.size, ++seed);
                live.set(p, { size: o.size, seed });
              } else if (live.size > 0) {
                const keys = [...live.keys()];
                const p = keys[o.pick % keys.length]!;
                const b = live.get(p)!;
                expect(intact(p, b.size, b.seed)).toBe(true);
                live.delete(p);
                if (o.op === 'free') {
                  heap.free(p);
                } else {
                  const q = heap.realloc(p, o.size);
                  expect(intact(q, Math.min(b.size, o.size), b.seed)).toBe(true);
                  place(q, o.size);
                  fill(q, o.size, ++seed);
                  live.set(q, { size: o.size, seed });
                }
              }
              heap.check();
            }
            const tinyLive = [...live.values()].filter((b) => b.size <= 1024).length;
            expect(heap.stats().tiers.tiny!.liveBlocks).toBe(tinyLive);
            for (const [p, b] of live) {
              expect(intact(p, b.size, b.seed)).toBe(true);
              heap.free(p);
            }
            expect(heap.stats().liveBlocks).toBe(0);
            heap.trim();
            heap.check();
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});

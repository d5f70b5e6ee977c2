import { Arena } from '@hakmem/page-arena';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MidTier } from './mid-tier';
import { usableBound } from './size-classes';

const MiB = 2 ** 20;

/** Sizes the mid tier sees: mostly 1 – 32 KiB, some small ones a composition may route to it, the edges. */
const size = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1025, max: 32768 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 1024 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1024, 1025, 32767, 32768) },
);

const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('malloc' as const), size }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('aligned' as const),
      shift: fc.integer({ min: 3, max: 16 }),
      size,
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('free' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remote' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('resize' as const), pick: fc.nat(), size }) },
  { weight: 1, arbitrary: fc.constantFrom({ op: 'flush' as const }, { op: 'trim' as const }) },
);

describe('MidTier against a model of live ranges', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: random malloc/free/resize sequences keep blocks apart, in bounds, aligned, payloads intact, check() after each step`, () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 100 }), (ops) => {
          const arena = Arena.format({ initialBytes: MiB, maxBytes: 16 * MiB, safety });
          arena.threadAttach();
          const mid = new MidTier(arena);
          const other = Arena.attach(arena.memory);
          other.threadAttach();
          const mid2 = new MidTier(other);
          /** ptr → requested size and payload seed */
          const live = new Map<number, { size: number; seed: number }>();
          let seed = 1;
          const fill = (p: number, n: number, s: number) => {
            const u8 = arena.u8;
            for (let i = 0; i < n; i++) u8[p + i] = (s + i * 31) & 0xff;
          };
          const intact = (p: number, n: number, s: number) => {
            const u8 = arena.u8;
            for (let i = 0; i < n; i++) if (u8[p + i] !== ((s + i * 31) & 0xff)) return false;
            return true;
          };
          const take = (pick: number) => {
            const keys = [...live.keys()];
            return keys[pick % keys.length]!;
          };
          for (const o of ops) {
            if (o.op === 'malloc' || o.op === 'aligned') {
              const alignment = o.op === 'aligned' ? 2 ** o.shift : 16;
              const p = o.op === 'malloc' ? mid.malloc(o.size) : mid.mallocAligned(alignment, o.size);
              if (p === 0) {
                // only an alignment no class is a multiple of (64 KiB), or a size no aligned class holds
                expect(o.op).toBe('aligned');
                continue;
              }
              const u = mid.usableSize(p);
              expect(p % alignment).toBe(0);
              expect(u).toBeGreaterThanOrEqual(o.size);
              if (o.op === 'malloc') expect(u).toBeLessThanOrEqual(Math.max(16, usableBound(o.size)));
              expect(p + u).toBeLessThanOrEqual(arena.committedBytes());
              expect(p).toBeGreaterThan(arena.base);
              for (const [q, b] of live) {
                if (!(p + u <= q || q + mid.usableSize(q) <= p))
                  throw new Error(`${p}+${u} overlaps ${q}+${b.size}`);
              }
              fill(p, o.size, ++seed);
              live.set(p, { size: o.size, seed });
            } else if (o.op === 'free' || o.op === 'remote') {
              if (live.size === 0) continue;
              const p = take(o.pick);
              const b = live.get(p)!;
              expect(intact(p, b.size, b.seed)).toBe(true);
              live.delete(p);
              if (o.op === 'free') mid.free(p);
              else mid2.free(p);
            } else if (o.op === 'resize') {
              if (live.size === 0) continue;
              const p = take(o.pick);
              const b = live.get(p)!;
              const u = mid.usableSize(p);
              const inPlace = mid.resize(p, o.size);
              expect(inPlace).toBe(o.size <= u && u <= usableBound(o.size));
              if (inPlace) {
                expect(intact(p, Math.min(b.size, o.size), b.seed)).toBe(true);
                fill(p, o.size, ++seed);
                live.set(p, { size: o.size, seed });
              }
            } else if (o.op === 'flush') {
              mid.flush();
            } else {
              mid.trim();
            }
            mid.check();
            expect(mid.stats().liveBlocks).toBe(live.size);
          }
          let bytes = 0;
          for (const p of live.keys()) bytes += mid.usableSize(p);
          expect(mid.stats().liveBytes).toBe(bytes);
          for (const [p, b] of live) {
            expect(intact(p, b.size, b.seed)).toBe(true);
            mid.free(p);
          }
          mid.check();
          expect(mid.stats().liveBlocks).toBe(0);
          mid2.detach();
          other.threadRelease(other.threadId);
          mid.trim();
          mid.check();
          expect(mid.stats().spans).toBe(0);
          arena.check();
        }),
        { numRuns: 50 },
      );
    });
  }
});

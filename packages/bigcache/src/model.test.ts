import { Arena, PAGE_SIZE } from '@hakmem/page-arena';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BigTier } from './big-tier';

/**
 * Random malloc / free (by this thread or another) / resize / trim sequences against a model of
 * the live blocks: no two blocks overlap, every block lies in the memory, is 64 KiB aligned,
 * has a usable size that is page-rounded within the take-whole bound, keeps its payload, and
 * the tier's figures and check() agree after every step.
 */
const MiB = 2 ** 20;
const P = PAGE_SIZE;

type Op =
  | { op: 'malloc'; size: number }
  | { op: 'free'; at: number; other: boolean }
  | { op: 'resize'; at: number; size: number }
  | { op: 'trim' };

const size = fc.oneof(
  fc.integer({ min: MiB + 1, max: 6 * MiB }),
  fc.integer({ min: 17, max: 96 }).map((pages) => pages * P),
  fc.constantFrom(MiB + 1, 2 * MiB, 3 * MiB),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: size.map((s) => ({ op: 'malloc' as const, size: s })) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('free' as const), at: fc.nat(), other: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('resize' as const), at: fc.nat(), size }) },
  { weight: 1, arbitrary: fc.constant({ op: 'trim' as const }) },
);

interface Block {
  ptr: number;
  size: number;
  usable: number;
  seed: number;
}

/** Cookie bytes at the start, the middle and the end of the block's first `bytes` bytes. */
function cookieSpots(bytes: number): number[] {
  const mid = (bytes >>> 1) & ~7;
  return [0, 1, 7, 8, 15, mid, mid + 1, bytes - 16, bytes - 2, bytes - 1];
}
const cookie = (seed: number, i: number) => (Math.imul(seed ^ i, 2654435761) >>> 24) & 0xff;

function write(arena: Arena, b: Block): void {
  for (const i of cookieSpots(b.usable)) arena.u8[b.ptr + i] = cookie(b.seed, i);
}

/** The cookies of the first `bytes` bytes (a resize keeps min(old, new) bytes) are intact. */
function intact(arena: Arena, b: Block, bytes: number): boolean {
  for (const i of cookieSpots(b.usable))
    if (i < bytes && arena.u8[b.ptr + i] !== cookie(b.seed, i)) return false;
  return true;
}

function pagesOf(size: number): number {
  return Math.ceil(size / P);
}

/** Mallocs that found the memory full while the cache held runs (the scenario must occur). */
let pressured = 0;

function run(safety: 'strict' | 'fast', threadCache: boolean, ops: Op[]): void {
  const arena = Arena.format({ initialBytes: MiB, maxBytes: 40 * MiB, safety });
  arena.threadAttach();
  const big = new BigTier(arena, undefined, { threadCache });
  const other = Arena.attach(arena.memory);
  other.threadAttach();
  // The other thread flushes its thread cache after each free (this thread cannot empty it).
  const big2 = new BigTier(other, undefined, { threadCache });
  const live: Block[] = [];
  let seed = 1;
  for (const o of ops) {
    if (o.op === 'malloc') {
      const cachedBefore = big.stats().cachedRuns;
      const evictionsBefore = big.stats().evictions;
      const ptr = big.malloc(o.size);
      if (cachedBefore > 0 && big.stats().evictions - evictionsBefore === cachedBefore) pressured++;
      if (ptr === 0) {
        // Out of memory only after the cache gave every run back.
        expect(big.stats().cachedRuns).toBe(0);
      } else {
        const b = { ptr, size: o.size, usable: big.usableSize(ptr), seed: seed++ };
        write(arena, b);
        live.push(b);
      }
    } else if (o.op === 'free' && live.length > 0) {
      const [b] = live.splice(o.at % live.length, 1);
      expect(intact(arena, b!, b!.usable)).toBe(true);
      if (o.other) {
        big2.free(b!.ptr);
        big2.flush();
      } else {
        big.free(b!.ptr);
      }
    } else if (o.op === 'resize' && live.length > 0) {
      const b = live[o.at % live.length]!;
      if (big.resize(b.ptr, o.size)) {
        expect(intact(arena, b, Math.min(b.usable, o.size))).toBe(true);
        b.size = o.size;
        b.usable = big.usableSize(b.ptr);
        b.seed = seed++;
        write(arena, b);
      } else {
        expect(intact(arena, b, b.usable)).toBe(true);
      }
    } else if (o.op === 'trim') {
      const cached = big.stats().cachedBytes;
      expect(big.trim()).toBe(cached);
    }
    // The model: bounds, alignment, usable size, no overlap, figures.
    const end = arena.committedBytes();
    const sorted = [...live].sort((x, y) => x.ptr - y.ptr);
    let liveBytes = 0;
    for (let i = 0; i < sorted.length; i++) {
      const b = sorted[i]!;
      const n = pagesOf(b.size);
      expect(b.ptr % P).toBe(0);
      expect(b.ptr + b.usable).toBeLessThanOrEqual(end);
      expect(b.usable).toBeGreaterThanOrEqual(b.size);
      expect(b.usable % P).toBe(0);
      expect(b.usable).toBeLessThanOrEqual((n + (n >>> 3)) * P);
      if (i > 0) expect(sorted[i - 1]!.ptr + sorted[i - 1]!.usable).toBeLessThanOrEqual(b.ptr);
      liveBytes += b.usable;
    }
    const st = big.stats();
    expect(st.liveBlocks).toBe(live.length);
    expect(st.liveBytes).toBe(liveBytes);
    expect(st.cachedBytes).toBeLessThanOrEqual(st.capacityBytes);
    big.check();
  }
  for (const b of live) {
    expect(intact(arena, b, b.usable)).toBe(true);
    big.free(b.ptr);
  }
  big.trim();
  big.check();
  arena.check();
  expect(arena.stats().pagesByTier[big.id] ?? 0).toBe(0);
}

describe('BigTier against a model of live blocks', () => {
  for (const [safety, threadCache] of [
    ['strict', true],
    ['fast', true],
    ['strict', false],
  ] as const) {
    it(`${safety}${threadCache ? '' : ', shared cache only'}: random malloc / free / cross-thread free / resize / trim sequences`, () => {
      pressured = 0;
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 100, size: 'max' }), (ops) =>
          run(safety, threadCache, ops),
        ),
        { numRuns: 50 },
      );
      expect(pressured).toBeGreaterThan(0);
    });
  }
});

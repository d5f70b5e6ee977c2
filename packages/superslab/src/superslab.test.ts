import { Arena, PM_DESC, PM_TIER } from '@hakmem/page-arena';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../test/support';
import { SL_CARVED, SL_OWNER, SL_USED, SLAB_BYTES, SUPERSLAB_SLABS } from './layout';
import {
  TINY_CLASS_BLOCKS,
  TINY_CLASS_COUNT,
  TINY_CLASS_SIZE,
  TINY_MAX_SIZE,
  tinyBlockIndex,
  tinyClassAligned,
  tinyClassOf,
} from './size-classes';
import { Superslab } from './superslab';

const MiB = 2 ** 20;

function heap(safety: 'strict' | 'fast' = 'strict', maxBytes = 16 * MiB, shared = true) {
  const arena = Arena.format({ initialBytes: MiB, maxBytes, safety, shared });
  arena.threadAttach();
  return { arena, slabs: new Superslab(arena) };
}

/** A second thread on the same memory (same JS thread: enough for ownership and remote lists). */
function otherThread(arena: Arena) {
  const other = Arena.attach(arena.memory);
  other.threadAttach();
  return { arena: other, slabs: new Superslab(other) };
}

/** Index of the first differing byte, -1 when equal (toEqual on megabytes is slow). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function descOf(arena: Arena, ptr: number): number {
  return arena.u32[arena.pageEntry(ptr) + PM_DESC]! >>> 2;
}

describe('size classes', () => {
  it('has 21 classes: 8, 16-byte steps to 128, four per doubling to 1 KiB', () => {
    expect(Array.from(TINY_CLASS_SIZE)).toEqual([
      8, 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
    ]);
    expect(TINY_CLASS_COUNT).toBe(21);
  });

  it('serves every size 0 … 1024 within max(roundUp(size, 16), 1.25 × size), 16-byte aligned from 16 B', () => {
    for (let size = 0; size <= TINY_MAX_SIZE; size++) {
      const c = tinyClassOf(size);
      const usable = TINY_CLASS_SIZE[c]!;
      expect(usable).toBeGreaterThanOrEqual(size);
      if (size > 0)
        expect(usable).toBeLessThanOrEqual(Math.max(Math.ceil(size / 16) * 16, Math.ceil(1.25 * size)));
      if (usable >= 16) expect(usable % 16).toBe(0);
      // the smallest class that fits
      if (c > 0) expect(TINY_CLASS_SIZE[c - 1]!).toBeLessThan(Math.max(size, 1));
    }
    expect(tinyClassOf(0)).toBe(0);
    expect(tinyClassOf(1025)).toBe(-1);
    expect(tinyClassOf(-1)).toBe(-1);
    expect(tinyClassOf(Number.NaN)).toBe(-1);
  });

  it('computes block indexes by exact division: every block start, and nothing else below 2^16', () => {
    for (let c = 0; c < TINY_CLASS_COUNT; c++) {
      const size = TINY_CLASS_SIZE[c]!;
      for (let off = -size; off < SLAB_BYTES; off++) {
        const idx = tinyBlockIndex(c, off);
        if (off >= 0 && off % size === 0) expect(idx).toBe(off / size);
        else if (idx < 2 ** 16) throw new Error(`class ${size}: offset ${off} gives index ${idx}`);
      }
    }
  });

  it('finds the smallest class that is a multiple of an alignment', () => {
    expect(TINY_CLASS_SIZE[tinyClassAligned(8, 1)]).toBe(8);
    expect(TINY_CLASS_SIZE[tinyClassAligned(16, 1)]).toBe(16);
    expect(TINY_CLASS_SIZE[tinyClassAligned(32, 33)]).toBe(64);
    expect(TINY_CLASS_SIZE[tinyClassAligned(64, 100)]).toBe(128);
    expect(TINY_CLASS_SIZE[tinyClassAligned(128, 129)]).toBe(256);
    expect(TINY_CLASS_SIZE[tinyClassAligned(256, 300)]).toBe(512);
    expect(TINY_CLASS_SIZE[tinyClassAligned(1024, 1)]).toBe(1024);
    expect(tinyClassAligned(2048, 1)).toBe(-1);
    expect(tinyClassAligned(512, 1025)).toBe(-1);
  });
});

describe('Superslab (standalone, strict)', () => {
  it('needs an attached thread', () => {
    const arena = Arena.format({ initialBytes: MiB, maxBytes: 4 * MiB });
    expect(codeOf(() => new Superslab(arena))).toBe('ERR_INVALID_THREAD');
  });

  it('hands out aligned blocks in the tier pages, carving lazily', () => {
    const { arena, slabs } = heap();
    const a = slabs.malloc(100);
    const b = slabs.malloc(100);
    expect(a % 16).toBe(0);
    expect(b).toBe(a + 112);
    expect(arena.u32[arena.pageEntry(a) + PM_TIER]! & 0xff).toBe(slabs.tier);
    const d = descOf(arena, a);
    expect(arena.i32[d + SL_CARVED]).toBe(2);
    expect(arena.i32[d + SL_USED]).toBe(2);
    expect(slabs.usableSize(a)).toBe(112);
    const e = slabs.malloc(0);
    expect(slabs.usableSize(e)).toBe(8);
    expect(e % 8).toBe(0);
    slabs.free(a);
    expect(slabs.malloc(97)).toBe(a); // LIFO reuse
    slabs.free(b);
    slabs.free(a);
    slabs.free(e);
    slabs.slabCheck();
    arena.check();
  });

  it('rejects double frees and non-block starts with nothing changed', () => {
    const { arena, slabs } = heap();
    const a = slabs.malloc(48);
    const b = slabs.malloc(48);
    slabs.free(a);
    const before = arena.u8.slice();
    expect(codeOf(() => slabs.free(a))).toBe('ERR_DOUBLE_FREE');
    expect(codeOf(() => slabs.free(b + 16))).toBe('ERR_INVALID_POINTER');
    expect(codeOf(() => slabs.free(b + 48 * 10))).toBe('ERR_INVALID_POINTER'); // on the grid, never carved
    expect(codeOf(() => slabs.free(8))).toBe('ERR_INVALID_POINTER'); // not a tiny page
    expect(codeOf(() => slabs.usableSize(a))).toBe('ERR_INVALID_POINTER'); // strict: not live
    expect(firstDifference(arena.u8, before)).toBe(-1);
    slabs.free(b);
    slabs.slabCheck();
  });

  it('reports a corrupted free-list link instead of handing it out', () => {
    const { arena, slabs } = heap();
    const a = slabs.malloc(64);
    const b = slabs.malloc(64);
    slabs.free(a);
    slabs.free(b); // local list: b → a
    arena.u32[b >>> 2] = a + 8; // a write after free, off the grid
    expect(slabs.malloc(64)).toBe(b);
    expect(codeOf(() => slabs.malloc(64))).toBe('ERR_HEAP_CORRUPTED');
    arena.u32[b >>> 2] = 12345 * 65536; // outside every slab
    expect(codeOf(() => slabs.slabCheck())).toBe('ERR_HEAP_CORRUPTED');
  });

  it('adds SuperSlabs when every slab is busy, and gives empty ones back with hysteresis', () => {
    const { arena, slabs } = heap('strict', 64 * MiB);
    const blocks: number[] = [];
    // 1 KiB blocks: 64 per slab; 40 slabs need two SuperSlabs.
    for (let i = 0; i < 40 * 64; i++) blocks.push(slabs.malloc(1024));
    let st = slabs.slabStats();
    expect(st.superslabs).toBe(2);
    expect(st.slabs).toBe(40);
    expect(st.classes[20]!.used).toBe(40 * 64);
    slabs.slabCheck();
    arena.check();
    for (const p of blocks) slabs.free(p);
    st = slabs.slabStats();
    expect(st.classes[20]!.used).toBe(0);
    // the thread keeps its last slab of the class, so its SuperSlab stays; the other, fully
    // empty one is kept for hysteresis
    expect(st.slabs).toBe(1);
    expect(st.superslabs).toBe(2);
    slabs.slabCheck();
    expect(slabs.slabTrim()).toBe(2 * SUPERSLAB_SLABS * SLAB_BYTES);
    st = slabs.slabStats();
    expect(st.superslabs).toBe(0);
    expect(arena.stats().pagesByTier[slabs.tier] ?? 0).toBe(0);
    slabs.slabCheck();
    arena.check();
  });

  it('returns 0 at maxBytes, using shorter SuperSlabs for the last pages, and recovers after frees', () => {
    const { arena, slabs } = heap('strict', 4 * MiB);
    const blocks: number[] = [];
    for (;;) {
      const p = slabs.malloc(512);
      if (p === 0) break;
      blocks.push(p);
    }
    const st = slabs.slabStats();
    expect(st.superslabs).toBeGreaterThan(1); // a 2 MiB one and shorter ones
    // everything but the header/meta pages serves blocks
    expect(blocks.length * 512).toBeGreaterThan(4 * MiB * 0.9);
    slabs.slabCheck();
    arena.check();
    slabs.free(blocks.pop()!);
    expect(slabs.malloc(512)).not.toBe(0);
    for (const p of blocks) slabs.free(p);
    slabs.slabTrim();
    slabs.slabCheck();
    arena.check();
  });

  it('frees blocks of another thread into its remote list, collected by the owner', () => {
    const { arena, slabs } = heap();
    const t2 = otherThread(arena);
    const blocks = Array.from({ length: 10 }, () => slabs.malloc(32));
    const d = descOf(arena, blocks[0]!);
    expect(arena.i32[d + SL_OWNER]).toBe(arena.threadId);
    for (const p of blocks) t2.slabs.free(p);
    expect(codeOf(() => t2.slabs.free(blocks[3]!))).toBe('ERR_DOUBLE_FREE'); // pending remote
    expect(codeOf(() => slabs.free(blocks[4]!))).toBe('ERR_DOUBLE_FREE'); // the owner sees the pending bit
    expect(slabs.slabStats().classes[2]!.remote).toBe(10);
    slabs.slabCheck();
    // the owner collects when its local list runs dry: the same blocks come back
    const again = new Set(Array.from({ length: 10 }, () => slabs.malloc(32)));
    expect(again).toEqual(new Set(blocks));
    expect(arena.i32[d + SL_USED]).toBe(10);
    for (const p of again) slabs.free(p);
    slabs.slabCheck();
  });

  it('abandons the slabs of a detached thread; another thread adopts them', () => {
    const { arena, slabs } = heap();
    const t2 = otherThread(arena);
    const held = Array.from({ length: 100 }, () => t2.slabs.malloc(200));
    const d = descOf(arena, held[0]!);
    t2.slabs.slabDetach();
    t2.arena.threadRelease(t2.arena.threadId);
    expect(arena.i32[d + SL_OWNER]).toBe(0);
    expect(slabs.slabStats().abandonedSlabs).toBe(1);
    slabs.slabCheck();
    for (const p of held.slice(0, 50)) slabs.free(p); // remote frees into the abandoned slab
    const p = slabs.malloc(200); // adopts it
    expect(descOf(arena, p)).toBe(d);
    expect(arena.i32[d + SL_OWNER]).toBe(arena.threadId);
    slabs.free(p);
    for (const q of held.slice(50)) slabs.free(q);
    slabs.slabCheck();
    expect(slabs.slabStats().classes[10]!.used).toBe(0);
  });

  it('reclaims the slabs of a dead thread: empty ones to the pool, used ones abandoned', () => {
    const { arena, slabs } = heap();
    const t2 = otherThread(arena);
    const kept = t2.slabs.malloc(16);
    const gone = Array.from({ length: 5 }, () => t2.slabs.malloc(300));
    for (const p of gone) t2.slabs.free(p);
    const dead = t2.arena.threadId;
    slabs.slabReclaimBegin(dead);
    slabs.slabReclaimEnd(dead);
    arena.threadRelease(dead);
    const st = slabs.slabStats();
    expect(st.abandonedSlabs).toBe(1);
    expect(st.classes[1]!.used).toBe(1);
    expect(st.classes[13]!.slabs).toBe(0);
    slabs.slabCheck();
    slabs.free(kept);
    slabs.slabTrim();
    expect(slabs.slabStats().slabs).toBe(0);
    slabs.slabCheck();
  });

  it('works over a non-shared resizable ArrayBuffer and in fast mode', () => {
    for (const safety of ['strict', 'fast'] as const) {
      const { arena, slabs } = heap(safety, 32 * MiB, false);
      const blocks: number[] = [];
      for (let i = 0; i < 20000; i++) blocks.push(slabs.malloc((i * 37) % 1025));
      for (let i = 0; i < blocks.length; i += 2) slabs.free(blocks[i]!);
      slabs.slabCheck();
      for (let i = 1; i < blocks.length; i += 2) slabs.free(blocks[i]!);
      slabs.slabTrim();
      slabs.slabCheck();
      arena.check();
      expect(slabs.slabStats().slabs).toBe(0);
    }
  });

  it('fills each class slab exactly to its capacity', () => {
    const { arena, slabs } = heap('strict', 64 * MiB);
    for (let c = 0; c < TINY_CLASS_COUNT; c++) {
      const size = TINY_CLASS_SIZE[c]!;
      const first = slabs.malloc(size);
      const d = descOf(arena, first);
      const blocks = [first];
      while (blocks.length < TINY_CLASS_BLOCKS[c]!) blocks.push(slabs.malloc(size));
      expect(descOf(arena, blocks.at(-1)!)).toBe(d);
      const next = slabs.malloc(size);
      expect(descOf(arena, next)).not.toBe(d);
      blocks.push(next);
      for (const p of blocks) slabs.free(p);
    }
    slabs.slabCheck();
  });
});

describe('Superslab against a model', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: random malloc/free/remote-free/detach sequences keep payloads, never overlap, and pass slabCheck after each step`, () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.record({
                op: fc.constant('malloc' as const),
                size: fc.integer({ min: 0, max: 1024 }),
                by: fc.nat(1),
              }),
              fc.record({ op: fc.constant('free' as const), pick: fc.nat(), by: fc.nat(1) }),
              fc.record({ op: fc.constant('trim' as const) }),
            ),
            { minLength: 1, maxLength: 100 },
          ),
          (ops) => {
            const { arena, slabs } = heap(safety, 8 * MiB);
            const threads = [slabs, otherThread(arena).slabs];
            const live = new Map<number, number>();
            const fill = (p: number, size: number) => {
              for (let i = 0; i < size; i++) arena.u8[p + i] = (p + i * 7) & 0xff;
            };
            const intact = (p: number, size: number) => {
              for (let i = 0; i < size; i++) if (arena.u8[p + i] !== ((p + i * 7) & 0xff)) return false;
              return true;
            };
            for (const o of ops) {
              if (o.op === 'malloc') {
                const p = threads[o.by]!.malloc(o.size);
                const size = TINY_CLASS_SIZE[tinyClassOf(o.size)]!;
                expect(threads[o.by]!.usableSize(p)).toBe(size);
                for (const [q, s] of live)
                  expect(p + size <= q || q + TINY_CLASS_SIZE[tinyClassOf(s)]! <= p).toBe(true);
                fill(p, o.size);
                live.set(p, o.size);
              } else if (o.op === 'free') {
                if (live.size === 0) continue;
                const keys = [...live.keys()];
                const p = keys[o.pick % keys.length]!;
                expect(intact(p, live.get(p)!)).toBe(true);
                threads[o.by]!.free(p);
                live.delete(p);
              } else {
                slabs.slabTrim();
              }
              slabs.slabCheck();
              const st = slabs.slabStats();
              expect(st.classes.reduce((a, c) => a + c.used - c.remote, 0)).toBe(live.size);
            }
            for (const [p, size] of live) {
              expect(intact(p, size)).toBe(true);
              slabs.free(p);
            }
            threads[1]!.slabDetach();
            slabs.slabTrim();
            slabs.slabCheck();
            expect(slabs.slabStats().superslabs).toBe(0);
            arena.check();
          },
        ),
        { numRuns: 50 },
      );
    });
  }
});

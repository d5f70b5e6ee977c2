// Issue 9, "no write through an unchecked link": a use-after-free write into the cached block
// at the head of a full cache, then a free that makes the cache spill. Strict: ERR_HEAP_CORRUPTED
// naming the link, nothing changed (undo the write and the same free succeeds, check() passes).
// Both modes: no byte below `base` (a WebAssembly module's data), of the heap's header page or
// of a live block changes.
import { Arena, HakmemError } from '@hakmem/page-arena';
import { CC_COUNT, CC_HEAD, CC_SHIFT } from '@hakmem/tls-cache';
import { describe, expect, it } from 'vitest';
import { TINY_CLASS_SIZE } from './size-classes';
import { TinyTier } from './tiny-tier';

const BASE = 65536;
const SIZE = 64;
const CLS = TINY_CLASS_SIZE.indexOf(SIZE);
const PAYLOAD = 0xa5;

/** A wasm-style heap: a shared WebAssembly.Memory whose first 64 KiB belong to a module. */
function wasmTier(safety: 'strict' | 'fast') {
  const memory = new WebAssembly.Memory({ initial: 48, maximum: 1024, shared: true });
  new Uint8Array(memory.buffer, 0, BASE).fill(0x5a);
  const arena = Arena.format({ memory, base: BASE, safety });
  arena.threadAttach();
  return { arena, tiny: new TinyTier(arena) };
}

/** Index of the first byte that differs, -1 when none does. */
function firstChange(now: Uint8Array, before: Uint8Array): number {
  for (let i = 0; i < before.length; i++) if (now[i] !== before[i]) return i;
  return -1;
}

type Target =
  | 'zero'
  | 'one'
  | 'below base'
  | 'header'
  | 'live block'
  | 'interior'
  | 'self-loop'
  | 'other class';

describe('a use-after-free write into a full cache, then a spill', () => {
  for (const safety of ['strict', 'fast'] as const) {
    for (const target of [
      'zero',
      'one',
      'below base',
      'header',
      'live block',
      'interior',
      'self-loop',
      'other class',
    ] as Target[]) {
      it(`${safety}: link = ${target}`, () => {
        const { arena, tiny } = wasmTier(safety);
        const cache = tiny.cache;
        const h = cache.records + (CLS << CC_SHIFT);
        const live: [number, number][] = [];
        const spare: number[] = [];
        const take = (size: number) => {
          const p = tiny.malloc(size);
          arena.u8.fill(PAYLOAD, p, p + size);
          live.push([p, size]);
          return p;
        };
        for (let i = 0; i < 32; i++) take(SIZE);
        for (let i = 0; i < 8; i++) take(200);
        // Enough blocks to fill the class's largest capacity (a malloc now would pop the cache).
        for (let i = 0; i < 2200; i++) spare.push(tiny.malloc(SIZE));
        const victim = () => spare.pop()!;
        const linkValue = (head: number): number => {
          switch (target) {
            case 'zero':
              return 0;
            case 'one':
              return 1;
            case 'below base':
              return BASE - 4;
            case 'header':
              return BASE + 8;
            case 'live block':
              return live[0]![0];
            case 'interior':
              return live[0]![0] + 8;
            case 'self-loop':
              return head;
            case 'other class':
              return live[live.length - 1]![0];
          }
        };
        let trimmed = false;
        // A hot class grows instead of spilling: fill it to its capacity again until a spill cuts it.
        for (let round = 0; round < 12 && !trimmed; round++) {
          while (arena.i32[h + CC_COUNT]! < cache.cacheCapacity(CLS)) tiny.free(victim());
          const head = arena.u32[h + CC_HEAD]!;
          const link = arena.u32[head >>> 2]!;
          const value = linkValue(head);
          arena.u32[head >>> 2] = value;
          const below = arena.u8.slice(0, BASE);
          const header = arena.u8.slice(BASE, 2 * BASE);
          const count = arena.i32[h + CC_COUNT]!;
          const p = victim();
          let error: unknown;
          try {
            tiny.free(p);
          } catch (e) {
            error = e;
          }
          // No byte below base, of the header page or of a live block changed.
          expect(firstChange(arena.u8.subarray(0, BASE), below), 'a byte below base').toBe(-1);
          expect(firstChange(arena.u8.subarray(BASE, 2 * BASE), header), 'a byte of the header page').toBe(
            -1,
          );
          for (const [q, size] of live) {
            const bytes = arena.u8.subarray(q, q + size);
            expect(
              bytes.every((b) => b === PAYLOAD),
              `live block ${q} (${size} B)`,
            ).toBe(true);
          }
          if (error === undefined && arena.i32[h + CC_COUNT] === count + 1) {
            // The class grew: the corrupted block is second now; undo and fill again.
            expect(arena.u32[arena.u32[h + CC_HEAD]! >>> 2]).toBe(head);
            arena.u32[head >>> 2] = link;
            continue;
          }
          trimmed = true;
          if (safety === 'strict') {
            expect(HakmemError.codeOf(error)).toBe('ERR_HEAP_CORRUPTED');
            expect((error as Error).message).toContain(`0x${value.toString(16)}`);
          }
          if (error !== undefined) {
            // Nothing changed: the list and the corrupted link are as they were.
            expect(arena.i32[h + CC_COUNT]).toBe(count);
            expect(arena.u32[h + CC_HEAD]).toBe(head);
            expect(arena.u32[head >>> 2]).toBe(value);
            arena.u32[head >>> 2] = link;
            tiny.free(p);
            tiny.check();
            for (const q of spare) tiny.free(q);
            for (const [q] of live) tiny.free(q);
            tiny.check();
            expect(tiny.stats().liveBlocks).toBe(0);
          }
        }
        expect(trimmed).toBe(true);
      });
    }
  }
});

describe('a use-after-free write into a block of a slab free list or of a dead thread cache', () => {
  for (const safety of ['strict', 'fast'] as const) {
    for (const [name, value] of [
      ['1', 1],
      ['below base', BASE - 4],
      ['the header', BASE + 8],
    ] as const) {
      it(`${safety}: a refill walking the slab's local list meets link = ${name}: ERR_HEAP_CORRUPTED, nothing written`, () => {
        const { arena, tiny } = wasmTier(safety);
        const live = Array.from({ length: 40 }, () => tiny.malloc(SIZE));
        for (const p of live) arena.u8.fill(PAYLOAD, p, p + SIZE);
        const freed = Array.from({ length: 200 }, () => tiny.malloc(SIZE));
        for (const p of freed) tiny.free(p);
        tiny.flush(); // every freed block is on its slab's local list
        for (const p of freed) arena.u32[p >>> 2] = value;
        const below = arena.u8.slice(0, BASE);
        const header = arena.u8.slice(BASE, 2 * BASE);
        let error: unknown;
        try {
          tiny.malloc(SIZE);
        } catch (e) {
          error = e;
        }
        expect(HakmemError.codeOf(error)).toBe('ERR_HEAP_CORRUPTED');
        expect(firstChange(arena.u8.subarray(0, BASE), below), 'a byte below base').toBe(-1);
        expect(firstChange(arena.u8.subarray(BASE, 2 * BASE), header), 'a byte of the header page').toBe(-1);
        for (const p of live) expect(arena.u8.subarray(p, p + SIZE).every((b) => b === PAYLOAD)).toBe(true);
      });
    }
  }

  it("strict: a reclaim walking a dead thread's cache stops at a link to a live block, which keeps its bytes", () => {
    const { arena, tiny } = wasmTier('strict');
    const other = Arena.attach(arena.memory);
    other.threadAttach();
    const t2 = new TinyTier(other);
    const dead = other.threadId;
    const live = Array.from({ length: 20 }, () => t2.malloc(SIZE));
    for (const p of live) arena.u8.fill(PAYLOAD, p, p + SIZE);
    const cached = Array.from({ length: 8 }, () => t2.malloc(SIZE));
    for (const p of cached) t2.free(p); // into its cache; the last is the head
    arena.u32[cached[7]! >>> 2] = live[3]!;
    tiny.reclaim(dead);
    arena.threadRelease(dead);
    for (const p of live) expect(arena.u8.subarray(p, p + SIZE).every((b) => b === PAYLOAD)).toBe(true);
    tiny.check();
    expect(tiny.stats().liveBlocks).toBe(live.length);
    for (const p of live) tiny.free(p);
    tiny.check();
    expect(tiny.stats().liveBlocks).toBe(0);
  });
});

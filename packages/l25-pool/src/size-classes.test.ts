import { PAGE_SIZE } from '@hakmem/page-arena';
import { describe, expect, it } from 'vitest';
import {
  L25_CLASS_BLOCKS,
  L25_CLASS_CACHE_CAP,
  L25_CLASS_COUNT,
  L25_CLASS_PAGES,
  L25_CLASS_SIZE,
  L25_MAX_SIZE,
  l25BlockIndex,
  l25ClassAligned,
  l25ClassOf,
  l25UsableBound,
} from './size-classes';

const KiB = 1024;

describe('L2.5 size classes', () => {
  it('every size 0 … 1 MiB gets the smallest class that holds it, within max(roundUp(size, 16), 1.25 × size)', () => {
    let prev = 0;
    for (let size = 0; size <= L25_MAX_SIZE; size++) {
      const c = l25ClassOf(size);
      const u = L25_CLASS_SIZE[c]!;
      if (
        !(
          u >= size &&
          (size === 0 || u <= l25UsableBound(size)) &&
          c >= prev &&
          (c === 0 || L25_CLASS_SIZE[c - 1]! < size)
        )
      ) {
        throw new Error(`size ${size}: class ${c} of ${u} B`);
      }
      prev = c;
    }
    expect(l25ClassOf(0)).toBe(0);
    expect(l25ClassOf(L25_MAX_SIZE)).toBe(L25_CLASS_COUNT - 1);
  });

  it('has the edges and sizes the tier is built on', () => {
    const table = [
      [1, 16],
      [16, 16],
      [17, 32],
      [128, 128],
      [129, 160],
      [32 * KiB, 32 * KiB],
      [32 * KiB + 1, 40 * KiB],
      [40 * KiB + 1, 48 * KiB],
      [64 * KiB, 64 * KiB],
      [100_000, 112 * KiB],
      [512 * KiB + 1, 640 * KiB],
      [1024 * KiB - 1, 1024 * KiB],
    ];
    for (const [size, cls] of table) expect([size, L25_CLASS_SIZE[l25ClassOf(size!)]]).toEqual([size, cls]);
    for (const s of L25_CLASS_SIZE) expect(s % 16).toBe(0);
  });

  it('spans waste at most 1/64 of their pages, so a 40 KiB block costs 40 KiB', () => {
    for (let c = 0; c < L25_CLASS_COUNT; c++) {
      const bytes = L25_CLASS_PAGES[c]! * PAGE_SIZE;
      expect(L25_CLASS_PAGES[c]).toBeLessThanOrEqual(16);
      expect(L25_CLASS_BLOCKS[c]).toBeGreaterThanOrEqual(1);
      expect(bytes - L25_CLASS_BLOCKS[c]! * L25_CLASS_SIZE[c]!).toBeLessThanOrEqual(bytes / 64);
      expect(L25_CLASS_CACHE_CAP[c]).toBeGreaterThanOrEqual(1);
    }
    const spanOf = (size: number) => {
      const c = l25ClassOf(size);
      return [L25_CLASS_PAGES[c], L25_CLASS_BLOCKS[c]];
    };
    expect(spanOf(32 * KiB)).toEqual([1, 2]);
    expect(spanOf(40 * KiB)).toEqual([5, 8]);
    expect(spanOf(56 * KiB)).toEqual([7, 8]);
    expect(spanOf(80 * KiB)).toEqual([5, 4]);
    expect(spanOf(160 * KiB)).toEqual([5, 2]);
    expect(spanOf(640 * KiB)).toEqual([10, 1]);
    expect(spanOf(1024 * KiB)).toEqual([16, 1]);
  });

  it('finds block indexes by exact division: a block start gives its index, any other offset a value ≥ the block count', () => {
    for (let c = 0; c < L25_CLASS_COUNT; c++) {
      const size = L25_CLASS_SIZE[c]!;
      const blocks = L25_CLASS_BLOCKS[c]!;
      const span = L25_CLASS_PAGES[c]! * PAGE_SIZE;
      const step = Math.max(1, Math.floor(span / 20_000));
      for (let off = 0; off < span; off += step) {
        const idx = l25BlockIndex(c, off);
        const exact = off % size === 0 ? off / size : -1;
        if (exact >= 0 && exact < blocks ? idx !== exact : idx < blocks) {
          throw new Error(`class ${size}: offset ${off} gives index ${idx}`);
        }
      }
      for (let i = 0; i < blocks; i++) {
        for (const off of [i * size, i * size + 8, i * size + 16, (i + 1) * size - 16]) {
          const idx = l25BlockIndex(c, off);
          expect(off === i * size ? idx === i : idx >= blocks || off % size === 0).toBe(true);
        }
      }
    }
  });

  it('aligned classes: the smallest class that is a multiple of the alignment', () => {
    for (const [alignment, size, expected] of [
      [16, 40_000, 40 * KiB],
      [4096, 40_000, 40 * KiB],
      [16384, 40_000, 48 * KiB],
      [65536, 40_000, 64 * KiB],
      [65536, 100_000, 128 * KiB],
      [65536, L25_MAX_SIZE, L25_MAX_SIZE],
      [32768, 1, 32 * KiB],
    ] as const) {
      const c = l25ClassAligned(alignment, size);
      expect([alignment, size, L25_CLASS_SIZE[c]]).toEqual([alignment, size, expected]);
    }
    for (let shift = 0; shift <= 16; shift++) {
      for (const size of [0, 1, 1000, 33_000, 70_000, 300_000, L25_MAX_SIZE]) {
        const c = l25ClassAligned(2 ** shift, size);
        expect(L25_CLASS_SIZE[c]! % 2 ** shift).toBe(0);
        expect(L25_CLASS_SIZE[c]).toBeGreaterThanOrEqual(size);
      }
    }
  });
});

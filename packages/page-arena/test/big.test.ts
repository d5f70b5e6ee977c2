import { describe, expect, it } from 'vitest';
import { Arena, PAGE_SIZE } from '../src/index';

const TIER_BIG = 5;
const TIER_RUN = 6;

const P = PAGE_SIZE;

describe('a 4 GiB heap', () => {
  it('hands out and frees runs above 2 GiB (offsets beyond int32), up to the last page', () => {
    const a = Arena.format({ initialBytes: 1 << 20, maxBytes: 2 ** 32 });
    const low = a.allocRun(32768, TIER_BIG); // 2 GiB
    const meta = a.metaAlloc(16); // lands in a page below 2 GiB or right above
    const high = a.allocRun(100, TIER_RUN);
    expect(high).toBeGreaterThanOrEqual(2 ** 31);
    a.u8[high + 100 * P - 1] = 7;
    expect(a.runPages(high)).toBe(100);
    expect(a.pageEntry(high + 99 * P)).toBeGreaterThan(0);
    const rest = a.allocRun(65536 - 32768 - 200, TIER_RUN);
    expect(rest).toBeGreaterThan(high);
    const singles: number[] = [];
    for (let r = a.allocRun(1, TIER_RUN); r !== 0; r = a.allocRun(1, TIER_RUN)) singles.push(r);
    expect(a.committedBytes()).toBe(2 ** 32);
    expect(a.stats().freePages).toBe(0);
    expect(singles.length).toBeLessThan(100);
    expect(singles[singles.length - 1]).toBe(2 ** 32 - P);
    a.u8[2 ** 32 - 1] = 1;
    for (const r of singles) a.freeRun(r);
    a.check();
    // metaAlloc blocks above 2 GiB: free the low half so META pages can come from anywhere.
    a.freeRun(rest);
    const blocks = Array.from({ length: 5000 }, () => a.metaAlloc(4096));
    expect(blocks.some((b) => b >= 2 ** 31)).toBe(true);
    for (const b of blocks) a.metaFree(b);
    a.freeRun(high);
    a.freeRun(low);
    a.metaFree(meta);
    a.check();
    expect(a.stats().freeRuns).toBeGreaterThanOrEqual(1);
  });
});

import { describe, expect, it } from 'vitest';
import { runDemo } from '../scripts/run-demo.mjs';

describe('the demo page in headless Chromium', () => {
  it('benchmarks hakmem, @thi.ng/malloc and new Uint8Array in Web Workers and draws the heap', async () => {
    const { demo, errors } = await runDemo();
    expect(errors).toEqual([]);
    expect(demo.error).toBeUndefined();
    expect(demo.results.map((r: { allocator: string }) => r.allocator)).toEqual([
      'Uint8Array',
      'thi.ng',
      'hakmem',
      'hakmem',
    ]);
    for (const r of demo.results) expect(r.opsPerSecond).toBeGreaterThan(0);
    expect(demo.tiers.tiny).toBeGreaterThan(0);
    expect((demo.tiers.mid ?? 0) + (demo.tiers.l25 ?? 0) + (demo.tiers.big ?? 0)).toBeGreaterThan(0);
  });
});

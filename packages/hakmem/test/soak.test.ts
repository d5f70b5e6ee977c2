import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module (its workers are started by Node, not vite)
import { soak } from '../soak/soak.mjs';

interface SoakReport {
  ops: number;
  retirements: number;
  handedOver: number;
  checks: number;
  leftLive: number;
  cookieFailures: number;
  errors: string[];
}

// CI-sized: the long run with random terminations is `pnpm soak --minutes N --workers N`.
describe('soak (CI-sized): workers churn every tier with cookies and hand-overs, retired and replaced', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: no cookie overwritten, check() passes at every retirement, nothing left at the end`, async () => {
      const r = (await soak({
        ms: 5_000,
        workers: 3,
        retire: true,
        safety,
        killMin: 50,
        killMax: 150,
      })) as SoakReport;
      expect(r.errors).toEqual([]);
      expect(r.cookieFailures).toBe(0);
      expect(r.retirements).toBeGreaterThan(0);
      expect(r.handedOver).toBeGreaterThan(0);
      expect(r.checks).toBe(r.retirements + 1);
      expect(r.leftLive).toBe(0);
    }, 180_000);
  }
});

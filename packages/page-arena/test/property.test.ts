import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Arena, HakmemError, PAGE_SIZE, TIER_FREE, TIER_META } from '../src/index';

const TIER_RUN = 6;

import { runsOf } from './helpers';

const P = PAGE_SIZE;

type Op =
  | { kind: 'alloc'; pages: number }
  | { kind: 'free'; pick: number }
  | { kind: 'resize'; pick: number; pages: number }
  | { kind: 'badFree'; page: number };

/**
 * An exact model of the arena on a small heap (one page-map leaf, so no META pages appear):
 * page owners, the committed end, the best-fit choice, the growth policy and the coalesced runs.
 */
class ArenaModel {
  readonly owner: Int32Array;
  committed: number;
  nextId = 1;
  readonly runs = new Map<number, { head: number; pages: number }>();

  constructor(
    readonly basePage: number,
    readonly maxPages: number,
    committed: number,
  ) {
    this.owner = new Int32Array(maxPages);
    this.owner[basePage] = -1;
    this.committed = committed;
  }

  freeSegments(): { head: number; pages: number }[] {
    const segments: { head: number; pages: number }[] = [];
    for (let p = this.basePage + 1; p < this.committed; ) {
      if (this.owner[p] !== 0) {
        p++;
        continue;
      }
      let q = p;
      while (q < this.committed && this.owner[q] === 0) q++;
      segments.push({ head: p, pages: q - p });
      p = q;
    }
    return segments;
  }

  /** Committed end after growing by at least `need` pages, 0 if maxBytes cannot. */
  growTo(need: number): number {
    const to = Math.min(
      this.maxPages,
      this.committed + Math.max(need, Math.ceil((this.committed - this.basePage) / 8)),
    );
    return to < this.committed + need ? 0 : to;
  }

  mark(head: number, pages: number, id: number): void {
    this.owner.fill(id, head, head + pages);
  }

  /** Expected page map: [page, pages, tier] in address order. */
  expectedRuns(): [number, number, number][] {
    const out: [number, number, number][] = [[this.basePage, 1, TIER_META]];
    for (let p = this.basePage + 1; p < this.committed; ) {
      const id = this.owner[p]!;
      let q = p;
      while (q < this.committed && this.owner[q] === id) q++;
      out.push([p, q - p, id === 0 ? TIER_FREE : TIER_RUN]);
      p = q;
    }
    return out;
  }
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return HakmemError.codeOf(error) ?? 'not a HakmemError';
  }
  return undefined;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('alloc' as const), pages: fc.integer({ min: 1, max: 24 }) }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('resize' as const),
      pick: fc.nat(),
      pages: fc.integer({ min: 1, max: 30 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('badFree' as const), page: fc.nat({ max: 100 }) }) },
);

describe('page runs against an exact model', () => {
  it('10,000+ random allocations, frees and resizes: best fit, complete coalescing, growth policy, check() after every step', () => {
    const MAX_PAGES = 96;
    const OPS = 400;
    const RUNS = 26;
    let steps = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(0, 3),
        fc.integer({ min: 0, max: 8 }),
        fc.array(opArb, { minLength: OPS, maxLength: OPS }),
        (basePage, extra, ops) => {
          const initial = basePage + 1 + extra;
          const arena = Arena.format({
            base: basePage * P,
            initialBytes: initial * P,
            maxBytes: MAX_PAGES * P,
          });
          const model = new ArenaModel(basePage, MAX_PAGES, initial);
          for (const op of ops) {
            steps++;
            const live = [...model.runs.keys()];
            if (op.kind === 'alloc') {
              const segments = model.freeSegments();
              const fitting = segments.filter((s) => s.pages >= op.pages);
              const offset = arena.allocRun(op.pages, TIER_RUN);
              let head: number;
              if (fitting.length > 0) {
                const best = Math.min(...fitting.map((s) => s.pages));
                head = offset / P;
                expect(segments.find((s) => s.head === head)?.pages).toBe(best);
              } else {
                const last = segments[segments.length - 1];
                const trailing = last && last.head + last.pages === model.committed ? last.pages : 0;
                const to = model.growTo(op.pages - trailing);
                if (to === 0) {
                  expect(offset).toBe(0);
                  continue;
                }
                head = model.committed - trailing;
                expect(offset).toBe(head * P);
                model.committed = to;
              }
              const id = model.nextId++;
              model.mark(head, op.pages, id);
              model.runs.set(id, { head, pages: op.pages });
            } else if (op.kind === 'free') {
              if (live.length === 0) continue;
              const id = live[op.pick % live.length]!;
              const run = model.runs.get(id)!;
              arena.freeRun(run.head * P);
              model.mark(run.head, run.pages, 0);
              model.runs.delete(id);
            } else if (op.kind === 'resize') {
              if (live.length === 0) continue;
              const id = live[op.pick % live.length]!;
              const run = model.runs.get(id)!;
              const ok = arena.resizeRun(run.head * P, op.pages);
              let expected: boolean;
              if (op.pages <= run.pages) {
                expected = true;
                model.mark(run.head + op.pages, run.pages - op.pages, 0);
              } else {
                const next = run.head + run.pages;
                const need = op.pages - run.pages;
                let free = 0;
                while (next + free < model.committed && model.owner[next + free] === 0) free++;
                if (op.pages >= MAX_PAGES - basePage) expected = false;
                else if (next < model.committed && free === 0) expected = false;
                else if (free >= need) expected = true;
                else if (next + free === model.committed) {
                  const to = model.growTo(need - free);
                  expected = to !== 0;
                  if (expected) model.committed = to;
                } else expected = false;
                if (expected) model.mark(next, need, id);
              }
              expect(ok).toBe(expected);
              if (expected) run.pages = op.pages;
            } else {
              const page = model.basePage + (op.page % (model.committed + 2 - model.basePage));
              const owner = page < model.committed ? model.owner[page]! : -2;
              if (owner > 0 && model.runs.get(owner)!.head === page) continue;
              const before = runsOf(arena);
              expect(codeOf(() => arena.freeRun(page * P))).toBe(
                owner === 0 ? 'ERR_DOUBLE_FREE' : 'ERR_INVALID_POINTER',
              );
              expect(runsOf(arena)).toEqual(before);
            }
            arena.check();
            expect(arena.committedBytes()).toBe(model.committed * P);
            expect(runsOf(arena)).toEqual(model.expectedRuns());
          }
        },
      ),
      { numRuns: RUNS, seed: 0x2a2a },
    );
    expect(steps).toBeGreaterThanOrEqual(10_000);
  });

  it('large runs across page-map leaves: no overlap, check() after every step, 0 only when maxBytes cannot hold the run', () => {
    const MAX_PAGES = 4096;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('alloc' as const), pages: fc.integer({ min: 1, max: 40 }) }),
            fc.record({ kind: fc.constant('alloc' as const), pages: fc.integer({ min: 900, max: 1800 }) }),
            fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
            fc.record({
              kind: fc.constant('resize' as const),
              pick: fc.nat(),
              pages: fc.integer({ min: 1, max: 1200 }),
            }),
          ),
          { minLength: 150, maxLength: 150 },
        ),
        (ops) => {
          const arena = Arena.format({ initialBytes: 16 * P, maxBytes: MAX_PAGES * P });
          const live = new Map<number, { pages: number; cookie: number }>();
          let cookie = 1;
          const overlaps = (offset: number, pages: number) => {
            for (const [o, r] of live) if (offset < o + r.pages * P && o < offset + pages * P) return true;
            return false;
          };
          for (const op of ops) {
            const offsets = [...live.keys()];
            if (op.kind === 'alloc') {
              const stats = arena.stats();
              const runs = arena.snapshot();
              const last = runs[runs.length - 1]!;
              const trailing = last.tier === TIER_FREE ? last.pages : 0;
              const offset = arena.allocRun(op.pages, TIER_RUN);
              if (offset === 0) {
                expect(op.pages).toBeGreaterThan(stats.largestFreeRunPages);
                expect(op.pages + 1).toBeGreaterThan(trailing + MAX_PAGES - stats.committedBytes / P);
                continue;
              }
              expect(offset % P).toBe(0);
              expect(overlaps(offset, op.pages)).toBe(false);
              arena.i32[offset / 4] = cookie;
              live.set(offset, { pages: op.pages, cookie: cookie++ });
            } else if (offsets.length > 0) {
              const offset = offsets[op.pick % offsets.length]!;
              const run = live.get(offset)!;
              expect(arena.i32[offset / 4]).toBe(run.cookie);
              expect(arena.runPages(offset)).toBe(run.pages);
              if (op.kind === 'free') {
                arena.freeRun(offset);
                live.delete(offset);
              } else {
                live.delete(offset);
                if (arena.resizeRun(offset, op.pages)) {
                  expect(overlaps(offset, op.pages)).toBe(false);
                  run.pages = op.pages;
                }
                live.set(offset, run);
              }
            }
            arena.check();
          }
          const mapped = arena
            .snapshot()
            .filter((r) => r.tier === TIER_RUN)
            .map((r) => [r.offset, r.pages]);
          expect(mapped).toEqual([...live].map(([o, r]) => [o, r.pages]).sort((x, y) => x[0]! - y[0]!));
        },
      ),
      { numRuns: 12, seed: 0x5151 },
    );
  });
});

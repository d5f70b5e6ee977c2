import { describe, expect, it } from 'vitest';
import { type Cell, medianCells, type RunReport } from '../src/report/results';
import { buildTable, rowsOf } from '../src/report/table';

function report(cells: Cell[]): RunReport {
  return {
    date: '2026-01-01T00:00:00.000Z',
    command: 'pnpm bench',
    suite: 'quick',
    node: 'v20',
    machine: { cpu: 'cpu', cores: 2, memoryBytes: 0, os: 'linux', arch: 'x64', loadAverage: [0, 0] },
    hakmemVersion: '0.0.0',
    commit: 'abc',
    allocators: [],
    workloads: [],
    notes: [],
    cells,
    totalMs: 0,
  };
}

const ok = (alloc: Cell['alloc'], value: number, variant = 'window 1,000'): Cell => ({
  workload: 'churn',
  variant,
  alloc,
  status: 'ok',
  unit: 'ns/pair',
  better: 'lower',
  value,
});

describe('table', () => {
  it('gives each cell its ratio to hakmem in the same row, and numbers its notes once per text', () => {
    const r = report([
      ok('hakmem', 100),
      ok('thi.ng', 2500),
      { ...ok('gc', 0), status: 'unsupported', reason: 'not shared: x', value: undefined },
      { ...ok('smo', 0), status: 'unsupported', reason: 'not shared: x', value: undefined },
    ]);
    const t = buildTable(r, ['hakmem', 'thi.ng', 'gc', 'smo']);
    expect(t.body[0]).toEqual([
      'churn window 1,000',
      'ns/pair (↓)',
      '100 ns',
      '2.50 µs (25.0×)',
      'not shared [1]',
      'not shared [1]',
      'hakmem',
    ]);
    expect(t.notes).toEqual(['[1] not shared: x']);
  });

  it('falls back to the next reference when hakmem has no number in a row, and says which', () => {
    const r = report([
      { ...ok('hakmem', 0), status: 'failed', reason: 'hakmem: out of memory', value: undefined },
      ok('gc', 200),
      ok('as-tlsf', 50),
    ]);
    const [row] = rowsOf(r);
    expect(row!.reference).toBe('gc');
    const t = buildTable(r, ['hakmem', 'gc', 'as-tlsf']);
    expect(t.body[0]!.slice(2)).toEqual(['failed [1]', '200 ns', '50.0 ns (0.25×)', 'gc']);
  });

  it('marks a smaller run with its reason and a WRONG checksum as such', () => {
    const r = report([
      ok('hakmem', 10),
      { ...ok('thi.ng', 1000), capped: '500 pairs' },
      { ...ok('malloc', 20), status: 'wrong', reason: 'malloc: checksum 1 ≠ model 2' },
    ]);
    const t = buildTable(r, ['hakmem', 'thi.ng', 'malloc']);
    expect(t.body[0]!.slice(3, 5)).toEqual(['1.00 µs (100×) [1]', 'WRONG checksum [2]']);
    expect(t.notes).toEqual(['[1] thi.ng: 500 pairs', '[2] malloc: checksum 1 ≠ model 2']);
  });
});

describe('--repeat: medianCells', () => {
  it('keeps one cell per allocator and variant: the median round, with every round listed', () => {
    const rounds = [
      [ok('hakmem', 30), ok('floor', 10)],
      [ok('hakmem', 50), ok('floor', 12)],
      [ok('hakmem', 40), ok('floor', 11)],
    ];
    const cells = medianCells(rounds);
    expect(cells.map((c) => [c.alloc, c.value, c.samples])).toEqual([
      ['hakmem', 40, [30, 50, 40]],
      ['floor', 11, [10, 12, 11]],
    ]);
  });

  it('an even count takes the lower middle; one round is returned as it is', () => {
    expect(
      medianCells([[ok('hakmem', 4)], [ok('hakmem', 1)], [ok('hakmem', 3)], [ok('hakmem', 2)]])[0]!.value,
    ).toBe(2);
    const one = [ok('hakmem', 7)];
    expect(medianCells([one])).toBe(one);
  });

  it('a round that failed or read back wrong bytes is what the cell shows', () => {
    const wrong: Cell = { ...ok('hakmem', 1), status: 'wrong', reason: 'checksum 1 ≠ model 2' };
    const cells = medianCells([[ok('hakmem', 30)], [wrong], [ok('hakmem', 20)]]);
    expect(cells).toEqual([wrong]);
  });
});

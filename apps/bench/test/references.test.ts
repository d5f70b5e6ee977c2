import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REFERENCE_NAMES } from '../src/adapters';
import { RefAllocator } from '../src/adapters/ref';
import { plan } from '../src/plan';
import { NOT_PORTED, portedProgram } from '../src/references';
import { runReference } from '../src/references/run';
import { findTools, prepareReferences } from '../src/references/toolchain';
import type { Cell, RunReport } from '../src/report/results';
import { buildTable } from '../src/report/table';
import { type ChurnConfig, churnRun } from '../src/workloads/churn';
import { type LarsonConfig, larsonModel } from '../src/workloads/larson';
import type { Task } from '../src/workloads/types';

const tools = findTools();
const outDir = mkdtempSync(join(os.tmpdir(), 'hakmem-bench-c-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const churnConfig: ChurnConfig = {
  variant: 'window 300',
  window: 300,
  pairs: 20_000,
  minSize: 8,
  maxSize: 1024,
  seed: 7,
};
const larsonConfig: LarsonConfig = {
  threads: 2,
  chunks: 200,
  rounds: 3,
  generations: 3,
  warmup: 1,
  minSize: 8,
  maxSize: 1000,
  seed: 4141,
};
const churnTask = (alloc: Task['alloc']): Task => ({
  workload: 'churn',
  variant: churnConfig.variant,
  alloc,
  config: churnConfig,
});
const larsonTask = (alloc: Task['alloc']): Task => ({
  workload: 'larson',
  variant: '2 workers',
  alloc,
  config: larsonConfig,
});

describe('C references (built into a temporary folder)', () => {
  const noCc = 'skipped: no C compiler (cc or gcc) on PATH';
  it.skipIf(!tools.cc)(
    `churn.c with the C library's malloc: the same checksum as the JS model${tools.cc ? '' : ` — ${noCc}`}`,
    async () => {
      const prepared = (await prepareReferences(['glibc'], { outDir })).get('glibc')!;
      if (!prepared.ok) throw new Error(prepared.reason);
      const r = await runReference(churnTask('glibc'), prepared, 60_000);
      if (!('ok' in r) || !r.ok) throw new Error(JSON.stringify(r));
      const m = r.measurements[0]!;
      expect(m.corrupt).toBe(0);
      expect(m.ops).toBe(churnConfig.pairs);
      expect(m.checksum).toBe(churnRun(new RefAllocator(), churnConfig).table.checksum);
      expect(m.value).toBeGreaterThan(0);
    },
  );

  it.skipIf(!tools.cc)(
    `larson.c with 2 threads: operations, cross-thread frees and checksum of the JS model${tools.cc ? '' : ` — ${noCc}`}`,
    async () => {
      const prepared = (await prepareReferences(['glibc'], { outDir })).get('glibc')!;
      if (!prepared.ok) throw new Error(prepared.reason);
      const r = await runReference(larsonTask('glibc'), prepared, 60_000);
      if (!('ok' in r) || !r.ok) throw new Error(JSON.stringify(r));
      const m = r.measurements[0]!;
      const model = larsonModel(larsonConfig);
      expect(m.corrupt).toBe(0);
      expect(m.ops).toBe(model.ops);
      expect(m.extra.crossFrees).toBe(model.crossFrees);
      expect(m.checksum).toBe(model.checksum);
    },
  );

  it.skipIf(!tools.cc || !tools.mimalloc)(
    `the mimalloc column runs on mimalloc (LD_PRELOAD took effect)${tools.cc && tools.mimalloc ? '' : ' — skipped: no C compiler or no libmimalloc here'}`,
    async () => {
      const prepared = (await prepareReferences(['mimalloc'], { outDir })).get('mimalloc')!;
      if (!prepared.ok) throw new Error(prepared.reason);
      const r = await runReference(churnTask('mimalloc'), prepared, 60_000);
      expect(r).toMatchObject({ ok: true });
    },
  );

  it.skipIf(!tools.emcc)(
    `churn.c built by Emscripten (emmalloc), run under Node: the model's checksum${tools.emcc ? '' : ' — skipped: emcc not found'}`,
    async () => {
      const prepared = (await prepareReferences(['em-emmalloc'], { outDir })).get('em-emmalloc')!;
      if (!prepared.ok) throw new Error(prepared.reason);
      const r = await runReference(churnTask('em-emmalloc'), prepared, 120_000);
      if (!('ok' in r) || !r.ok) throw new Error(JSON.stringify(r));
      expect(r.measurements[0]!.checksum).toBe(churnRun(new RefAllocator(), churnConfig).table.checksum);
    },
  );

  it('ports churn of 8 B – 1 KiB and larson, nothing else', () => {
    expect(portedProgram('churn', churnConfig)).toBe('churn');
    expect(portedProgram('churn', { ...churnConfig, minSize: 1025, maxSize: 32768 })).toBeUndefined();
    expect(portedProgram('larson', larsonConfig)).toBe('larson');
    expect(portedProgram('sizes', {})).toBeUndefined();
  });
});

describe('table without the tools', () => {
  it('marks each C column "skipped: … not found" with how to get the tool, and unported rows "not ported"', async () => {
    const env = { PATH: join(outDir, 'nothing-here'), HAKMEM_BENCH_MIMALLOC: join(outDir, 'no-lib.so') };
    const references = await prepareReferences(REFERENCE_NAMES, { env, outDir });
    const allocs = ['hakmem', ...REFERENCE_NAMES] as const;
    const planned = plan(
      { suite: 'quick', workloads: ['churn', 'sizes'], allocs, threads: [1] },
      'hakmem is not built',
      references,
    );
    expect(planned.every((p) => p.cells)).toBe(true); // nothing can run
    const cells: Cell[] = planned.flatMap((p) => p.cells!);
    const report: RunReport = {
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
    const t = buildTable(report, allocs);
    const row = (name: string) => t.body.find((r) => r[0] === name)!;
    const note = (text: string) => t.notes.find((n) => n.includes(text))!;
    const [, , , glibc, mimalloc, dl, em] = row('churn window 1,000');
    expect(glibc).toMatch(/^skipped: cc not found \[\d+\]$/);
    expect(mimalloc).toBe(glibc);
    expect(dl).toMatch(/^skipped: emcc not found \[\d+\]$/);
    expect(em).toBe(dl);
    expect(note('no C compiler')).toContain('apt-get install gcc');
    expect(note('emcc not found')).toContain('apt-get install emscripten node-acorn');
    // Rows without a C port, and the churn rows of larger blocks.
    for (const name of ['sizes 16 B', 'churn 1–32 KiB, window 1,000']) {
      expect(
        row(name)
          .slice(3, 7)
          .every((c) => /^not ported \[\d+\]$/.test(c)),
      ).toBe(true);
    }
    expect(note('not ported')).toContain(NOT_PORTED);
  });

  it.skipIf(!tools.cc)(
    'with a C compiler but no libmimalloc, only the mimalloc column is skipped',
    async () => {
      const env = { ...process.env, HAKMEM_BENCH_MIMALLOC: join(outDir, 'no-lib.so') };
      const references = await prepareReferences(['glibc', 'mimalloc'], { env, outDir });
      expect(references.get('glibc')!.ok).toBe(true);
      expect(references.get('mimalloc')).toMatchObject({
        ok: false,
        short: 'skipped: libmimalloc not found',
      });
    },
  );
});

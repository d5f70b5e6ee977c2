// Bundles bench/pairs.ts (release flavour: __DEV__ false), runs it once per tier in its own
// process, ROUNDS times interleaved (the machine is shared: each figure is the best round's
// median), and prints ns per malloc+free pair with the page-run tier's time ÷ the L2.5 tier's.
// Usage: node bench/run.mjs [rounds] [--cpu-prof]
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'l25-bench-'));
await build({
  entry: { pairs: join(here, 'pairs.ts') },
  outDir,
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  define: { __DEV__: 'false' },
  minifySyntax: true,
  noExternal: [/.*/],
  silent: true,
  dts: false,
  outExtension: () => ({ js: '.mjs' }),
  sourcemap: false,
});
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const rounds = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 3);
const tiers = ['l25-strict', 'l25-fast', 'run'];
const results = {};
for (let round = 0; round < rounds; round++) {
  for (const tier of tiers) {
    const r = spawnSync(process.execPath, [...flags, join(outDir, 'pairs.mjs'), tier], { encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(r.stderr);
      process.exit(r.status ?? 1);
    }
    const got = JSON.parse(r.stdout.trim().split('\n').at(-1));
    results[tier] ??= got;
    for (const [k, v] of Object.entries(got)) results[tier][k] = Math.min(results[tier][k], v);
  }
}
const rows = Object.keys(results.run);
const cell = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);
console.log(
  '| workload | L2.5 strict | L2.5 fast | page runs (RunTier) | runs ÷ L2.5 strict | runs ÷ L2.5 fast |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const row of rows) {
  const s = results['l25-strict'][row];
  const f = results['l25-fast'][row];
  const r = results.run[row];
  console.log(
    `| ${row} | ${cell(s)} | ${cell(f)} | ${cell(r)} | ${(r / s).toFixed(1)}× | ${(r / f).toFixed(1)}× |`,
  );
}

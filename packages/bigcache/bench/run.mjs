// Bundles bench/bench.ts (release flavour: __DEV__ false) into a temporary file and runs it.
// Usage: node bench/run.mjs [--cpu-prof]
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'bigcache-bench-'));
await build({
  entry: { bench: join(here, 'bench.ts') },
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
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const rest = args.filter((a) => !a.startsWith('--'));
const r = spawnSync(process.execPath, [...flags, join(outDir, 'bench.mjs'), ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);

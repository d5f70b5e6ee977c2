// Placeholder build step until the bench app lands (issue 3): bundles src/cli.ts to build/cli.mjs.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: 'build/cli.mjs',
  packages: 'external',
});

// Builds the bench into build/: the CLI (parent), the per-task child process, the worker entry,
// and AssemblyScript's TLSF allocator compiled to WebAssembly.
import { mkdirSync } from 'node:fs';
import asc from 'assemblyscript/asc';
import { build } from 'esbuild';

mkdirSync('build', { recursive: true });

// AssemblyScript's built-in TLSF, exported as alloc/free/realloc (assembly/tlsf.ts).
const { error, stderr } = await asc.main([
  'assembly/tlsf.ts',
  '--runtime',
  'minimal',
  '-O3',
  '--noAssert',
  '--outFile',
  'build/tlsf.wasm',
]);
if (error) {
  console.error(stderr.toString());
  throw error;
}

await build({
  entryPoints: { cli: 'src/cli.ts', child: 'src/child.ts', worker: 'src/worker.ts' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outdir: 'build',
  outExtension: { '.js': '.mjs' },
  // hakmem (its release build) is bundled, so a run measures the build `pnpm bench` made even if
  // the workspace packages are rebuilt meanwhile. shared-memory-objects ships TypeScript only, so it
  // is bundled too. The other peers and the report libraries are loaded by Node.
  external: ['@thi.ng/malloc', 'malloc', 'tinybench', 'vega', 'vega-lite'],
  // shared-memory-objects reads Vite's import.meta.env.MODE; its production branch is the fast one.
  define: { 'import.meta.env.MODE': '"production"' },
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

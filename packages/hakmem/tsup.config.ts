import { defineConfig, type Options } from 'tsup';
import { libraryBuild } from '../../scripts/tsup-base';

/**
 * The self-contained browser build (`hakmem/browser`, dist/browser/hakmem.js): one ES module
 * with its @hakmem/* layers inlined, so a page and a module worker load it by URL with no
 * bundler and no import map (a page's import map does not reach its workers).
 */
const browser: Options = {
  entry: { hakmem: 'src/index.ts' },
  format: ['esm'],
  target: 'es2022',
  platform: 'browser',
  outDir: 'dist/browser',
  noExternal: [/^@hakmem\//],
  define: { __DEV__: 'false' },
  minifySyntax: true,
  sourcemap: true,
  splitting: false,
  treeshake: true,
  dts: false,
  clean: false,
};

export default defineConfig([...libraryBuild(), browser]);

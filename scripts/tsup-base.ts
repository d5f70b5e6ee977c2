import type { Options } from 'tsup';

/**
 * The one build every library package uses: a release build (`dist/`, `__DEV__` false and
 * syntax-minified so debug branches are removed) and a development build (`dist/dev/`,
 * selected by the `development` export condition) with internal assertions kept.
 */
export function libraryBuild(entry: string[] = ['src/index.ts']): Options[] {
  const common: Options = {
    entry,
    format: ['esm', 'cjs'],
    target: 'es2022',
    platform: 'neutral',
    sourcemap: true,
    splitting: false,
    treeshake: true,
    clean: false,
  };
  return [
    {
      ...common,
      outDir: 'dist',
      // Members marked @internal are not part of a package's published contract.
      dts: { compilerOptions: { stripInternal: true } },
      define: { __DEV__: 'false' },
      minifySyntax: true,
    },
    { ...common, outDir: 'dist/dev', dts: false, define: { __DEV__: 'true' } },
  ];
}

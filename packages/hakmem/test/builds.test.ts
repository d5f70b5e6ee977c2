import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The release build carries no debug code; the `development` condition selects the build that does.
const require = createRequire(import.meta.url);
const DEV_ONLY = 'which is not held'; // a development-only assertion of the page-arena mutex

function distOf(pkg: string): string {
  return dirname(require.resolve(`${pkg}/package.json`));
}

describe('builds', () => {
  for (const pkg of ['@hakmem/page-arena', '@hakmem/superslab', '@hakmem/tls-cache', 'hakmem']) {
    it(`${pkg}: the release dist has no __DEV__ branches left`, () => {
      const root = distOf(pkg);
      for (const file of ['dist/index.js', 'dist/index.cjs']) {
        expect(readFileSync(join(root, file), 'utf8')).not.toContain('__DEV__');
      }
    });
  }

  it('development assertions exist only in the development build', () => {
    const root = distOf('@hakmem/page-arena');
    expect(readFileSync(join(root, 'dist/index.js'), 'utf8')).not.toContain(DEV_ONLY);
    expect(readFileSync(join(root, 'dist/dev/index.js'), 'utf8')).toContain(DEV_ONLY);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(manifest.exports['.'].development.import.default).toBe('./dist/dev/index.js');
  });
});

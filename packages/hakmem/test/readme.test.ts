import { describe, expect, it } from 'vitest';
import { readmePath, runReadmeExamples } from '../../../scripts/readme-examples';

/**
 * Every example of every README runs as written in a fresh `"type": "module"` project (here,
 * where every layer's dist is built: hakmem depends on them all).
 */
const READMES = [
  'README.md',
  'packages/hakmem/README.md',
  'packages/page-arena/README.md',
  'packages/superslab/README.md',
  'packages/tls-cache/README.md',
  'packages/mid-registry/README.md',
  'packages/bigcache/README.md',
  'packages/l25-pool/README.md',
  'docs/guide.md',
];

describe('README and guide examples', () => {
  for (const readme of READMES) {
    it(`${readme}: every example runs and exits 0`, () => {
      const runs = runReadmeExamples(readmePath(readme));
      expect(runs.length).toBeGreaterThan(0);
      for (const r of runs) {
        expect({ line: r.example.line, status: r.status, stderr: r.stderr }).toEqual({
          line: r.example.line,
          status: 0,
          stderr: '',
        });
      }
    });
  }
});

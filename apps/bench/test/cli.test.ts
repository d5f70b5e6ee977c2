import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const APP = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(APP, 'results');
const README = fileURLToPath(new URL('../../../README.md', import.meta.url));
/** The files a run may change only when asked (--readme): committed, so `git status` sees them. */
const PUBLISHED = ['latest.json', 'latest.md', 'throughput.svg', 'latency.svg', 'memory.svg'].map((f) =>
  join(RESULTS, f),
);

describe('pnpm bench output', () => {
  it('without --readme writes only into results/runs/ (git-ignored): the committed results and the README stay as they are', () => {
    const before = new Map([...PUBLISHED, README].map((f) => [f, readFileSync(f)]));
    const dir = mkdtempSync(join(tmpdir(), 'hakmem-bench-cli-'));
    try {
      const saved = join(dir, 'saved.json');
      copyFileSync(join(RESULTS, 'latest.json'), saved);
      const started = Date.now() - 1000;
      const r = spawnSync(process.execPath, [join(APP, 'build', 'cli.mjs'), '--render', saved], {
        cwd: APP,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/wrote results\/runs\/.*git-ignored/);
      for (const [f, bytes] of before) expect(readFileSync(f).equals(bytes), `${f} changed`).toBe(true);
      // A re-rendered report keeps its date, so its files are named by it: the ones written now.
      const written = readdirSync(join(RESULTS, 'runs')).filter(
        (f) => statSync(join(RESULTS, 'runs', f)).mtimeMs >= started,
      );
      expect(written.some((f) => f.endsWith('.json'))).toBe(true);
      expect(written.some((f) => f.endsWith('.md'))).toBe(true);
      expect(written.some((f) => f.endsWith('-throughput.svg'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the git ignore rules cover results/runs/ and the build', () => {
    const ignore = readFileSync(fileURLToPath(new URL('../../../.gitignore', import.meta.url)), 'utf8');
    expect(ignore).toMatch(/^apps\/bench\/results\/runs\/$/m);
    expect(ignore).toMatch(/^apps\/bench\/build\/$/m);
  });
});

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { cases } from '../src/contract.mjs';

// Each runtime runs the same plain-JavaScript files against the built `hakmem` package, resolved
// from node_modules as a user's project would. A missing runtime fails loudly: .ci/run installs
// Deno and Bun from the npm registry (npm i -g deno bun).
const here = fileURLToPath(new URL('..', import.meta.url));

const RUNTIMES: Record<'node' | 'deno' | 'bun', (file: string) => [string, string[]]> = {
  node: (file) => ['node', [file]],
  // Deno asks for read access to load a worker's module from disk.
  deno: (file) => ['deno', ['run', '--allow-read', file]],
  bun: (file) => ['bun', [file]],
};

type Runtime = keyof typeof RUNTIMES;

interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
}

function run(runtime: Runtime, file: string): { runtime: string; [key: string]: unknown } {
  const [command, args] = RUNTIMES[runtime](file);
  const child = spawnSync(command, args, { cwd: here, encoding: 'utf8', timeout: 120_000 });
  if (child.error) {
    const missing = (child.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? `${command} is not installed: install it with \`npm i -g ${command}\` (.ci/run does)`
        : `${command} ${args.join(' ')}: ${child.error.message}`,
    );
  }
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(
      `${command} ${args.join(' ')} exited ${child.status} without a result\n` +
        `stdout:\n${child.stdout}\nstderr:\n${child.stderr}`,
    );
  }
}

for (const runtime of Object.keys(RUNTIMES) as Runtime[]) {
  describe(`${runtime}: the contract core`, () => {
    let results = new Map<string, CaseResult>();
    beforeAll(() => {
      const report = run(runtime, 'src/run-contract.mjs');
      expect(report.runtime).toMatch(new RegExp(`^${runtime} `));
      results = new Map((report.results as CaseResult[]).map((r) => [r.name, r]));
    });

    for (const { name } of cases) {
      it(name, () => {
        const result = results.get(name);
        expect(result, `${name} ran`).toBeDefined();
        if (!result!.ok) throw new Error(result!.error);
      });
    }
  });

  if (runtime === 'node') continue; // Node's workers are covered by packages/hakmem's thread tests
  describe(`${runtime}: workers`, () => {
    it('two Web Workers allocate across tiers while the memory grows, free each other’s blocks; one is terminated and reclaimed', () => {
      const report = run(runtime, 'src/two-workers.mjs');
      if (!report.ok) throw new Error(String(report.error));
      expect(report.crossFrees).toBe(1800);
      expect(report.threads).toBe(1);
    });
  });
}

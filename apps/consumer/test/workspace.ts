import { type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
/** apps/consumer/fixtures: the programs a user's project runs. */
export const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));

/** Every publishable package of the workspace, by name → folder. */
export const PUBLISHABLE: Readonly<Record<string, string>> = {
  hakmem: 'packages/hakmem',
  '@hakmem/page-arena': 'packages/page-arena',
  '@hakmem/tls-cache': 'packages/tls-cache',
  '@hakmem/superslab': 'packages/superslab',
  '@hakmem/mid-registry': 'packages/mid-registry',
  '@hakmem/l25-pool': 'packages/l25-pool',
  '@hakmem/bigcache': 'packages/bigcache',
};

const rootRequire = createRequire(join(ROOT, 'package.json'));

/** A binary of one of the workspace's root devDependencies, as `node <file>` arguments. */
export function workspaceBin(pkg: string, bin: string): string {
  const manifestPath = rootRequire.resolve(`${pkg}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: string | Record<string, string> };
  const file = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[bin];
  if (file === undefined) throw new Error(`${pkg} has no binary ${bin}`);
  return join(manifestPath, '..', file);
}

export interface Run {
  command: string;
  status: number | null;
  stdout: string;
  stderr: string;
}

function describeRun(r: Run): string {
  return `${r.command} exited ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** Runs a command to completion; throws with its output unless it exits 0. */
export function run(command: string, args: string[], options: SpawnOptions & { cwd: string }): Run {
  const child = spawnSync(command, args, { ...options, encoding: 'utf8', timeout: 120_000 });
  const r: Run = {
    command: `${command} ${args.join(' ')} (in ${options.cwd})`,
    status: child.status,
    stdout: child.stdout ?? '',
    stderr: `${child.stderr ?? ''}${child.error ? `\n${child.error.message}` : ''}`,
  };
  if (r.status !== 0) throw new Error(describeRun(r));
  return r;
}

/**
 * As `run`, without blocking: several programs can run side by side. With `anyStatus`, a run
 * that exits non-zero resolves too (for a test that asserts on the failure).
 */
export function runAsync(
  command: string,
  args: string[],
  options: SpawnOptions & { cwd: string; anyStatus?: boolean },
): Promise<Run> {
  return new Promise((done, fail) => {
    const { anyStatus: _, ...spawnOptions } = options;
    const child = spawn(command, args, {
      ...spawnOptions,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (status) => {
      const r: Run = { command: `${command} ${args.join(' ')} (in ${options.cwd})`, status, stdout, stderr };
      if (status === 0 || options.anyStatus) done(r);
      else fail(new Error(describeRun(r)));
    });
  });
}

/** The last line of a program's output, as JSON. */
export function lastJson<T = Record<string, unknown>>(r: Run): T {
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`no JSON result: ${describeRun(r)}`);
  }
}

export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  bundleDependencies?: unknown;
  bundledDependencies?: unknown;
}

export function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/**
 * Runs the code examples of a README as a user would: in a fresh `"type": "module"` project
 * outside the workspace whose node_modules links the workspace's packages (their built `dist`),
 * each example pasted into a file and run with Node.
 *
 * Every ```ts / ```js block is an example. A block whose first line is a comment naming a file
 * (`// worker.js`) is written under that name for the others to use (a worker script) and not
 * run by itself; every other block is run as its own program and must exit with code 0.
 * TypeScript is turned into JavaScript by removing its types (typescript's transpileModule),
 * as a user's build would.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The workspace packages a README may import, by name → folder. */
const PACKAGES: Record<string, string> = {
  hakmem: 'packages/hakmem',
  '@hakmem/page-arena': 'packages/page-arena',
  '@hakmem/superslab': 'packages/superslab',
  '@hakmem/tls-cache': 'packages/tls-cache',
  '@hakmem/mid-registry': 'packages/mid-registry',
  '@hakmem/l25-pool': 'packages/l25-pool',
  '@hakmem/bigcache': 'packages/bigcache',
};

export interface ReadmeExample {
  /** Line of the README where the block starts. */
  line: number;
  /** File name (`// worker.js` blocks) or `example-<line>.mjs`. */
  file: string;
  /** True for a program to run, false for a file the programs use. */
  run: boolean;
  code: string;
}

/** The ```ts / ```js blocks of a README. */
export function readmeExamples(readme: string): ReadmeExample[] {
  const lines = readFileSync(readme, 'utf8').split('\n');
  const out: ReadmeExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|js|typescript|javascript)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    const body = lines.slice(start, end);
    const named = /^\/\/\s*([\w.-]+\.m?js)\s*$/.exec(body[0] ?? '');
    const source = body.join('\n');
    const code = open[1]!.startsWith('t')
      ? ts.transpileModule(source, {
          compilerOptions: {
            module: ts.ModuleKind.ESNext,
            target: ts.ScriptTarget.ES2022,
            verbatimModuleSyntax: false,
          },
        }).outputText
      : source;
    out.push({ line: start, file: named ? named[1]! : `example-${start}.mjs`, run: !named, code });
    i = end;
  }
  return out;
}

export interface ExampleRun {
  example: ReadmeExample;
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Writes every example of `readme` into a fresh project and runs the programs, one by one. */
export function runReadmeExamples(readme: string, timeoutMs = 60_000): ExampleRun[] {
  const examples = readmeExamples(readme);
  const dir = mkdtempSync(join(tmpdir(), 'hakmem-readme-'));
  try {
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'readme-example', private: true, type: 'module' }),
    );
    for (const [name, folder] of Object.entries(PACKAGES)) {
      const link = join(dir, 'node_modules', name);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(root, folder), link, 'dir');
    }
    for (const e of examples) writeFileSync(join(dir, e.file), e.code);
    return examples
      .filter((e) => e.run)
      .map((example) => {
        const r = spawnSync(process.execPath, [example.file], {
          cwd: dir,
          encoding: 'utf8',
          timeout: timeoutMs,
        });
        return { example, status: r.status, stdout: r.stdout, stderr: r.stderr };
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The path of a README of the workspace. */
export function readmePath(relative: string): string {
  return join(root, relative);
}

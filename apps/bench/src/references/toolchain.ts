/**
 * Finds the tools the C references need and builds them into build/c/ when the bench runs. Never
 * installs anything: a missing tool is reported (the columns say 'skipped: … not found') and the
 * run goes on.
 */
import { execFile } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReferenceName } from '../adapters/types';
import { type Program, type ReferenceInfo, referenceInfo } from './index';

export interface Tools {
  /** The C compiler ($CC, else cc, else gcc on PATH). */
  cc?: string;
  /** Emscripten's compiler ($EMCC, else emcc on PATH). */
  emcc?: string;
  /** mimalloc's shared library ($HAKMEM_BENCH_MIMALLOC, else Debian's libmimalloc2.0 paths). */
  mimalloc?: string;
}

/** The first executable called `name` on the PATH of env. */
export function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  if (name.includes('/')) return executable(name) ? name : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    if (executable(file)) return file;
  }
  return undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Where Debian's libmimalloc2.0 (and a local build) put the library. */
function mimallocCandidates(): string[] {
  const out: string[] = [];
  for (const root of ['/usr/lib', '/usr/local/lib', '/usr/lib64']) {
    if (!existsSync(root)) continue;
    const dirs = [root];
    try {
      for (const d of readdirSync(root)) if (d.endsWith('-linux-gnu')) dirs.push(join(root, d));
    } catch {
      // unreadable: only the root itself
    }
    for (const dir of dirs)
      for (const name of ['libmimalloc.so.2', 'libmimalloc.so']) out.push(join(dir, name));
  }
  return out;
}

export function findTools(env: NodeJS.ProcessEnv = process.env): Tools {
  const tools: Tools = {};
  const cc = env.CC ? onPath(env.CC, env) : (onPath('cc', env) ?? onPath('gcc', env));
  if (cc) tools.cc = cc;
  const emcc = onPath(env.EMCC ?? 'emcc', env);
  if (emcc) tools.emcc = emcc;
  const mimalloc = env.HAKMEM_BENCH_MIMALLOC
    ? existsSync(env.HAKMEM_BENCH_MIMALLOC)
      ? env.HAKMEM_BENCH_MIMALLOC
      : undefined
    : mimallocCandidates().find((f) => existsSync(f));
  if (mimalloc) tools.mimalloc = mimalloc;
  return tools;
}

/** One program of a reference, ready to run. */
export interface Command {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export type Prepared =
  | { ok: true; info: ReferenceInfo; command(program: Program, args: string[]): Command }
  | {
      ok: false;
      info: ReferenceInfo /** What the cell says. */;
      short: string /** The note under the table. */;
      reason: string;
    };

/** apps/bench/c: beside build/ (the bundle) or two levels up from src/references (vitest). */
export function sourceDir(): string {
  for (const rel of ['../c/', '../../c/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'churn.c'))) return dir;
  }
  throw new Error('the C sources (apps/bench/c) are missing');
}

/** apps/bench/build/c. */
export function defaultOutDir(): string {
  const bundled = fileURLToPath(new URL('./', import.meta.url));
  return existsSync(join(bundled, 'cli.mjs'))
    ? join(bundled, 'c')
    : fileURLToPath(new URL('../../build/c/', import.meta.url));
}

function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 }, (error, _stdout, stderr) => {
      if (!error) resolve(undefined);
      else {
        const tail = `${stderr}`.trim().split('\n').slice(-4).join(' | ');
        resolve(tail || error.message);
      }
    });
  });
}

/**
 * Compiles `source` to `out` with `file args` unless `out` is newer than every source and was made
 * by the same command (a stamp beside it); returns the compiler's complaint when it fails.
 */
async function compile(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  sources: string[],
  out: string,
  log: (line: string) => void,
): Promise<string | undefined> {
  const stamp = `${out}.cmd`;
  const line = JSON.stringify([file, ...args]);
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === line) {
    const built = statSync(out).mtimeMs;
    if (sources.every((s) => statSync(s).mtimeMs <= built)) return undefined;
  }
  log(
    `compiling ${sources[0]!.split('/').pop()} with ${[file, ...args.filter((a) => a.startsWith('-sMALLOC'))].join(' ')}`,
  );
  const problem = await run(file, args, env, 10 * 60_000);
  if (problem === undefined) writeFileSync(stamp, line);
  return problem;
}

/** NODE_PATH with Debian's node modules (acorn, which Debian's emcc needs). */
function emEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const paths = (env.NODE_PATH ?? '').split(delimiter).filter(Boolean);
  if (!paths.includes('/usr/share/nodejs')) paths.push('/usr/share/nodejs');
  return { ...env, NODE_PATH: paths.join(delimiter) };
}

const PROGRAMS: Program[] = ['churn', 'larson'];

export interface PrepareOptions {
  env?: NodeJS.ProcessEnv;
  outDir?: string;
  /** Progress lines (what is being compiled). */
  log?: (line: string) => void;
}

/**
 * Builds what the named references need (each toolchain once) and says, for each, how to run
 * its programs or why it cannot.
 */
export async function prepareReferences(
  names: readonly ReferenceName[],
  options: PrepareOptions = {},
): Promise<Map<ReferenceName, Prepared>> {
  const env = options.env ?? process.env;
  const tools = findTools(env);
  const src = sourceDir();
  const out = options.outDir ?? defaultOutDir();
  const log = options.log ?? (() => {});
  const result = new Map<ReferenceName, Prepared>();
  const sources = (p: Program) => [join(src, `${p}.c`), join(src, 'common.h')];
  let nativeBuild: Promise<string | undefined> | undefined;
  const emBuilds = new Map<string, Promise<string | undefined>>();

  for (const name of names) {
    const info = referenceInfo(name);
    const skip = (short: string, reason: string): void => {
      result.set(name, { ok: false, info, short, reason });
    };
    if (info.toolchain === 'cc') {
      if (!tools.cc) {
        skip(
          'skipped: cc not found',
          'skipped: no C compiler (cc or gcc on PATH, or $CC): the glibc and mimalloc columns need one (Debian: apt-get install gcc)',
        );
        continue;
      }
      if (info.preloadMimalloc && process.platform !== 'linux') {
        skip('skipped: needs Linux', 'skipped: mimalloc is preloaded with LD_PRELOAD, which needs Linux');
        continue;
      }
      if (info.preloadMimalloc && !tools.mimalloc) {
        skip(
          'skipped: libmimalloc not found',
          'skipped: libmimalloc.so.2 not found (Debian: apt-get install libmimalloc2.0, or set HAKMEM_BENCH_MIMALLOC to the library)',
        );
        continue;
      }
      const cc = tools.cc;
      nativeBuild ??= (async () => {
        mkdirSync(out, { recursive: true });
        for (const p of PROGRAMS) {
          const args = ['-O2', '-pthread', '-o', join(out, p), join(src, `${p}.c`), '-ldl'];
          const problem = await compile(cc, args, env, sources(p), join(out, p), log);
          if (problem) return `${cc} ${p}.c: ${problem}`;
        }
        return undefined;
      })();
      const problem = await nativeBuild;
      if (problem) {
        skip('skipped: cc failed', `skipped: the C references did not compile: ${problem}`);
        continue;
      }
      const preload = info.preloadMimalloc ? tools.mimalloc : undefined;
      result.set(name, {
        ok: true,
        info,
        command: (program, args) => ({
          file: join(out, program),
          args,
          env: preload ? { ...env, LD_PRELOAD: preload } : env,
        }),
      });
      continue;
    }

    if (!tools.emcc) {
      skip(
        'skipped: emcc not found',
        'skipped: emcc not found (Emscripten; Debian: apt-get install emscripten node-acorn): the em-dlmalloc and em-emmalloc columns need it',
      );
      continue;
    }
    const emcc = tools.emcc;
    const malloc = info.emMalloc!;
    let build = emBuilds.get(malloc);
    if (!build) {
      build = (async () => {
        mkdirSync(out, { recursive: true });
        // Emscripten's output is CommonJS; the bench's package.json says "type": "module".
        writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
        for (const p of PROGRAMS) {
          const target = join(out, `${p}-${malloc}.js`);
          const flags =
            p === 'churn'
              ? ['-sALLOW_MEMORY_GROWTH=1']
              : [
                  '-pthread',
                  // One pre-started worker per thread (larson's first argument), at least 2:
                  // a pthread created past the pool would wait for the event loop, which the
                  // main thread, blocked in a barrier, never returns to.
                  '-sPTHREAD_POOL_SIZE=Math.max(2,Number(process.argv[2])||0)',
                  `-sINITIAL_MEMORY=${256 * 2 ** 20}`,
                  // Past 256 MiB only with many threads (5,000 blocks of ≤ 1 KB each).
                  '-sALLOW_MEMORY_GROWTH=1',
                ];
          const args = [
            '-O2',
            `-sMALLOC=${malloc}`,
            '-sEXIT_RUNTIME=1',
            ...flags,
            '-o',
            target,
            join(src, `${p}.c`),
          ];
          const problem = await compile(emcc, args, emEnv(env), sources(p), target, log);
          if (problem) return `emcc ${p}.c -sMALLOC=${malloc}: ${problem}`;
        }
        return undefined;
      })();
      emBuilds.set(malloc, build);
    }
    const problem = await build;
    if (problem) {
      skip('skipped: emcc failed', `skipped: the Emscripten builds failed: ${problem}`);
      continue;
    }
    result.set(name, {
      ok: true,
      info,
      command: (program, args) => ({
        file: process.execPath,
        // Node 18–20 would load the .wasm with fetch(), which cannot read a file path.
        args: ['--no-experimental-fetch', join(out, `${program}-${malloc}.js`), ...args],
        env,
      }),
    });
  }
  return result;
}

/** First line of `tool --version`, or '' when it says nothing. */
function versionOf(file: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, ['--version'], { env, timeout: 60_000 }, (_error, stdout) => {
      resolve(`${stdout}`.trim().split('\n')[0] ?? '');
    });
  });
}

/** What built and ran the references, for the report's notes. */
export async function describeTools(
  names: readonly ReferenceName[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const tools = findTools(env);
  const kinds = new Set(names.map((n) => referenceInfo(n)));
  const parts: string[] = [];
  if ([...kinds].some((r) => r.toolchain === 'cc') && tools.cc)
    parts.push(`cc = ${tools.cc} (${await versionOf(tools.cc, env)})`);
  if ([...kinds].some((r) => r.preloadMimalloc) && tools.mimalloc) parts.push(`mimalloc = ${tools.mimalloc}`);
  if ([...kinds].some((r) => r.toolchain === 'emcc') && tools.emcc) {
    parts.push(`emcc = ${tools.emcc} (${await versionOf(tools.emcc, emEnv(env))})`);
  }
  return parts.join(', ');
}

import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FIXTURES,
  lastJson,
  PUBLISHABLE,
  ROOT,
  type Run,
  readManifest,
  run,
  runAsync,
  workspaceBin,
} from './workspace';

/**
 * A user's project: every publishable package packed (`pnpm pack`, as `pnpm publish` would),
 * installed from the tarballs with npm into a fresh project outside the workspace, with no
 * registry (offline, an empty cache, a registry address nothing listens on), then used as a user
 * would: ES modules, CommonJS, TypeScript (nodenext and bundler), each layer alone, a custom
 * composition, workers.
 */
const NAMES = Object.keys(PUBLISHABLE).sort();

let packs = '';
let project = '';
let install: Run;
/** The programs and type checks, started side by side once the project is installed. */
const runs = new Map<string, Promise<Run>>();

/** Children run without inherited NODE_OPTIONS (an inherited --conditions would change what loads). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

function started(name: string): Promise<Run> {
  const r = runs.get(name);
  if (r === undefined) throw new Error(`${name} was not started (the project failed to install?)`);
  return r;
}

beforeAll(() => {
  packs = mkdtempSync(join(tmpdir(), 'hakmem-packs-'));
  for (const dir of Object.values(PUBLISHABLE)) {
    run('pnpm', ['pack', '--pack-destination', packs], { cwd: join(ROOT, dir), env: childEnv() });
  }
  const tarballs = readdirSync(packs)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(packs, f));

  project = mkdtempSync(join(tmpdir(), 'hakmem-consumer-'));
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'hakmem-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
  );
  cpSync(FIXTURES, project, { recursive: true });
  // All tarballs in one command: their dependencies on each other resolve to the tarballs.
  install = run('npm', ['install', '--no-audit', '--no-fund', '--offline', ...tarballs], {
    cwd: project,
    env: childEnv({
      npm_config_cache: join(packs, 'npm-cache'),
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
    }),
  });

  const node = (name: string, args: string[]) =>
    runs.set(name, runAsync(process.execPath, args, { cwd: project, env: childEnv() }));
  node('esm', ['esm.mjs']);
  node('esm-development', ['--conditions=development', 'esm.mjs']);
  node('browser', ['browser.mjs']);
  node('cjs', ['cjs.cjs']);
  node('layers', ['layers.mjs']);
  node('compose', ['compose.mjs']);
  node('two-workers', ['two-workers.mjs']);
  const tsc = workspaceBin('typescript', 'tsc');
  node('tsc-nodenext', [tsc, '--noEmit', '--listFiles', '-p', 'tsconfig.nodenext.json']);
  node('tsc-bundler', [tsc, '--noEmit', '--listFiles', '-p', 'tsconfig.bundler.json']);
  // Node's types and no DOM lib, as many Node projects are set up (@types/node from the workspace).
  writeFileSync(
    join(project, 'tsconfig.node.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2024'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
        types: ['node'],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        skipDefaultLibCheck: true,
      },
      files: ['types/consumer.ts', 'types/consumer.cts'],
    }),
  );
  runs.set(
    'tsc-node',
    runAsync(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.node.json'], {
      cwd: project,
      env: childEnv(),
      anyStatus: true,
    }),
  );
  // A rejected run is awaited by its test; keep Node from reporting it unhandled before then.
  for (const r of runs.values()) r.catch(() => {});
}, 180_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
  if (packs) rmSync(packs, { recursive: true, force: true });
});

describe('the packed packages in a fresh project', () => {
  it("each installed README's links resolve inside its package or are web addresses (npm pages of hakmem's packages)", () => {
    for (const name of NAMES) {
      const dir = join(project, 'node_modules', name);
      const text = readFileSync(join(dir, 'README.md'), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (target!.startsWith('#')) continue;
        const npm = /^https:\/\/www\.npmjs\.com\/package\/((?:@hakmem\/)?[a-z0-9-]+)(#[a-z0-9-]+)?$/.exec(
          target!,
        );
        if (npm) {
          expect(NAMES, `${name}/README.md links the npm page of ${npm[1]}`).toContain(npm[1]);
          continue;
        }
        if (/^https?:\/\//.test(target!)) continue;
        expect(
          existsSync(join(dir, target!.split('#')[0]!)),
          `${name}/README.md links ${target}, not in its tarball`,
        ).toBe(true);
      }
    }
  });

  it('install offline from the tarballs alone: no dependency outside them, every one resolved to a tarball', () => {
    expect(install.status).toBe(0);
    const installed = readdirSync(join(project, 'node_modules'))
      .filter((name) => !name.startsWith('.'))
      .flatMap((name) =>
        name.startsWith('@')
          ? readdirSync(join(project, 'node_modules', name)).map((n) => `${name}/${n}`)
          : [name],
      )
      .sort();
    expect(installed).toEqual(NAMES);

    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string; version?: string }>;
    };
    expect(Object.keys(lock.packages).sort()).toEqual(['', ...NAMES.map((n) => `node_modules/${n}`)].sort());
    for (const name of NAMES) {
      const dir = join(project, 'node_modules', name);
      const manifest = readManifest(dir);
      const workspace = readManifest(join(ROOT, PUBLISHABLE[name]!));
      expect(manifest.version).toBe(workspace.version);
      expect(lock.packages[`node_modules/${name}`]!.resolved).toMatch(/^file:.*\.tgz$/);
      // Dependencies only on each other; workspace: ranges were replaced by real ones.
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
        expect(NAMES, `${name} depends on ${dep}`).toContain(dep);
        expect(range).toBe(`^${readManifest(join(ROOT, PUBLISHABLE[dep]!)).version}`);
      }
      expect(manifest.peerDependencies ?? {}).toEqual({});
      expect(manifest.optionalDependencies ?? {}).toEqual({});
      expect(manifest.bundleDependencies ?? manifest.bundledDependencies).toBeUndefined();
      expect(existsSync(join(dir, 'node_modules')), `${name} has nested node_modules`).toBe(false);
      for (const file of [
        'LICENSE',
        'README.md',
        'dist/index.js',
        'dist/index.cjs',
        'dist/index.d.ts',
        'dist/index.d.cts',
      ]) {
        expect(existsSync(join(dir, file)), `${name}/${file}`).toBe(true);
      }
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toMatch(
        /^MIT License\n\nCopyright \(c\) 2026 the hakmem authors\n/,
      );
    }
  });

  it('ES modules: createHeap, malloc/free, mallocAs, a worker that attaches and frees a block of the main thread, check()', async () => {
    const r = lastJson(await started('esm'));
    expect(r).toEqual({
      resolved: `file://${project}/node_modules/hakmem/dist/index.js`,
      reply: { text: 'hello from main', threadId: 2 },
      again: 'ERR_DOUBLE_FREE',
      sameErrorClass: true,
      sum: 12,
      usable100: 112,
      liveBlocks: 0,
      threads: 1,
      tiers: ['tiny', 'mid', 'l25', 'big'],
      mainThread: 1,
    });
  });

  it('the development condition selects the build with internal assertions; the same program passes', async () => {
    const r = lastJson(await started('esm-development'));
    expect(r.resolved).toBe(`file://${project}/node_modules/hakmem/dist/dev/index.js`);
    expect(r).toMatchObject({ again: 'ERR_DOUBLE_FREE', liveBlocks: 0, threads: 1 });
  });

  it('hakmem/browser, the self-contained build, loads and allocates', async () => {
    expect(lastJson(await started('browser'))).toEqual({
      resolved: `file://${project}/node_modules/hakmem/dist/browser/hakmem.js`,
      liveBlocks: 0,
    });
  });

  it("CommonJS: require('hakmem') — every tier of the default composition, errors, one HakmemError class", async () => {
    const r = lastJson(await started('cjs'));
    expect(r).toEqual({
      resolved: `${project}/node_modules/hakmem/dist/index.cjs`,
      version: readManifest(join(ROOT, 'packages/hakmem')).version,
      defaultTiers: [
        ['tiny', 1024],
        ['mid', 32768],
        ['l25', 1048576],
        ['big', null],
      ],
      sameErrorClass: true,
      kinds: ['big', 'l25', 'mid', 'tiny'],
      usable: [8, 112, 2048, 40960, 2097152],
      invalid: 'ERR_INVALID_ALIGNMENT',
      liveBlocks: 0,
    });
  });

  for (const mode of ['nodenext', 'bundler'] as const) {
    it(`TypeScript (moduleResolution ${mode}, strict, the packages' declarations checked): the API types, and what they refuse`, async () => {
      const files = (await started(`tsc-${mode}`)).stdout;
      // The declarations the packages publish were the ones checked (ESM, and CommonJS for .cts).
      expect(files).toContain('/node_modules/hakmem/dist/index.d.ts');
      expect(files).toContain('/node_modules/@hakmem/page-arena/dist/index.d.ts');
      if (mode === 'nodenext') expect(files).toContain('/node_modules/hakmem/dist/index.d.cts');
    });
  }

  it("TypeScript for Node without the DOM lib (types: ['node']): only the known gap — page-arena's declarations name the WebAssembly namespace, which only the DOM lib declares", async () => {
    const r = await started('tsc-node');
    const errors = r.stdout.split('\n').filter((line) => line.includes('error TS'));
    // Known, reported: HeapMemory names WebAssembly.Memory. When the declarations no longer need
    // the DOM lib, this list is empty: then expect r.status to be 0 here.
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toMatch(
        /node_modules\/@hakmem\/page-arena\/dist\/index\.d\.c?ts.*Cannot find namespace 'WebAssembly'/,
      );
    }
  });

  it('each layer on its own: RunTier (page-arena), TinyTier (superslab), MidTier (mid-registry), L25Tier (l25-pool), BigTier (bigcache), TlsCache (tls-cache)', async () => {
    const r = lastJson(await started('layers'));
    const tier = (kind: string, usable: number) => ({
      kind,
      usable,
      filled: 7,
      again: 'ERR_DOUBLE_FREE',
      liveBlocks: 0,
    });
    expect(r).toEqual({
      run: tier('run', 125_000),
      tiny: tier('tiny', 112),
      mid: tier('mid', 5120),
      l25: tier('l25', 114_688),
      big: tier('big', 3_014_656),
      cache: { size: 112, live: 0, again: 'ERR_DOUBLE_FREE' },
    });
  });

  it('a custom composition (tiny to 256 B, page runs above), joined by a worker with the same composition', async () => {
    expect(lastJson(await started('compose'))).toEqual({
      tiers: ['tiny', 'run'],
      usable: [224, 375],
      used: ['tiny: 32', 'run: 1'],
      incompatible: 'ERR_HEAP_INCOMPATIBLE',
      reply: { freed: 2, kinds: ['tiny', 'run'] },
      liveBlocks: 0,
      threads: 1,
    });
  });

  it("the umbrella across two workers: blocks of every tier while the memory grows, each frees the other's", async () => {
    const r = lastJson(await started('two-workers'));
    expect(r.allocated).toEqual([70, 70]);
    expect(r.results).toEqual([
      expect.objectContaining({ freed: 70, bad: 0 }),
      expect.objectContaining({ freed: 70, bad: 0 }),
    ]);
    expect(r).toMatchObject({ kinds: ['big', 'l25', 'mid', 'tiny'], grew: true, liveBlocks: 0, threads: 1 });
  });
});

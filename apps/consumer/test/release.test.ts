import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Manifest, PUBLISHABLE, ROOT, type Run, readManifest, run, workspaceBin } from './workspace';

/**
 * A release dry run in a copy of the repository: the files git tracks, as they are in the working
 * tree; the workspace's node_modules linked (nothing is installed); the workspace links of the
 * publishable packages made inside the copy (pnpm reads a dependency's version through them); the
 * built dist copied. One changeset, a patch of @hakmem/tls-cache, replaces every pending one; then
 * `changeset version` and `pnpm publish -r --dry-run`, as `pnpm version-packages` and
 * `pnpm release` would run them.
 */
const BUMPED = '@hakmem/tls-cache';
const SUMMARY = 'A release dry run: a patch of the per-thread cache.';
const NAMES = Object.keys(PUBLISHABLE).sort();

let copy = '';
let before = new Map<string, string>();
let after = new Map<string, string>();
let manifestsBefore: Record<string, Manifest> = {};
let versionRun: Run;

/** Every file of `dir` (but node_modules and dist) by path relative to it → contents. */
function files(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files(path, base, out);
    else out.set(relative(base, path), readFileSync(path, 'latin1'));
  }
  return out;
}

/** The workspace packages of the copy (packages/* and apps/*), by name → folder. */
function workspacePackages(): Map<string, string> {
  const found = new Map<string, string>();
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(copy, group))) {
      const dir = `${group}/${name}`;
      if (existsSync(join(copy, dir, 'package.json'))) found.set(readManifest(join(copy, dir)).name, dir);
    }
  }
  return found;
}

/** Whether the caret range of `was` (what `workspace:^` becomes) holds `now`. */
function caretHolds(was: string, now: string): boolean {
  const [a, b, c] = was.split('.').map(Number) as [number, number, number];
  const [x, y, z] = now.split('.').map(Number) as [number, number, number];
  if (a > 0) return x === a;
  if (b > 0) return x === 0 && y === b;
  return x === 0 && y === 0 && z === c;
}

/**
 * What `changeset version` bumps for a patch of `name`: the package itself and, transitively,
 * every publishable package whose `workspace:^` range of a bumped package no longer holds its
 * new version (a caret of 0.0.z holds only 0.0.z; of 0.y.z, 0.y.*; of x.y.z, x.*.*).
 */
function bumpedBy(name: string, manifests: Record<string, Manifest>): Set<string> {
  const out = new Set<string>([name]);
  const queue = [name];
  while (queue.length > 0) {
    const dep = queue.pop()!;
    const was = manifests[dep]!.version;
    if (caretHolds(was, patch(was))) continue;
    for (const [pkg, m] of Object.entries(manifests)) {
      if (out.has(pkg) || m.dependencies?.[dep] === undefined) continue;
      out.add(pkg);
      queue.push(pkg);
    }
  }
  return out;
}

function patch(version: string): string {
  const [major, minor, fix] = version.split('.').map(Number) as [number, number, number];
  return `${major}.${minor}.${fix + 1}`;
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'hakmem-release-'));
  const tracked = run('git', ['ls-files', '-z'], { cwd: ROOT }).stdout.split('\0').filter(Boolean);
  for (const file of tracked) {
    const from = join(ROOT, file);
    if (!existsSync(from)) continue; // deleted in the working tree
    const to = join(copy, file);
    mkdirSync(dirname(to), { recursive: true });
    if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else copyFileSync(from, to);
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  const packages = workspacePackages();
  for (const dir of Object.values(PUBLISHABLE)) {
    const manifest = readManifest(join(copy, dir));
    for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
      if (!range.startsWith('workspace:')) continue;
      const link = join(copy, dir, 'node_modules', dep);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(relative(dirname(link), join(copy, packages.get(dep)!)), link, 'dir');
    }
    if (!existsSync(join(ROOT, dir, 'dist'))) throw new Error(`${dir} is not built: run pnpm build first`);
    cpSync(join(ROOT, dir, 'dist'), join(copy, dir, 'dist'), { recursive: true });
  }

  for (const file of readdirSync(join(copy, '.changeset'))) {
    if (file.endsWith('.md') && file !== 'README.md') rmSync(join(copy, '.changeset', file));
  }
  writeFileSync(
    join(copy, '.changeset', 'release-dry-run.md'),
    `---\n'${BUMPED}': patch\n---\n\n${SUMMARY}\n`,
  );

  manifestsBefore = Object.fromEntries(
    NAMES.map((name) => [name, readManifest(join(copy, PUBLISHABLE[name]!))]),
  );
  before = files(copy);
  versionRun = run(process.execPath, [workspaceBin('@changesets/cli', 'changeset'), 'version'], {
    cwd: copy,
  });
  after = files(copy);
}, 180_000);

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('a release dry run in a copy of the repository', () => {
  it(`changeset version bumps ${BUMPED} and only the packages whose range of it the new version leaves (patch), no other`, () => {
    expect(versionRun.status).toBe(0);
    const bumped = bumpedBy(BUMPED, manifestsBefore);
    // superslab and mid-registry use the cache, and the umbrella uses them all: at 0.0.x each
    // patch left their ^ ranges and bumped them too; from 0.1.0 a patch stays inside them.
    const dependents = ['@hakmem/mid-registry', '@hakmem/superslab', 'hakmem'];
    for (const name of dependents)
      expect(Object.keys(manifestsBefore[name]!.dependencies ?? {})).toContain(
        name === 'hakmem' ? '@hakmem/superslab' : BUMPED,
      );
    const inRange = caretHolds(manifestsBefore[BUMPED]!.version, patch(manifestsBefore[BUMPED]!.version));
    expect([...bumped].sort()).toEqual(inRange ? [BUMPED] : [...dependents, BUMPED].sort());
    for (const name of NAMES) {
      const was = manifestsBefore[name]!.version;
      const now = readManifest(join(copy, PUBLISHABLE[name]!)).version;
      expect({ name, version: now }).toEqual({ name, version: bumped.has(name) ? patch(was) : was });
    }
  });

  it('each bumped package gets a changelog entry: the summary for tls-cache, the updated dependency for the rest', () => {
    const bumped = bumpedBy(BUMPED, manifestsBefore);
    for (const name of bumped) {
      const dir = PUBLISHABLE[name]!;
      const changelog = after.get(`${dir}/CHANGELOG.md`);
      const version = patch(manifestsBefore[name]!.version);
      expect(changelog, `${dir}/CHANGELOG.md`).toBeDefined();
      expect(changelog).toContain(`# ${name}\n\n## ${version}\n\n### Patch Changes\n`);
      if (name === BUMPED) expect(changelog).toContain(`- ${SUMMARY}`);
      else
        expect(changelog).toContain(
          `- Updated dependencies\n  - ${BUMPED}@${patch(manifestsBefore[BUMPED]!.version)}`,
        );
    }
  });

  it('nothing else changes: the private apps, the other packages, the workspace ranges; the changeset is used up', () => {
    const bumped = bumpedBy(BUMPED, manifestsBefore);
    const changed = [...new Set([...before.keys(), ...after.keys()])]
      .filter((file) => before.get(file) !== after.get(file))
      .sort();
    const expected = [
      '.changeset/release-dry-run.md',
      ...[...bumped].flatMap((name) => [
        `${PUBLISHABLE[name]}/CHANGELOG.md`,
        `${PUBLISHABLE[name]}/package.json`,
      ]),
    ].sort();
    expect(changed).toEqual(expected);
    expect(after.has('.changeset/release-dry-run.md')).toBe(false);
    expect(after.has('.changeset/config.json') && after.has('.changeset/README.md')).toBe(true);
    // The private apps: not versioned, no changelog, their manifests byte for byte.
    const apps = [...before.keys()].filter((file) => /^apps\/[^/]+\/package\.json$/.test(file));
    expect(apps.length).toBeGreaterThan(0);
    for (const file of apps) expect(after.get(file), file).toBe(before.get(file));
    expect([...after.keys()].filter((file) => /^apps\/[^/]+\/CHANGELOG\.md$/.test(file))).toEqual([]);
    // A bumped manifest differs in its version only; workspace ranges stay (pnpm rewrites them when packing).
    for (const name of bumped) {
      const now = readManifest(join(copy, PUBLISHABLE[name]!));
      expect({ ...now, version: manifestsBefore[name]!.version }).toEqual(manifestsBefore[name]);
    }
  });

  it('pnpm publish -r --dry-run publishes the seven packages at their new versions, offline, LICENSE included', () => {
    const bumped = bumpedBy(BUMPED, manifestsBefore);
    const r = run('pnpm', ['publish', '-r', '--dry-run', '--no-git-checks', '--access', 'public', '--json'], {
      cwd: copy,
      env: { ...process.env, npm_config_registry: 'http://127.0.0.1:9/' },
    });
    const published = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{
      name: string;
      version: string;
      files: Array<{ path: string }>;
    }>;
    expect(published.map((p) => p.name).sort()).toEqual(NAMES);
    for (const p of published) {
      const was = manifestsBefore[p.name]!.version;
      expect({ name: p.name, version: p.version }).toEqual({
        name: p.name,
        version: bumped.has(p.name) ? patch(was) : was,
      });
      const paths = p.files.map((f) => f.path);
      for (const file of [
        'LICENSE',
        'README.md',
        'package.json',
        'dist/index.js',
        'dist/index.cjs',
        'dist/index.d.ts',
      ]) {
        expect(paths, `${p.name}: ${file}`).toContain(file);
      }
      expect(
        paths.filter((path) => !/^(dist\/|LICENSE$|README\.md$|package\.json$|CHANGELOG\.md$)/.test(path)),
      ).toEqual([]);
    }
  });

  it('the packed umbrella depends on the new versions (workspace:^ becomes ^x.y.z)', () => {
    const out = mkdtempSync(join(tmpdir(), 'hakmem-release-pack-'));
    try {
      run('pnpm', ['pack', '--pack-destination', out], { cwd: join(copy, PUBLISHABLE.hakmem!) });
      const tarball = readdirSync(out).find((f) => f.endsWith('.tgz'))!;
      const manifest = JSON.parse(
        run('tar', ['-xzOf', join(out, tarball), 'package/package.json'], { cwd: out }).stdout,
      ) as Manifest;
      const bumped = bumpedBy(BUMPED, manifestsBefore);
      const was = manifestsBefore.hakmem!.version;
      expect(manifest.version).toBe(bumped.has('hakmem') ? patch(was) : was);
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
        const from = manifestsBefore[dep]!.version;
        expect({ dep, range }).toEqual({ dep, range: `^${bumped.has(dep) ? patch(from) : from}` });
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

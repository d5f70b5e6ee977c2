#!/usr/bin/env node
// Same-process A/B of hakmem: A = the sources at a git ref (default HEAD), B = the working tree.
//
// On a shared machine the same benchmark cell run in separate processes is bimodal (the load on
// the host moves over seconds), so comparing a change with the last committed results mostly
// measures that noise. This script bundles both builds of packages/hakmem/src/index.ts with
// esbuild and, per safety mode and build, runs a child process that holds the bench's floor
// allocator and that build, warms both up, then alternates many short timed segments of floor and
// build and keeps the 20th percentile of each: the build's cost as a ratio to the floor measured in
// the same seconds. A and B children alternate over rounds; the medians over rounds are compared.
//
//   node apps/bench/scripts/ab.mjs [--base <git-ref>] [--workload churn|sizes] [--window 1000]
//     [--modes strict,fast] [--segments 60] [--pairs 3000000] [--rounds 3] [--cpu 1|none]
//
// Plain ESM, no build step: it bundles from the sources (no package's dist/ is used).
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const SCRIPT = fileURLToPath(import.meta.url);
const APP = fileURLToPath(new URL('..', import.meta.url));

/** hakmem's limit in the bench's adapter (src/adapters/hakmem.ts). */
const HAKMEM_MAX_BYTES = 4 * 2 ** 30 - 2 ** 26;
/** churn's small-block rows (src/workloads/churn.ts): 8 B – 1 KiB, its seed. */
const CHURN = { minSize: 8, maxSize: 1024, seed: 0xc4a2 };
/** Pairs per call during the warm-up (churn's WARMUP_CALL). */
const WARMUP_CALL = 1000;
/** sizes' rows and seed (src/workloads/sizes.ts). */
const SIZES = [16, 256, 4096, 65536, 1048576, 8388608];
const SIZES_SEED = 0x5173;
/** The percentile of the segments' ns per pair that is reported. */
const PERCENTILE = 0.2;
/** A churn child whose floor took more than this × the fastest floor of its mode ran on a slowed CPU. */
const SLOWED = 1.3;

// ---------------------------------------------------------------------------------------------
// The harness: apps/bench's own sources (src/workloads/blocks.ts, churn.ts, sizes.ts, src/prng.ts
// and the floor), bundled once by the parent and loaded by each child from two copies of that
// bundle whose texts differ by a comment: V8 compiles each copy's functions afresh, so the two
// allocators of a child (floor and a build, or A and B) each get their own BlockTable with its own
// type feedback, and the loop's malloc/free call sites see one allocator (monomorphic).

/** A JS identifier from a label. */
const ident = (label) => label.replace(/[^A-Za-z0-9_]/g, '_');

/** A harness copy: the module at `path` (one of HARNESS_COPIES). */
const loadHarness = (path) => import(pathToFileURL(path).href);

/**
 * The adapter of src/adapters/hakmem.ts (malloc, free, bytes), a class of its own per build: one
 * class shared by two builds would see two Heap classes at its call sites.
 */
function adapterClass(kind) {
  const name = `HakmemAdapter_${ident(kind)}`;
  return new Function(`return class ${name} {
    constructor(heap) { this.name = ${JSON.stringify(kind)}; this.heap = heap; this.u8 = heap.u8; }
    malloc(size) { return this.heap.malloc(size); }
    free(ptr) { this.heap.free(ptr); }
    bytes() { this.u8 = this.heap.u8; return this.u8; }
    detach() { this.heap.detach(); }
  };`)();
}

/** n of sizes' timed calls with harness copy `h` (its batchRun); how many did not read back `first`. */
function callsOf(kind, h) {
  return new Function(
    'batchRun',
    `return function calls_${ident(kind)}(t, n, size, batch, seed, first) {
      let mismatched = 0;
      for (let c = 0; c < n; c++) {
        t.checksum = 0;
        batchRun(t, size, batch, seed);
        if (t.checksum !== first) mismatched++;
      }
      return mismatched;
    };`,
  )(h.batchRun);
}

/** The p-th percentile (nearest rank below) of numbers. */
function percentile(values, p) {
  const v = [...values].sort((x, y) => x - y);
  return v[Math.floor(p * (v.length - 1))];
}
const median = (values) => percentile(values, 0.5);

// ---------------------------------------------------------------------------------------------
// Children: one build (churn) or both (sizes) in one process

function timeReplace(t, from, to) {
  const t0 = performance.now();
  t.replace(from, to);
  return ((performance.now() - t0) * 1e6) / (to - from);
}

/** Floor and one build, churn: warm-up, then alternating timed segments. */
async function childChurn(c) {
  const [hf, hb] = await Promise.all(c.harness.map(loadHarness));
  const hakmem = await import(pathToFileURL(c.bundle).href);
  const Adapter = adapterClass(`hakmem_${c.build}_${c.mode}`);
  const floor = new hf.FloorAllocator(Math.max(64 * 2 ** 20, c.window * (CHURN.maxSize + 64) * 2));
  const build = new Adapter(hakmem.createHeap({ maxBytes: HAKMEM_MAX_BYTES, safety: c.mode }));
  // The window filled and the pairs drawn as churn does (its churnTable, same seed).
  const config = { ...CHURN, variant: '', window: c.window, pairs: c.pairs };
  const tf = hf.churnTable(floor, config);
  const tb = hb.churnTable(build, config);
  const warm = Math.floor(c.pairs / 5);
  for (let k = 0; k < warm; k += WARMUP_CALL) {
    tf.replace(k, Math.min(warm, k + WARMUP_CALL));
    tb.replace(k, Math.min(warm, k + WARMUP_CALL));
  }
  const floorNs = [];
  const buildNs = [];
  const rest = c.pairs - warm;
  for (let seg = 0; seg < c.segments; seg++) {
    const from = warm + Math.floor((rest * seg) / c.segments);
    const to = warm + Math.floor((rest * (seg + 1)) / c.segments);
    if (to <= from) continue;
    // Which one goes first alternates, so neither always runs right after the other.
    if (seg % 2 === 0) {
      floorNs.push(timeReplace(tf, from, to));
      buildNs.push(timeReplace(tb, from, to));
    } else {
      buildNs.push(timeReplace(tb, from, to));
      floorNs.push(timeReplace(tf, from, to));
    }
  }
  for (let i = 0; i < c.window; i++) {
    tf.verify(i);
    tb.verify(i);
  }
  const f = percentile(floorNs, PERCENTILE);
  const b = percentile(buildNs, PERCENTILE);
  return {
    floorNs: f,
    buildNs: b,
    ratio: b / f,
    floorChecksum: tf.checksum,
    buildChecksum: tb.checksum,
    floorCorrupt: tf.corrupt,
    buildCorrupt: tb.corrupt,
  };
}

/** Both builds, sizes: per size a fresh heap each, warm-up, then alternating timed segments. */
async function childSizes(c) {
  const harness = await Promise.all(c.harness.map(loadHarness));
  const builds = [];
  for (const [i, b] of ['A', 'B'].entries()) {
    const hakmem = await import(pathToFileURL(c.bundles[b]).href);
    const kind = `hakmem_${b}_${c.mode}`;
    const h = harness[i];
    builds.push({ b, hakmem, Adapter: adapterClass(kind), Table: h.BlockTable, calls: callsOf(kind, h) });
  }
  const { batchOf, seedOf } = harness[0];
  const rows = [];
  for (const size of SIZES) {
    const batch = batchOf(size);
    const seed = seedOf(SIZES_SEED, size);
    // Pairs per segment: --pairs / 4 over the segments for small blocks, a sixteenth of that above 4 KiB.
    const perSegment = Math.max(1, Math.round(c.pairs / 4 / c.segments / (size > 4096 ? 16 : 1) / batch));
    const runs = builds.map(({ b, hakmem, Adapter, Table, calls }) => {
      const a = new Adapter(hakmem.createHeap({ maxBytes: HAKMEM_MAX_BYTES, safety: c.mode }));
      const t = new Table(a, batch);
      calls(t, 1, size, batch, seed, 0);
      return { b, a, t, calls, first: t.checksum, ns: [], mismatched: 0 };
    });
    const warm = Math.max(1, Math.floor(c.segments / 5));
    for (let i = 0; i < warm; i++) {
      for (const r of runs) r.mismatched += r.calls(r.t, perSegment, size, batch, seed, r.first);
    }
    for (let seg = 0; seg < c.segments; seg++) {
      for (const r of seg % 2 === 0 ? runs : [...runs].reverse()) {
        const t0 = performance.now();
        r.mismatched += r.calls(r.t, perSegment, size, batch, seed, r.first);
        r.ns.push(((performance.now() - t0) * 1e6) / (perSegment * batch));
      }
    }
    for (const r of runs) r.a.detach();
    const [A, B] = runs;
    rows.push({
      size,
      aNs: percentile(A.ns, PERCENTILE),
      bNs: percentile(B.ns, PERCENTILE),
      aChecksum: A.first,
      bChecksum: B.first,
      corrupt: A.t.corrupt + B.t.corrupt + A.mismatched + B.mismatched,
    });
  }
  return { rows };
}

// ---------------------------------------------------------------------------------------------
// The parent: bundles, children, report

function git(args, cwd) {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** esbuild aliases: every @hakmem/<name> of a tree to its src/index.ts (not the workspace symlink or dist/). */
function aliases(root) {
  const out = {};
  for (const dir of readdirSync(join(root, 'packages'))) {
    const manifest = join(root, 'packages', dir, 'package.json');
    const entry = join(root, 'packages', dir, 'src', 'index.ts');
    if (!existsSync(manifest) || !existsSync(entry)) continue;
    const { name } = JSON.parse(readFileSync(manifest, 'utf8'));
    if (typeof name === 'string') out[name] = entry;
  }
  return out;
}

async function bundle(entry, outfile, alias) {
  const { build } = await import('esbuild');
  // As the packages' release build (scripts/tsup-base.ts) and the bench's bundle (scripts/build.mjs).
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    define: { __DEV__: 'false' },
    minifySyntax: true,
    alias,
    logLevel: 'warning',
  });
}

function usage(message) {
  if (message) console.error(`ab: ${message}`);
  console.error(
    'usage: node apps/bench/scripts/ab.mjs [--base <git-ref>] [--workload churn|sizes] [--window 1000]\n' +
      '         [--modes strict,fast] [--segments 60] [--pairs 3000000] [--rounds 3] [--cpu 1|none]',
  );
  process.exit(2);
}

function positive(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) usage(`--${name} must be a positive integer, not ${text}`);
  return n;
}

const fmt = (n, d = 2) => n.toFixed(d);
const hex = (n) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        base: { type: 'string', default: 'HEAD' },
        workload: { type: 'string', default: 'churn' },
        window: { type: 'string', default: '1000' },
        modes: { type: 'string', default: 'strict,fast' },
        segments: { type: 'string', default: '60' },
        pairs: { type: 'string', default: '3000000' },
        rounds: { type: 'string', default: '3' },
        cpu: { type: 'string', default: '1' },
        child: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    usage(e.message);
  }
  if (values.child) {
    const c = JSON.parse(values.child);
    const out = c.workload === 'sizes' ? await childSizes(c) : await childChurn(c);
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  if (values.help) usage();
  const workload = values.workload;
  if (workload !== 'churn' && workload !== 'sizes') usage(`--workload is churn or sizes, not ${workload}`);
  const modes = values.modes.split(',').filter(Boolean);
  for (const m of modes) if (m !== 'strict' && m !== 'fast') usage(`--modes: strict and/or fast, not ${m}`);
  if (modes.length === 0) usage('--modes: strict and/or fast');
  const window = positive('window', values.window);
  const segments = positive('segments', values.segments);
  const pairs = positive('pairs', values.pairs);
  const rounds = positive('rounds', values.rounds);
  if (pairs - Math.floor(pairs / 5) < segments) usage('--pairs: fewer timed pairs than segments');

  const repo = git(['rev-parse', '--show-toplevel'], APP);
  const commit = git(['rev-parse', '--verify', `${values.base}^{commit}`], repo);
  const subject = git(['log', '-1', '--format=%s', commit], repo);
  const changed = new Set(
    [
      git(['diff', '--name-only', commit, '--', 'packages'], repo),
      git(['ls-files', '--others', '--exclude-standard', '--', 'packages'], repo),
    ]
      .join('\n')
      .split('\n')
      .filter(Boolean),
  );
  const dirty = git(['status', '--porcelain'], repo) !== '';

  // Pinning to one CPU: fewer migrations, less noise.
  let pin = [];
  if (values.cpu !== 'none') {
    const cpu = Number(values.cpu);
    if (!Number.isInteger(cpu) || cpu < 0) usage(`--cpu is a CPU number or none, not ${values.cpu}`);
    if (spawnSync('taskset', ['-c', String(cpu), 'true']).status === 0) pin = ['taskset', '-c', String(cpu)];
  }

  const tmp = mkdtempSync(join(os.tmpdir(), 'hakmem-ab-'));
  try {
    // A: the ref's packages/ (and the tsconfig they extend), extracted; B: the working tree.
    const treeA = join(tmp, 'a');
    mkdirSync(treeA);
    const paths = ['packages'];
    if (spawnSync('git', ['cat-file', '-e', `${commit}:tsconfig.base.json`], { cwd: repo }).status === 0) {
      paths.push('tsconfig.base.json');
    }
    const tar = join(tmp, 'a.tar');
    git(['archive', '--format=tar', '-o', tar, commit, ...paths], repo);
    const x = spawnSync('tar', ['-xf', tar, '-C', treeA], { encoding: 'utf8' });
    if (x.status !== 0) throw new Error(`tar -xf: ${x.stderr}`);
    const bundles = { A: join(tmp, 'hakmem-A.mjs'), B: join(tmp, 'hakmem-B.mjs') };
    await bundle(join(treeA, 'packages/hakmem/src/index.ts'), bundles.A, aliases(treeA));
    await bundle(join(repo, 'packages/hakmem/src/index.ts'), bundles.B, aliases(repo));
    // The harness, from the bench's own sources (one entry, one bundle), in two copies (see above).
    const entry = join(tmp, 'harness-entry.mjs');
    const src = (f) => JSON.stringify(join(APP, 'src', f));
    writeFileSync(
      entry,
      `export { FloorAllocator } from ${src('adapters/floor.ts')};\n` +
        `export { seedOf } from ${src('prng.ts')};\n` +
        `export { BlockTable } from ${src('workloads/blocks.ts')};\n` +
        `export { churnTable } from ${src('workloads/churn.ts')};\n` +
        `export { batchOf, batchRun, sizeLabel } from ${src('workloads/sizes.ts')};\n`,
    );
    const bundled = join(tmp, 'harness.mjs');
    await bundle(entry, bundled, {});
    const harness = [1, 2].map((n) => {
      const path = join(tmp, `harness-${n}.mjs`);
      writeFileSync(path, `${readFileSync(bundled, 'utf8')}\n// copy ${n}\n`);
      return path;
    });
    const { sizeLabel } = await loadHarness(bundled);

    const cpus = os.cpus();
    const short = commit.slice(0, 7);
    console.log(
      `hakmem A/B in one process per child — A = ${values.base} (${short} ${subject.length > 72 ? `${subject.slice(0, 71)}…` : subject})`,
    );
    console.log(
      `B = the working tree (${dirty ? 'dirty' : 'clean'}; packages/ ${
        changed.size === 0
          ? `same as ${short}`
          : `differs from ${short} in ${changed.size} file${changed.size === 1 ? '' : 's'}: ${[...changed].slice(0, 4).join(', ')}${changed.size > 4 ? ', …' : ''}`
      })`,
    );
    console.log(
      `machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${os.platform()} ${os.release()}; node ${process.version}; children ${
        pin.length ? `pinned to CPU ${pin[2]} (${pin.join(' ')})` : 'not pinned (no taskset, or --cpu none)'
      }`,
    );

    const run = (cfg) => {
      const cmd = [...pin, process.execPath, SCRIPT, '--child', JSON.stringify(cfg)];
      const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) {
        throw new Error(`child ${cfg.build ?? ''} ${cfg.mode} exited ${r.status ?? r.signal}:\n${r.stderr}`);
      }
      const last = r.stdout.trim().split('\n').pop();
      return JSON.parse(last);
    };

    const errors = [];
    if (workload === 'churn') {
      console.log(
        `churn, window ${window.toLocaleString('en-US')}, 8 B – 1 KiB: ${pairs.toLocaleString('en-US')} pairs per child (first fifth untimed, in calls of ${WARMUP_CALL.toLocaleString('en-US')}), ${segments} timed segments each of floor and hakmem, alternated; ns/pair = 20th percentile of the segments; ratio = hakmem ÷ floor`,
      );
      console.log('');
      const results = new Map(modes.map((m) => [m, []]));
      const checksums = new Set();
      for (let round = 1; round <= rounds; round++) {
        for (const mode of modes) {
          const res = {};
          // A then B in odd rounds, B then A in even ones: neither always runs right after the other.
          for (const build of round % 2 === 1 ? ['A', 'B'] : ['B', 'A']) {
            const r = run({
              workload,
              build,
              mode,
              window,
              pairs,
              segments,
              bundle: bundles[build],
              harness,
            });
            res[build] = r;
            checksums.add(r.floorChecksum);
            checksums.add(r.buildChecksum);
            if (r.floorCorrupt || r.buildCorrupt) {
              errors.push(
                `round ${round} ${mode} ${build}: ${r.floorCorrupt} corrupt floor, ${r.buildCorrupt} corrupt hakmem reads`,
              );
            }
          }
          const ba = res.B.ratio / res.A.ratio;
          results.get(mode).push({ A: res.A, B: res.B, ba });
          console.log(
            `round ${round}  ${mode.padEnd(6)}  A ${fmt(res.A.buildNs, 1)}/${fmt(res.A.floorNs, 1)} ns = ${fmt(res.A.ratio)}   B ${fmt(res.B.buildNs, 1)}/${fmt(res.B.floorNs, 1)} ns = ${fmt(res.B.ratio)}   B/A ${fmt(ba, 3)}`,
          );
        }
      }
      console.log('');
      // A child whose floor ran much slower than the fastest floor of its mode spent its run on a
      // slowed CPU (host load; such a state lasts seconds), and its ratio moves too (the floor and
      // hakmem do not slow down alike): the medians are over the other children.
      console.log(
        `medians over ${rounds} round${rounds === 1 ? '' : 's'} (of the steady children: floor within ${Math.round((SLOWED - 1) * 100)}% of the fastest floor of the mode)`,
      );
      console.log('mode    A ratio  B ratio  B/A     per-round B/A    steady children');
      for (const [mode, rs] of results) {
        const fastest = Math.min(...rs.flatMap((r) => [r.A.floorNs, r.B.floorNs]));
        const steady = (b) => {
          const all = rs.map((r) => r[b]);
          const kept = all.filter((x) => x.floorNs <= fastest * SLOWED);
          return { ratios: (kept.length > 0 ? kept : all).map((x) => x.ratio), kept: kept.length };
        };
        const a = steady('A');
        const b = steady('B');
        const ba = median(b.ratios) / median(a.ratios);
        const bas = rs.map((r) => r.ba);
        console.log(
          `${mode.padEnd(6)}  ${fmt(median(a.ratios)).padEnd(7)}  ${fmt(median(b.ratios)).padEnd(7)}  ${fmt(ba, 3).padEnd(6)}  ${`${fmt(Math.min(...bas), 3)} … ${fmt(Math.max(...bas), 3)}`.padEnd(15)}  A ${a.kept}/${rs.length}, B ${b.kept}/${rs.length}`,
        );
      }
      const children = rounds * modes.length * 2;
      if (checksums.size !== 1) {
        errors.push(
          `checksums differ: ${[...checksums].map(hex).join(', ')} (same draws must read back the same bytes)`,
        );
      } else if (errors.length === 0) {
        console.log(
          `checksums: ok — floor, A and B in all ${children} children read back ${hex([...checksums][0])}, 0 corrupt`,
        );
      }
    } else {
      console.log(
        `sizes: malloc+free of one size in batches (8–256 blocks per call), A and B in one child per mode and round, a fresh heap per size; ${segments} timed segments each, alternated; ns/pair = 20th percentile of the segments`,
      );
      console.log('');
      const results = new Map();
      let checksumsOk = true;
      for (let round = 1; round <= rounds; round++) {
        for (const mode of modes) {
          const r = run({ workload, mode, pairs, segments, bundles, harness });
          for (const row of r.rows) {
            const key = `${mode} ${row.size}`;
            if (!results.has(key)) results.set(key, { mode, size: row.size, rs: [] });
            results.get(key).rs.push(row);
            if (row.aChecksum !== row.bChecksum || row.corrupt !== 0) {
              checksumsOk = false;
              errors.push(
                `round ${round} ${mode} ${sizeLabel(row.size)}: checksums A ${hex(row.aChecksum)} B ${hex(row.bChecksum)}, ${row.corrupt} corrupt or mismatched`,
              );
            }
          }
          console.log(
            `round ${round}  ${mode.padEnd(6)}  ${r.rows.map((row) => `${sizeLabel(row.size)} ${fmt(row.aNs, 0)}/${fmt(row.bNs, 0)}`).join('  ')} ns (A/B)`,
          );
        }
      }
      console.log('');
      console.log(`median of ${rounds} round${rounds === 1 ? '' : 's'}`);
      console.log('mode    size    A ns/pair  B ns/pair  B/A     B/A over rounds');
      for (const { mode, size, rs } of results.values()) {
        const bas = rs.map((r) => r.bNs / r.aNs);
        console.log(
          `${mode.padEnd(6)}  ${sizeLabel(size).padStart(6)}  ${fmt(median(rs.map((r) => r.aNs)), 1).padStart(9)}  ${fmt(median(rs.map((r) => r.bNs)), 1).padStart(9)}  ${fmt(median(bas), 3).padEnd(6)}  ${fmt(Math.min(...bas), 3)} … ${fmt(Math.max(...bas), 3)}`,
        );
      }
      if (checksumsOk)
        console.log('checksums: ok — A and B read back the same bytes at every size, 0 corrupt');
    }
    if (errors.length > 0) {
      for (const e of errors) console.error(`ERROR: ${e}`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();

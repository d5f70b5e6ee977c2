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
// The harness, as apps/bench does it (src/prng.ts, src/workloads/blocks.ts)

/**
 * The bench's generator (src/prng.ts: xorshift32, seedOf), bundled with the floor and loaded by
 * each child before it draws (`loadHarness`).
 */
let xorshift32;
let seedOf;

/** Loads the floor and the generator from their bundle (built by the parent from src/). */
async function loadHarness(path) {
  const harness = await import(pathToFileURL(path).href);
  xorshift32 = harness.xorshift32;
  seedOf = harness.seedOf;
  return harness;
}

/** A JS identifier from a label. */
const ident = (label) => label.replace(/[^A-Za-z0-9_]/g, '_');

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

/**
 * BlockTable of src/workloads/blocks.ts (the byte-view paths: place, verify, release, and
 * replaceFlat as `replace`), plus sizes' batchRun as `calls`. Its source is generated per
 * allocator with the kind in the class name: V8 caches compiled code by source text, so
 * identical sources would share one function and its feedback, and the loop's malloc/free call
 * sites would see every allocator (megamorphic) instead of one.
 */
function tableClass(kind) {
  const name = `BlockTable_${ident(kind)}`;
  return new Function(`return class ${name} {
    constructor(a, capacity, pairs) {
      this.a = a;
      this.capacity = capacity;
      this.pairsAt = capacity * 3;
      this.slots = new Int32Array(capacity * 3 + pairs * 3);
      this.checksum = 0;
      this.corrupt = 0;
      this.u8 = a.bytes();
    }
    refresh() {
      const u8 = this.a.bytes();
      this.u8 = u8;
      return u8;
    }
    place(i, size, r) {
      const p = this.a.malloc(size);
      let u8 = this.u8;
      if (p + size > u8.length) u8 = this.refresh();
      u8[p] = (r & 0x7f) | 0x80;
      u8[p + size - 1] = (r >>> 8) & 0x7f || 1;
      const s = this.slots;
      const w = i * 3;
      s[w] = p;
      s[w + 1] = size;
      s[w + 2] = r;
    }
    verify(i) {
      const s = this.slots;
      const w = i * 3;
      const p = s[w] >>> 0;
      const size = s[w + 1];
      const r = s[w + 2];
      let u8 = this.u8;
      if (p + size > u8.length) u8 = this.refresh();
      const first = u8[p];
      const last = u8[p + size - 1];
      if (first !== ((r & 0x7f) | 0x80) || last !== ((r >>> 8) & 0x7f || 1)) this.corrupt++;
      const h = Math.imul(this.checksum ^ (first | (last << 8)), 0x01000193);
      this.checksum = (h ^ (h >>> 15)) >>> 0;
    }
    release(i) {
      this.verify(i);
      this.a.free(this.slots[i * 3] >>> 0);
      this.slots[i * 3] = 0;
    }
    /** ${name}: churn's timed loop (BlockTable.replaceFlat). */
    replace(from, to) {
      const a = this.a;
      const s = this.slots;
      const at = this.pairsAt;
      let u8 = this.u8;
      let h = this.checksum | 0;
      let corrupt = 0;
      for (let k = at + from * 3, end = at + to * 3; k < end; k += 3) {
        const w = s[k];
        const p = s[w] >>> 0;
        const old = s[w + 1];
        const r = s[w + 2];
        const first = u8[p];
        const last = u8[p + old - 1];
        if (first !== ((r & 0x7f) | 0x80) || last !== ((r >>> 8) & 0x7f || 1)) corrupt++;
        h = Math.imul(h ^ (first | (last << 8)), 0x01000193);
        h ^= h >>> 15;
        a.free(p);
        const size = s[k + 1];
        const r2 = s[k + 2];
        const q = a.malloc(size);
        if (q + size > u8.length) u8 = this.refresh();
        u8[q] = (r2 & 0x7f) | 0x80;
        u8[q + size - 1] = (r2 >>> 8) & 0x7f || 1;
        s[w] = q;
        s[w + 1] = size;
        s[w + 2] = r2;
      }
      this.checksum = h >>> 0;
      this.corrupt += corrupt;
    }
    /** ${name}: n of sizes' timed calls (batchRun: batch mallocs, then batch frees); calls whose checksum is not \`first\`. */
    calls(n, size, batch, seed, first) {
      let mismatched = 0;
      for (let c = 0; c < n; c++) {
        this.checksum = 0;
        let s = seed;
        for (let i = 0; i < batch; i++) {
          s ^= s << 13;
          s ^= s >>> 17;
          s ^= s << 5;
          s >>>= 0;
          this.place(i, size, s);
        }
        for (let i = 0; i < batch; i++) this.release(i);
        if (this.checksum !== first) mismatched++;
      }
      return mismatched;
    }
  };`)();
}

/** The p-th percentile (nearest rank below) of numbers. */
function percentile(values, p) {
  const v = [...values].sort((x, y) => x - y);
  return v[Math.floor(p * (v.length - 1))];
}
const median = (values) => percentile(values, 0.5);

// ---------------------------------------------------------------------------------------------
// Children: one build (churn) or both (sizes) in one process

/** Fills a table's window and pre-draws its pairs exactly as churnRun does. */
function churnFill(t, window, pairs) {
  const range = CHURN.maxSize - CHURN.minSize + 1;
  let s = seedOf(CHURN.seed, window);
  for (let i = 0; i < window; i++) {
    s = xorshift32(s);
    const size = CHURN.minSize + (s % range);
    s = xorshift32(s);
    t.place(i, size, s);
  }
  const sl = t.slots;
  for (let k = 0, at = t.pairsAt; k < pairs; k++, at += 3) {
    s = xorshift32(s);
    const slot = s % window;
    s = xorshift32(s);
    const size = CHURN.minSize + (s % range);
    s = xorshift32(s);
    sl[at] = slot * 3;
    sl[at + 1] = size;
    sl[at + 2] = s;
  }
}

function timeReplace(t, from, to) {
  const t0 = performance.now();
  t.replace(from, to);
  return ((performance.now() - t0) * 1e6) / (to - from);
}

/** Floor and one build, churn: warm-up, then alternating timed segments. */
async function childChurn(c) {
  const { FloorAllocator } = await loadHarness(c.floor);
  const hakmem = await import(pathToFileURL(c.bundle).href);
  const kind = `hakmem_${c.build}_${c.mode}`;
  const Adapter = adapterClass(kind);
  const floor = new FloorAllocator(Math.max(64 * 2 ** 20, c.window * (CHURN.maxSize + 64) * 2));
  const build = new Adapter(hakmem.createHeap({ maxBytes: HAKMEM_MAX_BYTES, safety: c.mode }));
  const tf = new (tableClass('floor'))(floor, c.window, c.pairs);
  const tb = new (tableClass(kind))(build, c.window, c.pairs);
  churnFill(tf, c.window, c.pairs);
  churnFill(tb, c.window, c.pairs);
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

/** sizes' row names (sizeLabel). */
const sizeLabel = (n) => (n >= 1048576 ? `${n / 1048576} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`);

const batchOf = (size) => (size <= 4096 ? 256 : size <= 65536 ? 64 : size <= 1048576 ? 16 : 8);

/** Both builds, sizes: per size a fresh heap each, warm-up, then alternating timed segments. */
async function childSizes(c) {
  await loadHarness(c.floor);
  const builds = [];
  for (const b of ['A', 'B']) {
    const hakmem = await import(pathToFileURL(c.bundles[b]).href);
    const kind = `hakmem_${b}_${c.mode}`;
    builds.push({ b, hakmem, Adapter: adapterClass(kind), Table: tableClass(kind) });
  }
  const rows = [];
  for (const size of SIZES) {
    const batch = batchOf(size);
    const seed = seedOf(SIZES_SEED, size);
    // Pairs per segment: --pairs / 4 over the segments for small blocks, a sixteenth of that above 4 KiB.
    const perSegment = Math.max(1, Math.round(c.pairs / 4 / c.segments / (size > 4096 ? 16 : 1) / batch));
    const runs = builds.map(({ b, hakmem, Adapter, Table }) => {
      const a = new Adapter(hakmem.createHeap({ maxBytes: HAKMEM_MAX_BYTES, safety: c.mode }));
      const t = new Table(a, batch, 0);
      t.calls(1, size, batch, seed, 0);
      return { b, a, t, first: t.checksum, ns: [], mismatched: 0 };
    });
    const warm = Math.max(1, Math.floor(c.segments / 5));
    for (let i = 0; i < warm; i++) {
      for (const r of runs) r.mismatched += r.t.calls(perSegment, size, batch, seed, r.first);
    }
    for (let seg = 0; seg < c.segments; seg++) {
      for (const r of seg % 2 === 0 ? runs : [...runs].reverse()) {
        const t0 = performance.now();
        r.mismatched += r.t.calls(perSegment, size, batch, seed, r.first);
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
    const floor = join(tmp, 'floor.mjs');
    await bundle(join(treeA, 'packages/hakmem/src/index.ts'), bundles.A, aliases(treeA));
    await bundle(join(repo, 'packages/hakmem/src/index.ts'), bundles.B, aliases(repo));
    // The floor and the generator, from the bench's own sources (one entry, one bundle).
    const harness = join(tmp, 'harness.mjs');
    writeFileSync(
      harness,
      `export { FloorAllocator } from ${JSON.stringify(join(APP, 'src/adapters/floor.ts'))};\n` +
        `export { seedOf, xorshift32 } from ${JSON.stringify(join(APP, 'src/prng.ts'))};\n`,
    );
    await bundle(harness, floor, {});

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
            const r = run({ workload, build, mode, window, pairs, segments, bundle: bundles[build], floor });
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
          const r = run({ workload, mode, pairs, segments, bundles, floor });
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

// `pnpm bench`: runs every (workload, allocator) in a fresh process, checks each run's checksum
// against the model, prints the table with ratios to hakmem, writes results/ (JSON, Markdown, SVG).
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { type AdapterName, ALLOCATOR_NAMES, type AllocatorName, allocatorInfo, tooLarge } from './adapters';
import { hakmemMissing } from './adapters/hakmem';
import type { ReferenceName } from './adapters/types';
import type { ChildReply } from './child';
import { plan, referencesWanted } from './plan';
import { isReference, referenceInfo } from './references';
import { runReference } from './references/run';
import { describeTools, type Prepared, prepareReferences } from './references/toolchain';
import { latencySpec, memorySpec, renderSvg, throughputSpec } from './report/charts';
import { formatSeconds, formatValue } from './report/format';
import { type Cell, medianCells, type RunReport } from './report/results';
import { buildTable, renderMarkdown, renderText } from './report/table';
import { type Suite, type Task, WORKLOAD_NAMES, type WorkloadName, workload } from './workloads';

interface Options {
  suite: Suite;
  workloads: WorkloadName[];
  allocs: AllocatorName[];
  threads: number[];
  /** Whole suite selected: this run may replace results/latest.*. */
  complete: boolean;
  /** Re-render the table, Markdown and charts of a saved report instead of running. */
  render?: string;
  /** Also put the table and a chart between the bench markers of the root README. */
  readme: boolean;
  /** Rounds over every task; a cell is the median of its rounds. */
  repeat: number;
}

const USAGE = `usage: pnpm bench [--full] [--workload w1,w2] [--alloc a1,a2] [--threads 1,2,4]
  --full       the full-size suite (the default quick suite takes under 3 minutes on 2 cores)
  --workload   ${WORKLOAD_NAMES.join(', ')}
  --alloc      ${ALLOCATOR_NAMES.join(', ')}
               (glibc, mimalloc, em-dlmalloc, em-emmalloc: C ports of churn and larson, built now where cc/emcc exist)
  --threads    worker counts for larson (default 1,2,4)
  --repeat N   run every (workload, allocator) N times, in N rounds over the whole plan (so each
               allocator's runs are spread over the same stretch of time), and report the median
  --render F   re-render the table, Markdown and charts from a saved report (e.g. results/latest.json)
  --readme     publish this run (whole suite only): results/latest.*, the charts in results/, and the
               table and throughput chart in the root README (between its bench markers). Without it a
               run writes only to results/runs/ (git-ignored), so the working tree stays clean`;

function parseList<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T[] {
  if (!value) throw new Error(`${flag} needs a value\n${USAGE}`);
  const items = value.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!allowed.includes(item as T))
      throw new Error(`${flag}: unknown "${item}" (one of ${allowed.join(', ')})`);
  }
  return items as T[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    suite: 'quick',
    workloads: [...WORKLOAD_NAMES],
    allocs: [...ALLOCATOR_NAMES],
    threads: [1, 2, 4],
    complete: true,
    readme: false,
    repeat: 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--full':
        o.suite = 'full';
        break;
      case '--quick':
        o.suite = 'quick';
        break;
      case '--workload':
        o.workloads = parseList(value(), WORKLOAD_NAMES, '--workload');
        o.complete = false;
        break;
      case '--alloc':
        o.allocs = parseList(value(), ALLOCATOR_NAMES, '--alloc');
        o.complete = false;
        break;
      case '--threads': {
        const v = value();
        o.threads = (v ?? '').split(',').map(Number);
        if (o.threads.some((t) => !Number.isInteger(t) || t < 1 || t > 64)) {
          throw new Error(`--threads: "${v}" is not a list of worker counts 1–64`);
        }
        o.complete = false;
        break;
      }
      case '--readme':
        o.readme = true;
        break;
      case '--repeat': {
        const v = value();
        o.repeat = Number(v);
        if (!Number.isInteger(o.repeat) || o.repeat < 1 || o.repeat > 99) {
          throw new Error(`--repeat: "${v}" is not a number of rounds 1–99`);
        }
        break;
      }
      case '--render':
        o.render = value();
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg}\n${USAGE}`);
    }
  }
  return o;
}

const tty = process.stdout.isTTY === true;
function progress(line: string): void {
  if (tty) process.stdout.write(`\r\x1b[2K${line}`);
}
function println(line: string): void {
  if (tty) process.stdout.write('\r\x1b[2K');
  console.log(line);
}

/** Runs one task in a fresh process, killed at the time cap. */
function runChild(
  task: Task,
  capMs: number,
  onTick: (ms: number) => void,
): Promise<ChildReply | { timeout: true }> {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(new URL('./child.mjs', import.meta.url)), [], {
      execArgv: ['--max-old-space-size=4096'],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const t0 = performance.now();
    const tick = setInterval(() => onTick(performance.now() - t0), 100);
    let settled = false;
    const settle = (r: ChildReply | { timeout: true }) => {
      if (settled) return;
      settled = true;
      clearInterval(tick);
      clearTimeout(cap);
      resolve(r);
    };
    const cap = setTimeout(() => {
      child.kill('SIGKILL');
      settle({ timeout: true });
    }, capMs);
    child.on('message', (m: ChildReply) => settle(m));
    child.on('exit', (code, signal) => {
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      settle({
        ok: false,
        error: `process died (${signal ?? `exit code ${code}`})${tail ? `: ${tail}` : ''}`,
      });
    });
    child.send(task);
  });
}

type Expected = Map<string, { checksum: number; ops: number; extra: Record<string, number> }>;
const models = new Map<string, Promise<Expected>>();
function expectedFor(task: Task): Promise<Expected> {
  const key = `${task.workload}:${JSON.stringify(task.config)}`;
  let m = models.get(key);
  if (!m) {
    m = workload(task.workload).model(task.config);
    models.set(key, m);
  }
  return m;
}

function cellsOf(
  task: Task,
  reply: ChildReply | { timeout: true },
  expected: Expected,
  ms: number,
  capMs: number,
): Cell[] {
  const w = workload(task.workload);
  const base = {
    workload: task.workload,
    alloc: task.alloc,
    unit: w.unit,
    better: w.better,
    processMs: ms,
    ...(task.capped ? { capped: task.capped } : {}),
  };
  const rows = w.rows?.(task.config) ?? [task.variant];
  if ('timeout' in reply) {
    const reason = `${task.alloc}: over the ${capMs / 1000} s time cap`;
    return rows.map((variant): Cell => ({ ...base, variant, status: 'timeout', reason }));
  }
  if (!reply.ok) {
    const reason = `${task.alloc}: ${reply.error}`;
    return rows.map((variant): Cell => ({ ...base, variant, status: 'failed', reason }));
  }
  return reply.measurements.map((m): Cell => {
    if (m.extra.unsupported) {
      const info = allocatorInfo(task.alloc as AdapterName);
      return {
        ...base,
        variant: m.variant,
        status: 'unsupported',
        reason: tooLarge(info, Number.POSITIVE_INFINITY)!,
      };
    }
    const exp = expected.get(m.variant);
    const cell: Cell = {
      ...base,
      variant: m.variant,
      status: 'ok',
      unit: m.unit,
      value: m.value,
      better: m.better,
      ops: m.ops,
      checksum: m.checksum,
      extra: m.extra,
      ...(exp ? { expected: exp.checksum } : {}),
    };
    const problems: string[] = [];
    if (m.corrupt > 0) problems.push(`${m.corrupt} blocks read back other bytes than were written`);
    if (exp && exp.checksum !== m.checksum) {
      problems.push(`checksum ${m.checksum} ≠ model ${exp.checksum}`);
    }
    if (exp?.extra.crossFrees !== undefined && m.extra.crossFrees !== exp.extra.crossFrees) {
      problems.push(`${m.extra.crossFrees} cross-thread frees ≠ model ${exp.extra.crossFrees}`);
    }
    if (exp && exp.ops > 0 && exp.ops !== m.ops) problems.push(`${m.ops} operations ≠ model ${exp.ops}`);
    if (problems.length > 0) {
      cell.status = 'wrong';
      cell.reason = `${task.alloc}, ${task.workload} ${m.variant}: ${problems.join('; ')}`;
    }
    return cell;
  });
}

const loadAtStart = os.loadavg()[0]!;

function machine(): RunReport['machine'] {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    loadAverage: [loadAtStart, os.loadavg()[0]!],
  };
}

function hakmemVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('hakmem/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** The command that measured this run (`--readme` only publishes it; `--` separates nothing). */
function commandLine(): string {
  const args = process.argv.slice(2).filter((a) => a !== '--' && a !== '--readme');
  return args.length === 0 ? 'pnpm bench' : `pnpm bench -- ${args.join(' ')}`;
}

function markdown(report: RunReport, table: string, charts: string[]): string {
  const m = report.machine;
  return [
    `# hakmem bench — ${report.suite} suite`,
    '',
    `\`${report.command}\` on ${m.cpu} (${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${m.os} ${m.arch}), Node ${report.node}, ${report.date}, commit ${report.commit}, hakmem ${report.hakmemVersion}; ${formatSeconds(report.totalMs)} in all.`,
    '',
    table,
    '',
    ...report.notes.map((n) => `- ${n}`),
    '',
    '## Workloads',
    '',
    ...report.workloads.map((w) => `- **${w.name}**: ${w.description}`),
    '',
    '## Allocators',
    '',
    ...report.allocators.map((a) => `- **${a.name}**: ${a.label}${a.notes ? ` — ${a.notes}` : ''}`),
    '',
    ...(charts.length > 0 ? ['## Charts', '', ...charts.map((c) => `![${c}](${c})`), ''] : []),
  ].join('\n');
}

async function main(): Promise<void> {
  // `pnpm bench -- --full` hands the `--` through: it separates nothing here.
  const o = parseArgs(process.argv.slice(2).filter((a) => a !== '--'));
  if (o.render) {
    const report = JSON.parse(readFileSync(o.render, 'utf8')) as RunReport;
    const allocs = report.allocators.map((a) => a.name);
    await writeOutputs(report, allocs, o.readme);
    if (o.readme) writeReadme(report, allocs);
    return;
  }
  const started = performance.now();
  const commit = gitCommit();
  const capMs = o.suite === 'quick' ? 45_000 : 600_000;
  const missing = o.allocs.some((a) => a.startsWith('hakmem')) ? await hakmemMissing() : undefined;
  if (missing) println(`note: ${missing} — its rows show that reason`);
  const wanted = referencesWanted(o);
  const references: Map<ReferenceName, Prepared> =
    wanted.length > 0
      ? await prepareReferences(wanted, { log: (line) => println(`C references: ${line}`) })
      : new Map();
  for (const p of references.values()) {
    if (!p.ok) println(`note: ${p.info.name}: ${p.short} — ${p.reason}`);
  }
  const tools = [...references.values()].some((p) => p.ok)
    ? await describeTools([...references.values()].filter((p) => p.ok).map((p) => p.info.name))
    : '';
  const planned = plan(o, missing, references);
  const tasks = planned.filter((p) => p.task).length;
  println(
    `hakmem bench, ${o.suite} suite: ${tasks} runs, each in a fresh process (time cap ${capMs / 1000} s)`,
  );
  const rounds: Cell[][] = [];
  let n = 0;
  for (let round = 1; round <= o.repeat; round++) {
    const cells: Cell[] = [];
    rounds.push(cells);
    for (const p of planned) {
      if (p.cells) {
        cells.push(...p.cells);
        continue;
      }
      const task = p.task!;
      n++;
      const of = o.repeat > 1 ? `${n}/${tasks * o.repeat}, round ${round}` : `${n}/${tasks}`;
      const label = `[${of}] ${task.workload} ${task.variant} · ${task.alloc}${task.capped ? ' (smaller run)' : ''}`;
      progress(`${label} · model…`);
      const expected = await expectedFor(task);
      const t0 = performance.now();
      const tick = (ms: number) =>
        progress(`${label} · ${formatSeconds(ms)} · total ${formatSeconds(performance.now() - started)}`);
      const prepared = isReference(task.alloc) ? references.get(task.alloc) : undefined;
      const reply =
        prepared?.ok === true ? await runReference(task, prepared, capMs) : await runChild(task, capMs, tick);
      const ms = performance.now() - t0;
      const got = cellsOf(task, reply, expected, ms, capMs);
      cells.push(...got);
      const summary = got
        .map((c) =>
          c.status === 'ok'
            ? `${c.variant === task.variant ? '' : `${c.variant} `}${formatValue(c.value!, c.unit!)}`
            : `${c.variant}: ${c.status}`,
        )
        .join(', ');
      println(`${label}: ${summary} (${formatSeconds(ms)})`);
    }
  }
  const cells = medianCells(rounds);

  const oversubscribed = o.workloads.includes('larson') && o.threads.some((t) => t > os.cpus().length);
  const report: RunReport = {
    date: new Date().toISOString(),
    command: commandLine(),
    suite: o.suite,
    node: process.version,
    machine: machine(),
    hakmemVersion: missing ? `not built (${missing})` : hakmemVersion(),
    commit,
    allocators: o.allocs.map((a) => {
      const info = isReference(a) ? referenceInfo(a) : allocatorInfo(a);
      return { name: a, label: info.label, notes: info.notes };
    }),
    workloads: o.workloads.map((w) => ({ name: w, description: workload(w).describe(o.suite) })),
    notes: [
      'Each cell: the measurement, and in parentheses its ratio to the same measurement of the row’s reference allocator (hakmem, strict, where it has a number). ↑ higher is better, ↓ lower is better; a ratio is peer ÷ reference of the printed unit.',
      ...(o.repeat > 1
        ? [
            `Each number is the median of ${o.repeat} runs, made in ${o.repeat} rounds over the whole plan so that every allocator's runs share the same stretch of time (the runs of each cell are in the JSON's \`samples\`).`,
          ]
        : []),
      'Every (workload, allocator) ran in a fresh process; every block read back its first and last byte, and every checksum matched the model of the same configuration (cells marked WRONG did not).',
      'larson: C larson starts a new thread per generation; a Worker takes milliseconds to start, so the workers stay and their block arrays rotate after each generation, which makes frees cross threads. A barrier separates generations.',
      ...(oversubscribed
        ? [
            `larson with more workers than the ${os.cpus().length} cores of this machine is oversubscribed: those rows measure behaviour under time-slicing, not scaling.`,
          ]
        : []),
      'Single-threaded peers (thi.ng, malloc, as-tlsf, gc, floor) run the multi-threaded workloads only at 1 worker; smaller runs ([n] notes) keep the same per-operation measure on less work, because those peers’ cost grows with the number of live blocks.',
      ...(o.allocs.includes('floor')
        ? [
            'floor: the physical limit for small blocks in JavaScript (a bare segregated free list over a SharedArrayBuffer, no checks, no threads, no stats) through the same harness: its numbers are mostly the harness’s own cost (the loop and the block touches); the gap between an allocator and the floor is what the allocator costs.',
          ]
        : []),
      ...(o.allocs.some(isReference)
        ? [
            `glibc, mimalloc, em-dlmalloc, em-emmalloc: C ports of churn (8 B – 1 KiB) and larson with the same draws, touches and checksums, compiled when the bench ran and run outside the JS harness (natively, or as WebAssembly under Node): what a user could pick outside JavaScript. Their timed loop is C, so a gap to the floor is the JS harness plus what JavaScript costs.${tools ? ` Built with ${tools}.` : ''}`,
          ]
        : []),
    ],
    cells,
    totalMs: 0,
  };
  const [loadStart, loadEnd] = report.machine.loadAverage;
  if (Math.max(loadStart, loadEnd) > report.machine.cores / 2) {
    report.notes.push(
      `The machine had other work: 1-minute load average ${loadStart.toFixed(1)} at the start and ${loadEnd.toFixed(1)} at the end on ${report.machine.cores} cores, so the numbers (and the ratios, whose runs were at different moments) carry that noise.`,
    );
  }
  const measured = cells.filter((c) => c.status === 'ok' || c.status === 'wrong');
  const matched = measured.filter((c) => c.status === 'ok' && c.checksum === c.expected).length;
  report.notes.push(
    `Checksums: ${matched} of ${measured.length} measured cells equal the model's checksum for their configuration.`,
  );
  report.totalMs = performance.now() - started;

  const publish = o.readme && o.complete;
  await writeOutputs(report, o.allocs, publish);
  if (publish) writeReadme(report, o.allocs);
  else if (o.readme)
    println('--readme publishes the whole suite only: this partial run stays in results/runs/');
  println(`done in ${formatSeconds(report.totalMs)}`);
}

const README_START = '<!-- bench:start -->';
const README_END = '<!-- bench:end -->';

/** ', each number the median of N runs' for a `--repeat N` report, else ''. */
function medianOf(report: RunReport): string {
  const n = Math.max(0, ...report.cells.map((c) => c.samples?.length ?? 0));
  return n > 1 ? `, each number the median of ${n} runs` : '';
}

/** Replaces the root README's bench section (between its markers) with this run's table. */
function writeReadme(report: RunReport, allocs: readonly AllocatorName[]): void {
  const path = fileURLToPath(new URL('../../../README.md', import.meta.url));
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${README_START} … ${README_END} section`);
  const m = report.machine;
  const section = [
    README_START,
    `\`${report.command}\` runs every workload on hakmem and on the allocators a user would pick instead, each`,
    'in a fresh process, checks every run against a model, and writes `apps/bench/results/runs/` (JSON,',
    'Markdown, SVG charts; git-ignored). The table below is the run published with `--readme`',
    `(${m.cpu}, ${m.cores} cores, Node ${report.node}, ${report.date.slice(0, 10)}, commit ${report.commit})${medianOf(report)};`,
    'each cell shows the number and, in parentheses, its ratio to the same number for the row’s reference',
    '(hakmem where it has one). Workloads, allocators and notes: [apps/bench/results/latest.md](apps/bench/results/latest.md).',
    '',
    renderMarkdown(buildTable(report, allocs)),
    '',
    '![operations per second by workload](apps/bench/results/throughput.svg)',
    README_END,
  ].join('\n');
  writeFileSync(path, text.slice(0, start) + section + text.slice(end + README_END.length));
  println('wrote the bench section of README.md');
}

/**
 * Prints the table and writes the JSON, the Markdown and the charts: always into results/runs/
 * (git-ignored); with `publish` (--readme) also as results/latest.* and results/*.svg, the
 * committed copies.
 */
async function writeOutputs(
  report: RunReport,
  allocs: readonly AllocatorName[],
  publish: boolean,
): Promise<void> {
  const table = buildTable(report, allocs);
  println('');
  println(renderText(table));
  println('');

  const results = fileURLToPath(new URL('../results/', import.meta.url));
  const runs = `${results}runs/`;
  mkdirSync(runs, { recursive: true });
  const stamp = report.date.replace(/[:.]/g, '-');
  const charts: [string, ReturnType<typeof throughputSpec>][] = [
    ['throughput.svg', throughputSpec(report)],
    ['latency.svg', latencySpec(report)],
    ['memory.svg', memorySpec(report)],
  ];
  const dir = publish ? results : runs;
  const prefix = publish ? '' : `${stamp}-`;
  const written: string[] = [];
  for (const [name, spec] of charts) {
    if (!spec) continue;
    writeFileSync(`${dir}${prefix}${name}`, await renderSvg(spec));
    written.push(`${prefix}${name}`);
  }
  const md = markdown(report, renderMarkdown(table), written);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(`${runs}${stamp}.json`, json);
  writeFileSync(`${runs}${stamp}.md`, md);
  if (publish) {
    writeFileSync(`${results}latest.json`, json);
    writeFileSync(`${results}latest.md`, md);
    println(`wrote results/latest.json, latest.md, ${written.join(', ')} (copy in results/runs/${stamp}.*)`);
  } else {
    println(
      `wrote results/runs/${stamp}.json, .md and charts (git-ignored; --readme publishes a whole-suite run as results/latest.* and in the README)`,
    );
  }
}

main().catch((e: unknown) => {
  println(e instanceof Error ? e.message : String(e));
  process.exit(1);
});

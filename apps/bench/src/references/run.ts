/** Runs one C reference program for a task and turns its JSON line into the workload's measurement. */
import { spawn } from 'node:child_process';
import type { Measurement, Task } from '../workloads/types';
import { type Program, portedProgram, programArgs } from './index';
import type { Prepared } from './toolchain';

export type ReferenceReply =
  | { ok: true; measurements: Measurement[] }
  | { ok: false; error: string }
  | { timeout: true };

interface ChurnOutput {
  ns: number;
  pairs: number;
  checksum: number;
  corrupt: number;
  malloc: string;
}
interface LarsonOutput {
  opsPerSec: number;
  ops: number;
  ms: number;
  crossFrees: number;
  checksum: number;
  corrupt: number;
  malloc: string;
}

/** Runs a program to its end (or kills it at the cap); its stdout, or why it failed. */
function runProgram(
  prepared: Extract<Prepared, { ok: true }>,
  program: Program,
  args: string[],
  capMs: number,
): Promise<{ stdout: string } | { error: string } | { timeout: true }> {
  const cmd = prepared.command(program, args);
  return new Promise((resolve) => {
    const child = spawn(cmd.file, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    let timedOut = false;
    const cap = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, capMs);
    child.on('error', (e) => {
      clearTimeout(cap);
      resolve({ error: e.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(cap);
      if (timedOut) resolve({ timeout: true });
      else if (code === 0) resolve({ stdout });
      else {
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        resolve({ error: `${program} exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}` });
      }
    });
  });
}

/** The JSON line a program printed last. */
function lastJson<T>(stdout: string): T {
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as T;
}

/** Runs a task (churn or larson) on a prepared reference. */
export async function runReference(
  task: Task,
  prepared: Extract<Prepared, { ok: true }>,
  capMs: number,
): Promise<ReferenceReply> {
  const program = portedProgram(task.workload, task.config);
  if (!program) return { ok: false, error: `${task.workload} is not ported to C` };
  const r = await runProgram(prepared, program, programArgs(program, task.config), capMs);
  if ('timeout' in r) return r;
  if ('error' in r) return { ok: false, error: r.error };
  try {
    if (program === 'churn') {
      const o = lastJson<ChurnOutput>(r.stdout);
      const problem = wrongMalloc(prepared, o.malloc);
      if (problem) return { ok: false, error: problem };
      return {
        ok: true,
        measurements: [
          {
            variant: task.variant,
            unit: 'ns/pair',
            value: o.ns,
            better: 'lower',
            ops: o.pairs,
            checksum: o.checksum,
            corrupt: o.corrupt,
            extra: {},
          },
        ],
      };
    }
    const o = lastJson<LarsonOutput>(r.stdout);
    const problem = wrongMalloc(prepared, o.malloc);
    if (problem) return { ok: false, error: problem };
    return {
      ok: true,
      measurements: [
        {
          variant: task.variant,
          unit: 'ops/s',
          value: o.opsPerSec,
          better: 'higher',
          ops: o.ops,
          checksum: o.checksum,
          corrupt: o.corrupt,
          extra: {
            ms: o.ms,
            crossFrees: o.crossFrees,
            threads: (task.config as { threads: number }).threads,
          },
        },
      ],
    };
  } catch (e) {
    return {
      ok: false,
      error: `unreadable output of ${program}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

/** The mimalloc column must have run on mimalloc (a preload can silently not happen). */
function wrongMalloc(prepared: Extract<Prepared, { ok: true }>, malloc: string): string | undefined {
  if (prepared.info.preloadMimalloc && malloc !== 'mimalloc') {
    return 'LD_PRELOAD of libmimalloc did not take effect (the program ran on the C library’s malloc)';
  }
  return undefined;
}

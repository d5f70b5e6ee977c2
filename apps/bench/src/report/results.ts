import type { AllocatorName } from '../adapters/types';
import type { WorkloadName } from '../workloads/types';

/** One cell of the table: a workload variant on one allocator. */
export interface Cell {
  workload: WorkloadName;
  variant: string;
  alloc: AllocatorName;
  /**
   * ok: a number that counts; wrong: ran but a checksum or a read-back failed; not-ported: a C
   * reference without a port of this workload; skipped: could not be built or run here.
   */
  status: 'ok' | 'wrong' | 'failed' | 'timeout' | 'unsupported' | 'skipped' | 'not-ported';
  /** Why there is no (valid) number; shown under the table. */
  reason?: string;
  /** What the cell says instead of its status word (e.g. 'skipped: emcc not found'). */
  short?: string;
  unit?: string;
  value?: number;
  better?: 'higher' | 'lower';
  ops?: number;
  checksum?: number;
  expected?: number;
  /** This allocator ran a smaller configuration (and why). */
  capped?: string;
  extra?: Record<string, number>;
  /** --repeat: every round's value, in round order (`value` is their median: the lower middle for an even count). */
  samples?: number[];
  /** Wall time of the process that ran it. */
  processMs?: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryBytes: number;
  os: string;
  arch: string;
  /** 1-minute load average when the run started and when it ended (other work on the machine). */
  loadAverage: [number, number];
}

export interface RunReport {
  date: string;
  command: string;
  suite: 'quick' | 'full';
  node: string;
  machine: Machine;
  hakmemVersion: string;
  commit: string;
  allocators: { name: AllocatorName; label: string; notes: string }[];
  workloads: { name: WorkloadName; description: string }[];
  notes: string[];
  cells: Cell[];
  totalMs: number;
}

/**
 * One cell per (workload, variant, allocator) from the rounds of a `--repeat` run: when every
 * round measured it, the round with the median value (its samples listed); otherwise the first
 * round that did not (a wrong checksum or a failure in any round is what the cell shows).
 */
export function medianCells(rounds: Cell[][]): Cell[] {
  if (rounds.length === 1) return rounds[0]!;
  const key = (c: Cell) => `${c.workload}\u0000${c.variant}\u0000${c.alloc}`;
  const byKey = new Map<string, Cell[]>();
  for (const round of rounds) {
    for (const c of round) {
      const list = byKey.get(key(c));
      if (list) list.push(c);
      else byKey.set(key(c), [c]);
    }
  }
  return [...byKey.values()].map((runs) => {
    const bad = runs.find((c) => c.status !== 'ok');
    if (bad || runs.length < rounds.length) return bad ?? runs[0]!;
    const sorted = [...runs].sort((a, b) => a.value! - b.value!);
    const median = sorted[(sorted.length - 1) >> 1]!;
    return { ...median, samples: runs.map((c) => c.value!) };
  });
}

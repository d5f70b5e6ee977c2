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

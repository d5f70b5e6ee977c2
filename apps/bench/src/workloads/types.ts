import type { AllocatorInfo, AllocatorName } from '../adapters/types';

export const WORKLOAD_NAMES = [
  'larson',
  'churn',
  'sizes',
  'fragmentation',
  'realloc',
  'producer-consumer',
] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];
export type Suite = 'quick' | 'full';

/** One number a run produced, and how to read it. */
export interface Measurement {
  /** Which row of the table: e.g. `4 workers`, `window 1,000`, `256 B`. */
  variant: string;
  /** Unit of `value`, e.g. `ops/s`, `ns/pair`, `× peak live`. */
  unit: string;
  value: number;
  better: 'higher' | 'lower';
  /** Operations timed (what the checksum covers). */
  ops: number;
  checksum: number;
  /** Reads that did not return the bytes written: must be 0. */
  corrupt: number;
  /** Other numbers worth keeping (ms, bytes, cross-thread frees…). */
  extra: Record<string, number>;
}

/** A run of one workload variant on one allocator, as the CLI plans it. */
export interface Task<C = unknown> {
  workload: WorkloadName;
  variant: string;
  alloc: AllocatorName;
  config: C;
  /** Set when this allocator runs a smaller configuration than the others (and why). */
  capped?: string;
}

export interface RunContext {
  /** build/worker.mjs, for the multi-threaded workloads. */
  workerUrl: URL;
}

export interface Variant<C> {
  variant: string;
  config: C;
}

export interface Workload<C> {
  readonly name: WorkloadName;
  /** Unit of its measurements, and which way is better. */
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  /** One line for the report: what it does, at which scale. */
  describe(suite: Suite): string;
  variants(suite: Suite, threads: readonly number[]): Variant<C>[];
  /** Why this allocator cannot run this configuration, if it cannot. */
  unsupported(info: AllocatorInfo, config: C): string | undefined;
  /** A smaller configuration for a peer too slow for the full one, with the reason. */
  cap(info: AllocatorInfo, config: C): { config: C; why: string } | undefined;
  /** Memory the configuration may need (a fixed heap's size, a growable heap's limit). */
  budgetBytes(config: C): number;
  /** The table rows one configuration produces (its variant, or sizes' six sizes). */
  rows?(config: C): string[];
  /** Runs in a fresh process; returns one measurement per row (sizes returns six). */
  run(info: AllocatorInfo, config: C, ctx: RunContext): Promise<Measurement[]>;
  /** The same work on the model allocator: the checksums a correct run must produce, by variant. */
  model(config: C): Promise<Map<string, { checksum: number; ops: number; extra: Record<string, number> }>>;
}

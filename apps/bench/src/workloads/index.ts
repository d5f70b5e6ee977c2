import { churn } from './churn';
import { fragmentation } from './fragmentation';
import { larson } from './larson';
import { producerConsumer } from './producer-consumer';
import { realloc } from './realloc';
import { sizes } from './sizes';
import type { Workload, WorkloadName } from './types';

export * from './types';

export const WORKLOADS: readonly Workload<unknown>[] = [
  larson,
  churn,
  sizes,
  fragmentation,
  realloc,
  producerConsumer,
] as unknown as Workload<unknown>[];

export function workload(name: WorkloadName): Workload<unknown> {
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w) throw new Error(`unknown workload ${name}`);
  return w;
}

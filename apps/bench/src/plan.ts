/**
 * What a run will do: one task per (workload variant, allocator) that can run, and the cells of
 * those that cannot, with the reason (unsupported, not thread-safe, not ported, a missing tool).
 */
import { allocatorInfo } from './adapters';
import type { AdapterName, AllocatorName, ReferenceName } from './adapters/types';
import { isReference, NOT_PORTED, portedProgram } from './references';
import type { Prepared } from './references/toolchain';
import type { Cell } from './report/results';
import { type Suite, type Task, type WorkloadName, workload } from './workloads';
import type { LarsonConfig } from './workloads/larson';

export interface PlanOptions {
  suite: Suite;
  workloads: readonly WorkloadName[];
  allocs: readonly AllocatorName[];
  threads: readonly number[];
}

export interface Planned {
  task?: Task;
  /** Cells decided without running (unsupported, not built, not ported, skipped). */
  cells?: Cell[];
}

/**
 * @param hakmemReason why hakmem cannot run (its columns are then 'skipped'), if it cannot
 * @param references the C references as prepared (built, or why not); a selected reference
 *   missing from the map is 'skipped'
 */
export function plan(
  o: PlanOptions,
  hakmemReason: string | undefined,
  references: ReadonlyMap<ReferenceName, Prepared>,
): Planned[] {
  const out: Planned[] = [];
  for (const wname of o.workloads) {
    const w = workload(wname);
    for (const v of w.variants(o.suite, o.threads)) {
      for (const alloc of o.allocs) {
        const base = { workload: wname, variant: v.variant, alloc, unit: w.unit, better: w.better };
        const notRun = (status: Cell['status'], reason: string, short?: string): Planned => ({
          cells: (w.rows?.(v.config) ?? [v.variant]).map((variant) => ({
            ...base,
            variant,
            status,
            reason,
            ...(short ? { short } : {}),
          })),
        });
        if (isReference(alloc)) {
          const prepared = references.get(alloc);
          if (!portedProgram(wname, v.config)) out.push(notRun('not-ported', NOT_PORTED));
          else if (!prepared) out.push(notRun('skipped', 'skipped: not prepared', 'skipped'));
          else if (!prepared.ok) out.push(notRun('skipped', prepared.reason, prepared.short));
          else {
            const cap = referenceCap(alloc, wname, v.config);
            out.push({
              task: { ...base, config: cap?.config ?? v.config, ...(cap ? { capped: cap.why } : {}) },
            });
          }
          continue;
        }
        const info = allocatorInfo(alloc as AdapterName);
        const unsupported = w.unsupported(info, v.config);
        if (unsupported) out.push(notRun('unsupported', unsupported));
        else if (hakmemReason && alloc.startsWith('hakmem')) out.push(notRun('skipped', hakmemReason));
        else {
          const cap = w.cap(info, v.config);
          out.push({
            task: { ...base, config: cap?.config ?? v.config, ...(cap ? { capped: cap.why } : {}) },
          });
        }
      }
    }
  }
  return out;
}

/**
 * Emscripten's allocators take one lock per malloc and free: Larson with more threads than 2
 * would run past the quick suite's time cap on 2 cores, so it runs fewer replacements.
 */
function referenceCap(
  alloc: ReferenceName,
  wname: WorkloadName,
  config: unknown,
): { config: unknown; why: string } | undefined {
  if (wname !== 'larson' || !alloc.startsWith('em-')) return undefined;
  const c = config as LarsonConfig;
  if (c.threads <= 2 || c.rounds <= EM_ROUNDS) return undefined;
  return {
    config: { ...c, rounds: EM_ROUNDS },
    why: `${EM_ROUNDS} × 5,000 replacements per generation: every malloc and free takes Emscripten's one lock`,
  };
}
const EM_ROUNDS = 20;

/** The references a plan would run (selected, and with a ported workload selected). */
export function referencesWanted(o: PlanOptions): ReferenceName[] {
  const ported = o.workloads.some((wname) =>
    workload(wname)
      .variants(o.suite, o.threads)
      .some((v) => portedProgram(wname, v.config)),
  );
  return ported ? o.allocs.filter(isReference) : [];
}

/**
 * Reference columns in C: what a user could pick outside JavaScript. Two workloads are ported to
 * C (`c/churn.c`, `c/larson.c`: the same seeded draws, touches and checksums as the JS harness),
 * compiled when the bench runs (into `build/c/`, where the tools exist) and run:
 *
 * - natively, with the C library's malloc (`glibc`) and with mimalloc preloaded (`mimalloc`);
 * - as WebAssembly under Node, built by Emscripten with its two allocators (`em-dlmalloc`,
 *   `em-emmalloc`).
 *
 * A missing tool makes the column's cells 'skipped' with the reason; the run goes on. The bench
 * never installs anything.
 */
import type { ReferenceName } from '../adapters/types';
import type { ChurnConfig } from '../workloads/churn';
import type { LarsonConfig } from '../workloads/larson';
import type { WorkloadName } from '../workloads/types';

export interface ReferenceInfo {
  readonly name: ReferenceName;
  /** How it is built and run, as printed under the table. */
  readonly label: string;
  readonly notes: string;
  /** The toolchain that builds it. */
  readonly toolchain: 'cc' | 'emcc';
  /** Emscripten's -sMALLOC= (emcc only). */
  readonly emMalloc?: 'dlmalloc' | 'emmalloc';
  /** Runs with mimalloc preloaded (LD_PRELOAD). */
  readonly preloadMimalloc?: boolean;
}

export const REFERENCES: readonly ReferenceInfo[] = [
  {
    name: 'glibc',
    label: 'C port (c/*.c) built by the system cc -O2, native, the C library’s malloc (glibc on Debian)',
    notes: 'runs outside JavaScript: what a native program gets',
    toolchain: 'cc',
  },
  {
    name: 'mimalloc',
    label: 'the same native build with mimalloc preloaded (LD_PRELOAD of Debian’s libmimalloc2.0)',
    notes: 'runs outside JavaScript',
    toolchain: 'cc',
    preloadMimalloc: true,
  },
  {
    name: 'em-dlmalloc',
    label:
      'C port built by Emscripten (emcc -O2 -sMALLOC=dlmalloc; larson with -pthread), run as WebAssembly under Node',
    notes: 'what a C program compiled to WebAssembly gets',
    toolchain: 'emcc',
    emMalloc: 'dlmalloc',
  },
  {
    name: 'em-emmalloc',
    label:
      'C port built by Emscripten (emcc -O2 -sMALLOC=emmalloc; larson with -pthread), run as WebAssembly under Node',
    notes: 'what a C program compiled to WebAssembly gets',
    toolchain: 'emcc',
    emMalloc: 'emmalloc',
  },
];

export function referenceInfo(name: ReferenceName): ReferenceInfo {
  const r = REFERENCES.find((x) => x.name === name);
  if (!r) throw new Error(`unknown reference ${name}`);
  return r;
}

export function isReference(name: string): name is ReferenceName {
  return REFERENCES.some((r) => r.name === name);
}

/** The note of every cell a C reference does not run. */
export const NOT_PORTED =
  'not ported: the C references run churn of 8 B – 1 KiB blocks (windows 1,000 and 100,000) and larson only';

/** The C programs. */
export type Program = 'churn' | 'larson';

/** The program that runs this workload configuration, or undefined when it is not ported. */
export function portedProgram(workload: WorkloadName, config: unknown): Program | undefined {
  if (workload === 'larson') return 'larson';
  if (workload === 'churn') {
    const c = config as ChurnConfig;
    if (c.minSize === 8 && c.maxSize === 1024) return 'churn';
  }
  return undefined;
}

/** Command-line arguments of the program for a configuration (see the usage lines in c/*.c). */
export function programArgs(program: Program, config: unknown): string[] {
  if (program === 'churn') {
    const c = config as ChurnConfig;
    return [c.window, c.pairs, c.minSize, c.maxSize, c.seed].map(String);
  }
  const c = config as LarsonConfig;
  return [c.threads, c.chunks, c.rounds, c.generations, c.minSize, c.maxSize, c.seed, c.warmup].map(String);
}

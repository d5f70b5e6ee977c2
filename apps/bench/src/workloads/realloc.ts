import { RefAllocator } from '../adapters/ref';
import { type Allocator, tooLarge } from '../adapters/types';
import { fold, seedOf, tagFirst, tagLast, xorshift32 } from '../prng';
import type { Suite, Workload } from './types';

/**
 * Growing buffers: `buffers` buffers in all, `live` of them at a time (picked at random, so
 * their growth interleaves like several growing vectors), each started at 16 B and grown by
 * realloc in 1.5× steps to 1 MiB, then freed. After each step the first byte and the old last
 * byte are checked (realloc must keep them) and the new last byte is written. ns per realloc of
 * the `buffers` timed buffers, after `warmup` buffers run the same way untimed (JIT warm-up).
 */
export interface ReallocConfig {
  /** Buffers timed. */
  buffers: number;
  /**
   * Buffers run first, untimed (each about 28 reallocs from 16 B to 1 MiB), so a JavaScript
   * allocator's realloc paths are optimised code before the clock starts; 0 = none.
   */
  warmup: number;
  live: number;
  start: number;
  limit: number;
  seed: number;
}

const BUFFERS: Record<Suite, number> = { quick: 4_000, full: 10_000 };
/**
 * Untimed buffers before them, in both suites (224,000 reallocs): enough for V8 to have
 * optimised the paths a growth loop calls only once per buffer, which took hakmem ~5,000
 * buffers in a fresh process (README.md, "How a run works", has the measurements). The quick
 * suite times 4,000 buffers (112,000 reallocs), so the clock runs long enough to be read.
 */
const WARMUP_BUFFERS = 8_000;
const MiB = 2 ** 20;

export interface ReallocOutcome {
  ns: number;
  calls: number;
  checksum: number;
  corrupt: number;
}

/** The run's state between calls of reallocSteps. */
interface ReallocState {
  ptrs: Float64Array;
  /** 0 = empty slot. */
  sizes: Int32Array;
  tags: Int32Array;
  s: number;
  started: number;
  finished: number;
  calls: number;
  checksum: number;
  corrupt: number;
}

/** Buffers per call of reallocSteps during the warm-up. */
const WARMUP_CALL = 50;

/**
 * Runs the buffers until `until` of them are finished (of `total` in all), in locals, and
 * saves the state. The warm-up calls it in short stretches and the timed part once, as churn
 * does: V8 then compiles the loop as a whole function with feedback for all of it, instead of
 * replacing one long warm-up call's loop in flight (on-stack) with code compiled on the
 * feedback of its first iterations.
 */
function reallocSteps(a: Allocator, c: ReallocConfig, st: ReallocState, until: number, total: number): void {
  const { ptrs, sizes, tags } = st;
  let { s, started, finished, calls, checksum, corrupt } = st;
  while (finished < until) {
    s = xorshift32(s);
    const j = s % c.live;
    const size = sizes[j]!;
    if (size === 0) {
      if (started === total) continue;
      started++;
      s = xorshift32(s);
      const p = a.malloc(c.start);
      a.setByte(p, 0, tagFirst(s));
      a.setByte(p, c.start - 1, tagLast(s));
      ptrs[j] = p;
      sizes[j] = c.start;
      tags[j] = s;
      continue;
    }
    const r = tags[j]!;
    if (size >= c.limit) {
      const p = ptrs[j]!;
      const first = a.getByte(p, 0);
      const last = a.getByte(p, size - 1);
      if (first !== tagFirst(r) || last !== tagLast(r)) corrupt++;
      checksum = fold(checksum, first | (last << 8));
      a.free(p);
      sizes[j] = 0;
      finished++;
      continue;
    }
    const next = Math.min(c.limit, Math.ceil(size * 1.5));
    const p = a.realloc(ptrs[j]!, next);
    calls++;
    const first = a.getByte(p, 0);
    const last = a.getByte(p, size - 1);
    if (first !== tagFirst(r) || last !== tagLast(r)) corrupt++;
    checksum = fold(checksum, first | (last << 8));
    // The new last byte carries the same tag, so the next step checks it.
    a.setByte(p, next - 1, tagLast(r));
    ptrs[j] = p;
    sizes[j] = next;
  }
  Object.assign(st, { s, started, finished, calls, checksum, corrupt });
}

export function reallocRun(a: Allocator, c: ReallocConfig): ReallocOutcome {
  const st: ReallocState = {
    ptrs: new Float64Array(c.live),
    sizes: new Int32Array(c.live),
    tags: new Int32Array(c.live),
    s: seedOf(c.seed, c.buffers),
    started: 0,
    finished: 0,
    calls: 0,
    checksum: 0,
    corrupt: 0,
  };
  const total = c.warmup + c.buffers;
  // The warm-up buffers run untimed, in short calls; every step is still checked and folded
  // into the checksum.
  for (let done = 0; done < c.warmup; ) {
    done = Math.min(c.warmup, done + WARMUP_CALL);
    reallocSteps(a, c, st, done, total);
  }
  const timedCalls = st.calls;
  const t0 = performance.now();
  reallocSteps(a, c, st, total, total);
  const ns = ((performance.now() - t0) * 1e6) / (st.calls - timedCalls);
  return { ns, calls: st.calls, checksum: st.checksum, corrupt: st.corrupt };
}

export const realloc: Workload<ReallocConfig> = {
  name: 'realloc',
  unit: 'ns/realloc',
  better: 'lower',
  describe: (suite) =>
    `${BUFFERS[suite].toLocaleString('en-US')} buffers (8 live at a time) each grown by realloc in 1.5× steps from 16 B to 1 MiB, after ${WARMUP_BUFFERS.toLocaleString('en-US')} buffers run the same way untimed (JIT warm-up); ns per realloc`,
  variants: (suite) => [
    {
      variant: '16 B → 1 MiB',
      config: {
        buffers: BUFFERS[suite],
        warmup: WARMUP_BUFFERS,
        live: 8,
        start: 16,
        limit: MiB,
        seed: 0x4ea1,
      },
    },
  ],
  unsupported: (info, c) => tooLarge(info, c.limit),
  cap: () => undefined,
  // Eight live buffers of up to 1 MiB, and room for a moving copy and fragmentation.
  budgetBytes: (c) => c.live * c.limit * 4 + 16 * MiB,
  async run(info, c) {
    const a = await info.create({ budgetBytes: realloc.budgetBytes(c) });
    const o = reallocRun(a, c);
    return [
      {
        variant: '16 B → 1 MiB',
        unit: 'ns/realloc',
        value: o.ns,
        better: 'lower',
        ops: o.calls,
        checksum: o.checksum,
        corrupt: o.corrupt,
        extra: {},
      },
    ];
  },
  async model(c) {
    const o = reallocRun(new RefAllocator(), c);
    return new Map([['16 B → 1 MiB', { checksum: o.checksum, ops: o.calls, extra: {} }]]);
  },
};

import { RefAllocator } from '../adapters/ref';
import { type Allocator, tooLarge } from '../adapters/types';
import { seedOf, xorshift32 } from '../prng';
import { BlockTable } from './blocks';
import type { Suite, Workload } from './types';

/**
 * Phases of growth and release with mixed sizes: (1) allocate `first` blocks of 16 B – 4 KiB,
 * (2) free every other one, (3) allocate `second` blocks of 32 B – 8 KiB, (4) free everything.
 * Sizes are log-uniform (a random power-of-two octave, then uniform inside it), so small blocks
 * are as common per octave as large ones. Reports committed bytes ÷ peak live bytes (requested
 * sizes), with committed read after phases 1 and 3 (the two peaks), and the time of all phases.
 */
export interface FragmentationConfig {
  first: number;
  second: number;
  seed: number;
}

const SCALE: Record<Suite, { first: number; second: number }> = {
  quick: { first: 50_000, second: 25_000 },
  full: { first: 200_000, second: 100_000 },
};
/** Peers whose free walks every live block run a tenth of it. */
const SLOW = new Set(['thi.ng', 'smo']);

/** Size from one draw: octave 2^lo … 2^hi-1, uniform inside the octave. */
function logUniform(r: number, lo: number, octaves: number): number {
  const e = lo + (r % octaves);
  return (1 << e) + ((r >>> 8) & ((1 << e) - 1));
}

export interface FragmentationOutcome {
  ms: number;
  peakLive: number;
  peakCommitted: number;
  ops: number;
  table: BlockTable;
}

export function fragmentationRun(a: Allocator, c: FragmentationConfig): FragmentationOutcome {
  const n = c.first + c.second;
  const t = new BlockTable(a, n);
  let s = seedOf(c.seed, n);
  let live = 0;
  let ops = 0;
  const t0 = performance.now();
  for (let i = 0; i < c.first; i++) {
    s = xorshift32(s);
    const size = logUniform(s, 4, 8); // 16 B – 4 KiB
    s = xorshift32(s);
    t.place(i, size, s);
    live += size;
  }
  ops += c.first;
  let peakLive = live;
  let peakCommitted = a.committedBytes();
  for (let i = 1; i < c.first; i += 2) {
    live -= t.size(i);
    t.release(i);
    ops++;
  }
  for (let i = c.first; i < n; i++) {
    s = xorshift32(s);
    const size = logUniform(s, 5, 8); // 32 B – 8 KiB
    s = xorshift32(s);
    t.place(i, size, s);
    live += size;
  }
  ops += c.second;
  peakLive = Math.max(peakLive, live);
  peakCommitted = Math.max(peakCommitted, a.committedBytes());
  for (let i = 0; i < n; i++) {
    if (i < c.first && (i & 1) === 1) continue;
    t.release(i);
    ops++;
  }
  const ms = performance.now() - t0;
  return { ms, peakLive, peakCommitted, ops, table: t };
}

export const fragmentation: Workload<FragmentationConfig> = {
  name: 'fragmentation',
  unit: '× peak live',
  better: 'lower',
  describe: (suite) =>
    `${SCALE[suite].first.toLocaleString('en-US')} blocks of 16 B – 4 KiB, free every other, ${SCALE[suite].second.toLocaleString('en-US')} of 32 B – 8 KiB, free all (log-uniform sizes); committed ÷ peak live, and time`,
  variants: (suite) => [{ variant: 'phased', config: { ...SCALE[suite], seed: 0xf7a9 } }],
  // The second phase's largest block: the top of the 4 KiB – 8 KiB octave.
  unsupported: (info) => tooLarge(info, 8191),
  cap(info, c) {
    if (!SLOW.has(info.name)) return undefined;
    const config = { ...c, first: Math.round(c.first / 10), second: Math.round(c.second / 10) };
    return {
      config,
      why: `${config.first.toLocaleString('en-US')} + ${config.second.toLocaleString('en-US')} blocks: its free walks the list of live blocks`,
    };
  },
  // Peak live is under first × 2 KiB + second × 4 KiB; room for 2× overhead.
  budgetBytes: (c) => Math.max(64 * 2 ** 20, (c.first * 2048 + c.second * 4096) * 2),
  async run(info, c) {
    const a = await info.create({ budgetBytes: fragmentation.budgetBytes(c) });
    const o = fragmentationRun(a, c);
    return [
      {
        variant: 'phased',
        unit: '× peak live',
        value: o.peakCommitted / o.peakLive,
        better: 'lower',
        ops: o.ops,
        checksum: o.table.checksum,
        corrupt: o.table.corrupt,
        extra: {
          ms: o.ms,
          opsPerSec: (o.ops * 1000) / o.ms,
          peakLive: o.peakLive,
          peakCommitted: o.peakCommitted,
        },
      },
    ];
  },
  async model(c) {
    const o = fragmentationRun(new RefAllocator(), c);
    return new Map([['phased', { checksum: o.table.checksum, ops: o.ops, extra: { peakLive: o.peakLive } }]]);
  },
};

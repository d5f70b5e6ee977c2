import { Worker } from 'node:worker_threads';
import { Arena, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';
import { afterEach, describe, expect, it } from 'vitest';
import { attachHeap, createHeap, HakmemError, runTier, type TierSpec, tinyTier } from '../src/index';
// @ts-expect-error: a plain .mjs test helper without types
import { bumpTier } from './bump-tier.mjs';

const MiB = 2 ** 20;
const WORKER = new URL('./compose-worker.mjs', import.meta.url);
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return HakmemError.codeOf(e);
  }
  return 'no error';
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

const custom: TierSpec[] = [
  { tier: tinyTier, maxSize: 512 },
  { tier: bumpTier, maxSize: 4096 },
  { tier: runTier },
];

function call(w: Worker, msg: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    w.once('message', (m) => (m.ok ? resolve(m) : reject(new Error(m.error))));
    w.once('error', reject);
    w.postMessage(msg);
  });
}

describe('compositions', () => {
  it('a tier written by a user serves its size range, in this thread and in a worker', async () => {
    const heap = createHeap({ maxBytes: 64 * MiB, tiers: custom });
    const arena = Arena.attach(heap.memory);
    const tierAt = (p: number) =>
      arena.tierInfo(arena.u32[arena.pageEntry(p) + PM_TIER]! & PM_TIER_MASK).kind;
    const small = heap.malloc(512);
    const mid = heap.malloc(513);
    const big = heap.malloc(4097);
    expect([tierAt(small), tierAt(mid), tierAt(big)]).toEqual(['tiny', 'bump', 'run']);
    expect(heap.usableSize(mid)).toBe(513);
    expect(heap.snapshot().some((r) => r.tier === 'bump')).toBe(true);
    expect(heap.stats().tiers.bump).toEqual({ liveBlocks: 1, liveBytes: 513 });
    expect(codeOf(() => heap.free(mid + 16))).toBe('ERR_INVALID_POINTER');
    // memalign beyond what the bump tier aligns goes to the next tier
    const aligned = heap.memalign(4096, 2000);
    expect(aligned % 4096).toBe(0);
    expect(tierAt(aligned)).toBe('run');

    const w = new Worker(WORKER, { workerData: { memory: heap.memory } });
    workers.push(w);
    const sizes = [8, 600, 1000, 4000, 4096, 5000, 70_000];
    const { blocks } = (await call(w, { op: 'alloc', sizes })) as { blocks: { p: number; size: number }[] };
    expect(blocks.map((b) => tierAt(b.p))).toEqual(['tiny', 'bump', 'bump', 'bump', 'bump', 'run', 'run']);
    // this thread frees the worker's blocks (cross thread in every tier), the worker frees ours
    for (const b of blocks) heap.free(b.p);
    expect(codeOf(() => heap.free(blocks[1]!.p))).toBe('ERR_DOUBLE_FREE');
    const mine = [heap.malloc(700), heap.malloc(3000)].map((p) => {
      heap.u8.fill(0, p, p + 700);
      return p;
    });
    const reply = await call(w, {
      op: 'free',
      blocks: mine.map((p) => ({ p, size: 8 })),
    });
    expect(reply).toMatchObject({ damaged: 0, second: 'ERR_DOUBLE_FREE' });
    for (const p of [small, mid, big, aligned]) heap.free(p);
    heap.check();
    expect(heap.stats().liveBlocks).toBe(0);
  });

  it('attachHeap rebuilds the composition; a mismatch or a missing tier is ERR_HEAP_INCOMPATIBLE naming both sides', () => {
    const heap = createHeap({ maxBytes: 64 * MiB, tiers: custom });
    expect(messageOf(() => attachHeap(heap.memory))).toMatch(
      /ERR_HEAP_INCOMPATIBLE\] attachHeap: the heap has a 'bump' tier \(sizes 513..4096\) that is not built into hakmem/,
    );
    const other: TierSpec[] = [{ tier: tinyTier }, { tier: bumpTier, maxSize: 4096 }, { tier: runTier }];
    expect(messageOf(() => attachHeap(heap.memory, { tiers: other }))).toMatch(
      /ERR_HEAP_INCOMPATIBLE\] attachHeap: the heap was composed of \[tiny 0..512, bump 513..4096, run 4097..\d+\], but attachHeap was given \[tiny 0..1024, bump 1025..4096, run 4097..\d+\]/,
    );
    expect(heap.stats().threads).toBe(1); // the refused attaches took no slot
    const again = attachHeap(heap.memory, { tiers: custom });
    expect(again.malloc(1000)).toBeGreaterThan(0);
    again.detach();
    // The default composition is built in: a plain attach needs nothing.
    const plain = createHeap({ maxBytes: 16 * MiB });
    const t = attachHeap(plain.memory);
    t.free(t.malloc(2000));
    t.detach();
    plain.check();
  });

  it("each layer's layout version is recorded with its tier: attaching code that reads another is ERR_HEAP_INCOMPATIBLE naming both, and takes no slot", () => {
    const heap = createHeap({ maxBytes: 64 * MiB, tiers: custom });
    expect(
      Arena.attach(heap.memory)
        .tierList()
        .map((t) => [t.kind, t.layoutVersion]),
    ).toEqual([
      ['tiny', tinyTier.layoutVersion ?? 1],
      ['bump', 1],
      ['run', runTier.layoutVersion ?? 1],
    ]);
    const newer: TierSpec[] = custom.map((s) =>
      s.tier === bumpTier ? { ...s, tier: { ...bumpTier, layoutVersion: 2 } } : s,
    );
    expect(messageOf(() => attachHeap(heap.memory, { tiers: newer }))).toMatch(
      /ERR_HEAP_INCOMPATIBLE\] attachHeap: the heap's 'bump' tier has layout version 1; the 'bump' tier of this code reads layout version 2 only/,
    );
    // A heap formatted by a newer layout of a built-in layer (its directory word says so).
    const plain = createHeap({ maxBytes: 16 * MiB });
    const arena = Arena.attach(plain.memory);
    const mid = arena.tierList().find((t) => t.kind === 'mid')!;
    // The directory entry's TD_VERSION word (tierEntry is internal to page-arena).
    const e = (arena as unknown as { tierEntry(id: number): number }).tierEntry(mid.id);
    arena.i32[e + 8]! += 1;
    expect(messageOf(() => attachHeap(plain.memory))).toMatch(
      new RegExp(
        `the heap's 'mid' tier has layout version ${mid.layoutVersion + 1}; the 'mid' tier of this code reads layout version ${mid.layoutVersion} only`,
      ),
    );
    arena.i32[e + 8]! -= 1;
    expect(heap.stats().threads).toBe(1);
    expect(plain.stats().threads).toBe(1);
    attachHeap(plain.memory).detach();
    heap.check();
    plain.check();
  });

  it('a tiny-only heap: sizes above its tiers are ERR_INVALID_SIZE', () => {
    const heap = createHeap({ maxBytes: 16 * MiB, tiers: [{ tier: tinyTier }] });
    expect(heap.malloc(1024)).toBeGreaterThan(0);
    expect(messageOf(() => heap.malloc(1025))).toMatch(
      /ERR_INVALID_SIZE.*above the largest size this heap's tiers serve \(tiny 0..1024\)/,
    );
    expect(codeOf(() => heap.memalign(64, 2000))).toBe('ERR_INVALID_SIZE');
    heap.check();
  });

  const bad: Array<[string, unknown, RegExp]> = [
    [
      'tiny above its limit',
      [{ tier: tinyTier, maxSize: 4096 }, { tier: runTier }],
      /tiers\[0\].maxSize 4096 is above what the 'tiny' tier can serve \(its sizeLimit 1024\)/,
    ],
    ['not an array', { tinyMax: 1024 }, /tiers \[object Object\]|tiers an object is not a non-empty array/],
    ['empty', [], /is not a non-empty array/],
    ['not a factory', [{ tier: 'tiny' }], /tiers\[0\].tier "tiny" is not a tier factory/],
    ['an unknown key', [{ tier: tinyTier, max: 100 }], /tiers\[0\]: unknown key "max"/],
    ['a kind twice', [{ tier: tinyTier, maxSize: 100 }, { tier: tinyTier }], /'tiny' is already in it/],
    [
      'sizes going down',
      [
        { tier: tinyTier, maxSize: 1000 },
        { tier: runTier, maxSize: 900 },
      ],
      /tiers\[1\].maxSize 900 is below the sizes it would start at \(1001/,
    ],
    [
      'a fractional bound',
      [{ tier: tinyTier, maxSize: 100.5 }],
      /tiers\[0\].maxSize 100.5 is not a non-negative integer/,
    ],
  ];
  for (const [what, tiers, message] of bad) {
    it(`createHeap refuses a composition with ${what} (ERR_INVALID_OPTION) and leaves a given memory untouched`, () => {
      const memory = new SharedArrayBuffer(4 * MiB, { maxByteLength: 8 * MiB });
      new Uint8Array(memory).fill(0xa5);
      expect(messageOf(() => createHeap({ memory, tiers: tiers as TierSpec[] }))).toMatch(message);
      expect(codeOf(() => createHeap({ memory, tiers: tiers as TierSpec[] }))).toBe('ERR_INVALID_OPTION');
      expect(new Uint8Array(memory).every((b) => b === 0xa5)).toBe(true);
    });
  }

  it('unknown options of createHeap and attachHeap are ERR_INVALID_OPTION', () => {
    expect(messageOf(() => createHeap({ maxbytes: MiB } as never))).toMatch(/unknown option "maxbytes"/);
    const heap = createHeap({ maxBytes: 16 * MiB });
    expect(messageOf(() => attachHeap(heap.memory, { safty: 'fast' } as never))).toMatch(
      /unknown option "safty"/,
    );
    expect(codeOf(() => attachHeap(heap.memory, 5 as never))).toBe('ERR_INVALID_OPTION');
    expect(heap.stats().threads).toBe(1);
  });
});

describe('no false out-of-memory', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: memory the tiny tier holds empty is given back before a large malloc fails`, () => {
      const heap = createHeap({ maxBytes: 12 * MiB, safety });
      const blocks: number[] = [];
      while (blocks.length < 16_000) blocks.push(heap.malloc(512)); // ~8 MiB of SuperSlabs
      for (const p of blocks) heap.free(p);
      const big = heap.malloc(7 * MiB); // needs the SuperSlabs the tiny tier keeps
      expect(big).toBeGreaterThan(0);
      heap.free(big);
      heap.check();
    });
  }
});

describe('one owner of the views', () => {
  for (const safety of ['strict', 'fast'] as const) {
    it(`${safety}: malloc after a non-shared WebAssembly.Memory grows (its buffer replaced) returns valid blocks, payloads kept`, () => {
      const memory = new WebAssembly.Memory({ initial: 4, maximum: 1024 });
      const heap = createHeap({ memory, safety });
      const first = heap.malloc(100);
      heap.u8.fill(0x11, first, first + 100);
      const oldBuffer = memory.buffer;
      const big = heap.malloc(8 * MiB); // grows the memory: the old buffer is detached
      expect(oldBuffer.byteLength).toBe(0);
      const blocks: number[] = [];
      for (let i = 0; i < 2000; i++) {
        const p = heap.malloc(100);
        expect(p).toBeGreaterThan(0);
        heap.u8.fill(i & 0xff, p, p + 100);
        blocks.push(p);
      }
      expect(new Set([first, ...blocks]).size).toBe(2001);
      expect(heap.u8.subarray(first, first + 100).every((b) => b === 0x11)).toBe(true);
      expect(blocks.map((p) => heap.u8[p + 99])).toEqual(blocks.map((_, i) => i & 0xff));
      for (const p of [first, big, ...blocks]) heap.free(p);
      heap.check();
      expect(heap.stats().liveBlocks).toBe(0);
    });

    it(`${safety}: malloc after trim() shrinks a shared: false heap returns valid blocks, payloads kept`, () => {
      const heap = createHeap({ shared: false, initialBytes: MiB, maxBytes: 64 * MiB, safety });
      const keep = heap.malloc(64);
      heap.u8.fill(0x22, keep, keep + 64);
      const big = heap.malloc(16 * MiB);
      const smalls = Array.from({ length: 3000 }, () => heap.malloc(200));
      for (const p of smalls) heap.free(p);
      heap.free(big);
      const before = (heap.memory as ArrayBuffer).byteLength;
      expect(heap.trim()).toBeGreaterThan(0);
      expect((heap.memory as ArrayBuffer).byteLength).toBeLessThan(before);
      const again = Array.from({ length: 3000 }, (_, i) => {
        const p = heap.malloc(200);
        heap.u8.fill(i & 0xff, p, p + 200);
        return p;
      });
      expect(heap.u8.subarray(keep, keep + 64).every((b) => b === 0x22)).toBe(true);
      expect(again.map((p) => heap.u8[p + 199])).toEqual(again.map((_, i) => i & 0xff));
      for (const p of [keep, ...again]) heap.free(p);
      heap.check();
    });
  }
});

import { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { Arena, mutexOwner, PAGE_SIZE, THREAD_FREE, THREAD_RECLAIMING, TIER_META } from '../src/index';
import {
  HDR_LOCK,
  HDR_META_HEADS,
  LOCK_OWNER_ANON,
  META_CLASSES,
  META_LEAF_SHIFT,
  META_MIN_SHIFT,
  PM_DESC,
} from '../src/layout';
import { metaDescClass, metaDescUsed } from '../src/meta';

// One worker per crash point, every point of a section in one test: minutes on a loaded
// 2-core machine (the sections' own bound, not a timing expectation).
vi.setConfig({ testTimeout: 600_000 });

/**
 * Crash points: for every N, a worker (development build) stops for good at the N-th shared
 * store of one arena operation, inside the arena mutex; the main thread reclaims it
 * (threadClaim, breakLocksOf — which repairs —, threadRelease) and requires: check() passes,
 * every run main holds is intact, each tier's pages and each metaAlloc class's free blocks are
 * what they were before the operation or after it (nothing lost beyond the operation in
 * flight), and the heap still allocates. N runs until the operation completes without stopping.
 */

const P = PAGE_SIZE;
const TIER = 7;

interface Case {
  name: string;
  /** Formats a heap, prepares it; returns the operation for the worker. */
  setup(): { arena: Arena; op: string; args: Record<string, number> };
  /** The path the case means to take, as the completed operation shows it (META pages, committed pages added). */
  effect?: { meta: number; grew: boolean };
  /** One step: threads, tiers, registered locks and blocks handed out are all as before it or all as after it. */
  atomic?: boolean;
  /** After the worker's slot is back (reclaimed, or released when it completed): finishes what the worker left. */
  settle?(arena: Arena, args: Record<string, number>): void;
}

function heap(initialPages: number, maxPages: number): Arena {
  const arena = Arena.format({ initialBytes: initialPages * P, maxBytes: maxPages * P });
  arena.threadAttach();
  return arena;
}

/** What a crash may change only by the operation in flight: pages by tier, metaAlloc blocks handed out per class. */
function accounts(arena: Arena) {
  const s = arena.stats();
  const used = new Array<number>(META_CLASSES).fill(0);
  arena.lock();
  try {
    for (const run of arena.snapshot()) {
      if (run.tier !== TIER_META || run.desc === 0) continue;
      const desc = arena.u32[arena.entryOf(run.offset / P) + PM_DESC]!;
      used[metaDescClass(desc) - META_MIN_SHIFT]! += metaDescUsed(desc);
    }
  } finally {
    arena.unlock();
  }
  return {
    tier: s.pagesByTier[TIER] ?? 0,
    meta: s.pagesByTier[TIER_META]!,
    committed: s.committedBytes,
    used,
    threads: s.threads,
    tiers: arena.tierList().length,
    locks: arena.registeredLocks().length,
  };
}

/** Main's runs but the one the operation works on (`target`). */
function mainRuns(arena: Arena, target: number) {
  return arena
    .snapshot()
    .filter((run) => (run.tier === TIER || run.tier === TIER + 1) && run.offset !== target);
}

async function runAt(c: Case, stopAt: number) {
  const { arena, op, args } = c.setup();
  const signal = new SharedArrayBuffer(8);
  const word = new Int32Array(signal);
  const before = accounts(arena);
  const target = args.offset ?? -1;
  const held = mainRuns(arena, target);
  const worker = new Worker(new URL('./crash-worker.mjs', import.meta.url), {
    workerData: { memory: arena.memory, signal, stopAt, op, args },
  });
  const messages: Record<string, number>[] = [];
  let wake: () => void = () => {};
  let failure: Error | undefined;
  worker.on('message', (m) => {
    messages.push(m);
    wake();
  });
  worker.on('error', (e) => {
    failure = e;
    wake();
  });
  const waited = Atomics.waitAsync(word, 0, 0);
  const stopped = waited.async ? waited.value.then(() => true) : Promise.resolve(true);
  const done = new Promise<boolean>((resolve) => {
    wake = () => {
      if (failure || messages.some((m) => 'done' in m)) resolve(false);
    };
  });
  const didStop = await Promise.race([stopped, done]);
  if (failure) throw failure;
  // Posted before the worker armed its crash points: it arrives even when the worker is stopped.
  while (!messages.some((m) => 'ready' in m)) await new Promise<void>((resolve) => setImmediate(resolve));
  const id = messages.find((m) => 'ready' in m)!.ready!;
  if (!didStop) {
    await worker.terminate();
    // The worker's own slot back (it is still attached after most operations): what stays is the operation's effect.
    const done = messages.find((m) => 'done' in m)!;
    if (done.threadId) {
      arena.threadClaim(done.threadId);
      expect(arena.breakLocksOf(done.threadId)).toBe(0);
      arena.threadRelease(done.threadId);
    }
    c.settle?.(arena, args);
    return {
      stopped: false,
      arena,
      before,
      after: accounts(arena),
      points: messages.find((m) => 'done' in m)!.done,
    };
  }
  expect(Atomics.load(word, 0)).toBe(stopAt);
  await worker.terminate();
  if (id === 0) {
    // Stopped inside threadAttach: the mutex is held as LOCK_OWNER_ANON.
    expect(mutexOwner(arena.hdr, HDR_LOCK)).toBe(LOCK_OWNER_ANON);
    expect(arena.breakLocksOf(LOCK_OWNER_ANON)).toBe(1);
  } else {
    let claimed = true;
    try {
      arena.threadClaim(id);
    } catch (error) {
      // Stopped in its threadRelease after its slot went free: the claim says how to go on.
      expect(String(error)).toMatch(/is not attached but holds the arena mutex/);
      claimed = false;
    }
    expect(arena.breakLocksOf(id)).toBe(1);
    if (claimed) arena.threadRelease(id);
    expect(arena.threadState(id)).toBe(THREAD_FREE);
  }
  c.settle?.(arena, args);
  arena.check();
  expect(mainRuns(arena, target), `main's runs, stopped at ${stopAt}`).toEqual(held);
  return { stopped: true, arena, before, after: accounts(arena), points: stopAt };
}

function expectUsable(arena: Arena) {
  const run = arena.allocRun(2, TIER + 1);
  expect(run).toBeGreaterThan(0);
  const block = arena.metaAlloc(100);
  expect(block).toBeGreaterThan(0);
  arena.metaFree(block);
  arena.freeRun(run);
  arena.check();
  const other = Arena.attach(arena.memory); // verifies the heap
  expect(other.threadAttach()).toBeGreaterThan(0);
  expect(other.tierOpen('after-crash', 0, 100, 16)).toBeGreaterThan(0);
  other.threadRelease(other.threadId);
  arena.check();
}

/** Runs `c` for N = 1, 2, … until the operation completes; returns the number of crash points. */
async function enumerate(c: Case): Promise<number> {
  const reference = await runAt(c, 0);
  expect(reference.stopped).toBe(false);
  reference.arena.check();
  const total = reference.points ?? 0;
  expect(total).toBeGreaterThan(0);
  const { before, after } = reference;
  if (c.effect) {
    expect(after.meta - before.meta, `${c.name}: META pages taken`).toBe(c.effect.meta);
    expect(after.committed > before.committed, `${c.name}: grew`).toBe(c.effect.grew);
  }
  for (let n = 1; n <= total + 1; n++) {
    const r = await runAt(c, n);
    if (n > total) {
      expect(r.stopped, `the operation has ${total} crash points`).toBe(false);
      break;
    }
    expect(r.stopped).toBe(true);
    const got = r.after;
    const where = `${c.name}, stopped at crash point ${n} of ${total}`;
    expect([before.tier, after.tier], `${where}: tier pages`).toContain(got.tier);
    expect([before.meta, after.meta], `${where}: META pages`).toContain(got.meta);
    expect([before.committed, after.committed], `${where}: committed bytes`).toContain(got.committed);
    expect([before.threads, after.threads], `${where}: attached threads`).toContain(got.threads);
    expect([before.tiers, after.tiers], `${where}: tiers`).toContain(got.tiers);
    expect([before.locks, after.locks], `${where}: registered locks`).toContain(got.locks);
    if (c.atomic) {
      const whole = (a: typeof got) => ({ threads: a.threads, tiers: a.tiers, locks: a.locks, used: a.used });
      expect([whole(before), whole(after)], `${where}: as before or as after`).toContainEqual(whole(got));
    }
    for (let k = 0; k < META_CLASSES; k++) {
      // Blocks handed out: as before the operation or after it; a block neither handed out nor
      // free is lost (check() matches each page's count with its free list).
      expect(
        [before.used[k], after.used[k]],
        `${where}: blocks of class ${1 << (k + META_MIN_SHIFT)} handed out`,
      ).toContain(got.used[k]);
    }
    expectUsable(r.arena);
  }
  return total;
}

/** Main holds runs a (2 pages), b (3), c (2), d (1) back to back, then frees a and c: free, b, free, d, free tail. */
function fragmented(initial = 16, max = 64) {
  const arena = heap(initial, max);
  const a = arena.allocRun(2, TIER + 1);
  const b = arena.allocRun(3, TIER);
  const c = arena.allocRun(2, TIER + 1);
  const d = arena.allocRun(1, TIER + 1);
  arena.freeRun(a);
  arena.freeRun(c);
  return { arena, b, c, d };
}

/**
 * Three META pages of class 32 KiB (2 blocks each), each with its first block handed out and its
 * second free: the class list is the third page, the second, the first. `pages`: their first blocks.
 */
function thirtyTwoKiB() {
  const { arena } = fragmented();
  const blocks = [0, 1, 2, 3, 4, 5].map(() => arena.metaAlloc(32768));
  for (const k of [1, 3, 5]) arena.metaFree(blocks[k]!);
  return { arena, pages: [blocks[0], blocks[2], blocks[4]] };
}

/** No free page left: the next page needs a growth (and with `leaves`, no spare 16 KiB block for a page-map leaf). */
function full(initial: number, max: number, leaves = false) {
  const arena = heap(initial, max);
  const spares = HDR_META_HEADS + META_LEAF_SHIFT - META_MIN_SHIFT;
  while (leaves && arena.hdr[spares] !== 0) arena.metaAlloc(1 << META_LEAF_SHIFT);
  const largest = arena.stats().largestFreeRunPages;
  if (largest > 0) arena.allocRun(largest, TIER + 1);
  return arena;
}

/** `n` more thread slots taken by other instances (ids 2 … n + 1). */
function attached(arena: Arena, n: number): Arena[] {
  return Array.from({ length: n }, () => {
    const other = Arena.attach(arena.memory);
    other.threadAttach();
    return other;
  });
}

/** i32 indexes of `n` words in a run main holds, for registerLock. */
function lockWords(arena: Arena, n: number): number[] {
  const run = arena.allocRun(1, TIER + 1);
  return Array.from({ length: n }, (_, k) => run / 4 + k);
}

const cases: Case[] = [
  {
    name: 'allocRun, best fit splitting a free run',
    setup: () => ({ arena: fragmented().arena, op: 'allocRun', args: { pages: 1, tier: TIER } }),
    effect: { meta: 0, grew: false },
  },
  {
    name: 'allocRun growing the memory',
    setup: () => ({ arena: full(8, 64), op: 'allocRun', args: { pages: 3, tier: TIER } }),
    effect: { meta: 0, grew: true },
  },
  {
    name: 'allocRun growing across a 64 MiB leaf, carving a page for the leaf',
    setup: () => ({ arena: full(1022, 2048, true), op: 'allocRun', args: { pages: 4, tier: TIER } }),
    effect: { meta: 1, grew: true },
  },
  {
    name: 'allocRun growing across a leaf, the leaf from a free page below',
    setup: () => {
      const arena = full(1022, 2048, true);
      const last = arena.snapshot().find((r) => r.tier === TIER + 1)!;
      expect(arena.resizeRun(last.offset, last.pages - 1)).toBe(true); // one free page, the last
      return { arena, op: 'allocRun', args: { pages: 4, tier: TIER } };
    },
    effect: { meta: 1, grew: true },
  },
  {
    name: 'freeRun coalescing on both sides',
    setup: () => {
      const { arena, b } = fragmented();
      return { arena, op: 'freeRun', args: { offset: b } };
    },
  },
  {
    name: 'resizeRun shrinking into a free successor',
    setup: () => {
      const { arena, b } = fragmented();
      return { arena, op: 'resizeRun', args: { offset: b, pages: 1 } };
    },
  },
  {
    name: 'resizeRun growing into a free successor',
    setup: () => {
      const { arena, c } = fragmented();
      arena.freeRun(arena.allocRun(3, TIER) || 0);
      const b = arena.snapshot().find((r) => r.tier === TIER)!.offset;
      arena.freeRun(c === 0 ? 0 : arena.allocRun(2, TIER + 1));
      return { arena, op: 'resizeRun', args: { offset: b, pages: 4 } };
    },
  },
  {
    name: 'resizeRun growing the last run with the memory',
    setup: () => {
      const arena = full(8, 64);
      const last = arena.allocRun(0 || 1, TIER) || 0;
      const tail = arena.snapshot().at(-1)!;
      expect(tail.offset === last || tail.tier === TIER).toBe(true);
      return { arena, op: 'resizeRun', args: { offset: tail.offset, pages: tail.pages + 2 } };
    },
  },
  {
    name: 'metaAlloc taking a new META page (class 2 KiB)',
    setup: () => ({ arena: fragmented().arena, op: 'metaAlloc', args: { bytes: 2048 } }),
    effect: { meta: 1, grew: false },
  },
  {
    name: 'metaAlloc popping a listed block',
    setup: () => {
      const { arena } = fragmented();
      arena.metaAlloc(2048);
      return { arena, op: 'metaAlloc', args: { bytes: 2000 } };
    },
    effect: { meta: 0, grew: false },
  },
  {
    name: 'metaAlloc of a META run (> 64 KiB)',
    setup: () => ({ arena: fragmented().arena, op: 'metaAlloc', args: { bytes: 2 * P } }),
  },
  {
    name: 'metaAlloc of the last free block of the first page on its class list',
    setup: () => {
      const { arena } = thirtyTwoKiB();
      return { arena, op: 'metaAlloc', args: { bytes: 32768 } };
    },
    effect: { meta: 0, grew: false },
  },
  {
    name: 'metaFree of a block onto its page free list',
    setup: () => {
      const { arena } = fragmented();
      const blocks = [arena.metaAlloc(4096), arena.metaAlloc(4096), arena.metaAlloc(4096)];
      arena.metaFree(blocks[0]!);
      return { arena, op: 'metaFree', args: { offset: blocks[2]! } };
    },
    effect: { meta: 0, grew: false },
  },
  {
    name: 'metaFree onto a full page (it joins its class list)',
    setup: () => {
      const { arena } = fragmented();
      const blocks = [0, 1, 2, 3].map(() => arena.metaAlloc(32768));
      arena.metaFree(blocks[3]!);
      return { arena, op: 'metaFree', args: { offset: blocks[1]! } };
    },
    effect: { meta: 0, grew: false },
  },
  {
    name: 'metaFree of the last block of a page (the page returns to the free runs)',
    setup: () => {
      const { arena } = fragmented();
      const block = arena.metaAlloc(8192);
      return { arena, op: 'metaFree', args: { offset: block } };
    },
    effect: { meta: -1, grew: false },
  },
  {
    name: 'metaFree of the last block of a page in the middle of its class list',
    setup: () => {
      const { arena, pages } = thirtyTwoKiB();
      return { arena, op: 'metaFree', args: { offset: pages[1]! } };
    },
    effect: { meta: -1, grew: false },
  },
  {
    name: 'threadAttach taking a released id',
    setup: () => {
      const arena = heap(16, 64);
      const [other] = attached(arena, 1);
      other!.threadRelease(other!.threadId);
      return { arena, op: 'threadAttach', args: {} };
    },
    atomic: true,
  },
  {
    name: 'threadAttach raising the high-water id',
    setup: () => ({ arena: heap(16, 64), op: 'threadAttach', args: {} }),
    atomic: true,
  },
  {
    name: 'threadAttach adding a registry chunk',
    setup: () => {
      const arena = heap(16, 64);
      attached(arena, 63);
      return { arena, op: 'threadAttach', args: {} };
    },
  },
  {
    name: 'threadRelease of its own slot (its tier words freed)',
    setup: () => ({ arena: heap(16, 64), op: 'threadRelease', args: { prepareTier: 5 } }),
    atomic: true,
  },
  {
    name: 'threadRelease of a slot it claimed (a reclaimer)',
    setup: () => {
      const arena = heap(16, 64);
      const [other] = attached(arena, 1);
      other!.threadTierWords(5);
      return { arena, op: 'reclaimRelease', args: { id: other!.threadId } };
    },
    // A slot the dead reclaimer left claimed is taken over (its claimer is gone) and released.
    settle: (arena, args) => {
      if (arena.threadState(args.id!) !== THREAD_RECLAIMING) return;
      arena.threadClaim(args.id!);
      expect(arena.breakLocksOf(args.id!)).toBe(0);
      arena.threadRelease(args.id!);
    },
    atomic: true,
  },
  {
    name: 'threadTierWords creating the tier-words block',
    setup: () => ({ arena: heap(16, 64), op: 'threadTierWords', args: { tier: 3 } }),
    atomic: true,
  },
  {
    name: 'threadTierWords doubling the tier-words block',
    setup: () => ({ arena: heap(16, 64), op: 'threadTierWords', args: { prepareTier: 3, tier: 12 } }),
    atomic: true,
  },
  {
    name: 'tierOpen adding a tier',
    setup: () => {
      const arena = heap(16, 64);
      arena.tierOpen('first', 0, 10, 8);
      return { arena, op: 'tierOpen', args: { kind: 1 } };
    },
    atomic: true,
  },
  {
    name: 'tierOpen doubling the tier directory',
    setup: () => {
      const arena = heap(16, 64);
      for (let k = 0; k < 8; k++) arena.tierOpen(`main-${k}`, 0, 10, 8);
      return { arena, op: 'tierOpen', args: { kind: 8 } };
    },
  },
  {
    name: 'registerLock adding a word',
    setup: () => {
      const arena = heap(16, 64);
      const words = lockWords(arena, 2);
      arena.registerLock(words[0]!);
      return { arena, op: 'registerLock', args: { index: words[1]! } };
    },
    atomic: true,
  },
  {
    name: 'registerLock doubling the lock registry',
    setup: () => {
      const arena = heap(16, 64);
      const words = lockWords(arena, 17);
      for (let k = 0; k < 16; k++) arena.registerLock(words[k]!);
      return { arena, op: 'registerLock', args: { index: words[16]! } };
    },
  },
  {
    name: 'metaFree of a META run',
    setup: () => {
      const { arena } = fragmented();
      const run = arena.metaAlloc(2 * P);
      return { arena, op: 'metaFree', args: { offset: run } };
    },
  },
];

describe('crash points: a thread stopped at any shared store of an arena update is repaired by breakLocksOf', () => {
  const totals: string[] = [];
  for (const c of cases) {
    it(c.name, async () => {
      const total = await enumerate(c);
      totals.push(`${c.name}: ${total}`);
    });
  }
  it('covered every case', () => {
    console.log(`crash points per operation:\n  ${totals.join('\n  ')}`);
    expect(totals).toHaveLength(cases.length);
  });
});

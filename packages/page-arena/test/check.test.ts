import { describe, expect, it } from 'vitest';
import {
  Arena,
  mutexBreak,
  mutexLock,
  mutexOwner,
  mutexStats,
  mutexTryLock,
  mutexUnlock,
  PAGE_SIZE,
  PM_DESC,
  PM_FLAG_HEAD,
  PM_HEAD_PAGE,
  PM_TIER,
  TIER_FREE,
  TIER_META,
} from '../src/index';
import { LOCK_OWNER_ANON } from '../src/layout';

const TIER_TINY = 2;
const TIER_RUN = 6;

/** i32 index of a fresh tier root block (zeroed words for lock tests). */
function someRoot(a: Arena, kind = 'test'): number {
  return a.tierInfo(a.tierOpen(kind, 0, 100, 64)).root;
}

import {
  HDR_BIN_BITMAP,
  HDR_FREE_RUNS,
  HDR_LOCK,
  HDR_LOCK_STATS,
  HDR_MAGIC,
  HDR_META_HEADS,
  HDR_PAGES_BY_TIER,
  HDR_REG_OP,
  HDR_THREAD_LIVE,
  MB_NEXT,
  META_DESC_USED_SHIFT,
} from '../src/layout';
import { expectCode } from './helpers';

const P = PAGE_SIZE;

/** Page 1 META (64 B class), runs at pages 2 (3 pages), 5, 6 and 8, free page 7, free pages 9..15. */
function populated(): Arena {
  const a = Arena.format({ initialBytes: 16 * P, maxBytes: 64 * P });
  a.metaAlloc(48);
  a.allocRun(3, TIER_RUN);
  a.allocRun(1, TIER_RUN);
  a.allocRun(1, TIER_RUN);
  const gap = a.allocRun(1, TIER_RUN);
  a.allocRun(1, TIER_RUN);
  a.freeRun(gap);
  a.check();
  return a;
}

describe('check() names the broken invariant', () => {
  const H = (a: Arena, word: number) => a.headerIndex + word;
  it.each<[string, (a: Arena) => void, RegExp]>([
    ['magic', (a) => (a.i32[H(a, HDR_MAGIC)] = 0), /header: magic 0 is not/],
    [
      'interior page of a run',
      (a) => (a.u32[a.entryOf(3) + PM_TIER] = TIER_TINY),
      /page 3 inside run at page 2 .* has tier word 2/,
    ],
    [
      'head page word',
      (a) => (a.u32[a.entryOf(4) + PM_HEAD_PAGE] = 3),
      /page 4 inside run at page 2 .* head 3/,
    ],
    [
      'head flag lost',
      (a) => (a.u32[a.entryOf(5) + PM_TIER] = TIER_RUN),
      /page 5 should head a run but has no head flag/,
    ],
    [
      'two adjacent free runs',
      (a) => {
        // Page 6 pretends to be a one-page free run right before the free page 7.
        a.u32[a.entryOf(6) + PM_TIER] = TIER_FREE | PM_FLAG_HEAD;
      },
      /free run at page 7 .* follows another free run \(coalescing incomplete\)/,
    ],
    ['bitmap bit', (a) => (a.i32[H(a, HDR_BIN_BITMAP)] = 0), /bin 1: bitmap bit 0 but first run 7/],
    ['free-run count', (a) => a.i32[H(a, HDR_FREE_RUNS)]!++, /free-run count says 3, the bins hold 2/],
    [
      'page count of a tier',
      (a) => a.i32[H(a, HDR_PAGES_BY_TIER + TIER_RUN)]!--,
      /page count of tier 6 says 5, the page map has 6/,
    ],
    ['page-map leaf missing', (a) => (a.u32[a.leafDir] = 0), /page-map leaf 0 is missing/],
    [
      'meta free list loop',
      (a) => {
        // Page 1 (class 64 B): blocks 0..2 handed out, 1 and 0 freed: its list is 0 → 1 → fresh 3.
        const b1 = a.metaAlloc(64);
        const b2 = a.metaAlloc(64);
        a.metaFree(b1);
        a.metaFree(P);
        expect([b1, b2]).toEqual([P + 64, P + 128]);
        a.u32[(b1 >>> 2) + MB_NEXT] = 2; // block 1 links to itself
      },
      /META page 1 \(class 64\): its free list reaches block 1 twice \(a loop\)/,
    ],
    [
      'meta used count',
      (a) => (a.u32[a.entryOf(1) + PM_DESC]! += 1 << META_DESC_USED_SHIFT),
      /META page 1 \(class 64\) counts 2 blocks handed out, its free list leaves 1/,
    ],
    [
      'meta class list',
      (a) => (a.i32[H(a, HDR_META_HEADS + 2)] = 0), // class 64 B
      /META page 1 \(class 64\) has a free block but is on no class list/,
    ],
    [
      'meta class list names a full page',
      (a) => (a.i32[H(a, HDR_META_HEADS + 3)] = 2), // class 128 B names page 1
      /the list of class 128 names page 1, which is not a META page of that class with a free block/,
    ],
    [
      'registry update in flight',
      (a) => (a.i32[H(a, HDR_REG_OP)] = 6),
      /the registry intent record names op 6, a registry update nobody is inside/,
    ],
    [
      'live thread count',
      (a) => a.i32[H(a, HDR_THREAD_LIVE)]!++,
      /live thread count says 1, the records have 0/,
    ],
  ])('%s', (_name, corrupt, text) => {
    const a = populated();
    corrupt(a);
    expectCode(() => a.check(), 'ERR_HEAP_CORRUPTED', text);
  });
});

describe('mutex over any i32 word', () => {
  it('locks, counts, refuses a second owner, unlocks', () => {
    const a = Arena.format({ initialBytes: 2 * P, maxBytes: 4 * P });
    const root = someRoot(a);
    const word = root;
    const stats = root + 1;
    mutexLock(a.i32, word, 3, stats);
    expect(mutexOwner(a.i32, word)).toBe(3);
    expect(mutexTryLock(a.i32, word, 4, stats)).toBe(false);
    mutexUnlock(a.i32, word);
    expect(mutexOwner(a.i32, word)).toBe(0);
    expect(mutexTryLock(a.i32, word, 4, stats)).toBe(true);
    mutexUnlock(a.i32, word);
    expect(mutexStats(a.i32, stats)).toEqual({ acquisitions: 2, contended: 0, waits: 0 });
    expectCode(() => mutexUnlock(a.i32, word), 'ERR_HEAP_CORRUPTED', /not held/); // development build check
  });

  it('the tier directory grows on demand: ids from 2, zeroed roots, one id per kind', () => {
    const a = Arena.format({ initialBytes: 2 * P, maxBytes: 64 * P });
    const ids: number[] = [];
    for (let k = 0; k < 40; k++) ids.push(a.tierOpen(`kind-${k}`, k * 10, k * 10 + 9, 16));
    expect(ids).toEqual(Array.from({ length: 40 }, (_, k) => 2 + k));
    const roots = ids.map((id) => a.tierInfo(id).root);
    expect(new Set(roots).size).toBe(40);
    for (const root of roots) expect(a.i32.subarray(root, root + 16).every((w) => w === 0)).toBe(true);
    expect(a.tierOpen('kind-7', 70, 79, 16)).toBe(9);
    expect(a.tierInfo(9)).toMatchObject({ kind: 'kind-7', minSize: 70, maxSize: 79 });
    a.check();
    expectCode(
      () => a.tierOpen('kind-7', 0, 79, 16),
      'ERR_HEAP_INCOMPATIBLE',
      /serves sizes 70..79, not 0..79/,
    );
    expectCode(() => a.tierOpen('Bad Kind', 0, 1, 1), 'ERR_INVALID_OPTION', /tier kind "Bad Kind"/);
    expectCode(() => a.tierOpen('x', 5, 1, 1), 'ERR_INVALID_OPTION', /size range/);
    expectCode(() => a.tierInfo(1), 'ERR_INVALID_OPTION', /tier id 1 is not in this heap's directory/);
    expectCode(() => a.tierInfo(42), 'ERR_INVALID_OPTION');
  });

  it("each tier records its layer's layout version: another version is ERR_HEAP_INCOMPATIBLE naming both, and changes nothing", () => {
    const memory = new SharedArrayBuffer(4 * P);
    const a = Arena.format({ memory, maxBytes: 4 * P });
    const id = a.tierOpen('layer', 0, 100, 8, 3);
    expect(a.tierInfo(id)).toMatchObject({ kind: 'layer', layoutVersion: 3 });
    expect(a.tierOpen('plain', 0, 100, 8)).toBe(id + 1);
    expect(a.tierInfo(id + 1).layoutVersion).toBe(1); // the default
    const b = Arena.attach(memory);
    expect(b.tierOpen('layer', 0, 100, 8, 3)).toBe(id);
    expect(b.tierFind('layer', 3)).toBe(id);
    expect(b.tierExpect(id, 'layer', 3, 'test').root).toBe(a.tierInfo(id).root);
    const both = /'layer' tier has layout version 3; this code reads the 'layer' layout version 4 only/;
    expectCode(() => b.tierOpen('layer', 0, 100, 8, 4), 'ERR_HEAP_INCOMPATIBLE', both);
    expectCode(() => b.tierFind('layer', 4), 'ERR_HEAP_INCOMPATIBLE', both);
    expectCode(() => b.tierExpect(id, 'layer', 4, 'test'), 'ERR_HEAP_INCOMPATIBLE', both);
    expectCode(
      () => b.tierExpect(id, 'other', 3, 'test'),
      'ERR_HEAP_INCOMPATIBLE',
      /is a 'layer' tier, not a 'other' tier/,
    );
    expectCode(
      () => b.tierOpen('layer', 0, 100, 8, 0),
      'ERR_INVALID_OPTION',
      /layoutVersion 0 is not an integer/,
    );
    expectCode(() => b.tierFind('layer', 1.5), 'ERR_INVALID_OPTION', /layoutVersion 1.5/);
    expect(b.tierList().map((t) => [t.kind, t.layoutVersion])).toEqual([
      ['layer', 3],
      ['plain', 1],
    ]);
    b.check();
  });

  it('the directory and the lock registry grow in a non-shared WebAssembly.Memory that replaces its buffer', () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 256 });
    const a = Arena.format({ memory });
    a.threadAttach();
    const first = memory.buffer;
    for (let k = 0; k < 40; k++) {
      const id = a.tierOpen(`k${k}`, 0, 10, 4096); // 16 KiB roots: the memory grows under the lock
      a.registerLock(a.tierInfo(id).root);
    }
    expect(first.byteLength).toBe(0); // detached: the buffer was replaced
    expect(a.tierList().length).toBe(40);
    expect(a.registeredLocks().length).toBe(40);
    a.check();
  });

  it('per-thread tier words: created and doubled on demand, released with the thread', () => {
    const a = Arena.format({ initialBytes: 2 * P, maxBytes: 64 * P });
    const id = a.threadAttach();
    const w2 = a.threadTierWords(2);
    a.i32[w2] = 77;
    const w30 = a.threadTierWords(30); // beyond the first block of 8 tiers: doubled, copied
    expect(a.i32[a.threadTierWords(2)]).toBe(77);
    expect(a.threadTierWords(30)).toBe(w30);
    const other = Arena.attach(a.memory);
    expect(other.threadTierWords(2, id)).toBe(a.threadTierWords(2));
    expect(other.threadTierWords(100, id)).toBe(0);
    a.check();
    const meta = a.stats().metaBytes;
    a.threadRelease(id);
    expect(a.stats().metaBytes).toBeLessThan(meta);
    a.check();
  });

  it('breakLocksOf releases the arena mutex and registered words held by a dead thread', () => {
    const a = Arena.format({ initialBytes: 4 * P, maxBytes: 64 * P });
    const dead = Arena.attach(a.memory);
    const id = dead.threadAttach();
    const tierLock = someRoot(a) + 8;
    const other = someRoot(a) + 12;
    a.registerLock(tierLock);
    a.registerLock(tierLock); // once only
    a.registerLock(other);
    expect(a.registeredLocks()).toEqual([tierLock, other]);
    mutexLock(a.i32, tierLock, id, tierLock + 1);
    mutexLock(a.i32, other, 99, other + 1);
    dead.lock(); // the worker dies holding the arena mutex
    expect(mutexOwner(a.i32, a.headerIndex + HDR_LOCK)).toBe(id);
    expect(a.breakLocksOf(id)).toBe(2);
    expect(mutexOwner(a.i32, a.headerIndex + HDR_LOCK)).toBe(0);
    expect(mutexOwner(a.i32, tierLock)).toBe(0);
    expect(mutexOwner(a.i32, other)).toBe(99);
    expect(a.breakLocksOf(id)).toBe(0);
    expect(a.allocRun(1, TIER_RUN)).toBeGreaterThan(0);
    a.threadRelease(id);
    a.check();
    expectCode(() => a.breakLocksOf(0), 'ERR_INVALID_THREAD');
    expectCode(
      () => a.registerLock(-5),
      'ERR_INVALID_POINTER',
      /registerLock: i32 index -5 is not in the heap/,
    );
  });

  it('the lock registry grows without limit', () => {
    const a = Arena.format({ initialBytes: 4 * P, maxBytes: 64 * P });
    const block = a.metaAlloc(4096);
    for (let i = 0; i < 1000; i++) a.registerLock(block / 4 + i);
    expect(a.registeredLocks().length).toBe(1000);
    a.check();
  });

  it('an unattached instance locks as LOCK_OWNER_ANON, an attached one as its thread id', () => {
    const a = Arena.format({ initialBytes: 2 * P, maxBytes: 4 * P });
    a.lock();
    expect(mutexOwner(a.i32, a.headerIndex + HDR_LOCK)).toBe(LOCK_OWNER_ANON);
    a.unlock();
    const id = a.threadAttach();
    a.lock();
    expect(mutexOwner(a.i32, a.headerIndex + HDR_LOCK)).toBe(id);
    a.unlock();
    expect(mutexBreak(a.i32, a.headerIndex + HDR_LOCK, id)).toBe(false);
    expect(mutexStats(a.i32, a.headerIndex + HDR_LOCK_STATS).contended).toBe(0);
    expect(TIER_META).toBe(1);
  });
});

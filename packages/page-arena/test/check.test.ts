import { describe, expect, it } from 'vitest';
import {
  Arena,
  LOCK_OWNER_ANON,
  mutexBreak,
  mutexLock,
  mutexOwner,
  mutexStats,
  mutexTryLock,
  mutexUnlock,
  PAGE_SIZE,
  PM_FLAG_HEAD,
  PM_HEAD_PAGE,
  PM_TIER,
  ROOT_HEAP,
  TIER_FREE,
  TIER_META,
  TIER_ROOT_WORDS,
  TIER_RUN,
  TIER_TINY,
} from '../src/index';
import {
  HDR_BIN_BITMAP,
  HDR_FREE_RUNS,
  HDR_LOCK,
  HDR_LOCK_STATS,
  HDR_MAGIC,
  HDR_META_HEADS,
  HDR_PAGES_BY_TIER,
  HDR_THREAD_LIVE,
  HEADER_WORDS,
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
        const head = a.i32[H(a, HDR_META_HEADS + 2)]! >>> 0; // class 64 B
        a.u32[head >>> 2] = head;
      },
      /free metaAlloc block \d+ of class 64 is listed twice \(or the list loops\)/,
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
    const root = a.tierRoot(TIER_TINY);
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

  it('tier roots are 64 zeroed words per tier id 2..7 inside the header', () => {
    const a = Arena.format({ initialBytes: 2 * P, maxBytes: 4 * P });
    const roots = [2, 3, 4, 5, 6, 7].map((t) => a.tierRoot(t));
    for (let i = 1; i < roots.length; i++) expect(roots[i]! - roots[i - 1]!).toBe(TIER_ROOT_WORDS);
    expect(roots[5]! + TIER_ROOT_WORDS).toBe(a.headerIndex + HEADER_WORDS);
    expect(a.i32.subarray(roots[0], roots[5]! + TIER_ROOT_WORDS).every((w) => w === 0)).toBe(true);
    expectCode(() => a.tierRoot(1), 'ERR_INVALID_OPTION', /tierRoot: tier 1 is not a tier id 2..7/);
    expectCode(() => a.tierRoot(ROOT_HEAP + 1), 'ERR_INVALID_OPTION');
  });

  it('breakLocksOf releases the arena mutex and registered words held by a dead thread', () => {
    const a = Arena.format({ initialBytes: 4 * P, maxBytes: 64 * P });
    const dead = Arena.attach(a.memory);
    const id = dead.threadAttach();
    const tierLock = a.tierRoot(TIER_TINY) + 8;
    const other = a.tierRoot(TIER_TINY) + 12;
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

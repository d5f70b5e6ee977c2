import { describe, expect, it } from 'vitest';
import {
  Arena,
  HakmemError,
  LAYOUT_VERSION,
  PAGE_SIZE,
  PM_DESC,
  PM_FLAG_HEAD,
  PM_HEAD_PAGE,
  PM_RUN_PAGES,
  PM_TIER,
  TIER_FREE,
  TIER_META,
} from '../src/index';
import {
  HDR_LOCK,
  HDR_MAX_PAGES,
  HDR_VERSION,
  THREAD_FREE,
  THREAD_LIVE,
  THREAD_RECLAIMING,
} from '../src/layout';
import { expectCode, runsOf, stateOf } from './helpers';

const P = PAGE_SIZE;
const FREE = TIER_FREE;
const META = TIER_META;
/** Tier ids for runs (any id TIER_FIRST … TIER_LAST is accepted by allocRun). */
const TIER_TINY = 2;
const TIER_BIG = 5;
const RUN = 6;
const _TIER_RUN = RUN;

/** A small heap: header page 0, pages 1..15 free, may grow to 64 pages. */
function small(initialPages = 16, maxPages = 64): Arena {
  return Arena.format({ initialBytes: initialPages * P, maxBytes: maxPages * P });
}

describe('format', () => {
  it('creates a growable SharedArrayBuffer with the documented defaults', () => {
    const a = Arena.format();
    expect(a.memory).toBeInstanceOf(SharedArrayBuffer);
    const sab = a.memory as SharedArrayBuffer;
    expect(sab.growable).toBe(true);
    expect(sab.maxByteLength).toBe(2 ** 30);
    expect(sab.byteLength).toBe(4 * 2 ** 20);
    expect(a.committedBytes()).toBe(4 * 2 ** 20);
    expect(a.viewBytes).toBe(4 * 2 ** 20);
    expect(a.u8.length).toBe(4 * 2 ** 20);
    expect(a.i32.length).toBe(2 ** 20);
    expect(a.f64.length).toBe(2 ** 19);
    expect(a.dataView.byteLength).toBe(4 * 2 ** 20);
    expect(a.maxBytes).toBe(2 ** 30);
    expect(a.base).toBe(0);
    expect(a.shared).toBe(true);
    expect(a.strict).toBe(true);
    expect(a.threadId).toBe(0);
    expect(runsOf(a)).toEqual([
      [0, 1, META],
      [1, 63, FREE],
    ]);
    const s = a.stats();
    expect(s.freePages).toBe(63);
    expect(s.freeRuns).toBe(1);
    expect(s.largestFreeRunPages).toBe(63);
    expect(s.pagesByTier).toEqual([63, 1]);
    expect(s.metaBytes).toBe(2 * 16384); // header block + the first page-map leaf
    a.check();
  });

  it('persists safety and the tier directory for every attached instance', () => {
    const a = Arena.format({ safety: 'fast', initialBytes: P });
    expect(a.tierOpen('tiny', 0, 512, 64)).toBe(2);
    expect(a.tierOpen('bump', 513, 65536, 8)).toBe(3);
    const b = Arena.attach(a.memory);
    expect(b.strict).toBe(false);
    expect(b.tierList().map(({ root: _root, ...t }) => t)).toEqual([
      { id: 2, kind: 'tiny', minSize: 0, maxSize: 512, layoutVersion: 1 },
      { id: 3, kind: 'bump', minSize: 513, maxSize: 65536, layoutVersion: 1 },
    ]);
    expect(b.tierOpen('bump', 513, 65536, 8)).toBe(3);
    expect(b.tierFind('tiny')).toBe(2);
    expect(b.tierFind('mid')).toBe(0);
    expect(b.maxBytes).toBe(a.maxBytes);
    expect(runsOf(b)[0]).toEqual([0, 1, META]);
    b.check();
  });

  it('shared: false creates a resizable ArrayBuffer', () => {
    const a = Arena.format({ shared: false, initialBytes: 2 * P, maxBytes: 8 * P });
    expect(a.memory).toBeInstanceOf(ArrayBuffer);
    expect((a.memory as ArrayBuffer).resizable).toBe(true);
    expect((a.memory as ArrayBuffer).maxByteLength).toBe(8 * P);
    expect(a.shared).toBe(false);
    a.check();
  });

  const fixedSab = new SharedArrayBuffer(4 * P);
  it.each([
    ['not an object', 5, /options 5 is not an object/],
    ['maxBytes above 4 GiB', { maxBytes: 2 ** 32 + P }, /maxBytes 4295032832 .*≤ 4 GiB/],
    ['maxBytes negative', { maxBytes: -1 }, /maxBytes -1 /],
    ['maxBytes fractional', { maxBytes: 1.5 }, /maxBytes 1.5 /],
    ['maxBytes a string', { maxBytes: '65536' }, /maxBytes "65536" /],
    [
      'maxBytes below a header page',
      { maxBytes: P, base: P },
      /no room for the 64 KiB header page above base 65536/,
    ],
    ['initialBytes zero', { initialBytes: 0 }, /initialBytes 0 is not a positive integer/],
    [
      'initialBytes above maxBytes',
      { initialBytes: 4 * P, maxBytes: 2 * P },
      /initialBytes 262144 exceeds maxBytes 131072/,
    ],
    [
      'initialBytes without the header page',
      { initialBytes: P, base: P },
      /initialBytes 65536 leaves no room/,
    ],
    ['base negative', { base: -1 }, /base -1 is not an integer/],
    ['base NaN', { base: Number.NaN }, /base NaN /],
    ['safety unknown', { safety: 'careful' }, /safety "careful" is not 'strict' or 'fast'/],
    ['shared not boolean', { shared: 1 }, /shared 1 is not a boolean/],
    ['an unknown option', { tiers: { tinyMax: 2048 } }, /unknown option "tiers"/],
    ['a misspelt option', { maxbytes: 2 ** 20 }, /unknown option "maxbytes"/],
    [
      'memory of another type',
      { memory: new Uint8Array(8) },
      /memory \[object Uint8Array\] is not a SharedArrayBuffer/,
    ],
    [
      'shared contradicting the memory',
      { memory: new SharedArrayBuffer(P), shared: false },
      /shared false contradicts/,
    ],
    [
      'maxBytes beyond a fixed memory',
      { memory: fixedSab, maxBytes: 8 * P },
      /maxBytes 524288 exceeds what the fixed-length SharedArrayBuffer can hold \(262144 bytes\)/,
    ],
    [
      'a fixed memory too small for the header',
      { memory: new SharedArrayBuffer(P), base: P, maxBytes: P },
      /maxBytes 65536 leaves no room/,
    ],
  ])('rejects %s with ERR_INVALID_OPTION', (_name, options, text) => {
    expectCode(() => Arena.format(options as never), 'ERR_INVALID_OPTION', text);
  });

  it('rounds base up to 64 KiB and never writes below it', () => {
    const sab = new SharedArrayBuffer(8 * P, { maxByteLength: 32 * P });
    new Uint8Array(sab).fill(0xa5);
    const a = Arena.format({ memory: sab, base: P + 1 });
    expect(a.base).toBe(2 * P);
    expect(runsOf(a)).toEqual([
      [2, 1, META],
      [3, 5, FREE],
    ]);
    const r = a.allocRun(20, RUN);
    expect(r).toBe(3 * P);
    a.freeRun(r);
    a.check();
    expect(new Uint8Array(sab, 0, 2 * P).every((b) => b === 0xa5)).toBe(true);
    expect(a.pageEntry(P)).toBe(-1);
  });
});

describe('runs', () => {
  it('allocates from the lowest head first and fills the page map', () => {
    const a = small();
    const r1 = a.allocRun(1, RUN);
    const r2 = a.allocRun(3, TIER_BIG);
    expect([r1, r2]).toEqual([P, 2 * P]);
    const u32 = a.u32;
    const head = a.pageEntry(r2);
    expect(u32[head + PM_TIER]).toBe(TIER_BIG | PM_FLAG_HEAD);
    expect(u32[head + PM_HEAD_PAGE]).toBe(2);
    expect(u32[head + PM_RUN_PAGES]).toBe(3);
    expect(u32[head + PM_DESC]).toBe(0);
    const inner = a.pageEntry(r2 + 2 * P + 12345);
    expect(u32[inner + PM_TIER]).toBe(TIER_BIG);
    expect(u32[inner + PM_HEAD_PAGE]).toBe(2);
    expect(a.runPages(r2)).toBe(3);
    expect(a.runPages(r2 + P)).toBe(0);
    expect(a.runPages(5 * P)).toBe(0);
    expect(a.runPages(0)).toBe(0);
    expect(runsOf(a)).toEqual([
      [0, 1, META],
      [1, 1, RUN],
      [2, 3, TIER_BIG],
      [5, 11, FREE],
    ]);
    expect(a.stats().pagesByTier).toEqual([11, 1, 0, 0, 0, 3, 1]);
    a.check();
  });

  it('chooses the best fit: an exact bin first, else the smallest larger run', () => {
    const a = small();
    const [A, , C, , E] = [3, 1, 1, 1, 2, 1].map((n) => a.allocRun(n, RUN));
    a.freeRun(A!);
    a.freeRun(C!);
    a.freeRun(E!);
    expect(runsOf(a)).toEqual([
      [0, 1, META],
      [1, 3, FREE],
      [4, 1, RUN],
      [5, 1, FREE],
      [6, 1, RUN],
      [7, 2, FREE],
      [9, 1, RUN],
      [10, 6, FREE],
    ]);
    expect(a.allocRun(2, RUN)).toBe(7 * P);
    expect(a.allocRun(1, RUN)).toBe(5 * P);
    expect(a.allocRun(1, RUN)).toBe(1 * P);
    expect(a.allocRun(2, RUN)).toBe(2 * P);
    expect(a.allocRun(4, RUN)).toBe(10 * P);
    expect(runsOf(a).filter((r) => r[2] === FREE)).toEqual([[14, 2, FREE]]);
    a.check();
  });

  it('coalesces a freed run with both neighbours', () => {
    const a = small();
    const [X, Y, Z, W] = [2, 2, 2, 1].map((n) => a.allocRun(n, RUN));
    a.freeRun(X!);
    a.freeRun(Z!);
    expect(a.stats().freeRuns).toBe(3);
    a.freeRun(Y!);
    expect(runsOf(a)).toEqual([
      [0, 1, META],
      [1, 6, FREE],
      [7, 1, RUN],
      [8, 8, FREE],
    ]);
    a.freeRun(W!);
    expect(runsOf(a)).toEqual([
      [0, 1, META],
      [1, 15, FREE],
    ]);
    expect(a.stats().freeRuns).toBe(1);
    a.check();
  });

  it('rejects bad frees precisely and changes nothing', () => {
    const a = small();
    const r = a.allocRun(3, RUN);
    const gone = a.allocRun(1, RUN);
    a.freeRun(gone);
    const before = stateOf(a);
    expectCode(
      () => a.freeRun(r + P),
      'ERR_INVALID_POINTER',
      /offset 131072 is inside the page run at 65536, not its start/,
    );
    expectCode(
      () => a.freeRun(gone),
      'ERR_DOUBLE_FREE',
      /the page run at offset 262144 is free \(already freed\)/,
    );
    expectCode(() => a.freeRun(0), 'ERR_INVALID_POINTER', /offset 0 is arena metadata/);
    expectCode(() => a.freeRun(r + 8), 'ERR_INVALID_POINTER', /offset 65544 is not 64 KiB aligned/);
    expectCode(
      () => a.freeRun(16 * P),
      'ERR_INVALID_POINTER',
      /offset 1048576 is not in the heap's pages \[0, 1048576\)/,
    );
    expectCode(() => a.freeRun(-P), 'ERR_INVALID_POINTER', /offset -65536 /);
    expectCode(() => a.freeRun(Number.NaN), 'ERR_INVALID_POINTER', /offset NaN /);
    expectCode(() => a.freeRun('65536' as never), 'ERR_INVALID_POINTER', /offset "65536" /);
    const { locks: _l, ...statsAfter } = a.stats();
    expect(stateOf(a)).toEqual(before);
    expect(statsAfter.runFrees).toBe(1);
    a.check();
    a.freeRun(r);
    expectCode(() => a.freeRun(r), 'ERR_DOUBLE_FREE');
    a.check();
  });

  it('rejects bad allocRun arguments and returns 0 when maxBytes cannot hold the run', () => {
    const a = small();
    const before = stateOf(a);
    for (const pages of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectCode(
        () => a.allocRun(pages, RUN),
        'ERR_INVALID_SIZE',
        /allocRun: pages .* is not a positive integer/,
      );
    }
    for (const tier of [TIER_FREE, TIER_META, 256, 2.5]) {
      expectCode(
        () => a.allocRun(1, tier),
        'ERR_INVALID_OPTION',
        /allocRun: tier .* is not a tier id 2..255/,
      );
    }
    expect(a.allocRun(64, RUN)).toBe(0);
    expect(a.allocRun(1e6, RUN)).toBe(0);
    expect(stateOf(a)).toEqual(before);
    expect(a.allocRun(63, RUN)).toBe(P);
    expect(a.committedBytes()).toBe(64 * P);
    a.check();
  });

  it('resizes in place: shrink, grow into a free successor, grow the memory when last', () => {
    const a = small();
    const R = a.allocRun(2, RUN);
    const S = a.allocRun(1, RUN);
    expect(a.resizeRun(R, 3)).toBe(false);
    expect(a.resizeRun(R, 2)).toBe(true);
    expect(a.resizeRun(S, 5)).toBe(true);
    expect(runsOf(a)).toEqual([
      [0, 1, META],
      [1, 2, RUN],
      [3, 5, RUN],
      [8, 8, FREE],
    ]);
    expect(a.resizeRun(S, 2)).toBe(true);
    expect(a.resizeRun(R, 1)).toBe(true);
    expect(runsOf(a)).toEqual([
      [0, 1, META],
      [1, 1, RUN],
      [2, 1, FREE],
      [3, 2, RUN],
      [5, 11, FREE],
    ]);
    a.check();
    expect(a.resizeRun(S, 20)).toBe(true);
    expect(a.committedBytes()).toBe(23 * P);
    expect(runsOf(a).slice(-1)).toEqual([[3, 20, RUN]]);
    const inner = a.pageEntry(S + 19 * P);
    expect(a.u32[inner + PM_HEAD_PAGE]).toBe(3);
    expect(a.resizeRun(S, 64)).toBe(false);
    expect(a.resizeRun(S, 60)).toBe(true);
    expect(a.committedBytes()).toBe(63 * P);
    expect(a.resizeRun(S, 62)).toBe(false);
    expect(a.resizeRun(S, 61)).toBe(true);
    a.check();
    const before = stateOf(a);
    expectCode(() => a.resizeRun(S, 0), 'ERR_INVALID_SIZE', /resizeRun: pages 0/);
    expectCode(
      () => a.resizeRun(2 * P, 1),
      'ERR_INVALID_POINTER',
      /resizeRun: the page run at offset 131072 is free/,
    );
    expectCode(() => a.resizeRun(S + P, 1), 'ERR_INVALID_POINTER', /inside the page run at 196608/);
    expect(stateOf(a)).toEqual(before);
  });

  it('grows on demand by max(needed, committed / 8), up to maxBytes', () => {
    const a = small(8, 64);
    const b = Arena.attach(a.memory);
    expect(b.refresh()).toBe(false);
    const r = a.allocRun(20, RUN);
    expect(r).toBe(P);
    expect(a.committedBytes()).toBe(21 * P);
    expect((a.memory as SharedArrayBuffer).byteLength).toBe(21 * P);
    expect(a.viewBytes).toBe(21 * P);
    expect(b.viewBytes).toBe(8 * P);
    expect(b.refresh()).toBe(true);
    expect(b.viewBytes).toBe(21 * P);
    expect(b.refresh()).toBe(false);
    expect(a.allocRun(1, RUN)).toBe(21 * P); // grows by ceil(20 / 8) = 3 pages
    expect(a.committedBytes()).toBe(24 * P);
    const before = stateOf(a);
    expect(a.allocRun(50, RUN)).toBe(0);
    expect(stateOf(a)).toEqual(before);
    expect(a.allocRun(42, RUN)).toBe(22 * P);
    expect(a.committedBytes()).toBe(64 * P);
    expect(a.allocRun(1, RUN)).toBe(0);
    expect(a.stats().growths).toBe(3);
    a.check();
    b.check();
  });

  it("pageEntry is -1 outside committed heap pages and follows other instances' growth", () => {
    const a = small(4, 64);
    const b = Arena.attach(a.memory);
    expect(a.pageEntry(-1)).toBe(-1);
    expect(a.pageEntry(Number.NaN)).toBe(-1);
    expect(a.pageEntry(4 * P)).toBe(-1);
    expect(a.pageEntry(2 ** 32)).toBe(-1);
    expect(a.pageEntry(0)).toBeGreaterThan(0);
    const r = a.allocRun(10, RUN);
    expect(b.viewBytes).toBe(4 * P);
    const e = b.pageEntry(r + 9 * P);
    expect(b.viewBytes).toBe(a.viewBytes);
    expect(b.u32[e + PM_HEAD_PAGE]).toBe(r / P);
    expect(b.runPages(r)).toBe(10);
  });

  it('setPageDesc writes a tier-owned descriptor that survives until the run is freed', () => {
    const a = small();
    const r = a.allocRun(2, TIER_TINY);
    a.setPageDesc(r / P + 1, 0xdeadbeef);
    expect(a.u32[a.pageEntry(r + P) + PM_DESC]).toBe(0xdeadbeef);
    // Development build checks:
    expectCode(() => a.setPageDesc(0, 1), 'ERR_INVALID_POINTER', /page 0 is not a committed heap page/);
    expectCode(() => a.setPageDesc(10, 1), 'ERR_INVALID_POINTER', /page 10 belongs to no tier \(tier id 0\)/);
    a.freeRun(r);
    expect(a.allocRun(2, TIER_TINY)).toBe(r);
    expect(a.u32[a.pageEntry(r + P) + PM_DESC]).toBe(0);
  });

  it('serves runs of 1024+ pages from the log bins, best fit, with leaves made on growth', () => {
    const a = Arena.format({ initialBytes: 1 << 20, maxBytes: 2 ** 29 });
    const big1 = a.allocRun(1100, TIER_BIG);
    const sep1 = a.allocRun(1, RUN);
    const big2 = a.allocRun(2000, TIER_BIG);
    const sep2 = a.allocRun(1, RUN);
    expect([big1, sep1, big2, sep2].every((o) => o > 0)).toBe(true);
    expect(a.committedBytes()).toBeGreaterThan(3102 * P);
    a.check();
    a.freeRun(big2);
    a.freeRun(big1);
    expect(a.allocRun(1050, TIER_BIG)).toBe(big1);
    expect(a.allocRun(1500, TIER_BIG)).toBe(big2);
    // Free now: 50 pages after big1's head, 500 after big2's, at most 16 (the growth slack) at the
    // end: best fit for 100 is the 500.
    expect(a.committedBytes() - (sep2 + P)).toBeLessThanOrEqual(16 * P);
    expect(a.allocRun(100, TIER_BIG)).toBe(big2 + 1500 * P);
    a.check();
    // Three 64 MiB leaf boundaries were crossed: leaves 1 and 2 came from the header page's spare
    // blocks, leaf 3 from a META page carved at the start of the new range (no free page elsewhere).
    expect(a.stats().pagesByTier[META]).toBe(2);
    expect(runsOf(a)).toContainEqual([1102, 1, META]);
    for (const run of a.snapshot()) expect(a.pageEntry(run.offset)).toBeGreaterThan(0);
  });
});

describe('page-map leaves', () => {
  it('format creates every leaf the initial memory needs (header blocks first, then a carved META page)', () => {
    const a = Arena.format({ initialBytes: 5 * 1024 * P, maxBytes: 8 * 1024 * P }); // 320 MiB: leaves 0..4
    expect(runsOf(a)).toEqual([
      [0, 1, META],
      [1, 1, META],
      [2, 5 * 1024 - 2, FREE],
    ]);
    for (let leaf = 0; leaf < 5; leaf++) expect(a.u32[a.leafDir + leaf]).toBeGreaterThan(0);
    expect(a.u32[a.leafDir + 5]).toBe(0);
    expect(a.stats().metaBytes).toBe(6 * 16384);
    a.check();
    // The carved page still has two free 16 KiB blocks: the next leaf needs no new page.
    const r = a.allocRun(5 * 1024 - 2 + 100, TIER_BIG);
    expect(r).toBe(2 * P);
    expect(a.stats().pagesByTier[META]).toBe(2);
    a.check();
  });
});

describe('metaAlloc', () => {
  it('hands out zero-filled power-of-two blocks aligned to their class, and reuses freed ones', () => {
    const a = small();
    const x = a.metaAlloc(1);
    const y = a.metaAlloc(17);
    const z = a.metaAlloc(4096);
    const w = a.metaAlloc(65536);
    expect(x % 16).toBe(0);
    expect(y % 32).toBe(0);
    expect(z % 4096).toBe(0);
    expect(w % P).toBe(0);
    a.u8.fill(0xff, y, y + 32);
    a.metaFree(y);
    const y2 = a.metaAlloc(32);
    expect(y2).toBe(y);
    expect(a.u8.subarray(y2, y2 + 32).every((b) => b === 0)).toBe(true);
    const META_PAGES = runsOf(a).filter((r) => r[2] === META).length;
    expect(META_PAGES).toBe(5); // header, and one page each for 16, 32, 4096 and 65536 bytes
    expect(a.stats().metaBytes).toBe(2 * 16384 + 16 + 32 + 4096 + 65536);
    a.check();
  });

  it('serves more than 64 KiB as a zero-filled META run and takes it back', () => {
    const a = small();
    const r = a.allocRun(3, RUN);
    a.u8.fill(7, r, r + 3 * P);
    a.freeRun(r);
    const m = a.metaAlloc(100000);
    expect(m).toBe(r);
    expect(runsOf(a)).toContainEqual([1, 2, META]);
    expect(a.u8.subarray(m, m + 2 * P).every((b) => b === 0)).toBe(true);
    expectCode(() => a.freeRun(m), 'ERR_INVALID_POINTER', /arena metadata/);
    a.metaFree(m);
    expect(runsOf(a)).toEqual([
      [0, 1, META],
      [1, 15, FREE],
    ]);
    a.check();
  });

  it('rejects what it did not hand out', () => {
    const a = small();
    const x = a.metaAlloc(64);
    const r = a.allocRun(1, RUN);
    const before = stateOf(a);
    expectCode(() => a.metaAlloc(0), 'ERR_INVALID_SIZE', /metaAlloc: bytes 0/);
    expectCode(() => a.metaAlloc(2.5), 'ERR_INVALID_SIZE');
    expectCode(() => a.metaFree(0), 'ERR_INVALID_POINTER', /metaFree: offset 0 is not a metaAlloc block/);
    expectCode(
      () => a.metaFree(x + 16),
      'ERR_INVALID_POINTER',
      /not at the start of a 64-byte metaAlloc block/,
    );
    expectCode(() => a.metaFree(r), 'ERR_INVALID_POINTER', /not in a metaAlloc page/);
    expectCode(() => a.metaFree(a.u32[a.leafDir]! * 4), 'ERR_INVALID_POINTER', /page-map leaf/);
    expect(stateOf(a)).toEqual(before);
    a.metaFree(x);
    expectCode(() => a.metaFree(x), 'ERR_DOUBLE_FREE', /already free/); // development build check
    a.check();
  });
});

describe('metaAlloc pages return to the free runs', () => {
  it('issue 9: an emptied 24 MiB heap whose META pages were taken while it was full allocates a run of every free page', () => {
    const a = Arena.format({ initialBytes: 384 * P, maxBytes: 384 * P }); // cannot grow
    const runs: number[] = [];
    for (let r = a.allocRun(1, RUN); r !== 0; r = a.allocRun(1, RUN)) runs.push(r);
    expect(runs).toHaveLength(383);
    // The heap is full: every 8th page is given up and taken again by metadata, a whole page of
    // blocks of one class each (64, 16 and 4 KiB), so META pages are spread over the heap.
    const blocks: number[] = [];
    for (let k = 0; k * 8 < runs.length; k++) {
      a.freeRun(runs[k * 8]!);
      const shift = [16, 14, 12][k % 3]!;
      for (let b = 0; b < P >>> shift; b++) blocks.push(a.metaAlloc(1 << shift));
      expect(a.stats().freePages).toBe(0);
    }
    expect(a.stats().pagesByTier[META]).toBe(1 + 48);
    for (let k = 0; k < runs.length; k++) if (k % 8 !== 0) a.freeRun(runs[k]!);
    // Blocks freed out of order: each page is emptied by its last block, wherever it is.
    for (let i = blocks.length - 1; i >= 0; i -= 2) a.metaFree(blocks[i]!);
    for (let i = blocks.length % 2 === 0 ? 0 : 1; i < blocks.length; i += 2) a.metaFree(blocks[i]!);
    a.check();
    const s = a.stats();
    expect(s.pagesByTier[META]).toBe(1); // the header page
    expect(s.freeRuns).toBe(1);
    expect(s.largestFreeRunPages).toBe(383);
    expect(a.allocRun(383, RUN)).toBe(P);
    a.check();
  });

  it('a page keeps its blocks while one is handed out, and the freed page is taken again for any use', () => {
    const a = small();
    const x = a.metaAlloc(1024);
    const y = a.metaAlloc(1024);
    expect(runsOf(a)).toEqual([
      [0, 1, META],
      [1, 1, META],
      [2, 14, FREE],
    ]);
    a.metaFree(x);
    expect(runsOf(a)[1]).toEqual([1, 1, META]);
    expect(a.metaAlloc(1024)).toBe(x); // its free list first
    a.metaFree(x);
    a.metaFree(y);
    expect(runsOf(a)).toEqual([
      [0, 1, META],
      [1, 15, FREE],
    ]);
    expect(a.stats().metaBytes).toBe(2 * 16384);
    a.check();
    expect(a.allocRun(15, RUN)).toBe(P);
    a.check();
  });
});

describe('thread registry', () => {
  it('threadClaim: live → reclaiming by CAS, once; a wrong generation or a free slot is ERR_INVALID_THREAD and changes nothing', () => {
    const a = small(4, 256);
    const b = Arena.attach(a.memory);
    const id = b.threadAttach();
    const generation = a.i32[a.threadRecord(id) + 1]!;
    expectCode(() => a.threadClaim(id, generation + 1), 'ERR_INVALID_THREAD', /holds generation/);
    expect(a.threadState(id)).toBe(THREAD_LIVE);
    expect(a.threadClaim(id, generation)).toBe(generation);
    expect(a.threadState(id)).toBe(THREAD_RECLAIMING);
    expectCode(() => a.threadClaim(id), 'ERR_INVALID_THREAD', /already being reclaimed/);
    expect(a.threadIds()).toContain(id);
    expect(a.stats().threads).toBe(1);
    a.check(); // a slot being reclaimed is occupied
    a.threadRelease(id);
    expect(a.threadState(id)).toBe(THREAD_FREE);
    expectCode(() => a.threadClaim(id), 'ERR_INVALID_THREAD', /is not attached/);
    expectCode(() => a.threadClaim(99), 'ERR_INVALID_THREAD', /never handed out/);
    a.check();
  });

  it('threadClaim takes over a slot whose reclaimer is gone (released, reclaimed, or its slot attached again), never one whose reclaimer lives', () => {
    const a = small(4, 256);
    a.threadAttach();
    const dead = Arena.attach(a.memory);
    const x = dead.threadAttach();
    const reclaimer = Arena.attach(a.memory);
    const r = reclaimer.threadAttach();
    const generation = reclaimer.threadClaim(x);
    expect(a.threadState(x)).toBe(THREAD_RECLAIMING);
    // The reclaimer lives: nobody else goes on, nothing changes.
    const before = stateOf(a);
    expectCode(
      () => a.threadClaim(x),
      'ERR_INVALID_THREAD',
      new RegExp(`already being reclaimed by thread ${r}$`),
    );
    expect(a.threadState(x)).toBe(THREAD_RECLAIMING);
    expect(stateOf(a)).toEqual(before);
    // The reclaimer dies mid-reclaim and is reclaimed itself: the slot it claimed is taken over.
    expect(a.threadClaim(r)).toBeGreaterThan(0);
    expect(a.breakLocksOf(r)).toBe(0);
    a.threadRelease(r);
    expect(a.threadClaim(x, generation)).toBe(generation);
    expectCode(() => reclaimer.threadClaim(x), 'ERR_INVALID_THREAD', /already being reclaimed by thread 1$/);
    a.threadRelease(x);
    expect(a.threadState(x)).toBe(THREAD_FREE);
    a.check();
    // A claimer whose slot was attached again by another thread (another generation) is gone too.
    const y = Arena.attach(a.memory).threadAttach();
    const second = Arena.attach(a.memory);
    const s = second.threadAttach();
    second.threadClaim(y);
    second.threadRelease(s);
    const again = Arena.attach(a.memory);
    expect(again.threadAttach()).toBe(s); // the claimer's slot, a new generation
    expect(a.threadClaim(y)).toBeGreaterThan(0);
    a.threadRelease(y);
    a.check();
    // An instance without a slot is never known gone: its claim is not taken over.
    const z = Arena.attach(a.memory).threadAttach();
    Arena.attach(a.memory).threadClaim(z);
    expectCode(() => a.threadClaim(z), 'ERR_INVALID_THREAD', /by an instance without a thread slot/);
  });

  it('a thread that died holding the arena mutex after its threadRelease freed its slot: threadClaim says so, breakLocksOf releases it', () => {
    const a = small(4, 256);
    a.threadAttach();
    const b = Arena.attach(a.memory);
    const id = b.threadAttach();
    b.threadRelease(id);
    a.hdr[HDR_LOCK] = id; // as if it died between its last store and its unlock
    expectCode(
      () => a.threadClaim(id),
      'ERR_INVALID_THREAD',
      new RegExp(
        `thread ${id} is not attached but holds the arena mutex .*breakLocksOf\\(${id}\\) releases it`,
      ),
    );
    expect(a.breakLocksOf(id)).toBe(1);
    expect(a.allocRun(1, RUN)).toBeGreaterThan(0);
    a.check();
  });

  it('hands out ids from 1 without limit, reuses released ids and bumps generations', () => {
    const a = small(4, 256);
    const instances = Array.from({ length: 200 }, () => Arena.attach(a.memory));
    const ids = instances.map((arena) => arena.threadAttach());
    expect(ids).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const records = ids.map((id) => a.threadRecord(id));
    const sorted = [...records].sort((x, y) => x - y);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(16);
    expect(a.threadIds()).toEqual(ids);
    expect(a.stats().threads).toBe(200);
    a.check();
    a.i32[a.threadRecord(17) + 6] = 1234; // a tier's word
    instances[16]!.threadRelease(17);
    expect(instances[16]!.threadId).toBe(0);
    a.threadRelease(5);
    expect(a.threadState(17)).toBe(0);
    expect(a.threadIds().length).toBe(198);
    expectCode(() => a.threadRelease(5), 'ERR_INVALID_THREAD', /thread id 5 is not attached/);
    expectCode(() => a.threadRecord(0), 'ERR_INVALID_THREAD', /thread id 0 was never handed out/);
    expectCode(() => a.threadRecord(201), 'ERR_INVALID_THREAD');
    a.check();
    const gen = a.i32[a.threadRecord(17) + 1];
    const c = Arena.attach(a.memory);
    expect(c.threadAttach()).toBe(5);
    const d = Arena.attach(a.memory);
    expect(d.threadAttach()).toBe(17);
    expect(a.i32[a.threadRecord(17) + 1]).toBe(gen! + 1);
    expect(a.i32[a.threadRecord(17) + 6]).toBe(0);
    expect(a.threadState(17)).toBe(1);
    expectCode(() => d.threadAttach(), 'ERR_INVALID_THREAD', /already attached as thread 17/);
    const e = Arena.attach(a.memory);
    expect(e.threadAttach()).toBe(201);
    a.check();
  });
});

describe('mutex and locks', () => {
  it('counts acquisitions and is re-entrant within one instance', () => {
    const a = small();
    const before = a.stats().locks.acquisitions;
    a.allocRun(1, RUN);
    expect(a.stats().locks.acquisitions).toBe(before + 2);
    a.lock();
    a.lock();
    expect(a.allocRun(1, RUN)).toBeGreaterThan(0);
    a.unlock();
    a.unlock();
    expectCode(() => a.unlock(), 'ERR_HEAP_CORRUPTED', /does not hold the arena mutex/);
    expect(a.stats().locks).toMatchObject({ contended: 0, waits: 0 });
  });
});

describe('attach', () => {
  it('shares one heap between instances', () => {
    const a = small();
    const b = Arena.attach(a.memory);
    const r = b.allocRun(2, RUN);
    expect(a.runPages(r)).toBe(2);
    a.freeRun(r);
    expect(b.runPages(r)).toBe(0);
    b.check();
  });

  it('rejects a memory without a heap, or with another layout version, precisely', () => {
    expectCode(
      () => Arena.attach(new SharedArrayBuffer(4 * P)),
      'ERR_HEAP_INCOMPATIBLE',
      /no hakmem heap in this fixed-length SharedArrayBuffer of 262144 bytes: no header with magic 0x4d4b4148/,
    );
    expectCode(
      () => Arena.attach({} as never),
      'ERR_HEAP_INCOMPATIBLE',
      /\[object Object\] is not a SharedArrayBuffer/,
    );
    const a = Arena.format({ initialBytes: 4 * P, maxBytes: 8 * P, base: 2 * P });
    expect(Arena.attach(a.memory, { base: 2 * P }).base).toBe(2 * P);
    expectCode(
      () => Arena.attach(a.memory, { base: P }),
      'ERR_HEAP_INCOMPATIBLE',
      /no hakmem heap header .* at base 65536/,
    );
    a.i32[a.headerIndex + HDR_VERSION] = LAYOUT_VERSION + 1;
    expectCode(
      () => Arena.attach(a.memory),
      'ERR_HEAP_INCOMPATIBLE',
      new RegExp(
        `the heap at offset 131072 has layout version ${LAYOUT_VERSION + 1}; this @hakmem/page-arena reads layout version ${LAYOUT_VERSION} only`,
      ),
    );
    a.i32[a.headerIndex + HDR_VERSION] = LAYOUT_VERSION;
    a.i32[a.headerIndex + HDR_MAX_PAGES]! += 1; // fails the checksum
    expectCode(() => Arena.attach(a.memory), 'ERR_HEAP_INCOMPATIBLE', /fails its checksum/);
  });

  it('keeps the error code across postMessage (message prefix)', () => {
    let error: unknown;
    try {
      Arena.attach(new SharedArrayBuffer(P));
    } catch (e) {
      error = structuredClone(e);
    }
    expect(HakmemError.codeOf(error)).toBe('ERR_HEAP_INCOMPATIBLE');
  });
});

import { Arena, HakmemError } from '@hakmem/page-arena';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../scripts/test-support';
import {
  CACHE_EPOCH_EVENTS,
  CACHE_MAX_CAP,
  CACHE_MIN_CAP,
  CC_CAP,
  CC_COUNT,
  CC_MAX_CAP,
  CC_SHIFT,
  TC_BUDGET,
  TC_CAP_BYTES,
} from './layout';
import { type CacheBackend, TlsCache } from './tls-cache';

const MiB = 2 ** 20;
const SIZES = [16, 64, 1024];

/**
 * A backend over one page run: blocks of each class carved from a bump pointer, free ones in JS
 * arrays. It records every block it handed out so the tests can see what a cache holds.
 */
class TestBackend implements CacheBackend {
  readonly strict: boolean = false;
  refilled = 0;
  readonly tier: number;
  /** Blocks out of the backend (in a cache or with a user) → class. */
  readonly out = new Map<number, number>();
  readonly free: number[][] = SIZES.map(() => []);
  refills = 0;
  spilled = 0;
  private bump: number;
  private readonly end: number;

  constructor(
    private readonly arena: Arena,
    pages: number,
  ) {
    this.tier = arena.tierFind('test') || arena.tierOpen('test', 0, 1024, 64);
    this.bump = arena.allocRun(pages, this.tier);
    this.end = this.bump + pages * 65536;
  }

  cacheRefill(cls: number, want: number): number {
    this.refills++;
    const size = SIZES[cls]!;
    const u32 = this.arena.u32;
    let head = 0;
    let n = 0;
    while (n < want) {
      let p = this.free[cls]!.pop();
      if (p === undefined) {
        if (this.bump + size > this.end) break;
        p = this.bump;
        this.bump += size;
      }
      u32[p >>> 2] = head;
      head = p;
      this.out.set(p, cls);
      n++;
    }
    this.refilled = n;
    return head;
  }

  cacheSpill(cls: number, head: number, count: number): void {
    let p = head;
    for (let i = 0; i < count; i++) {
      if (this.out.get(p) !== cls)
        throw new Error(`spill of ${p}, not a class-${cls} block out of the backend`);
      const next = this.arena.u32[p >>> 2]!;
      this.out.delete(p);
      this.free[cls]!.push(p);
      this.spilled++;
      p = next;
    }
    if (p !== 0) throw new Error(`spill chain of ${count} blocks continues to ${p}`);
  }

  cacheRecover(cls: number, ptr: number): number {
    if (this.out.get(ptr) !== cls) return -1;
    const next = this.arena.u32[ptr >>> 2]!;
    this.out.delete(ptr);
    this.free[cls]!.push(ptr);
    return next;
  }

  cacheCheckBlock(cls: number, ptr: number, threadId: number): void {
    if (this.out.get(ptr) !== cls) {
      throw new HakmemError(
        'ERR_HEAP_CORRUPTED',
        `thread ${threadId}'s cache holds ${ptr}, not a class-${cls} block`,
      );
    }
  }

  cacheCheckOut(_cls: number, _ptr: number): void {}

  cacheCheckIn(_cls: number, _ptr: number): void {}
}

/** The same backend with strict checks: it knows which blocks are with a user. */
class StrictBackend extends TestBackend {
  override readonly strict = true;
  readonly live = new Set<number>();

  override cacheCheckOut(cls: number, ptr: number): void {
    if (this.out.get(ptr) !== cls || this.live.has(ptr))
      throw new HakmemError('ERR_HEAP_CORRUPTED', `cache head ${ptr} is not a free class-${cls} block`);
    this.live.add(ptr);
  }

  override cacheCheckIn(cls: number, ptr: number): void {
    if (this.out.get(ptr) !== cls)
      throw new HakmemError('ERR_INVALID_POINTER', `${ptr} is not a class-${cls} block`);
    if (!this.live.delete(ptr)) throw new HakmemError('ERR_DOUBLE_FREE', `${ptr} is not live`);
  }
}

function setup(budgetBytes?: number, pages = 64, classBytes?: number) {
  const arena = Arena.format({ initialBytes: MiB, maxBytes: 64 * MiB });
  arena.threadAttach();
  const backend = new TestBackend(arena, pages);
  const rootWord = arena.tierInfo(backend.tier).root;
  const cache = new TlsCache(arena, backend, {
    tier: backend.tier,
    threadWord: 0,
    classSizes: SIZES,
    rootWord,
    budgetBytes,
    classBytes,
  });
  return { arena, backend, cache, rootWord };
}

const codeOf = (fn: () => unknown) => thrownCode(fn, HakmemError.codeOf);

describe('TlsCache', () => {
  it('needs an attached thread and valid options', () => {
    const arena = Arena.format({ initialBytes: MiB, maxBytes: 8 * MiB });
    const backend = new TestBackend(arena, 1);
    const rootWord = arena.tierInfo(backend.tier).root;
    const tier = backend.tier;
    expect(
      codeOf(() => new TlsCache(arena, backend, { tier, threadWord: 0, classSizes: SIZES, rootWord })),
    ).toBe('ERR_INVALID_THREAD');
    arena.threadAttach();
    expect(
      codeOf(() => new TlsCache(arena, backend, { tier, threadWord: 4, classSizes: SIZES, rootWord })),
    ).toBe('ERR_INVALID_OPTION');
    expect(
      codeOf(() => new TlsCache(arena, backend, { tier, threadWord: 0, classSizes: [], rootWord })),
    ).toBe('ERR_INVALID_OPTION');
    expect(
      codeOf(
        () =>
          new TlsCache(arena, backend, { tier, threadWord: 0, classSizes: SIZES, rootWord, budgetBytes: -1 }),
      ),
    ).toBe('ERR_INVALID_OPTION');
  });

  it('refills half its capacity on a miss, then serves LIFO hits', () => {
    const { backend, cache } = setup();
    expect(cache.cacheCapacity(1)).toBe(32); // 2 KiB / 64 B
    const p = cache.cachePop(1);
    expect(backend.refills).toBe(1);
    expect(cache.cacheCount(1)).toBe(15);
    for (let i = 0; i < 15; i++) cache.cachePop(1);
    expect(backend.refills).toBe(1);
    cache.cachePush(1, p);
    expect(cache.cachePop(1)).toBe(p);
    const s = cache.cacheStats()[1]!;
    expect(s).toMatchObject({ size: 64, live: 16, cached: 0, hits: 16, misses: 1, spills: 0 });
    cache.cacheCheck();
  });

  it('spills the oldest half when full, keeping the newest blocks', () => {
    // a budget below the classes' minimum: no class can grow, so a full list spills
    const { backend, cache } = setup(3072);
    const cap = cache.cacheCapacity(0);
    expect(cap).toBe(32);
    const blocks = Array.from({ length: cap + 1 }, () => cache.cachePop(0));
    cache.cacheFlush();
    const refills = backend.refills;
    const spilled = backend.spilled;
    for (let i = 0; i < cap; i++) cache.cachePush(0, blocks[i]!);
    expect(cache.cacheCount(0)).toBe(cap);
    cache.cachePush(0, blocks[cap]!); // full: the first spill of the epoch does not grow
    expect(cache.cacheCapacity(0)).toBe(cap);
    expect(cache.cacheCount(0)).toBe(cap / 2 + 1);
    expect(backend.spilled - spilled).toBe(cap / 2);
    // newest first
    expect(cache.cachePop(0)).toBe(blocks[cap]);
    expect(cache.cachePop(0)).toBe(blocks[cap - 1]);
    expect(backend.refills).toBe(refills);
    expect(cache.cacheStats()[0]!.spills).toBe(1);
    cache.cacheCheck();
  });

  it('grows a class that keeps missing and shrinks one that went cold, within the byte budget', () => {
    const budget = 64 * 1024;
    const { arena, cache } = setup(budget, 256);
    const cold = cache.cacheCapacity(2);
    const q = cache.cachePop(2);
    cache.cachePush(2, q);
    const hot = cache.cacheCapacity(0);
    const held: number[] = [];
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 3000; i++) held.push(cache.cachePop(0));
      while (held.length > 0) cache.cachePush(0, held.pop()!);
    }
    expect(cache.cacheCapacity(0)).toBeGreaterThan(hot);
    expect(cache.cacheCapacity(2)).toBeLessThan(cold);
    expect(cache.cacheCapacity(2)).toBe(CACHE_MIN_CAP);
    const area = cache.area;
    expect(arena.i32[area + TC_CAP_BYTES]).toBeLessThanOrEqual(arena.i32[area + TC_BUDGET]!);
    expect(cache.cacheCount(2)).toBeLessThanOrEqual(CACHE_MIN_CAP);
    cache.cacheCheck();
  });

  it('never lets the capacities exceed a small budget', () => {
    const { arena, cache } = setup(4096);
    const held: number[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 500; i++) held.push(cache.cachePop(round % 2));
      while (held.length > 0) cache.cachePush(round % 2, held.pop()!);
      expect(arena.i32[cache.area + TC_CAP_BYTES]).toBeLessThanOrEqual(
        Math.max(4096, CACHE_MIN_CAP * (16 + 64 + 1024)),
      );
    }
    cache.cacheCheck();
  });

  it('returns 0 when the backend is out of memory, and serves again after frees', () => {
    const { cache } = setup(undefined, 1);
    const held: number[] = [];
    for (;;) {
      const p = cache.cachePop(2);
      if (p === 0) break;
      held.push(p);
    }
    expect(held.length).toBe(64);
    cache.cachePush(2, held.pop()!);
    expect(cache.cachePop(2)).not.toBe(0);
  });

  it('in front of a strict backend, a double push or a corrupted head is refused and nothing changes', () => {
    const arena = Arena.format({ initialBytes: MiB, maxBytes: 64 * MiB });
    arena.threadAttach();
    const backend = new StrictBackend(arena, 8);
    const cache = new TlsCache(arena, backend, {
      tier: backend.tier,
      threadWord: 1,
      classSizes: SIZES,
      rootWord: arena.tierInfo(backend.tier).root,
    });
    const a = cache.cachePop(0);
    const b = cache.cachePop(0);
    expect(a).not.toBe(b);
    cache.cachePush(0, a);
    const count = cache.cacheCount(0);
    expect(codeOf(() => cache.cachePush(0, a))).toBe('ERR_DOUBLE_FREE');
    expect(codeOf(() => cache.cachePush(1, b))).toBe('ERR_INVALID_POINTER');
    expect(cache.cacheCount(0)).toBe(count);
    expect(cache.cachePop(0)).toBe(a); // handed out once, not twice
    expect(cache.cachePop(0)).not.toBe(a);
    // A write after free over the head's link: the next pop refuses to hand out the target.
    cache.cachePush(0, a);
    arena.u32[a >>> 2] = b; // b is live
    expect(cache.cachePop(0)).toBe(a);
    expect(codeOf(() => cache.cachePop(0))).toBe('ERR_HEAP_CORRUPTED');
  });

  it('flushes, releases (folding its counters) and is reclaimed by another thread', () => {
    const { arena, backend, cache, rootWord } = setup();
    const mine = [cache.cachePop(0), cache.cachePop(1)];
    cache.cacheFlush();
    expect(cache.cacheCount(0) + cache.cacheCount(1)).toBe(0);
    expect(backend.out.size).toBe(2);

    const other = Arena.attach(arena.memory);
    const dead = other.threadAttach();
    const theirs = new TlsCache(other, backend, {
      tier: backend.tier,
      threadWord: 0,
      classSizes: SIZES,
      rootWord,
    });
    const held = [theirs.cachePop(2), theirs.cachePop(2), theirs.cachePop(0)];
    const cachedByDead = theirs.cacheCount(2) + theirs.cacheCount(0);
    expect(cachedByDead).toBeGreaterThan(0);
    cache.cacheCheck(); // walks both threads
    // `dead` stops without detaching; this thread takes its cache back
    expect(cache.cacheReclaim(dead)).toBe(cachedByDead);
    expect(cache.cacheAreaOf(dead)).toBe(0);
    expect(backend.out.size).toBe(2 + held.length);
    arena.threadRelease(dead);
    let s = cache.cacheStats();
    expect(s[2]!.live).toBe(2);
    expect(s[2]!.misses).toBe(1);
    // frees of the dead thread's blocks by this thread
    for (const p of held) cache.cachePush(p === held[2] ? 0 : 2, p);
    for (const p of mine) cache.cachePush(p === mine[0] ? 0 : 1, p);
    s = cache.cacheStats();
    expect(s.map((c) => c.live)).toEqual([0, 0, 0]);
    cache.cacheRelease();
    expect(cache.area).toBe(0);
    expect(backend.out.size).toBe(0);
    s = cache.cacheStats();
    expect(s.map((c) => c.live)).toEqual([0, 0, 0]);
    expect(s[2]!.hits + s[2]!.misses).toBe(2); // the dead thread's 2 pops, folded
    expect(s.every((c) => c.cached === 0 && c.capacity === 0)).toBe(true);
  });

  it('check finds a list that disagrees with its count', () => {
    const { arena, cache } = setup();
    cache.cachePop(0);
    cache.cacheCheck();
    const h = cache.records + (0 << CC_SHIFT);
    arena.i32[h + CC_COUNT]!++;
    expect(codeOf(() => cache.cacheCheck())).toBe('ERR_HEAP_CORRUPTED');
    arena.i32[h + CC_COUNT]! -= 2;
    expect(codeOf(() => cache.cacheCheck())).toBe('ERR_HEAP_CORRUPTED');
  });

  it('keeps every block exactly once against a model of random pops and pushes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat(2), fc.nat(1000)), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 0, max: 4 }),
        (ops, budgetStep) => {
          const { backend, cache } = setup(budgetStep * 8192, 32);
          const held: Array<[number, number]> = [];
          let slow = 0;
          for (const [isPop, cls, pick] of ops) {
            if (isPop || held.length === 0) {
              const p = cache.cachePop(cls);
              if (p === 0) continue;
              expect(held.some(([q]) => q === p)).toBe(false);
              held.push([p, cls]);
            } else {
              const [p, c] = held.splice(pick % held.length, 1)[0]!;
              cache.cachePush(c, p);
            }
            if (++slow % 50 === 0) cache.cacheCheck();
            const stats = cache.cacheStats();
            for (let c = 0; c < SIZES.length; c++) {
              expect(stats[c]!.live).toBe(held.filter(([, k]) => k === c).length);
            }
            expect(backend.out.size).toBe(held.length + stats.reduce((a, s) => a + s.cached, 0));
          }
          cache.cacheCheck();
          cache.cacheFlush();
          expect(backend.out.size).toBe(held.length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('classBytes caps each class by bytes: small blocks cannot hoard, large ones grow past a handful', () => {
    const classBytes = 8 * 1024;
    const { arena, cache } = setup(4 * MiB, 256, classBytes);
    const churn = (cls: number, n: number) => {
      const held: number[] = [];
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < n; i++) held.push(cache.cachePop(cls));
        while (held.length > 0) cache.cachePush(cls, held.pop()!);
      }
    };
    churn(0, 3000); // 16 B blocks: the count cap alone would let them reach CACHE_MAX_CAP
    expect(cache.cacheCapacity(0)).toBe(classBytes / 16);
    expect(cache.cacheCapacity(0)).toBeLessThan(CACHE_MAX_CAP);
    const first = cache.cacheCapacity(2);
    churn(2, 100); // 1 KiB blocks: from 4 up to classBytes / 1024 = 8 blocks
    expect(cache.cacheCapacity(2)).toBe(classBytes / 1024);
    expect(cache.cacheCapacity(2)).toBeGreaterThan(first);
    for (let cls = 0; cls < 3; cls++) {
      expect(cache.cacheCapacity(cls) * SIZES[cls]!).toBeLessThanOrEqual(classBytes);
      expect(cache.cacheCount(cls)).toBeLessThanOrEqual(cache.cacheCapacity(cls));
    }
    cache.cacheCheck();
    // The recorded limit is checked against the byte cap, and a capacity above it is corruption.
    const h = cache.records + (2 << CC_SHIFT);
    arena.i32[h + CC_MAX_CAP] = 64;
    expect(codeOf(() => cache.cacheCheck())).toBe('ERR_HEAP_CORRUPTED');
    arena.i32[h + CC_MAX_CAP] = classBytes / 1024;
    arena.i32[h + CC_CAP] = 32;
    expect(codeOf(() => cache.cacheCheck())).toBe('ERR_HEAP_CORRUPTED');
    arena.i32[h + CC_CAP] = classBytes / 1024;
    cache.cacheCheck();
    // Never below CACHE_MIN_CAP blocks, however small the cap; bad values are refused.
    const tiny = setup(undefined, 16, 100);
    expect(tiny.cache.cacheCapacity(2)).toBe(CACHE_MIN_CAP);
    for (const bad of [-1, 0.5, 2 ** 31])
      expect(
        codeOf(
          () =>
            new TlsCache(tiny.arena, tiny.backend, {
              tier: tiny.backend.tier,
              threadWord: 1,
              classSizes: SIZES,
              rootWord: tiny.rootWord,
              classBytes: bad,
            }),
        ),
      ).toBe('ERR_INVALID_OPTION');
  });

  it('runs epochs: an idle class gives back capacity after CACHE_EPOCH_EVENTS slow events', () => {
    const { cache } = setup();
    const cap2 = cache.cacheCapacity(2);
    // slow events in class 1 only: pop one, push one, and flush between to force misses
    for (let i = 0; i < CACHE_EPOCH_EVENTS + 1; i++) {
      const p = cache.cachePop(1);
      cache.cachePush(1, p);
      cache.cacheFlush();
    }
    expect(cache.cacheCapacity(2)).toBe(cap2 / 2);
  });
});

/** StrictBackend that answers the cache's link checks itself (a cached link must be a free block of the class). */
class LinkCheckingBackend extends StrictBackend {
  linkChecks = 0;
  cacheLinkValid(cls: number, ptr: number): boolean {
    this.linkChecks++;
    return this.out.get(ptr) === cls && !this.live.has(ptr);
  }
}

describe('TlsCache: a use-after-free write into a cached block, then a spill (issue 9)', () => {
  /** A full list of class 0 whose head's link is then overwritten with `value(head, blocks)`; the next push spills. */
  function fullList(backend: 'fallback' | 'strict', value: (head: number, blocks: number[]) => number) {
    const arena = Arena.format({ initialBytes: MiB, maxBytes: 64 * MiB });
    arena.threadAttach();
    const b = backend === 'strict' ? new LinkCheckingBackend(arena, 64) : new TestBackend(arena, 64);
    // A budget below the classes' minimum: no class grows, a full list spills.
    const cache = new TlsCache(arena, b, {
      tier: b.tier,
      threadWord: 0,
      classSizes: SIZES,
      rootWord: arena.tierInfo(b.tier).root,
      budgetBytes: 3072,
    });
    const cap = cache.cacheCapacity(0);
    const blocks = Array.from({ length: cap + 2 }, () => cache.cachePop(0));
    cache.cacheFlush();
    for (let i = 0; i < cap; i++) cache.cachePush(0, blocks[i]!);
    expect(cache.cacheCount(0)).toBe(cap);
    const head = blocks[cap - 1]!;
    const link = arena.u32[head >>> 2]!;
    arena.u32[head >>> 2] = value(head, blocks);
    return { arena, backend: b, cache, cap, blocks, head, link };
  }

  const targets: [string, (head: number, blocks: number[]) => number][] = [
    ['0', () => 0],
    ['1', () => 1],
    ['the heap header', () => 8],
    ['beyond the memory', () => 0x7ffffff0],
    ['an interior pointer', (_h, blocks) => blocks[0]! + 6],
  ];
  for (const kind of ['fallback', 'strict'] as const) {
    for (const [name, value] of targets) {
      it(`${kind === 'strict' ? "strict, the backend's cacheLinkValid" : 'no cacheLinkValid: the page map'}: link = ${name} is ERR_HEAP_CORRUPTED, nothing written`, () => {
        const { arena, backend, cache, cap, blocks, head, link } = fullList(kind, value);
        const before = arena.u8.slice();
        const spilled = backend.spilled;
        let error: unknown;
        try {
          cache.cachePush(0, blocks[cap]!);
        } catch (e) {
          error = e;
        }
        expect(HakmemError.codeOf(error)).toBe('ERR_HEAP_CORRUPTED');
        expect((error as Error).message).toContain(`0x${(value(head, blocks) >>> 0).toString(16)}`);
        expect(backend.spilled).toBe(spilled);
        expect(cache.cacheCount(0)).toBe(cap);
        // Only the cache's own counters (spills, slow events) moved: no byte of the header page
        // before them, no block.
        const area = cache.area * 4;
        for (let i = 0; i < before.length; i++) {
          if (arena.u8[i] !== before[i] && !(i >= area && i < area + 512)) {
            throw new Error(`byte ${i} changed (the cache's area is at ${area})`);
          }
        }
        arena.u32[head >>> 2] = link;
        cache.cachePush(0, blocks[cap]!);
        expect(cache.cacheCount(0)).toBe(cap / 2 + 1);
        cache.cacheCheck();
      });
    }
  }

  it('strict: a self-loop and a link past the count (the tail linked to a live block) are found before the cut', () => {
    const loop = fullList('strict', (head) => head);
    expect(codeOf(() => loop.cache.cachePush(0, loop.blocks[loop.cap]!))).toBe('ERR_HEAP_CORRUPTED');
    expect(loop.cache.cacheCount(0)).toBe(loop.cap);
    expect(loop.arena.u32[loop.head >>> 2]).toBe(loop.head);
    // The oldest cached block (the list's tail, beyond the half a spill keeps) links to a live block.
    const tail = fullList('strict', (_h, blocks) => blocks[0]!);
    tail.arena.u32[tail.head >>> 2] = tail.link;
    tail.arena.u32[tail.blocks[0]! >>> 2] = tail.blocks[tail.cap + 1]!;
    const checks = (tail.backend as LinkCheckingBackend).linkChecks;
    expect(codeOf(() => tail.cache.cachePush(0, tail.blocks[tail.cap]!))).toBe('ERR_HEAP_CORRUPTED');
    expect((tail.backend as LinkCheckingBackend).linkChecks - checks).toBe(tail.cap);
    expect(tail.cache.cacheCount(0)).toBe(tail.cap);
    tail.arena.u32[tail.blocks[0]! >>> 2] = 0;
    tail.cache.cachePush(0, tail.blocks[tail.cap]!);
    tail.cache.cacheCheck();
  });
});

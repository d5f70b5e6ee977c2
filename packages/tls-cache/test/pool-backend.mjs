// A minimal shared-memory backend for the tls-cache worker test (not a product): per class a
// LIFO list of free blocks whose head is in the mid tier's root words, carved from one-page runs
// of its tier (PM_DESC = class + 1), all under the arena mutex.
import { HakmemError, PAGE_SIZE, PM_DESC, PM_TIER } from '@hakmem/page-arena';

export const SIZES = [16, 64, 256];
/** Root words: per class a free-list head, the carve pointer, the carve end; then the cache's global-block word. */
export const CACHE_ROOT_WORD = 3 * SIZES.length;

export class PoolBackend {
  constructor(arena) {
    this.arena = arena;
    this.tier = arena.tierFind('pool') || arena.tierOpen('pool', 0, 256, 64);
    this.root = arena.tierInfo(this.tier).root;
    this.refilled = 0;
    this.strict = false;
  }

  cacheRefill(cls, want) {
    const arena = this.arena;
    arena.lock();
    try {
      const i32 = arena.i32;
      const u32 = arena.u32;
      const size = SIZES[cls];
      let head = 0;
      let n = 0;
      while (n < want) {
        let p = u32[this.root + cls];
        if (p !== 0) {
          i32[this.root + cls] = u32[p >>> 2];
        } else {
          let at = u32[this.root + SIZES.length + cls];
          if (at === 0 || at + size > u32[this.root + 2 * SIZES.length + cls]) {
            const run = arena.allocRun(1, this.tier);
            if (run === 0) break;
            arena.setPageDesc(run / PAGE_SIZE, cls + 1);
            at = run;
            arena.i32[this.root + 2 * SIZES.length + cls] = run + PAGE_SIZE;
          }
          p = at;
          arena.i32[this.root + SIZES.length + cls] = at + size;
        }
        arena.u32[p >>> 2] = head;
        head = p;
        n++;
      }
      this.refilled = n;
      return head;
    } finally {
      arena.unlock();
    }
  }

  cacheSpill(cls, head, count) {
    const arena = this.arena;
    arena.lock();
    try {
      let tail = head;
      for (let i = 1; i < count; i++) tail = arena.u32[tail >>> 2];
      arena.u32[tail >>> 2] = arena.u32[this.root + cls];
      arena.i32[this.root + cls] = head;
    } finally {
      arena.unlock();
    }
  }

  isBlock(cls, ptr) {
    const e = ptr > 0 ? this.arena.pageEntry(ptr) : -1;
    return (
      e >= 0 &&
      (this.arena.u32[e + PM_TIER] & 0xff) === this.tier &&
      this.arena.u32[e + PM_DESC] === cls + 1 &&
      (ptr % PAGE_SIZE) % SIZES[cls] === 0
    );
  }

  cacheRecover(cls, ptr) {
    if (!this.isBlock(cls, ptr)) return -1;
    const arena = this.arena;
    arena.lock();
    try {
      const next = arena.u32[ptr >>> 2];
      arena.u32[ptr >>> 2] = arena.u32[this.root + cls];
      arena.i32[this.root + cls] = ptr;
      return next;
    } finally {
      arena.unlock();
    }
  }

  cacheCheckBlock(cls, ptr, threadId) {
    if (!this.isBlock(cls, ptr)) {
      throw new HakmemError(
        'ERR_HEAP_CORRUPTED',
        `thread ${threadId}'s cache holds ${ptr}, not a ${SIZES[cls]} B pool block`,
      );
    }
  }

  /** Every free block in the pool lists (slow; quiescent). */
  freeBlocks() {
    const out = [];
    for (let cls = 0; cls < SIZES.length; cls++) {
      for (let p = this.arena.u32[this.root + cls]; p !== 0; p = this.arena.u32[p >>> 2]) out.push(p);
    }
    return out;
  }

  /** Blocks carved so far (every page of this.tier is a pool page). */
  carvedBlocks() {
    let n = 0;
    for (const run of this.arena.snapshot()) {
      if (run.tier !== this.tier) continue;
      const cls = run.desc - 1;
      const end = this.arena.u32[this.root + 2 * SIZES.length + cls];
      const used =
        end === run.offset + PAGE_SIZE
          ? this.arena.u32[this.root + SIZES.length + cls] - run.offset
          : PAGE_SIZE - (PAGE_SIZE % SIZES[cls]);
      n += Math.floor(used / SIZES[cls]);
    }
    return n;
  }
}

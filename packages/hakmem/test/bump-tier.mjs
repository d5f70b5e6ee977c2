// A tier a user might write, for the composition tests: blocks bumped out of page runs (never
// reused), each behind a 16-byte header [state, size]. All its state is in the memory: the
// bump pointer, the run end and the live counters are root words, changed under the arena
// mutex; a block's state word changes by compare-exchange, so a racing double free loses.
import { HakmemError, PAGE_SIZE, PM_TIER, PM_TIER_MASK } from '@hakmem/page-arena';

const HEADER = 16;
const LIVE = 0x4c495645;
const FREED = 0x46524545;
// Root words.
const R_NEXT = 0;
const R_END = 1;
const R_LIVE_BLOCKS = 2;
const R_LIVE_BYTES = 3;

export class BumpTier {
  kind = 'bump';

  constructor(arena, id) {
    this.arena = arena;
    const info = arena.tierInfo(id);
    this.id = id;
    this.minSize = info.minSize;
    this.maxSize = info.maxSize;
    this.root = info.root;
  }

  malloc(size) {
    if (!(Number.isInteger(size) && size >= 0 && size <= PAGE_SIZE - HEADER)) {
      throw new HakmemError('ERR_INVALID_SIZE', `bump malloc(${size}): sizes 0 … ${PAGE_SIZE - HEADER}`);
    }
    const arena = this.arena;
    const need = (size + HEADER + 15) & ~15;
    arena.lock();
    try {
      let next = arena.u32[this.root + R_NEXT];
      if (next === 0 || next + need > arena.u32[this.root + R_END]) {
        const run = arena.allocRun(1, this.id);
        if (run === 0) return 0;
        next = run;
        arena.u32[this.root + R_END] = run + PAGE_SIZE;
      }
      arena.u32[this.root + R_NEXT] = next + need;
      const u32 = arena.u32;
      u32[(next >>> 2) + 1] = size;
      Atomics.store(arena.i32, next >>> 2, LIVE);
      arena.i32[this.root + R_LIVE_BLOCKS]++;
      arena.i32[this.root + R_LIVE_BYTES] += size;
      return next + HEADER;
    } finally {
      arena.unlock();
    }
  }

  mallocAligned(alignment, size) {
    return alignment <= 16 ? this.malloc(size) : 0;
  }

  freeOwned() {
    return false;
  }

  /** The header of a block of this tier, or the error. */
  header(ptr, op) {
    const arena = this.arena;
    const e = ptr >>> 0 === ptr && ptr % 16 === 0 ? arena.pageEntry(ptr) : -1;
    if (e < 0 || (arena.u32[e + PM_TIER] & PM_TIER_MASK) !== this.id || ptr % PAGE_SIZE < HEADER) {
      throw new HakmemError('ERR_INVALID_POINTER', `bump ${op}(${ptr}): not a bump block`);
    }
    const h = (ptr - HEADER) >>> 2;
    const state = Atomics.load(arena.i32, h);
    if (state === FREED) throw new HakmemError('ERR_DOUBLE_FREE', `bump ${op}(${ptr}): already freed`);
    if (state !== LIVE) throw new HakmemError('ERR_INVALID_POINTER', `bump ${op}(${ptr}): not a block start`);
    return h;
  }

  free(ptr) {
    const h = this.header(ptr, 'free');
    const arena = this.arena;
    if (Atomics.compareExchange(arena.i32, h, LIVE, FREED) !== LIVE) {
      throw new HakmemError('ERR_DOUBLE_FREE', `bump free(${ptr}): freed by another thread just now`);
    }
    Atomics.sub(arena.i32, this.root + R_LIVE_BLOCKS, 1);
    Atomics.sub(arena.i32, this.root + R_LIVE_BYTES, arena.u32[h + 1]);
  }

  usableSize(ptr) {
    return this.arena.u32[this.header(ptr, 'usableSize') + 1];
  }

  resize() {
    return false;
  }

  flush() {}
  detach() {}
  reclaim() {}
  trim() {
    return 0;
  }

  check() {
    if (this.arena.i32[this.root + R_LIVE_BLOCKS] < 0) {
      throw new HakmemError('ERR_HEAP_CORRUPTED', 'bump tier: negative live count');
    }
  }

  stats() {
    return {
      liveBlocks: Atomics.load(this.arena.i32, this.root + R_LIVE_BLOCKS),
      liveBytes: Atomics.load(this.arena.i32, this.root + R_LIVE_BYTES),
    };
  }

  occupancy() {
    return 1;
  }
}

export const bumpTier = {
  kind: 'bump',
  sizeLimit: PAGE_SIZE - HEADER,
  rootWords: 8,
  create(arena, id) {
    return new BumpTier(arena, id);
  },
};

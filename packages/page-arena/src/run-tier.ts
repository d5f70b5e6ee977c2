import type { Arena } from './arena';
import { HakmemError } from './errors';
import {
  MAX_BYTES_LIMIT,
  PAGE_SIZE,
  PM_DESC,
  PM_FLAG_HEAD,
  PM_HEAD_PAGE,
  PM_TIER,
  PM_TIER_MASK,
  TIER_FREE,
} from './layout';
import { describe } from './options';
import type { Tier, TierFactory, TierStats } from './tier';

/** Up to this size a block's usable bytes are bounded by max(roundUp(size, 16), 1.25 × size). */
const USABLE_BOUND_MAX = 1024 * 1024;

/** Words of the run tier's root block (it keeps its state in the page map). */
const RUN_ROOT_WORDS = 4;
/** Layout version of the run tier (its root block and run format), recorded in the tier directory. */
export const RUN_LAYOUT_VERSION = 1;

/**
 * The page-run tier: every block is a run of whole 64 KiB pages straight from the arena, 64 KiB
 * aligned; the run head's PM_DESC keeps the requested size. It needs no state beyond the page
 * map, so it has no caches, nothing per thread and nothing to reclaim. Each malloc and free
 * takes the arena mutex: the tier for large blocks (or for everything, in a heap of few, big
 * blocks).
 */
export class RunTier implements Tier {
  readonly arena: Arena;
  readonly id: number;
  readonly kind = 'run';
  readonly minSize: number;
  readonly maxSize: number;
  /** Largest block the heap's maxBytes could ever hold. */
  private readonly largest: number;

  /** This thread's handle on the heap's run tier (opened with sizes 0 … 4 GiB − 1 when the heap has none); `id` from a composition. */
  constructor(arena: Arena, id?: number) {
    this.arena = arena;
    const tierId =
      id ??
      (arena.tierFind('run', RUN_LAYOUT_VERSION) ||
        arena.tierOpen('run', 0, MAX_BYTES_LIMIT - 1, RUN_ROOT_WORDS, RUN_LAYOUT_VERSION));
    const info = arena.tierExpect(tierId, 'run', RUN_LAYOUT_VERSION, 'RunTier');
    this.id = tierId;
    this.minSize = info.minSize;
    this.maxSize = info.maxSize;
    this.largest = arena.maxBytes - arena.base - 2 * PAGE_SIZE;
  }

  malloc(size: number): number {
    if (!(Number.isInteger(size) && size >= this.minSize && size <= this.maxSize && size <= this.largest)) {
      throw new HakmemError(
        'ERR_INVALID_SIZE',
        `run tier malloc(${describe(size)}): sizes are integers ${this.minSize} … ${Math.min(this.maxSize, this.largest)}`,
      );
    }
    const ptr = this.arena.allocRun(runPages(size), this.id);
    if (ptr !== 0) this.arena.setPageDesc(ptr / PAGE_SIZE, size);
    return ptr;
  }

  /** Runs are 64 KiB aligned: every accepted alignment holds. */
  mallocAligned(_alignment: number, size: number): number {
    return this.malloc(size);
  }

  freeOwned(_ptr: number): boolean {
    return false;
  }

  free(ptr: number): void {
    this.runHead(ptr, 'free', 'ERR_DOUBLE_FREE');
    this.arena.freeRun(ptr);
  }

  usableSize(ptr: number): number {
    const e = this.runHead(ptr, 'usableSize', 'ERR_INVALID_POINTER');
    return runUsableBytes(this.arena.runPages(ptr) * PAGE_SIZE, this.arena.u32[e + PM_DESC]!);
  }

  resize(ptr: number, size: number): boolean {
    this.runHead(ptr, 'resize', 'ERR_INVALID_POINTER');
    if (!this.arena.resizeRun(ptr, runPages(size))) return false;
    this.arena.setPageDesc(ptr / PAGE_SIZE, size);
    return true;
  }

  /** Page-map entry of the run `ptr` heads; the precise error otherwise (nothing changed). */
  private runHead(ptr: number, op: string, freeCode: 'ERR_DOUBLE_FREE' | 'ERR_INVALID_POINTER'): number {
    const arena = this.arena;
    const e = typeof ptr === 'number' && ptr >>> 0 === ptr ? arena.pageEntry(ptr) : -1;
    if (e < 0) {
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `${op}(${describe(ptr)}): not an offset inside the heap's pages [${arena.base}, ${arena.committedBytes()})`,
      );
    }
    const word = arena.u32[e + PM_TIER]!;
    const tier = word & PM_TIER_MASK;
    if (tier === TIER_FREE && ptr % PAGE_SIZE === 0) {
      throw new HakmemError(freeCode, `${op}(${ptr}): the block at ${ptr} is free (already freed)`);
    }
    if (tier !== this.id || ptr % PAGE_SIZE !== 0 || (word & PM_FLAG_HEAD) === 0) {
      const head = tier === this.id ? ` (its run starts at ${arena.u32[e + PM_HEAD_PAGE]! * PAGE_SIZE})` : '';
      throw new HakmemError(
        'ERR_INVALID_POINTER',
        `${op}(${ptr}): not the start of a live page-run block${head}`,
      );
    }
    return e;
  }

  flush(): void {}

  detach(): void {}

  reclaim(_threadId: number): void {}

  trim(): number {
    return 0;
  }

  /** Each run of this tier holds one block whose recorded size needs exactly its pages. */
  check(): void {
    for (const run of this.arena.snapshot()) {
      if (run.tier !== this.id) continue;
      if (!(run.desc <= run.pages * PAGE_SIZE && runPages(run.desc) === run.pages)) {
        throw new HakmemError(
          'ERR_HEAP_CORRUPTED',
          `run tier: the run at ${run.offset} has ${run.pages} pages for a block of ${run.desc} bytes`,
        );
      }
    }
  }

  stats(): TierStats {
    let liveBlocks = 0;
    let liveBytes = 0;
    for (const run of this.arena.snapshot()) {
      if (run.tier !== this.id) continue;
      liveBlocks++;
      liveBytes += runUsableBytes(run.pages * PAGE_SIZE, run.desc);
    }
    return { liveBlocks, liveBytes };
  }

  occupancy(_offset: number, _pages: number): number {
    return 1;
  }
}

/** Pages of the run for a block of `size` bytes (a 0-byte block still takes a page). */
function runPages(size: number): number {
  return size === 0 ? 1 : Math.ceil(size / PAGE_SIZE);
}

/**
 * Usable bytes of a run of `bytes` asked for `size`: up to 1 MiB the usual bound
 * max(roundUp(size, 16), 1.25 × size) (a run rounded up beyond it reports the bound); above,
 * the whole run.
 */
function runUsableBytes(bytes: number, size: number): number {
  if (size > USABLE_BOUND_MAX) return bytes;
  return Math.min(bytes, Math.max((size + 15) & ~15, Math.ceil(1.25 * size), 16));
}

/** The page-run tier for compositions: `{ tier: runTier }`. */
export const runTier: TierFactory<RunTier> = {
  kind: 'run',
  sizeLimit: MAX_BYTES_LIMIT - 1,
  rootWords: RUN_ROOT_WORDS,
  layoutVersion: RUN_LAYOUT_VERSION,
  create(arena: Arena, id: number): RunTier {
    return new RunTier(arena, id);
  },
};

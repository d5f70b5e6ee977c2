import { MemPool } from '@thi.ng/malloc';
import { FixedBufferAllocator } from './single-threaded';
import { AllocatorError, type AllocatorInfo, type CreateOptions } from './types';

/**
 * @thi.ng/malloc's MemPool with its defaults (align 8, compact and split on) over one fixed
 * ArrayBuffer of the workload's budget: it cannot grow, and it has no locks.
 */
class ThingAllocator extends FixedBufferAllocator {
  readonly name = 'thi.ng' as const;
  private readonly pool: MemPool;
  constructor(bytes: number) {
    const buf = new ArrayBuffer(bytes);
    super(new Uint8Array(buf), '@thi.ng/malloc');
    this.pool = new MemPool({ buf });
  }
  malloc(size: number): number {
    const p = this.pool.malloc(size);
    if (p === 0)
      throw new AllocatorError(`@thi.ng/malloc: out of memory for ${size} bytes in its fixed buffer`);
    this.used(p, size);
    return p;
  }
  free(ptr: number): void {
    if (!this.pool.free(ptr)) throw new AllocatorError(`@thi.ng/malloc: free(${ptr}) found no such block`);
  }
  realloc(ptr: number, size: number): number {
    const p = this.pool.realloc(ptr, size);
    if (p === 0) {
      const used = this.pool.stats().used.count;
      throw new AllocatorError(
        `@thi.ng/malloc: realloc to ${size} bytes failed, out of memory with ${used} blocks on its used list (the blocks its realloc moved away from are never freed)`,
      );
    }
    this.used(p, size);
    return p;
  }
}

export const thing: AllocatorInfo = {
  name: 'thi.ng',
  label: '@thi.ng/malloc 6.1.150 (MemPool, defaults, fixed ArrayBuffer)',
  threadSafe: false,
  maxBlock: Number.POSITIVE_INFINITY,
  notes: 'free walks the list of used blocks, so its cost grows with the number of live blocks',
  async create({ budgetBytes }: CreateOptions) {
    return new ThingAllocator(budgetBytes);
  },
};

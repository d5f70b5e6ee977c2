import { MemPool } from '@thi.ng/malloc';
import { type Allocator, AllocatorError, type AllocatorInfo, type CreateOptions } from './types';

/**
 * @thi.ng/malloc's MemPool with its defaults (align 8, compact and split on) over one fixed
 * ArrayBuffer of the workload's budget: it cannot grow, and it has no locks.
 */
class ThingAllocator implements Allocator {
  readonly name = 'thi.ng' as const;
  private readonly pool: MemPool;
  private readonly u8: Uint8Array;
  /** Highest byte ever handed out: the part of the fixed buffer it actually used. */
  private highWater = 0;
  constructor(bytes: number) {
    const buf = new ArrayBuffer(bytes);
    this.pool = new MemPool({ buf });
    this.u8 = new Uint8Array(buf);
  }
  malloc(size: number): number {
    const p = this.pool.malloc(size);
    if (p === 0)
      throw new AllocatorError(`@thi.ng/malloc: out of memory for ${size} bytes in its fixed buffer`);
    if (p + size > this.highWater) this.highWater = p + size;
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
    if (p + size > this.highWater) this.highWater = p + size;
    return p;
  }
  setByte(ptr: number, index: number, value: number): void {
    this.u8[ptr + index] = value;
  }
  getByte(ptr: number, index: number): number {
    return this.u8[ptr + index]!;
  }
  committedBytes(): number {
    return this.highWater;
  }
  share(): unknown {
    throw new AllocatorError('@thi.ng/malloc is not thread-safe');
  }
  detach(): void {}
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

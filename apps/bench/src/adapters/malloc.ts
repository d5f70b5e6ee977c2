import SkipList from 'malloc';
import { type Allocator, AllocatorError, type AllocatorInfo, type CreateOptions } from './types';

/**
 * The `malloc` package (a skip-list allocator) over one fixed ArrayBuffer. It has no realloc:
 * the adapter does what its users do, alloc + copy + free.
 */
class MallocAllocator implements Allocator {
  readonly name = 'malloc' as const;
  private readonly heap: SkipList;
  private readonly u8: Uint8Array;
  /** Highest byte ever handed out: the part of the fixed buffer it actually used. */
  private highWater = 0;
  constructor(bytes: number) {
    const buf = new ArrayBuffer(bytes);
    this.heap = new SkipList(buf);
    this.u8 = new Uint8Array(buf);
  }
  malloc(size: number): number {
    const p = this.heap.alloc(size);
    if (p === 0) throw new AllocatorError(`malloc: out of memory for ${size} bytes in its fixed buffer`);
    if (p + size > this.highWater) this.highWater = p + size;
    return p;
  }
  free(ptr: number): void {
    this.heap.free(ptr);
  }
  realloc(ptr: number, size: number): number {
    const old = this.heap.sizeOf(ptr);
    const p = this.malloc(size);
    this.u8.copyWithin(p, ptr, ptr + Math.min(old, size));
    this.heap.free(ptr);
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
    throw new AllocatorError('malloc is not thread-safe');
  }
  detach(): void {}
}

export const mallocPkg: AllocatorInfo = {
  name: 'malloc',
  label: 'malloc 1.1.0 (skip list, fixed ArrayBuffer; realloc = alloc+copy+free)',
  threadSafe: false,
  maxBlock: Number.POSITIVE_INFINITY,
  notes: 'rejects a SharedArrayBuffer unless wrapped in a Node Buffer; has no realloc',
  async create({ budgetBytes }: CreateOptions) {
    return new MallocAllocator(budgetBytes);
  },
};

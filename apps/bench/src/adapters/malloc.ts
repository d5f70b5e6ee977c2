import SkipList from 'malloc';
import { FixedBufferAllocator } from './single-threaded';
import { AllocatorError, type AllocatorInfo, type CreateOptions } from './types';

/**
 * The `malloc` package (a skip-list allocator) over one fixed ArrayBuffer. It has no realloc:
 * the adapter does what its users do, alloc + copy + free.
 */
class MallocAllocator extends FixedBufferAllocator {
  readonly name = 'malloc' as const;
  private readonly heap: SkipList;
  constructor(bytes: number) {
    const buf = new ArrayBuffer(bytes);
    super(new Uint8Array(buf), 'malloc');
    this.heap = new SkipList(buf);
  }
  malloc(size: number): number {
    const p = this.heap.alloc(size);
    if (p === 0) throw new AllocatorError(`malloc: out of memory for ${size} bytes in its fixed buffer`);
    this.used(p, size);
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

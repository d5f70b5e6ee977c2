import { type Allocator, AllocatorError, type AllocatorInfo } from './types';

const EMPTY = new Uint8Array(0);

/**
 * What the engine holds for the blocks, live and not yet collected: the JS heap (typed-array
 * objects, and the contents of small arrays, which V8 keeps on the heap) plus array-buffer memory.
 */
function gcFootprint(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * The garbage collector as an allocator: `new Uint8Array(n)` per block, dropped on free.
 * A pointer is an index into a table of live arrays (the reference a program keeps anyway);
 * `realloc` is a new array and a copy. Each array is zero-filled by the engine.
 */
class GcAllocator implements Allocator {
  readonly name = 'gc' as const;
  private blocks: Uint8Array[] = [EMPTY];
  private freeHandles: number[] = [];
  private readonly baseline = gcFootprint();
  malloc(size: number): number {
    const block = new Uint8Array(size);
    const h = this.freeHandles.pop();
    if (h !== undefined) {
      this.blocks[h] = block;
      return h;
    }
    this.blocks.push(block);
    return this.blocks.length - 1;
  }
  free(ptr: number): void {
    if (this.blocks[ptr] === EMPTY) throw new AllocatorError(`gc: handle ${ptr} is not live`);
    this.blocks[ptr] = EMPTY;
    this.freeHandles.push(ptr);
  }
  realloc(ptr: number, size: number): number {
    const old = this.blocks[ptr]!;
    const block = new Uint8Array(size);
    block.set(old.length <= size ? old : old.subarray(0, size));
    this.blocks[ptr] = block;
    return ptr;
  }
  setByte(ptr: number, index: number, value: number): void {
    this.blocks[ptr]![index] = value;
  }
  getByte(ptr: number, index: number): number {
    return this.blocks[ptr]![index]!;
  }
  bytes(): null {
    return null;
  }
  committedBytes(): number {
    return gcFootprint() - this.baseline;
  }
  share(): unknown {
    throw new AllocatorError('gc blocks are per-thread JS objects');
  }
  detach(): void {
    this.blocks = [EMPTY];
    this.freeHandles = [];
  }
}

export const gc: AllocatorInfo = {
  name: 'gc',
  label: 'garbage collector (new Uint8Array(n) per block, dropped on free)',
  threadSafe: false,
  maxBlock: Number.POSITIVE_INFINITY,
  notes: 'zero-fills every block; memory comes back only when V8 collects',
  async create() {
    return new GcAllocator();
  },
};

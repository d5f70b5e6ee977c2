import { MemoryHeap, type MemoryHeapMemory } from '@daneren2005/shared-memory-objects';
import { type Allocator, AllocatorError, type AllocatorInfo, type CreateOptions } from './types';

// Its lock tests `'WorkerGlobalScope' in self`, and Node has no `self`.
if (typeof (globalThis as { self?: unknown }).self === 'undefined') {
  (globalThis as { self?: unknown }).self = globalThis;
}

/** Its pointers: buffer position in the low 12 bits, byte offset in the high 20. */
const POSITION_MASK = 0xfff;
const OFFSET_SHIFT = 12;
/** The largest buffer it can address (20-bit offsets), and so its largest block. */
const BUFFER_BYTES = 2 ** 20;

interface BufferInternals {
  buf: ArrayBufferLike;
  free(ptr: number): boolean;
  /** MemPool's high-water mark (a protected getter, read for the footprint only). */
  readonly top: number;
}

/**
 * @daneren2005/shared-memory-objects' MemoryHeap: a list of 1 MiB SharedArrayBuffers, each a
 * fork of thi.ng's MemPool with a spin lock around malloc and free. The package can add buffers
 * only from the main thread (a buffer added in a worker is invisible to the others), so the
 * heap is created with every buffer the workload's budget needs, and a worker that would grow it
 * fails with that reason.
 */
class SmoAllocator implements Allocator {
  readonly name = 'smo' as const;
  private readonly u8s: Uint8Array[];
  private readonly buffers: BufferInternals[];
  private readonly bufferCount: number;
  constructor(
    private readonly heap: MemoryHeap,
    private readonly attached: boolean,
  ) {
    this.buffers = heap.buffers as unknown as BufferInternals[];
    this.u8s = this.buffers.map((b) => new Uint8Array(b.buf));
    this.bufferCount = this.buffers.length;
  }
  malloc(size: number): number {
    const ptr = this.heap.allocUI32(Math.ceil(size / 4)).pointer;
    if (this.buffers.length !== this.bufferCount) this.grew();
    return ptr;
  }
  private grew(): void {
    if (this.attached) {
      throw new AllocatorError(
        'shared-memory-objects added a buffer in a worker, which the other threads cannot see (it grows only from the main thread)',
      );
    }
    for (let i = this.u8s.length; i < this.buffers.length; i++)
      this.u8s.push(new Uint8Array(this.buffers[i]!.buf));
  }
  free(ptr: number): void {
    if (!this.buffers[ptr & POSITION_MASK]!.free(ptr >>> OFFSET_SHIFT)) {
      throw new AllocatorError(`shared-memory-objects: free(${ptr}) found no such block`);
    }
  }
  realloc(ptr: number, size: number): number {
    // No realloc at heap level: a new block, a copy, a free (what its users do).
    const p = this.malloc(size);
    const from = this.u8s[ptr & POSITION_MASK]!;
    const at = ptr >>> OFFSET_SHIFT;
    const n = Math.min(size, BUFFER_BYTES - at);
    this.u8s[p & POSITION_MASK]!.set(from.subarray(at, at + n), p >>> OFFSET_SHIFT);
    this.free(ptr);
    return p;
  }
  setByte(ptr: number, index: number, value: number): void {
    this.u8s[ptr & POSITION_MASK]![(ptr >>> OFFSET_SHIFT) + index] = value;
  }
  getByte(ptr: number, index: number): number {
    return this.u8s[ptr & POSITION_MASK]![(ptr >>> OFFSET_SHIFT) + index]!;
  }
  bytes(): null {
    return null;
  }
  committedBytes(): number {
    // Untouched tails of pre-made buffers are not counted: the sum of each buffer's high-water mark.
    let sum = 0;
    for (const b of this.buffers) sum += b.top;
    return sum;
  }
  share(): unknown {
    return this.heap.getSharedMemory();
  }
  detach(): void {}
}

export const smo: AllocatorInfo = {
  name: 'smo',
  label:
    '@daneren2005/shared-memory-objects 0.0.4 (MemoryHeap, 1 MiB buffers made up front, spin-locked MemPool fork)',
  threadSafe: true,
  maxBlock: BUFFER_BYTES - 64,
  notes:
    'largest block just under 1 MiB; grows only from the main thread; free walks the used list of its buffer',
  async create({ budgetBytes }: CreateOptions) {
    const initialBuffers = Math.max(1, Math.ceil(budgetBytes / BUFFER_BYTES));
    return new SmoAllocator(new MemoryHeap({ bufferSize: BUFFER_BYTES, initialBuffers }), false);
  },
  async attach(shared: unknown) {
    return new SmoAllocator(new MemoryHeap(shared as MemoryHeapMemory), true);
  },
};

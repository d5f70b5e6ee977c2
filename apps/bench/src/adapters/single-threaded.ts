import { type Allocator, AllocatorError } from './types';

/**
 * What the single-threaded peers share: one byte view over their own memory, read and written
 * one byte at a time, and no way to hand the heap to another thread.
 */
export abstract class SingleThreadedAllocator implements Allocator {
  abstract readonly name: string;
  protected u8: Uint8Array;

  constructor(
    u8: Uint8Array,
    /** The package, as named in "… is not thread-safe". */
    private readonly who: string,
  ) {
    this.u8 = u8;
  }

  abstract malloc(size: number): number;
  abstract free(ptr: number): void;
  abstract realloc(ptr: number, size: number): number;
  abstract committedBytes(): number;

  setByte(ptr: number, index: number, value: number): void {
    this.u8[ptr + index] = value;
  }
  getByte(ptr: number, index: number): number {
    return this.u8[ptr + index]!;
  }
  bytes(): Uint8Array {
    return this.u8;
  }
  share(): unknown {
    throw new AllocatorError(`${this.who} is not thread-safe`);
  }
  detach(): void {}
}

/** A single-threaded peer over one fixed ArrayBuffer: its footprint is the highest byte handed out. */
export abstract class FixedBufferAllocator extends SingleThreadedAllocator {
  private highWater = 0;

  /** Records a block handed out at p of size bytes. */
  protected used(p: number, size: number): void {
    if (p + size > this.highWater) this.highWater = p + size;
  }
  committedBytes(): number {
    return this.highWater;
  }
}

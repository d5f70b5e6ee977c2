import { type Allocator, AllocatorError } from './types';

/**
 * The model every run is checked against: no memory, only the bytes the workloads write.
 * Workloads touch at most two positions of a block (its first byte and one "last" byte), so
 * the model stores those. Running a workload on it gives the checksum a correct allocator
 * must reproduce for the same configuration.
 */
export class RefAllocator implements Allocator {
  readonly name = 'model';
  private first: number[] = [0];
  private lastIndex: number[] = [-1];
  private lastValue: number[] = [0];
  private live: boolean[] = [false];
  private freeHandles: number[] = [];
  malloc(_size: number): number {
    const h = this.freeHandles.pop() ?? this.first.length;
    this.first[h] = 0;
    this.lastIndex[h] = -1;
    this.lastValue[h] = 0;
    this.live[h] = true;
    return h;
  }
  free(ptr: number): void {
    if (!this.live[ptr]) throw new AllocatorError(`model: handle ${ptr} is not live`);
    this.live[ptr] = false;
    this.freeHandles.push(ptr);
  }
  realloc(ptr: number, size: number): number {
    if (this.lastIndex[ptr]! >= size) this.lastIndex[ptr] = -1;
    return ptr;
  }
  setByte(ptr: number, index: number, value: number): void {
    if (index === 0) this.first[ptr] = value;
    else {
      this.lastIndex[ptr] = index;
      this.lastValue[ptr] = value;
    }
  }
  getByte(ptr: number, index: number): number {
    if (index === 0) return this.first[ptr]!;
    return this.lastIndex[ptr] === index ? this.lastValue[ptr]! : 0;
  }
  bytes(): null {
    return null;
  }
  committedBytes(): number {
    return 0;
  }
  share(): unknown {
    return undefined;
  }
  detach(): void {}
}

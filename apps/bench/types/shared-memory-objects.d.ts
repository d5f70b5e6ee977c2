// The part of @daneren2005/shared-memory-objects the bench uses. The package ships TypeScript
// source that does not compile under this repo's strict settings, so typecheck reads this instead
// (tsconfig `paths`); esbuild and vitest still use the real source.
export interface MemoryHeapMemory {
  buffers: SharedArrayBuffer[];
}
export interface MemoryHeapConfig {
  bufferSize?: number;
  initialBuffers?: number;
}
export class MemoryBuffer {
  buf: ArrayBufferLike;
  free(ptr: number): boolean;
}
export class AllocatedMemory {
  readonly pointer: number;
  data: Uint32Array;
  free(): void;
}
export class MemoryHeap {
  buffers: MemoryBuffer[];
  constructor(config?: MemoryHeapConfig | MemoryHeapMemory);
  allocUI32(count: number): AllocatedMemory;
  getSharedMemory(): MemoryHeapMemory;
}

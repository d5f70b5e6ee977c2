import {
  MEMORY_AB_FIXED,
  MEMORY_AB_RESIZABLE,
  MEMORY_SAB_FIXED,
  MEMORY_SAB_GROWABLE,
  MEMORY_WASM,
  MEMORY_WASM_SHARED,
} from './layout';

/** The memories a heap can live in. */
export type HeapMemory = SharedArrayBuffer | ArrayBuffer | WebAssembly.Memory;

/** The buffer currently behind a memory (a WebAssembly.Memory gives a new one after each grow). */
export function memoryBuffer(memory: HeapMemory): ArrayBufferLike {
  return isWasmMemory(memory) ? memory.buffer : memory;
}

export function isWasmMemory(memory: unknown): memory is WebAssembly.Memory {
  return typeof WebAssembly !== 'undefined' && memory instanceof WebAssembly.Memory;
}

/** MEMORY_* kind of a memory, or 0 when it is not one hakmem can manage. */
export function memoryKind(memory: unknown): number {
  if (typeof SharedArrayBuffer !== 'undefined' && memory instanceof SharedArrayBuffer) {
    return memory.growable ? MEMORY_SAB_GROWABLE : MEMORY_SAB_FIXED;
  }
  if (memory instanceof ArrayBuffer) return memory.resizable ? MEMORY_AB_RESIZABLE : MEMORY_AB_FIXED;
  if (isWasmMemory(memory)) {
    return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer
      ? MEMORY_WASM_SHARED
      : MEMORY_WASM;
  }
  return 0;
}

export function memoryKindName(kind: number): string {
  switch (kind) {
    case MEMORY_SAB_GROWABLE:
      return 'growable SharedArrayBuffer';
    case MEMORY_SAB_FIXED:
      return 'fixed-length SharedArrayBuffer';
    case MEMORY_WASM_SHARED:
      return 'shared WebAssembly.Memory';
    case MEMORY_WASM:
      return 'WebAssembly.Memory';
    case MEMORY_AB_RESIZABLE:
      return 'resizable ArrayBuffer';
    case MEMORY_AB_FIXED:
      return 'fixed-length ArrayBuffer';
    default:
      return 'unknown memory';
  }
}

export function memoryIsShared(kind: number): boolean {
  return kind === MEMORY_SAB_GROWABLE || kind === MEMORY_SAB_FIXED || kind === MEMORY_WASM_SHARED;
}

/**
 * The most bytes a memory can ever reach (before maxBytes applies): its maxByteLength, its
 * length when fixed, or 4 GiB for a WebAssembly.Memory (whose maximum JS cannot read; grow
 * failing at the maximum is handled as out of memory).
 */
export function memoryCapacity(memory: HeapMemory, kind: number, limit: number): number {
  switch (kind) {
    case MEMORY_SAB_GROWABLE:
      return Math.min((memory as SharedArrayBuffer).maxByteLength, limit);
    case MEMORY_AB_RESIZABLE:
      return Math.min((memory as ArrayBuffer).maxByteLength, limit);
    case MEMORY_WASM_SHARED:
    case MEMORY_WASM:
      return limit;
    default:
      return Math.min((memory as ArrayBuffer).byteLength, limit);
  }
}

/**
 * Grows the memory so that its buffer holds at least `bytes` bytes. Returns false when it
 * cannot (fixed memory, over its maximum, engine refused). New bytes are zero.
 */
export function memoryGrow(memory: HeapMemory, kind: number, bytes: number): boolean {
  const buffer = memoryBuffer(memory);
  if (buffer.byteLength >= bytes) return true;
  try {
    switch (kind) {
      case MEMORY_SAB_GROWABLE:
        if (bytes > (buffer as SharedArrayBuffer).maxByteLength) return false;
        (buffer as SharedArrayBuffer).grow(bytes);
        return true;
      case MEMORY_AB_RESIZABLE:
        if (bytes > (buffer as ArrayBuffer).maxByteLength) return false;
        (buffer as ArrayBuffer).resize(bytes);
        return true;
      case MEMORY_WASM_SHARED:
      case MEMORY_WASM:
        (memory as WebAssembly.Memory).grow(Math.ceil((bytes - buffer.byteLength) / 65536));
        return true;
      default:
        return false;
    }
  } catch (error) {
    if (error instanceof RangeError) return false;
    throw error;
  }
}

/** Shrinks a resizable ArrayBuffer to `bytes`; other memories cannot shrink. */
export function memoryShrink(memory: HeapMemory, kind: number, bytes: number): boolean {
  if (kind !== MEMORY_AB_RESIZABLE) return false;
  (memory as ArrayBuffer).resize(bytes);
  return true;
}

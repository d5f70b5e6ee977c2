import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SingleThreadedAllocator } from './single-threaded';
import { AllocatorError, type AllocatorInfo } from './types';

interface TlsfExports {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  free(ptr: number): void;
  realloc(ptr: number, size: number): number;
}

/** build/tlsf.wasm, from the bundle in build/ or from src/adapters/ under vitest. */
function wasmPath(): string {
  for (const rel of ['./tlsf.wasm', '../../build/tlsf.wasm']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new AllocatorError('build/tlsf.wasm is missing: run `pnpm --filter @hakmem/bench build`');
}

let compiled: WebAssembly.Module | undefined;

/**
 * AssemblyScript's TLSF (its runtime allocator) compiled by asc at build time and called from JS.
 * Its memory is the module's own WebAssembly.Memory, which TLSF grows on demand; a grow
 * detaches the old buffer, so the byte view is rebuilt after any call that may grow.
 */
class TlsfAllocator extends SingleThreadedAllocator {
  readonly name = 'as-tlsf' as const;
  constructor(private readonly wasm: TlsfExports) {
    super(new Uint8Array(wasm.memory.buffer), 'AssemblyScript TLSF');
  }
  malloc(size: number): number {
    const p = this.wasm.alloc(size);
    if (this.u8.byteLength === 0) this.u8 = new Uint8Array(this.wasm.memory.buffer);
    return p;
  }
  free(ptr: number): void {
    this.wasm.free(ptr);
  }
  realloc(ptr: number, size: number): number {
    const p = this.wasm.realloc(ptr, size);
    if (this.u8.byteLength === 0) this.u8 = new Uint8Array(this.wasm.memory.buffer);
    return p;
  }
  override bytes(): Uint8Array {
    if (this.u8.byteLength === 0) this.u8 = new Uint8Array(this.wasm.memory.buffer);
    return this.u8;
  }
  committedBytes(): number {
    return this.wasm.memory.buffer.byteLength;
  }
}

export const tlsf: AllocatorInfo = {
  name: 'as-tlsf',
  label: 'AssemblyScript 0.28.20 TLSF (asc --runtime minimal -O3 --noAssert), called from JS',
  threadSafe: false,
  maxBlock: 2 ** 30 - 16,
  notes: '',
  async create() {
    compiled ??= new WebAssembly.Module(readFileSync(wasmPath()));
    const instance = new WebAssembly.Instance(compiled, {
      env: {
        abort(_msg: number, _file: number, line: number, column: number) {
          throw new AllocatorError(
            `AssemblyScript TLSF aborted (out of memory or bad block) at ${line}:${column}`,
          );
        },
      },
    });
    return new TlsfAllocator(instance.exports as unknown as TlsfExports);
  },
};

import {
  type AdapterName,
  type Allocator,
  AllocatorError,
  type AllocatorInfo,
  type CreateOptions,
} from './types';

/** The part of the `hakmem` API (SPEC §3) the bench calls. */
interface HakmemHeap {
  malloc(size: number): number;
  free(ptr: number): void;
  realloc(ptr: number, size: number): number;
  readonly u8: Uint8Array;
  readonly memory: SharedArrayBuffer | ArrayBuffer | WebAssembly.Memory;
  stats(): { committedBytes: number; liveBytes: number; liveBlocks: number };
  detach(): void;
}
interface HakmemModule {
  createHeap(options: {
    maxBytes: number;
    safety: 'strict' | 'fast';
    memory?: SharedArrayBuffer | ArrayBuffer | WebAssembly.Memory;
  }): HakmemHeap;
  attachHeap(
    memory: SharedArrayBuffer | ArrayBuffer | WebAssembly.Memory,
    options?: { safety?: 'strict' | 'fast' },
  ): HakmemHeap;
}

/**
 * hakmem grows on demand, so it gets the largest limit (SPEC: ≤ 4 GiB), as a user who wants no
 * cap would set; what it commits is measured, not this limit.
 */
const HAKMEM_MAX_BYTES = 4 * 2 ** 30 - 2 ** 26;

let loaded: Promise<HakmemModule> | undefined;

/** Loads the package at run time, so the bench still builds and reports while hakmem is a placeholder. */
function loadHakmem(): Promise<HakmemModule> {
  loaded ??= import('hakmem').then((mod: Record<string, unknown>) => {
    if (typeof mod.createHeap !== 'function' || typeof mod.attachHeap !== 'function') {
      throw new AllocatorError(
        'hakmem is not built yet: the package does not export createHeap and attachHeap',
      );
    }
    return mod as unknown as HakmemModule;
  });
  return loaded;
}

/**
 * Keeps one byte view, as an application would, and takes a fresh one from `heap.u8` only when
 * an offset lies beyond it (the memory grew: in this thread, or in another that handed the
 * block over through the workload's synchronisation).
 */
class HakmemAllocator implements Allocator {
  private u8: Uint8Array;
  constructor(
    readonly name: AdapterName,
    private readonly heap: HakmemHeap,
  ) {
    this.u8 = heap.u8;
  }
  malloc(size: number): number {
    return this.heap.malloc(size);
  }
  free(ptr: number): void {
    this.heap.free(ptr);
  }
  realloc(ptr: number, size: number): number {
    return this.heap.realloc(ptr, size);
  }
  setByte(ptr: number, index: number, value: number): void {
    const i = ptr + index;
    if (i >= this.u8.length) this.u8 = this.heap.u8;
    this.u8[i] = value;
  }
  getByte(ptr: number, index: number): number {
    const i = ptr + index;
    if (i >= this.u8.length) this.u8 = this.heap.u8;
    return this.u8[i]!;
  }
  bytes(): Uint8Array {
    this.u8 = this.heap.u8;
    return this.u8;
  }
  committedBytes(): number {
    return this.heap.stats().committedBytes;
  }
  share(): unknown {
    return this.heap.memory;
  }
  detach(): void {
    this.heap.detach();
  }
}

function hakmemInfo(name: AdapterName, safety: 'strict' | 'fast'): AllocatorInfo {
  return {
    name,
    label: `hakmem (createHeap, safety: '${safety}')`,
    threadSafe: true,
    maxBlock: Number.POSITIVE_INFINITY,
    notes: '',
    async create(_options: CreateOptions) {
      const mod = await loadHakmem();
      return new HakmemAllocator(name, mod.createHeap({ maxBytes: HAKMEM_MAX_BYTES, safety }));
    },
    async attach(shared: unknown) {
      const mod = await loadHakmem();
      return new HakmemAllocator(name, mod.attachHeap(shared as SharedArrayBuffer, { safety }));
    },
  };
}

export const hakmemStrict = hakmemInfo('hakmem', 'strict');
export const hakmemFast = hakmemInfo('hakmem-fast', 'fast');

/** Why hakmem cannot be benchmarked yet (placeholder package, or createHeap throws), if it cannot. */
export async function hakmemMissing(): Promise<string | undefined> {
  try {
    const mod = await loadHakmem();
    mod.createHeap({ maxBytes: 64 * 2 ** 20, safety: 'strict' }).detach();
    return undefined;
  } catch (e) {
    return e instanceof AllocatorError
      ? e.message
      : `hakmem is not usable yet: ${e instanceof Error ? e.message : String(e)}`;
  }
}

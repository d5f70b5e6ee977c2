import { HakmemError } from './errors';
import { DEFAULT_INITIAL_BYTES, DEFAULT_MAX_BYTES, MAX_BYTES_LIMIT, PAGE_SIZE } from './layout';
import { type HeapMemory, memoryCapacity, memoryIsShared, memoryKind, memoryKindName } from './memory';

/** Options of Arena.format. */
export interface ArenaFormatOptions {
  /** Memory to manage; a growable SharedArrayBuffer (or, with `shared: false`, a resizable ArrayBuffer) is created when absent. */
  memory?: HeapMemory;
  /** First byte the heap may use, rounded up to 64 KiB; bytes below it are never written. Default 0. */
  base?: number;
  /** Size of a created memory (or the size a given memory is grown to at format). Default 4 MiB. */
  initialBytes?: number;
  /** The largest byte length the memory may reach (≤ 4 GiB). Default 1 GiB for a created memory, else what the memory can hold. */
  maxBytes?: number;
  /** true: SharedArrayBuffer, any number of threads; false: resizable ArrayBuffer, one thread. Default true. */
  shared?: boolean;
  /** Persisted for the layers: 'strict' detects every invalid free. Default 'strict'. */
  safety?: 'strict' | 'fast';
}

/** The option names Arena.format knows; any other key is ERR_INVALID_OPTION. */
export const ARENA_OPTION_KEYS: readonly string[] = Object.freeze([
  'memory',
  'base',
  'initialBytes',
  'maxBytes',
  'shared',
  'safety',
]);

/** Format options after validation and defaults (byte sizes are whole pages). */
export interface ResolvedOptions {
  memory: HeapMemory | undefined;
  base: number;
  initialBytes: number;
  maxBytes: number;
  shared: boolean;
  strict: boolean;
}

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

/** Validates format options; every rejection names the value and the rule. */
export function arenaResolveOptions(options: ArenaFormatOptions | undefined): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) {
    throw optionError(`options ${describe(options)} is not an object`);
  }
  rejectUnknownKeys(options, ARENA_OPTION_KEYS, 'Arena.format');
  const memory = options.memory;
  let kind = 0;
  if (memory !== undefined) {
    kind = memoryKind(memory);
    if (kind === 0) {
      throw optionError(
        `memory ${describe(memory)} is not a SharedArrayBuffer, ArrayBuffer or WebAssembly.Memory`,
      );
    }
  }
  let shared = true;
  if (options.shared !== undefined) {
    if (typeof options.shared !== 'boolean')
      throw optionError(`shared ${describe(options.shared)} is not a boolean`);
    shared = options.shared;
  }
  if (memory !== undefined) {
    if (options.shared !== undefined && options.shared !== memoryIsShared(kind)) {
      throw optionError(`shared ${options.shared} contradicts the memory, a ${memoryKindName(kind)}`);
    }
    shared = memoryIsShared(kind);
  }
  if (shared && typeof SharedArrayBuffer === 'undefined') {
    throw optionError(
      'shared true needs SharedArrayBuffer, which this context lacks: a page must be cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), or use shared: false',
    );
  }
  let base = 0;
  if (options.base !== undefined) {
    if (!isInt(options.base) || options.base < 0 || options.base >= MAX_BYTES_LIMIT) {
      throw optionError(`base ${describe(options.base)} is not an integer in [0, 4 GiB)`);
    }
    base = Math.ceil(options.base / PAGE_SIZE) * PAGE_SIZE;
  }
  const limit = memory === undefined ? MAX_BYTES_LIMIT : memoryCapacity(memory, kind, MAX_BYTES_LIMIT);
  let maxBytes: number;
  if (options.maxBytes !== undefined) {
    if (!isInt(options.maxBytes) || options.maxBytes < PAGE_SIZE || options.maxBytes > MAX_BYTES_LIMIT) {
      throw optionError(
        `maxBytes ${describe(options.maxBytes)} is not an integer in [65536, 4294967296] (≤ 4 GiB)`,
      );
    }
    maxBytes = Math.floor(options.maxBytes / PAGE_SIZE) * PAGE_SIZE;
    if (maxBytes > Math.floor(limit / PAGE_SIZE) * PAGE_SIZE) {
      throw optionError(
        `maxBytes ${options.maxBytes} exceeds what the ${memoryKindName(kind)} can hold (${limit} bytes)`,
      );
    }
  } else {
    maxBytes = Math.floor((memory === undefined ? DEFAULT_MAX_BYTES : limit) / PAGE_SIZE) * PAGE_SIZE;
  }
  if (maxBytes < base + PAGE_SIZE) {
    throw optionError(`maxBytes ${maxBytes} leaves no room for the 64 KiB header page above base ${base}`);
  }
  let initialBytes: number;
  if (options.initialBytes !== undefined) {
    if (!isInt(options.initialBytes) || options.initialBytes < 1) {
      throw optionError(`initialBytes ${describe(options.initialBytes)} is not a positive integer`);
    }
    initialBytes = Math.ceil(options.initialBytes / PAGE_SIZE) * PAGE_SIZE;
    if (initialBytes > maxBytes) {
      throw optionError(`initialBytes ${options.initialBytes} exceeds maxBytes ${maxBytes}`);
    }
    if (initialBytes < base + PAGE_SIZE) {
      throw optionError(
        `initialBytes ${options.initialBytes} leaves no room for the 64 KiB header page above base ${base} (needs ≥ ${base + PAGE_SIZE})`,
      );
    }
  } else {
    initialBytes =
      memory === undefined
        ? Math.min(maxBytes, Math.max(DEFAULT_INITIAL_BYTES, base + PAGE_SIZE))
        : base + PAGE_SIZE;
  }
  let strict = true;
  if (options.safety !== undefined) {
    if (options.safety !== 'strict' && options.safety !== 'fast') {
      throw optionError(`safety ${describe(options.safety)} is not 'strict' or 'fast'`);
    }
    strict = options.safety === 'strict';
  }
  return { memory, base, initialBytes, maxBytes, shared, strict };
}

/** ERR_INVALID_OPTION naming the first own key of `options` that is not in `known`. */
export function rejectUnknownKeys(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw optionError(`${where}: unknown option ${JSON.stringify(key)} (known: ${known.join(', ')})`);
    }
  }
}

/** A value as an error message shows it. */
export function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  return Object.prototype.toString.call(value);
}

export function optionError(detail: string): HakmemError {
  return new HakmemError('ERR_INVALID_OPTION', detail);
}

import { HakmemError } from './errors';
import {
  DEFAULT_INITIAL_BYTES,
  DEFAULT_L25_MAX,
  DEFAULT_MAX_BYTES,
  DEFAULT_MID_MAX,
  DEFAULT_TINY_MAX,
  MAX_BYTES_LIMIT,
  PAGE_SIZE,
} from './layout';
import { type HeapMemory, memoryCapacity, memoryIsShared, memoryKind, memoryKindName } from './memory';

/** Size boundaries of the tiers (inclusive maxima in bytes); 0 = the tier is absent. */
export interface TierBounds {
  tinyMax: number;
  midMax: number;
  l25Max: number;
}

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
  /** Persisted tier boundaries; a missing one keeps its default { tinyMax: 1024, midMax: 32768, l25Max: 1048576 }. */
  tiers?: Partial<TierBounds>;
}

const DEFAULT_TIERS: TierBounds = Object.freeze({
  tinyMax: DEFAULT_TINY_MAX,
  midMax: DEFAULT_MID_MAX,
  l25Max: DEFAULT_L25_MAX,
});

/** Format options after validation and defaults (byte sizes are whole pages). */
export interface ResolvedOptions {
  memory: HeapMemory | undefined;
  base: number;
  initialBytes: number;
  maxBytes: number;
  shared: boolean;
  strict: boolean;
  tiers: TierBounds;
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
      'shared true needs SharedArrayBuffer, which this context lacks (not cross-origin isolated?)',
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
  let tiers = DEFAULT_TIERS;
  if (options.tiers !== undefined) {
    const t = options.tiers as Partial<TierBounds> | null;
    if (typeof t !== 'object' || t === null) throw optionError(`tiers ${describe(t)} is not an object`);
    const resolved = {
      tinyMax: t.tinyMax ?? DEFAULT_TINY_MAX,
      midMax: t.midMax ?? DEFAULT_MID_MAX,
      l25Max: t.l25Max ?? DEFAULT_L25_MAX,
    };
    let previous = 0;
    for (const key of ['tinyMax', 'midMax', 'l25Max'] as const) {
      const value = resolved[key];
      if (!isInt(value) || value < 0 || value > 0x7fffffff) {
        throw optionError(`tiers.${key} ${describe(value)} is not an integer in [0, 2^31) (0 = tier absent)`);
      }
      if (value !== 0) {
        if (value <= previous) {
          throw optionError(`tiers.${key} ${value} is not above the previous tier's bound ${previous}`);
        }
        previous = value;
      }
    }
    tiers = resolved;
  }
  return { memory, base, initialBytes, maxBytes, shared, strict, tiers };
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

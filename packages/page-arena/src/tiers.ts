/**
 * The tier directory: tier ids TIER_FIRST … TIER_LAST (the page map's 8-bit tier field) in the
 * order tiers were opened, each with its kind name, the request sizes the composition gives it
 * and a zero-filled root block the tier owns. The directory is an array of TD_WORDS-word
 * entries from metaAlloc, doubled when full (the old array is freed after the new one is
 * published under the lock). Every thread that opens the same kind gets the same id and root.
 * See layout.ts, "Tier directory".
 */
import type { Arena } from './arena';
import { crashPoint } from './crash';
import { HakmemError } from './errors';
import {
  HDR_REG_A,
  HDR_REG_B,
  HDR_TIER_CAP,
  HDR_TIER_COUNT,
  HDR_TIER_DIR,
  MAX_BYTES_LIMIT,
  REG_TIER_DIR,
  REG_TIER_ROOT,
  TD_KIND,
  TD_MAX,
  TD_MIN,
  TD_ROOT,
  TD_ROOT_WORDS,
  TD_VERSION,
  TD_WORDS,
  TIER_DIR_CAP0,
  TIER_FIRST,
  TIER_KIND_MAX,
  TIER_LAST,
} from './layout';
import { metaAllocRecorded, metaFreeLocked } from './meta';
import { describe } from './options';
import { regBegin, regEnd } from './registry';

/** One entry of the tier directory, as returned by tierList(). */
export interface ArenaTier {
  id: number;
  kind: string;
  minSize: number;
  maxSize: number;
  /** i32 index of the tier's root block. */
  root: number;
  /** Layout version of the layer that opened the tier. */
  layoutVersion: number;
}

/**
 * The id of the tier of kind `kind`, adding it to the directory (with a zero-filled root block
 * of `rootWords` words and the request sizes [minSize, maxSize]) when the heap has none yet.
 * Every thread that opens the same kind gets the same id and root. ERR_INVALID_OPTION for a
 * bad kind or range; ERR_HEAP_INCOMPATIBLE when the kind exists with another size range;
 * ERR_OUT_OF_MEMORY when the directory is full (255 tier ids) or maxBytes has no room for it.
 */
export function tierOpen(
  arena: Arena,
  kind: string,
  minSize: number,
  maxSize: number,
  rootWords: number,
  layoutVersion = 1,
): number {
  tierValidateKind(kind);
  tierValidateVersion(kind, layoutVersion);
  if (
    !Number.isInteger(minSize) ||
    !Number.isInteger(maxSize) ||
    minSize < 0 ||
    maxSize < minSize ||
    maxSize >= MAX_BYTES_LIMIT
  ) {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      `tierOpen('${kind}'): size range [${describe(minSize)}, ${describe(maxSize)}] is not 0 ≤ min ≤ max < 2^32`,
    );
  }
  if (!Number.isInteger(rootWords) || rootWords < 1 || rootWords > 1 << 14) {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      `tierOpen('${kind}'): rootWords ${describe(rootWords)} is not an integer in [1, 16384]`,
    );
  }
  arena.lock();
  try {
    const found = tierFindLocked(arena, kind);
    if (found !== 0) {
      const e = tierEntry(arena, found);
      tierVersionCheck(arena, e, kind, layoutVersion, 'tierOpen');
      if (arena.i32[e + TD_MIN] !== minSize || arena.u32[e + TD_MAX] !== maxSize) {
        throw new HakmemError(
          'ERR_HEAP_INCOMPATIBLE',
          `tierOpen('${kind}'): this heap's '${kind}' tier serves sizes ${arena.i32[e + TD_MIN]}..${arena.u32[e + TD_MAX]}, not ${minSize}..${maxSize}`,
        );
      }
      return found;
    }
    return tierAddLocked(arena, kind, minSize, maxSize, rootWords, layoutVersion);
  } finally {
    arena.unlock();
  }
}

/**
 * Id of the tier of kind `kind`, 0 when the heap has none. With `layoutVersion`, a tier of that
 * kind recorded with another layout version is ERR_HEAP_INCOMPATIBLE, naming both versions.
 */
export function tierFind(arena: Arena, kind: string, layoutVersion?: number): number {
  if (layoutVersion !== undefined) tierValidateVersion(kind, layoutVersion);
  arena.lock();
  try {
    const id = tierFindLocked(arena, kind);
    if (id !== 0 && layoutVersion !== undefined)
      tierVersionCheck(arena, tierEntry(arena, id), kind, layoutVersion, 'tierFind');
    return id;
  } finally {
    arena.unlock();
  }
}

/**
 * Tier `id` as a layer of kind `kind` and layout `layoutVersion` expects it: its directory entry,
 * or ERR_HEAP_INCOMPATIBLE when the id names another kind (e.g. a 'run' tier given to the mid
 * layer) or a tier recorded by another layout version of the layer (both versions named).
 * `who` names the caller in the message.
 */
export function tierExpect(
  arena: Arena,
  id: number,
  kind: string,
  layoutVersion: number,
  who: string,
): ArenaTier {
  const info = tierInfo(arena, id);
  if (info.kind !== kind) {
    throw new HakmemError(
      'ERR_HEAP_INCOMPATIBLE',
      `${who}: tier ${id} of this heap is a '${info.kind}' tier, not a '${kind}' tier`,
    );
  }
  if (info.layoutVersion !== layoutVersion)
    throw tierVersionError(kind, info.layoutVersion, layoutVersion, who);
  return info;
}

/** Every tier of the directory, in id order. */
export function tierList(arena: Arena): ArenaTier[] {
  arena.lock();
  try {
    const out: ArenaTier[] = [];
    const count = arena.hdr[HDR_TIER_COUNT]!;
    for (let id = TIER_FIRST; id < TIER_FIRST + count; id++) out.push(tierAt(arena, id));
    return out;
  } finally {
    arena.unlock();
  }
}

/** Tier `id` of the directory: kind, size range and the i32 index of its root block. ERR_INVALID_OPTION for an id it does not hold. */
export function tierInfo(arena: Arena, id: number): ArenaTier {
  arena.lock();
  try {
    const count = arena.hdr[HDR_TIER_COUNT]!;
    if (!Number.isInteger(id) || id < TIER_FIRST || id >= TIER_FIRST + count) {
      throw new HakmemError(
        'ERR_INVALID_OPTION',
        `tierInfo: tier id ${describe(id)} is not in this heap's directory (ids ${TIER_FIRST}..${TIER_FIRST + count - 1})`,
      );
    }
    return tierAt(arena, id);
  } finally {
    arena.unlock();
  }
}

function tierAt(arena: Arena, id: number): ArenaTier {
  const e = tierEntry(arena, id);
  return {
    id,
    kind: tierKindAt(arena, e),
    minSize: arena.i32[e + TD_MIN]!,
    maxSize: arena.u32[e + TD_MAX]!,
    root: arena.i32[e + TD_ROOT]!,
    layoutVersion: arena.i32[e + TD_VERSION]!,
  };
}

/** i32 index of directory entry `id` (lock held, id in the directory). */
export function tierEntry(arena: Arena, id: number): number {
  return arena.hdr[HDR_TIER_DIR]! + (id - TIER_FIRST) * TD_WORDS;
}

/** The kind name stored at entry `e`. */
export function tierKindAt(arena: Arena, e: number): string {
  let kind = '';
  for (let i = 0; i < TIER_KIND_MAX; i++) {
    const c = arena.u8[(e + TD_KIND) * 4 + i]!;
    if (c === 0) break;
    kind += String.fromCharCode(c);
  }
  return kind;
}

function tierFindLocked(arena: Arena, kind: string): number {
  const count = arena.hdr[HDR_TIER_COUNT]!;
  for (let id = TIER_FIRST; id < TIER_FIRST + count; id++) {
    if (tierKindAt(arena, tierEntry(arena, id)) === kind) return id;
  }
  return 0;
}

function tierAddLocked(
  arena: Arena,
  kind: string,
  minSize: number,
  maxSize: number,
  rootWords: number,
  layoutVersion: number,
): number {
  const hdr = arena.hdr;
  const count = hdr[HDR_TIER_COUNT]!;
  if (TIER_FIRST + count > TIER_LAST) {
    throw new HakmemError(
      'ERR_OUT_OF_MEMORY',
      `tierOpen('${kind}'): the page map's 8-bit tier field has no id left (${count} tiers)`,
    );
  }
  if (count === hdr[HDR_TIER_CAP]!) tierDirGrow(arena, count, kind);
  const id = TIER_FIRST + count;
  regBegin(arena, REG_TIER_ROOT, id, 0, 0);
  const root = metaAllocRecorded(arena, rootWords * 4, HDR_REG_B);
  if (root === 0) {
    regEnd(arena);
    throw tierNoRoom(kind, arena.maxBytes);
  }
  // The entry is written whole (an undone add zeroes it) before the count that publishes it.
  const e = tierEntry(arena, id);
  if (__DEV__) crashPoint();
  for (let i = 0; i < TIER_KIND_MAX; i++)
    arena.u8[(e + TD_KIND) * 4 + i] = i < kind.length ? kind.charCodeAt(i) : 0;
  if (__DEV__) crashPoint();
  arena.i32[e + TD_MIN] = minSize;
  if (__DEV__) crashPoint();
  arena.u32[e + TD_MAX] = maxSize;
  if (__DEV__) crashPoint();
  arena.i32[e + TD_ROOT] = root >>> 2;
  if (__DEV__) crashPoint();
  arena.i32[e + TD_ROOT_WORDS] = rootWords;
  if (__DEV__) crashPoint();
  arena.i32[e + TD_VERSION] = layoutVersion;
  if (__DEV__) crashPoint();
  Atomics.store(arena.hdr, HDR_TIER_COUNT, count + 1);
  regEnd(arena);
  return id;
}

/**
 * Replaces the full directory (`count` entries) by one twice as large: filled and published
 * (array, then capacity) before the old one is freed, under the registry intent.
 */
function tierDirGrow(arena: Arena, count: number, kind: string): void {
  const cap = arena.hdr[HDR_TIER_CAP]!;
  const bigger = cap === 0 ? TIER_DIR_CAP0 : cap * 2;
  const old = arena.hdr[HDR_TIER_DIR]!;
  regBegin(arena, REG_TIER_DIR, 0, old, bigger);
  const offset = metaAllocRecorded(arena, bigger * TD_WORDS * 4, HDR_REG_A);
  if (offset === 0) {
    regEnd(arena);
    throw tierNoRoom(kind, arena.maxBytes);
  }
  // metaAlloc may have grown the memory (a non-shared WebAssembly.Memory replaces its buffer):
  // the header is read through the arena's current view from here on.
  if (old !== 0) {
    if (__DEV__) crashPoint();
    arena.i32.copyWithin(offset >>> 2, old, old + count * TD_WORDS);
  }
  if (__DEV__) crashPoint();
  arena.hdr[HDR_TIER_DIR] = offset >>> 2;
  if (__DEV__) crashPoint();
  arena.hdr[HDR_TIER_CAP] = bigger;
  if (old !== 0) metaFreeLocked(arena, old * 4);
  regEnd(arena);
}

export function tierValidateKind(kind: unknown): void {
  if (typeof kind !== 'string' || !/^[a-z][a-z0-9-]*$/.test(kind) || kind.length > TIER_KIND_MAX) {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      `tier kind ${describe(kind)} is not a name of 1 to ${TIER_KIND_MAX} characters a-z, 0-9, '-' starting with a letter`,
    );
  }
}

function tierValidateVersion(kind: string, layoutVersion: unknown): void {
  if (
    !Number.isInteger(layoutVersion) ||
    (layoutVersion as number) < 1 ||
    (layoutVersion as number) > 0x7fffffff
  ) {
    throw new HakmemError(
      'ERR_INVALID_OPTION',
      `tier '${kind}': layoutVersion ${describe(layoutVersion)} is not an integer in [1, 2^31 − 1]`,
    );
  }
}

function tierVersionCheck(arena: Arena, e: number, kind: string, layoutVersion: number, who: string): void {
  const found = arena.i32[e + TD_VERSION]!;
  if (found !== layoutVersion) throw tierVersionError(kind, found, layoutVersion, who);
}

function tierVersionError(kind: string, found: number, expected: number, who: string): HakmemError {
  return new HakmemError(
    'ERR_HEAP_INCOMPATIBLE',
    `${who}: this heap's '${kind}' tier has layout version ${found}; this code reads the '${kind}' layout version ${expected} only (a heap is read by the layer versions that formatted it)`,
  );
}

function tierNoRoom(kind: string, maxBytes: number): HakmemError {
  return new HakmemError(
    'ERR_OUT_OF_MEMORY',
    `tierOpen('${kind}'): no room for the tier directory within maxBytes ${maxBytes}`,
  );
}

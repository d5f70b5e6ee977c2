/**
 * metaAlloc: the arena's out-of-band metadata allocator (the header's spare blocks, page-map
 * leaves, thread registry chunks, the tier directory, tiers' root blocks and per-thread words),
 * a slab allocator over META pages. Classes 16 B … 64 KiB split a META page into blocks of one
 * size; the page's PM_DESC holds its class, its used count and its first free block, and that
 * block holds the rest of the page's state (the next free block, the page's links in the list of
 * its class's pages with a free block, the fresh index below which blocks were handed out). A
 * page whose last block is freed goes back to the free runs. Above 64 KiB: a whole run of META
 * pages (PM_DESC META_DESC_RUN). Blocks are zero-filled when handed out. Everything but
 * metaAlloc/metaFree runs under the arena mutex. See layout.ts, "metaAlloc".
 */
import type { Arena } from './arena';
import { crashPoint } from './crash';
import { HakmemError } from './errors';
import {
  HDR_INTENT_C,
  HDR_INTENT_OP,
  HDR_META_BYTES,
  HDR_META_HEADS,
  HDR_PAGES_BY_TIER,
  INTENT_META_PAGE,
  INTENT_META_POP,
  INTENT_META_PUSH,
  INTENT_RELEASE,
  LEAF_SHIFT,
  MAX_BYTES_LIMIT,
  MB_FRESH,
  MB_NEXT,
  MB_NEXT_PAGE,
  MB_PREV_PAGE,
  META_DESC_CLASS_MASK,
  META_DESC_FIELD_MASK,
  META_DESC_FREE_SHIFT,
  META_DESC_RUN,
  META_DESC_USED_SHIFT,
  META_LEAF_SHIFT,
  META_MAX_SHIFT,
  META_MIN_SHIFT,
  PAGE_SIZE,
  PM_DESC,
  PM_FLAG_HEAD,
  PM_RUN_PAGES,
  PM_TIER,
  PM_TIER_MASK,
  TIER_FREE,
  TIER_META,
} from './layout';
import { describe } from './options';
import { intentBegin, intentEnd } from './repair';
import { arenaReleaseLocked, arenaTakeRunLocked } from './runs';

// ---------------------------------------------------------------------------------------------
// A META page's state

/** Blocks of a META page of class `shift`. */
export function metaBlocks(shift: number): number {
  return PAGE_SIZE >>> shift;
}

/** PM_DESC of a META page of class `shift` with `used` blocks handed out and first free block `free` (index + 1, 0 = none). */
export function metaDesc(shift: number, used: number, free: number): number {
  return (shift | (used << META_DESC_USED_SHIFT) | (free << META_DESC_FREE_SHIFT)) >>> 0;
}

/** The class (log2 size) in a META page's PM_DESC; 0 (META_DESC_RUN) for a META run. */
export function metaDescClass(desc: number): number {
  return desc & META_DESC_CLASS_MASK;
}

/** Blocks handed out, from a META page's PM_DESC. */
export function metaDescUsed(desc: number): number {
  return (desc >>> META_DESC_USED_SHIFT) & META_DESC_FIELD_MASK;
}

/** The first free block (index + 1, 0 = none), from a META page's PM_DESC. */
export function metaDescFree(desc: number): number {
  return (desc >>> META_DESC_FREE_SHIFT) & META_DESC_FIELD_MASK;
}

function metaCorrupted(detail: string): HakmemError {
  return new HakmemError('ERR_HEAP_CORRUPTED', `metaAlloc: ${detail}`);
}

/** Byte offset of block `index` of page `page`, class `shift`. */
function metaBlockAt(page: number, shift: number, index: number): number {
  return page * PAGE_SIZE + index * (1 << shift);
}

/**
 * u32 index of the state words (the first free block) of META page `page`, checked: a committed
 * META page of class `shift` that has a free block. ERR_HEAP_CORRUPTED otherwise (a scribbled
 * class-list link, or a scribbled page-map entry), before anything is written.
 */
export function metaStateOf(arena: Arena, page: number, shift: number): number {
  if (!(page >= arena.basePage && page < arena.endPage)) {
    throw metaCorrupted(`a list of class ${1 << shift} names page ${page}, outside the heap's pages`);
  }
  const e = arena.entryOf(page);
  const desc = arena.u32[e + PM_DESC]!;
  const free = metaDescFree(desc);
  if (
    arena.u32[e + PM_TIER] !== (TIER_META | PM_FLAG_HEAD) ||
    metaDescClass(desc) !== shift ||
    free === 0 ||
    free > metaBlocks(shift)
  ) {
    throw metaCorrupted(
      `page ${page} (tier word ${arena.u32[e + PM_TIER]}, desc ${desc}) is not a META page of class ${1 << shift} with a free block`,
    );
  }
  return metaBlockAt(page, shift, free - 1) >>> 2;
}

/**
 * The free blocks of META page `page` (class `shift`, PM_DESC `desc`): the indexes on its free
 * list below the fresh index, and the fresh index (blocks from it on are free, never handed out
 * since the page was taken). Walks at most the page's blocks; ERR_HEAP_CORRUPTED when the list
 * loops, leaves the page or does not end where the fresh region starts.
 */
export function metaPageWalk(
  arena: Arena,
  page: number,
  shift: number,
  desc: number,
): { listed: number[]; fresh: number } {
  const n = metaBlocks(shift);
  const free = metaDescFree(desc);
  const listed: number[] = [];
  if (free === 0) return { listed, fresh: n };
  const at = `META page ${page} (class ${1 << shift})`;
  if (free > n) throw metaCorrupted(`${at}: its first free block ${free - 1} is beyond its ${n} blocks`);
  const u32 = arena.u32;
  const fresh = u32[(metaBlockAt(page, shift, free - 1) >>> 2) + MB_FRESH]!;
  if (fresh > n) throw metaCorrupted(`${at}: fresh index ${fresh} is beyond its ${n} blocks`);
  const seen = new Uint8Array(n);
  for (let index = free - 1; index !== fresh; ) {
    if (index > fresh || seen[index] === 1) {
      throw metaCorrupted(
        `${at}: its free list reaches block ${index} ${index > fresh ? `beyond the fresh index ${fresh}` : 'twice (a loop)'}`,
      );
    }
    seen[index] = 1;
    listed.push(index);
    const next = u32[(metaBlockAt(page, shift, index) >>> 2) + MB_NEXT]!;
    if (next === 0) {
      if (fresh !== n) throw metaCorrupted(`${at}: its free list ends before the fresh block ${fresh}`);
      break;
    }
    if (next > n) throw metaCorrupted(`${at}: block ${index} links to ${next - 1}, beyond its ${n} blocks`);
    index = next - 1;
  }
  return { listed, fresh };
}

/** Whether block `index` of META page `page` (class `shift`, PM_DESC `desc`) is free (bounded walk). */
export function metaBlockIsFree(
  arena: Arena,
  page: number,
  shift: number,
  desc: number,
  index: number,
): boolean {
  const { listed, fresh } = metaPageWalk(arena, page, shift, desc);
  return index >= fresh || listed.includes(index);
}

/** Free blocks of class `shift` on its list, counted until `enough` (bounded by the heap's pages). */
export function metaSpareBlocks(arena: Arena, shift: number, enough: number): number {
  let count = 0;
  let steps = arena.endPage;
  for (let link = arena.hdr[HDR_META_HEADS + shift - META_MIN_SHIFT]! >>> 0; link !== 0 && count < enough; ) {
    if (--steps < 0) throw metaCorrupted(`the list of class ${1 << shift} loops`);
    const page = link - 1;
    const w = metaStateOf(arena, page, shift);
    count += metaBlocks(shift) - metaDescUsed(arena.u32[arena.entryOf(page) + PM_DESC]!);
    link = arena.u32[w + MB_NEXT_PAGE]!;
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// Class lists: the pages of a class that have a free block, doubly linked through their state
// words (page + 1, 0 = none) from HDR_META_HEADS. Derived state: the repair rebuilds them.

/** Checks the neighbours META page `page` (state words at `w`) links to, before it leaves its list. */
function metaListCheck(arena: Arena, page: number, shift: number, w: number): void {
  const prev = arena.u32[w + MB_PREV_PAGE]!;
  const next = arena.u32[w + MB_NEXT_PAGE]!;
  if (prev !== 0) metaStateOf(arena, prev - 1, shift);
  else if (arena.hdr[HDR_META_HEADS + shift - META_MIN_SHIFT]! >>> 0 !== page + 1) {
    throw metaCorrupted(
      `page ${page} of class ${1 << shift} has no predecessor but is not first on its list`,
    );
  }
  if (next !== 0) metaStateOf(arena, next - 1, shift);
}

/** META page `page` (state words at `w`) leaves its class's list (metaListCheck passed). */
function metaListUnlink(arena: Arena, shift: number, w: number): void {
  const u32 = arena.u32;
  const prev = u32[w + MB_PREV_PAGE]!;
  const next = u32[w + MB_NEXT_PAGE]!;
  if (prev !== 0) {
    const pw = metaStateOf(arena, prev - 1, shift);
    if (__DEV__) crashPoint();
    u32[pw + MB_NEXT_PAGE] = next;
  } else {
    if (__DEV__) crashPoint();
    arena.hdr[HDR_META_HEADS + shift - META_MIN_SHIFT] = next;
  }
  if (next !== 0) {
    const nw = metaStateOf(arena, next - 1, shift);
    if (__DEV__) crashPoint();
    u32[nw + MB_PREV_PAGE] = prev;
  }
}

/** META page `page` (its state words at `w`) goes first on its class's list. */
export function metaListPush(arena: Arena, page: number, shift: number, w: number): void {
  const head = HDR_META_HEADS + shift - META_MIN_SHIFT;
  const first = arena.hdr[head]! >>> 0;
  const fw = first !== 0 ? metaStateOf(arena, first - 1, shift) : 0;
  const u32 = arena.u32;
  if (__DEV__) crashPoint();
  u32[w + MB_PREV_PAGE] = 0;
  if (__DEV__) crashPoint();
  u32[w + MB_NEXT_PAGE] = first;
  if (first !== 0) {
    if (__DEV__) crashPoint();
    u32[fw + MB_PREV_PAGE] = page + 1;
  }
  if (__DEV__) crashPoint();
  arena.hdr[head] = page + 1;
}

/** META page `page`, which has a free block, goes first on its class's list. */
export function metaListPushPage(arena: Arena, page: number, shift: number): void {
  metaListPush(arena, page, shift, metaStateOf(arena, page, shift));
}

// ---------------------------------------------------------------------------------------------
// Taking a block from a page and giving one back

/** The first free block after popping the one at `w` (index + 1, 0 = none) and the fresh index then; checked. */
function metaPopNext(arena: Arena, page: number, shift: number, w: number): [number, number] {
  const n = metaBlocks(shift);
  const index = metaDescFree(arena.u32[arena.entryOf(page) + PM_DESC]!) - 1;
  const fresh = arena.u32[w + MB_FRESH]!;
  let next: number;
  let nextFresh = fresh;
  if (index === fresh) {
    nextFresh = fresh + 1;
    next = nextFresh < n ? nextFresh + 1 : 0;
  } else {
    next = arena.u32[w + MB_NEXT]!;
  }
  if (
    fresh > n ||
    index > fresh ||
    next > n ||
    next - 1 === index ||
    next - 1 > nextFresh ||
    (next === 0 && nextFresh !== n)
  ) {
    throw metaCorrupted(
      `META page ${page} (class ${1 << shift}): first free block ${index}, fresh index ${fresh}, next ${next - 1} are not a free list this code wrote`,
    );
  }
  return [next, nextFresh];
}

/**
 * What metaPagePop reads, checked (the page's state words, its next free block, its list
 * neighbours when it leaves the list), so that a scribbled structure is ERR_HEAP_CORRUPTED
 * before anything is written. Returns the block the pop will hand out.
 */
export function metaPopCheck(arena: Arena, page: number, shift: number): number {
  const w = metaStateOf(arena, page, shift);
  const [next] = metaPopNext(arena, page, shift, w);
  if (next === 0) metaListCheck(arena, page, shift, w);
  return w * 4;
}

/**
 * Pops the first free block of META page `page` (class `shift`; metaPopCheck passed): the next
 * free block takes over the page's state words — or the page leaves its class's list when this
 * was its last free block —, then one store of PM_DESC commits the pop. Returns the block.
 */
export function metaPagePop(arena: Arena, page: number, shift: number): number {
  const u32 = arena.u32;
  const e = arena.entryOf(page);
  const w = metaStateOf(arena, page, shift);
  const [next, nextFresh] = metaPopNext(arena, page, shift, w);
  if (next !== 0) {
    const nw = metaBlockAt(page, shift, next - 1) >>> 2;
    if (__DEV__) crashPoint();
    u32[nw + MB_PREV_PAGE] = u32[w + MB_PREV_PAGE]!;
    if (__DEV__) crashPoint();
    u32[nw + MB_NEXT_PAGE] = u32[w + MB_NEXT_PAGE]!;
    if (__DEV__) crashPoint();
    u32[nw + MB_FRESH] = nextFresh;
  } else {
    metaListUnlink(arena, shift, w);
  }
  if (__DEV__) crashPoint();
  u32[e + PM_DESC] = metaDesc(shift, metaDescUsed(u32[e + PM_DESC]!) + 1, next);
  return w * 4;
}

/** Checks what metaPagePush reads (the page's state words, or its class list's first page). */
function metaPushCheck(arena: Arena, page: number, shift: number): void {
  if (metaDescFree(arena.u32[arena.entryOf(page) + PM_DESC]!) !== 0) {
    metaStateOf(arena, page, shift);
    return;
  }
  const first = arena.hdr[HDR_META_HEADS + shift - META_MIN_SHIFT]! >>> 0;
  if (first !== 0) metaStateOf(arena, first - 1, shift);
}

/**
 * Pushes block `offset` (handed out, of META page `page`, class `shift`) onto the page's free
 * list: the block takes over the page's state words — or the page joins its class's list when
 * it had no free block —, then one store of PM_DESC commits the push.
 */
export function metaPagePush(arena: Arena, page: number, shift: number, offset: number): void {
  const u32 = arena.u32;
  const e = arena.entryOf(page);
  const desc = u32[e + PM_DESC]!;
  const free = metaDescFree(desc);
  const w = offset >>> 2;
  if (free !== 0) {
    const hw = metaStateOf(arena, page, shift);
    if (__DEV__) crashPoint();
    u32[w + MB_PREV_PAGE] = u32[hw + MB_PREV_PAGE]!;
    if (__DEV__) crashPoint();
    u32[w + MB_NEXT_PAGE] = u32[hw + MB_NEXT_PAGE]!;
    if (__DEV__) crashPoint();
    u32[w + MB_FRESH] = u32[hw + MB_FRESH]!;
  } else {
    metaListPush(arena, page, shift, w);
    if (__DEV__) crashPoint();
    u32[w + MB_FRESH] = metaBlocks(shift);
  }
  if (__DEV__) crashPoint();
  u32[w + MB_NEXT] = free;
  if (__DEV__) crashPoint();
  u32[e + PM_DESC] = metaDesc(shift, metaDescUsed(desc) - 1, ((offset - page * PAGE_SIZE) >>> shift) + 1);
}

/**
 * The repair's push (repair.ts): block `offset` of META page `page` back on the page's free list,
 * the page's own state only (the class lists are rebuilt after it).
 */
export function metaPagePushRaw(arena: Arena, page: number, shift: number, offset: number): void {
  const u32 = arena.u32;
  const e = arena.entryOf(page);
  const desc = u32[e + PM_DESC]!;
  const free = metaDescFree(desc);
  const w = offset >>> 2;
  u32[w + MB_FRESH] =
    free !== 0 ? u32[(metaBlockAt(page, shift, free - 1) >>> 2) + MB_FRESH]! : metaBlocks(shift);
  u32[w + MB_NEXT] = free;
  u32[e + PM_DESC] = metaDesc(
    shift,
    Math.max(0, metaDescUsed(desc) - 1),
    ((offset - page * PAGE_SIZE) >>> shift) + 1,
  );
}

/**
 * META page `page`, just taken under INTENT_TAKE, becomes a page of class `shift` whose first
 * `used` blocks are handed out: the intent turns into INTENT_META_PAGE (the repair frees the
 * page), the rest of the page is fresh (no per-block writes: O(1)) and the page goes on its
 * class's list when it has a free block, then PM_DESC is written. The caller ends the intent.
 * Returns the page's first block.
 */
export function metaPageStart(arena: Arena, page: number, shift: number, used: number): number {
  if (__DEV__) crashPoint();
  arena.hdr[HDR_INTENT_C] = shift;
  if (__DEV__) crashPoint();
  arena.hdr[HDR_INTENT_OP] = INTENT_META_PAGE;
  const n = metaBlocks(shift);
  if (used < n) {
    const w = metaBlockAt(page, shift, used) >>> 2;
    if (__DEV__) crashPoint();
    arena.u32[w + MB_FRESH] = used;
    metaListPush(arena, page, shift, w);
  }
  if (__DEV__) crashPoint();
  arena.u32[arena.entryOf(page) + PM_DESC] = metaDesc(shift, used, used < n ? used + 1 : 0);
  return page * PAGE_SIZE;
}

// ---------------------------------------------------------------------------------------------
// metaAlloc, metaFree

/** metaAlloc under the lock. */
export function metaAllocLocked(arena: Arena, bytes: number): number {
  return metaAllocInto(arena, bytes, 0);
}

/**
 * metaAlloc under the lock for a multi-step update under the registry intent (registry.ts): the
 * offset is stored in header word `word` (an operand of that intent) before the allocation's own
 * intent ends, so a crash leaves the block either undone by the arena's repair or named by the
 * operand — never handed out and unknown.
 */
export function metaAllocRecorded(arena: Arena, bytes: number, word: number): number {
  return metaAllocInto(arena, bytes, word);
}

function metaAllocInto(arena: Arena, bytes: number, word: number): number {
  if (bytes > 1 << META_MAX_SHIFT) {
    const pages = Math.ceil(bytes / PAGE_SIZE);
    if (pages >= arena.maxPages - arena.basePage) return 0;
    const offset = arenaTakeRunLocked(arena, pages, TIER_META);
    if (offset === 0) return 0;
    metaRecord(arena, word, offset);
    if (__DEV__) crashPoint();
    arena.u8.fill(0, offset, offset + pages * PAGE_SIZE);
    intentEnd(arena);
    arena.hdr[HDR_META_BYTES]! += pages * PAGE_SIZE;
    return offset;
  }
  const shift = Math.max(META_MIN_SHIFT, 32 - Math.clz32(bytes - 1));
  const first = arena.hdr[HDR_META_HEADS + shift - META_MIN_SHIFT]! >>> 0;
  let offset: number;
  if (first !== 0) {
    const block = metaPopCheck(arena, first - 1, shift);
    intentBegin(arena, INTENT_META_POP, block, 0, shift, 0);
    offset = metaPagePop(arena, first - 1, shift);
  } else {
    const page = arenaTakeRunLocked(arena, 1, TIER_META) / PAGE_SIZE;
    if (page === 0) return 0;
    offset = metaPageStart(arena, page, shift, 1);
  }
  metaRecord(arena, word, offset);
  if (__DEV__) crashPoint();
  arena.u8.fill(0, offset, offset + (1 << shift));
  intentEnd(arena);
  arena.hdr[HDR_META_BYTES]! += 1 << shift;
  return offset;
}

function metaRecord(arena: Arena, word: number, offset: number): void {
  if (word === 0) return;
  if (__DEV__) crashPoint();
  arena.hdr[word] = offset;
}

/**
 * Whether `offset` is a metaAlloc block (or META run) handed out now, not a page-map leaf: what
 * the registry repair asks before it frees a block an interrupted update held (bounded walk).
 */
export function metaIsHandedOut(arena: Arena, offset: number): boolean {
  if (!(Number.isInteger(offset) && offset > arena.base && offset < arena.endPage * PAGE_SIZE)) return false;
  const page = Math.floor(offset / PAGE_SIZE);
  const e = arena.entryOf(page);
  if (arena.u32[e + PM_TIER] !== (TIER_META | PM_FLAG_HEAD)) return false;
  const desc = arena.u32[e + PM_DESC]!;
  if (desc === META_DESC_RUN) return offset % PAGE_SIZE === 0;
  const shift = metaDescClass(desc);
  if (shift < META_MIN_SHIFT || shift > META_MAX_SHIFT || offset % (1 << shift) !== 0) return false;
  if (shift === META_LEAF_SHIFT && arenaIsLeafBlock(arena, offset)) return false;
  return !metaBlockIsFree(arena, page, shift, desc, (offset - page * PAGE_SIZE) >>> shift);
}

/** Arena.metaAlloc: validates, then metaAllocLocked under the lock. */
export function metaAlloc(arena: Arena, bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > MAX_BYTES_LIMIT) {
    throw new HakmemError('ERR_INVALID_SIZE', `metaAlloc: bytes ${bytes} is not an integer in [1, 2^32]`);
  }
  arena.lock();
  try {
    return metaAllocLocked(arena, bytes);
  } finally {
    arena.unlock();
  }
}

/** metaFree under the lock. */
export function metaFreeLocked(arena: Arena, offset: number): void {
  const end = arena.endPage * PAGE_SIZE;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset <= arena.base || offset >= end) {
    throw new HakmemError(
      'ERR_INVALID_POINTER',
      `metaFree: offset ${describe(offset)} is not a metaAlloc block in (${arena.base}, ${end})`,
    );
  }
  const page = Math.floor(offset / PAGE_SIZE);
  const e = arena.entryOf(page);
  const word = arena.u32[e + PM_TIER]!;
  if ((word & PM_TIER_MASK) === TIER_FREE) {
    throw new HakmemError(
      'ERR_DOUBLE_FREE',
      `metaFree: offset ${offset} is in a free page (already freed, and its page returned)`,
    );
  }
  if ((word & PM_TIER_MASK) !== TIER_META || (word & PM_FLAG_HEAD) === 0) {
    throw new HakmemError('ERR_INVALID_POINTER', `metaFree: offset ${offset} is not in a metaAlloc page`);
  }
  const desc = arena.u32[e + PM_DESC]!;
  if (desc === META_DESC_RUN) {
    metaFreeRunLocked(arena, offset, page);
    return;
  }
  const shift = metaDescClass(desc);
  if (shift < META_MIN_SHIFT || shift > META_MAX_SHIFT) {
    throw metaCorrupted(`metaFree: the META page at ${page * PAGE_SIZE} has class bits ${shift}`);
  }
  if (offset % (1 << shift) !== 0) {
    throw new HakmemError(
      'ERR_INVALID_POINTER',
      `metaFree: offset ${offset} is not at the start of a ${1 << shift}-byte metaAlloc block`,
    );
  }
  if (shift === META_LEAF_SHIFT && arenaIsLeafBlock(arena, offset)) {
    throw new HakmemError('ERR_INVALID_POINTER', `metaFree: offset ${offset} is a page-map leaf`);
  }
  const index = (offset - page * PAGE_SIZE) >>> shift;
  const free = metaDescFree(desc);
  // O(1): a block at or beyond the fresh index, or the first free one, is free; the full list in development builds.
  const fresh = free === 0 ? metaBlocks(shift) : arena.u32[metaStateOf(arena, page, shift) + MB_FRESH]!;
  if (index >= fresh || index === free - 1 || (__DEV__ && metaBlockIsFree(arena, page, shift, desc, index))) {
    throw new HakmemError('ERR_DOUBLE_FREE', `metaFree: block ${offset} is already free`);
  }
  const used = metaDescUsed(desc);
  if (used === 0)
    throw metaCorrupted(`metaFree: the META page at ${page * PAGE_SIZE} counts no block handed out`);
  if (used === 1 && page !== arena.basePage) {
    // Its last block: the page goes back to the free runs (it leaves its class list first, derived state).
    if (free !== 0) {
      const w = metaStateOf(arena, page, shift);
      metaListCheck(arena, page, shift, w);
      metaListUnlink(arena, shift, w);
    }
    intentBegin(arena, INTENT_RELEASE, page, 1, TIER_META, 0);
    arenaReleaseLocked(arena, page, 1, arena.endPage);
    if (__DEV__) crashPoint();
    arena.hdr[HDR_PAGES_BY_TIER + TIER_META]!--;
    intentEnd(arena);
  } else {
    metaPushCheck(arena, page, shift);
    intentBegin(arena, INTENT_META_PUSH, offset, 0, shift, 0);
    metaPagePush(arena, page, shift, offset);
    intentEnd(arena);
  }
  arena.hdr[HDR_META_BYTES]! -= 1 << shift;
}

/** metaFree of a META run (> 64 KiB) headed at page `page`. */
function metaFreeRunLocked(arena: Arena, offset: number, page: number): void {
  if (offset % PAGE_SIZE !== 0) {
    throw new HakmemError(
      'ERR_INVALID_POINTER',
      `metaFree: offset ${offset} is not the start of a metaAlloc run`,
    );
  }
  const pages = arena.u32[arena.entryOf(page) + PM_RUN_PAGES]!;
  intentBegin(arena, INTENT_RELEASE, page, pages, TIER_META, 0);
  arenaReleaseLocked(arena, page, pages, arena.endPage);
  if (__DEV__) crashPoint();
  arena.hdr[HDR_PAGES_BY_TIER + TIER_META]! -= pages;
  intentEnd(arena);
  arena.hdr[HDR_META_BYTES]! -= pages * PAGE_SIZE;
}

/** Arena.metaFree: metaFreeLocked under the lock. */
export function metaFree(arena: Arena, offset: number): void {
  arena.lock();
  try {
    metaFreeLocked(arena, offset);
  } finally {
    arena.unlock();
  }
}

export function arenaIsLeafBlock(arena: Arena, offset: number): boolean {
  for (let leaf = 0; leaf <= (arena.maxPages - 1) >>> LEAF_SHIFT; leaf++) {
    if (arena.u32[arena.leafDir + leaf] === offset >>> 2) return true;
  }
  return false;
}

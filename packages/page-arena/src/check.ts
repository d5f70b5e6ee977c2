/**
 * check(): the arena's invariants (layout.ts, "Invariants") verified from scratch by walking the
 * header, the page map, the bins, the metaAlloc free lists, the thread registry, the tier
 * directory and the registered lock words, independently of the code that maintains them.
 */
import type { Arena } from './arena';
import { HakmemError } from './errors';
import {
  BIN_BITMAP_WORDS,
  BIN_COUNT,
  BIN_SUMMARY_WORDS,
  binOf,
  FREE_LINK_MASK,
  FREE_LINK_SHIFT,
  HDR_BASE,
  HDR_BIN_BITMAP,
  HDR_BIN_HEADS,
  HDR_BIN_SUMMARY,
  HDR_COMMITTED_PAGES,
  HDR_FREE_RUNS,
  HDR_INTENT_OP,
  HDR_LOCK,
  HDR_LOCKREG_ARRAY,
  HDR_LOCKREG_CAP,
  HDR_LOCKREG_COUNT,
  HDR_MAGIC,
  HDR_MAX_PAGES,
  HDR_META_HEADS,
  HDR_PAGES_BY_TIER,
  HDR_REG_OP,
  HDR_THREAD_CHUNKS,
  HDR_THREAD_DIR,
  HDR_THREAD_FREE,
  HDR_THREAD_HIGH,
  HDR_THREAD_LIVE,
  HDR_TIER_CAP,
  HDR_TIER_COUNT,
  HDR_TIER_DIR,
  HDR_VERSION,
  HEAP_MAGIC,
  INTENT_NONE,
  LAYOUT_VERSION,
  LEAF_BYTES,
  LEAF_SHIFT,
  LOCK_OWNER_ANON,
  LOCK_OWNER_MASK,
  MAX_PAGES_LIMIT,
  MB_NEXT_PAGE,
  MB_PREV_PAGE,
  META_CLASSES,
  META_DESC_RUN,
  META_LEAF_SHIFT,
  META_MAX_SHIFT,
  META_MIN_SHIFT,
  PAGE_SIZE,
  PM_DESC,
  PM_FLAG_HEAD,
  PM_HEAD_PAGE,
  PM_RUN_PAGES,
  PM_TIER,
  PM_TIER_MASK,
  REG_NONE,
  TD_MAX,
  TD_MIN,
  TD_ROOT,
  TD_ROOT_WORDS,
  TD_VERSION,
  THREAD_CHUNK0_SHIFT,
  THREAD_RECORD_WORDS,
  TIER_COUNT,
  TIER_FIRST,
  TIER_FREE,
  TIER_LAST,
  TIER_META,
  TIER_THREAD_WORDS,
  TR_NEXT_FREE,
  TR_STATE,
  TR_TIER_SLOTS,
  TR_TIER_WORDS,
} from './layout';
import { metaBlocks, metaDescClass, metaDescFree, metaDescUsed, metaPageWalk, metaStateOf } from './meta';

function corrupted(detail: string): HakmemError {
  return new HakmemError('ERR_HEAP_CORRUPTED', `check: ${detail}`);
}

/**
 * What attach proves before a new instance uses a heap it did not format, so a scribbled or
 * foreign memory is a coded error in bounded time, never a hang or a RangeError later: the
 * committed page count fits the memory, the arena mutex names a possible owner (a word naming
 * a thread that never existed would block every lock() forever), then the whole arena check —
 * every walk in it is bounded by the heap's size — under the lock. Errors other than
 * HakmemError (a typed-array access out of range on a scribbled index) become ERR_HEAP_CORRUPTED.
 */
export function arenaVerifyAttach(arena: Arena): void {
  const hdr = arena.hdr;
  const committed = Atomics.load(hdr, HDR_COMMITTED_PAGES);
  if (!(committed > arena.basePage && committed <= arena.maxPages)) {
    throw new HakmemError(
      'ERR_HEAP_CORRUPTED',
      `attach: the header's committed page count ${committed} is not in [${arena.basePage + 1}, ${arena.maxPages}] (the heap's header is overwritten)`,
    );
  }
  arena.refresh();
  const owner = Atomics.load(hdr, HDR_LOCK) & LOCK_OWNER_MASK;
  const high = hdr[HDR_THREAD_HIGH]!;
  if (owner !== 0 && owner !== LOCK_OWNER_ANON && !(owner <= high)) {
    throw new HakmemError(
      'ERR_HEAP_CORRUPTED',
      `attach: the arena mutex names owner ${owner}, a thread id never handed out (ids 1..${high}): the heap's header is overwritten`,
    );
  }
  arena.lock();
  try {
    arenaCheckLocked(arena);
  } catch (error) {
    if (error instanceof HakmemError) throw error;
    throw new HakmemError(
      'ERR_HEAP_CORRUPTED',
      `attach: the heap's structures are overwritten (${error instanceof Error ? error.message : String(error)})`,
    );
  } finally {
    arena.unlock();
  }
}

/**
 * Walks the header, the page map, the bins, the metaAlloc free lists and the thread registry
 * and throws ERR_HEAP_CORRUPTED naming the first broken invariant (see layout.ts). The caller
 * holds the arena mutex. O(pages + free runs + free meta blocks + thread ids).
 */
export function arenaCheckLocked(arena: Arena): void {
  const hdr = arena.hdr;
  const u32 = arena.u32;
  const i32 = arena.i32;
  const base = arena.base;
  const basePage = arena.basePage;
  const end = arena.endPage;

  // Header.
  if (Atomics.load(hdr, HDR_MAGIC) !== HEAP_MAGIC)
    corruptedHeader(`magic ${hdr[HDR_MAGIC]} is not ${HEAP_MAGIC}`);
  if (hdr[HDR_VERSION] !== LAYOUT_VERSION)
    corruptedHeader(`layout version ${hdr[HDR_VERSION]} is not ${LAYOUT_VERSION}`);
  if (hdr[HDR_BASE] !== base)
    corruptedHeader(`base word ${hdr[HDR_BASE]} is not the header's offset ${base}`);
  const maxPages = hdr[HDR_MAX_PAGES]!;
  if (maxPages !== arena.maxPages || maxPages < basePage + 1 || maxPages > MAX_PAGES_LIMIT) {
    corruptedHeader(`max pages ${maxPages} is not in [${basePage + 1}, ${MAX_PAGES_LIMIT}]`);
  }
  const committed = Atomics.load(hdr, HDR_COMMITTED_PAGES);
  if (committed !== end || committed <= basePage || committed > maxPages) {
    corruptedHeader(
      `committed pages ${committed} is not in (${basePage}, ${maxPages}] or differs from the views (${end})`,
    );
  }
  if (end * PAGE_SIZE > arena.viewBytes)
    corruptedHeader(`committed ${end * PAGE_SIZE} bytes exceed the views' ${arena.viewBytes}`);

  // Leaves: every committed page has one, each a 16 KiB block inside a META page of class 16 KiB.
  const lastLeaf = (maxPages - 1) >>> LEAF_SHIFT;
  const leafBlocks = new Set<number>();
  for (let leaf = 0; leaf < 64; leaf++) {
    const index = u32[arena.leafDir + leaf]!;
    const needed = leaf >= basePage >>> LEAF_SHIFT && leaf <= (end - 1) >>> LEAF_SHIFT;
    if (index === 0) {
      if (needed)
        throw corrupted(`page-map leaf ${leaf} is missing though pages up to ${end - 1} are committed`);
      continue;
    }
    if (leaf > lastLeaf) throw corrupted(`page-map leaf ${leaf} exists beyond maxBytes`);
    const offset = index * 4;
    if (offset % LEAF_BYTES !== 0 || offset < base || offset + LEAF_BYTES > end * PAGE_SIZE) {
      throw corrupted(`page-map leaf ${leaf} at offset ${offset} is not an aligned 16 KiB block in the heap`);
    }
    leafBlocks.add(offset);
  }

  // Runs: walk the page map from the header page to the committed end.
  const pagesByTier = new Array<number>(TIER_COUNT).fill(0);
  const freeRuns = new Map<number, number>();
  const metaPages = new Map<number, number>();
  let previousFree = false;
  for (let page = basePage; page < end; ) {
    const e = arena.entryOf(page);
    const word = u32[e + PM_TIER]!;
    const tier = word & PM_TIER_MASK;
    const pages = u32[e + PM_RUN_PAGES]!;
    const at = `run at page ${page} (offset ${page * PAGE_SIZE})`;
    if ((word & PM_FLAG_HEAD) === 0)
      throw corrupted(`page ${page} should head a run but has no head flag (word ${word})`);
    if (word >>> 9 !== 0) throw corrupted(`${at} has tier word ${word}, not a tier id with the head flag`);
    if (pages < 1 || page + pages > end)
      throw corrupted(`${at} has length ${pages} pages, beyond the committed end ${end}`);
    if (u32[e + PM_HEAD_PAGE] !== page)
      throw corrupted(`${at} names ${u32[e + PM_HEAD_PAGE]} as its head page`);
    if (
      page === basePage &&
      (tier !== TIER_META || pages !== 1 || metaDescClass(u32[e + PM_DESC]!) !== META_LEAF_SHIFT)
    ) {
      throw corrupted(`the header page ${page} is not a one-page META run of class 16 KiB`);
    }
    if (tier === TIER_FREE) {
      if (previousFree) throw corrupted(`free ${at} follows another free run (coalescing incomplete)`);
      for (let p = page + 1; p < page + pages; p++) {
        const pe = arena.entryOf(p);
        if (u32[pe + PM_TIER] !== TIER_FREE)
          throw corrupted(`page ${p} inside free ${at} has tier word ${u32[pe + PM_TIER]}, not free`);
      }
      if (pages > 1) {
        const t = arena.entryOf(page + pages - 1);
        if (u32[t + PM_HEAD_PAGE] !== page || u32[t + PM_RUN_PAGES] !== pages) {
          throw corrupted(
            `free ${at}: its last page's boundary tag says head ${u32[t + PM_HEAD_PAGE]}, ${u32[t + PM_RUN_PAGES]} pages`,
          );
        }
      }
      freeRuns.set(page, pages);
    } else {
      for (let p = page + 1; p < page + pages; p++) {
        const pe = arena.entryOf(p);
        if (u32[pe + PM_TIER] !== tier || u32[pe + PM_HEAD_PAGE] !== page) {
          throw corrupted(
            `page ${p} inside ${at} (tier ${tier}) has tier word ${u32[pe + PM_TIER]} and head ${u32[pe + PM_HEAD_PAGE]}`,
          );
        }
      }
      if (tier === TIER_META) {
        const desc = u32[e + PM_DESC]!;
        const shift = metaDescClass(desc);
        if (
          desc !== META_DESC_RUN &&
          (shift < META_MIN_SHIFT ||
            shift > META_MAX_SHIFT ||
            pages !== 1 ||
            desc >>> 31 !== 0 ||
            metaDescUsed(desc) > metaBlocks(shift) ||
            metaDescFree(desc) > metaBlocks(shift))
        ) {
          throw corrupted(
            `META ${at} has desc ${desc}, not a metaAlloc page of a class 4..16 (one page, used and first-free ≤ its blocks) or 0 for a run`,
          );
        }
        metaPages.set(page, shift);
      }
    }
    previousFree = tier === TIER_FREE;
    pagesByTier[tier]! += pages;
    page += pages;
  }
  for (let tier = 0; tier < TIER_COUNT; tier++) {
    if (hdr[HDR_PAGES_BY_TIER + tier] !== pagesByTier[tier]) {
      throw corrupted(
        `page count of tier ${tier} says ${hdr[HDR_PAGES_BY_TIER + tier]}, the page map has ${pagesByTier[tier]}`,
      );
    }
  }
  for (const offset of leafBlocks) {
    if (metaPages.get(Math.floor(offset / PAGE_SIZE)) !== META_LEAF_SHIFT) {
      throw corrupted(`page-map leaf at offset ${offset} is not in a META page of class 16 KiB`);
    }
  }

  // Bins: every free run exactly once, in the bin of its length; bitmaps equal "bin non-empty".
  let listed = 0;
  for (let bin = 0; bin < BIN_COUNT; bin++) {
    const first = hdr[HDR_BIN_HEADS + bin]!;
    const bit = (hdr[HDR_BIN_BITMAP + (bin >>> 5)]! >>> (bin & 31)) & 1;
    if (bit !== (first !== 0 ? 1 : 0))
      throw corrupted(`bin ${bin}: bitmap bit ${bit} but first run ${first}`);
    let prev = 0;
    for (let head = first; head !== 0; ) {
      const pages = freeRuns.get(head);
      if (pages === undefined) throw corrupted(`bin ${bin} lists page ${head}, which heads no free run`);
      if (binOf(pages) !== bin)
        throw corrupted(`free run at page ${head} (${pages} pages) is in bin ${bin}, not ${binOf(pages)}`);
      freeRuns.delete(head);
      listed++;
      const link = u32[arena.entryOf(head) + PM_DESC]!;
      if (link >>> FREE_LINK_SHIFT !== prev)
        throw corrupted(`free run at page ${head} has back link ${link >>> FREE_LINK_SHIFT}, not ${prev}`);
      prev = head;
      head = link & FREE_LINK_MASK;
    }
  }
  if (freeRuns.size !== 0) {
    const [page, pages] = freeRuns.entries().next().value!;
    throw corrupted(`free run at page ${page} (${pages} pages) is in no bin (or in a bin twice)`);
  }
  if (hdr[HDR_FREE_RUNS] !== listed)
    throw corrupted(`free-run count says ${hdr[HDR_FREE_RUNS]}, the bins hold ${listed}`);
  for (let w = 0; w < BIN_BITMAP_WORDS; w++) {
    const bit = (hdr[HDR_BIN_SUMMARY + (w >>> 5)]! >>> (w & 31)) & 1;
    if (bit !== (hdr[HDR_BIN_BITMAP + w] !== 0 ? 1 : 0))
      throw corrupted(`bin summary bit ${w} is ${bit} but bitmap word ${w} is ${hdr[HDR_BIN_BITMAP + w]}`);
  }
  for (let w = BIN_BITMAP_WORDS; w < BIN_SUMMARY_WORDS * 32; w++) {
    if (((hdr[HDR_BIN_SUMMARY + (w >>> 5)]! >>> (w & 31)) & 1) !== 0)
      throw corrupted(`bin summary bit ${w} is set beyond the bitmap`);
  }

  // metaAlloc pages: each page's free list (a bounded walk) agrees with its used count, holds no
  // header or leaf block, and no page is empty; the class lists hold exactly the pages with a
  // free block, each once, links consistent.
  const withFree = new Map<number, number>();
  for (const [page, shift] of metaPages) {
    if (shift === META_DESC_RUN) continue;
    const desc = u32[arena.entryOf(page) + PM_DESC]!;
    const n = metaBlocks(shift);
    const at = `META page ${page} (class ${1 << shift})`;
    let walk: { listed: number[]; fresh: number };
    try {
      walk = metaPageWalk(arena, page, shift, desc);
    } catch (error) {
      throw corrupted(
        error instanceof Error ? error.message.replace(/^\[\w+\] metaAlloc: /, '') : String(error),
      );
    }
    const free = walk.listed.length + n - walk.fresh;
    if (metaDescUsed(desc) !== n - free)
      throw corrupted(
        `${at} counts ${metaDescUsed(desc)} blocks handed out, its free list leaves ${n - free}`,
      );
    if (free === n && page !== basePage)
      throw corrupted(`${at} is empty but was not returned to the free runs`);
    const isFree = (offset: number) => {
      const index = (offset - page * PAGE_SIZE) >>> shift;
      return index >= walk.fresh || walk.listed.includes(index);
    };
    if (page === basePage && isFree(base)) throw corrupted(`the header block is on the free list of ${at}`);
    for (const leaf of leafBlocks) {
      if (Math.floor(leaf / PAGE_SIZE) === page && isFree(leaf))
        throw corrupted(`page-map leaf at offset ${leaf} is on the free list of ${at}`);
    }
    if (free > 0) withFree.set(page, shift);
  }
  for (let c = 0; c < META_CLASSES; c++) {
    const shift = META_MIN_SHIFT + c;
    let prev = 0;
    for (let link = hdr[HDR_META_HEADS + c]! >>> 0; link !== 0; ) {
      const page = link - 1;
      const what = `the list of class ${1 << shift} names page ${page}`;
      if (withFree.get(page) !== shift)
        throw corrupted(
          `${what}, which is not a META page of that class with a free block (or is listed twice)`,
        );
      withFree.delete(page);
      const w = metaStateOf(arena, page, shift);
      if (u32[w + MB_PREV_PAGE] !== prev)
        throw corrupted(`${what} with back link ${u32[w + MB_PREV_PAGE]}, not ${prev}`);
      prev = link;
      link = u32[w + MB_NEXT_PAGE]!;
    }
  }
  if (withFree.size !== 0) {
    const [page, shift] = withFree.entries().next().value!;
    throw corrupted(`META page ${page} (class ${1 << shift}) has a free block but is on no class list`);
  }

  // Intent records: settled whenever nobody is inside an update (the caller holds the mutex).
  if (hdr[HDR_INTENT_OP] !== INTENT_NONE)
    throw corrupted(`the intent record names op ${hdr[HDR_INTENT_OP]}, an arena update nobody is inside`);
  if (hdr[HDR_REG_OP] !== REG_NONE)
    throw corrupted(
      `the registry intent record names op ${hdr[HDR_REG_OP]}, a registry update nobody is inside`,
    );

  // Thread registry.
  const high = hdr[HDR_THREAD_HIGH]!;
  const chunks = hdr[HDR_THREAD_CHUNKS]!;
  if (high < 0 || high > ((1 << chunks) - 1) << THREAD_CHUNK0_SHIFT) {
    throw corrupted(`thread high-water id ${high} exceeds the ${chunks} registry chunks`);
  }
  for (let k = 0; k < chunks; k++) {
    const start = hdr[HDR_THREAD_DIR + k]! * 4;
    const bytes = (1 << (THREAD_CHUNK0_SHIFT + k)) * THREAD_RECORD_WORDS * 4;
    if (start <= base || start + bytes > end * PAGE_SIZE)
      throw corrupted(`thread registry chunk ${k} at ${start} is outside the heap`);
    if (!metaPages.has(Math.floor(start / PAGE_SIZE)))
      throw corrupted(`thread registry chunk ${k} at ${start} is not metaAlloc memory`);
  }
  let live = 0;
  let free = 0;
  for (let id = 1; id <= high; id++) {
    const state = Atomics.load(i32, arena.threadRecord(id) + TR_STATE);
    if (state < 0 || state > 2)
      throw corrupted(`thread ${id} has state ${state}, not 0 (free), 1 (live) or 2 (being reclaimed)`);
    if (state === 0) free++;
    else live++;
    const record = arena.threadRecord(id);
    const block = i32[record + TR_TIER_WORDS]!;
    if (block !== 0) {
      const slots = i32[record + TR_TIER_SLOTS]!;
      if (state === 0) throw corrupted(`free thread id ${id} still names a tier-words block`);
      if (slots < 1 || block * 4 <= base || (block + slots * TIER_THREAD_WORDS) * 4 > end * PAGE_SIZE)
        throw corrupted(
          `thread ${id}'s tier-words block (${slots} tiers at ${block * 4}) is outside the heap`,
        );
      if (!metaPages.has(Math.floor((block * 4) / PAGE_SIZE)))
        throw corrupted(`thread ${id}'s tier-words block at ${block * 4} is not metaAlloc memory`);
    }
  }
  if (hdr[HDR_THREAD_LIVE] !== live)
    throw corrupted(`live thread count says ${hdr[HDR_THREAD_LIVE]}, the records have ${live}`);
  const onList = new Set<number>();
  for (let id = hdr[HDR_THREAD_FREE]!; id !== 0; id = i32[arena.threadRecord(id) + TR_NEXT_FREE]!) {
    if (id < 1 || id > high) throw corrupted(`free thread id list holds ${id}, not in 1..${high}`);
    if (onList.has(id)) throw corrupted(`free thread id list holds ${id} twice (or loops)`);
    if (Atomics.load(i32, arena.threadRecord(id) + TR_STATE) !== 0)
      throw corrupted(`free thread id list holds ${id}, which is attached`);
    onList.add(id);
  }
  if (onList.size !== free)
    throw corrupted(`free thread id list holds ${onList.size} ids, the records have ${free} free`);

  // Tier directory.
  const tierCount = hdr[HDR_TIER_COUNT]!;
  const tierCap = hdr[HDR_TIER_CAP]!;
  const dir = hdr[HDR_TIER_DIR]!;
  if (
    tierCount < 0 ||
    tierCount > tierCap ||
    tierCount > TIER_LAST - TIER_FIRST + 1 ||
    tierCap > 0 !== (dir !== 0)
  )
    throw corrupted(`tier directory: ${tierCount} tiers of ${tierCap} at ${dir * 4}`);
  if (dir !== 0 && !metaPages.has(Math.floor((dir * 4) / PAGE_SIZE)))
    throw corrupted(`tier directory at ${dir * 4} is not metaAlloc memory`);
  const kinds = new Set<string>();
  for (let id = TIER_FIRST; id < TIER_FIRST + tierCount; id++) {
    const e = arena.tierEntry(id);
    const kind = arena.tierKindAt(e);
    const root = i32[e + TD_ROOT]!;
    const words = i32[e + TD_ROOT_WORDS]!;
    if (kind === '' || kinds.has(kind)) throw corrupted(`tier ${id} has kind '${kind}', empty or repeated`);
    kinds.add(kind);
    if (i32[e + TD_MIN]! < 0 || u32[e + TD_MAX]! < i32[e + TD_MIN]!)
      throw corrupted(`tier ${id} ('${kind}') has size range ${i32[e + TD_MIN]}..${u32[e + TD_MAX]}`);
    if (i32[e + TD_VERSION]! < 1)
      throw corrupted(`tier ${id} ('${kind}') has layout version ${i32[e + TD_VERSION]}`);
    if (words < 1 || root * 4 <= base || (root + words) * 4 > end * PAGE_SIZE)
      throw corrupted(
        `tier ${id} ('${kind}') has its root of ${words} words at ${root * 4}, outside the heap`,
      );
  }

  // Registered lock words.
  const count = hdr[HDR_LOCKREG_COUNT]!;
  const cap = hdr[HDR_LOCKREG_CAP]!;
  const array = hdr[HDR_LOCKREG_ARRAY]!;
  if (count < 0 || count > cap || (cap > 0 && array * 4 <= base))
    throw corrupted(`lock registry: ${count} of ${cap} at ${array * 4}`);
  for (let i = 0; i < count; i++) {
    const index = i32[array + i]!;
    if (index < arena.headerIndex || index * 4 >= end * PAGE_SIZE)
      throw corrupted(`registered lock word ${index} is outside the heap`);
  }
}

function corruptedHeader(detail: string): never {
  throw corrupted(`header: ${detail}`);
}

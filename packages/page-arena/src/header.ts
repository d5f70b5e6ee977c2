/**
 * The heap header: format writes it (zeroed block, identity words, the header page's own leaf
 * and META entry, the first free run) and publishes the heap by storing HDR_MAGIC last; attach
 * finds it, at the given base or by a scan of 64 KiB boundaries, and accepts only a header
 * whose magic, base word, layout version and checksum of the identity words all match.
 * See layout.ts, "Header".
 */
import type { Arena } from './arena';
import { HakmemError } from './errors';
import { arenaAddPagesLocked } from './growth';
import {
  FLAG_SHARED,
  FLAG_STRICT,
  HDR_BASE,
  HDR_CHECKSUM,
  HDR_COMMITTED_PAGES,
  HDR_FLAGS,
  HDR_GROWTH,
  HDR_HEADER_BYTES,
  HDR_MAGIC,
  HDR_MAX_PAGES,
  HDR_MEMORY_KIND,
  HDR_META_BYTES,
  HDR_PAGES_BY_TIER,
  HDR_VERSION,
  HEADER_BYTES,
  HEADER_WORDS,
  HEAP_MAGIC,
  LAYOUT_VERSION,
  LEAF_BYTES,
  LEAF_SHIFT,
  MB_FRESH,
  META_LEAF_SHIFT,
  PAGE_SIZE,
  PM_DESC,
  TIER_META,
} from './layout';
import { memoryKindName } from './memory';
import { metaDesc, metaListPushPage } from './meta';
import { describe, type ResolvedOptions } from './options';
import { arenaMarkHead, arenaMarkPages } from './runs';

/** Formats the header page and the first `committedPages` pages, then publishes the heap (HDR_MAGIC last). */
export function arenaFormatHeader(arena: Arena, committedPages: number, _o: ResolvedOptions): void {
  const hp = arena.basePage;
  arena.mapViews(committedPages * PAGE_SIZE);
  // The header block is [base, base + 16 KiB); zero it whole (a given memory may be dirty).
  arena.u8.fill(0, arena.base, arena.base + (1 << META_LEAF_SHIFT));
  const hdr = arena.hdr;
  hdr[HDR_VERSION] = LAYOUT_VERSION;
  hdr[HDR_HEADER_BYTES] = HEADER_BYTES;
  hdr[HDR_BASE] = arena.base;
  hdr[HDR_MAX_PAGES] = arena.maxPages;
  hdr[HDR_FLAGS] = (arena.shared ? FLAG_SHARED : 0) | (arena.strict ? FLAG_STRICT : 0);
  hdr[HDR_MEMORY_KIND] = arena.kind;
  // The header page is a metaAlloc page of class 16 KiB: block 0 the header, block 1 its leaf,
  // blocks 2 and 3 fresh (spare leaves).
  const leafBlockBytes = 1 << META_LEAF_SHIFT;
  const leaf = arena.base + leafBlockBytes;
  arena.u8.fill(0, leaf, leaf + LEAF_BYTES);
  arena.u32[arena.leafDir + (hp >>> LEAF_SHIFT)] = leaf >>> 2;
  hdr[HDR_META_BYTES] = 2 * leafBlockBytes;
  arenaMarkPages(arena, hp, hp, hp + 1, TIER_META);
  arenaMarkHead(arena, hp, 1, TIER_META);
  arena.u32[((leaf + leafBlockBytes) >>> 2) + MB_FRESH] = 2;
  arena.u32[arena.entryOf(hp) + PM_DESC] = metaDesc(META_LEAF_SHIFT, 2, 3);
  hdr[HDR_PAGES_BY_TIER + TIER_META] = 1;
  arena.endPage = hp + 1;
  metaListPushPage(arena, hp, META_LEAF_SHIFT);
  if (committedPages > hp + 1) {
    const carved = arenaAddPagesLocked(arena, hp + 1, committedPages, -1);
    arena.endPage = committedPages;
    if (carved !== 0) metaListPushPage(arena, carved, META_LEAF_SHIFT);
  }
  arena.endPage = committedPages;
  Atomics.store(hdr, HDR_COMMITTED_PAGES, committedPages);
  Atomics.store(hdr, HDR_GROWTH, 0);
  arena.seenGrowth = 0;
  hdr[HDR_CHECKSUM] = headerChecksum(hdr, HEAP_MAGIC);
  Atomics.store(hdr, HDR_MAGIC, HEAP_MAGIC);
}

/** Mix of the header's identity words; attach's scan only accepts a header whose checksum matches. */
export function headerChecksum(hdr: Int32Array, magic: number): number {
  let h = Math.imul(magic ^ 0x9e3779b9, 0x85ebca6b);
  for (const word of [HDR_VERSION, HDR_HEADER_BYTES, HDR_BASE, HDR_MAX_PAGES, HDR_FLAGS, HDR_MEMORY_KIND]) {
    h = Math.imul(h ^ hdr[word]!, 0xc2b2ae35);
    h ^= h >>> 15;
  }
  return h;
}

/** Byte offset of the heap header in `buffer` (at `base`, or the first valid one at a 64 KiB boundary); ERR_HEAP_INCOMPATIBLE when there is none. */
export function arenaFindHeader(buffer: ArrayBufferLike, kind: number, base: number | undefined): number {
  const length = buffer.byteLength;
  const where = `this ${memoryKindName(kind)} of ${length} bytes`;
  const candidates: number[] = [];
  if (base !== undefined) {
    if (!Number.isInteger(base) || base < 0 || base % PAGE_SIZE !== 0) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `attach: base ${describe(base)} is not a multiple of 64 KiB`,
      );
    }
    candidates.push(base);
  } else {
    for (let off = 0; off + HEADER_BYTES <= length; off += PAGE_SIZE) candidates.push(off);
  }
  let corrupted = -1;
  for (const off of candidates) {
    if (off + HEADER_BYTES > length) break;
    const hdr = new Int32Array(buffer, off, HEADER_WORDS);
    if (Atomics.load(hdr, HDR_MAGIC) !== HEAP_MAGIC || hdr[HDR_BASE] !== off) continue;
    if (hdr[HDR_VERSION] !== LAYOUT_VERSION) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `attach: the heap at offset ${off} has layout version ${hdr[HDR_VERSION]}; this @hakmem/page-arena reads layout version ${LAYOUT_VERSION} only`,
      );
    }
    if (hdr[HDR_CHECKSUM] !== headerChecksum(hdr, HEAP_MAGIC)) {
      corrupted = off;
      continue;
    }
    return off;
  }
  if (corrupted >= 0) {
    throw new HakmemError(
      'ERR_HEAP_INCOMPATIBLE',
      `attach: the heap header at offset ${corrupted} fails its checksum (overwritten options words)`,
    );
  }
  throw new HakmemError(
    'ERR_HEAP_INCOMPATIBLE',
    base !== undefined
      ? `attach: no hakmem heap header (magic 0x${HEAP_MAGIC.toString(16)}) at base ${base} of ${where}`
      : `attach: no hakmem heap in ${where}: no header with magic 0x${HEAP_MAGIC.toString(16)} at any 64 KiB boundary`,
  );
}

import { bigTier } from '@hakmem/bigcache';
import { l25Tier } from '@hakmem/l25-pool';
import { midTier } from '@hakmem/mid-registry';
import { type ArenaTier, HakmemError, PAGE_SIZE, runTier, type TierFactory } from '@hakmem/page-arena';
import { TINY_MAX_SIZE, tinyTier } from '@hakmem/superslab';
import { describeValue } from './validate';

/** One tier of a composition: which tier, and the largest request it serves. */
export interface TierSpec {
  /** The tier's factory: `tinyTier` (@hakmem/superslab), `runTier` (@hakmem/page-arena), or your own. */
  tier: TierFactory;
  /**
   * The largest request size routed to it; it serves everything above the previous tier's
   * `maxSize` up to here. Default: the tier's `sizeLimit` (for the last tier: the largest block
   * the heap can hold, if that is smaller).
   */
  maxSize?: number;
}

/** The default composition: tiny 0 … 1 KiB, mid … 32 KiB, L2.5 … 1 MiB, big above. */
export const DEFAULT_TIERS: readonly TierSpec[] = Object.freeze([
  Object.freeze({ tier: tinyTier, maxSize: TINY_MAX_SIZE }),
  Object.freeze({ tier: midTier, maxSize: 32 * 1024 }),
  Object.freeze({ tier: l25Tier, maxSize: 1024 * 1024 }),
  Object.freeze({ tier: bigTier }),
]);

/** The tiers hakmem builds in: attachHeap finds them by kind without being given them. */
const BUILT_IN: readonly TierFactory[] = [tinyTier, midTier, l25Tier, bigTier, runTier];

/** A composition resolved to kinds and size ranges, in size order. */
export interface PlannedTier {
  factory: TierFactory;
  kind: string;
  minSize: number;
  maxSize: number;
}

function invalid(detail: string): HakmemError {
  return new HakmemError('ERR_INVALID_OPTION', detail);
}

function isFactory(value: unknown): value is TierFactory {
  if (typeof value !== 'object' || value === null) return false;
  const f = value as Partial<TierFactory>;
  return (
    typeof f.kind === 'string' &&
    typeof f.create === 'function' &&
    Number.isInteger(f.sizeLimit) &&
    Number.isInteger(f.rootWords)
  );
}

/**
 * Validates a composition (`tiers` of createHeap/attachHeap) against the largest block of the
 * heap and gives each tier its size range. ERR_INVALID_OPTION naming the entry and the rule;
 * nothing is clamped.
 */
export function planTiers(tiers: unknown, largestBlock: number): PlannedTier[] {
  if (!Array.isArray(tiers) || tiers.length === 0) {
    throw invalid(
      `tiers ${describeValue(tiers)} is not a non-empty array of { tier, maxSize? } in size order`,
    );
  }
  const plan: PlannedTier[] = [];
  let minSize = 0;
  for (let i = 0; i < tiers.length; i++) {
    const spec = tiers[i] as unknown;
    const at = `tiers[${i}]`;
    if (typeof spec !== 'object' || spec === null)
      throw invalid(`${at} ${describeValue(spec)} is not an object { tier, maxSize? }`);
    for (const key of Object.keys(spec)) {
      if (key !== 'tier' && key !== 'maxSize')
        throw invalid(`${at}: unknown key ${JSON.stringify(key)} (known: tier, maxSize)`);
    }
    const { tier: factory, maxSize } = spec as { tier?: unknown; maxSize?: unknown };
    if (!isFactory(factory)) {
      throw invalid(
        `${at}.tier ${describeValue(factory)} is not a tier factory ({ kind, sizeLimit, rootWords, create }, e.g. tinyTier or runTier)`,
      );
    }
    if (plan.some((p) => p.kind === factory.kind)) {
      throw invalid(`${at}: a heap holds one tier of each kind, and '${factory.kind}' is already in it`);
    }
    const last = i === tiers.length - 1;
    let max: number;
    if (maxSize === undefined) {
      max = last ? Math.max(minSize, Math.min(factory.sizeLimit, largestBlock)) : factory.sizeLimit;
    } else {
      if (typeof maxSize !== 'number' || !Number.isInteger(maxSize) || maxSize < 0) {
        throw invalid(`${at}.maxSize ${describeValue(maxSize)} is not a non-negative integer`);
      }
      max = maxSize;
    }
    if (max > factory.sizeLimit) {
      throw invalid(
        `${at}.maxSize ${max} is above what the '${factory.kind}' tier can serve (its sizeLimit ${factory.sizeLimit})`,
      );
    }
    if (max < minSize) {
      throw invalid(
        `${at}.maxSize ${max} is below the sizes it would start at (${minSize}: one more than the previous tier's maxSize)`,
      );
    }
    plan.push({ factory, kind: factory.kind, minSize, maxSize: max });
    minSize = max + 1;
  }
  return plan;
}

/** A composition as one line, for error messages: `tiny 0..1024, run 1025..1073610752`. */
export function describeTiers(
  tiers: ReadonlyArray<{ kind: string; minSize: number; maxSize: number }>,
): string {
  return tiers.map((t) => `${t.kind} ${t.minSize}..${t.maxSize}`).join(', ');
}

/**
 * The factories for the tiers recorded in `arena`'s directory: from `given` (a composition,
 * which must then match the heap's exactly) or the built-in ones. ERR_HEAP_INCOMPATIBLE naming
 * both sides on a mismatch or a kind nobody provides.
 */
export function factoriesFor(recorded: ArenaTier[], given: PlannedTier[] | null): TierFactory[] {
  if (recorded.length === 0) {
    throw new HakmemError(
      'ERR_HEAP_INCOMPATIBLE',
      'attachHeap: the heap in this memory has no tiers (it was not formatted by createHeap)',
    );
  }
  if (given !== null) {
    const same =
      given.length === recorded.length &&
      given.every((g, i) => {
        const r = recorded[i]!;
        return g.kind === r.kind && g.minSize === r.minSize && g.maxSize === r.maxSize;
      });
    if (!same) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `attachHeap: the heap was composed of [${describeTiers(recorded)}], but attachHeap was given [${describeTiers(given)}]`,
      );
    }
    return given.map((g, i) => sameLayout(recorded[i]!, g.factory));
  }
  return recorded.map((r) => {
    const factory = BUILT_IN.find((f) => f.kind === r.kind);
    if (factory === undefined) {
      throw new HakmemError(
        'ERR_HEAP_INCOMPATIBLE',
        `attachHeap: the heap has a '${r.kind}' tier (sizes ${r.minSize}..${r.maxSize}) that is not built into hakmem; pass attachHeap(memory, { tiers }) with the composition createHeap was given`,
      );
    }
    return sameLayout(r, factory);
  });
}

/** `factory`, when it reads the layout version the heap recorded for tier `r`; else ERR_HEAP_INCOMPATIBLE naming both. */
function sameLayout(r: ArenaTier, factory: TierFactory): TierFactory {
  const version = factory.layoutVersion ?? 1;
  if (r.layoutVersion !== version) {
    throw new HakmemError(
      'ERR_HEAP_INCOMPATIBLE',
      `attachHeap: the heap's '${r.kind}' tier has layout version ${r.layoutVersion}; the '${r.kind}' tier of this code reads layout version ${version} only (attach with the layer versions that formatted the heap)`,
    );
  }
  return factory;
}

/** The largest block a heap of these bounds can hold (the header page and one page of metadata stay). */
export function largestBlock(maxBytes: number, base: number): number {
  return maxBytes - base - 2 * PAGE_SIZE;
}

export { type BigStats, BigTier, bigTier } from '@hakmem/bigcache';
export { type L25Stats, L25Tier, l25Tier } from '@hakmem/l25-pool';
export { type MidStats, MidTier, midTier } from '@hakmem/mid-registry';
export {
  HakmemError,
  type HakmemErrorCode,
  type HeapMemory,
  RunTier,
  runTier,
  type Tier,
  type TierFactory,
  type TierStats,
} from '@hakmem/page-arena';
export { type TinyStats, TinyTier, tinyTier } from '@hakmem/superslab';
export { DEFAULT_TIERS, type TierSpec } from './composition';
export {
  type AttachOptions,
  attachHeap,
  createHeap,
  Heap,
  type HeapOptions,
  type HeapStats,
  type SnapshotRun,
} from './heap';
export { type AnyTypedArray, type ElementType, MAX_ALIGNMENT, MIN_ALIGNMENT } from './layout';

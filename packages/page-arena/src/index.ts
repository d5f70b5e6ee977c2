export { Arena, type ArenaAttachOptions } from './arena';
export { type CrashPointOptions, debugCrashPoints, tierCrashPoint } from './crash';
export { HakmemError, type HakmemErrorCode } from './errors';
export {
  HEAP_MAGIC,
  LAYOUT_VERSION,
  MAX_BYTES_LIMIT,
  PAGE_SHIFT,
  PAGE_SIZE,
  PM_DESC,
  PM_FLAG_HEAD,
  PM_HEAD_PAGE,
  PM_RUN_PAGES,
  PM_TIER,
  PM_TIER_MASK,
  THREAD_FREE,
  THREAD_LIVE,
  THREAD_RECLAIMING,
  TIER_FIRST,
  TIER_FREE,
  TIER_LAST,
  TIER_META,
  TIER_THREAD_WORDS,
} from './layout';
export type { HeapMemory } from './memory';
export {
  type LockStats,
  mutexBreak,
  mutexLock,
  mutexOwner,
  mutexStats,
  mutexTryLock,
  mutexUnlock,
} from './mutex';
export { type ArenaFormatOptions, describe, rejectUnknownKeys } from './options';
export { RunTier, runTier } from './run-tier';
export type { ArenaRun, ArenaStats } from './stats';
export type { Tier, TierFactory, TierStats } from './tier';
export type { ArenaTier } from './tiers';

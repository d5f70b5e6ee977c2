export { BigTier, type BigTierOptions, bigTier } from './big-tier';
export type { BigStats } from './check';
export { AGE_LIMIT, BIG_KIND, BIG_LAYOUT_VERSION, BIG_MIN_SIZE, BIG_SIZE_LIMIT, LOCAL_SLOTS } from './layout';

export { BigTier, bigTier } from './big-tier';
export type { BigStats } from './check';
export { AGE_LIMIT, BIG_KIND, BIG_MIN_SIZE, BIG_SIZE_LIMIT } from './layout';

export type { L25ClassStats, L25Stats } from './check';
export { L25Tier, l25Tier } from './l25-tier';
export { L25_LAYOUT_VERSION } from './layout';
export {
  L25_CLASS_BLOCKS,
  L25_CLASS_COUNT,
  L25_CLASS_PAGES,
  L25_CLASS_SIZE,
  L25_KIND,
  L25_MAX_SIZE,
  L25_MIN_SIZE,
  l25ClassAligned,
  l25ClassOf,
} from './size-classes';

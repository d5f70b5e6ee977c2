export {
  TINY_CLASS_BLOCKS,
  TINY_CLASS_COUNT,
  TINY_CLASS_SIZE,
  TINY_KIND,
  TINY_LAYOUT_VERSION,
  TINY_MAX_SIZE,
  tinyClassAligned,
  tinyClassOf,
} from './size-classes';
export { type SlabStats, Superslab } from './superslab';
export { type TinyClassStats, type TinyStats, TinyTier, tinyTier } from './tiny-tier';

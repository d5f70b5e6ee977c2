export type { SpanStats } from './check';
export { MID_LAYOUT_VERSION } from './layout';
export { type MidClassStats, type MidStats, MidTier, midTier } from './mid-tier';
export {
  MID_CLASS_BLOCKS,
  MID_CLASS_COUNT,
  MID_CLASS_PAGES,
  MID_CLASS_SIZE,
  MID_KIND,
  MID_MAX_SIZE,
  MID_MIN_SIZE,
  midClassAligned,
  midClassOf,
} from './size-classes';
export { MidSpans } from './spans';

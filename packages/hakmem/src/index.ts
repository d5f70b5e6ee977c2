export { HakmemError, type HakmemErrorCode, type HeapMemory } from '@hakmem/page-arena';
export {
  type AttachOptions,
  attachHeap,
  createHeap,
  Heap,
  type HeapOptions,
  type HeapStats,
  type SnapshotRun,
  type TierStats,
} from './heap';
export { type ElementType, MAX_ALIGNMENT, MIN_ALIGNMENT } from './layout';

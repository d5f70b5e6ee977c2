export { HakmemError, type HakmemErrorCode } from '@hakmem/page-arena';

/** Placeholder until the umbrella lands in this issue. */
export function createHeap(): never {
  throw new Error('not built yet');
}

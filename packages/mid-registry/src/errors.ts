import { HakmemError } from '@hakmem/page-arena';
import { MID_CLASS_SIZE } from './size-classes';

/** ERR_HEAP_CORRUPTED with `detail`. */
export function corrupted(detail: string): HakmemError {
  return new HakmemError('ERR_HEAP_CORRUPTED', detail);
}

/** An offset as hex (link words a write after free may have set to anything). */
export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** A value as a message names it. */
export function describeValue(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeof value === 'bigint' ? `${value}n` : typeof value;
}

/** The block size of class `cls` for messages. */
export function classSize(cls: number): string {
  const size = MID_CLASS_SIZE[cls];
  return size === undefined ? `class ${cls}` : `${size} B`;
}

/**
 * The errors of the slab layer that every file raises: ERR_HEAP_CORRUPTED with the detail of
 * the broken rule, and the hex format of a pointer in those details. (The errors of a bad
 * argument, ERR_INVALID_POINTER and ERR_DOUBLE_FREE, are built where they are found.)
 */
import { HakmemError } from '@hakmem/page-arena';

export function corrupted(detail: string): HakmemError {
  return new HakmemError('ERR_HEAP_CORRUPTED', detail);
}

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

import { HakmemError } from '@hakmem/page-arena';
import { MAX_ALIGNMENT, MIN_ALIGNMENT } from './layout';

/** A short, safe rendering of any value for an error message. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return 'a function';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** ERR_INVALID_SIZE for `name = value`, with the rule it broke. */
export function invalidSize(
  name: string,
  value: unknown,
  rule = 'must be an integer number of bytes from 0 to 4294967295',
): HakmemError {
  return new HakmemError('ERR_INVALID_SIZE', `${name} ${describeValue(value)} is invalid: ${rule}`);
}

export function validateAlignment(alignment: number): void {
  if (
    typeof alignment !== 'number' ||
    !Number.isInteger(alignment) ||
    alignment < MIN_ALIGNMENT ||
    alignment > MAX_ALIGNMENT ||
    (alignment & (alignment - 1)) !== 0
  ) {
    throw new HakmemError(
      'ERR_INVALID_ALIGNMENT',
      `alignment ${describeValue(alignment)} is invalid: it must be a power of two from ${MIN_ALIGNMENT} to ${MAX_ALIGNMENT}`,
    );
  }
}

import { gc } from './gc';
import { hakmemFast, hakmemStrict } from './hakmem';
import { mallocPkg } from './malloc';
import { smo } from './smo';
import { thing } from './thing';
import { tlsf } from './tlsf';
import type { AllocatorInfo, AllocatorName } from './types';

export { RefAllocator } from './ref';
export * from './types';

/** Every allocator in the order the table shows them; hakmem (strict) is the reference. */
export const ALLOCATORS: readonly AllocatorInfo[] = [
  hakmemStrict,
  hakmemFast,
  thing,
  mallocPkg,
  tlsf,
  smo,
  gc,
];

export function allocatorInfo(name: AllocatorName): AllocatorInfo {
  const info = ALLOCATORS.find((a) => a.name === name);
  if (!info) throw new Error(`unknown allocator ${name}`);
  return info;
}

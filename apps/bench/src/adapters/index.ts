import { floor } from './floor';
import { gc } from './gc';
import { hakmemFast, hakmemStrict } from './hakmem';
import { mallocPkg } from './malloc';
import { smo } from './smo';
import { thing } from './thing';
import { tlsf } from './tlsf';
import type { AdapterName, AllocatorInfo } from './types';

export { RefAllocator } from './ref';
export * from './types';

/** Every JS allocator in the order the table shows them; hakmem (strict) is the reference. */
export const ALLOCATORS: readonly AllocatorInfo[] = [
  hakmemStrict,
  hakmemFast,
  thing,
  mallocPkg,
  tlsf,
  smo,
  gc,
  floor,
];

export function allocatorInfo(name: AdapterName): AllocatorInfo {
  const info = ALLOCATORS.find((a) => a.name === name);
  if (!info) throw new Error(`unknown allocator ${name}`);
  return info;
}

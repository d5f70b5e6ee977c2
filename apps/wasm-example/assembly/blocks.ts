// A WebAssembly module that shares its memory with a hakmem heap. hakmem manages every byte
// above the module's static data (createHeap's `base` = heapBase()); the module
//  - reads and writes blocks that JavaScript allocated (fill, verify), and
//  - allocates and frees blocks itself through hakmem's malloc/free, imported from JavaScript.
// Built by scripts/build.mjs: --importMemory --sharedMemory --runtime stub.

import { free as hakmemFree, malloc as hakmemMalloc } from './env';

// Static data of the module, below hakmem's base: it must survive everything hakmem does.
const SIGNATURE = memory.data<u8>([0x68, 0x61, 0x6b, 0x6d, 0x65, 0x6d, 0x2d, 0x77, 0x61, 0x73, 0x6d, 0x21]);

/** First byte above the module's static data: the `base` to give createHeap. */
export function heapBase(): usize {
  return __heap_base;
}

/** Where the module's 12-byte signature "hakmem-wasm!" lies. */
export function signature(): usize {
  return SIGNATURE;
}

/** The memory's current size in 64 KiB pages, as this module sees it. */
export function pages(): i32 {
  return memory.size();
}

/** The byte pattern every block carries: byte i of a block with `seed` is (seed + i * 31) & 0xff. */
function patternAt(seed: u32, i: usize): u8 {
  return <u8>(seed + <u32>i * 31);
}

/** Writes the pattern of `seed` into [ptr, ptr + size). */
export function fill(ptr: usize, size: usize, seed: u32): void {
  for (let i: usize = 0; i < size; i++) store<u8>(ptr + i, patternAt(seed, i));
}

/** Index of the first byte of [ptr, ptr + size) that breaks the pattern of `seed`, or -1. */
export function verify(ptr: usize, size: usize, seed: u32): isize {
  for (let i: usize = 0; i < size; i++) {
    if (load<u8>(ptr + i) !== patternAt(seed, i)) return <isize>i;
  }
  return -1;
}

/** Allocates `size` bytes through hakmem's malloc and fills them with the pattern of `seed`. */
export function makeBlock(size: usize, seed: u32): usize {
  const ptr = hakmemMalloc(size);
  fill(ptr, size, seed);
  return ptr;
}

/** Checks a block's pattern, then frees it through hakmem's free; returns verify's answer. */
export function checkAndFree(ptr: usize, size: usize, seed: u32): isize {
  const bad = verify(ptr, size, seed);
  if (bad < 0) hakmemFree(ptr);
  return bad;
}

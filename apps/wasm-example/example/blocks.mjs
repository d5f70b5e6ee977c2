// Loads the module (build/blocks.wasm) and instantiates it over the heap's memory with hakmem's
// malloc/free as its imports. Every thread instantiates the same compiled module over the same
// shared WebAssembly.Memory, with the malloc/free of its own Heap (its own thread slot).
import { readFile } from 'node:fs/promises';

export async function compileBlocks() {
  return WebAssembly.compile(await readFile(new URL('../build/blocks.wasm', import.meta.url)));
}

/**
 * `heap` is a function returning this thread's Heap, so the module can be instantiated before
 * the heap exists: createHeap needs the module's heapBase() as its `base`.
 */
export function instantiateBlocks(module, memory, heap) {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      // wasm passes i32: `>>> 0` reads a pointer above 2 GiB as the unsigned offset it is.
      malloc: (size) => heap().malloc(size >>> 0),
      free: (ptr) => heap().free(ptr >>> 0),
    },
  });
  const x = instance.exports;
  return {
    heapBase: () => x.heapBase() >>> 0,
    signature: () => x.signature() >>> 0,
    pages: () => x.pages(),
    fill: (ptr, size, seed) => x.fill(ptr, size, seed),
    /** -1 when the block carries the pattern of `seed`, else the first bad byte's index. */
    verify: (ptr, size, seed) => x.verify(ptr, size, seed),
    /** malloc(size) from inside wasm, filled with the pattern of `seed`. */
    makeBlock: (size, seed) => x.makeBlock(size, seed) >>> 0,
    /** verify, then free(ptr) from inside wasm. */
    checkAndFree: (ptr, size, seed) => x.checkAndFree(ptr, size, seed),
  };
}

/** The pattern the module writes: byte i of a block with `seed` is (seed + i * 31) & 0xff. */
export function jsFill(u8, ptr, size, seed) {
  for (let i = 0; i < size; i++) u8[ptr + i] = (seed + i * 31) & 0xff;
}

export function jsVerify(u8, ptr, size, seed) {
  for (let i = 0; i < size; i++) if (u8[ptr + i] !== ((seed + i * 31) & 0xff)) return i;
  return -1;
}

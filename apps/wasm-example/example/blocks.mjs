// The JavaScript side of the module (build/blocks.wasm), for any runtime: instantiation over the
// heap's memory with hakmem's malloc/free as imports, the byte pattern both sides write, and
// what a worker does. Every thread instantiates the same compiled module over the same shared
// WebAssembly.Memory, with the malloc/free of its own Heap (its own thread slot).

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

/**
 * A worker's side: `attach` joins the heap and instantiates the module over the same memory;
 * `make` lets the module allocate and fill blocks through this thread's malloc (the memory grows
 * under it when it must); `checkAndFree` lets it check and free blocks another thread made.
 * Returns a function from a message to its reply.
 * @param {typeof import('hakmem').attachHeap} attachHeap
 */
export function blocksWorker(attachHeap) {
  let heap;
  let wasm;
  return (msg) => {
    try {
      switch (msg.op) {
        case 'attach':
          heap = attachHeap(msg.memory);
          wasm = instantiateBlocks(msg.module, msg.memory, () => heap);
          return { ok: true, threadId: heap.threadId };
        case 'make': {
          const blocks = msg.sizes.map((size, i) => {
            const seed = msg.seed + i;
            return { ptr: wasm.makeBlock(size, seed), size, seed };
          });
          return { ok: true, threadId: heap.threadId, blocks, pages: wasm.pages() };
        }
        case 'checkAndFree':
          for (const b of msg.blocks) {
            const bad = wasm.checkAndFree(b.ptr, b.size, b.seed);
            if (bad >= 0) throw new Error(`block ${b.ptr} (${b.size} B) damaged at +${bad}`);
          }
          return { ok: true, pages: wasm.pages() };
        case 'detach':
          heap.detach();
          return { ok: true };
        default:
          throw new Error(`unknown op ${msg.op}`);
      }
    } catch (error) {
      return { ok: false, message: String(error?.stack ?? error) };
    }
  };
}

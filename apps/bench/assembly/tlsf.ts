// AssemblyScript's own TLSF allocator (std/assembly/rt/tlsf.ts), exported so JS can call it.
// Built by scripts/build.mjs with `--runtime minimal -O3 --noAssert`.

export function alloc(size: usize): usize {
  return heap.alloc(size);
}

export function free(ptr: usize): void {
  heap.free(ptr);
}

export function realloc(ptr: usize, size: usize): usize {
  return heap.realloc(ptr, size);
}

// What every test worker does, whichever way hakmem reached it (the self-contained build by URL,
// or the package bundled by Vite): it attaches to the heap it is sent and follows commands.
// Blocks carry a pattern derived from their address: byte i of block p is (p + i * 31) & 0xff.

/** @param {typeof import('hakmem').attachHeap} attachHeap */
export function serveHeap(attachHeap) {
  /** @type {import('hakmem').Heap} */
  let heap;

  const fill = (ptr, size) => {
    const u8 = heap.u8;
    for (let i = 0; i < size; i++) u8[ptr + i] = (ptr + i * 31) & 0xff;
  };
  const verify = (ptr, size) => {
    const u8 = heap.u8;
    for (let i = 0; i < size; i++) {
      if (u8[ptr + i] !== ((ptr + i * 31) & 0xff))
        throw new Error(`block ${ptr} (${size} B) damaged at +${i}`);
    }
  };
  const alloc = (sizes) =>
    sizes.map((size) => {
      const ptr = heap.malloc(size);
      fill(ptr, size);
      return { ptr, size };
    });

  self.onmessage = (event) => {
    const msg = event.data;
    try {
      switch (msg.op) {
        case 'attach':
          heap = attachHeap(msg.memory);
          self.postMessage({
            ok: true,
            threadId: heap.threadId,
            crossOriginIsolated: self.crossOriginIsolated,
          });
          break;
        case 'alloc':
          self.postMessage({ ok: true, blocks: alloc(msg.sizes) });
          break;
        case 'freeAndAlloc': {
          // Another thread's blocks: check and free them, interleaved with new allocations.
          const blocks = [];
          const sizes = msg.sizes;
          for (let i = 0; i < Math.max(sizes.length, msg.blocks.length); i++) {
            const b = msg.blocks[i];
            if (b !== undefined) {
              verify(b.ptr, b.size);
              heap.free(b.ptr);
            }
            if (i < sizes.length) blocks.push(...alloc([sizes[i]]));
          }
          self.postMessage({ ok: true, blocks });
          break;
        }
        case 'free':
          for (const b of msg.blocks) {
            verify(b.ptr, b.size);
            heap.free(b.ptr);
          }
          self.postMessage({ ok: true });
          break;
        case 'detach':
          heap.detach();
          self.postMessage({ ok: true });
          break;
        default:
          throw new Error(`unknown op ${msg.op}`);
      }
    } catch (error) {
      self.postMessage({ ok: false, error: String(error?.stack ?? error) });
    }
  };
}

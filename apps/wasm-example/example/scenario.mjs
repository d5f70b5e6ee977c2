// The example's scenario, for any runtime (Node in main.mjs, a browser page in
// apps/browser-tests): hakmem and a WebAssembly module share one heap, in both directions —
//  - the module reads and writes blocks that JavaScript allocated;
//  - the module allocates and frees blocks through hakmem's malloc/free, imported from JS;
// before and after the memory grows, on this thread and from two workers.
import { instantiateBlocks, jsFill, jsVerify } from './blocks.mjs';

const MiB = 2 ** 20;
const SIZES = [8, 24, 100, 512, 1024, 1025, 4096, 70_000, 300_000, 2 * MiB]; // both tiers

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** Both directions on one thread: JS blocks checked and rewritten by wasm, wasm blocks by JS. */
function roundTrip(heap, wasm, seed) {
  const liveBefore = heap.stats().liveBlocks;
  // JS allocates and writes; the module checks and rewrites; JS checks and frees.
  for (const size of SIZES) {
    const ptr = heap.malloc(size);
    jsFill(heap.u8, ptr, size, seed);
    assert(wasm.verify(ptr, size, seed) === -1, `wasm reads the JS block of ${size} B`);
    wasm.fill(ptr, size, seed + 1);
    assert(jsVerify(heap.u8, ptr, size, seed + 1) === -1, `JS reads what wasm wrote in ${size} B`);
    heap.free(ptr);
  }
  // The module allocates through hakmem; JS checks and frees half, the module frees the rest.
  const made = SIZES.map((size, i) => ({ ptr: wasm.makeBlock(size, seed + i), size, seed: seed + i }));
  for (const [i, b] of made.entries()) {
    assert(heap.usableSize(b.ptr) >= b.size, `usableSize of a wasm block of ${b.size} B`);
    assert(jsVerify(heap.u8, b.ptr, b.size, b.seed) === -1, `JS reads the wasm block of ${b.size} B`);
    if (i % 2 === 0) heap.free(b.ptr);
    else assert(wasm.checkAndFree(b.ptr, b.size, b.seed) === -1, `wasm frees its block of ${b.size} B`);
  }
  assert(heap.stats().liveBlocks === liveBefore, `no block left (${heap.stats().liveBlocks})`);
}

/**
 * Runs the whole example; throws on the first broken expectation.
 * @param {{ createHeap: typeof import('hakmem').createHeap, module: WebAssembly.Module,
 *           startWorker: () => { ask: (msg: object) => Promise<any>, terminate: () => unknown },
 *           log?: (line: string) => void }} options
 */
export async function runScenario({ createHeap, module, startWorker, log = () => {} }) {
  // The module's memory: shared, so workers can use it; hakmem grows it up to `maximum`.
  const maximum = 16384; // pages: 1 GiB
  const memory = new WebAssembly.Memory({ initial: 1, maximum, shared: true });
  let heap;
  const wasm = instantiateBlocks(module, memory, () => heap);
  // hakmem takes every byte above the module's static data.
  heap = createHeap({ memory, base: wasm.heapBase(), maxBytes: maximum * 65536 });
  const signature = () => String.fromCharCode(...new Uint8Array(memory.buffer, wasm.signature(), 12));
  assert(signature() === 'hakmem-wasm!', 'the module’s static data');
  log(`module data ends at ${wasm.heapBase()}, hakmem above it, ${wasm.pages()} pages committed`);

  const before = wasm.pages();
  roundTrip(heap, wasm, 1);
  assert(wasm.pages() > before, 'the memory grew'); // the 2 MiB blocks did it
  const big = wasm.makeBlock(16 * MiB, 7); // the module asks for more than the memory has
  assert(wasm.pages() * 65536 === memory.buffer.byteLength, 'wasm and JS see the same size');
  assert(jsVerify(heap.u8, big, 16 * MiB, 7) === -1, 'JS reads the grown memory');
  roundTrip(heap, wasm, 100); // after growth
  log(`main thread: both directions before and after growth (${before} -> ${wasm.pages()} pages)`);

  // Two workers: each module allocates through its own thread's malloc, the other module checks
  // and frees those blocks, while both grow the memory.
  const a = startWorker();
  const b = startWorker();
  await Promise.all([a.ask({ op: 'attach', memory, module }), b.ask({ op: 'attach', memory, module })]);
  const sizes = Array.from({ length: 200 }, (_, i) => SIZES[i % SIZES.length] + (i % 7) * 8);
  const [fromA, fromB] = await Promise.all([
    a.ask({ op: 'make', sizes, seed: 1000 }),
    b.ask({ op: 'make', sizes: [...sizes].reverse(), seed: 5000 }),
  ]);
  assert(fromA.threadId !== fromB.threadId, 'workers have their own slots');
  for (const blk of [...fromA.blocks, ...fromB.blocks]) {
    assert(jsVerify(heap.u8, blk.ptr, blk.size, blk.seed) === -1, `main reads a worker's block ${blk.ptr}`);
  }
  const live = heap.stats().liveBlocks;
  assert(
    live === 401, // the workers' 400 and `big`
    `live blocks with the workers' ${live}`,
  );
  heap.check();
  await Promise.all([
    a.ask({ op: 'checkAndFree', blocks: fromB.blocks }),
    b.ask({ op: 'checkAndFree', blocks: fromA.blocks }),
  ]);
  log(
    `two workers: ${fromA.blocks.length + fromB.blocks.length} blocks made by one module, freed by the other`,
  );
  await Promise.all([a.ask({ op: 'detach' }), b.ask({ op: 'detach' })]);
  await Promise.all([a.terminate(), b.terminate()]);

  heap.free(big);
  roundTrip(heap, wasm, 9000);
  const stats = heap.stats();
  assert(stats.liveBlocks === 0, `no block left at the end (${stats.liveBlocks})`);
  assert(stats.threads === 1, `one thread left (${stats.threads})`);
  assert(signature() === 'hakmem-wasm!', 'the module’s static data survived');
  heap.check();
  log(`done: ${wasm.pages()} pages, check() passed`);
  return { pagesBefore: before, pagesAfter: wasm.pages(), workerBlocks: 400, stats };
}

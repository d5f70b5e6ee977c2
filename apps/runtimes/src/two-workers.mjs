// Two Web Workers (the `Worker` global of Deno and Bun) share one heap with the main thread:
// each allocates blocks across every tier (8 B … 2 MiB) while the memory grows, hands them to
// the other, which checks their payload and frees them; the main thread checks payloads, stats()
// and check(); at the end one worker detaches and the other is terminated and reclaimed.
// Prints one JSON line: { runtime, ok, ... } or { ok: false, error }.
import { createHeap } from 'hakmem';

const MiB = 2 ** 20;
const ROUNDS = 3;
const BLOCKS = 300;
const runtime = typeof Deno !== 'undefined' ? `deno ${Deno.version.deno}` : `bun ${Bun.version}`;

const deadline = setTimeout(() => {
  console.log(JSON.stringify({ runtime, ok: false, error: 'timed out after 60 s' }));
  process.exit(1);
}, 60_000);

function sizesFor(seed) {
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: BLOCKS }, (_, i) => {
    if (i === 0) return 8;
    if (i === 1) return 2 * MiB;
    const r = random();
    if (r < 0.8) return 8 + Math.floor(random() * 1017); // tiny tier: 8 B – 1 KiB
    if (r < 0.95) return 1025 + Math.floor(random() * 255 * 1024); // page runs up to 256 KiB
    return 256 * 1024 + Math.floor(random() * (2 * MiB - 256 * 1024)); // up to 2 MiB
  });
}

function start(heap) {
  const worker = new Worker(new URL('./two-workers-worker.mjs', import.meta.url), { type: 'module' });
  const pending = [];
  worker.onmessage = (event) => {
    const { resolve, reject } = pending.shift();
    if (event.data.ok) resolve(event.data);
    else reject(new Error(`worker: ${event.data.error}`));
  };
  worker.onerror = (event) => {
    event.preventDefault?.();
    for (const { reject } of pending.splice(0)) reject(new Error(`worker error: ${event.message}`));
  };
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      pending.push({ resolve, reject });
      worker.postMessage(msg);
    });
  return { worker, ask, ready: ask({ op: 'attach', memory: heap.memory }) };
}

function verify(heap, blocks) {
  const u8 = heap.u8; // current after the workers grew the memory
  for (const { ptr, size } of blocks) {
    for (let i = 0; i < size; i += 97) {
      if (u8[ptr + i] !== ((ptr + i * 31) & 0xff))
        throw new Error(`payload of ${ptr} (${size} B) damaged at +${i}`);
    }
  }
}

async function main() {
  const heap = createHeap({ initialBytes: MiB, maxBytes: 512 * MiB });
  const a = start(heap);
  const b = start(heap);
  const ids = [(await a.ready).threadId, (await b.ready).threadId];
  if (ids[0] === ids[1] || ids.includes(heap.threadId)) throw new Error(`thread ids ${ids} not distinct`);
  if (heap.stats().threads !== 3) throw new Error(`threads ${heap.stats().threads}, expected 3`);
  const committed = [heap.stats().committedBytes];
  let crossFrees = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Both workers allocate at once, then each frees the other's blocks.
    const [fromA, fromB] = await Promise.all([
      a.ask({ op: 'alloc', sizes: sizesFor(1 + round * 2) }),
      b.ask({ op: 'alloc', sizes: sizesFor(2 + round * 2) }),
    ]);
    verify(heap, fromA.blocks);
    verify(heap, fromB.blocks);
    const live = heap.stats();
    if (live.liveBlocks !== 2 * BLOCKS)
      throw new Error(`liveBlocks ${live.liveBlocks}, expected ${2 * BLOCKS}`);
    committed.push(live.committedBytes);
    heap.check();
    await Promise.all([
      a.ask({ op: 'free', blocks: fromB.blocks }),
      b.ask({ op: 'free', blocks: fromA.blocks }),
    ]);
    crossFrees += 2 * BLOCKS;
    if (heap.stats().liveBlocks !== 0)
      throw new Error(`liveBlocks ${heap.stats().liveBlocks} after the frees`);
    heap.check();
  }
  if (!(committed.at(-1) > committed[0])) throw new Error(`the memory never grew: ${committed}`);

  // A detaches; B keeps blocks, is terminated without detaching, and is reclaimed.
  await a.ask({ op: 'detach' });
  const kept = await b.ask({ op: 'alloc', sizes: [16, 100, 1024, 5000, 70_000] });
  b.worker.terminate();
  a.worker.terminate();
  heap.reclaimThread(ids[1]);
  verify(heap, kept.blocks);
  for (const { ptr } of kept.blocks) heap.free(ptr);
  const end = heap.stats();
  if (end.liveBlocks !== 0 || end.threads !== 1) throw new Error(`at the end: ${JSON.stringify(end)}`);
  heap.check();
  return { crossFrees, committed, threads: end.threads };
}

main().then(
  (result) => {
    clearTimeout(deadline);
    console.log(JSON.stringify({ runtime, ok: true, ...result }));
  },
  (error) => {
    clearTimeout(deadline);
    console.log(JSON.stringify({ runtime, ok: false, error: String(error?.stack ?? error) }));
    process.exit(1);
  },
);

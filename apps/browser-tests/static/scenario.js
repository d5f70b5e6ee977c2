// The browser scenario, run by a cross-origin-isolated page with whichever hakmem it loaded:
// the page creates a heap, four module workers attach, allocate across every tier (8 B … 2 MiB),
// hand blocks to each other and free them while the heap grows; the page checks payloads,
// stats() and check(); one worker is terminated and reclaimed. Returns a report; throws on the
// first broken expectation.

const MiB = 2 ** 20;
const WORKERS = 4;
const BLOCKS = 200;
const ROUNDS = 3;
const TIMEOUT_MS = 30_000;

/** Sizes from 8 B to 2 MiB: mostly tiny (≤ 1 KiB), some page runs up to 2 MiB, both ends always. */
export function sizesFor(seed, count = BLOCKS) {
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, (_, i) => {
    if (i === 0) return 8;
    if (i === 1) return 2 * MiB;
    if (i === 2) return 1024;
    if (i === 3) return 1025;
    const r = random();
    if (r < 0.8) return 8 + Math.floor(random() * 1017);
    if (r < 0.96) return 1025 + Math.floor(random() * 255 * 1024);
    return 256 * 1024 + Math.floor(random() * (2 * MiB - 256 * 1024));
  });
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Wraps a worker in a request/reply channel (replies come back in order). */
function connect(worker, name) {
  const pending = [];
  const failAll = (message) => {
    for (const p of pending.splice(0)) p.reject(new Error(`${name}: ${message}`));
  };
  worker.onmessage = (event) => {
    const p = pending.shift();
    if (p === undefined) return;
    clearTimeout(p.timer);
    if (event.data.ok) p.resolve(event.data);
    else p.reject(new Error(`${name}: ${event.data.error}`));
  };
  worker.onerror = (event) => {
    event.preventDefault();
    failAll(`worker error: ${event.message || 'the module failed to load (see the browser console)'}`);
  };
  worker.onmessageerror = () => failAll('message could not be deserialised');
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name}: no reply to ${msg.op} in ${TIMEOUT_MS} ms`)),
        TIMEOUT_MS,
      );
      pending.push({ resolve, reject, timer });
      worker.postMessage(msg);
    });
  return { worker, ask };
}

function verifyBlocks(heap, blocks) {
  const u8 = heap.u8; // current after any growth by the workers
  for (const { ptr, size } of blocks) {
    for (let i = 0; i < size; i += 61) {
      if (u8[ptr + i] !== ((ptr + i * 31) & 0xff))
        throw new Error(`page: block ${ptr} (${size} B) damaged at +${i}`);
    }
    const last = size - 1;
    if (size > 0 && u8[ptr + last] !== ((ptr + last * 31) & 0xff))
      throw new Error(`page: block ${ptr} damaged at its end`);
  }
}

/**
 * @param {{ createHeap: typeof import('hakmem').createHeap,
 *           startWorker: () => Worker, log?: (line: string) => void }} options
 */
export async function runScenario({ createHeap, startWorker, log = () => {} }) {
  check(globalThis.crossOriginIsolated === true, 'the page is not cross-origin isolated (COOP/COEP headers)');
  const heap = createHeap({ initialBytes: MiB, maxBytes: 1024 * MiB });
  const report = { pageThreadId: heap.threadId, committed: [heap.stats().committedBytes], handedOver: 0 };
  const team = Array.from({ length: WORKERS }, (_, i) => connect(startWorker(), `worker ${i}`));
  const attached = await Promise.all(team.map((w) => w.ask({ op: 'attach', memory: heap.memory })));
  const ids = attached.map((r) => r.threadId);
  check(new Set([...ids, heap.threadId]).size === WORKERS + 1, `thread ids not distinct: ${ids}`);
  check(
    attached.every((r) => r.crossOriginIsolated === true),
    'a worker is not cross-origin isolated',
  );
  check(heap.stats().threads === WORKERS + 1, `threads ${heap.stats().threads}`);
  report.threads = heap.stats().threads;
  log(`${WORKERS} workers attached: ${ids}`);

  let held = await Promise.all(team.map((w, i) => w.ask({ op: 'alloc', sizes: sizesFor(1 + i) })));
  const tiersSeen = new Set();
  for (let round = 0; round < ROUNDS; round++) {
    const blocks = held.flatMap((h) => h.blocks);
    verifyBlocks(heap, blocks);
    const stats = heap.stats();
    check(
      stats.liveBlocks === blocks.length,
      `round ${round}: liveBlocks ${stats.liveBlocks}, expected ${blocks.length}`,
    );
    check(stats.tiers.tiny.liveBlocks > 0, `round ${round}: no tiny blocks live`);
    check(
      stats.liveBytes >= blocks.reduce((a, b) => a + b.size, 0),
      `round ${round}: liveBytes ${stats.liveBytes}`,
    );
    for (const run of heap.snapshot()) if (run.occupancy > 0) tiersSeen.add(run.tier);
    heap.check();
    report.committed.push(stats.committedBytes);
    // Each worker frees its neighbour's blocks while allocating a new batch: the heap grows.
    held = await Promise.all(
      team.map((w, i) =>
        w.ask({
          op: 'freeAndAlloc',
          blocks: held[(i + 1) % WORKERS].blocks,
          sizes: sizesFor(100 * (round + 1) + i),
        }),
      ),
    );
    report.handedOver += blocks.length;
    log(`round ${round}: ${blocks.length} blocks freed by another worker`);
  }
  report.tiers = [...tiersSeen].sort();
  check(report.tiers.includes('tiny'), `snapshot tiers ${report.tiers}`);
  check(report.committed.at(-1) > report.committed[0], `the heap never grew: ${report.committed}`);

  // The last worker is terminated without detaching; the page reclaims its slot and caches, and
  // its blocks stay valid: the page checks and frees them.
  const victim = WORKERS - 1;
  team[victim].worker.terminate();
  heap.reclaimThread(ids[victim]);
  check(heap.stats().threads === WORKERS, `threads after reclaim: ${heap.stats().threads}`);
  verifyBlocks(heap, held[victim].blocks);
  for (const { ptr } of held[victim].blocks) heap.free(ptr);
  heap.check();
  // The others free their own blocks and detach.
  await Promise.all(team.slice(0, victim).map((w, i) => w.ask({ op: 'free', blocks: held[i].blocks })));
  await Promise.all(team.slice(0, victim).map((w) => w.ask({ op: 'detach' })));
  for (const w of team.slice(0, victim)) w.worker.terminate();
  const end = heap.stats();
  check(end.liveBlocks === 0, `liveBlocks at the end: ${end.liveBlocks}`);
  check(end.threads === 1, `threads at the end: ${end.threads}`);
  heap.check();
  report.end = { liveBlocks: end.liveBlocks, threads: end.threads, committedBytes: end.committedBytes };
  log('done');
  return report;
}

/** Runs the scenario and leaves `{ ok, report | error }` in `window.__result` for the test. */
export function runAndPublish(options) {
  runScenario(options).then(
    (report) => {
      globalThis.__result = { ok: true, report };
    },
    (error) => {
      globalThis.__result = { ok: false, error: String(error?.stack ?? error) };
    },
  );
}

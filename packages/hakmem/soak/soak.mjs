// The soak: N workers churn blocks of every tier on one heap (cookies checked before every free,
// blocks handed over between workers), while the parent terminates a random worker every
// killMin–killMax ms, reclaims it (heap.reclaimThread), frees the blocks its shared table still
// lists, checks the heap and starts a replacement. At the end every block is freed and the heap
// must be empty but for the blocks that were in flight when a worker died (at most one per
// death, plus hand-over slots a worker held), with check() passing throughout.
import { Worker } from 'node:worker_threads';
import { createHeap } from 'hakmem';
import { soakTiers } from './soak-tiers.mjs';

const WORKER = new URL('./soak-worker.mjs', import.meta.url);
const RING = 64;
const MAX = 256;
const ROW = 8;

/**
 * With `retire`, the parent retires workers instead (they free their blocks and detach).
 * With `bigThreadCache`, the big tier keeps thread caches (its opt-in) in every thread.
 * @param {{ ms: number, workers: number, killMin?: number, killMax?: number, safety?: 'strict' | 'fast',
 *   retire?: boolean, bigThreadCache?: boolean, seed?: number, log?: (line: string) => void }} o
 */
export async function soak(o) {
  const killMin = o.killMin ?? 10;
  const killMax = o.killMax ?? 100;
  const log = o.log ?? (() => {});
  // The largest heap: every termination may leave the block it had in flight allocated for good
  // (up to 4 MiB), so a long soak fills a small heap (1 GiB was full after 1,260 terminations).
  const tiers = soakTiers(o.bigThreadCache);
  const heap = createHeap({ maxBytes: 2 ** 32, safety: o.safety ?? 'strict', ...(tiers ? { tiers } : {}) });
  const ring = new SharedArrayBuffer(RING * 3 * 4);
  const stats = new SharedArrayBuffer(o.workers * ROW * 8);
  const tables = new SharedArrayBuffer(o.workers * MAX * 3 * 8);
  const S = new Float64Array(stats);
  const T = new Float64Array(tables);
  const R = new Int32Array(ring);
  const control = new SharedArrayBuffer(8);
  const C = new Int32Array(control);
  /** Stops the other workers between two operations (heap.check() needs a quiescent heap). */
  async function pause(running) {
    Atomics.store(C, 0, 1);
    const since = Date.now();
    while (Atomics.load(C, 1) < running) {
      if (Date.now() - since > 60_000) {
        const ops = ['none', 'malloc', 'free', 'free of a handed-over block'];
        const busy = [];
        for (let r = 0; r < o.workers; r++) {
          if (S[r * ROW + 6] !== 0)
            busy.push(`thread ${S[r * ROW + 3]} in ${ops[S[r * ROW + 6]]}(${S[r * ROW + 7]})`);
        }
        throw new Error(
          `only ${Atomics.load(C, 1)} of ${running} workers paused within 60 s (a hang): ${busy.join(', ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  function resume() {
    Atomics.store(C, 0, 0);
    Atomics.notify(C, 0);
  }
  let seed = o.seed ?? 0x50a4;
  const report = {
    ops: 0,
    terminations: 0,
    retirements: 0,
    reclaimedBlocks: 0,
    handedOver: 0,
    cookieFailures: 0,
    checks: 0,
    inFlightBound: 0,
    leftLive: 0,
    errors: /** @type {string[]} */ ([]),
  };
  /** @type {(Worker | null)[]} */
  const workers = new Array(o.workers).fill(null);
  const exited = new Array(o.workers).fill(null);

  function start(row) {
    for (let w = 0; w < ROW; w++) S[row * ROW + w] = 0;
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    const worker = new Worker(WORKER, {
      workerData: {
        memory: heap.memory,
        ring,
        stats,
        tables,
        control,
        row,
        seed,
        ringSlots: RING,
        max: MAX,
        bigThreadCache: o.bigThreadCache === true,
      },
    });
    worker.on('error', (e) => report.errors.push(`worker ${row}: ${e.message}`));
    exited[row] = new Promise((resolve) => worker.once('exit', resolve));
    workers[row] = worker;
  }
  function fold(row) {
    report.ops += S[row * ROW];
    report.handedOver += S[row * ROW + 2];
    report.cookieFailures += S[row * ROW + 5];
  }
  const started = Date.now();
  for (let row = 0; row < o.workers; row++) start(row);
  // Wait until every worker has attached (its thread id published) before the first kill.
  const attached = async (row) => {
    while (S[row * ROW + 3] === 0 && report.errors.length === 0) await new Promise((r) => setTimeout(r, 2));
  };
  for (let row = 0; row < o.workers; row++) await attached(row);
  while (Date.now() - started < o.ms && report.errors.length === 0) {
    await new Promise((r) => setTimeout(r, killMin + Math.random() * (killMax - killMin)));
    const row = Math.floor(Math.random() * o.workers);
    const threadId = S[row * ROW + 3];
    if (o.retire) {
      // A retirement: the worker frees its blocks, detaches and exits; a new one takes its row.
      S[row * ROW + 4] = 1;
      await exited[row];
      report.retirements++;
      fold(row);
      try {
        await pause(o.workers - 1);
        heap.check();
        report.checks++;
      } catch (error) {
        report.errors.push(`after retiring thread ${threadId}: ${error.message}`);
      }
      resume();
      start(row);
      await attached(row);
      continue;
    }
    await workers[row].terminate();
    await exited[row];
    report.terminations++;
    try {
      // Reclaim while the others run (it breaks the locks they may be waiting on), then pause them.
      heap.reclaimThread(threadId);
      // Its blocks: the table lists them (a kill between a table step and the heap step leaks one).
      const live = S[row * ROW + 1];
      const t = row * MAX * 3;
      const u8 = heap.u8;
      for (let i = 0; i < live; i++) {
        const ptr = T[t + 3 * i];
        const bytes = T[t + 3 * i + 1];
        const tag = T[t + 3 * i + 2];
        if (u8[ptr] !== (tag & 0xff) || u8[ptr + bytes - 1] !== ((tag >>> 16) & 0xff))
          report.cookieFailures++;
        heap.free(ptr);
        report.reclaimedBlocks++;
      }
      report.inFlightBound++;
      await pause(o.workers - 1);
      heap.check();
      report.checks++;
    } catch (error) {
      report.errors.push(`after terminating thread ${threadId}: ${error.message}`);
    }
    resume();
    fold(row);
    start(row);
    await attached(row);
    if (report.terminations % 10 === 0) {
      log(
        `${((Date.now() - started) / 1000).toFixed(0)} s: ${report.terminations} terminations, ${heap.stats().liveBlocks} live blocks`,
      );
    }
  }
  // Stop: every worker frees its blocks and detaches.
  for (let row = 0; row < o.workers; row++) S[row * ROW + 4] = 1;
  await Promise.all(
    workers.map(
      (w, row) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            report.errors.push(`worker ${row} did not stop within 60 s (a hang)`);
            void w.terminate();
            resolve(undefined);
          }, 60_000);
          w.once('message', () => {
            clearTimeout(timer);
            fold(row);
            resolve(undefined);
          });
          w.once('exit', () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        }),
    ),
  );
  // Hand-over slots: full ones are freed here; ones a dying worker held are in flight.
  try {
    for (let slot = 0; slot < RING; slot++) {
      const state = R[slot * 3];
      if (state === 2) {
        heap.free(R[slot * 3 + 1] >>> 0);
        report.handedOver++;
      } else if (state !== 0) report.inFlightBound++;
    }
    heap.check();
    report.checks++;
    const end = heap.stats();
    report.leftLive = end.liveBlocks;
    report.leftLiveBytes = end.liveBytes;
    report.committedBytes = end.committedBytes;
    if (report.leftLive > report.inFlightBound) {
      report.errors.push(
        `${report.leftLive} blocks are still live, more than the ${report.inFlightBound} that can have been in flight: blocks were lost`,
      );
    }
  } catch (error) {
    report.errors.push(`at the end: ${error.message}`);
  }
  if (report.cookieFailures > 0)
    report.errors.push(`${report.cookieFailures} blocks had their cookies overwritten`);
  report.ms = Date.now() - started;
  return report;
}

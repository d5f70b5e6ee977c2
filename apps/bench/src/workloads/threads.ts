import { Worker } from 'node:worker_threads';

/**
 * What the multi-threaded workloads share between the child's main thread and its workers:
 * a sense-reversing barrier and per-worker start/end timestamps, in one SharedArrayBuffer.
 */
const BARRIER_COUNT = 0; // Atomics: arrivals in the current round
const BARRIER_ROUND = 1; // Atomics: bumped by the last arrival, waited on by the others
export const CONTROL_WORDS = 16;

export function barrierWait(ctl: Int32Array, parties: number): void {
  const round = Atomics.load(ctl, BARRIER_ROUND);
  if (Atomics.add(ctl, BARRIER_COUNT, 1) === parties - 1) {
    Atomics.store(ctl, BARRIER_COUNT, 0);
    Atomics.add(ctl, BARRIER_ROUND, 1);
    Atomics.notify(ctl, BARRIER_ROUND);
    return;
  }
  while (Atomics.load(ctl, BARRIER_ROUND) === round) Atomics.wait(ctl, BARRIER_ROUND, round, 1000);
}

/** Wall-clock milliseconds comparable across threads. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface WorkerReport {
  worker: number;
  startMs: number;
  endMs: number;
  ops: number;
  crossFrees: number;
  checksum: number;
  corrupt: number;
}

/**
 * Starts one worker per `data` entry on build/worker.mjs and collects their reports. A worker
 * error rejects with its message; the child's time cap covers a hang.
 */
export function runWorkers(workerUrl: URL, data: unknown[]): Promise<WorkerReport[]> {
  return new Promise((resolve, reject) => {
    const reports: WorkerReport[] = [];
    const workers = data.map((workerData) => new Worker(workerUrl, { workerData }));
    let failed = false;
    for (const w of workers) {
      w.on('message', (m: WorkerReport) => {
        reports.push(m);
        if (reports.length === workers.length) resolve(reports.sort((x, y) => x.worker - y.worker));
      });
      w.on('error', (e) => {
        if (failed) return;
        failed = true;
        for (const other of workers) void other.terminate();
        reject(e);
      });
      w.on('exit', (code) => {
        if (code !== 0 && !failed && reports.length < workers.length) {
          failed = true;
          reject(new Error(`worker exited with code ${code}`));
        }
      });
    }
  });
}

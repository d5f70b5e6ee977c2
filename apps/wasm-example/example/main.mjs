// hakmem and a WebAssembly module share one heap, in both directions, on the main thread and
// from two workers (the scenario is scenario.mjs; this file is its Node glue).
//
//   pnpm --filter @hakmem/wasm-example build && node example/main.mjs
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createHeap } from 'hakmem';
import { runScenario } from './scenario.mjs';

export async function compileBlocks() {
  return WebAssembly.compile(await readFile(new URL('../build/blocks.wasm', import.meta.url)));
}

function startWorker() {
  const worker = new Worker(new URL('./worker.mjs', import.meta.url));
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      worker.once('message', (reply) => (reply.ok ? resolve(reply) : reject(new Error(reply.message))));
      worker.once('error', reject);
      worker.postMessage(msg);
    });
  return { ask, terminate: () => worker.terminate() };
}

/** Runs the whole example; throws on the first broken expectation. @param {(line: string) => void} [log] */
export async function runExample(log = () => {}) {
  return runScenario({ createHeap, module: await compileBlocks(), startWorker, log });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runExample(console.log);
}

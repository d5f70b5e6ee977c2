import { Worker } from 'node:worker_threads';
import type { Arena, HeapMemory } from '@hakmem/page-arena';

/** The worker of the thread tests (it imports the built packages by name). */
const WORKER = new URL('./mid-worker.mjs', import.meta.url);

export type Reply = Record<string, unknown> & { ok: boolean; error?: string };

export interface Spawned {
  worker: Worker;
  threadId: number;
  call(op: string, args?: Record<string, unknown>): Promise<Reply>;
}

/** Every worker started, so a test's afterEach can terminate what is left. */
export const started: Worker[] = [];

/** A worker on the memory, with a call(op, args) that resolves with its reply. */
export async function spawn(memory: HeapMemory): Promise<Spawned> {
  const worker = new Worker(WORKER, { workerData: { memory } });
  started.push(worker);
  let next = 1;
  const waiting = new Map<number, (r: Reply) => void>();
  let ready: (r: Reply) => void = () => {};
  const first = new Promise<Reply>((resolve) => {
    ready = resolve;
  });
  worker.on('message', (m: Reply & { id: number }) => {
    if (m.id === 0) ready(m);
    else waiting.get(m.id)?.(m);
  });
  worker.on('error', (e) => {
    for (const w of waiting.values()) w({ ok: false, error: String(e) });
  });
  const hello = await first;
  const call = (op: string, args: Record<string, unknown> = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const id = next++;
      waiting.set(id, (r) => (r.ok ? resolve(r) : reject(new Error(`${op}: ${r.error}`))));
      worker.postMessage({ id, op, ...args });
    });
  return { worker, call, threadId: hello.threadId as number };
}

const cookie = (p: number, size: number) => (Math.imul(p, 2654435761) ^ Math.imul(size, 40503)) | 0;

/** The size a worker stamped into block `p` if its header and trailer are intact (see mid-worker.mjs), -1 otherwise. */
export function verifyBlock(arena: Arena, p: number): number {
  arena.refresh();
  const i32 = arena.i32;
  const size = i32[(p >>> 2) + 1]!;
  if (!(size >= 16 && size <= 32768) || i32[(p >>> 2) + 2] !== cookie(p, size)) return -1;
  if (size >= 20 && arena.dataView.getInt32(p + size - 4, true) !== (cookie(p, size) ^ 0x5a5a5a5a)) return -1;
  return size;
}

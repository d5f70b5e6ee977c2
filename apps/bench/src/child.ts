// Entry of build/child.mjs: runs one (workload, allocator) task in a fresh process and sends
// back its measurements; the parent kills it at the time cap.
import { type AdapterName, allocatorInfo } from './adapters';
import { type Measurement, type Task, workload } from './workloads';

export type ChildReply = { ok: true; measurements: Measurement[] } | { ok: false; error: string };

function reply(msg: ChildReply): void {
  process.send!(msg, () => process.exit(0));
}

process.once('message', async (task: Task) => {
  try {
    const w = workload(task.workload);
    const measurements = await w.run(allocatorInfo(task.alloc as AdapterName), task.config, {
      workerUrl: new URL('./worker.mjs', import.meta.url),
    });
    reply({ ok: true, measurements });
  } catch (e) {
    reply({ ok: false, error: e instanceof Error ? e.message : String(e) });
  }
});

// A page as a Vite user writes it: the ordinary `hakmem` package, a module worker by URL.
import { createHeap } from 'hakmem';
import { runAndPublish } from '../static/scenario.js';

runAndPublish({
  createHeap,
  startWorker: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }),
  log: (line: string) => console.log(line),
});

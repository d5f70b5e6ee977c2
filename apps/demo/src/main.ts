// The demo page: benchmarks hakmem, @thi.ng/malloc and new Uint8Array in Web Workers, and
// draws hakmem's heap (heap.snapshot(): its pages by tier and occupancy) live as they run.
import { createHeap, type Heap } from 'hakmem';
import type { AllocatorName, BenchReply, BenchRequest } from './workload';

const MiB = 2 ** 20;
const PAGE = 65536;
const DURATION_MS = 1200;
const WINDOW = 1000;

interface Phase {
  label: string;
  allocator: AllocatorName;
  workers: number;
  keep: boolean;
}

const PHASES: Phase[] = [
  { label: 'new Uint8Array (GC), 1 worker', allocator: 'Uint8Array', workers: 1, keep: false },
  { label: '@thi.ng/malloc, 1 worker', allocator: 'thi.ng', workers: 1, keep: false },
  { label: 'hakmem, 1 worker', allocator: 'hakmem', workers: 1, keep: false },
  { label: 'hakmem, 2 workers, one heap', allocator: 'hakmem', workers: 2, keep: true },
];

export interface PhaseResult {
  label: string;
  allocator: AllocatorName;
  workers: number;
  opsPerSecond: number;
}

/** Colours by `SnapshotRun['tier']`: 'free', 'meta' or a tier's kind (others: OTHER_TIER). */
const TIER_COLORS: Record<string, [number, number, number]> = {
  free: [236, 239, 243],
  meta: [120, 128, 140],
  tiny: [37, 99, 235],
  mid: [22, 163, 74],
  l25: [147, 51, 234],
  big: [234, 88, 12],
  run: [234, 88, 12],
};
const OTHER_TIER: [number, number, number] = [13, 148, 136];

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Draws every page of the heap as a cell: colour by tier, paler when emptier. */
function drawHeap(canvas: HTMLCanvasElement, heap: Heap): Record<string, number> {
  const runs = heap.snapshot();
  const stats = heap.stats();
  const first = runs[0]?.offset ?? 0;
  const pages = Math.ceil((stats.committedBytes - first) / PAGE);
  const ctx = canvas.getContext('2d')!;
  const width = canvas.width;
  const height = canvas.height;
  // The largest square cell that fits every page in the canvas.
  let cell = 24;
  while (cell > 2 && Math.floor(width / cell) * Math.floor(height / cell) < pages) cell--;
  const perRow = Math.floor(width / cell);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  const pagesByTier: Record<string, number> = {};
  for (const run of runs) {
    pagesByTier[run.tier] = (pagesByTier[run.tier] ?? 0) + run.pages;
    const [r, g, b] = TIER_COLORS[run.tier] ?? OTHER_TIER;
    const fill = run.tier === 'free' || run.tier === 'meta' ? 1 : 0.25 + 0.75 * run.occupancy;
    ctx.fillStyle = `rgb(${Math.round(255 - (255 - r) * fill)}, ${Math.round(255 - (255 - g) * fill)}, ${Math.round(255 - (255 - b) * fill)})`;
    const start = (run.offset - first) / PAGE;
    for (let p = start; p < start + run.pages; p++) {
      const x = (p % perRow) * cell;
      const y = Math.floor(p / perRow) * cell;
      ctx.fillRect(x, y, cell - (cell > 3 ? 1 : 0), cell - (cell > 3 ? 1 : 0));
    }
  }
  $('heap-stats').textContent =
    `${(stats.committedBytes / MiB).toFixed(1)} MiB committed · ${pages} pages · ` +
    `${stats.liveBlocks.toLocaleString('en')} live blocks, ${(stats.liveBytes / MiB).toFixed(1)} MiB · ` +
    `${stats.threads} thread${stats.threads === 1 ? '' : 's'}`;
  return pagesByTier;
}

function showResults(results: PhaseResult[]): void {
  const best = Math.max(...results.map((r) => r.opsPerSecond), 1);
  $('results').innerHTML = results
    .map(
      (r) => `<div class="row"><span class="label">${r.label}</span>
        <span class="bar ${r.allocator === 'hakmem' ? 'hakmem' : ''}" style="width:${(60 * r.opsPerSecond) / best}%"></span>
        <span class="value">${(r.opsPerSecond / 1e6).toFixed(2)} M ops/s</span></div>`,
    )
    .join('');
}

function runWorker(request: BenchRequest): Promise<BenchReply> {
  const worker = new Worker(new URL('./bench-worker.ts', import.meta.url), { type: 'module' });
  return new Promise<BenchReply>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<BenchReply>) => {
      if (event.data.ok) resolve(event.data);
      else reject(new Error(`${request.allocator}: ${event.data.error}`));
    };
    worker.onerror = (event) => reject(new Error(`${request.allocator} worker: ${event.message}`));
    worker.postMessage(request);
  }).finally(() => {
    if (!request.keep) worker.terminate();
  });
}

async function main(): Promise<void> {
  const canvas = $<HTMLCanvasElement>('heap');
  if (!crossOriginIsolated) {
    throw new Error(
      'this page is not cross-origin isolated: serve it with COOP same-origin and COEP require-corp',
    );
  }
  const heap = createHeap({ initialBytes: MiB, maxBytes: 512 * MiB });
  let tiersSeen: Record<string, number> = {};
  let frame = 0;
  const redraw = () => {
    tiersSeen = drawHeap(canvas, heap);
    frame = requestAnimationFrame(redraw);
  };
  redraw();

  const results: PhaseResult[] = [];
  for (const [index, phase] of PHASES.entries()) {
    $('status').textContent = `running: ${phase.label}…`;
    const replies = await Promise.all(
      Array.from({ length: phase.workers }, (_, w) =>
        runWorker({
          allocator: phase.allocator,
          memory: phase.allocator === 'hakmem' ? (heap.memory as SharedArrayBuffer) : undefined,
          durationMs: DURATION_MS,
          window: WINDOW,
          seed: 1 + index * 10 + w,
          keep: phase.keep,
        }),
      ),
    );
    const opsPerSecond = replies.reduce((sum, r) => sum + (r.ops / r.ms) * 1000, 0);
    results.push({ label: phase.label, allocator: phase.allocator, workers: phase.workers, opsPerSecond });
    showResults(results);
  }
  cancelAnimationFrame(frame);
  tiersSeen = drawHeap(canvas, heap);
  heap.check();
  $('status').textContent =
    `done: each worker replaced random blocks of a ${WINDOW}-block window for ${DURATION_MS / 1000} s ` +
    '(sizes 16 B – 512 KiB); the picture shows the heap the last two workers left behind.';
  (window as unknown as { __demo: unknown }).__demo = { done: true, results, tiers: tiersSeen };
}

main().catch((error) => {
  $('status').textContent = `failed: ${error}`;
  (window as unknown as { __demo: unknown }).__demo = { done: true, error: String(error) };
});

// Rough costs of the arena's operations on the release build: `pnpm --filter @hakmem/page-arena bench`.
// Not a test: numbers depend on the machine.
import { Arena, PAGE_SIZE } from '@hakmem/page-arena';

const TIER_RUN = 6;

function time(name, iterations, fn) {
  fn(Math.ceil(iterations / 4)); // warm up (the optimizing compiler needs a while)
  const start = process.hrtime.bigint();
  fn(iterations);
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${name.padEnd(48)} ${ns.toFixed(1).padStart(9)} ns/op`);
}

const arena = Arena.format({ initialBytes: 64 << 20, maxBytes: 1 << 30 });
arena.threadAttach();

time('allocRun(1) + freeRun', 200_000, (n) => {
  for (let i = 0; i < n; i++) arena.freeRun(arena.allocRun(1, TIER_RUN));
});
time('allocRun(128) + freeRun (8 MiB)', 200_000, (n) => {
  for (let i = 0; i < n; i++) arena.freeRun(arena.allocRun(128, TIER_RUN));
});

// A fragmented heap: 1,500 live runs of 1..8 pages with holes between them.
const live = [];
for (let i = 0; i < 3000; i++) live.push(arena.allocRun(1 + (i % 8), TIER_RUN));
for (let i = 0; i < live.length; i += 2) arena.freeRun(live[i]);
console.log(`fragmented heap: ${arena.stats().freeRuns} free runs`);
time('allocRun(1..8) + freeRun, fragmented', 200_000, (n) => {
  for (let i = 0; i < n; i++) arena.freeRun(arena.allocRun(1 + (i & 7), TIER_RUN));
});

let sink = 0;
const pointers = live.filter((_, i) => i % 2 === 1).map((p) => p + 100);
time('pageEntry(ptr)', 10_000_000, (n) => {
  for (let i = 0; i < n; i++) sink += arena.pageEntry(pointers[i & 1023]);
});
time('metaAlloc(64) + metaFree', 200_000, (n) => {
  for (let i = 0; i < n; i++) arena.metaFree(arena.metaAlloc(64));
});
time('lock() + unlock()', 1_000_000, (n) => {
  for (let i = 0; i < n; i++) {
    arena.lock();
    arena.unlock();
  }
});
arena.check();

// Growth: a fresh heap of 1 page grown one run at a time; a second instance follows with refresh().
const growing = Arena.format({ initialBytes: PAGE_SIZE, maxBytes: 1 << 30 });
const follower = Arena.attach(growing.memory);
let growths = 0;
const start = process.hrtime.bigint();
for (let pages = 1; growing.allocRun(pages, TIER_RUN) !== 0; pages++) growths++;
const ns = Number(process.hrtime.bigint() - start) / growths;
follower.refresh();
follower.check();
console.log(
  `${'allocRun growing the memory (SAB.grow)'.padEnd(48)} ${ns.toFixed(1).padStart(9)} ns/op  (${growths} runs, ${growing.stats().growths} growths to ${growing.committedBytes() >> 20} MiB)`,
);
console.log(sink > 0 ? '' : 'sink');

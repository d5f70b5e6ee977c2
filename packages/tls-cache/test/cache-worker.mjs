// A worker for the tls-cache thread test: its own TlsCache over the shared PoolBackend; it pops
// and pushes blocks at random, records the blocks it holds in a shared table, and checks payloads.
import { parentPort, workerData } from 'node:worker_threads';
import { Arena } from '@hakmem/page-arena';
import { TlsCache } from '@hakmem/tls-cache';
import { CACHE_ROOT_WORD, PoolBackend, SIZES } from './pool-backend.mjs';

const arena = Arena.attach(workerData.memory);
arena.threadAttach();
const backend = new PoolBackend(arena);
const cache = new TlsCache(arena, backend, {
  tier: backend.tier,
  threadWord: 0,
  classSizes: SIZES,
  rootWord: backend.root + CACHE_ROOT_WORD,
});
const table = new Int32Array(workerData.table); // [2i] = ptr, [2i + 1] = class, last word: progress
const slots = (table.length - 1) >> 1;

let s = workerData.seed >>> 0;
const next = () => {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return s >>> 0;
};
const fill = (p, cls) => {
  if (p + SIZES[cls] > arena.viewBytes) arena.refresh();
  arena.u8.fill(p & 0xff, p + 4, p + SIZES[cls]);
};
const intact = (p, cls) => {
  if (p + SIZES[cls] > arena.viewBytes) arena.refresh();
  const u8 = arena.u8;
  for (let i = 4; i < SIZES[cls]; i++) if (u8[p + i] !== (p & 0xff)) return false;
  return true;
};

parentPort.postMessage({ threadId: arena.threadId });
for (let round = 0; round < workerData.rounds; round++) {
  const i = next() % slots;
  const old = table[2 * i] >>> 0;
  if (old !== 0) {
    const cls = table[2 * i + 1];
    if (!intact(old, cls)) throw new Error(`block ${old} damaged`);
    table[2 * i] = 0;
    cache.cachePush(cls, old);
  }
  const cls = next() % SIZES.length;
  const p = cache.cachePop(cls);
  fill(p, cls);
  table[2 * i + 1] = cls;
  table[2 * i] = p;
  if ((round & 255) === 0) Atomics.add(table, table.length - 1, 1);
}
for (let i = 0; i < slots; i++) {
  const p = table[2 * i] >>> 0;
  if (p !== 0) {
    table[2 * i] = 0;
    cache.cachePush(table[2 * i + 1], p);
  }
}
cache.cacheRelease();
arena.threadRelease(arena.threadId);
parentPort.postMessage({ done: true });

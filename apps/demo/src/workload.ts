// The demo's workload, the same for every allocator: keep a window of live blocks and replace a
// random one at a time (free it, allocate a new size, touch its first and last byte), for a fixed
// time. Sizes: 90 % 16 B – 1 KiB (hakmem's tiny tier), 9 % 1 – 64 KiB, 1 % 64 – 512 KiB.

export type AllocatorName = 'hakmem' | 'thi.ng' | 'Uint8Array';

export interface BenchRequest {
  allocator: AllocatorName;
  /** hakmem only: the heap's memory, from the page. */
  memory?: SharedArrayBuffer;
  durationMs: number;
  window: number;
  seed: number;
  /** hakmem only: keep the window's blocks live at the end (the picture shows them). */
  keep: boolean;
}

export interface BenchReply {
  ok: boolean;
  error?: string;
  allocator: AllocatorName;
  ops: number;
  ms: number;
}

export function sizeSource(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  return () => {
    const r = next();
    if (r < 0.9) return 16 + Math.floor(next() * 1009);
    if (r < 0.99) return 1025 + Math.floor(next() * 63 * 1024);
    return 65536 + Math.floor(next() * 448 * 1024);
  };
}

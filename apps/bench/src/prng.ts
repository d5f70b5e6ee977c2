/**
 * The one seeded generator every workload draws from (xorshift32), and the checksum fold.
 * Same seed → same sequence on every allocator, so the checksums of two runs of one
 * workload configuration agree exactly when both allocators kept every block intact.
 */

/** Next xorshift32 state; never returns 0 for a non-zero state. */
export function xorshift32(s: number): number {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return s >>> 0;
}

/** A seed mixed from several integers (splitmix32 finaliser), never 0. */
export function seedOf(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0 || 1;
}

/** A small generator object for code off the hot path. */
export class Rng {
  state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  /** Uniform 32-bit unsigned. */
  next(): number {
    return (this.state = xorshift32(this.state));
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }
}

/** Folds one observed value into a running checksum (order-dependent). */
export function fold(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

/** First-byte and last-byte tags of a block from one random draw: never equal, never 0. */
export function tagFirst(r: number): number {
  return (r & 0x7f) | 0x80;
}
export function tagLast(r: number): number {
  return (r >>> 8) & 0x7f || 1;
}

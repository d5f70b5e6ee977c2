import { describe, expect, it } from 'vitest';
import { Arena, PAGE_SIZE, TIER_FREE, TIER_META } from '../src/index';

const TIER_RUN = 6;

import { expectCode, runsOf, stateOf } from './helpers';

const P = PAGE_SIZE;

describe('memory kinds', () => {
  it('fixed SharedArrayBuffer: uses what is there and never grows', () => {
    const sab = new SharedArrayBuffer(8 * P);
    const a = Arena.format({ memory: sab });
    expect(a.maxBytes).toBe(8 * P);
    expect(a.shared).toBe(true);
    expect(a.allocRun(7, TIER_RUN)).toBe(P);
    const before = stateOf(a);
    expect(a.allocRun(1, TIER_RUN)).toBe(0);
    expect(stateOf(a)).toEqual(before);
    expect(a.trim()).toBe(0);
    a.check();
  });

  it('fixed SharedArrayBuffer with a smaller maxBytes leaves the bytes above it alone', () => {
    const sab = new SharedArrayBuffer(8 * P);
    new Uint8Array(sab).fill(0x5a);
    const a = Arena.format({ memory: sab, maxBytes: 4 * P });
    expect(a.committedBytes()).toBe(4 * P);
    expect(a.allocRun(3, TIER_RUN)).toBe(P);
    expect(a.allocRun(1, TIER_RUN)).toBe(0);
    expect(new Uint8Array(sab, 4 * P).every((b) => b === 0x5a)).toBe(true);
    a.check();
  });

  it('growable SharedArrayBuffer given by the caller: maxBytes defaults to its maxByteLength', () => {
    const sab = new SharedArrayBuffer(2 * P, { maxByteLength: 10 * P });
    const a = Arena.format({ memory: sab });
    expect(a.maxBytes).toBe(10 * P);
    expect(a.allocRun(9, TIER_RUN)).toBe(P);
    expect(sab.byteLength).toBe(10 * P);
    expect(a.allocRun(1, TIER_RUN)).toBe(0);
    a.check();
  });

  it('shared WebAssembly.Memory with a base: grows in 64 KiB pages up to its maximum, never writes below base', () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 40, shared: true });
    new Uint8Array(memory.buffer).fill(0xa5);
    const a = Arena.format({ memory, base: 100000 });
    expect(a.base).toBe(2 * P);
    expect(a.shared).toBe(true);
    expect(runsOf(a)).toEqual([
      [2, 1, TIER_META],
      [3, 1, TIER_FREE],
    ]);
    const r = a.allocRun(30, TIER_RUN);
    expect(r).toBe(3 * P);
    expect(memory.buffer.byteLength).toBe(33 * P);
    expect(a.viewBytes).toBe(33 * P);
    a.u8.fill(1, r, r + 30 * P);
    // The policy wants 10 pages more than the maximum allows: the arena retries with what is needed.
    expect(a.allocRun(10, TIER_RUN)).toBe(0);
    expect(a.allocRun(7, TIER_RUN)).toBe(33 * P);
    expect(memory.buffer.byteLength).toBe(40 * P);
    expect(a.allocRun(1, TIER_RUN)).toBe(0);
    expect(new Uint8Array(memory.buffer, 0, 2 * P).every((b) => b === 0xa5)).toBe(true);
    const b = Arena.attach(memory);
    expect(b.base).toBe(2 * P);
    expect(b.runPages(r)).toBe(30);
    a.freeRun(r);
    b.check();
  });

  it('non-shared WebAssembly.Memory: a grow replaces the buffer and every instance follows', () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 64 });
    const a = Arena.format({ memory });
    expect(a.shared).toBe(false);
    const b = Arena.attach(memory);
    const old = memory.buffer;
    const r = a.allocRun(5, TIER_RUN);
    expect(memory.buffer).not.toBe(old);
    expect(old.byteLength).toBe(0); // detached by grow
    expect(a.u8.buffer).toBe(memory.buffer);
    expect(b.runPages(r)).toBe(5);
    expect(b.u8.buffer).toBe(memory.buffer);
    const s = b.allocRun(20, TIER_RUN);
    expect(a.runPages(s)).toBe(20);
    a.check();
    b.check();
  });

  it('resizable ArrayBuffer (shared: false): trim() shrinks it to the last used page, growth comes back', () => {
    const a = Arena.format({ shared: false, initialBytes: 4 * P, maxBytes: 64 * P });
    const ab = a.memory as ArrayBuffer;
    const keep = a.allocRun(2, TIER_RUN);
    const big = a.allocRun(20, TIER_RUN);
    expect(ab.byteLength).toBe(23 * P);
    expect(a.trim()).toBe(0); // the last run is in use
    a.freeRun(big);
    expect(a.trim()).toBe(20 * P);
    expect(ab.byteLength).toBe(3 * P);
    expect(a.committedBytes()).toBe(3 * P);
    expect(a.viewBytes).toBe(3 * P);
    expect(runsOf(a)).toEqual([
      [0, 1, TIER_META],
      [1, 2, TIER_RUN],
    ]);
    a.check();
    expect(a.stats().trims).toBe(1);
    const again = a.allocRun(4, TIER_RUN);
    expect(again).toBe(3 * P);
    expect(ab.byteLength).toBe(7 * P);
    a.freeRun(keep);
    a.freeRun(again);
    expect(a.trim()).toBe(6 * P);
    expect(ab.byteLength).toBe(P);
    a.check();
    const b = Arena.attach(ab);
    expect(b.committedBytes()).toBe(P);
    expect(b.allocRun(1, TIER_RUN)).toBe(P);
    a.check();
  });

  it('fixed ArrayBuffer: a single-thread heap that cannot grow', () => {
    const a = Arena.format({ memory: new ArrayBuffer(4 * P) });
    expect(a.shared).toBe(false);
    expect(a.allocRun(3, TIER_RUN)).toBe(P);
    expect(a.allocRun(1, TIER_RUN)).toBe(0);
    expect(a.trim()).toBe(0);
    a.check();
  });

  it('a non-shared heap reports a lock left held instead of hanging', () => {
    const a = Arena.format({ shared: false, initialBytes: 2 * P, maxBytes: 8 * P });
    const b = Arena.attach(a.memory);
    b.lock();
    expectCode(
      () => a.allocRun(1, TIER_RUN),
      'ERR_HEAP_CORRUPTED',
      /held by owner 2147483647 in a non-shared memory/,
    );
    b.unlock();
    expect(a.allocRun(1, TIER_RUN)).toBe(P);
  });
});

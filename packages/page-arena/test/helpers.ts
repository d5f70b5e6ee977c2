import { expect } from 'vitest';
import { type Arena, type ArenaRun, HakmemError } from '../src/index';

/** Runs fn, expects a HakmemError with `code` (and a message matching `text`); returns its message. */
export function expectCode(fn: () => unknown, code: string, text?: RegExp): string {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeInstanceOf(HakmemError);
  expect(HakmemError.codeOf(error)).toBe(code);
  const message = (error as Error).message;
  expect(message.startsWith(`[${code}] `)).toBe(true);
  if (text) expect(message).toMatch(text);
  return message;
}

/** The page map as [offsetInPages, pages, tier] triples. */
export function runsOf(arena: Arena): [number, number, number][] {
  return arena.snapshot().map((run: ArenaRun) => [run.offset / 65536, run.pages, run.tier]);
}

/** Everything a rejected call must leave unchanged. */
export function stateOf(arena: Arena): unknown {
  const { locks: _locks, ...stats } = arena.stats();
  return { stats, runs: arena.snapshot(), committed: arena.committedBytes() };
}

// What the tiny tier's unit tests share: a heap with this thread's TinyTier, a second thread slot
// on the same memory, and the code of an error a call throws.
import { Arena, HakmemError } from '@hakmem/page-arena';
import { thrownCode } from '../../../scripts/test-support';
import { TinyTier } from '../src/tiny-tier';

const MiB = 2 ** 20;

/** A fresh heap and this thread's TinyTier on it. */
export function tier(safety: 'strict' | 'fast' = 'strict', maxBytes = 16 * MiB, shared = true) {
  const arena = Arena.format({ initialBytes: MiB, maxBytes, safety, shared });
  arena.threadAttach();
  return { arena, tiny: new TinyTier(arena) };
}

/** Another thread slot on the same memory (same JS thread: enough for ownership and remote frees). */
export function second(arena: Arena) {
  const other = Arena.attach(arena.memory);
  other.threadAttach();
  return { arena: other, tiny: new TinyTier(other) };
}

/** The HakmemError code `fn` throws, or undefined when it returns. */
export function codeOf(fn: () => unknown): string | undefined {
  return thrownCode(fn, HakmemError.codeOf);
}

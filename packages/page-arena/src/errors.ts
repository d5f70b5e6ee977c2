/** Every error hakmem throws carries one of these codes; the message starts with `[CODE]`. */
export type HakmemErrorCode =
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_INVALID_SIZE'
  | 'ERR_INVALID_ALIGNMENT'
  | 'ERR_INVALID_POINTER'
  | 'ERR_DOUBLE_FREE'
  | 'ERR_HEAP_CORRUPTED'
  | 'ERR_HEAP_INCOMPATIBLE'
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_THREAD';

/**
 * The one error class of hakmem. The code is also the message prefix, so it survives
 * `postMessage` (structured clone keeps only the message).
 */
export class HakmemError extends Error {
  readonly code: HakmemErrorCode;

  constructor(code: HakmemErrorCode, detail: string) {
    super(`[${code}] ${detail}`);
    this.name = 'HakmemError';
    this.code = code;
  }

  /** Recovers the code of an error that crossed `postMessage` as a plain Error. */
  static codeOf(error: unknown): HakmemErrorCode | undefined {
    if (error instanceof HakmemError) return error.code;
    const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
    const match = /^\[(ERR_[A-Z_]+)\]/.exec(message);
    return match ? (match[1] as HakmemErrorCode) : undefined;
  }
}

/**
 * What every package's tests ask of a call that must be rejected: the code of the error it
 * throws, or undefined when it returns. `read` gets the code out of the error (the package's
 * `HakmemError.codeOf`, passed in so this module imports no package).
 */
export function thrownCode(
  fn: () => unknown,
  read: (error: unknown) => string | undefined,
): string | undefined {
  try {
    fn();
  } catch (error) {
    return read(error);
  }
  return undefined;
}

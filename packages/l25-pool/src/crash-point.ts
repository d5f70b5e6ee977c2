/**
 * Development builds only (every call site is `if (__DEV__) crashPoint(…)`, removed from the
 * release build): the crash point of the crash-consistency tests, shared by every tier — see
 * `tierCrashPoint` in @hakmem/page-arena.
 */
export { tierCrashPoint as crashPoint } from '@hakmem/page-arena';

export { HakmemError, type HakmemErrorCode } from './errors';

// pnpm soak [--minutes N] [--seconds N] [--workers N] [--safety strict|fast] [--kill-min ms] [--kill-max ms] [--retire]
//           [--big-thread-cache]
import { soak } from './soak.mjs';

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = args[i + 1];
  if (v === undefined) throw new Error(`--${name} needs a value`);
  return v;
}
const ms = Number(option('seconds', 0)) * 1000 || Number(option('minutes', 1)) * 60_000;
const workers = Number(option('workers', 4));
const safety = option('safety', 'strict');
const killMin = Number(option('kill-min', 10));
const killMax = Number(option('kill-max', 100));
const retire = args.includes('--retire');
const bigThreadCache = args.includes('--big-thread-cache');
console.log(
  `soak: ${workers} workers for ${ms / 1000} s, ${safety}, a ${retire ? 'retirement' : 'termination'} every ${killMin}–${killMax} ms${bigThreadCache ? ', big-tier thread caches on' : ''}`,
);
const r = await soak({
  ms,
  workers,
  safety,
  killMin,
  killMax,
  retire,
  bigThreadCache,
  log: (l) => console.log(l),
});
console.log(
  `${r.ops} operations, ${r.terminations} terminations reclaimed, ${r.retirements} retirements, ${r.reclaimedBlocks} blocks freed from dead workers' tables, ` +
    `${r.handedOver} blocks handed over between threads, ${r.checks} heap checks passed; ` +
    `${r.leftLive} blocks (${((r.leftLiveBytes ?? 0) / 2 ** 20).toFixed(1)} MiB) left live at the end (in flight at a termination: at most ${r.inFlightBound}; committed ${((r.committedBytes ?? 0) / 2 ** 20).toFixed(0)} MiB); ` +
    `corruptions injected 0, detected ${r.cookieFailures}`,
);
if (r.errors.length > 0) {
  console.log(`FAILED:\n${r.errors.slice(0, 20).join('\n')}`);
  process.exit(1);
}
console.log('passed');

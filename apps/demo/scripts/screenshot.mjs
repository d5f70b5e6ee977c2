// Takes the README's screenshot of the demo: `pnpm --filter @hakmem/demo build && pnpm --filter @hakmem/demo screenshot`.
import { fileURLToPath } from 'node:url';
import { runDemo } from './run-demo.mjs';

const out = fileURLToPath(new URL('../screenshot.png', import.meta.url));
const { demo, errors } = await runDemo({ screenshot: out });
if (demo.error || errors.length > 0) {
  console.error(demo.error ?? errors.join('\n'));
  process.exit(1);
}
for (const r of demo.results) console.log(`${r.label}: ${(r.opsPerSecond / 1e6).toFixed(2)} M ops/s`);
console.log(`wrote ${out}`);

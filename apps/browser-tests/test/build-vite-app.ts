// Runs in Node before the browser tests: checks Chromium is there, and builds the Vite app
// (vite-app/: the ordinary `hakmem` package and a `new Worker(new URL('./worker.ts',
// import.meta.url), { type: 'module' })`) with Vite's defaults, as a user's build would.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { CHROMIUM, VITE_APP_OUT } from '../vitest.config';

export default async function setup(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (.ci/run does), ` +
        'or point HAKMEM_CHROMIUM at a Chromium binary',
    );
  }
  // The self-contained build must import nothing: a worker has no import map to resolve it.
  const selfContained = readFileSync(createRequire(import.meta.url).resolve('hakmem/browser'), 'utf8');
  const imports = selfContained.match(/^\s*(import|export)\s[^;]*?from\s*['"][^'"]+['"]/gm);
  if (imports !== null) throw new Error(`hakmem/browser is not self-contained: ${imports.join('; ')}`);
  if (selfContained.includes('__DEV__')) throw new Error('hakmem/browser has __DEV__ branches left');
  await build({
    configFile: false,
    root: fileURLToPath(new URL('../vite-app', import.meta.url)),
    base: './',
    logLevel: 'warn',
    build: {
      outDir: VITE_APP_OUT,
      emptyOutDir: true,
      // Not a warning about the app: the bundler's note that plugins took most of a 3 s build.
      rolldownOptions: { checks: { pluginTimings: false } },
    },
  });
}

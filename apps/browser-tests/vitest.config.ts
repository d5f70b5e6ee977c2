import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { playwright } from '@vitest/browser-playwright';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import type { BrowserCommand } from 'vitest/node';

// hakmem in real Chromium: Debian's /usr/bin/chromium, driven by Playwright (which must not
// download a browser of its own), through vitest's browser mode.
const here = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(import.meta.url);
export const CHROMIUM = process.env.HAKMEM_CHROMIUM ?? '/usr/bin/chromium';
export const VITE_APP_OUT = join(here, '.vite-app-dist');

/** URL prefixes served byte for byte (no Vite transform), as a static file server would. */
const RAW: Record<string, string> = {
  '/static/': join(here, 'static'),
  '/no-coi/': join(here, 'no-coi'),
  '/vite-app/': VITE_APP_OUT,
};
/** The self-contained build, served beside the static pages. */
const HAKMEM_BROWSER = require.resolve('hakmem/browser');
/** The WebAssembly example (its module is built by its own `build`, before these tests). */
const WASM_EXAMPLE = dirname(require.resolve('@hakmem/wasm-example/package.json'));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function rawFile(pathname: string): string | undefined {
  // hakmem.js (and its source map) beside any page under /static/ is the self-contained build.
  if (pathname.startsWith('/static/') && pathname.endsWith('/hakmem.js')) return HAKMEM_BROWSER;
  if (pathname.startsWith('/static/') && pathname.endsWith('/hakmem.js.map')) return `${HAKMEM_BROWSER}.map`;
  if (pathname === '/wasm-example/blocks.wasm') return join(WASM_EXAMPLE, 'build', 'blocks.wasm');
  if (pathname.startsWith('/wasm-example/')) {
    const dir = join(WASM_EXAMPLE, 'example');
    const file = normalize(join(dir, decodeURIComponent(pathname.slice('/wasm-example/'.length))));
    return file.startsWith(dir + sep) ? file : undefined;
  }
  for (const [prefix, dir] of Object.entries(RAW)) {
    if (!pathname.startsWith(prefix)) continue;
    const file = normalize(join(dir, decodeURIComponent(pathname.slice(prefix.length))));
    return file.startsWith(dir + sep) ? file : undefined;
  }
  return undefined;
}

/**
 * Every response carries COOP `same-origin` and COEP `require-corp` (so the test pages and their
 * workers are cross-origin isolated and have SharedArrayBuffer), except under /no-coi/, which
 * plays a page served without them. /static/, /no-coi/, /vite-app/ and /wasm-example/ (the
 * WebAssembly example's module and its runtime-neutral JavaScript) are served raw.
 */
function hakmemPages(): Plugin {
  return {
    name: 'hakmem-pages',
    enforce: 'pre',
    configureServer(server) {
      server.middlewares.use(async (req, res, next) => {
        const { pathname } = new URL(req.url ?? '/', 'http://localhost');
        if (!pathname.startsWith('/no-coi/')) {
          res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
          res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
        }
        const file = rawFile(pathname);
        if (file === undefined) return next();
        try {
          const body = await readFile(file);
          res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
          res.setHeader('Cache-Control', 'no-store');
          res.end(body);
        } catch {
          res.statusCode = 404;
          res.end(`not found: ${pathname}`);
        }
      });
    },
  };
}

export interface PageResult {
  result?: unknown;
  errors: string[];
  console: string[];
}

/** Opens `path` as a top-level page of the test's browser, waits for its `window.__result`. */
const openPage: BrowserCommand<[path: string, timeoutMs?: number]> = async (
  ctx,
  path,
  timeoutMs = 90_000,
) => {
  const page = await ctx.context.newPage();
  const errors: string[] = [];
  const lines: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => lines.push(`${message.type()}: ${message.text()}`));
  try {
    await page.goto(new URL(path, ctx.page.url()).href);
    try {
      await page.waitForFunction(() => 'window' in globalThis && '__result' in window, undefined, {
        timeout: timeoutMs,
        polling: 100,
      });
    } catch (error) {
      errors.push(`no result in ${timeoutMs} ms: ${error}`);
      return { errors, console: lines } satisfies PageResult;
    }
    const result = await page.evaluate(() => (window as unknown as { __result: unknown }).__result);
    return { result, errors, console: lines } satisfies PageResult;
  } finally {
    await page.close();
  }
};

export default defineConfig({
  plugins: [hakmemPages()],
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/build-vite-app.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({
        launchOptions: {
          executablePath: CHROMIUM,
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      }),
      instances: [{ browser: 'chromium' }],
      commands: { openPage },
    },
  },
});

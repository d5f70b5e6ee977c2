// Serves the built demo (dist/) on 127.0.0.1 with COOP/COEP, opens it in headless Chromium
// (Debian's /usr/bin/chromium through Playwright), waits until it is done and returns what it
// published (window.__demo), optionally with a screenshot of the page.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';

const DIST = fileURLToPath(new URL('../dist', import.meta.url));
const CHROMIUM = process.env.HAKMEM_CHROMIUM ?? '/usr/bin/chromium';
const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
};

function serve(dir) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const file = normalize(join(dir, path === '/' ? 'index.html' : decodeURIComponent(path)));
    if (!file.startsWith(dir + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** @param {{ screenshot?: string, timeoutMs?: number }} [options] */
export async function runDemo({ screenshot, timeoutMs = 90_000 } = {}) {
  if (!existsSync(join(DIST, 'index.html')))
    throw new Error(`${DIST} has no build: run \`pnpm build\` first`);
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: \`apt-get install -y chromium\` (.ci/run does)`);
  }
  const server = await serve(DIST);
  const browser = await chromium.launch({
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
  });
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1024, height: 760 } });
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.__demo?.done === true, undefined, { timeout: timeoutMs });
    const demo = await page.evaluate(() => window.__demo);
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return { demo, errors };
  } finally {
    await browser.close();
    server.close();
  }
}

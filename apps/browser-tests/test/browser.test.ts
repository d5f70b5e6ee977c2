import { describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import type { PageResult } from '../vitest.config';

declare module 'vitest/browser' {
  interface BrowserCommands {
    openPage(path: string, timeoutMs?: number): Promise<PageResult>;
  }
}

interface ScenarioResult {
  ok: boolean;
  error?: string;
  report?: {
    threads: number;
    handedOver: number;
    committed: number[];
    tiers: string[];
    end: { liveBlocks: number; threads: number };
  };
}

/** Opens a page that runs the four-worker scenario (static/scenario.js) and checks its report. */
async function scenario(path: string) {
  const page = await commands.openPage(path);
  const result = page.result as ScenarioResult | undefined;
  if (!result?.ok) {
    throw new Error(
      `${path}: ${result?.error ?? 'no result'}\npage errors: ${page.errors.join('\n')}\nconsole:\n${page.console.join('\n')}`,
    );
  }
  expect(page.errors).toEqual([]);
  const report = result.report!;
  expect(report.threads).toBe(5); // the page and four workers
  expect(report.handedOver).toBeGreaterThanOrEqual(3 * 4 * 200);
  expect(report.committed.at(-1)).toBeGreaterThan(report.committed[0]!);
  expect(report.tiers).toEqual(['big', 'l25', 'mid', 'tiny']); // every tier of the default composition
  expect(report.end).toMatchObject({ liveBlocks: 0, threads: 1 });
}

describe('hakmem in Chromium', () => {
  it('the test page itself is cross-origin isolated (COOP/COEP)', () => {
    expect(globalThis.crossOriginIsolated).toBe(true);
    expect(typeof SharedArrayBuffer).toBe('function');
  });

  it('self-contained build by URL: a page and four module workers share a heap across tiers; one is terminated and reclaimed', async () => {
    await scenario('/static/index.html');
  });

  it('the package bundled by Vite (new Worker(new URL(…), { type: "module" })): the same scenario', async () => {
    await scenario('/vite-app/index.html');
  });

  it('the README’s page and worker, as written there (hakmem.js served beside them)', async () => {
    const page = await commands.openPage('/static/readme/index.html');
    expect(page.errors).toEqual([]);
    expect(page.result).toEqual({ text: 'hello', liveBlocks: 0 });
  });

  it('WebAssembly: the wasm example’s module shares the heap with the page and two module workers, both directions, before and after growth', async () => {
    const page = await commands.openPage('/static/wasm/index.html');
    const result = page.result as
      | {
          ok: boolean;
          error?: string;
          lines: string[];
          report: { pagesBefore: number; pagesAfter: number; stats: { liveBlocks: number; threads: number } };
        }
      | undefined;
    if (!result?.ok)
      throw new Error(
        `${result?.error ?? 'no result'}\n${page.errors.join('\n')}\n${page.console.join('\n')}`,
      );
    expect(page.errors).toEqual([]);
    expect(result.report.pagesAfter).toBeGreaterThan(result.report.pagesBefore);
    expect(result.report.stats).toMatchObject({ liveBlocks: 0, threads: 1 });
    expect(result.lines.at(-1)).toMatch(/check\(\) passed/);
  });

  it('a page that is not cross-origin isolated: a clear error for a shared heap; shared: false works', async () => {
    const page = await commands.openPage('/no-coi/index.html');
    expect(page.errors).toEqual([]);
    const result = page.result as {
      crossOriginIsolated: boolean;
      sharedArrayBuffer: string;
      shared: { isHakmemError: boolean; code: string; message: string };
      local: {
        error?: string;
        resizable: boolean;
        grown: number;
        kept: boolean;
        released: number;
        liveBlocks: number;
      };
    };
    expect(result.crossOriginIsolated).toBe(false);
    expect(result.sharedArrayBuffer).toBe('undefined');
    expect(result.shared.isHakmemError).toBe(true);
    expect(result.shared.code).toBe('ERR_INVALID_OPTION');
    expect(result.shared.message).toMatch(/SharedArrayBuffer/);
    expect(result.shared.message).toMatch(/cross-origin isolated/);
    expect(result.shared.message).toMatch(/Cross-Origin-Opener-Policy: same-origin/);
    expect(result.shared.message).toMatch(/Cross-Origin-Embedder-Policy: require-corp/);
    expect(result.local.error).toBeUndefined();
    expect(result.local).toMatchObject({ resizable: true, kept: true, liveBlocks: 0 });
    expect(result.local.grown).toBeGreaterThan(10 * 2 ** 20);
    expect(result.local.released).toBeGreaterThan(0);
  });
});

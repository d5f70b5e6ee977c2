import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runExample } from '../example/main.mjs';

describe('WebAssembly interop example', () => {
  it('the module imports only a shared memory and hakmem’s malloc/free', () => {
    const module = new WebAssembly.Module(readFileSync(new URL('../build/blocks.wasm', import.meta.url)));
    const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}: ${i.kind}`);
    expect(imports.sort()).toEqual(['env.free: function', 'env.malloc: function', 'env.memory: memory']);
  });

  it('wasm reads and writes JS blocks, allocates and frees through hakmem, before and after growth, from two workers', async () => {
    const lines: string[] = [];
    const result = await runExample((line: string) => {
      lines.push(line);
    });
    expect(result.pagesAfter).toBeGreaterThan(result.pagesBefore);
    expect(result.stats.liveBlocks).toBe(0);
    expect(result.stats.threads).toBe(1);
    expect(lines.at(-1)).toMatch(/check\(\) passed/);
  });
});

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../scripts/ab.mjs', import.meta.url));

describe('scripts/ab.mjs (same-process A/B)', () => {
  it('bundles HEAD and the working tree from their sources, runs both against the floor, and the checksums agree', () => {
    const args = [
      '--base',
      'HEAD',
      '--pairs',
      '60000',
      '--segments',
      '4',
      '--rounds',
      '1',
      '--modes',
      'fast',
    ];
    const r = spawnSync(process.execPath, [SCRIPT, ...args, '--window', '1000'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^hakmem A\/B .* A = HEAD \([0-9a-f]{7} /m);
    expect(r.stdout).toMatch(/^machine: .*node v\d+/m);
    // The medians: mode, A ratio, B ratio, B/A, B/A's range over the rounds, the children counted
    // as steady (how many depends on the machine's load, not on the code: not asserted).
    const row = r.stdout.match(
      /^fast\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+\d+\.\d+ … \d+\.\d+\s+A [01]\/1, B [01]\/1$/m,
    );
    expect(row, r.stdout).not.toBeNull();
    const [a, b, ba] = row!.slice(1).map(Number) as [number, number, number];
    for (const v of [a, b, ba]) expect(Number.isFinite(v) && v > 0, r.stdout).toBe(true);
    expect(r.stdout).toMatch(
      /^checksums: ok — floor, A and B in all 2 children read back 0x[0-9a-f]{8}, 0 corrupt$/m,
    );
    expect(r.stderr).not.toMatch(/ERROR/);
  }, 90_000);
});

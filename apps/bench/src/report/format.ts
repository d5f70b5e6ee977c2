/** Number formatting for the table: short, three significant digits. */

function sig(x: number): string {
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  if (unit.startsWith('ns')) {
    if (value >= 1e6) return `${sig(value / 1e6)} ms`;
    if (value >= 1e3) return `${sig(value / 1e3)} µs`;
    return `${sig(value)} ns`;
  }
  if (unit.endsWith('/s')) {
    if (value >= 1e6) return `${sig(value / 1e6)} M/s`;
    if (value >= 1e3) return `${sig(value / 1e3)} k/s`;
    return `${sig(value)} /s`;
  }
  if (unit.startsWith('×')) return `${sig(value)}×`;
  return sig(value);
}

export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return '';
  if (r >= 100) return `${r.toFixed(0)}×`;
  if (r >= 10) return `${r.toFixed(1)}×`;
  if (r >= 0.1) return `${r.toFixed(2)}×`;
  return `${r.toPrecision(2)}×`;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${sig(n / 2 ** 30)} GiB`;
  if (n >= 2 ** 20) return `${sig(n / 2 ** 20)} MiB`;
  if (n >= 2 ** 10) return `${sig(n / 2 ** 10)} KiB`;
  return `${n} B`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

import type { AllocatorName } from '../adapters/types';
import { formatRatio, formatValue } from './format';
import type { Cell, RunReport } from './results';

/** The peers a row's ratios fall back to when hakmem has no number in that row, in order. */
const REFERENCE_ORDER: readonly AllocatorName[] = ['hakmem', 'hakmem-fast', 'gc', 'smo', 'as-tlsf'];

export interface Row {
  workload: string;
  variant: string;
  unit: string;
  better: 'higher' | 'lower';
  reference: AllocatorName | undefined;
  cells: Map<AllocatorName, Cell>;
}

export function rowsOf(report: RunReport): Row[] {
  const rows: Row[] = [];
  const byKey = new Map<string, Row>();
  for (const c of report.cells) {
    const key = `${c.workload}\u0000${c.variant}`;
    let row = byKey.get(key);
    if (!row) {
      row = {
        workload: c.workload,
        variant: c.variant,
        unit: '',
        better: 'higher',
        reference: undefined,
        cells: new Map(),
      };
      byKey.set(key, row);
      rows.push(row);
    }
    row.cells.set(c.alloc, c);
    if (c.unit && !row.unit) {
      row.unit = c.unit;
      row.better = c.better ?? 'higher';
    }
  }
  for (const row of rows) {
    row.reference = REFERENCE_ORDER.find((a) => row.cells.get(a)?.status === 'ok');
  }
  return rows;
}

/** Short text for a cell without a number. */
export function shortStatus(c: Cell): string {
  if (c.short) return c.short;
  switch (c.status) {
    case 'unsupported':
      return c.reason?.startsWith('not thread-safe')
        ? 'not thread-safe'
        : c.reason?.startsWith('not shared')
          ? 'not shared'
          : 'unsupported';
    case 'timeout':
      return 'over time cap';
    case 'wrong':
      return 'WRONG checksum';
    case 'skipped':
      return 'not built';
    case 'not-ported':
      return 'not ported';
    default:
      return 'failed';
  }
}

export function cellText(row: Row, c: Cell | undefined, marks: Map<string, number>): string {
  if (!c) return '';
  if (c.status !== 'ok' || c.value === undefined) {
    const text = shortStatus(c);
    return c.reason ? `${text} ${footnote(marks, c.reason)}` : text;
  }
  const ref = row.reference ? row.cells.get(row.reference) : undefined;
  let text = formatValue(c.value, row.unit);
  if (ref?.value !== undefined && row.reference !== c.alloc) text += ` (${formatRatio(c.value / ref.value)})`;
  if (c.capped) text += ` ${footnote(marks, `${c.alloc}: ${c.capped}`)}`;
  return text;
}

/** Numbered notes: the same text gets the same number. */
function footnote(marks: Map<string, number>, text: string): string {
  let n = marks.get(text);
  if (n === undefined) {
    n = marks.size + 1;
    marks.set(text, n);
  }
  return `[${n}]`;
}

export interface Table {
  header: string[];
  body: string[][];
  notes: string[];
}

export function buildTable(report: RunReport, allocs: readonly AllocatorName[]): Table {
  const rows = rowsOf(report);
  const marks = new Map<string, number>();
  const header = ['workload', 'unit', ...allocs, 'ratios to'];
  const body = rows.map((row) => [
    `${row.workload} ${row.variant}`,
    `${row.unit} (${row.better === 'higher' ? '↑' : '↓'})`,
    ...allocs.map((a) => cellText(row, row.cells.get(a), marks)),
    row.reference ?? '—',
  ]);
  const notes = [...marks.entries()].map(([text, n]) => `[${n}] ${text}`);
  return { header, body, notes };
}

/** Fixed-width text table for the terminal. */
export function renderText(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const out = [line(t.header), widths.map((w) => '─'.repeat(w)).join('  '), ...t.body.map(line)];
  return [...out, '', ...t.notes].join('\n');
}

export function renderMarkdown(t: Table): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${t.header.map(esc).join(' | ')} |`,
    `| ${t.header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
    ...t.body.map((r) => `| ${r.map(esc).join(' | ')} |`),
    '',
    ...t.notes.map((n) => `${n}  `),
  ].join('\n');
}

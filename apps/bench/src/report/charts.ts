import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { RunReport } from './results';
import { rowsOf, shortStatus } from './table';

/**
 * The report's pictures, as Vega-Lite specs compiled to Vega and rendered to SVG in Node
 * (headless view, no canvas): throughput per allocator per workload, latency per size, and
 * memory overhead in the fragmentation workload.
 */

const FONT = 'Helvetica, Arial, sans-serif';
const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 11 },
  legend: { labelFontSize: 11, titleFontSize: 11 },
  header: { labelFontSize: 12, titleFontSize: 12 },
};

/** vega-lite's advice about faceted independent scales is expected here; keep the terminal for the table. */
const quiet = {
  level(): number {
    return 0;
  },
  error(...args: readonly unknown[]) {
    console.error(...args);
    return this;
  },
  warn() {
    return this;
  },
  info() {
    return this;
  },
  debug() {
    return this;
  },
};

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec, { logger: quiet as never }).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

function allocDomain(report: RunReport): string[] {
  return report.allocators.map((a) => a.name);
}

/** Work per second for every row that measures time: ns → 1e9 / ns; fragmentation → its ops/s. */
export function throughputSpec(report: RunReport): TopLevelSpec | undefined {
  const values: { row: string; alloc: string; perSec: number; capped: string; label?: string }[] = [];
  for (const row of rowsOf(report)) {
    if (row.workload === 'sizes') continue;
    const label = `${row.workload} ${row.variant}${row.workload === 'fragmentation' ? ' (ops/s)' : ''}`;
    for (const c of row.cells.values()) {
      if (c.status !== 'ok' || c.value === undefined) {
        // No number: say why in the bar's place rather than leave the allocator out.
        values.push({ row: label, alloc: c.alloc, perSec: 0, capped: 'full run', label: shortStatus(c) });
        continue;
      }
      let perSec: number;
      if (c.unit?.endsWith('/s')) perSec = c.value;
      else if (c.unit?.startsWith('ns')) perSec = 1e9 / c.value;
      else if (c.extra?.opsPerSec !== undefined) perSec = c.extra.opsPerSec;
      else continue;
      values.push({ row: label, alloc: c.alloc, perSec, capped: c.capped ? 'smaller run' : 'full run' });
    }
  }
  if (values.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Operations per second, by workload (higher is better)', font: FONT, fontSize: 14 },
    data: { values },
    transform: [{ calculate: "datum.label || format(datum.perSec, '.3s') + '/s'", as: 'label' }],
    facet: { field: 'row', type: 'nominal', title: null, sort: null },
    columns: 2,
    spec: {
      width: 300,
      height: { step: 16 },
      encoding: {
        y: { field: 'alloc', type: 'nominal', title: null, sort: allocDomain(report) },
        x: {
          field: 'perSec',
          type: 'quantitative',
          title: 'per second',
          axis: { format: '~s', tickCount: 4 },
        },
      },
      layer: [
        {
          mark: { type: 'bar', tooltip: true },
          encoding: {
            color: { field: 'alloc', type: 'nominal', scale: { domain: allocDomain(report) }, legend: null },
            opacity: {
              field: 'capped',
              type: 'ordinal',
              scale: { domain: ['full run', 'smaller run'], range: [1, 0.45] },
              title: 'configuration',
            },
          },
        },
        {
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
          encoding: { text: { field: 'label' } },
        },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: CONFIG,
  };
}

export function latencySpec(report: RunReport): TopLevelSpec | undefined {
  const values: { size: string; order: number; alloc: string; ns: number }[] = [];
  let order = 0;
  for (const row of rowsOf(report)) {
    if (row.workload !== 'sizes') continue;
    order++;
    for (const c of row.cells.values()) {
      if (c.status === 'ok' && c.value !== undefined)
        values.push({ size: row.variant, order, alloc: c.alloc, ns: c.value });
    }
  }
  if (values.length === 0) return undefined;
  const sizes = [...new Set(values.sort((a, b) => a.order - b.order).map((v) => v.size))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'malloc+free latency by block size (log scale; lower is better)',
      font: FONT,
      fontSize: 14,
    },
    width: 520,
    height: 300,
    data: { values },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'size', type: 'ordinal', sort: sizes, title: 'block size', axis: { labelAngle: 0 } },
      y: { field: 'ns', type: 'quantitative', scale: { type: 'log' }, title: 'ns per malloc+free' },
      color: { field: 'alloc', type: 'nominal', scale: { domain: allocDomain(report) }, title: 'allocator' },
    },
    config: CONFIG,
  };
}

export function memorySpec(report: RunReport): TopLevelSpec | undefined {
  const values = report.cells
    .filter((c) => c.workload === 'fragmentation' && c.status === 'ok' && c.value !== undefined)
    .map((c) => ({ alloc: c.alloc, ratio: c.value!, capped: c.capped ? 'smaller run' : 'full run' }));
  if (values.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Memory overhead: committed bytes ÷ peak live bytes (fragmentation; lower is better)',
      font: FONT,
      fontSize: 14,
    },
    width: 480,
    height: 260,
    data: { values },
    layer: [
      {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: {
            field: 'alloc',
            type: 'nominal',
            sort: allocDomain(report),
            title: null,
            axis: { labelAngle: 0 },
          },
          y: { field: 'ratio', type: 'quantitative', title: 'committed ÷ peak live', scale: { zero: true } },
          color: { field: 'alloc', type: 'nominal', scale: { domain: allocDomain(report) }, legend: null },
          opacity: {
            field: 'capped',
            type: 'ordinal',
            scale: { domain: ['full run', 'smaller run'], range: [1, 0.45] },
            title: 'configuration',
          },
        },
      },
      {
        mark: { type: 'text', dy: -8, fontSize: 11 },
        encoding: {
          x: { field: 'alloc', type: 'nominal', sort: allocDomain(report) },
          y: { field: 'ratio', type: 'quantitative' },
          text: { field: 'ratio', type: 'quantitative', format: '.2f' },
        },
      },
      { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { datum: 1 } } },
    ],
    config: CONFIG,
  };
}

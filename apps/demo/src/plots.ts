/**
 * Vega-Lite specifications of the report's plots (rendered to SVG by report.ts).
 */
import type { TopLevelSpec } from 'vega-lite';

const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 420, height: 260 } as const;

/** Scatter of accuracy against file size (log x), one labelled point per variant. */
export function accuracyVsSize(rows: { name: string; bytes: number; accuracy: number; kind: string }[]): TopLevelSpec {
  return {
    ...base,
    title: 'Accuracy in onnxruntime vs ONNX file size',
    data: { values: rows.map((r) => ({ ...r, kb: r.bytes / 1024 })) },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 80 },
        encoding: {
          x: { field: 'kb', type: 'quantitative', scale: { type: 'log' }, title: 'file size (KiB, log scale)' },
          y: { field: 'accuracy', type: 'quantitative', scale: { zero: false }, title: 'test accuracy (ORT)' },
          color: { field: 'kind', type: 'nominal', title: 'model' },
        },
      },
      {
        mark: { type: 'text', dx: 6, dy: -6, align: 'left', fontSize: 10 },
        encoding: {
          x: { field: 'kb', type: 'quantitative', scale: { type: 'log' } },
          y: { field: 'accuracy', type: 'quantitative' },
          text: { field: 'name', type: 'nominal' },
        },
      },
    ],
  } as TopLevelSpec;
}

/**
 * Median ORT latency per variant at batch 1 and batch 256: one dot each on a log axis (bars
 * cannot start at 0 on a log scale, and the latencies span three decades).
 */
export function latencyBars(rows: { name: string; batch1: number; batch256: number }[]): TopLevelSpec {
  const values = rows.flatMap((r) => [
    { name: r.name, batch: 'batch 1', ms: r.batch1 },
    { name: r.name, batch: 'batch 256', ms: r.batch256 },
  ]);
  return {
    ...base,
    title: 'onnxruntime-node latency (median)',
    data: { values },
    mark: { type: 'point', filled: true, size: 70 },
    encoding: {
      y: { field: 'name', type: 'nominal', sort: null, title: null },
      x: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'milliseconds (log scale)' },
      color: { field: 'batch', type: 'nominal', title: null },
      shape: { field: 'batch', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

/** Lines of a per-epoch quantity for several series. */
export function curves(title: string, xTitle: string, yTitle: string, series: Record<string, number[]>, x0 = 1): TopLevelSpec {
  const values = Object.entries(series).flatMap(([name, ys]) => ys.map((y, i) => ({ name, x: i + x0, y })));
  return {
    ...base,
    title,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: xTitle },
      y: { field: 'y', type: 'quantitative', scale: { zero: false }, title: yTitle },
      color: { field: 'name', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

/** Points (x, y) connected by a line, with a label per series: e.g. accuracy against sparsity. */
export function xyLines(title: string, xTitle: string, yTitle: string, rows: { series: string; x: number; y: number }[]): TopLevelSpec {
  return {
    ...base,
    title,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: xTitle, scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

/** Histogram of values (e.g. weights), one colour per series. */
export function histogram(title: string, xTitle: string, series: Record<string, ArrayLike<number>>, bins = 60): TopLevelSpec {
  const values: { series: string; v: number }[] = [];
  for (const [s, xs] of Object.entries(series)) for (let i = 0; i < xs.length; i++) values.push({ series: s, v: xs[i] });
  return {
    ...base,
    title,
    data: { values },
    mark: { type: 'bar', opacity: 0.6 },
    encoding: {
      x: { field: 'v', type: 'quantitative', bin: { maxbins: bins }, title: xTitle },
      y: { aggregate: 'count', type: 'quantitative', title: 'count', stack: null },
      color: { field: 'series', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

/** Horizontal bars of the fraction of zero weights per layer, one bar per variant in each layer's group. */
export function layerSparsityBars(rows: { variant: string; layer: string; sparsity: number }[]): TopLevelSpec {
  return {
    ...base,
    title: 'Sparsity of each layer after unstructured pruning',
    data: { values: rows },
    mark: 'bar',
    encoding: {
      y: { field: 'layer', type: 'nominal', sort: null, title: null, axis: { labelLimit: 260 } },
      x: { field: 'sparsity', type: 'quantitative', scale: { domain: [0, 1] }, title: 'fraction of weights that are zero' },
      yOffset: { field: 'variant' },
      color: { field: 'variant', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

/** Accuracy against sparsity, one line per series connecting its points in the given (time) order, with the legend below so long series names fit. */
export function accuracySparsityLines(title: string, rows: { series: string; x: number; y: number }[]): TopLevelSpec {
  return {
    ...base,
    width: 480,
    title,
    data: { values: rows.map((r, i) => ({ ...r, i })) },
    mark: { type: 'line', point: true },
    encoding: {
      order: { field: 'i', type: 'quantitative' },
      x: { field: 'x', type: 'quantitative', title: 'fraction of Linear weights that are zero', scale: { domain: [0, 1] } },
      y: { field: 'y', type: 'quantitative', title: 'test accuracy', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 } },
    },
  } as TopLevelSpec;
}

/**
 * A predictive mean with its band (e.g. 95 %), optionally the observations as points: the
 * band is an area from `lo` to `hi`, the mean a line, both over `x`.
 */
export function bandPlot(
  title: string,
  xTitle: string,
  yTitle: string,
  band: { x: number; mean: number; lo: number; hi: number }[],
  points: { x: number; y: number }[] = [],
  bandLabel = '95 % band',
  xFormat?: string,
): TopLevelSpec {
  const x = { field: 'x', type: 'quantitative', title: xTitle, scale: { zero: false }, ...(xFormat ? { axis: { format: xFormat } } : {}) };
  return {
    ...base,
    width: 520,
    title,
    layer: [
      { data: { values: points.map((p) => ({ ...p, what: 'observed' })) }, mark: { type: 'point', size: 6, opacity: 0.5 }, encoding: { x, y: { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false } }, color: { field: 'what', type: 'nominal', title: null } } },
      { data: { values: band.map((b) => ({ ...b, what: bandLabel })) }, mark: { type: 'area', opacity: 0.3 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: { field: 'what', type: 'nominal', title: null } } },
      { data: { values: band.map((b) => ({ ...b, what: 'predictive mean' })) }, mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color: { field: 'what', type: 'nominal', title: null } } },
    ],
  } as TopLevelSpec;
}

/** Accuracy matrices as heatmaps (rect marks), one panel per strategy: row = after training task i, column = task j. */
export function accuracyHeatmaps(title: string, rows: { strategy: string; after: number; task: number; accuracy: number }[]): TopLevelSpec {
  return {
    $schema: base.$schema,
    title,
    data: { values: rows },
    facet: { field: 'strategy', type: 'nominal', title: null, sort: null },
    columns: 6,
    spec: {
      width: 120,
      height: 120,
      layer: [
        {
          mark: 'rect',
          encoding: {
            x: { field: 'task', type: 'ordinal', title: 'task evaluated' },
            y: { field: 'after', type: 'ordinal', title: 'after training task' },
            color: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1], scheme: 'viridis' }, title: 'accuracy' },
          },
        },
        {
          mark: { type: 'text', fontSize: 9 },
          encoding: {
            x: { field: 'task', type: 'ordinal' },
            y: { field: 'after', type: 'ordinal' },
            text: { field: 'accuracy', type: 'quantitative', format: '.2f' },
            color: { condition: { test: 'datum.accuracy > 0.6', value: 'black' }, value: 'white' },
          },
        },
      ],
    },
  } as TopLevelSpec;
}

/** Bars of mean accuracy with 95 % interval whiskers, one group per shot setting, one bar per method. */
export function accuracyBars(title: string, rows: { method: string; shots: number; accuracy: number; ci95: number }[]): TopLevelSpec {
  const values = rows.map((r) => ({ ...r, setting: `5-way ${r.shots}-shot`, lo: r.accuracy - r.ci95, hi: r.accuracy + r.ci95 }));
  const order = [...new Set(rows.map((r) => r.method))];
  return {
    ...base,
    title,
    data: { values },
    encoding: {
      y: { field: 'method', type: 'nominal', sort: order, title: null },
      yOffset: { field: 'setting' },
      color: { field: 'setting', type: 'nominal', title: null },
    },
    layer: [
      { mark: 'bar', encoding: { x: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'query accuracy' } } },
      { mark: { type: 'rule', color: 'black' }, encoding: { x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
    ],
  } as TopLevelSpec;
}

/** One panel per model: the true function, the predictions before and after adaptation, and the support points as dots. */
export function sinusoidPlot(title: string, curve: { model: string; stage: string; x: number; y: number }[], points: { x: number; y: number }[]): TopLevelSpec {
  const models = [...new Set(curve.map((c) => c.model))];
  const values = [...curve.map((c) => ({ ...c, kind: 'curve' })), ...models.flatMap((model) => points.map((p) => ({ ...p, model, stage: 'support points', kind: 'point' })))];
  const stages = ['true function', 'before adaptation', 'after 1 step', 'after 10 steps'];
  return {
    $schema: base.$schema,
    title,
    data: { values },
    facet: { column: { field: 'model', type: 'nominal', sort: models, title: null } },
    spec: {
      width: 300,
      height: 220,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'curve'" }],
          mark: { type: 'line' },
          encoding: {
            x: { field: 'x', type: 'quantitative', title: 'x' },
            y: { field: 'y', type: 'quantitative', title: 'y' },
            color: { field: 'stage', type: 'nominal', title: null, sort: stages, scale: { domain: stages, range: ['#222222', '#9e9e9e', '#4c78a8', '#e45756'] } },
            strokeDash: { field: 'stage', type: 'nominal', sort: stages, scale: { domain: stages, range: [[1, 0], [4, 3], [1, 0], [1, 0]] }, title: null },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'point'" }],
          mark: { type: 'point', filled: true, color: 'black', size: 50 },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
        },
      ],
    },
  } as TopLevelSpec;
}

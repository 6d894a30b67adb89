/**
 * Calibration of activation ranges for static quantization: run sample batches through a
 * Sequential in evaluation mode and record, for the input and for every child's output, the
 * range to quantize (min-max, or percentiles that ignore rare outliers).
 */
import { tf, Sequential, NonFiniteError, ShapeError, ValueError, checkNumber, describe } from '@x/tensor';

type Tensor = tf.Tensor;

/**
 * Activation ranges by key: `'input'` is the model input; `String(i)` is the output of child
 * `i` of the Sequential.
 */
export type ActivationRanges = Map<string, { min: number; max: number }>;

/** Options of {@link calibrate}. */
export interface CalibrateOptions {
  /** `'minmax'` (default): smallest and largest value seen; `'percentile'`: the (100−p)-th and p-th percentiles. */
  method?: 'minmax' | 'percentile';
  /** p for the percentile method, in (50, 100] (default 99.99). */
  percentile?: number;
  /** Rows per forward pass (default 256). */
  batchSize?: number;
  /** Histogram bins per key for the percentile method (default 2048): percentiles are exact to one bin width. */
  bins?: number;
}

/** Runs `model` child by child on `xb` (evaluation mode), calling `visit` with each tap. */
export function forwardTaps(model: Sequential, xb: Tensor, visit: (key: string, t: Tensor) => void): Tensor {
  let h = xb;
  visit('input', h);
  model.layers.forEach((layer, i) => {
    h = layer.forward(h);
    visit(String(i), h);
  });
  return h;
}

function checkRows(fn: string, x: unknown, n: unknown): { n: number; d: number } {
  if (!(x instanceof Float32Array)) throw new TypeError(`${fn}: argument 'x' must be a Float32Array, got ${describe(x)}`);
  const rows = checkNumber(fn, 'n', n, { min: 1, integer: true });
  if (x.length % rows !== 0 || x.length === 0) {
    throw new ShapeError(`${fn}: argument 'x' must hold ${rows} rows (a multiple of ${rows} values), got ${x.length} values`, {
      expected: `[${rows}, d]`,
      received: [x.length],
    });
  }
  return { n: rows, d: x.length / rows };
}

/** Iterates over row batches of x as [b, d] tensors in evaluation mode; restores the mode. */
function eachBatch(model: Sequential, x: Float32Array, n: number, d: number, batchSize: number, body: (xb: Tensor) => void): void {
  const was = model.training;
  model.eval();
  try {
    for (let from = 0; from < n; from += batchSize) {
      const to = Math.min(n, from + batchSize);
      tf.tidy(() => body(tf.tensor2d(x.subarray(from * d, to * d), [to - from, d])));
    }
  } finally {
    model.train(was);
  }
}

/**
 * Records activation ranges of a Sequential on sample data.
 * @param model the model (run in evaluation mode; its mode is restored). Parametrizations (pruning masks) apply.
 * @param x sample inputs, row-major [n, d] (the model's first layer reshapes if it needs images).
 * @param n number of rows.
 * @param opts method (`'minmax'` default, or `'percentile'`), percentile (99.99), batchSize (256), bins (2048).
 * @returns ranges keyed `'input'` and `String(i)` per child. Ranges are raw (not yet widened to contain 0).
 * @throws TypeError/ShapeError for malformed input; ValueError for bad options; NonFiniteError if an activation is NaN/±Infinity (names the key).
 * @example
 * const ranges = calibrate(model, calib.images, 500, { method: 'percentile', percentile: 99.99 });
 * ranges.get('input'); // { min: 0, max: 1 }
 */
export function calibrate(model: Sequential, x: Float32Array, n: number, opts: CalibrateOptions = {}): ActivationRanges {
  const fn = 'calibrate';
  if (!(model instanceof Sequential)) throw new TypeError(`${fn}: argument 'model' must be a Sequential, got ${describe(model)}`);
  const { d } = checkRows(fn, x, n);
  const method = opts.method ?? 'minmax';
  if (method !== 'minmax' && method !== 'percentile') {
    throw new ValueError(`${fn}: option 'method' must be 'minmax' or 'percentile', got ${describe(method)}`, 'method');
  }
  const p = checkNumber(fn, 'percentile', opts.percentile ?? 99.99, { min: 50, max: 100, minExclusive: true });
  const batchSize = checkNumber(fn, 'batchSize', opts.batchSize ?? 256, { min: 1, integer: true });
  const bins = checkNumber(fn, 'bins', opts.bins ?? 2048, { min: 1, integer: true });

  // Pass 1: min and max of every tap.
  const ranges: ActivationRanges = new Map();
  eachBatch(model, x, n, d, batchSize, (xb) => {
    forwardTaps(model, xb, (key, t) => {
      const [lo, hi] = tf.tidy(() => Array.from(tf.stack([tf.min(t), tf.max(t)]).dataSync()));
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
        const what = key === 'input' ? 'the input' : `the output of child ${key} (${model.layers[Number(key)].toString()})`;
        throw new NonFiniteError(`${fn}: ${what} holds non-finite values (range [${lo}, ${hi}])`, key === 'input' ? 'x' : 'model', 0);
      }
      const r = ranges.get(key);
      if (r === undefined) ranges.set(key, { min: lo, max: hi });
      else {
        r.min = Math.min(r.min, lo);
        r.max = Math.max(r.max, hi);
      }
    });
  });
  if (method === 'minmax' || p === 100) return ranges;

  // Pass 2: a histogram of every tap over its [min, max]; percentiles read off it.
  const hist = new Map<string, Float64Array>();
  const counts = new Map<string, number>();
  for (const key of ranges.keys()) {
    hist.set(key, new Float64Array(bins));
    counts.set(key, 0);
  }
  eachBatch(model, x, n, d, batchSize, (xb) => {
    forwardTaps(model, xb, (key, t) => {
      const r = ranges.get(key) as { min: number; max: number };
      const h = hist.get(key) as Float64Array;
      const v = t.dataSync() as Float32Array;
      const width = r.max - r.min;
      if (width > 0) {
        const k = bins / width;
        for (let i = 0; i < v.length; i++) {
          const b = Math.floor((v[i] - r.min) * k);
          h[b >= bins ? bins - 1 : b < 0 ? 0 : b]++;
        }
      } else h[0] += v.length;
      counts.set(key, (counts.get(key) as number) + v.length);
    });
  });
  const out: ActivationRanges = new Map();
  for (const [key, r] of ranges) {
    const h = hist.get(key) as Float64Array;
    const total = counts.get(key) as number;
    out.set(key, {
      min: histPercentile(h, total, r.min, r.max, 1 - p / 100),
      max: histPercentile(h, total, r.min, r.max, p / 100),
    });
  }
  return out;
}

/**
 * The q-quantile (numpy's linear definition: the value at rank q·(N−1) of the sorted data)
 * read from a histogram over [lo, hi], interpolating uniformly inside the bin: exact to one
 * bin width.
 */
export function histPercentile(h: Float64Array, total: number, lo: number, hi: number, q: number): number {
  if (hi === lo || total === 0) return lo;
  const rank = q * (total - 1);
  const width = (hi - lo) / h.length;
  let before = 0;
  for (let b = 0; b < h.length; b++) {
    const c = h[b];
    if (c > 0 && before + c > rank) {
      const v = lo + (b + (rank - before + 0.5) / c) * width;
      return Math.min(hi, Math.max(lo, v));
    }
    before += c;
  }
  return hi;
}

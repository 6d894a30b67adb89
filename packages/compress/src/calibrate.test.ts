import { tf, ready, Flatten, Linear, ReLU, Sequential, Rng, NonFiniteError, ValueError } from '@x/tensor';
import { calibrate, histPercentile } from './calibrate.js';

beforeAll(async () => {
  await ready();
});

/** numpy.percentile (linear interpolation) of a sorted array at q in [0, 1]. */
function exactQuantile(sorted: Float64Array, q: number): number {
  const r = q * (sorted.length - 1);
  const lo = Math.floor(r);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (r - lo) * (sorted[hi] - sorted[lo]);
}

function linear(w: number[], b: number[], inF: number, outF: number): Linear {
  const l = new Linear(inF, outF);
  l.loadStateDict({ weight: { shape: [inF, outF], dtype: 'float32', data: Float32Array.from(w) }, bias: { shape: [outF], dtype: 'float32', data: Float32Array.from(b) } });
  return l;
}

describe('calibrate (min-max)', () => {
  it('records the input and every child output, keyed input and String(i), with hand-computed ranges', () => {
    // y = x·W + b with W = [[1, -1], [2, 0.5]], b = [0, 1]
    const model = new Sequential(linear([1, -1, 2, 0.5], [0, 1], 2, 2), new ReLU());
    const x = Float32Array.of(1, 2, -3, 0.5, 0, -1);
    // rows: (1,2) → (5, 1+... ) computed below
    const rows = [
      [1, 2],
      [-3, 0.5],
      [0, -1],
    ];
    const y = rows.map(([a, b]) => [a * 1 + b * 2, a * -1 + b * 0.5 + 1]);
    const flat = y.flat();
    const ranges = calibrate(model, x, 3, { batchSize: 2 });
    expect([...ranges.keys()]).toEqual(['input', '0', '1']);
    expect(ranges.get('input')).toEqual({ min: -3, max: 2 });
    expect(ranges.get('0')).toEqual({ min: Math.min(...flat), max: Math.max(...flat) });
    expect(ranges.get('1')).toEqual({ min: 0, max: Math.max(...flat) });
    model.dispose();
  });

  it('runs in evaluation mode and restores the mode', () => {
    const model = new Sequential(new Linear(3, 2, { seed: 1 }));
    model.train(true);
    calibrate(model, new Float32Array(6), 2);
    expect(model.training).toBe(true);
    model.dispose();
  });
});

describe('calibrate (percentile)', () => {
  it('matches numpy-style percentiles of all values to within one histogram bin', () => {
    const n = 400;
    const d = 25;
    const rng = new Rng(21);
    const x = rng.normalArray(n * d, 0, 1);
    x[17] = 40; // outliers that min-max would keep
    x[3000] = -25;
    const model = new Sequential(new Flatten());
    const bins = 2048;
    const p = 99.5;
    const mm = calibrate(model, x, n).get('input') as { min: number; max: number };
    const pr = calibrate(model, x, n, { method: 'percentile', percentile: p, bins, batchSize: 64 }).get('input') as { min: number; max: number };
    const sorted = Float64Array.from(x).sort();
    const width = (mm.max - mm.min) / bins;
    expect(Math.abs(pr.max - exactQuantile(sorted, p / 100))).toBeLessThanOrEqual(width);
    expect(Math.abs(pr.min - exactQuantile(sorted, 1 - p / 100))).toBeLessThanOrEqual(width);
    expect(mm).toEqual({ min: -25, max: 40 });
    expect(pr.max).toBeLessThan(3.5);
    expect(pr.min).toBeGreaterThan(-3.5);
    model.dispose();
  });

  it('histPercentile interpolates inside a bin and handles a degenerate range', () => {
    // 10 values uniformly spread over 10 bins of [0, 10): the median (rank 4.5) sits in bin 4.
    const h = new Float64Array(10).fill(1);
    expect(histPercentile(h, 10, 0, 10, 0.5)).toBeCloseTo(5, 12);
    expect(histPercentile(new Float64Array(4), 0, 2, 2, 0.9)).toBe(2);
  });
});

describe('calibrate: bad input', () => {
  const model = new Sequential(new Linear(2, 1, { seed: 1 }));
  afterAll(() => model.dispose());

  it('names bad options', () => {
    expect(() => calibrate(model, new Float32Array(4), 2, { method: 'entropy' as never })).toThrow(/option 'method' must be 'minmax' or 'percentile', got 'entropy'/);
    expect(() => calibrate(model, new Float32Array(4), 2, { method: 'percentile', percentile: 40 })).toThrow(ValueError);
    expect(() => calibrate(model, new Float32Array(5), 2)).toThrow(/must hold 2 rows/);
    expect(() => calibrate(new Linear(2, 1) as never, new Float32Array(4), 2)).toThrow(TypeError);
  });

  it('throws NonFiniteError when the input holds NaN', () => {
    expect(() => calibrate(model, Float32Array.of(1, NaN, 0, 0), 2)).toThrow(NonFiniteError);
    expect(() => calibrate(model, Float32Array.of(1, NaN, 0, 0), 2)).toThrow(/the input holds non-finite values/);
  });

  it('frees every intermediate tensor', () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) calibrate(model, new Rng(i).normalArray(40), 20, { method: 'percentile', batchSize: 7 });
    expect(tf.memory().numTensors).toBe(before);
  });
});

import { tf, ready } from '@x/tensor';
import { fakeQuantize, fakeQuantizeSte, fakeQuantizeWeight } from './quant-fake.js';
import { computeQuantParams, dequantize, quantize, quantParamsFromRange, type QuantParams } from './quant.js';

beforeAll(async () => {
  await ready();
});

describe('fakeQuantize', () => {
  it('equals dequantize(quantize(x)) bit for bit (per-tensor uint8, per-channel int8)', () => {
    const x = Float32Array.from({ length: 60 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    const shape = [12, 5];
    for (const params of [computeQuantParams(x, shape, { dtype: 'uint8' }), computeQuantParams(x, shape, { axis: 1 }), computeQuantParams(x, shape, { axis: 0 })]) {
      const expected = dequantize({ shape, codes: quantize(x, shape, params), params });
      const t = tf.tensor2d(x, [12, 5]);
      const y = fakeQuantize(t, params);
      expect(Array.from(y.dataSync())).toEqual(Array.from(expected));
      t.dispose();
      y.dispose();
    }
  });

  it('saturates outside the range', () => {
    const p = quantParamsFromRange({ min: 0, max: 2.55 }); // scale 0.01, zp 0
    const y = fakeQuantize(tf.tensor1d([-1, 0.004, 0.006, 3]), p);
    expect(Array.from(y.dataSync())).toEqual([0, 0, Math.fround(0.01), Math.fround(255 * Math.fround(0.01))]);
    y.dispose();
  });
});

describe('straight-through estimator', () => {
  it('passes the gradient where the code is inside [qmin, qmax] and gives 0 where it saturates (analytic)', () => {
    // uint8, scale 0.01, zero point 100: codes inside for x in [-1.0, 1.55] (x/s+zp in [0, 255]).
    const p: QuantParams = { dtype: 'uint8', scheme: 'asymmetric', axis: null, scale: Float32Array.of(0.01), zeroPoint: Int32Array.of(100) };
    const xs = [-2, -1.004, -0.996, 0, 0.5, 1.544, 1.56, 5];
    const expected = [0, 1, 1, 1, 1, 1, 0, 0]; // −1.004 rounds to code 0 (inside); 1.56 → 256 (outside)
    const weights = tf.tensor1d([3, -2, 1, 4, 0.5, 2, 7, -1]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(fakeQuantizeSte(x, p), weights)))(tf.tensor1d(xs));
    // d/dx Σ w·fq(x) = w · 1[inside]
    // (+ 0 folds −0 into 0: toEqual tells them apart.)
    expect(Array.from(g.dataSync(), (v) => v + 0)).toEqual(expected.map((m, i) => m * [3, -2, 1, 4, 0.5, 2, 7, -1][i] + 0));
    g.dispose();
    weights.dispose();
  });

  it('has the same forward value as fakeQuantize', () => {
    const p = quantParamsFromRange({ min: -1, max: 3 });
    const x = tf.linspace(-2, 4, 50);
    const a = fakeQuantize(x, p);
    const b = fakeQuantizeSte(x, p);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
  });

  it('fakeQuantizeWeight uses the per-channel scales of computeQuantParams and an identity gradient', () => {
    const w = Float32Array.from({ length: 24 }, (_, i) => Math.cos(i) * (i % 4 === 2 ? 0 : 1 + i / 10)); // channel 2 all zero
    const shape = [6, 4];
    const params = computeQuantParams(w, shape, { axis: 1 });
    const expected = dequantize({ shape, codes: quantize(w, shape, params), params });
    const t = tf.tensor2d(w, [6, 4]);
    const y = fakeQuantizeWeight(t, 1);
    expect(Array.from(y.dataSync(), (v) => v + 0)).toEqual(Array.from(expected));
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(fakeQuantizeWeight(v, 1), 2)))(t);
    expect(Array.from(g.dataSync())).toEqual(new Array(24).fill(2));
    expect(() => fakeQuantizeWeight(t, 2)).toThrow(/option 'axis' must be in \[0, 1\] for a rank-2 weight, got 2/);
    tf.dispose([t, y, g]);
  });

  it('frees its intermediates, forward and backward', () => {
    const p = quantParamsFromRange({ min: -1, max: 1 });
    const x = tf.tensor1d([0.1, -0.5, 2]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      tf.dispose(tf.grad((v: tf.Tensor) => tf.sum(fakeQuantizeSte(v, p)))(x));
      tf.dispose(tf.grad((v: tf.Tensor) => tf.sum(fakeQuantizeWeight(v, 0)))(x));
      tf.dispose(fakeQuantize(x, p));
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

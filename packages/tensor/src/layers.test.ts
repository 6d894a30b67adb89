import {
  tf,
  ready,
  Linear,
  Conv2d,
  MaxPool2d,
  AvgPool2d,
  BatchNorm,
  Flatten,
  Reshape,
  Dropout,
  ReLU,
  Tanh,
  Sigmoid,
  Softmax,
  Sequential,
  mlp,
  convNet,
  Rng,
} from './index.js';
import type { Init, Padding } from './index.js';
import { expectClose } from '@x/test-utils';

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

function normalArray(n: number, seed: number): number[] {
  return Array.from(new Rng(seed).normalArray(n));
}

/** Direct float64 NHWC/HWIO convolution with tfjs's padding rule ('same': total = max((⌈H/s⌉−1)·s + k − H, 0), top = ⌊total/2⌋). */
function convRef(x: number[], [n, h, w, ci]: number[], wt: number[], k: number, co: number, bias: number[], stride: number, padding: Padding) {
  let oh: number, ow: number, top: number, left: number;
  if (padding === 'same') {
    oh = Math.ceil(h / stride);
    ow = Math.ceil(w / stride);
    top = Math.floor(Math.max((oh - 1) * stride + k - h, 0) / 2);
    left = Math.floor(Math.max((ow - 1) * stride + k - w, 0) / 2);
  } else {
    const p = padding === 'valid' ? 0 : padding;
    oh = Math.floor((h + 2 * p - k) / stride) + 1;
    ow = Math.floor((w + 2 * p - k) / stride) + 1;
    top = left = p;
  }
  const out = new Float64Array(n * oh * ow * co);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let o = 0; o < co; o++) {
          let s = bias[o];
          for (let i = 0; i < k; i++)
            for (let j = 0; j < k; j++) {
              const yy = y * stride + i - top;
              const xi = xx * stride + j - left;
              if (yy < 0 || yy >= h || xi < 0 || xi >= w) continue;
              for (let c = 0; c < ci; c++) s += x[((b * h + yy) * w + xi) * ci + c] * wt[((i * k + j) * ci + c) * co + o];
            }
          out[((b * oh + y) * ow + xx) * co + o] = s;
        }
  return { out: Array.from(out), shape: [n, oh, ow, co] };
}

/** Direct pooling over valid windows. */
function poolRef(x: number[], [n, h, w, c]: number[], k: number, stride: number, kind: 'max' | 'avg') {
  const oh = Math.floor((h - k) / stride) + 1;
  const ow = Math.floor((w - k) / stride) + 1;
  const out: number[] = [];
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let ch = 0; ch < c; ch++) {
          let acc = kind === 'max' ? -Infinity : 0;
          for (let i = 0; i < k; i++)
            for (let j = 0; j < k; j++) {
              const v = x[((b * h + y * stride + i) * w + xx * stride + j) * c + ch];
              acc = kind === 'max' ? Math.max(acc, v) : acc + v / (k * k);
            }
          out.push(acc);
        }
  return { out, shape: [n, oh, ow, c] };
}

describe('initialisation variance (seeded, so these numbers are fixed; tolerances are ~7 standard errors)', () => {
  // 1000x1000 = 1e6 draws. Standard error of the sample variance: uniform 0.89·σ²/√n ≈ 9e-4·σ²,
  // normal √2·σ²/√n ≈ 1.4e-3·σ². A 1 % relative tolerance is 7–11 standard errors.
  const cases: Array<[Init, (fanIn: number, fanOut: number) => number]> = [
    ['he-uniform', (fi) => 2 / fi],
    ['he-normal', (fi) => 2 / fi],
    ['glorot-uniform', (fi, fo) => 2 / (fi + fo)],
    ['glorot-normal', (fi, fo) => 2 / (fi + fo)],
    ['torch', (fi) => 1 / (3 * fi)],
  ];
  it.each(cases)('%s weights have mean 0 and the analytic variance', (init, variance) => {
    const [fi, fo] = [1000, 600];
    const layer = new Linear(fi, fo, { init, seed: 5 });
    const w = layer.namedParameters().get('weight')!.dataSync();
    let mean = 0;
    for (const v of w) mean += v;
    mean /= w.length;
    let v2 = 0;
    for (const v of w) v2 += (v - mean) ** 2;
    v2 /= w.length - 1;
    const sigma2 = variance(fi, fo);
    expect(Math.abs(v2 / sigma2 - 1)).toBeLessThan(0.01);
    // Standard error of the mean: σ/√(6e5) ≈ 1.3e-3·σ; allow 6e-3·σ.
    expect(Math.abs(mean)).toBeLessThan(6e-3 * Math.sqrt(sigma2));
    if (init.endsWith('uniform') || init === 'torch') {
      const lim = Math.sqrt(3 * sigma2);
      let maxAbs = 0;
      for (const v of w) maxAbs = Math.max(maxAbs, Math.abs(v));
      expect(maxAbs).toBeLessThanOrEqual(lim);
    }
    const b = values(layer.namedParameters().get('bias')!);
    if (init === 'torch') expect(Math.max(...b.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(fi));
    else expect(b.every((v) => v === 0)).toBe(true);
    layer.dispose();
  });

  it('conv fan-in counts the kernel window: He variance 2/(k·k·in)', () => {
    const conv = new Conv2d(32, 64, 5, { init: 'he-normal', seed: 1 });
    const w = conv.namedParameters().get('weight')!.dataSync();
    let s = 0;
    for (const v of w) s += v * v;
    // 51200 draws: standard error √2/√51200 ≈ 0.6 %; allow 3 %.
    expect(Math.abs(s / w.length / (2 / (5 * 5 * 32)) - 1)).toBeLessThan(0.03);
    conv.dispose();
  });
});

describe.each(['wasm', 'cpu'] as const)('layers on %s', (backend) => {
  beforeAll(async () => {
    await ready(backend);
  });

  it('Linear computes x·W + b (W stored [in, out])', () => {
    const layer = new Linear(4, 3, { seed: 2, init: 'torch' });
    const x = normalArray(8, 1);
    const w = values(layer.namedParameters().get('weight')!);
    const b = values(layer.namedParameters().get('bias')!);
    const xs = x;
    const out = values(layer.forward(tf.tensor2d(xs, [2, 4])));
    const expected: number[] = [];
    for (let r = 0; r < 2; r++) for (let j = 0; j < 3; j++) expected.push(b[j] + [0, 1, 2, 3].reduce((s, i) => s + xs[r * 4 + i] * w[i * 3 + j], 0));
    expectClose(out, expected, { atol: 1e-6, rtol: 1e-6 });
    const noBias = new Linear(4, 3, { seed: 2, bias: false });
    expect([...noBias.namedParameters().keys()]).toEqual(['weight']);
    layer.dispose();
    noBias.dispose();
  });

  const convCases: Array<[number, Padding, number, number]> = [
    [1, 'same', 3, 7],
    [1, 'valid', 3, 7],
    [2, 'same', 3, 7],
    [2, 'valid', 3, 8],
    [1, 1, 3, 6],
    [2, 2, 5, 9],
  ];
  it.each(convCases)('Conv2d stride %s padding %s kernel %s on %sx%s equals the direct float64 loop', (stride, padding, k, side) => {
    const [n, ci, co] = [2, 3, 4];
    const conv = new Conv2d(ci, co, k, { stride, padding, init: 'torch', seed: 3 });
    const x = normalArray(n * side * side * ci, 4);
    const w = values(conv.namedParameters().get('weight')!);
    const b = values(conv.namedParameters().get('bias')!);
    const y = conv.forward(tf.tensor4d(x, [n, side, side, ci]));
    const ref = convRef(x, [n, side, side, ci], w, k, co, b, stride, padding);
    expect(y.shape).toEqual(ref.shape);
    // float32 sums of ≤ 75 products of O(1) terms: error ≲ 1e-5.
    expectClose(values(y), ref.out, { atol: 1e-5, rtol: 1e-5 });
    conv.dispose();
  });

  it('MaxPool2d and AvgPool2d equal the direct loops (2x2 stride 2, 3x3 stride 1)', () => {
    const shape = [2, 6, 5, 3];
    const x = normalArray(2 * 6 * 5 * 3, 6);
    const xt = tf.tensor4d(x, shape as [number, number, number, number]);
    for (const [k, s] of [[2, 2], [3, 1]]) {
      const mp = new MaxPool2d(k, { stride: s }).forward(xt);
      const ap = new AvgPool2d(k, { stride: s }).forward(xt);
      const rm = poolRef(x, shape, k, s, 'max');
      const ra = poolRef(x, shape, k, s, 'avg');
      expect(mp.shape).toEqual(rm.shape);
      expect(values(mp)).toEqual(rm.out.map(Math.fround));
      expect(ap.shape).toEqual(ra.shape);
      expectClose(values(ap), ra.out, 1e-6);
    }
    // Default stride is the window; 'same' keeps ⌈H/s⌉.
    expect(new MaxPool2d(2).forward(xt).shape).toEqual([2, 3, 2, 3]);
    expect(new MaxPool2d(2, { padding: 'same' }).forward(xt).shape).toEqual([2, 3, 3, 3]);
  });

  it('BatchNorm in training normalises with batch statistics and updates running stats as torch (momentum 0.1, unbiased var)', () => {
    const [n, c] = [6, 3];
    const bn = new BatchNorm(c);
    bn.namedParameters().get('weight')!.assign(tf.tensor1d([1.5, -0.5, 2]));
    bn.namedParameters().get('bias')!.assign(tf.tensor1d([0.1, 0.2, -0.3]));
    const gamma = [1.5, -0.5, 2];
    const beta = [0.1, 0.2, -0.3];
    const batches = [normalArray(n * c, 10).map((v) => 3 + 2 * v), normalArray(n * c, 11).map((v) => -1 + 0.5 * v)];
    let rm = [0, 0, 0];
    let rv = [1, 1, 1];
    for (const x of batches) {
      const y = values(bn.forward(tf.tensor2d(x, [n, c])));
      for (let j = 0; j < c; j++) {
        const col = Array.from({ length: n }, (_, i) => x[i * c + j]);
        const mean = col.reduce((a, b) => a + b, 0) / n;
        const ss = col.reduce((a, b) => a + (b - mean) ** 2, 0);
        const biased = ss / n;
        const expected = col.map((v) => ((v - mean) / Math.sqrt(biased + 1e-5)) * gamma[j] + beta[j]);
        expectClose(col.map((_, i) => y[i * c + j]), expected, { atol: 1e-5, rtol: 1e-5 });
        rm[j] = 0.9 * rm[j] + 0.1 * mean;
        rv[j] = 0.9 * rv[j] + 0.1 * (ss / (n - 1));
      }
      rm = [...rm];
      rv = [...rv];
    }
    const bufs = bn.namedBuffers();
    expectClose(values(bufs.get('running_mean')!), rm, { atol: 1e-6, rtol: 1e-6 });
    expectClose(values(bufs.get('running_var')!), rv, { atol: 1e-6, rtol: 1e-6 });
    // Evaluation mode uses the running statistics and changes nothing.
    bn.eval();
    const x = normalArray(2 * c, 12);
    const y = values(bn.forward(tf.tensor2d(x, [2, c])));
    const expected = x.map((v, i) => ((v - rm[i % c]) / Math.sqrt(rv[i % c] + 1e-5)) * gamma[i % c] + beta[i % c]);
    expectClose(y, expected, { atol: 1e-5, rtol: 1e-5 });
    expectClose(values(bn.namedBuffers().get('running_mean')!), rm, { atol: 1e-6, rtol: 1e-6 });
    bn.dispose();
  });

  it('BatchNorm over NHWC images reduces over N, H, W per channel', () => {
    const bn = new BatchNorm(2, { momentum: 0.5 });
    const shape: [number, number, number, number] = [2, 3, 3, 2];
    const x = normalArray(36, 13);
    const y = values(bn.forward(tf.tensor4d(x, shape)));
    for (let ch = 0; ch < 2; ch++) {
      const col = x.filter((_, i) => i % 2 === ch);
      const mean = col.reduce((a, b) => a + b, 0) / col.length;
      const ss = col.reduce((a, b) => a + (b - mean) ** 2, 0);
      const ys = y.filter((_, i) => i % 2 === ch);
      expectClose(ys, col.map((v) => (v - mean) / Math.sqrt(ss / col.length + 1e-5)), { atol: 1e-5, rtol: 1e-5 });
      expectClose(values(bn.namedBuffers().get('running_var')!)[ch], 0.5 + 0.5 * (ss / (col.length - 1)), 1e-5);
      expectClose(values(bn.namedBuffers().get('running_mean')!)[ch], 0.5 * mean, 1e-6);
    }
    bn.dispose();
  });

  it('Dropout: same seed same mask, kept entries scaled by 1/(1−p), about 1−p kept, identity in eval', () => {
    const x = tf.ones([200, 50]);
    const a = values(new Dropout(0.3, { seed: 4 }).forward(x));
    const b = values(new Dropout(0.3, { seed: 4 }).forward(x));
    const c = values(new Dropout(0.3, { seed: 5 }).forward(x));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const scale = Math.fround(1 / 0.7);
    expect(a.every((v) => v === 0 || Math.abs(v - scale) < 1e-6)).toBe(true);
    const kept = a.filter((v) => v !== 0).length / a.length;
    // 10000 Bernoulli(0.7) draws: standard error 0.0046; allow 0.02.
    expect(Math.abs(kept - 0.7)).toBeLessThan(0.02);
    // Two calls of one layer draw different masks (the generator advances).
    const d = new Dropout(0.3, { seed: 4 });
    expect(values(d.forward(x))).not.toEqual(values(d.forward(x)));
    d.eval();
    const xv = normalArray(20, 3);
    expect(values(d.forward(tf.tensor1d(xv)))).toEqual(xv.map(Math.fround));
  });

  it('activations, Flatten and Reshape compute their formulas', () => {
    const xv = [-2, -0.5, 0, 0.5, 3, 1];
    const x = tf.tensor2d(xv, [2, 3]);
    expect(values(new ReLU().forward(x))).toEqual(xv.map((v) => Math.max(0, v)));
    expectClose(values(new Tanh().forward(x)), xv.map(Math.tanh), 1e-6);
    expectClose(values(new Sigmoid().forward(x)), xv.map((v) => 1 / (1 + Math.exp(-v))), 1e-6);
    const sm = values(new Softmax().forward(x));
    for (const r of [0, 1]) {
      const row = xv.slice(r * 3, r * 3 + 3);
      const z = row.reduce((s, v) => s + Math.exp(v), 0);
      expectClose(sm.slice(r * 3, r * 3 + 3), row.map((v) => Math.exp(v) / z), 1e-6);
    }
    const img = tf.tensor4d(normalArray(24, 1), [2, 2, 3, 2]);
    const flat = new Flatten().forward(img);
    expect(flat.shape).toEqual([2, 12]);
    expect(values(flat)).toEqual(values(img));
    const back = new Reshape([2, 3, 2]).forward(flat);
    expect(back.shape).toEqual([2, 2, 3, 2]);
    expect(values(back)).toEqual(values(img));
  });

  it('Sequential composes its layers in order', () => {
    const l1 = new Linear(3, 4, { seed: 1 });
    const l2 = new Linear(4, 2, { seed: 2 });
    const seq = new Sequential(l1, new Tanh(), l2);
    const x = tf.tensor2d(normalArray(6, 2), [2, 3]);
    const manual = values(l2.forward(tf.tanh(l1.forward(x))));
    expect(values(seq.forward(x))).toEqual(manual);
    expect(seq.layers.length).toBe(3);
    seq.dispose();
  });

  it('mlp builds Linear/activation stacks; options add batch norm and dropout', () => {
    const m = mlp([10, 8, 6, 4], { seed: 0, activation: 'tanh', batchNorm: true, dropout: 0.2 });
    expect(m.toString()).toBe(
      'Sequential(Linear(10→8), BatchNorm(8), Tanh(), Dropout(0.2), Linear(8→6), BatchNorm(6), Tanh(), Dropout(0.2), Linear(6→4))',
    );
    expect(m.forward(tf.zeros([3, 10])).shape).toEqual([3, 4]);
    m.dispose();
  });

  it('convNet: four 3x3 conv/BN/ReLU/pool blocks take 28x28 to 1x1; flat input is reshaped', () => {
    const net = convNet({ seed: 0 });
    // 28 → 14 → 7 → 3 → 1: an embedding of 32 per image.
    expect(net.forward(tf.zeros([2, 784])).shape).toEqual([2, 32]);
    expect(net.forward(tf.zeros([2, 28, 28, 1])).shape).toEqual([2, 32]);
    expect(net.namedParameters().get('1.weight')?.shape).toEqual([3, 3, 1, 32]);
    // With batch norm, convs have no bias (BN's β replaces it).
    expect(net.namedParameters().has('1.bias')).toBe(false);
    net.dispose();
    const head = convNet({ channels: [8, 16], outFeatures: 10, inputShape: [12, 12, 3], batchNorm: false, seed: 1 });
    // Reshape, (conv, relu, pool) x2, Flatten, Linear: 12 → 6 → 3, so layer 8 is Linear(3·3·16 → 10).
    expect(head.forward(tf.zeros([5, 12 * 12 * 3])).shape).toEqual([5, 10]);
    expect(head.namedParameters().get('8.weight')?.shape).toEqual([144, 10]);
    expect(head.numParameters()).toBe(3 * 3 * 3 * 8 + 8 + 3 * 3 * 8 * 16 + 16 + 144 * 10 + 10);
    head.dispose();
  });

  it('conv weights train on this backend (gradient of Conv2d weight is finite and non-zero)', () => {
    const net = convNet({ channels: [4], outFeatures: 2, inputShape: [6, 6, 1], seed: 2 });
    const x = tf.tensor2d(normalArray(4 * 36, 5), [4, 36]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(net.forward(x))) as tf.Scalar, net.parameters());
    const g = values(grads[net.namedParameters().get('1.weight')!.name]);
    expect(g.every(Number.isFinite)).toBe(true);
    expect(g.some((v) => v !== 0)).toBe(true);
    net.dispose();
  });
});

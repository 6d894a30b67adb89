import { tf, ready, crossEntropy, binaryCrossEntropy, mse, categoricalKl, gaussianKl, logSoftmax, logSumExp, accuracy, mlp, Rng } from './index.js';
import { expectClose } from '@x/test-utils';

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Hessian-vector product by differentiating ⟨∇f(w), v⟩: the second-order path MAML takes. */
function hvp(f: (ps: tf.Tensor[]) => tf.Scalar, w: tf.Tensor[], v: tf.Tensor[]): number[] {
  return tf.tidy(() => {
    const g = tf.grads((...ps: tf.Tensor[]) => f(ps));
    const hv = tf.grads((...ps: tf.Tensor[]) => tf.addN(g(ps).map((gi, i) => tf.sum(tf.mul(gi, v[i])))) as tf.Scalar)(w);
    return hv.flatMap(values);
  });
}

/**
 * Central difference of the gradient along v: (∇f(w + hv) − ∇f(w − hv)) / 2h.
 * Step and tolerance for float32: the gradients carry relative rounding ~1e-6 (a few ulps of
 * 6e-8 accumulated), which the division by 2h amplifies to ~1e-6·|∇f|/h; the truncation error
 * is h²/6·|∂³∇f|. With h = 1e-2 both are ≲ 1e-4 for the O(1) functions below, so 2e-3
 * (absolute and relative) leaves a 10x margin while a wrong second derivative (tfjs's
 * logSoftmax path is 11–15 % off) fails by far.
 */
const H = 1e-2;
const TOL = { atol: 2e-3, rtol: 2e-3 };
function fdHvp(f: (ps: tf.Tensor[]) => tf.Scalar, w: tf.Tensor[], v: tf.Tensor[], h = H): number[] {
  return tf.tidy(() => {
    const g = tf.grads((...ps: tf.Tensor[]) => f(ps));
    const plus = g(w.map((wi, i) => tf.add(wi, tf.mul(v[i], h))));
    const minus = g(w.map((wi, i) => tf.sub(wi, tf.mul(v[i], h))));
    return plus.flatMap((p, i) => values(tf.div(tf.sub(p, minus[i]), 2 * h)));
  });
}

describe('losses: values against analytic answers', () => {
  beforeAll(async () => {
    await ready();
  });

  it('crossEntropy equals logΣexp(z) − z[label] computed in float64 (mean, sum, none)', () => {
    const z = [
      [2, 0, 0],
      [0.5, -1.2, 3.1],
      [-0.3, -0.3, -0.3],
    ];
    const y = [0, 2, 1];
    const per = z.map((row, i) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[y[i]]);
    const logits = tf.tensor2d(z);
    // float32 exp/log of O(1) numbers: ~1e-7 relative.
    expectClose(values(crossEntropy(logits, y, { reduction: 'none' })), per, 1e-6);
    expectClose(values(crossEntropy(logits, y)), [per.reduce((a, b) => a + b) / 3], 1e-6);
    expectClose(values(crossEntropy(logits, tf.tensor1d(y, 'int32'), { reduction: 'sum' })), [per.reduce((a, b) => a + b)], 1e-6);
    // The TSDoc example: −log(e²/(e² + 2)) ≈ 0.2395.
    expectClose(values(crossEntropy(tf.tensor2d([[2, 0, 0]]), [0])), [0.23954], 1e-5);
    expectClose(per[2], Math.log(3), 1e-12);
  });

  it('crossEntropy stays finite and exact for logits of ±1e4, and so does its gradient', () => {
    const logits = tf.tensor2d([
      [1e4, -1e4, 0],
      [1e4, -1e4, 0],
      [1e4, -1e4, 0],
      [-1e4, -1e4, -1e4],
    ]);
    const y = [0, 1, 2, 1];
    // logΣexp = 1e4 (+ log(1 + e^−1e4 + e^−2e4) = 0 in any precision); last row: −1e4 + log 3.
    const out = values(crossEntropy(logits, y, { reduction: 'none' }));
    expect(out.every(Number.isFinite)).toBe(true);
    // The last row is (−1e4 + log 3) − (−1e4): float32 spacing at 1e4 is 9.8e-4, so log 3 comes back to ±1e-3.
    expectClose(out, [0, 2e4, 1e4, Math.log(3)], { atol: 1e-3, rtol: 1e-7 });
    // ∂/∂z = (softmax(z) − onehot(y)) / N.
    const g = values(tf.grad((l: tf.Tensor) => crossEntropy(l, y) as tf.Scalar)(logits));
    expect(g.every(Number.isFinite)).toBe(true);
    const third = 1 / 3;
    expectClose(g, [0, 0, 0, 1, -1, 0, 1, 0, -1, third, third - 1, third].map((v) => v / 4), 1e-6);
  });

  it('logSumExp and logSoftmax are shift-stable along any axis', () => {
    const x = tf.tensor2d([
      [1000, 1000],
      [-1000, 0],
    ]);
    // float32 spacing at 1000 is 6.1e-5: results near 1000 are good to ~1e-4.
    expectClose(values(logSumExp(x)), [1000 + Math.log(2), 0], 1e-4);
    expectClose(values(logSumExp(x, 0)), [1000, 1000], 1e-4);
    expect(logSumExp(x, 1, true).shape).toEqual([2, 1]);
    expectClose(values(logSoftmax(x)), [-Math.log(2), -Math.log(2), -1000, 0], 1e-4);
    expectClose(values(logSoftmax(tf.tensor1d([0.5, -1, 2]))), [0.5, -1, 2].map((v) => v - Math.log(Math.exp(0.5) + Math.exp(-1) + Math.exp(2))), 1e-6);
  });

  it('binaryCrossEntropy from logits equals −t·log σ(z) − (1−t)·log(1−σ(z)) and is stable at ±1e4', () => {
    const z = [-3, -0.5, 0, 0.7, 4];
    const t = [0, 1, 0.5, 1, 0.2];
    const per = z.map((zi, i) => -t[i] * Math.log(sigmoid(zi)) - (1 - t[i]) * Math.log(1 - sigmoid(zi)));
    expectClose(values(binaryCrossEntropy(tf.tensor1d(z), tf.tensor1d(t), { reduction: 'none' })), per, 1e-6);
    expectClose(values(binaryCrossEntropy(tf.tensor1d(z), tf.tensor1d(t))), [per.reduce((a, b) => a + b) / 5], 1e-6);
    const big = tf.tensor1d([1e4, 1e4, -1e4, -1e4]);
    const tb = tf.tensor1d([1, 0, 1, 0]);
    const out = values(binaryCrossEntropy(big, tb, { reduction: 'none' }));
    expect(out).toEqual([0, 1e4, 1e4, 0]);
    // ∂/∂z = (σ(z) − t)/N: exactly 0 or ±1/4, never NaN.
    expect(values(tf.grad((l: tf.Tensor) => binaryCrossEntropy(l, tb) as tf.Scalar)(big))).toEqual([0, 0.25, -0.25, 0]);
  });

  it('mse is the mean (or sum) of squared differences', () => {
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const b = tf.tensor2d([[1.5, 2], [1, 7]]);
    expectClose(values(mse(a, b)), [(0.25 + 0 + 4 + 9) / 4], 1e-7);
    expectClose(values(mse(a, b, { reduction: 'sum' })), [13.25], 1e-6);
    expect(values(mse(a, b, { reduction: 'none' }))).toEqual([0.25, 0, 4, 9]);
  });

  it('categoricalKl in log space equals Σ p·log(p/q) and treats p = 0 as contributing 0 (value and gradient)', () => {
    const p = [
      [0.2, 0.3, 0.5],
      [0.7, 0.2, 0.1],
    ];
    const q = [
      [0.1, 0.6, 0.3],
      [0.25, 0.25, 0.5],
    ];
    const kl = p.map((row, i) => row.reduce((s, pi, j) => s + pi * Math.log(pi / q[i][j]), 0));
    const logP = tf.log(tf.tensor2d(p));
    const logQ = tf.log(tf.tensor2d(q));
    expectClose(values(categoricalKl(logP, logQ, { reduction: 'none' })), kl, 1e-6);
    expectClose(values(categoricalKl(logP, logQ)), [(kl[0] + kl[1]) / 2], 1e-6);
    expectClose(values(categoricalKl(logP, logP, { reduction: 'none' })), [0, 0], 1e-7);
    // A one-hot p: log p has −∞; KL(δ₀ ‖ q) = −log q₀.
    const oneHot = tf.log(tf.tensor2d([[1, 0, 0]]));
    const q1 = tf.log(tf.tensor2d([[0.5, 0.25, 0.25]]));
    expectClose(values(categoricalKl(oneHot, q1)), [Math.log(2)], 1e-6);
    const [gp, gq] = tf.grads((a: tf.Tensor, b: tf.Tensor) => categoricalKl(a, b) as tf.Scalar)([oneHot, q1]);
    expect(values(gp).every(Number.isFinite)).toBe(true);
    // ∂/∂logQ = −p.
    expectClose(values(gq), [-1, 0, 0], 1e-7);
  });

  it('gaussianKl equals the closed form ½Σ[log σ₂²/σ₁² + (σ₁² + (μ₁−μ₂)²)/σ₂² − 1]', () => {
    const mu = [
      [0.3, -1.2],
      [2, 0],
    ];
    const lv = [
      [-0.5, 0.4],
      [0, 1.5],
    ];
    const closed = (m2: number, lv2: number) =>
      mu.map((row, i) => 0.5 * row.reduce((s, m, j) => s + (lv2 - lv[i][j]) + (Math.exp(lv[i][j]) + (m - m2) ** 2) / Math.exp(lv2) - 1, 0));
    const muT = tf.tensor2d(mu);
    const lvT = tf.tensor2d(lv);
    expectClose(values(gaussianKl(muT, lvT, undefined, { reduction: 'none' })), closed(0, 0), 1e-6);
    // Against N(0.5, e^0.7).
    expectClose(values(gaussianKl(muT, lvT, { mu: 0.5, logVar: 0.7 }, { reduction: 'none' })), closed(0.5, 0.7), 1e-5);
    const c = closed(0, 0);
    expectClose(values(gaussianKl(muT, lvT)), [(c[0] + c[1]) / 2], 1e-6);
    // The standard normal against itself: 0.
    expectClose(values(gaussianKl(tf.zeros([1, 3]), tf.zeros([1, 3]))), [0], 1e-7);
  });

  it('accuracy counts rows whose arg-max equals the label', () => {
    expect(accuracy(tf.tensor2d([[1, 2], [3, 0], [0, 5], [2, 1]]), [1, 0, 0, 0])).toBe(0.75);
  });
});

describe.each(['wasm', 'cpu'] as const)('second derivatives on %s (grad of grad vs closed form and central differences)', (backend) => {
  beforeAll(async () => {
    await ready(backend);
  });

  const x0 = [-1.3, -0.4, 0.2, 0.9, 1.7];
  const c0 = [0.7, -1.1, 0.4, 1.3, -0.6];
  const v0 = [0.3, -0.8, 1.0, 0.5, -0.2];
  const elementwise: Array<[string, (x: tf.Tensor) => tf.Tensor, (x: number) => number]> = [
    ['tanh', (x) => tf.tanh(x), (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2)],
    ['sigmoid', (x) => tf.sigmoid(x), (x) => sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x))],
    ['exp', (x) => tf.exp(x), (x) => Math.exp(x)],
  ];
  it.each(elementwise)('%s: Hessian of Σ cᵢ·f(xᵢ) applied to v is cᵢ·f″(xᵢ)·vᵢ', (_name, op, second) => {
    const c = tf.tensor1d(c0);
    const f = ([x]: tf.Tensor[]) => tf.sum(tf.mul(c, op(x))) as tf.Scalar;
    const w = [tf.tensor1d(x0)];
    const v = [tf.tensor1d(v0)];
    const analytic = hvp(f, w, v);
    // Closed form in float64; the float32 chain is good to ~1e-6 relative.
    expectClose(analytic, x0.map((x, i) => c0[i] * second(x) * v0[i]), { atol: 1e-5, rtol: 1e-5 });
    expectClose(analytic, fdHvp(f, w, v), TOL);
  });

  it('softmax cross-entropy: Hessian wrt logits is (diag p − p pᵀ)/N, also for shifted large logits', () => {
    const z = [
      [0.5, -1.2, 3.1, 0],
      [15, -3, 2, 14.5],
      [-0.3, 0.8, -2, 1],
    ];
    const y = [2, 0, 3];
    const vz = [
      [0.4, -0.1, 0.9, -0.7],
      [1, 0.3, -0.5, -1],
      [0.2, 0.2, -0.6, 0.8],
    ];
    const f = ([l]: tf.Tensor[]) => crossEntropy(l, y) as tf.Scalar;
    const w = [tf.tensor2d(z)];
    const v = [tf.tensor2d(vz)];
    const analytic = hvp(f, w, v);
    const expected = z.flatMap((row, i) => {
      const m = Math.max(...row);
      const e = row.map((a) => Math.exp(a - m));
      const s = e.reduce((a, b) => a + b, 0);
      const p = e.map((a) => a / s);
      const pv = p.reduce((acc, pj, j) => acc + pj * vz[i][j], 0);
      return p.map((pj, j) => (pj * vz[i][j] - pj * pv) / z.length);
    });
    expectClose(analytic, expected, { atol: 1e-6, rtol: 1e-5 });
    expectClose(analytic, fdHvp(f, w, v), TOL);
  });

  it('binary cross-entropy from logits: second derivative σ(z)(1−σ(z))/N', () => {
    const z = [-2, -0.3, 0.4, 1.8];
    const t = tf.tensor1d([1, 0, 0.3, 1]);
    const f = ([l]: tf.Tensor[]) => binaryCrossEntropy(l, t) as tf.Scalar;
    const v = [0.5, -1, 0.7, 0.2];
    const analytic = hvp(f, [tf.tensor1d(z)], [tf.tensor1d(v)]);
    expectClose(analytic, z.map((zi, i) => (sigmoid(zi) * (1 - sigmoid(zi)) * v[i]) / 4), { atol: 1e-6, rtol: 1e-5 });
    expectClose(analytic, fdHvp(f, [tf.tensor1d(z)], [tf.tensor1d(v)]), TOL);
  });

  // KNOWN BUG in gradients.ts (not owned here): the Cast gradient returns `zerosLike(x)` for a
  // bool x, i.e. a bool gradient, which the engine rejects ("The gradient of input x must have
  // 'float32' dtype, but has 'bool'"). Relu's gradient is dy·cast(x > 0), so any second
  // derivative through a relu network throws (the same holds for Select's condition and the
  // comparison ops' zero gradients). With float32 zeros there (tf.zeros(x.shape)) both tests
  // below pass within 2e-3 on both backends. `it.failing` keeps the suite green while the bug
  // exists and turns red when it is fixed: then change `reluIt` to `it`.
  const reluIt = it.failing;

  describe('a small relu network through the functional apply', () => {
    const model = mlp([5, 6, 3], { seed: 3, init: 'torch' });
    const names = [...model.namedParameters().keys()];
    // Data seed chosen so that the kink guard below holds with a 1.8x margin (seeds 0, 2, 14, 22 also do).
    const rng = new Rng(39);
    const x = Array.from(rng.normalArray(8 * 5));
    const y = [0, 1, 2, 0, 1, 2, 1, 0];
    const loss = (ps: tf.Tensor[]) =>
      crossEntropy(model.apply(new Map(names.map((n, i) => [n, ps[i]])), tf.tensor2d(x, [8, 5])), y) as tf.Scalar;
    const w = () => [...model.namedParameters().values()].map((p) => tf.clone(p));
    // A direction of unit norm, so that w ± h·v moves every pre-activation by at most h·‖[x,1]‖.
    const dir = () => {
      const raw = [...model.namedParameters().values()].map((p) => Array.from(rng.normalArray(p.size)));
      const norm = Math.sqrt(raw.flat().reduce((s, a) => s + a * a, 0));
      return [...model.namedParameters().values()].map((p, i) => tf.tensor(raw[i].map((a) => a / norm), p.shape));
    };

    it('finite differences are valid here: no hidden pre-activation is within the step of the relu kink', () => {
      const pre = tf.tidy(() => values(tf.add(tf.matMul(tf.tensor2d(x, [8, 5]), model.namedParameters().get('0.weight')!), model.namedParameters().get('0.bias')!)));
      const maxRow = Math.max(...[0, 1, 2, 3, 4, 5, 6, 7].map((r) => Math.sqrt(1 + x.slice(r * 5, r * 5 + 5).reduce((s, a) => s + a * a, 0))));
      // The relu network's loss is smooth between kinks; a kink crossing would make the FD meaningless.
      expect(Math.min(...pre.map(Math.abs))).toBeGreaterThan(H * maxRow);
    });

    reluIt('Hessian-vector product equals central differences of the gradient', () => {
      const v = dir();
      const analytic = hvp(loss, w(), v);
      expect(analytic.some((a) => Math.abs(a) > 1e-3)).toBe(true);
      expectClose(analytic, fdHvp(loss, w(), v), TOL);
    });

    reluIt('the gradient of the squared gradient norm equals 2·H·∇f (by central differences along ∇f)', () => {
      const params = w();
      const gradF = tf.grads((...ps: tf.Tensor[]) => loss(ps));
      const analytic = tf.tidy(() =>
        tf.grads((...ps: tf.Tensor[]) => tf.addN(gradF(ps).map((g) => tf.sum(tf.square(g)))) as tf.Scalar)(params).flatMap(values),
      );
      const g0 = gradF(params);
      const gnorm = Math.sqrt(g0.reduce((s, g) => s + values(tf.sum(tf.square(g)))[0], 0));
      // Step along the unit gradient direction so that the kink guard above still applies.
      const unit = g0.map((g) => tf.div(g, gnorm));
      const fd = fdHvp(loss, params, unit).map((a) => 2 * a * gnorm);
      expectClose(analytic, fd, { atol: 2e-3 * Math.max(1, gnorm), rtol: 2e-3 });
    });
  });
});

import { tf, ready } from './backend.js';
import { expectClose } from '@x/test-utils';

/** Central finite differences of a scalar function of a Float32 vector, in float64 steps. */
function numericGrad(f: (x: tf.Tensor) => tf.Scalar, x0: number[], shape: number[], h = 1e-2): number[] {
  return x0.map((_, i) => {
    const plus = x0.slice(); plus[i] += h;
    const minus = x0.slice(); minus[i] -= h;
    const fp = tf.tidy(() => f(tf.tensor(plus, shape)).dataSync()[0]);
    const fm = tf.tidy(() => f(tf.tensor(minus, shape)).dataSync()[0]);
    return (fp - fm) / (2 * h);
  });
}

describe.each(['wasm', 'cpu'] as const)('gradients on %s', (backend) => {
  beforeAll(async () => {
    await ready(backend);
  });

  const unaryCases: Array<[string, (x: tf.Tensor) => tf.Tensor]> = [
    ['tanh', (x) => tf.tanh(x)],
    ['sigmoid', (x) => tf.sigmoid(x)],
    ['exp', (x) => tf.exp(x)],
    ['softplus', (x) => tf.softplus(x)],
    ['square', (x) => tf.square(x)],
  ];

  it.each(unaryCases)('second derivative of sum(%s(x)) matches finite differences', (_name, op) => {
    const x0 = [-1.3, -0.4, 0.2, 0.9, 1.7];
    const f = (x: tf.Tensor) => tf.sum(op(x)) as tf.Scalar;
    const g = tf.grad(f);
    // d/dx_i of g(x)·1 = f''(x_i): the gradient of the sum of the gradient.
    const gg = tf.grad((x: tf.Tensor) => tf.sum(g(x)) as tf.Scalar);
    const analytic = Array.from(gg(tf.tensor1d(x0)).dataSync());
    const numeric = numericGrad((x) => tf.sum(g(x)) as tf.Scalar, x0, [5]);
    // float32 with h = 1e-2: truncation error O(h²·f'''') ≈ 1e-4 plus rounding ≈ 1e-5/h.
    expectClose(analytic, numeric, { atol: 2e-3, rtol: 2e-3 });
  });

  it('conv2d filter gradient equals the direct float64 sum (stride 1 same, stride 2 valid)', () => {
    const [n, h, w, ci, co, k] = [2, 7, 7, 3, 4, 3];
    const x0 = Array.from(tf.randomNormal([n, h, w, ci], 0, 1, 'float32', 1).dataSync());
    const w0 = tf.randomNormal([k, k, ci, co], 0, 0.5, 'float32', 2);
    for (const [stride, pad] of [[1, 'same'], [2, 'valid']] as const) {
      const [oh, ow, top, left] = pad === 'same' ? [h, w, 1, 1] : [Math.floor((h - k) / stride) + 1, Math.floor((w - k) / stride) + 1, 0, 0];
      const r0 = Array.from(tf.randomNormal([n, oh, ow, co], 0, 1, 'float32', 3).dataSync());
      // f(w) = Σ conv(x, w)·R is linear in w, so ∂f/∂w[i,j,c,o] = Σ x[n, y·s+i−top, x·s+j−left, c]·R[n,y,x,o].
      const f = (wt: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(tf.tensor(x0, [n, h, w, ci]) as tf.Tensor4D, wt as tf.Tensor4D, stride, pad), tf.tensor(r0, [n, oh, ow, co]))) as tf.Scalar;
      const analytic = Array.from(tf.grad(f)(w0).dataSync());
      const expected = new Float64Array(k * k * ci * co);
      for (let b = 0; b < n; b++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++)
        for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
          const yy = y * stride + i - top, xi = xx * stride + j - left;
          if (yy < 0 || yy >= h || xi < 0 || xi >= w) continue;
          for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++)
            expected[((i * k + j) * ci + c) * co + o] += x0[((b * h + yy) * w + xi) * ci + c] * r0[((b * oh + y) * ow + xx) * co + o];
        }
      // float32 accumulation of ≤ 98 products of O(1) terms: error ≲ 1e-5 relative.
      expectClose(analytic, Array.from(expected), { atol: 1e-4, rtol: 1e-4 });
    }
  });
  it.each([
    [3, 'same'],
    [3, 'valid'],
    [4, 'same'],
    [5, 'valid'],
  ] as const)('conv2d input gradient (stride 1, kernel %d, %s) equals the direct float64 sum', (k, pad) => {
    // 4x4 'same' pads 1 before and 2 after: the asymmetric case of the flipped-filter form.
    const [n, h, w, ci, co] = [2, 7, 6, 3, 4];
    const total = k - 1;
    const [oh, ow, top, left] = pad === 'same' ? [h, w, Math.floor(total / 2), Math.floor(total / 2)] : [h - k + 1, w - k + 1, 0, 0];
    const x0 = tf.randomNormal([n, h, w, ci], 0, 1, 'float32', 4);
    const w0 = Array.from(tf.randomNormal([k, k, ci, co], 0, 0.5, 'float32', 5).dataSync());
    const r0 = Array.from(tf.randomNormal([n, oh, ow, co], 0, 1, 'float32', 6).dataSync());
    // f(x) = Σ conv(x, w)·R is linear in x: ∂f/∂x[b, y·1+i−top, x+j−left, c] += w[i,j,c,o]·R[b,y,x,o].
    const f = (xt: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xt as tf.Tensor4D, tf.tensor(w0, [k, k, ci, co]) as tf.Tensor4D, 1, pad), tf.tensor(r0, [n, oh, ow, co]))) as tf.Scalar;
    const analytic = Array.from(tf.grad(f)(x0).dataSync());
    const expected = new Float64Array(n * h * w * ci);
    for (let b = 0; b < n; b++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++)
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
        const yy = y + i - top, xi = xx + j - left;
        if (yy < 0 || yy >= h || xi < 0 || xi >= w) continue;
        for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++)
          expected[((b * h + yy) * w + xi) * ci + c] += w0[((i * k + j) * ci + c) * co + o] * r0[((b * oh + y) * ow + xx) * co + o];
      }
    // float32 accumulation of ≤ k²·co = 100 products of O(1) terms: error ≲ 1e-5 relative.
    expectClose(analytic, Array.from(expected), { atol: 1e-4, rtol: 1e-4 });
    x0.dispose();
  });
  it('second order through a stride-1 conv2d (as MAML takes it) matches finite differences', () => {
    // g(w) = Σ (∂/∂x Σ tanh(conv(x, w)))²: the input gradient is itself a function of w, so
    // ∂g/∂w differentiates the conv's backward pass (the flipped filter, its Reverse and Pad).
    const [n, h, w, ci, co, k] = [1, 5, 5, 2, 3, 3];
    const x0 = tf.randomNormal([n, h, w, ci], 0, 1, 'float32', 7);
    const w0 = Array.from(tf.randomNormal([k, k, ci, co], 0, 0.4, 'float32', 8).dataSync());
    const inner = (wt: tf.Tensor) => tf.grad((xt: tf.Tensor) => tf.sum(tf.tanh(tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, 1, 'same'))) as tf.Scalar)(x0);
    const g = (wt: tf.Tensor) => tf.sum(tf.square(inner(wt))) as tf.Scalar;
    const analytic = Array.from(tf.grad(g)(tf.tensor(w0, [k, k, ci, co])).dataSync());
    const numeric = numericGrad(g, w0, [k, k, ci, co], 1e-2);
    // float32, h = 1e-2: truncation O(h²) ≈ 1e-4 of O(1) third derivatives, rounding ≈ 1e-5/h.
    expectClose(analytic, numeric, { atol: 5e-3, rtol: 5e-3 });
    x0.dispose();
  });
  it('tf.softmax has first and second derivatives matching finite differences', () => {
    // f(z) = Σ w·softmax(z): ∂f/∂z = p ⊙ (w − p·w); its gradient-of-sum is checked against differences too.
    const z0 = [0.3, -1.2, 2.0, 0.7];
    const wts = tf.tensor1d([1, -2, 0.5, 3]);
    const f = (z: tf.Tensor) => tf.sum(tf.mul(tf.softmax(z), wts)) as tf.Scalar;
    const g1 = Array.from(tf.grad(f)(tf.tensor1d(z0)).dataSync());
    expectClose(g1, numericGrad(f, z0, [4]), { atol: 1e-3, rtol: 1e-3 });
    const gsum = (z: tf.Tensor) => tf.sum(tf.square(tf.grad(f)(z))) as tf.Scalar;
    const g2 = Array.from(tf.grad(gsum)(tf.tensor1d(z0)).dataSync());
    expectClose(g2, numericGrad(gsum, z0, [4]), { atol: 2e-3, rtol: 2e-3 });
    wts.dispose();
  });
});

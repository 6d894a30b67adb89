import { tf, ready, Linear, ValueError } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { SynapticIntelligencePlugin } from './index.js';

beforeAll(async () => {
  await ready();
});

describe('SynapticIntelligencePlugin', () => {
  it('accumulates Ω = Σ(−g·Δθ) / ((θ_end − θ_start)² + ξ) and trains with the gradient of c·Σ Ω (θ − θ*)²', () => {
    const model = new Linear(3, 2);
    const params = model.namedParameters();
    const ctx = { model } as never;
    const si = new SynapticIntelligencePlugin({ c: 0.7, xi: 0.01 });
    si.beforeTrainingExp(ctx);
    const start = new Map([...params].map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
    // two hand-made SGD steps θ ← θ − 0.1 g with known gradients
    const gs = [
      { weight: [0.5, -1, 2, 0, 1, -0.5], bias: [1, -2] },
      { weight: [0.1, 0.3, -0.2, 1, 0, 0.4], bias: [-0.5, 0.5] },
    ];
    const omega = { weight: new Float64Array(6), bias: new Float64Array(2) };
    for (const g of gs) {
      const grads = new Map<string, tf.Tensor>([
        ['weight', tf.tensor(g.weight, [3, 2])],
        ['bias', tf.tensor(g.bias)],
      ]);
      si.afterBackward(ctx, grads);
      for (const [k, v] of params) {
        const gk = g[k as 'weight' | 'bias'];
        tf.tidy(() => v.assign(tf.sub(v, tf.mul(tf.tensor(gk, v.shape), 0.1))));
        // −g · Δθ = −g · (−0.1 g) = 0.1 g² (computed in float64 from float32 steps below)
        gk.forEach((x, i) => (omega[k as 'weight' | 'bias'][i] += 0.1 * x * x));
      }
      si.afterUpdate(ctx);
      grads.forEach((t) => t.dispose());
    }
    si.afterTrainingExp(ctx);
    for (const [k, v] of params) {
      const now = v.dataSync();
      const s0 = start.get(k) as Float32Array;
      const expected = Array.from(omega[k as 'weight' | 'bias'], (w, i) => w / ((now[i] - s0[i]) ** 2 + 0.01));
      // float32 steps of size 0.1·g: relative 1e-5.
      expectClose(si.importance().get(k)?.dataSync() as Float32Array, expected, { atol: 1e-5, rtol: 1e-5 });
    }
    // move away from θ* and compare the surrogate's gradient with autodiff
    tf.tidy(() => params.forEach((v) => v.assign(tf.add(v, 0.3))));
    const zeros = new Map([...params].map(([k, v]) => [k, tf.zerosLike(v) as tf.Tensor]));
    const got = si.afterBackward(ctx, zeros) as Map<string, tf.Tensor>;
    const names = [...params.keys()];
    const want = tf.grads((...ps: tf.Tensor[]) => si.penaltyAt(new Map(names.map((k, j) => [k, ps[j]]))))(names.map((k) => params.get(k) as tf.Tensor));
    names.forEach((k, j) => expectClose(got.get(k)?.dataSync() as Float32Array, want[j].dataSync() as Float32Array, { atol: 1e-5, rtol: 1e-5 }));
    [...zeros.values(), ...got.values(), ...want].forEach((t) => t.dispose());
    si.dispose();
    model.dispose();
  });

  it('rejects c < 0 and ξ ≤ 0 with ValueError', () => {
    expect(() => new SynapticIntelligencePlugin({ c: -1 })).toThrow(ValueError);
    expect(() => new SynapticIntelligencePlugin({ c: 1, xi: 0 })).toThrow(/xi.*> 0/);
  });
});

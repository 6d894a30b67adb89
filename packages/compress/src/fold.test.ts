import { tf, ready, BatchNorm, Linear, ReLU, Sequential, Rng, convNet, mlp, type StateDict } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { bakeParametrizations, foldBatchNorm, foldBatchNormMapped } from './fold.js';

beforeAll(async () => {
  await ready();
});

/** Gives every BatchNorm non-trivial γ, β, running mean and variance (seeded). */
function randomiseBatchNorms(model: Sequential, seed: number): void {
  const rng = new Rng(seed);
  model.layers.forEach((layer, i) => {
    if (!(layer instanceof BatchNorm)) return;
    const c = layer.numFeatures;
    const entry = (data: Float32Array) => ({ shape: [c], dtype: 'float32' as const, data });
    const state: StateDict = {
      [`${i}.weight`]: entry(rng.uniformArray(c, 0.5, 2)),
      [`${i}.bias`]: entry(rng.uniformArray(c, -0.5, 0.5)),
      [`${i}.running_mean`]: entry(rng.uniformArray(c, -1, 1)),
      [`${i}.running_var`]: entry(rng.uniformArray(c, 0.2, 3)),
    };
    model.loadStateDict(state, { strict: false });
  });
}

function outputs(model: Sequential, x: tf.Tensor): Float32Array {
  const was = model.training;
  model.eval();
  const y = tf.tidy(() => model.forward(x));
  model.train(was);
  const v = y.dataSync() as Float32Array;
  y.dispose();
  return v;
}

describe('foldBatchNorm', () => {
  it('folds one Linear + BatchNorm by the textbook formula (W·g, (b − μ)·g + β with g = γ/√(var+ε))', () => {
    const lin = new Linear(2, 2, { seed: 1 });
    lin.loadStateDict({ weight: { shape: [2, 2], dtype: 'float32', data: Float32Array.of(1, 2, 3, 4) }, bias: { shape: [2], dtype: 'float32', data: Float32Array.of(0.5, -0.5) } });
    const bn = new BatchNorm(2, { eps: 1e-5 });
    const f = (a: number[]) => ({ shape: [2], dtype: 'float32' as const, data: Float32Array.from(a) });
    bn.loadStateDict({ weight: f([2, 0.5]), bias: f([1, -1]), running_mean: f([0.25, 1]), running_var: f([4, 0.25]) });
    const model = new Sequential(lin, bn);
    const folded = foldBatchNorm(model);
    expect(folded.layers.length).toBe(1);
    const g = [2 / Math.sqrt(4 + 1e-5), 0.5 / Math.sqrt(0.25 + 1e-5)];
    const st = folded.stateDict();
    // float32 storage of a float64 product: relative 6e-8.
    expectClose(st['0.weight'].data, [1 * g[0], 2 * g[1], 3 * g[0], 4 * g[1]], { rtol: 1e-7 });
    expectClose(st['0.bias'].data, [(0.5 - 0.25) * g[0] + 1, (-0.5 - 1) * g[1] - 1], { rtol: 1e-7 });
    model.dispose();
    folded.dispose();
  });

  it('gives the same outputs as the MLP with batch norm in evaluation mode, and removes the BatchNorm layers', () => {
    const model = mlp([12, 8, 6, 3], { batchNorm: true, seed: 3 });
    randomiseBatchNorms(model, 4);
    const x = tf.tensor2d(new Rng(5).normalArray(20 * 12), [20, 12]);
    const { model: folded, indexMap, folded: removed } = foldBatchNormMapped(model);
    expect(folded.layers.map((l) => l.constructor.name)).toEqual(['Linear', 'ReLU', 'Linear', 'ReLU', 'Linear']);
    expect(indexMap).toEqual([0, 0, 1, 2, 2, 3, 4]);
    expect(removed).toEqual([1, 4]);
    expect(folded.training).toBe(false);
    // float32 rounding of the folded weights and a different summation order: outputs are O(1), 1e-5 is ~100 ulps.
    expectClose(outputs(folded, x), outputs(model, x), { atol: 1e-5, rtol: 1e-5 });
    x.dispose();
    model.dispose();
    folded.dispose();
  });

  it('folds a small CNN (Conv2d without bias + BatchNorm, HWIO output axis 3) with equal outputs', () => {
    const model = convNet({ inputShape: [8, 8, 2], channels: [4, 6], outFeatures: 3, seed: 7 });
    randomiseBatchNorms(model, 8);
    const x = tf.tensor2d(new Rng(9).uniformArray(5 * 128), [5, 128]);
    const folded = foldBatchNorm(model);
    expect(folded.layers.some((l) => l instanceof BatchNorm)).toBe(false);
    expect(folded.layers.length).toBe(model.layers.length - 2);
    expectClose(outputs(folded, x), outputs(model, x), { atol: 1e-5, rtol: 1e-5 });
    x.dispose();
    model.dispose();
    folded.dispose();
  });

  it('leaves the live model unchanged and bakes pruning masks into the copy', () => {
    const model = mlp([4, 3, 2], { batchNorm: true, seed: 11 });
    randomiseBatchNorms(model, 12);
    const mask = tf.tensor2d([1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 1], [4, 3]);
    model.setParametrization('0.weight', (w) => tf.mul(w, mask));
    const before = model.stateDict();
    const folded = foldBatchNorm(model);
    const after = model.stateDict();
    for (const k of Object.keys(before)) expect(Array.from(after[k].data)).toEqual(Array.from(before[k].data));
    expect(model.getParametrization('0.weight')).toBeDefined();
    const w = folded.stateDict()['0.weight'].data;
    const m = mask.dataSync();
    for (let i = 0; i < w.length; i++) if (m[i] === 0) expect(w[i]).toBe(0);
    expect(folded.getParametrization('0.weight')).toBeUndefined();
    const x = tf.tensor2d(new Rng(13).normalArray(6 * 4), [6, 4]);
    expectClose(outputs(folded, x), outputs(model, x), { atol: 1e-5, rtol: 1e-5 });
    x.dispose();
    mask.dispose();
    model.dispose();
    folded.dispose();
  });

  it('bakeParametrizations copies effective weights and keeps the structure when nothing is folded', () => {
    const model = new Sequential(new Linear(3, 2, { seed: 1 }), new ReLU());
    model.setParametrization('0.weight', (w) => tf.mul(w, 2));
    const baked = bakeParametrizations(model);
    const a = baked.stateDict()['0.weight'].data;
    const b = model.stateDict()['0.weight'].data;
    expect(Array.from(a)).toEqual(Array.from(b).map((v) => Math.fround(v * 2)));
    baked.dispose();
    model.dispose();
  });

  it('throws TypeError for a model that is not a Sequential', () => {
    expect(() => foldBatchNorm(new Linear(2, 2) as never)).toThrow(/argument 'model' must be a Sequential, got Linear/);
  });
});

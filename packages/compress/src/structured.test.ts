import { tf, ready, Sequential, Linear, Softmax, ReLU, mlp, convNet, Rng, ValueError, predict } from '@x/tensor';
import type { Module } from '@x/tensor';
import { loadMnistSplit } from '@x/datasets';
import { expectClose } from '@x/test-utils';
import { structuredPrune, planStructuredPrune, magnitudePrune, getMasks, applyMasks, sparsity } from './index.js';
import type { StructuredPlan } from './index.js';

beforeAll(async () => {
  await ready();
});

/**
 * The reference: a copy of the original whose removed units have zero incoming weights and
 * bias and zero outgoing weights (the consumer's rows / input channels), everything else equal.
 */
function zeroedCopy(model: Sequential, plan: StructuredPlan): Sequential {
  const copy = model.clone();
  const state = copy.stateDict();
  for (const p of plan.layers) {
    const w = state[`${p.index}.weight`];
    const units = p.units;
    for (let i = 0; i < w.data.length; i++) if (p.removed.includes(i % units)) w.data[i] = 0;
    const b = state[`${p.index}.bias`];
    if (b) for (const u of p.removed) b.data[u] = 0;
    const c = state[`${p.consumer}.weight`];
    if (p.kind === 'linear' || p.positions > 1) {
      // Linear consumer [in, out]: row r reads unit r % units (positions·units rows after Flatten).
      const out = c.shape[1];
      for (let r = 0; r < c.shape[0]; r++) if (p.removed.includes(r % units)) for (let o = 0; o < out; o++) c.data[r * out + o] = 0;
    } else {
      // Conv consumer HWIO: input channel axis 2.
      const [, , ci, co] = c.shape;
      for (let i = 0; i < c.data.length; i++) if (p.removed.includes(Math.floor(i / co) % ci)) c.data[i] = 0;
    }
  }
  copy.loadStateDict(state);
  applyMasks(copy, getMasks(model)); // clone() does not copy parametrizations
  return copy;
}

/** Random values for every parameter and running statistic, so that biases and batch norm matter. */
function randomise(model: Module, seed: number): void {
  const rng = new Rng(seed);
  const state = model.stateDict();
  for (const [name, e] of Object.entries(state)) {
    for (let i = 0; i < e.data.length; i++) {
      if (name.endsWith('running_var')) e.data[i] = rng.uniform(0.5, 2);
      else if (name.endsWith('weight') && e.shape.length === 1) e.data[i] = rng.uniform(0.5, 1.5);
      else if (!name.endsWith('weight')) e.data[i] = rng.uniform(-0.3, 0.3);
    }
  }
  model.loadStateDict(state);
}

function outputs(model: Sequential, x: Float32Array, n: number): Float32Array {
  return predict(model, x, n).values;
}

describe('structuredPrune on an MLP', () => {
  it('784-300-100-10 at 50 %: 150 and 50 hidden neurons, the parameter count as computed, the same outputs as the zeroed original', () => {
    const { test } = loadMnistSplit();
    const model = mlp([784, 300, 100, 10], { seed: 2 });
    randomise(model, 1);
    const plan = planStructuredPrune(model, { amount: 0.5 });
    expect(plan.layers.map((l) => [l.index, l.kept.length, l.consumer])).toEqual([
      [0, 150, 2],
      [2, 50, 4],
    ]);
    const small = structuredPrune(model, { amount: 0.5 });
    expect(small.numParameters()).toBe(784 * 150 + 150 + 150 * 50 + 50 + 50 * 10 + 10); // 125810
    expect(model.numParameters()).toBe(266610);
    const n = 200;
    const x = test.images.subarray(0, n * 784);
    const got = outputs(small, x, n);
    const want = outputs(zeroedCopy(model, plan), x, n);
    expect(got.length).toBe(n * 10); // the last layer's outputs are never removed
    // Float32 sums over 784 terms in another order (zero terms dropped): 1e-5 relative to logits of size ~1–10.
    expectClose(got, want, { atol: 1e-5, rtol: 1e-5 });
    // And the model is really different from the unpruned one (the check is not vacuous).
    const full = outputs(model, x, n);
    expect(Math.max(...full.map((v, i) => Math.abs(v - got[i])))).toBeGreaterThan(0.1);
    small.dispose();
    model.dispose();
  });

  it('follows batch norm between Linear layers (eval and training mode) with sigmoid activations', () => {
    const model = mlp([12, 9, 7, 3], { seed: 3, batchNorm: true, activation: 'sigmoid' });
    randomise(model, 2);
    const plan = planStructuredPrune(model, { amount: 1 / 3, norm: 'l2' });
    expect(plan.layers.map((l) => [l.index, l.removed.length, l.batchNorms, l.consumer])).toEqual([
      [0, 3, [1], 3],
      [3, 2, [4], 6],
    ]);
    const small = structuredPrune(model, { amount: 1 / 3, norm: 'l2' });
    const ref = zeroedCopy(model, plan);
    expect(small.numParameters()).toBe(12 * 6 + 6 + 2 * 6 + 6 * 5 + 5 + 2 * 5 + 5 * 3 + 3);
    const x = new Rng(9).normalArray(16 * 12);
    model.eval();
    small.eval();
    ref.eval();
    expectClose(outputs(small, x, 16), outputs(ref, x, 16), 1e-6);
    // Training-mode batch norm (batch statistics) is per feature too.
    const xt = tf.tensor2d(x, [16, 12]);
    small.train();
    ref.train();
    const a = small.forward(xt);
    const b = ref.forward(xt);
    expectClose(a.dataSync(), b.dataSync(), 1e-5);
    tf.dispose([xt, a, b]);
    for (const m of [small, ref, model]) m.dispose();
  });

  it('ranks neurons by the l1 or l2 norm of their incoming weights, ties to the lower index', () => {
    const make = (w: number[]) => {
      const a = new Linear(2, 3, { bias: false });
      a.loadStateDict({ weight: { shape: [2, 3], dtype: 'float32', data: Float32Array.from(w) } });
      return new Sequential(a, new ReLU(), new Linear(3, 1));
    };
    // Columns: [3, 0] (l1 3, l2 3), [2, 2] (l1 4, l2 2.83), [4, 4] (l1 8, l2 5.66).
    const m = make([3, 2, 4, 0, 2, 4]);
    expect(planStructuredPrune(m, { amount: 0.4, norm: 'l1' }).layers[0].removed).toEqual([0]);
    expect(planStructuredPrune(m, { amount: 0.4, norm: 'l2' }).layers[0].removed).toEqual([1]);
    const tie = make([1, 1, 1, 1, 1, 1]);
    expect(planStructuredPrune(tie, { amount: 0.6 }).layers[0].removed).toEqual([0, 1]);
    m.dispose();
    tie.dispose();
  });
});

describe('structuredPrune on a CNN', () => {
  it('removes conv filters, the next conv input channels, batch-norm entries and the Flatten→Linear rows (NHWC)', () => {
    const { test } = loadMnistSplit();
    const model = convNet({ inputShape: [28, 28, 1], channels: [6, 8], outFeatures: 10, batchNorm: true, seed: 4 });
    randomise(model, 3);
    model.eval();
    // Layers: 0 Reshape, 1 Conv(1→6), 2 BN, 3 ReLU, 4 MaxPool, 5 Conv(6→8), 6 BN, 7 ReLU, 8 MaxPool, 9 Flatten, 10 Linear(392→10).
    const plan = planStructuredPrune(model, { amount: 0.5 });
    expect(plan.layers.map((l) => [l.index, l.kind, l.kept.length, l.consumer, l.positions])).toEqual([
      [1, 'conv2d', 3, 5, 1],
      [5, 'conv2d', 4, 10, 49],
    ]);
    const small = structuredPrune(model, { amount: 0.5 });
    // conv 3x3x1x3 (no bias with batch norm) + BN 2·3 + conv 3x3x3x4 + BN 2·4 + Linear 7·7·4 → 10.
    expect(small.numParameters()).toBe(27 + 6 + 108 + 8 + 196 * 10 + 10);
    const n = 50;
    const x = test.images.subarray(0, n * 784);
    const ref = zeroedCopy(model, plan);
    ref.eval();
    expectClose(outputs(small, x, n), outputs(ref, x, n), { atol: 1e-5, rtol: 1e-5 });
    for (const m of [small, ref, model]) m.dispose();
  });
});

describe('structuredPrune: masks, errors, lifetime', () => {
  it('carries pruning masks over, sliced, and leaves the source model unchanged', () => {
    const model = mlp([20, 10, 6, 3], { seed: 5 });
    magnitudePrune(model, { amount: 0.5, scope: 'layer' });
    const before = model.stateDict();
    const plan = planStructuredPrune(model, { amount: 0.5 });
    const small = structuredPrune(model, { amount: 0.5 });
    expect([...getMasks(small).keys()]).toEqual(['0.weight', '2.weight', '4.weight']);
    const m0 = getMasks(model).get('0.weight')?.dataSync() as Float32Array;
    const s0 = getMasks(small).get('0.weight')?.dataSync() as Float32Array;
    const kept = plan.layers[0].kept;
    for (let r = 0; r < 20; r++) for (let c = 0; c < kept.length; c++) expect(s0[r * kept.length + c]).toBe(m0[r * 10 + kept[c]]);
    expect(model.stateDict()).toEqual(before);
    expect(model.numParameters()).toBe(20 * 10 + 10 + 10 * 6 + 6 + 6 * 3 + 3);
    const x = new Rng(1).normalArray(8 * 20);
    expectClose(outputs(small, x, 8), outputs(zeroedCopy(model, plan), x, 8), 1e-6);
    expect(sparsity(small, { params: ['0.weight'] }).zeros).toBe(s0.filter((v) => v === 0).length);
    small.dispose();
    model.dispose();
  });

  it('throws named errors for bad amounts, unprunable layers and non-Sequential models', () => {
    const model = mlp([6, 4, 2], { seed: 0 });
    expect(() => structuredPrune(model, { amount: 1 })).toThrow("structuredPrune: argument 'amount' must be in [0, 1), got 1");
    expect(() => structuredPrune(model, { amount: 0.9 })).toThrow(/would remove all 4 units of Linear\(6→4\) at 0/);
    expect(() => structuredPrune(model, { amount: 0.5, layers: [2] })).toThrow(/lists 2, which cannot be pruned: Linear\(4→2\) at 2 produces the model's output/);
    expect(() => structuredPrune(model, { amount: 0.5, layers: [1] })).toThrow(/lists 1, which is not a Linear or Conv2d layer/);
    expect(() => structuredPrune(model, { amount: 0.5, norm: 'l3' as 'l1' })).toThrow(ValueError);
    expect(() => structuredPrune(model.layers[0] as unknown as Sequential, { amount: 0.5 })).toThrow(TypeError);
    const mixed = new Sequential(new Linear(4, 4), new Softmax(), new Linear(4, 2));
    expect(() => structuredPrune(mixed, { amount: 0.5, layers: [0] })).toThrow(/Softmax\(\) at 1 mixes or reshapes the units/);
    // By default, layers that cannot be pruned are skipped: nothing to do here.
    const same = structuredPrune(mixed, { amount: 0.5 });
    expect(same.numParameters()).toBe(mixed.numParameters());
    for (const m of [model, mixed, same]) m.dispose();
  });

  it('keeps tf.memory().numTensors flat over repeated structured pruning', () => {
    const model = convNet({ inputShape: [8, 8, 1], channels: [4, 4], outFeatures: 3, seed: 1 });
    magnitudePrune(model, { amount: 0.3, scope: 'global' });
    structuredPrune(model, { amount: 0.5 }).dispose();
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) structuredPrune(model, { amount: 0.5 }).dispose();
    expect(tf.memory().numTensors).toBe(n0);
    model.dispose();
  });
});

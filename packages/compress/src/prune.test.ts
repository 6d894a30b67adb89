import { tf, ready, Sequential, Linear, ReLU, mlp, fit, evaluate, Adam, SGD, Rng, ValueError, NonFiniteError, UnsupportedError } from '@x/tensor';
import { loadMnistSplit } from '@x/datasets';
import {
  magnitudePrune,
  pruneToSparsity,
  getMasks,
  applyMasks,
  removePruning,
  sparsity,
  pruningHooks,
  prunableParameters,
} from './index.js';

/** A Linear(in→out) without bias whose weight is exactly `w` (row-major [in, out]). */
function linear(inF: number, outF: number, w: number[], bias = false): Linear {
  const l = new Linear(inF, outF, { bias });
  const state: Record<string, { shape: number[]; dtype: 'float32'; data: Float32Array }> = {
    weight: { shape: [inF, outF], dtype: 'float32', data: Float32Array.from(w) },
  };
  if (bias) state.bias = { shape: [outF], dtype: 'float32', data: new Float32Array(outF).fill(0.5) };
  l.loadStateDict(state);
  return l;
}

function maskOf(model: Sequential, name: string): number[] {
  return Array.from(getMasks(model).get(name)?.dataSync() ?? []);
}

beforeAll(async () => {
  await ready();
});

describe('magnitudePrune: exact counts and tie-breaking', () => {
  // |w| of layer 0: .5 .1 .1 .3 .5 .1   |w| of layer 2: .1 .2 .2 .9 .1 .3
  // Five weights tie at 0.1 and two at 0.2.
  const w0 = [0.5, -0.1, 0.1, 0.3, -0.5, 0.1];
  const w2 = [0.1, 0.2, -0.2, 0.9, -0.1, 0.3];

  it('global: masks the 6 smallest of 12, breaking the 0.2 tie by lower flat index in namedParameters order', () => {
    const model = new Sequential(linear(2, 3, w0), new ReLU(), linear(3, 2, w2));
    const masks = magnitudePrune(model, { amount: 0.5, scope: 'global' });
    expect([...masks.keys()]).toEqual(['0.weight', '2.weight']);
    // All five 0.1s go, then the first 0.2 (layer 2, index 1); the 0.2 at index 2 stays.
    expect(maskOf(model, '0.weight')).toEqual([1, 0, 0, 1, 1, 0]);
    expect(maskOf(model, '2.weight')).toEqual([0, 0, 1, 1, 0, 1]);
    expect(sparsity(model).zeros).toBe(6);
    model.dispose();
  });

  it('ties across layers: with every |w| equal, global pruning takes the lowest positions first', () => {
    const model = new Sequential(linear(2, 2, [1, -1, 1, -1]), linear(2, 2, [1, 1, -1, 1]));
    magnitudePrune(model, { amount: 0.75, scope: 'global' }); // k = 6 of 8
    expect(maskOf(model, '0.weight')).toEqual([0, 0, 0, 0]);
    expect(maskOf(model, '1.weight')).toEqual([0, 0, 1, 1]);
    model.dispose();
  });

  it('global and layer-wise thresholds differ: global prunes the small-weight layer first', () => {
    const big = [5, -6, 7, 8, -9, 10];
    const small = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6];
    const g = new Sequential(linear(2, 3, big), linear(3, 2, small));
    magnitudePrune(g, { amount: 0.5, scope: 'global' });
    expect(maskOf(g, '0.weight')).toEqual([1, 1, 1, 1, 1, 1]);
    expect(maskOf(g, '1.weight')).toEqual([0, 0, 0, 0, 0, 0]);
    const l = new Sequential(linear(2, 3, big), linear(3, 2, small));
    magnitudePrune(l, { amount: 0.5, scope: 'layer' });
    expect(maskOf(l, '0.weight')).toEqual([0, 0, 0, 1, 1, 1]);
    expect(maskOf(l, '1.weight')).toEqual([0, 0, 0, 1, 1, 1]);
    g.dispose();
    l.dispose();
  });

  it('rounds k = amount·n half to even, as Python round() in torch.nn.utils.prune', () => {
    const cases: Array<[number, number]> = [
      [0.25, 2], // 2.5 → 2
      [0.35, 4], // 3.5 → 4
      [0.45, 4], // 4.5 → 4
      [0.44, 4],
      [0.46, 5],
      [0, 0],
      [0.99, 10], // 9.9 → 10: everything
    ];
    for (const [amount, k] of cases) {
      const model = new Sequential(linear(2, 5, [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]));
      magnitudePrune(model, { amount, scope: 'layer' });
      expect([amount, sparsity(model).zeros]).toEqual([amount, k]);
      model.dispose();
    }
  });

  it('is cumulative: pruning again prunes a fraction of the remaining weights only', () => {
    const w = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 1 : -1) * (i + 1));
    const model = new Sequential(linear(4, 4, w));
    magnitudePrune(model, { amount: 0.5, scope: 'layer' }); // 8 smallest: |w| 1..8
    expect(maskOf(model, '0.weight')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    magnitudePrune(model, { amount: 0.5, scope: 'layer' }); // 4 of the remaining 8: |w| 9..12
    expect(maskOf(model, '0.weight')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(sparsity(model).fraction).toBe(0.75);
    model.dispose();
  });

  it('masks exactly round(amount·n) weights, all no larger than any kept one (200 random cases with heavy ties)', () => {
    const rng = new Rng(7);
    for (let t = 0; t < 200; t++) {
      const a = 1 + rng.int(6);
      const b = 1 + rng.int(6);
      const c = 1 + rng.int(4);
      // Small integers: many ties by construction.
      const w1 = Array.from({ length: a * b }, () => rng.int(5) - 2);
      const w2 = Array.from({ length: b * c }, () => rng.int(5) - 2);
      const model = new Sequential(linear(a, b, w1), linear(b, c, w2));
      const amount = rng.uniform(0, 1);
      const scope = t % 2 === 0 ? 'global' : 'layer';
      magnitudePrune(model, { amount, scope });
      const groups = scope === 'global' ? [[...w1.map((v, i) => [v, maskOf(model, '0.weight')[i]]), ...w2.map((v, i) => [v, maskOf(model, '1.weight')[i]])]] : [
        w1.map((v, i) => [v, maskOf(model, '0.weight')[i]]),
        w2.map((v, i) => [v, maskOf(model, '1.weight')[i]]),
      ];
      for (const g of groups) {
        const pruned = g.filter(([, m]) => m === 0).map(([v]) => Math.abs(v));
        const kept = g.filter(([, m]) => m === 1).map(([v]) => Math.abs(v));
        const k = Math.round(amount * g.length); // amount·n is never exactly x.5 here with overwhelming probability
        expect(pruned.length).toBe(k);
        if (pruned.length > 0 && kept.length > 0) expect(Math.max(...pruned)).toBeLessThanOrEqual(Math.min(...kept));
      }
      model.dispose();
    }
  });

  it('prunes only Linear/Conv2d weights by default, never biases', () => {
    const model = mlp([4, 3, 2], { seed: 1 });
    expect(prunableParameters(model)).toEqual(['0.weight', '2.weight']);
    magnitudePrune(model, { amount: 0.5, scope: 'global' });
    expect([...getMasks(model).keys()]).toEqual(['0.weight', '2.weight']);
    model.dispose();
  });
});

describe('mask reparametrisation', () => {
  it('forward uses orig·mask while the variable keeps the original weights', () => {
    const w = [0.5, -0.1, 0.1, 0.3, -0.5, 0.1];
    const model = new Sequential(linear(2, 3, w, true));
    magnitudePrune(model, { amount: 0.5, scope: 'layer' });
    expect(Array.from(model.namedParameters().get('0.weight')?.dataSync() ?? [])).toEqual(Array.from(Float32Array.from(w)));
    const y = model.forward(tf.tensor2d([[1, 2]]));
    // Effective W = [[.5,0,0],[.3,-.5,0]]; y = [1,2]·W + 0.5.
    expect(Array.from(y.dataSync())).toEqual(Array.from(Float32Array.from([0.5 + 0.6 + 0.5, -1 + 0.5, 0.5])));
    y.dispose();
    model.dispose();
  });

  it('sparsity counts effective weights per parameter and in total (biases included by default)', () => {
    const model = new Sequential(linear(2, 3, [0.5, -0.1, 0.1, 0.3, -0.5, 0.1], true), linear(3, 2, [0, 1, 2, 3, 4, 5]));
    magnitudePrune(model, { amount: 0.5, scope: 'layer', params: ['0.weight'] });
    const s = sparsity(model);
    expect(s.perParam['0.weight']).toEqual({ total: 6, zeros: 3, fraction: 0.5 });
    expect(s.perParam['0.bias']).toEqual({ total: 3, zeros: 0, fraction: 0 });
    expect(s.perParam['1.weight']).toEqual({ total: 6, zeros: 1, fraction: 1 / 6 }); // an unpruned exact zero counts
    expect(s.total).toBe(15);
    expect(s.zeros).toBe(4);
    expect(sparsity(model, { params: ['0.weight'] }).fraction).toBe(0.5);
    model.dispose();
  });

  it('removePruning bakes orig·mask into the weight and drops the mask', () => {
    const model = new Sequential(linear(2, 3, [0.5, -0.1, 0.1, 0.3, -0.5, 0.1]));
    magnitudePrune(model, { amount: 0.5, scope: 'layer' });
    removePruning(model);
    expect(getMasks(model).size).toBe(0);
    expect(model.getParametrization('0.weight')).toBeUndefined();
    expect(Array.from(model.namedParameters().get('0.weight')?.dataSync() ?? [])).toEqual(Array.from(Float32Array.from([0.5, 0, 0, 0.3, -0.5, 0])));
    expect(() => removePruning(model, ['0.weight'])).toThrow(/removePruning: parameter '0.weight' is not pruned/);
    model.dispose();
  });

  it('applyMasks copies the given masks (the caller keeps ownership) and rejects bad ones', () => {
    const model = new Sequential(linear(2, 2, [1, 2, 3, 4]));
    const m = tf.tensor2d([[1, 0], [0, 1]]);
    applyMasks(model, new Map([['0.weight', m]]));
    m.dispose();
    expect(maskOf(model, '0.weight')).toEqual([1, 0, 0, 1]);
    expect(sparsity(model).zeros).toBe(2);
    const half = tf.tensor2d([[1, 0.5], [0, 1]]);
    expect(() => applyMasks(model, new Map([['0.weight', half]]))).toThrow(/mask '0.weight' must hold only 0 and 1, got 0.5 at flat index 1/);
    const wrong = tf.ones([4]);
    expect(() => applyMasks(model, new Map([['0.weight', wrong]]))).toThrow(/mask '0.weight' must have shape \[2,2\], got \[4\]/);
    expect(() => applyMasks(model, new Map([['9.weight', wrong]]))).toThrow(ValueError);
    tf.dispose([half, wrong]);
    model.dispose();
  });
});

describe('named errors', () => {
  it('rejects an amount outside [0, 1) with a ValueError naming the argument', () => {
    const model = mlp([3, 2], { seed: 0 });
    for (const amount of [1, -0.1, 1.5, NaN]) {
      expect(() => magnitudePrune(model, { amount, scope: 'global' })).toThrow(ValueError);
    }
    expect(() => magnitudePrune(model, { amount: 1, scope: 'global' })).toThrow("magnitudePrune: argument 'amount' must be in [0, 1), got 1");
    expect(() => pruneToSparsity(model, { sparsity: 1, scope: 'global' })).toThrow("pruneToSparsity: argument 'sparsity' must be in [0, 1), got 1");
    expect(() => magnitudePrune(model, { amount: '0.5' as unknown as number, scope: 'global' })).toThrow(TypeError);
    expect(() => magnitudePrune(model, { amount: 0.5, scope: 'all' as 'global' })).toThrow("magnitudePrune: option 'scope' must be 'global' or 'layer', got 'all'");
    expect(() => magnitudePrune(model, { amount: 0.5, scope: 'global', params: ['0.wieght'] })).toThrow(/option 'params' names '0.wieght', which is not a parameter/);
    expect(getMasks(model).size).toBe(0); // nothing half-applied
    model.dispose();
  });

  it('throws NonFiniteError naming the parameter for a NaN weight, and changes nothing', () => {
    const model = new Sequential(linear(2, 2, [1, 2, 3, 4]), linear(2, 2, [1, NaN, 3, 4]));
    let err: unknown;
    try {
      magnitudePrune(model, { amount: 0.5, scope: 'global' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as Error).message).toBe("magnitudePrune: parameter '1.weight' must hold finite weights, got NaN at flat index 1");
    expect((err as NonFiniteError).index).toBe(1);
    expect(getMasks(model).size).toBe(0);
    model.dispose();
  });

  it('refuses to un-prune: pruneToSparsity below the current sparsity is a ValueError', () => {
    const model = new Sequential(linear(2, 2, [1, 2, 3, 4]));
    pruneToSparsity(model, { sparsity: 0.5, scope: 'layer' });
    expect(sparsity(model).zeros).toBe(2);
    expect(() => pruneToSparsity(model, { sparsity: 0.25, scope: 'layer' })).toThrow(/asks for 1 masked weights in '0.weight', but 2 are already masked/);
    pruneToSparsity(model, { sparsity: 0.75, scope: 'layer' });
    expect(maskOf(model, '0.weight')).toEqual([0, 0, 0, 1]);
    model.dispose();
  });

  it('will not stack a pruning mask on a foreign parametrization', () => {
    const model = new Sequential(linear(2, 2, [1, 2, 3, 4]));
    model.setParametrization('0.weight', (w) => tf.mul(w, 2));
    expect(() => magnitudePrune(model, { amount: 0.5, scope: 'global' })).toThrow(UnsupportedError);
    model.dispose();
  });
});

describe('pruningHooks on real MNIST digits', () => {
  it('keeps sparsity and masked weights unchanged over 100 Adam steps, even with momentum from before pruning', async () => {
    const { train, test } = loadMnistSplit();
    const n = 6400; // 100 steps of 64
    const data = { x: train.images.subarray(0, n * 784), y: train.labels.subarray(0, n) };
    const model = mlp([784, 300, 100, 10], { seed: 3 });
    const opt = new Adam(model, { lr: 1e-3 });
    // Dense warm-up so that Adam's moments are non-zero everywhere before pruning.
    await fit(model, { x: train.images.subarray(0, 640 * 784), y: train.labels.subarray(0, 640) }, { optimizer: opt, batchSize: 64, seed: 1 });
    magnitudePrune(model, { amount: 0.9, scope: 'global' });
    const before = sparsity(model);
    const origBefore = new Map([...model.namedParameters()].map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
    const masks = new Map([...getMasks(model)].map(([k, m]) => [k, Float32Array.from(m.dataSync())]));
    const accBefore = evaluate(model, { x: test.images, y: test.labels }).accuracy;

    const stepsBefore = opt.iterations;
    await fit(model, data, { optimizer: opt, batchSize: 64, seed: 2, ...pruningHooks(model, opt) });
    expect(opt.iterations - stepsBefore).toBe(100);

    const after = sparsity(model);
    expect(after.zeros).toBe(before.zeros);
    expect(after.perParam).toEqual(before.perParam);
    expect(before.perParam['0.weight'].zeros + before.perParam['2.weight'].zeros + before.perParam['4.weight'].zeros).toBe(Math.round(0.9 * 266200));
    let movedKept = 0;
    let movedMasked = 0;
    for (const [name, m] of masks) {
      const orig = model.namedParameters().get(name)?.dataSync() as Float32Array;
      const o0 = origBefore.get(name) as Float32Array;
      for (let i = 0; i < m.length; i++) {
        // The stored original at a masked position is frozen bit for bit (no regrowth when
        // the mask is lifted), while kept weights train.
        if (m[i] === 0) {
          if (!Object.is(orig[i], o0[i])) movedMasked++;
        } else if (orig[i] !== o0[i]) movedKept++;
      }
      expect(Array.from(getMasks(model).get(name)?.dataSync() ?? [])).toEqual(Array.from(m));
      for (const [k, s] of Object.entries(opt.state(name) ?? {})) {
        const st = s.dataSync();
        for (let i = 0; i < m.length; i++) if (m[i] === 0 && st[i] !== 0) throw new Error(`state ${k} of ${name} non-zero at masked ${i}`);
      }
    }
    expect(movedMasked).toBe(0);
    expect(movedKept).toBeGreaterThan(20000);
    const accAfter = evaluate(model, { x: test.images, y: test.labels }).accuracy;
    console.log(`90% global pruning: test acc after pruning ${accBefore.toFixed(4)}, after 100 masked Adam steps ${accAfter.toFixed(4)}`);
    expect(accAfter).toBeGreaterThan(accBefore);
    opt.dispose();
    model.dispose();
  });

  it('without the hooks, pre-pruning momentum moves the stored weights at masked positions (what the hooks prevent)', async () => {
    const { train } = loadMnistSplit();
    const model = mlp([784, 32, 10], { seed: 4 });
    const opt = new SGD(model, { lr: 0.05, momentum: 0.9 });
    const d = { x: train.images.subarray(0, 640 * 784), y: train.labels.subarray(0, 640) };
    await fit(model, d, { optimizer: opt, batchSize: 64, seed: 1 });
    magnitudePrune(model, { amount: 0.8, scope: 'global' });
    const m = Float32Array.from(getMasks(model).get('0.weight')?.dataSync() ?? []);
    const o0 = Float32Array.from(model.namedParameters().get('0.weight')?.dataSync() ?? []);
    await fit(model, d, { optimizer: opt, batchSize: 64, seed: 2 });
    const o1 = model.namedParameters().get('0.weight')?.dataSync() as Float32Array;
    let moved = 0;
    for (let i = 0; i < m.length; i++) if (m[i] === 0 && o1[i] !== o0[i]) moved++;
    expect(moved).toBeGreaterThan(1000);
    // The effective weight is still zero there: the mask is applied in the forward pass.
    expect(sparsity(model, { params: prunableParameters(model) }).zeros).toBeGreaterThanOrEqual(Math.round(0.8 * (784 * 32 + 32 * 10)));
    opt.dispose();
    model.dispose();
  });
});

describe('tensor lifetime', () => {
  it('frees the masks with the model: Module.dispose() disposes pruning parametrizations', () => {
    const n0 = tf.memory().numTensors;
    const model = mlp([10, 8, 3], { seed: 0 });
    magnitudePrune(model, { amount: 0.5, scope: 'global' });
    magnitudePrune(model, { amount: 0.5, scope: 'layer' });
    model.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('keeps tf.memory().numTensors flat over repeated prune / hooks / sparsity / remove cycles', () => {
    const model = mlp([20, 16, 4], { seed: 0 });
    const opt = new Adam(model, { lr: 1e-2 });
    const x = tf.randomNormal([8, 20], 0, 1, 'float32', 1);
    const y = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
    const cycle = () => {
      magnitudePrune(model, { amount: 0.3, scope: 'global' });
      magnitudePrune(model, { amount: 0.3, scope: 'layer' });
      const hooks = pruningHooks(model, opt);
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 4), model.forward(x)) as tf.Scalar, model.parameters());
        const byName = new Map<string, tf.Tensor>();
        const names = [...model.namedParameters()].map(([n, v]) => [v.name, n]);
        for (const [vn, n] of names) byName.set(n, grads[vn]);
        opt.step(hooks.beforeStep(byName));
      });
      hooks.afterStep();
      sparsity(model);
      const saved = new Map([...getMasks(model)].map(([k, m]) => [k, m.clone()]));
      applyMasks(model, saved);
      tf.dispose([...saved.values()]);
      removePruning(model);
    };
    cycle(); // creates the optimizer state
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) cycle();
    expect(tf.memory().numTensors).toBe(n0);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });
});

import { tf, ready, mlp, convNet, Linear, BatchNorm, Sequential, ReLU, Module, ShapeError, ValueError } from './index.js';
import type { StateDict } from './index.js';
import { expectClose } from '@x/test-utils';

beforeAll(async () => {
  await ready();
});

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Bit patterns of every entry, so that -0 vs 0 and NaN payloads count as differences. */
function bits(state: StateDict): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, e] of Object.entries(state)) out[k] = Array.from(new Uint32Array(e.data.buffer, e.data.byteOffset, e.data.length));
  return out;
}

const input = (n: number, d: number, seed = 7) => tf.randomNormal([n, d], 0, 1, 'float32', seed);

describe('named parameters', () => {
  it('mlp names its parameters "<layer index>.weight/bias", activations counting as layers', () => {
    const m = mlp([4, 5, 6, 3], { seed: 1 });
    expect([...m.namedParameters().keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias']);
    expect(m.namedParameters().get('2.weight')?.shape).toEqual([5, 6]);
    expect(m.namedParameters().get('4.bias')?.shape).toEqual([3]);
    m.dispose();
  });

  it('mlp([784, 300, 100, 10]) has 784·300+300 + 300·100+100 + 100·10+10 = 266610 parameters', () => {
    const m = mlp([784, 300, 100, 10], { seed: 0 });
    expect(m.numParameters()).toBe(266610);
    m.dispose();
  });

  it('BatchNorm running statistics are buffers, not parameters', () => {
    const m = mlp([3, 4, 2], { seed: 0, batchNorm: true });
    expect([...m.namedParameters().keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '3.weight', '3.bias']);
    expect([...m.namedBuffers().keys()]).toEqual(['1.running_mean', '1.running_var']);
    m.dispose();
  });

  it('nested Sequentials prefix names with every level', () => {
    const m = new Sequential(new Sequential(new Linear(2, 3, { seed: 0 }), new ReLU()), new Linear(3, 1, { seed: 1 }));
    expect([...m.namedParameters().keys()]).toEqual(['0.0.weight', '0.0.bias', '1.weight', '1.bias']);
    expect([...m.namedModules().keys()]).toEqual(['', '0', '0.0', '0.1', '1']);
    m.dispose();
  });
});

describe('functional apply', () => {
  it('apply with the model\'s own parameters equals forward bit for bit', () => {
    const m = mlp([6, 8, 3], { seed: 2 });
    const x = input(5, 6);
    const a = values(m.forward(x));
    const b = values(m.apply(m.namedParameters(), x));
    const c = values(m.apply(Object.fromEntries(m.namedParameters()), x));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    m.dispose();
  });

  it('apply with other parameters uses them: output equals the hand computation with those parameters', () => {
    const m = mlp([3, 4, 2], { seed: 3 });
    const own = m.namedParameters();
    const other = new Map<string, tf.Tensor>();
    for (const [k, v] of own) other.set(k, tf.add(tf.mul(v, 2), 0.25));
    const x = input(2, 3);
    const out = values(m.apply(other, x));
    const fwd = values(m.forward(x));
    // y = relu(x·W0 + b0)·W2 + b2 in float64 from the same float32 numbers.
    const [xv, w0, b0, w2, b2] = [x, other.get('0.weight')!, other.get('0.bias')!, other.get('2.weight')!, other.get('2.bias')!].map(values);
    const expected: number[] = [];
    for (let r = 0; r < 2; r++) {
      const h = [0, 1, 2, 3].map((j) => Math.max(0, b0[j] + [0, 1, 2].reduce((s, i) => s + xv[r * 3 + i] * w0[i * 4 + j], 0)));
      for (let k = 0; k < 2; k++) expected.push(b2[k] + h.reduce((s, hj, j) => s + hj * w2[j * 2 + k], 0));
    }
    // float32 sums of 3–4 products of O(1) numbers: error ≲ 1e-6 relative.
    expectClose(out, expected, { atol: 1e-5, rtol: 1e-5 });
    expect(Math.max(...out.map((v, i) => Math.abs(v - fwd[i])))).toBeGreaterThan(0.1);
    m.dispose();
  });

  it('gradients of apply flow into the given parameters, not the module variables', () => {
    const m = new Linear(2, 1, { seed: 0 });
    const w = tf.tensor2d([[1], [2]]);
    const b = tf.tensor1d([0.5]);
    const x = tf.tensor2d([[3, 4]]);
    const [gw, gb] = tf.grads((wt: tf.Tensor, bt: tf.Tensor) => tf.sum(m.apply({ weight: wt, bias: bt }, x)) as tf.Scalar)([w, b]);
    // d(x·w + b)/dw = xᵀ, d/db = 1.
    expect(values(gw)).toEqual([3, 4]);
    expect(values(gb)).toEqual([1]);
    m.dispose();
  });

  it('apply names a missing parameter and a wrong shape', () => {
    const m = mlp([3, 4, 2], { seed: 0 });
    const params = Object.fromEntries(m.namedParameters()) as Record<string, tf.Tensor>;
    const x = input(2, 3);
    const { ['2.bias']: _dropped, ...missing } = params;
    expect(() => m.apply(missing, x)).toThrow(ValueError);
    expect(() => m.apply(missing, x)).toThrow(/no entry '2\.bias'/);
    const wrong = { ...params, '0.weight': tf.zeros([4, 3]) };
    expect(() => m.apply(wrong, x)).toThrow(ShapeError);
    expect(() => m.apply(wrong, x)).toThrow(/'0\.weight' must have shape \[3,4\], got \[4,3\]/);
    expect(() => m.apply(null as never, x)).toThrow(TypeError);
    expect(() => m.apply({ ...params, '0.bias': [1, 2] as never }, x)).toThrow(/entry '0\.bias'.*must be a Tensor/);
    m.dispose();
  });

  it('parametrizations apply in forward and apply, and parametrize:false switches them off in every child', () => {
    const m = mlp([3, 4, 2], { seed: 5 });
    const x = input(3, 3);
    const plain = values(m.forward(x));
    const mask = tf.tensor2d([[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0]]);
    m.setParametrization('0.weight', (w) => tf.mul(w, mask));
    expect(m.getParametrization('0.weight')).toBeDefined();
    const masked = values(m.forward(x));
    // Masking the stored weight by hand gives the same output.
    const params = new Map<string, tf.Tensor>(m.namedParameters());
    params.set('0.weight', tf.mul(params.get('0.weight')!, mask));
    expect(values(m.apply(params, x, { parametrize: false }))).toEqual(masked);
    expect(values(m.apply(m.namedParameters(), x))).toEqual(masked);
    expect(values(m.apply(m.namedParameters(), x, { parametrize: false }))).toEqual(plain);
    expect(masked).not.toEqual(plain);
    m.setParametrization('0.weight', null);
    expect(values(m.forward(x))).toEqual(plain);
    expect(() => m.setParametrization('1.weight', null)).toThrow(/must be a parameter of .*got '1\.weight'/);
    m.dispose();
  });
});

describe('state save and load', () => {
  it('stateDict → loadStateDict round-trips every parameter and BatchNorm running statistic bit for bit', () => {
    const a = mlp([5, 7, 3], { seed: 11, batchNorm: true });
    // Move the running statistics away from their initial 0 / 1.
    tf.tidy(() => {
      a.train();
      a.forward(input(16, 5, 1));
      a.forward(input(16, 5, 2));
    });
    const saved = a.stateDict();
    expect(Array.from(saved['1.running_mean'].data).some((v) => v !== 0)).toBe(true);
    const b = mlp([5, 7, 3], { seed: 99, batchNorm: true });
    expect(bits(b.stateDict())).not.toEqual(bits(saved));
    b.loadStateDict(saved);
    expect(bits(b.stateDict())).toEqual(bits(saved));
    // Same state, same evaluation-mode outputs.
    a.eval();
    b.eval();
    const x = input(4, 5, 3);
    expect(values(b.forward(x))).toEqual(values(a.forward(x)));
    // The saved copy is detached from the live model.
    saved['0.weight'].data[0] += 1;
    expect(a.stateDict()['0.weight'].data[0]).not.toBe(saved['0.weight'].data[0]);
    a.dispose();
    b.dispose();
  });

  it('strict load names missing and unexpected keys and shape mismatches, and changes nothing on error', () => {
    const m = mlp([3, 4, 2], { seed: 0 });
    const before = bits(m.stateDict());
    const good = m.stateDict();
    const { ['2.bias']: _d, ...missing } = good;
    expect(() => m.loadStateDict(missing)).toThrow(ValueError);
    expect(() => m.loadStateDict(missing)).toThrow(/missing \[2\.bias\], unexpected \[\]/);
    const extra = { ...good, '9.weight': good['0.bias'] };
    expect(() => m.loadStateDict(extra)).toThrow(/missing \[\], unexpected \[9\.weight\]/);
    const wrong: StateDict = { ...mlp([3, 4, 2], { seed: 1 }).stateDict(), '2.weight': { shape: [2, 4], dtype: 'float32', data: new Float32Array(8) } };
    expect(() => m.loadStateDict(wrong)).toThrow(ShapeError);
    expect(() => m.loadStateDict(wrong)).toThrow(/entry '2\.weight' must have shape \[4,2\], got \[2,4\]/);
    const short: StateDict = { ...good, '0.bias': { shape: [4], dtype: 'float32', data: new Float32Array(3) } };
    expect(() => m.loadStateDict(short)).toThrow(/'0\.bias' must have shape \[4\], got \[4\] with 3 values/);
    // The earlier entries of `wrong` were valid, but nothing was assigned.
    expect(bits(m.stateDict())).toEqual(before);
    expect(() => m.loadStateDict(null as never)).toThrow(TypeError);
    m.dispose();
  });

  it('non-strict load skips unknown names and leaves missing ones unchanged', () => {
    const m = mlp([3, 4, 2], { seed: 0 });
    const other = mlp([3, 4, 2], { seed: 1 }).stateDict();
    const before = m.stateDict();
    m.loadStateDict({ '0.bias': other['0.bias'], 'x.y': other['0.bias'] }, { strict: false });
    const after = m.stateDict();
    expect(Array.from(after['0.bias'].data)).toEqual(Array.from(other['0.bias'].data));
    expect(Array.from(after['0.weight'].data)).toEqual(Array.from(before['0.weight'].data));
    m.dispose();
  });
});

describe('seeded initialisation', () => {
  it('the same seed gives the same weights, a different seed different ones', () => {
    const a = bits(mlp([20, 10, 5], { seed: 42 }).stateDict());
    const b = bits(mlp([20, 10, 5], { seed: 42 }).stateDict());
    const c = bits(mlp([20, 10, 5], { seed: 43 }).stateDict());
    expect(b).toEqual(a);
    expect(c['0.weight']).not.toEqual(a['0.weight']);
    expect(c['2.weight']).not.toEqual(a['2.weight']);
    const n1 = bits(convNet({ channels: [4, 4], outFeatures: 3, seed: 7 }).stateDict());
    const n2 = bits(convNet({ channels: [4, 4], outFeatures: 3, seed: 7 }).stateDict());
    expect(n2).toEqual(n1);
  });

  it('layers of one mlp get different weights (each takes its own stream)', () => {
    const m = mlp([8, 8, 8], { seed: 1 });
    const w0 = values(m.namedParameters().get('0.weight')!);
    const w2 = values(m.namedParameters().get('2.weight')!);
    expect(w0).not.toEqual(w2);
    m.dispose();
  });
});

describe('clone', () => {
  it('gives an independent copy with equal values, structure and mode', () => {
    const m = mlp([4, 6, 3], { seed: 3, batchNorm: true });
    tf.tidy(() => m.forward(input(8, 4)));
    m.eval();
    const c = m.clone();
    expect(c).toBeInstanceOf(Sequential);
    expect(c.training).toBe(false);
    expect(bits(c.stateDict())).toEqual(bits(m.stateDict()));
    const x = input(2, 4, 9);
    expect(values(c.forward(x))).toEqual(values(m.forward(x)));
    // Changing the copy leaves the original alone, and the other way round.
    const before = bits(m.stateDict());
    c.namedParameters().get('0.weight')!.assign(tf.zeros([4, 6]));
    c.namedBuffers().get('1.running_var')!.assign(tf.fill([6], 5));
    expect(bits(m.stateDict())).toEqual(before);
    m.namedParameters().get('3.bias')!.assign(tf.ones([3]));
    expect(values(c.namedParameters().get('3.bias')!)).toEqual([0, 0, 0]);
    // Disposing the copy does not dispose the original.
    c.dispose();
    expect(values(m.forward(x)).length).toBe(6);
    m.dispose();
  });

  it('clones every layer type of a conv net', () => {
    const m = convNet({ channels: [3, 5], outFeatures: 4, inputShape: [8, 8, 1], seed: 2 });
    const c = m.clone();
    expect([...c.namedParameters().keys()]).toEqual([...m.namedParameters().keys()]);
    expect(c.toString()).toBe(m.toString());
    m.eval();
    c.eval();
    const x = input(2, 64);
    expect(values(c.forward(x))).toEqual(values(m.forward(x)));
    m.dispose();
    c.dispose();
  });
});

describe('train / eval mode', () => {
  it('train() and eval() switch every child', () => {
    const m = mlp([3, 4, 2], { seed: 0, batchNorm: true, dropout: 0.5 });
    m.eval();
    for (const sub of m.namedModules().values()) expect((sub as Module).training).toBe(false);
    m.train();
    for (const sub of m.namedModules().values()) expect(sub.training).toBe(true);
    m.dispose();
  });

  it('apply({ training }) overrides the module mode for BatchNorm', () => {
    const bn = new BatchNorm(2);
    bn.eval();
    const x = tf.tensor2d([[1, 10], [3, 30]]);
    // Evaluation mode with fresh running stats (0, 1): (x − 0)/√(1 + 1e-5).
    expectClose(values(bn.forward(x)), [1, 10, 3, 30].map((v) => v / Math.sqrt(1 + 1e-5)), 1e-5);
    // Training mode: batch mean (2, 20), biased var (1, 100): ±1/√(var+eps)·√var ≈ ±1.
    expectClose(values(bn.apply(bn.namedParameters(), x, { training: true })), [-1, -1, 1, 1], 1e-4);
    bn.dispose();
  });
});

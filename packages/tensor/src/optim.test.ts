import { tf, ready, SGD, Adam, mlp, trainStep, crossEntropy, ValueError, ShapeError } from './index.js';
import { expectClose } from '@x/test-utils';

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

beforeAll(async () => {
  await ready();
});

const w0 = [0.5, -1.5, 2, 0.25];
// Three steps of fixed gradients, different each step, so every rule's history matters.
const gradSeq = [
  [0.1, -0.2, 0.3, -0.4],
  [-0.5, 0.25, 0.05, 1.0],
  [0.3, 0.3, -0.7, 0.2],
];

function setup() {
  const w = tf.variable(tf.tensor1d(w0));
  return { w, params: new Map([['w', w]]) };
}

/** torch.optim.SGD, written out in float64 (dampening 0). */
function torchSgd(lr: number, momentum: number, nesterov: boolean, wd: number): number[][] {
  const w = [...w0];
  let buf: number[] | undefined;
  const out: number[][] = [];
  for (const g0 of gradSeq) {
    let g = g0.map((gi, i) => gi + wd * w[i]);
    if (momentum !== 0) {
      buf = buf === undefined ? [...g] : buf.map((b, i) => momentum * b + g[i]);
      g = nesterov ? g.map((gi, i) => gi + momentum * buf![i]) : [...buf];
    }
    for (let i = 0; i < w.length; i++) w[i] -= lr * g[i];
    out.push([...w]);
  }
  return out;
}

/** torch.optim.Adam / AdamW, written out in float64. */
function torchAdam(lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean): { w: number[][]; m: number[]; v: number[] } {
  const w = [...w0];
  let m = w.map(() => 0);
  let v = w.map(() => 0);
  const out: number[][] = [];
  gradSeq.forEach((g0, k) => {
    const t = k + 1;
    const g = decoupled ? [...g0] : g0.map((gi, i) => gi + wd * w[i]);
    if (decoupled) for (let i = 0; i < w.length; i++) w[i] *= 1 - lr * wd;
    m = m.map((mi, i) => b1 * mi + (1 - b1) * g[i]);
    v = v.map((vi, i) => b2 * vi + (1 - b2) * g[i] * g[i]);
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    for (let i = 0; i < w.length; i++) w[i] -= (lr / c1) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(c2) + eps));
    out.push([...w]);
  });
  return { w: out, m, v };
}

// float32 arithmetic on O(1) numbers over three steps: ~1e-6 relative error.
const TOL = { atol: 2e-6, rtol: 2e-6 };

describe('SGD follows torch.optim.SGD for three steps', () => {
  const cases: Array<[string, { lr: number; momentum?: number; nesterov?: boolean; weightDecay?: number }]> = [
    ['plain', { lr: 0.1 }],
    ['momentum 0.9', { lr: 0.1, momentum: 0.9 }],
    ['nesterov 0.9', { lr: 0.05, momentum: 0.9, nesterov: true }],
    ['momentum + weight decay', { lr: 0.1, momentum: 0.5, weightDecay: 0.01 }],
    ['nesterov + weight decay', { lr: 0.2, momentum: 0.8, nesterov: true, weightDecay: 0.1 }],
  ];
  it.each(cases)('%s', (_name, opts) => {
    const { w, params } = setup();
    const opt = new SGD(params, opts);
    const expected = torchSgd(opts.lr, opts.momentum ?? 0, opts.nesterov ?? false, opts.weightDecay ?? 0);
    gradSeq.forEach((g, k) => {
      opt.step({ w: tf.tensor1d(g) });
      expectClose(values(w), expected[k], TOL);
    });
    expect(opt.iterations).toBe(3);
    if (opts.momentum) expect(Object.keys(opt.state('w')!)).toEqual(['momentum']);
    else expect(opt.state('w')).toBeUndefined();
    opt.dispose();
    w.dispose();
  });
});

describe('Adam follows torch.optim.Adam (bias correction) for three steps', () => {
  const cases: Array<[string, { lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; decoupled?: boolean }]> = [
    ['defaults with lr 0.01', { lr: 0.01 }],
    ['beta1 0.5, beta2 0.9, eps 1e-3', { lr: 0.1, beta1: 0.5, beta2: 0.9, eps: 1e-3 }],
    ['L2 weight decay', { lr: 0.01, weightDecay: 0.1 }],
    ['decoupled weight decay (AdamW)', { lr: 0.01, weightDecay: 0.1, decoupled: true }],
  ];
  it.each(cases)('%s', (_name, opts) => {
    const { w, params } = setup();
    const opt = new Adam(params, opts);
    const ref = torchAdam(opts.lr, opts.beta1 ?? 0.9, opts.beta2 ?? 0.999, opts.eps ?? 1e-8, opts.weightDecay ?? 0, opts.decoupled ?? false);
    gradSeq.forEach((g, k) => {
      opt.step(new Map([['w', tf.tensor1d(g)]]));
      expectClose(values(w), ref.w[k], TOL);
    });
    // The moments are reachable by parameter name.
    const s = opt.state('w')!;
    expectClose(values(s.m), ref.m, 1e-7);
    expectClose(values(s.v), ref.v, 1e-7);
    opt.dispose();
    w.dispose();
  });

  it('the first Adam step moves every weight by lr·sign(g) (bias correction makes m̂/√v̂ = ±1)', () => {
    const { w, params } = setup();
    new Adam(params, { lr: 0.01 }).step({ w: tf.tensor1d(gradSeq[0]) });
    expectClose(values(w), w0.map((x, i) => x - 0.01 * Math.sign(gradSeq[0][i])), 1e-6);
  });

  it('bias correction counts each parameter\'s own updates (a parameter skipped in a step is corrected like torch)', () => {
    const a = tf.variable(tf.tensor1d([1]));
    const b = tf.variable(tf.tensor1d([1]));
    const opt = new Adam(new Map([['a', a], ['b', b]]), { lr: 0.1 });
    opt.step({ a: tf.tensor1d([1]) });
    opt.step({ a: tf.tensor1d([1]), b: tf.tensor1d([3]) });
    // b's first update: m̂/√v̂ = 1 exactly, so b moves by lr.
    expectClose(values(b), [0.9], 1e-6);
  });
});

describe('optimizer state', () => {
  it('state(name) is undefined before the first step and live afterwards', () => {
    const model = mlp([3, 4, 2], { seed: 0 });
    const opt = new SGD(model, { lr: 0.1, momentum: 0.9 });
    expect(opt.names()).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(opt.state('0.weight')).toBeUndefined();
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 1);
    trainStep(model, opt, () => crossEntropy(model.forward(x), [0, 1, 0, 1, 1]));
    const mom = opt.state('0.weight')!.momentum;
    expect(mom.shape).toEqual([3, 4]);
    // Live: zeroing the buffer changes the next update (b ← μ·0 + g, so w moves by lr·g only).
    mom.assign(tf.zerosLike(mom));
    const before = values(model.namedParameters().get('0.weight')!);
    const g = tf.tidy(() => values(tf.grad((w: tf.Tensor) => crossEntropy(model.apply(new Map([...model.namedParameters(), ['0.weight', w]]), x), [0, 1, 0, 1, 1]) as tf.Scalar)(model.namedParameters().get('0.weight')!)));
    trainStep(model, opt, () => crossEntropy(model.forward(x), [0, 1, 0, 1, 1]));
    expectClose(values(model.namedParameters().get('0.weight')!), before.map((w, i) => w - 0.1 * g[i]), 1e-6);
    opt.dispose();
    model.dispose();
  });

  it('maskState zeroes SGD momentum and Adam moments at masked positions and keeps the rest', () => {
    const mask = tf.tensor1d([1, 0, 1, 0]);
    for (const make of [(p: Map<string, tf.Variable>) => new SGD(p, { lr: 0.1, momentum: 0.9 }), (p: Map<string, tf.Variable>) => new Adam(p, { lr: 0.1 })]) {
      const { w, params } = setup();
      const opt = make(params);
      opt.step({ w: tf.tensor1d(gradSeq[0]) });
      opt.step({ w: tf.tensor1d(gradSeq[1]) });
      const before = Object.fromEntries(Object.entries(opt.state('w')!).map(([k, v]) => [k, values(v)]));
      opt.maskState('w', mask);
      for (const [k, v] of Object.entries(opt.state('w')!)) {
        expect(values(v)).toEqual(before[k].map((x, i) => (i % 2 === 0 ? x : 0)));
        expect(before[k][1]).not.toBe(0);
      }
      opt.dispose();
      w.dispose();
    }
  });

  it('maskState before any step is a no-op, and the mask must match the parameter', () => {
    const { w, params } = setup();
    const opt = new SGD(params, { lr: 0.1, momentum: 0.9 });
    opt.maskState('w', tf.ones([4]));
    expect(opt.state('w')).toBeUndefined();
    expect(() => opt.maskState('v', tf.ones([4]))).toThrow(ValueError);
    expect(() => opt.maskState('w', tf.ones([3]))).toThrow(ShapeError);
    expect(() => opt.maskState('w', [1, 0, 1, 0] as never)).toThrow(TypeError);
    w.dispose();
  });

  it('lr can be scheduled between steps and is validated when set', () => {
    const { w, params } = setup();
    const opt = new SGD(params, { lr: 0.1 });
    opt.lr = 0.5;
    opt.step({ w: tf.ones([4]) });
    expectClose(values(w), w0.map((x) => x - 0.5), 1e-6);
    expect(() => {
      opt.lr = NaN;
    }).toThrow(ValueError);
    expect(opt.lr).toBe(0.5);
    w.dispose();
  });
});

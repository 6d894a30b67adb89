import { tf, ready, Module, mlp, mse } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { MAML } from './index.js';

/** θ as a module: forward returns θ broadcast against x (x unused except for its batch). */
class Vec extends Module {
  constructor(init: number[]) {
    super();
    this.addParam('theta', tf.tensor1d(init));
  }
  toString(): string {
    return 'Vec';
  }
  protected call(_x: tf.Tensor, get: (n: string) => tf.Tensor): tf.Tensor {
    return get('theta');
  }
  clone(): Vec {
    return new Vec(Array.from(this.namedParameters().get('theta')!.dataSync()));
  }
}

beforeAll(async () => {
  await ready('wasm');
});

describe('MAML meta-gradient on a quadratic', () => {
  // Inner loss ½·Σ a_i(θ_i − c_i)², one step: θ' = θ − α·a(θ − c); outer loss ½·Σ b_i(θ'_i − d_i)².
  // dL/dθ = b(θ' − d)·(1 − α·a) (second order) or b(θ' − d) (first order: the factor is dropped).
  const theta0 = [0.5, -1.2, 2.0];
  const a = [1.0, 3.0, 0.5];
  const b = [2.0, 1.0, 4.0];
  const c = [1.0, 0.0, -1.0];
  const d = [-0.5, 0.7, 0.3];
  const alpha = 0.2;
  const thetaPrime = theta0.map((t, i) => t - alpha * a[i] * (t - c[i]));
  const outer = thetaPrime.map((t, i) => b[i] * (t - d[i]));
  const quad = (p: tf.Tensor, w: number[], z: number[]) => tf.mul(0.5, tf.sum(tf.mul(tf.tensor1d(w), tf.square(tf.sub(p, tf.tensor1d(z)))))) as tf.Scalar;

  function metaGrad(firstOrder: boolean, learnLr = false) {
    const model = new Vec(theta0);
    const maml = new MAML(model, { lr: alpha, firstOrder, learnLr });
    const x = tf.zeros([1, 1]);
    const { loss, grads } = maml.metaGradients(() => {
      const learner = maml.clone();
      learner.adapt((l) => quad(l.forward(x), a, c));
      return quad(learner.forward(x), b, d);
    });
    const out = { loss, theta: Array.from(grads.get('theta')!.dataSync()), lr: grads.has('lr:theta') ? grads.get('lr:theta')!.dataSync()[0] : undefined };
    grads.forEach((g) => g.dispose());
    x.dispose();
    maml.dispose();
    model.dispose();
    return out;
  }

  it('second order has the (1 − α·a) factor', () => {
    const r = metaGrad(false);
    // float32 arithmetic on O(1) numbers: 1e-5 relative.
    expectClose(r.theta, outer.map((g, i) => g * (1 - alpha * a[i])), { atol: 1e-5, rtol: 1e-5 });
    expectClose(r.loss, thetaPrime.reduce((s, t, i) => s + 0.5 * b[i] * (t - d[i]) ** 2, 0), { atol: 1e-5, rtol: 1e-5 });
  });

  it('first order drops the factor', () => {
    const r = metaGrad(true);
    expectClose(r.theta, outer, { atol: 1e-5, rtol: 1e-5 });
    // and really differs from the second-order answer (the factors are 0.8, 0.4, 0.9)
    expect(Math.abs(r.theta[1] - outer[1] * (1 - alpha * a[1]))).toBeGreaterThan(0.1);
  });

  it('a learned inner rate gets dL/dα = −Σ b(θ′ − d)·a(θ − c)', () => {
    const r = metaGrad(false, true);
    const dAlpha = -outer.reduce((s, g, i) => s + g * a[i] * (theta0[i] - c[i]), 0);
    expectClose(r.lr as number, dAlpha, { atol: 1e-5, rtol: 1e-5 });
    expectClose(r.theta, outer.map((g, i) => g * (1 - alpha * a[i])), { atol: 1e-5, rtol: 1e-5 });
  });

  it('two inner steps compose the factor: (1 − α·a)²', () => {
    const model = new Vec(theta0);
    const maml = new MAML(model, { lr: alpha });
    const x = tf.zeros([1, 1]);
    const { grads } = maml.metaGradients(() => {
      const learner = maml.clone();
      learner.adapt((l) => quad(l.forward(x), a, c), 2);
      return quad(learner.forward(x), b, d);
    });
    const t2 = theta0.map((t, i) => c[i] + (1 - alpha * a[i]) ** 2 * (t - c[i]));
    expectClose(grads.get('theta')!.dataSync(), t2.map((t, i) => b[i] * (t - d[i]) * (1 - alpha * a[i]) ** 2), { atol: 1e-5, rtol: 1e-5 });
    grads.forEach((g) => g.dispose());
    x.dispose();
    maml.dispose();
    model.dispose();
  });
});

describe('MAML meta-gradient on a small tanh network', () => {
  // Meta-loss as a function of the meta-parameters, computed eagerly (no tape) for finite differences.
  const xs = tf.tensor2d([[-1.0], [-0.3], [0.4], [1.2], [2.0]]);
  const ys = tf.tensor2d([[0.3], [-0.2], [0.5], [0.9], [-0.4]]);
  const xq = tf.tensor2d([[-1.5], [0.1], [0.8], [1.6]]);
  const yq = tf.tensor2d([[0.1], [0.4], [-0.3], [0.6]]);

  function fdCheck(firstOrder: boolean) {
    const model = mlp([1, 5, 5, 1], { activation: 'tanh', seed: 3 });
    const maml = new MAML(model, { lr: 0.3, firstOrder });
    const taskLoss = () => {
      const learner = maml.clone();
      learner.adapt((l) => mse(l.forward(xs), ys));
      return mse(learner.forward(xq), yq);
    };
    const { grads } = maml.metaGradients(taskLoss);
    const params = model.namedParameters();
    const h = 1e-2;
    for (const [name, v] of params) {
      const analytic = Array.from(grads.get(name)!.dataSync());
      const base = Float32Array.from(v.dataSync());
      const numeric: number[] = [];
      const evalAt = (vals: Float32Array) => {
        v.assign(tf.tensor(vals, v.shape));
        if (firstOrder) {
          // FOMAML's gradient is ∇L_q at θ′ (the inner step treated as a shift): compare with
          // finite differences of L_q around the adapted weights instead.
          throw new Error('unused');
        }
        const learner = maml.clone();
        learner.adapt((l) => mse(l.forward(xs), ys));
        const out = tf.tidy(() => mse(learner.forward(xq), yq).dataSync()[0]);
        learner.dispose();
        return out;
      };
      if (!firstOrder) {
        for (let i = 0; i < base.length; i++) {
          const p = base.slice(); p[i] += h;
          const m = base.slice(); m[i] -= h;
          numeric.push((evalAt(p) - evalAt(m)) / (2 * h));
        }
        v.assign(tf.tensor(base, v.shape));
        // float32 central differences with h = 1e-2 on O(1) losses: truncation ~h²·L''' ≈ 1e-4,
        // rounding ~6e-8/h ≈ 6e-6; 2e-3 absolute plus 2 % relative covers both with margin.
        expectClose(analytic, numeric, { atol: 2e-3, rtol: 2e-2 });
      }
    }
    grads.forEach((g) => g.dispose());
    maml.dispose();
    model.dispose();
  }

  it('second-order meta-gradient equals central finite differences of the meta-loss', () => {
    fdCheck(false);
  });

  it('first-order meta-gradient equals the query-loss gradient at the adapted weights, which differs from the true meta-gradient', () => {
    const model = mlp([1, 5, 5, 1], { activation: 'tanh', seed: 3 });
    const fo = new MAML(model, { lr: 0.3, firstOrder: true });
    const so = new MAML(model, { lr: 0.3 });
    const run = (m: MAML) =>
      m.metaGradients(() => {
        const learner = m.clone();
        learner.adapt((l) => mse(l.forward(xs), ys));
        return mse(learner.forward(xq), yq);
      }).grads;
    const gFo = run(fo);
    const gSo = run(so);
    // ∇L_q at θ′ computed directly.
    const learner = so.clone();
    learner.adapt((l) => mse(l.forward(xs), ys));
    const names = [...learner.params.keys()];
    const direct = tf.grads((...ps: tf.Tensor[]) => mse(model.apply(new Map(names.map((n, i) => [n, ps[i]])), xq), yq) as tf.Scalar)(names.map((n) => learner.params.get(n)!));
    let diff = 0;
    names.forEach((n, i) => {
      expectClose(gFo.get(n)!.dataSync(), direct[i].dataSync(), { atol: 1e-5, rtol: 1e-4 });
      const a = gFo.get(n)!.dataSync();
      const s = gSo.get(n)!.dataSync();
      for (let j = 0; j < a.length; j++) diff = Math.max(diff, Math.abs(a[j] - s[j]));
    });
    expect(diff).toBeGreaterThan(1e-3);
    [...gFo.values(), ...gSo.values(), ...direct].forEach((g) => g.dispose());
    learner.dispose();
    fo.dispose();
    so.dispose();
    model.dispose();
  });
});

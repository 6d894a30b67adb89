import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCo2 } from '@x/datasets';
import { NonFiniteError, NotFittedError, Rng, ShapeError, ValueError, linalg, tf } from '@x/tensor';
import { expectClose, loadFixture } from '@x/test-utils';
import { GaussianProcessRegressor, NegativeVarianceError } from './gp.js';
import { ConstantKernel, DotProduct, ExpSineSquared, Matern, RBF, RationalQuadratic, WhiteKernel, type Kernel } from './kernels.js';

const fx = loadFixture('gp-co2.json');
const co2 = loadCo2();
const CO2_X = Array.from(co2.x);
const sk = JSON.parse(readFileSync(join(__dirname, '..', 'test-data', 'sklearn-kernels.json'), 'utf8'));

/** scikit-learn's CO2 kernel ii at its initial values (gp-co2.json), all bounds (1e-5, 1e5). */
function kernelII(): Kernel {
  return new ConstantKernel({ value: 1 })
    .mul(new RBF({ lengthScale: 50 }))
    .add(new ConstantKernel({ value: 0.01 }).mul(new ExpSineSquared({ lengthScale: 1, periodicity: 1 })).mul(new RBF({ lengthScale: 100 })))
    .add(new WhiteKernel({ noiseLevel: 1e-3 }));
}

/** Central-difference gradient of the LML. */
function fdGradient(gp: GaussianProcessRegressor, theta: Float64Array, h = 1e-5): number[] {
  return Array.from(theta, (_, p) => {
    const up = Float64Array.from(theta);
    const dn = Float64Array.from(theta);
    up[p] += h;
    dn[p] -= h;
    return (gp.logMarginalLikelihood(up).value - gp.logMarginalLikelihood(dn).value) / (2 * h);
  });
}

describe('GaussianProcessRegressor on Mauna Loa CO2 (gp-co2.json)', () => {
  it('uses the fixture data (n, first and last x, y mean and std)', () => {
    expect(co2.n).toBe(fx.data.n);
    expect(co2.x[0]).toBe(fx.data.x_first);
    expect(co2.x[co2.n - 1]).toBe(fx.data.x_last);
    expectClose(co2.y.reduce((a, b) => a + b, 0) / co2.n, fx.data.y_mean, { rtol: 1e-12 });
  });

  it('matches fixed_kernel_i: LML, predictive mean and std (with and without noise) to 1e-6 relative', () => {
    const kernel = new RBF({ lengthScale: 1 }).add(new WhiteKernel({ noiseLevel: 0.1 }));
    const gp = new GaussianProcessRegressor({ kernel, optimizer: null, normalizeY: true, alpha: 1e-10 }).fit(CO2_X, co2.y);
    const ref = fx.fixed_kernel_i;
    expectClose(gp.logMarginalLikelihoodValue, ref.log_marginal_likelihood_value_, { rtol: 1e-6 });
    const p = gp.predict(fx.predict_x, { returnStd: true });
    expectClose(p.mean, ref.predict_mean, { rtol: 1e-6 });
    expectClose(p.std!, ref.predict_std_incl_noise, { rtol: 1e-6 });
    const q = gp.predict(fx.predict_x, { returnStd: true, includeNoise: false });
    expectClose(q.std!, ref['predict_std_latent_(noise removed)'], { rtol: 1e-6 });
    // The covariance's diagonal is the variance.
    const c = gp.predict(fx.predict_x, { returnCov: true });
    expectClose(Array.from(linalg.diag(c.cov!), Math.sqrt), ref.predict_std_incl_noise, { rtol: 1e-6 });
    expect(gp.diagnostics.jitter).toBe(0);
  });

  it('matches kernel_ii_at_init: theta order, LML and its gradient to 1e-6', () => {
    const k = kernelII();
    const init = fx.kernel_ii_at_init;
    expect(k.thetaNames).toEqual(init.init_kernel.theta_names);
    expectClose(k.theta, init.init_kernel.theta_log_space, { rtol: 1e-12, atol: 1e-12 });
    expectClose(k.bounds.flat(), (init.init_kernel.bounds_log_space as number[][]).flat(), { rtol: 1e-12 });
    const gp = new GaussianProcessRegressor({ kernel: k, optimizer: null, normalizeY: true }).fit(CO2_X, co2.y);
    const r = gp.logMarginalLikelihood(k.theta, { gradient: true });
    expectClose(r.value, init.lml_at_init, { rtol: 1e-6 });
    expectClose(r.gradient!, init.lml_gradient_at_init_wrt_log_theta, { rtol: 1e-6 });
  });
});

describe('GaussianProcessRegressor: likelihood and gradient', () => {
  const c = sk.composite;
  const kernel = () =>
    new ConstantKernel({ value: 1.5 })
      .mul(new Matern({ lengthScale: [1, 2], nu: 2.5 }))
      .add(new RationalQuadratic({ lengthScale: 0.9, alpha: 0.6 }).mul(new DotProduct({ sigma0: 0.7 })))
      .add(new WhiteKernel({ noiseLevel: 0.05 }));

  it('matches scikit-learn on a composite kernel (Matérn ARD, RQ × DotProduct, White): LML, gradient, predictions', () => {
    const gp = new GaussianProcessRegressor({ kernel: kernel(), optimizer: null, normalizeY: true }).fit(c.X, c.y);
    expectClose(gp.logMarginalLikelihoodValue, c.lml, { rtol: 1e-10 });
    expectClose(gp.logMarginalLikelihood(kernel().theta, { gradient: true }).gradient!, c.grad, { rtol: 1e-8, atol: 1e-10 });
    const p = gp.predict(c.Xs, { returnStd: true });
    expectClose(p.mean, c.mean, { rtol: 1e-10 });
    expectClose(p.std!, c.std, { rtol: 1e-10 });
  });

  it('has an analytic gradient equal to central differences of the LML (random thetas)', () => {
    const gp = new GaussianProcessRegressor({ kernel: kernel(), optimizer: null, normalizeY: true }).fit(c.X, c.y);
    const rng = new Rng(5);
    for (let t = 0; t < 4; t++) {
      const theta = kernel().theta.map((v) => v + rng.uniform(-1, 1));
      const g = gp.logMarginalLikelihood(theta, { gradient: true }).gradient!;
      // h = 1e-5: truncation ~h²·|f'''| and round-off ~1e-16·|f|/h, both far below 1e-6.
      expectClose(g, fdGradient(gp, theta), { rtol: 1e-6, atol: 1e-6 });
    }
  });
});

describe('GaussianProcessRegressor: fitting', () => {
  const rng = new Rng(1);
  const X = Array.from({ length: 40 }, () => [rng.uniform(0, 10)]);
  const y = X.map(([v]) => Math.sin(v) + 0.1 * rng.normal());

  it('raises the LML above the initial kernel and respects bounds and fixed parameters', () => {
    const kernel = new ConstantKernel({ value: 1, valueBounds: 'fixed' }).mul(new RBF({ lengthScale: 5, lengthScaleBounds: [0.01, 100] })).add(new WhiteKernel({ noiseLevel: 1, noiseLevelBounds: [1e-5, 10] }));
    const fixed = new GaussianProcessRegressor({ kernel, optimizer: null }).fit(X, y);
    const gp = new GaussianProcessRegressor({ kernel }).fit(X, y);
    expect(gp.logMarginalLikelihoodValue).toBeGreaterThan(fixed.logMarginalLikelihoodValue + 5);
    const h = gp.fittedKernel.hyperparameters;
    expect(h[0].value[0]).toBe(1);
    // Noise std 0.1 → noise level ≈ 0.01; length scale of sin ≈ 1–2.
    expect(h[2].value[0]).toBeGreaterThan(0.002);
    expect(h[2].value[0]).toBeLessThan(0.05);
    const d = gp.diagnostics.optimizerRuns[0];
    expect(d.converged).toBe(true);
    // At the optimum the gradient vanishes (projected: nothing is at a bound here).
    const g = gp.logMarginalLikelihood(undefined, { gradient: true }).gradient!;
    for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-3);
  });

  it('stops at a bound when the optimum lies beyond it', () => {
    const kernel = new RBF({ lengthScale: 5, lengthScaleBounds: [3, 100] }).add(new WhiteKernel({ noiseLevel: 0.01, noiseLevelBounds: 'fixed' }));
    const gp = new GaussianProcessRegressor({ kernel }).fit(X, y);
    expectClose(gp.fittedKernel.hyperparameters[0].value[0], 3, { rtol: 1e-9 });
  });

  it('gives the same fit for the same seed with restarts, and keeps the best run', () => {
    const kernel = new ConstantKernel().mul(new RBF({ lengthScale: 50, lengthScaleBounds: [1e-2, 1e3] })).add(new WhiteKernel({ noiseLevel: 1 }));
    const a = new GaussianProcessRegressor({ kernel, nRestartsOptimizer: 3, seed: 7 }).fit(X, y);
    const b = new GaussianProcessRegressor({ kernel, nRestartsOptimizer: 3, seed: 7 }).fit(X, y);
    expect(Array.from(a.fittedKernel.theta)).toEqual(Array.from(b.fittedKernel.theta));
    const runs = a.diagnostics.optimizerRuns;
    expect(runs.length).toBe(4);
    expect(a.logMarginalLikelihoodValue).toBeCloseTo(Math.max(...runs.map((r) => r.logMarginalLikelihood)), 8);
    const c = new GaussianProcessRegressor({ kernel, nRestartsOptimizer: 3, seed: 8 }).fit(X, y);
    expect(c.diagnostics.optimizerRuns[1].start).not.toEqual(runs[1].start);
  });
});

describe('GaussianProcessRegressor: predictions and uncertainty', () => {
  const X = [[0], [1], [2], [3], [4]];
  const y = [0, 0.8, 0.9, 0.1, -0.7];

  it('interpolates noise-free data with near-zero variance at the inputs and the prior far away', () => {
    const gp = new GaussianProcessRegressor({ kernel: new ConstantKernel({ value: 2 }).mul(new RBF({ lengthScale: 1 })), optimizer: null }).fit(X, y);
    const p = gp.predict(X, { returnStd: true });
    expectClose(p.mean, y, { atol: 1e-6 });
    for (const s of p.std!) expect(s).toBeLessThan(1e-4);
    const far = gp.predict([[100]], { returnStd: true });
    expectClose(far.mean, [0], { atol: 1e-12 });
    expectClose(far.std!, [Math.SQRT2], { rtol: 1e-12 });
  });

  it('never returns a negative variance or NaN std for random kernels and inputs with duplicates', () => {
    const rng = new Rng(3);
    for (let t = 0; t < 20; t++) {
      const rows: number[][] = [];
      for (let i = 0; i < 30; i++) rows.push(i % 5 === 4 ? rows[i - 1].slice() : [rng.uniform(-3, 3)]);
      const yy = rows.map(([v]) => Math.cos(2 * v) + 0.01 * rng.normal());
      const ls = Math.exp(rng.uniform(-1.5, 1.5));
      const kernels = [new RBF({ lengthScale: ls }), new Matern({ lengthScale: ls, nu: 2.5 }), new RationalQuadratic({ lengthScale: ls }), new ExpSineSquared({ lengthScale: ls, periodicity: 2 })];
      const kernel = kernels[t % 4].mul(new ConstantKernel({ value: Math.exp(rng.uniform(-2, 2)) }));
      const gp = new GaussianProcessRegressor({ kernel, optimizer: null, alpha: 0 }).fit(rows, yy);
      const xs = [...rows.slice(0, 10), ...Array.from({ length: 10 }, () => [rng.uniform(-4, 4)])];
      const p = gp.predict(xs, { returnStd: true, returnCov: true });
      for (const s of p.std!) expect(s >= 0 && Number.isFinite(s)).toBe(true);
      for (const v of linalg.diag(p.cov!)) expect(v).toBeGreaterThanOrEqual(0);
      // Duplicates without noise make K singular: the jitter that fixed it is reported.
      expect(gp.diagnostics.jitter).toBeGreaterThan(0);
    }
  });

  it('clamps round-off negatives at the training inputs and counts them; zero tolerance throws NegativeVarianceError', () => {
    // Noise-free, well-conditioned K: at a training input the exact variance is 0 and the
    // computed one is ±round-off or exactly 0 (found empirically: about half of these 60 come
    // out negative, depending on the summation order). Every clamped one is reported as std 0.
    const rows = Array.from({ length: 60 }, (_, i) => [i]);
    const yy = rows.map(([v]) => Math.sin(v));
    const kernel = new ConstantKernel({ value: 3 }).mul(new RBF({ lengthScale: 1 }));
    const gp = new GaussianProcessRegressor({ kernel, optimizer: null, alpha: 0 }).fit(rows, yy);
    const p = gp.predict(rows, { returnStd: true });
    const clamped = gp.diagnostics.clampedVariances;
    expect(clamped).toBeGreaterThan(0);
    expect(p.std!.filter((s) => s === 0).length).toBeGreaterThanOrEqual(clamped);
    for (const s of p.std!) expect(s).toBeLessThan(1e-7);
    const strict = new GaussianProcessRegressor({ kernel, optimizer: null, alpha: 0, negativeVarianceTol: 0 }).fit(rows, yy);
    expect(() => strict.predict(rows, { returnStd: true })).toThrow(NegativeVarianceError);
  });

  it('throws NegativeVarianceError, naming the row, for a kernel that is not positive semi-definite', () => {
    // A user kernel whose diagonal under-reports k(x, x): the "variance" is really negative.
    class HalfDiagonal extends RBF {
      override diag(X: Parameters<RBF['diag']>[0]): Float64Array {
        return new Float64Array(X.rows).fill(0.5);
      }
    }
    const gp = new GaussianProcessRegressor({ kernel: new HalfDiagonal(), optimizer: null }).fit(X, y);
    expect(() => gp.predict([[10], [2]], { returnStd: true })).toThrow(/predictive variance at row 1 of 'x' is -0\.4\d+, negative beyond round-off/);
  });

  it('is safe for constant targets with normalizeY', () => {
    const gp = new GaussianProcessRegressor({ kernel: new RBF().add(new WhiteKernel({ noiseLevel: 0.1 })), normalizeY: true }).fit(X, [3, 3, 3, 3, 3]);
    const p = gp.predict([[0.5], [10]], { returnStd: true });
    expectClose(p.mean, [3, 3], { rtol: 1e-9 });
    for (const v of [...p.std!, gp.logMarginalLikelihoodValue]) expect(Number.isFinite(v)).toBe(true);
  });

  it('treats a constant target whose computed std is round-off (not exactly 0) as constant with normalizeY', () => {
    // The mean of thirty 4.2s is not exactly 4.2 in float64: the population std comes out
    // ~1e-15, and dividing by it would turn the targets into ±1 noise.
    const xs = Array.from({ length: 30 }, (_, i) => [i / 3]);
    const yc = new Array<number>(30).fill(4.2);
    const gp = new GaussianProcessRegressor({ kernel: new RBF().add(new WhiteKernel({ noiseLevel: 0.1 })), normalizeY: true }).fit(xs, yc);
    expect(gp.diagnostics.yStd).toBe(1);
    expectClose(gp.predict([[1.5], [40]]).mean, [4.2, 4.2], { rtol: 1e-12 });
  });

  it('draws seeded posterior samples whose moments approach the predictive ones', () => {
    const gp = new GaussianProcessRegressor({ kernel: new RBF().add(new WhiteKernel({ noiseLevel: 0.01 })), optimizer: null }).fit(X, y);
    const xs = [[0.5], [2.5], [6]];
    const S = 4000;
    const draws = gp.sampleY(xs, S, { seed: 1 });
    expect(Array.from(gp.sampleY(xs, S, { seed: 1 }).data)).toEqual(Array.from(draws.data));
    const p = gp.predict(xs, { returnStd: true, includeNoise: false });
    for (let j = 0; j < 3; j++) {
      let m = 0;
      let v = 0;
      for (let s = 0; s < S; s++) m += draws.data[s * 3 + j] / S;
      for (let s = 0; s < S; s++) v += (draws.data[s * 3 + j] - m) ** 2 / S;
      expect(Math.abs(m - p.mean[j])).toBeLessThan(5 * p.std![j] / Math.sqrt(S));
      expect(Math.abs(Math.sqrt(v) / p.std![j] - 1)).toBeLessThan(0.06);
    }
  });

  it('fits a single training point without NaN', () => {
    const gp = new GaussianProcessRegressor({ kernel: new ConstantKernel().mul(new RBF()).add(new WhiteKernel({ noiseLevel: 0.1 })), normalizeY: true }).fit([[1]], [5]);
    const p = gp.predict([[1], [3]], { returnStd: true });
    for (const v of [...p.mean, ...p.std!]) expect(Number.isFinite(v)).toBe(true);
  });

  it('round-trips through toJSON / fromJSON', () => {
    const gp = new GaussianProcessRegressor({ kernel: new RBF().add(new WhiteKernel({ noiseLevel: 0.1 })), normalizeY: true }).fit(X, y);
    const back = GaussianProcessRegressor.fromJSON(JSON.parse(JSON.stringify(gp.toJSON())));
    const a = gp.predict([[0.5], [7]], { returnStd: true });
    const b = back.predict([[0.5], [7]], { returnStd: true });
    expect(Array.from(b.mean)).toEqual(Array.from(a.mean));
    expect(Array.from(b.std!)).toEqual(Array.from(a.std!));
    expect(back.logMarginalLikelihoodValue).toBe(gp.logMarginalLikelihoodValue);
    expect(() => GaussianProcessRegressor.fromJSON({ type: 'x' } as any)).toThrow(ValueError);
  });

  it('names the problem for bad input', () => {
    const gp = new GaussianProcessRegressor();
    expect(() => gp.predict(X)).toThrow(NotFittedError);
    expect(() => gp.logMarginalLikelihood()).toThrow(NotFittedError);
    expect(() => gp.fit([[0], [NaN]], [1, 2])).toThrow(/argument 'x' must hold finite numbers, got NaN at row 1/);
    expect(() => gp.fit([[0], [1]], [1, -Infinity])).toThrow(NonFiniteError);
    expect(() => gp.fit([[0], [1]], [1])).toThrow(ShapeError);
    expect(() => new GaussianProcessRegressor({ kernel: 'rbf' as any })).toThrow(TypeError);
    expect(() => new GaussianProcessRegressor({ alpha: -1 })).toThrow(ValueError);
    expect(() => new GaussianProcessRegressor({ alpha: [1, 2] }).fit(X, y)).toThrow(/'alpha' has 2 entries/);
    expect(() => new GaussianProcessRegressor({ optimizer: 'adam' as any })).toThrow(ValueError);
    expect(() => new RBF({ lengthScale: 1e-7 })).toThrow(/outside 'lengthScaleBounds'/);
    gp.fit(X, y);
    expect(() => gp.predict([[1, 2]])).toThrow(/must have 1 columns/);
    expect(() => gp.predict([[0.5], [Infinity]])).toThrow(/predict: argument 'x' must hold finite numbers, got Infinity at row 1, column 0/);
    expect(() => gp.logMarginalLikelihood([1, 2, 3])).toThrow(ShapeError);
    expect(() => gp.sampleY(X, 0)).toThrow(ValueError);
  });
});

describe('leaks', () => {
  it('keeps tf.memory().numTensors flat over repeated fit / predict / sample', () => {
    const n0 = tf.memory().numTensors;
    for (let r = 0; r < 5; r++) {
      const gp = new GaussianProcessRegressor({ kernel: new RBF().add(new WhiteKernel({ noiseLevel: 0.1 })), normalizeY: true }).fit([[0], [1], [2]], [1, 2, r]);
      gp.predict([[0.5]], { returnStd: true, returnCov: true });
      gp.sampleY([[0.5], [1.5]], 3, { seed: r });
    }
    expect(tf.memory().numTensors).toBe(n0);
  });
});

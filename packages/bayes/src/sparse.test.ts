import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NonFiniteError, NotFittedError, Rng, ShapeError, ValueError, tf } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { GaussianProcessRegressor } from './gp.js';
import { ConstantKernel, RBF, WhiteKernel } from './kernels.js';
import { SparseGaussianProcessRegressor } from './sparse.js';

interface Ref {
  x: number[][];
  y: number[];
  z: number[][];
  xs: number[][];
  amplitude: number;
  length_scale: number[];
  noise_variance: number;
  elbo: number;
  mean: number[];
  std_latent: number[];
  std_with_noise: number[];
  normalized: { elbo: number; mean: number[]; std_with_noise: number[] };
}
// Dense textbook formulas in numpy (test-data/sgpr_reference.py).
const ref = JSON.parse(readFileSync(join(__dirname, '..', 'test-data', 'sgpr-reference.json'), 'utf8')) as Ref;

const refKernel = () => new ConstantKernel({ value: ref.amplitude }).mul(new RBF({ lengthScale: ref.length_scale }));

function data1d(n: number, seed: number): { x: number[][]; y: number[] } {
  const rng = new Rng(seed);
  const x = Array.from({ length: n }, () => [rng.uniform(0, 10)]);
  return { x, y: x.map(([v]) => Math.sin(v) + 0.1 * rng.normal()) };
}

describe('SparseGaussianProcessRegressor (Titsias collapsed bound)', () => {
  it('matches the dense numpy formulas: ELBO, predictive mean and std (latent and with noise), ARD kernel', () => {
    const sgp = new SparseGaussianProcessRegressor({ kernel: refKernel(), noiseVariance: ref.noise_variance, inducingPoints: ref.z }).fit(ref.x, ref.y);
    // numpy inverts K_mm and the 40 × 40 covariance explicitly: agreement to ~1e-12 is seen; 1e-9 leaves room for that.
    expectClose(sgp.elbo, ref.elbo, { rtol: 1e-9 });
    const p = sgp.predict(ref.xs, { returnStd: true });
    expectClose(p.mean, ref.mean, { rtol: 1e-9, atol: 1e-12 });
    expectClose(p.std!, ref.std_with_noise, { rtol: 1e-9 });
    expectClose(sgp.predict(ref.xs, { returnStd: true, includeNoise: false }).std!, ref.std_latent, { rtol: 1e-8 });
    expect(sgp.diagnostics.jitter).toBe(0);
    expect(sgp.diagnostics.inducing).toEqual({ method: 'given', count: 7, kmeansIterations: 0 });
  });

  it('matches the reference with normalizeY (ELBO of the standardised targets, predictions in the units of y)', () => {
    const sgp = new SparseGaussianProcessRegressor({ kernel: refKernel(), noiseVariance: ref.noise_variance, inducingPoints: ref.z, normalizeY: true }).fit(ref.x, ref.y);
    expectClose(sgp.elbo, ref.normalized.elbo, { rtol: 1e-9 });
    const p = sgp.predict(ref.xs, { returnStd: true });
    expectClose(p.mean, ref.normalized.mean, { rtol: 1e-9, atol: 1e-12 });
    expectClose(p.std!, ref.normalized.std_with_noise, { rtol: 1e-9 });
  });

  it('equals the exact GP when the inducing points are the training points (ELBO = log marginal likelihood)', () => {
    // 40 points about 0.25 apart, ℓ = 0.5: K_mm = K(X, X) is factorised without jitter.
    const rng = new Rng(1);
    const x = Array.from({ length: 40 }, (_, i) => [0.25 * i + 0.02 * rng.normal()]);
    const y = x.map(([v]) => Math.sin(v) + 0.1 * rng.normal());
    const kernel = new ConstantKernel({ value: 1.5 }).mul(new RBF({ lengthScale: 0.5 }));
    const exact = new GaussianProcessRegressor({ kernel: kernel.add(new WhiteKernel({ noiseLevel: 0.04 })), optimizer: null }).fit(x, y);
    const sgp = new SparseGaussianProcessRegressor({ kernel, noiseVariance: 0.04, inducingPoints: x }).fit(x, y);
    // Analytically identical (Q = K, trace term 0); numerically the two routes differ by round-off
    // amplified by cond(K(X, X)): 1e-8 relative.
    expect(sgp.diagnostics.jitter).toBe(0);
    // tr(K_nn)/σ² = 40·1.5/0.04 = 1500 here; what is left of it is round-off.
    expect(Math.abs(sgp.diagnostics.traceTerm)).toBeLessThan(1e-9 * 1500);
    expectClose(sgp.elbo, exact.logMarginalLikelihoodValue, { rtol: 1e-8 });
    const xs = [[0.3], [5.55], [9.9], [14]];
    const pe = exact.predict(xs, { returnStd: true });
    const ps = sgp.predict(xs, { returnStd: true });
    expectClose(ps.mean, pe.mean, { rtol: 1e-8, atol: 1e-10 });
    expectClose(ps.std!, pe.std!, { rtol: 1e-8 });
    // nInducing >= n uses every training point, the same thing.
    const all = new SparseGaussianProcessRegressor({ kernel, noiseVariance: 0.04, nInducing: 40 }).fit(x, y);
    expect(all.diagnostics.inducing.method).toBe('all');
    expectClose(all.elbo, sgp.elbo, { rtol: 1e-12 });
  });

  it('is a lower bound of the exact log marginal likelihood that grows when inducing points are added', () => {
    const { x, y } = data1d(200, 2);
    const kernel = new RBF({ lengthScale: 1.2 });
    const lml = new GaussianProcessRegressor({ kernel: kernel.add(new WhiteKernel({ noiseLevel: 0.01 })), optimizer: null }).fit(x, y).logMarginalLikelihoodValue;
    const grid = (m: number) => Array.from({ length: m }, (_, i) => [(10 * i) / (m - 1)]);
    const z5 = grid(5);
    const z9 = [...z5, ...grid(4).map(([v]) => [v + 1.1])]; // z5 plus 4 more points (nested)
    const elbo = (z: number[][]) => new SparseGaussianProcessRegressor({ kernel, noiseVariance: 0.01, inducingPoints: z }).fit(x, y).elbo;
    const e5 = elbo(z5);
    const e9 = elbo(z9);
    const e30 = elbo(grid(30));
    expect(e5).toBeLessThan(e9);
    expect(e9).toBeLessThan(e30);
    expect(e30).toBeLessThanOrEqual(lml + 1e-9 * Math.abs(lml));
    // 30 grid points with ℓ = 1.2 on [0, 10] capture nearly everything.
    expect(lml - e30).toBeLessThan(0.05);
  });

  it('gives the same ELBO for permuted data when the data are streamed in several chunks (n = 4000, M = 300)', () => {
    const { x, y } = data1d(4000, 3);
    const opts = { kernel: new RBF({ lengthScale: 1 }), noiseVariance: 0.01, nInducing: 300, init: 'random' as const, seed: 4 };
    const a = new SparseGaussianProcessRegressor(opts).fit(x, y);
    const perm = new Rng(5).permutation(4000);
    const b = new SparseGaussianProcessRegressor({ ...opts, inducingPoints: a.inducingPoints }).fit(Array.from(perm, (i) => x[i]), Array.from(perm, (i) => y[i]));
    // Same sums in another order: round-off only.
    expectClose(b.elbo, a.elbo, { rtol: 1e-10 });
    const xs = x.slice(0, 3600);
    const whole = a.predict(xs, { returnStd: true });
    const first = a.predict(xs.slice(0, 1800), { returnStd: true });
    expectClose(whole.mean.subarray(0, 1800), first.mean, { rtol: 1e-12, atol: 1e-14 });
    expectClose(whole.std!.subarray(0, 1800), first.std!, { rtol: 1e-12 });
  });

  it('chooses inducing points by seeded k-means: same seed same points, inside the data, and better than a random subset', () => {
    const { x, y } = data1d(3000, 6);
    const opts = { kernel: new RBF({ lengthScale: 0.7 }), noiseVariance: 0.01, nInducing: 12 };
    const a = new SparseGaussianProcessRegressor({ ...opts, seed: 1 }).fit(x, y);
    const b = new SparseGaussianProcessRegressor({ ...opts, seed: 1 }).fit(x, y);
    expect(Array.from(a.inducingPoints.data)).toEqual(Array.from(b.inducingPoints.data));
    for (const v of a.inducingPoints.data) expect(v >= 0 && v <= 10).toBe(true);
    expect(a.diagnostics.inducing.method).toBe('kmeans');
    // Spread-out centres beat a random subset of the same size on this uniform data (seeds 1..3).
    for (const seed of [1, 2, 3]) {
      const r = new SparseGaussianProcessRegressor({ ...opts, seed, init: 'random' }).fit(x, y);
      const k = new SparseGaussianProcessRegressor({ ...opts, seed }).fit(x, y);
      expect(k.elbo).toBeGreaterThan(r.elbo);
    }
  });

  it('maximises the ELBO over the kernel and the noise within their bounds (optimizer lbfgsb)', () => {
    const { x, y } = data1d(300, 7);
    const kernel = new ConstantKernel({ value: 1 }).mul(new RBF({ lengthScale: 3, lengthScaleBounds: [0.1, 10] }));
    const start = new SparseGaussianProcessRegressor({ kernel, noiseVariance: 1, nInducing: 20 }).fit(x, y);
    const fitted = new SparseGaussianProcessRegressor({ kernel, noiseVariance: 1, nInducing: 20, optimizer: 'lbfgsb' }).fit(x, y);
    const run = fitted.diagnostics.optimizer!;
    expectClose(run.elbo, fitted.elbo, { rtol: 1e-12 });
    expect(fitted.elbo).toBeGreaterThan(start.elbo + 100);
    // The data's noise std is 0.1: the fitted σ² must land near 0.01 (within a factor 2).
    expect(fitted.noiseVariance).toBeGreaterThan(0.005);
    expect(fitted.noiseVariance).toBeLessThan(0.02);
    const ls = fitted.fittedKernel.theta[1];
    expect(ls).toBeGreaterThanOrEqual(Math.log(0.1));
    expect(ls).toBeLessThanOrEqual(Math.log(10));
  });

  it('reports the jitter that duplicate inducing points need and still predicts finite, non-negative variances', () => {
    const { x, y } = data1d(100, 8);
    const z = [[1], [1], [4], [4], [7]];
    const sgp = new SparseGaussianProcessRegressor({ kernel: new RBF({ lengthScale: 1 }), noiseVariance: 0.01, inducingPoints: z }).fit(x, y);
    expect(sgp.diagnostics.jitter).toBeGreaterThan(0);
    expect(sgp.diagnostics.jitterTries[0]).toBe(0);
    const p = sgp.predict(x, { returnStd: true, includeNoise: false });
    for (const s of p.std!) expect(Number.isFinite(s) && s >= 0).toBe(true);
    expect(Number.isFinite(sgp.elbo)).toBe(true);
  });

  it('handles a constant target with normalizeY (centred only, finite results)', () => {
    const x = Array.from({ length: 30 }, (_, i) => [i / 3]);
    const sgp = new SparseGaussianProcessRegressor({ kernel: new RBF({ lengthScale: 1 }), noiseVariance: 0.1, nInducing: 5, normalizeY: true }).fit(x, new Array(30).fill(4.2));
    expect(sgp.diagnostics.yStd).toBe(1);
    const p = sgp.predict([[2], [50]], { returnStd: true });
    expectClose(p.mean, [4.2, 4.2], 1e-12);
    for (const s of p.std!) expect(Number.isFinite(s)).toBe(true);
  });

  it('rejects bad input with named errors', () => {
    const sgp = new SparseGaussianProcessRegressor({ nInducing: 3 });
    expect(() => sgp.predict([[1]])).toThrow(NotFittedError);
    expect(() => sgp.elbo).toThrow(NotFittedError);
    expect(() => sgp.fit([[0], [1], [Number.NaN]], [1, 2, 3])).toThrow(NonFiniteError);
    expect(() => sgp.fit([[0], [1], [Number.NaN]], [1, 2, 3])).toThrow(/argument 'x' must hold finite numbers, got NaN at row 2, column 0/);
    expect(() => sgp.fit([[0], [1], [2]], [1, Infinity, 3])).toThrow(/argument 'y' must hold finite numbers, got Infinity at index 1/);
    expect(() => sgp.fit([[0], [1], [2]], [1, 2])).toThrow(ShapeError);
    expect(() => new SparseGaussianProcessRegressor({ inducingPoints: [[0, 1]] }).fit([[0], [1]], [1, 2])).toThrow(/option 'inducingPoints' has 2 columns but 'x' has 1/);
    expect(() => new SparseGaussianProcessRegressor({ noiseVariance: 0 })).toThrow(ValueError);
    expect(() => new SparseGaussianProcessRegressor({ noiseVariance: 10, noiseVarianceBounds: [1e-3, 1] })).toThrow(/'noiseVariance' = 10 lies outside its bounds \[0.001, 1\]/);
    expect(() => new SparseGaussianProcessRegressor({ nInducing: 0 })).toThrow(ValueError);
    expect(() => new SparseGaussianProcessRegressor({ init: 'grid' as 'kmeans' })).toThrow(ValueError);
    const fitted = new SparseGaussianProcessRegressor({ nInducing: 2 }).fit([[0], [1], [2]], [1, 2, 3]);
    expect(() => fitted.predict([[0, 1]])).toThrow(ShapeError);
  });

  it('fits a single training point', () => {
    const sgp = new SparseGaussianProcessRegressor({ kernel: new RBF({ lengthScale: 1 }), noiseVariance: 0.1 }).fit([[2]], [3]);
    const exact = new GaussianProcessRegressor({ kernel: new RBF({ lengthScale: 1 }), alpha: 0.1, optimizer: null }).fit([[2]], [3]);
    expectClose(sgp.elbo, exact.logMarginalLikelihoodValue, { rtol: 1e-12 });
    const p = sgp.predict([[2], [3]], { returnStd: true, includeNoise: false });
    const q = exact.predict([[2], [3]], { returnStd: true, includeNoise: false });
    expectClose(p.mean, q.mean, { rtol: 1e-12 });
    expectClose(p.std!, q.std!, { rtol: 1e-10 });
  });

  it('round-trips through JSON with identical predictions', () => {
    const { x, y } = data1d(80, 9);
    const sgp = new SparseGaussianProcessRegressor({ kernel: new RBF({ lengthScale: 1 }), noiseVariance: 0.02, nInducing: 10 }).fit(x, y);
    const back = SparseGaussianProcessRegressor.fromJSON(JSON.parse(JSON.stringify(sgp.toJSON())));
    const xs = [[0.5], [7.7]];
    expect(back.elbo).toBe(sgp.elbo);
    expect(Array.from(back.predict(xs, { returnStd: true }).std!)).toEqual(Array.from(sgp.predict(xs, { returnStd: true }).std!));
  });

  it('creates no tensors (float64 only) over repeated fit and predict', () => {
    const { x, y } = data1d(60, 10);
    const before = tf.memory().numTensors;
    for (let r = 0; r < 3; r++) new SparseGaussianProcessRegressor({ nInducing: 5, seed: r }).fit(x, y).predict(x, { returnStd: true });
    expect(tf.memory().numTensors).toBe(before);
  });
});

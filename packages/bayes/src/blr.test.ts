import { loadCars } from '@x/datasets';
import { NonFiniteError, NotFittedError, ShapeError, ValueError, linalg, tf } from '@x/tensor';
import { expectClose, loadFixture } from '@x/test-utils';
import { BayesianLinearRegression, BayesianRidge } from './blr.js';

// 1e-8 relative is the bar: everything here is float64 through Cholesky factors, and
// the fixture itself agrees with three independent numpy routes to ~1e-14. Entries of the
// posterior covariance that are analytically 0 (bias × slope with centred features, ~1e-17 in
// the fixture) get an absolute floor of 1e-12 on top.
const RTOL = 1e-8;
const fx = loadFixture('blr.json');
const cars = loadCars();
const X = Array.from(cars.horsepower, (h, i) => [h, cars.weight[i]]);
const Y = cars.mpg;
const TEST = fx.test_points_raw as number[][];

function checkClosedForm(model: BayesianLinearRegression, ref: any): void {
  expectClose(model.posteriorMean, ref.posterior_mean, { rtol: RTOL });
  expectClose(linalg.toRows(model.posteriorCov), ref.posterior_cov, { rtol: RTOL, atol: 1e-12 });
  const p = model.predict(TEST, { returnStd: true });
  expectClose(p.mean, ref.predictive_mean, { rtol: RTOL });
  expectClose(p.std!, ref.predictive_std, { rtol: RTOL });
  const q = model.predict(TEST, { returnStd: true, includeNoise: false });
  expectClose(q.std!, ref.predictive_std_without_noise, { rtol: RTOL });
  expectClose(model.logEvidence, ref.log_evidence, { rtol: RTOL });
}

describe('BayesianLinearRegression on the cars fixture', () => {
  it('uses the same 392 cars as the fixture (feature means and population stds)', () => {
    expect(cars.n).toBe(fx.data.rows_used);
    const mean = [0, 0];
    X.forEach((r) => r.forEach((v, j) => (mean[j] += v / cars.n)));
    expectClose(mean, fx.data.feature_mean, { rtol: 1e-12 });
  });

  it.each([0, 1])('matches closed_form[%i] (posterior, predictive mean/std with and without noise, log evidence) to 1e-8', (k) => {
    const ref = fx.closed_form[k];
    const model = new BayesianLinearRegression({ alpha: ref.alpha_prior_precision, beta: ref.beta_noise_precision }).fit(X, Y);
    checkClosedForm(model, ref);
    expect(model.diagnostics).toMatchObject({ iterations: 0, converged: true, jitter: 0 });
  });

  it('matches PRML 3.5.2 evidence maximisation (alpha, beta, gamma, everything else) to 1e-8', () => {
    const ref = fx.closed_form_evidence_maximised_PRML_3_5_2;
    const model = new BayesianLinearRegression({ alpha: ref.init.alpha, beta: ref.init.beta, fitHyperparameters: 'evidence' }).fit(X, Y);
    expectClose(model.alpha, ref.alpha_prior_precision, { rtol: RTOL });
    expectClose(model.beta, ref.beta_noise_precision, { rtol: RTOL });
    checkClosedForm(model, ref);
    const d = model.diagnostics;
    expect(d.converged).toBe(true);
    expect(d.iterations).toBe(ref.iterations);
    expectClose(d.gamma, ref.gamma_effective_params, { rtol: 1e-8 });
  });

  it('increases the log evidence monotonically under evidence maximisation (several starts)', () => {
    for (const [alpha, beta] of [[1, 1], [100, 1e-3], [1e-4, 10], [0.01, 0.01]]) {
      const d = new BayesianLinearRegression({ alpha, beta, fitHyperparameters: 'evidence' }).fit(X, Y).diagnostics;
      expect(d.converged).toBe(true);
      const h = d.logEvidenceHistory;
      for (let i = 1; i < h.length; i++) expect(h[i]).toBeGreaterThanOrEqual(h[i - 1] - 1e-9 * Math.abs(h[i - 1]));
    }
  });

  it('has its smallest predictive std at the centre of the training data, not at x = 0', () => {
    const model = new BayesianLinearRegression({ alpha: 1, beta: 1 / 16 }).fit(X, Y);
    const c = fx.data.feature_mean as number[];
    const grid: number[][] = [];
    for (let a = -3; a <= 3; a++) for (let b = -3; b <= 3; b++) grid.push([c[0] + a * 10, c[1] + b * 200]);
    for (const includeNoise of [true, false]) {
      const std = model.predict(grid, { returnStd: true, includeNoise }).std!;
      const best = std.indexOf(Math.min(...std));
      expect(grid[best]).toEqual(c);
    }
    // The epistemic part alone: at the origin (far from every car) it is several times larger.
    const latent = (x: number[][]) => model.predict(x, { returnStd: true, includeNoise: false }).std![0];
    expect(latent([[0, 0]])).toBeGreaterThan(3 * latent([c]));
  });

  it('reports coefficients in the original units that reproduce the predictive mean', () => {
    const model = new BayesianLinearRegression({ fitHyperparameters: 'evidence' }).fit(X, Y);
    const { intercept, coef } = model.coefficients();
    const mean = model.predict(TEST).mean;
    expectClose(TEST.map(([h, w]) => intercept + coef[0] * h + coef[1] * w), mean, { rtol: 1e-12 });
    // With a near-flat prior (alpha -> 0) the slopes are the least-squares ones.
    const ols = fx['ols_lstsq_coef_[bias,hp,wt]'] as number[];
    const flat = new BayesianLinearRegression({ alpha: 1e-12, beta: 1 }).fit(X, Y);
    expectClose(flat.posteriorMean, ols, { rtol: 1e-9 });
  });

  it('draws posterior weights whose sample mean and covariance approach the posterior (seeded)', () => {
    const model = new BayesianLinearRegression({ alpha: 1, beta: 1 / 16 }).fit(X, Y);
    const S = 20000;
    const W = model.sampleWeights(S, { seed: 3 });
    const again = model.sampleWeights(S, { seed: 3 });
    expect(Array.from(again.data)).toEqual(Array.from(W.data));
    const other = model.sampleWeights(3, { seed: 4 });
    expect(other.data[0]).not.toBe(W.data[0]);
    const m = model.posteriorMean;
    const C = model.posteriorCov;
    const mean = [0, 0, 0];
    for (let s = 0; s < S; s++) for (let j = 0; j < 3; j++) mean[j] += W.data[s * 3 + j] / S;
    // Monte Carlo error of a mean is sqrt(var / S): allow 5 of those.
    for (let j = 0; j < 3; j++) expect(Math.abs(mean[j] - m[j])).toBeLessThan(5 * Math.sqrt(C.data[j * 3 + j] / S));
    let v11 = 0;
    for (let s = 0; s < S; s++) v11 += (W.data[s * 3 + 1] - mean[1]) ** 2 / S;
    expect(Math.abs(v11 / C.data[4] - 1)).toBeLessThan(0.05);
    const f = model.sampleY(TEST, 2, { seed: 3 });
    expect([f.rows, f.cols]).toEqual([2, TEST.length]);
    expect(Number.isFinite(f.data[0])).toBe(true);
  });

  it('gives finite results for constant targets, fixed or evidence-maximised', () => {
    for (const c of [0, 7.5]) {
      const y = new Float64Array(cars.n).fill(c);
      for (const fh of ['none', 'evidence'] as const) {
        const model = new BayesianLinearRegression({ fitHyperparameters: fh }).fit(X, y);
        const p = model.predict(TEST, { returnStd: true });
        for (const v of [...p.mean, ...p.std!, model.logEvidence, model.alpha, model.beta]) expect(Number.isFinite(v)).toBe(true);
        if (fh === 'evidence') {
          expect(model.diagnostics.atBound.length).toBeGreaterThan(0);
          expectClose(p.mean, new Array(TEST.length).fill(c), { atol: 1e-6 * (1 + c) });
        }
      }
    }
  });

  it('round-trips through toJSON / fromJSON, fitted or not', () => {
    const model = new BayesianLinearRegression({ fitHyperparameters: 'evidence' }).fit(X, Y);
    const back = BayesianLinearRegression.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
    const a = model.predict(TEST, { returnStd: true });
    const b = back.predict(TEST, { returnStd: true });
    expect(Array.from(b.mean)).toEqual(Array.from(a.mean));
    expect(Array.from(b.std!)).toEqual(Array.from(a.std!));
    expect(back.logEvidence).toBe(model.logEvidence);
    const unfitted = BayesianLinearRegression.fromJSON(new BayesianLinearRegression({ alpha: 3 }).toJSON());
    expect(() => unfitted.predict(TEST)).toThrow(NotFittedError);
    expect(() => BayesianLinearRegression.fromJSON({ type: 'nope' } as any)).toThrow(ValueError);
  });

  it('names the problem for bad input', () => {
    const m = new BayesianLinearRegression();
    expect(() => m.predict(TEST)).toThrow(NotFittedError);
    expect(() => m.alpha).toThrow(NotFittedError);
    expect(() => m.fit([[1, 2], [3, NaN]], [1, 2])).toThrow(/argument 'x' must hold finite numbers, got NaN at row 1, column 1/);
    expect(() => m.fit([[1, 2], [3, 4]], [1, Infinity])).toThrow(NonFiniteError);
    expect(() => m.fit([[1, 2], [3, 4]], [1, Infinity])).toThrow(/argument 'y'.*index 1/);
    expect(() => m.fit([[1, 2], [3, 4]], [1, 2, 3])).toThrow(ShapeError);
    expect(() => m.fit([[1, 2], [3]], [1, 2])).toThrow(ShapeError);
    expect(() => m.fit('abc' as any, [1])).toThrow(TypeError);
    expect(() => new BayesianLinearRegression({ alpha: -1 })).toThrow(ValueError);
    expect(() => new BayesianLinearRegression({ fitHyperparameters: 'ml' as any })).toThrow(/fitHyperparameters/);
    m.fit(X, Y);
    expect(() => m.predict([[1, 2, 3]])).toThrow(/must have 2 columns/);
    expect(() => m.sampleWeights(0)).toThrow(ValueError);
  });

  it('fits a single training point without NaN', () => {
    const m = new BayesianLinearRegression({ fitHyperparameters: 'evidence' }).fit([[3, 4]], [2]);
    const p = m.predict([[3, 4], [5, 6]], { returnStd: true });
    for (const v of [...p.mean, ...p.std!]) expect(Number.isFinite(v)).toBe(true);
  });
});

describe('BayesianRidge (scikit-learn compatible) on the cars fixture', () => {
  const ref = fx.sklearn_BayesianRidge;
  const Z = fx.test_points_standardized as number[][];
  const mu = fx.data.feature_mean as number[];
  const sd = fx.data.feature_std_ddof0 as number[];
  const Xz = X.map((r) => r.map((v, j) => (v - mu[j]) / sd[j]));

  it('matches alpha_ (noise), lambda_ (weights), coef_, intercept_, sigma_, n_iter_, score and predictions to 1e-8', () => {
    const br = new BayesianRidge().fit(Xz, Y);
    expectClose(br.alpha, ref.alpha_noise_precision, { rtol: RTOL });
    expectClose(br.lambda, ref.lambda_weight_precision, { rtol: RTOL });
    expectClose(br.coef, ref['coef_[hp,wt]'], { rtol: RTOL });
    expectClose(br.intercept, ref.intercept_, { rtol: RTOL });
    expectClose(linalg.toRows(br.sigma), ref.sigma_posterior_cov_of_coef, { rtol: RTOL });
    expect(br.nIter).toBe(ref.n_iter_);
    expect(br.converged).toBe(true);
    expectClose(br.scores[br.scores.length - 1], ref.final_log_marginal_likelihood_score, { rtol: RTOL });
    const p = br.predict(Z, { returnStd: true });
    expectClose(p.mean, ref.predictive_mean, { rtol: RTOL });
    expectClose(p.std!, ref.predictive_std, { rtol: RTOL });
  });

  it('leaves the intercept unpenalised and can add its variance to predictions', () => {
    const br = new BayesianRidge().fit(Xz, Y);
    expectClose(br.intercept, fx.data.target_mean, { rtol: 1e-12 });
    const honest = new BayesianRidge({ interceptUncertainty: true }).fit(Xz, Y);
    const a = br.predict(Z, { returnStd: true }).std!;
    const b = honest.predict(Z, { returnStd: true }).std!;
    expectClose(Array.from(b, (v) => v * v), Array.from(a, (v) => v * v + 1 / (br.alpha * cars.n)), { rtol: 1e-12 });
  });

  it('reports non-convergence when maxIter is too small', () => {
    const br = new BayesianRidge({ maxIter: 1 }).fit(Xz, Y);
    expect(br.converged).toBe(false);
    expect(br.nIter).toBe(1);
  });

  it('gives finite results for constant targets and round-trips through JSON', () => {
    const br = new BayesianRidge().fit(Xz, new Float64Array(cars.n).fill(4));
    const p = br.predict(Z, { returnStd: true });
    for (const v of [...p.mean, ...p.std!, br.alpha, br.lambda]) expect(Number.isFinite(v)).toBe(true);
    expectClose(p.mean, new Array(Z.length).fill(4), { atol: 1e-9 });
    const fitted = new BayesianRidge().fit(Xz, Y);
    const back = BayesianRidge.fromJSON(JSON.parse(JSON.stringify(fitted.toJSON())));
    expect(Array.from(back.predict(Z, { returnStd: true }).std!)).toEqual(Array.from(fitted.predict(Z, { returnStd: true }).std!));
    expect(() => new BayesianRidge().predict(Z)).toThrow(NotFittedError);
  });
});

describe('leaks', () => {
  it('keeps tf.memory().numTensors flat over repeated fit / predict / sample', () => {
    const n0 = tf.memory().numTensors;
    for (let r = 0; r < 5; r++) {
      const m = new BayesianLinearRegression({ fitHyperparameters: 'evidence' }).fit(X, Y);
      m.predict(TEST, { returnStd: true, returnCov: true });
      m.sampleY(TEST, 3, { seed: r });
      new BayesianRidge().fit(X, Y).predict(TEST, { returnStd: true });
    }
    expect(tf.memory().numTensors).toBe(n0);
  });
});

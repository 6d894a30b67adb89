/**
 * Bayesian linear regression in float64.
 *
 * - {@link BayesianLinearRegression}: the conjugate model of Bishop's PRML §3.3, prior
 *   w ~ N(0, α⁻¹I) on every weight (the bias too), Gaussian noise of precision β; α and β fixed
 *   or re-estimated by evidence maximisation (PRML §3.5.2).
 * - {@link BayesianRidge}: scikit-learn's `BayesianRidge` (unpenalised intercept, gamma
 *   hyper-priors, MacKay updates, convergence on the change of the coefficients).
 *
 * Everything is solved through Cholesky factors (never an explicit normal-equation inverse
 * for the mean), with @x/tensor's `linalg`.
 */
import { NotFittedError, Rng, ValueError, assert, checkNumber, describe, linalg, type Mat } from '@x/tensor';
import { checkCols, matToRows, rowsToMat, toMatrix, toVector, type MatrixLike } from './input.js';

/** What `predict` returns: the mean, and the standard deviation / covariance when asked for. */
export interface Prediction {
  /** Predictive mean, one per row of `x`. */
  mean: Float64Array;
  /** Predictive standard deviation (with `returnStd`). */
  std?: Float64Array;
  /** Predictive covariance, `n × n` (with `returnCov`). */
  cov?: Mat;
}

/** Options of `predict`. */
export interface PredictOptions {
  /** Also return the standard deviation (default false). */
  returnStd?: boolean;
  /** Also return the full covariance between the rows of `x` (default false). */
  returnCov?: boolean;
  /** Add the observation noise 1/β to the variance (default true: predicts new targets, not the mean function). */
  includeNoise?: boolean;
}

/** Options of {@link BayesianLinearRegression}. */
export interface BayesianLinearRegressionOptions {
  /** Prior precision α of every weight (default 1). With `fitHyperparameters: 'evidence'`, the starting value. */
  alpha?: number;
  /** Noise precision β (default 1). With `fitHyperparameters: 'evidence'`, the starting value. */
  beta?: number;
  /** `'none'` (default): α, β fixed. `'evidence'`: re-estimated by PRML 3.5.2's fixed-point iteration. */
  fitHyperparameters?: 'none' | 'evidence';
  /** Prepend a column of ones (a bias weight, penalised like the others as in PRML) (default true). */
  bias?: boolean;
  /**
   * Standardise each feature with the training mean and population std (ddof 0) before the
   * prior applies (default true), so the prior does not depend on the units and the predictive
   * std is smallest at the centre of the data. A constant feature is only centred.
   */
  standardize?: boolean;
  /** Evidence iterations at most (default 1000). */
  maxIter?: number;
  /** Stop when α and β both change by less than `tol` relative (default 1e-12). */
  tol?: number;
}

/** Diagnostics of a {@link BayesianLinearRegression} fit. */
export interface BlrDiagnostics {
  /** Evidence iterations run (0 with `fitHyperparameters: 'none'`). */
  iterations: number;
  /** Whether the evidence iteration met `tol` (true with fixed α, β). */
  converged: boolean;
  /** Effective number of well-determined parameters γ = M − α·tr(S_N). */
  gamma: number;
  /** Log evidence after each evidence iteration (at the α, β that iteration used). */
  logEvidenceHistory: number[];
  /**
   * Hyperparameters that hit their safety range during evidence maximisation (α or β would go
   * to infinity, e.g. for targets that the model fits exactly, such as constant targets): the
   * value was held at the range's end, which is `1e12` times the natural scale.
   */
  atBound: ('alpha' | 'beta')[];
  /** Jitter added to A = αI + βΦᵀΦ by the Cholesky factorisation (0 unless A was near singular). */
  jitter: number;
}

interface BlrState {
  d: number;
  n: number;
  mean: Float64Array; // feature means (zeros without standardize)
  scale: Float64Array; // feature scales (ones without standardize)
  alpha: number;
  beta: number;
  m: Float64Array;
  S: Mat;
  logEvidence: number;
  diagnostics: BlrDiagnostics;
}

function checkOptional(fn: string, name: string, v: unknown, range: Parameters<typeof checkNumber>[3]): void {
  if (v !== undefined) checkNumber(fn, name, v, range);
}

/** Feature standardisation as in the fixture: mean and population std; a zero std becomes 1. */
function featureStats(x: Mat, standardize: boolean): { mean: Float64Array; scale: Float64Array } {
  const { rows: n, cols: d, data } = x;
  const mean = new Float64Array(d);
  const scale = new Float64Array(d).fill(1);
  if (!standardize) return { mean, scale };
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const ss = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const t = data[i * d + j] - mean[j];
      ss[j] += t * t;
    }
  }
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(ss[j] / n);
    scale[j] = s > 0 ? s : 1;
  }
  return { mean, scale };
}

function designMatrix(x: Mat, mean: Float64Array, scale: Float64Array, bias: boolean): Mat {
  const { rows: n, cols: d } = x;
  const M = d + (bias ? 1 : 0);
  const out = new Float64Array(n * M);
  const o = bias ? 1 : 0;
  for (let i = 0; i < n; i++) {
    if (bias) out[i * M] = 1;
    for (let j = 0; j < d; j++) out[i * M + o + j] = (x.data[i * d + j] - mean[j]) / scale[j];
  }
  return { rows: n, cols: M, data: out };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Row-wise quadratic forms φ_iᵀ S φ_i. */
function quadForms(P: Mat, S: Mat): Float64Array {
  const PS = linalg.matmul(P, S);
  const out = new Float64Array(P.rows);
  const M = P.cols;
  for (let i = 0; i < P.rows; i++) {
    let s = 0;
    for (let j = 0; j < M; j++) s += PS.data[i * M + j] * P.data[i * M + j];
    out[i] = s;
  }
  return out;
}

function sqrtNonNeg(v: Float64Array): Float64Array {
  // φᵀSφ with S positive definite is ≥ 0 up to round-off; max(·, 0) only removes -1e-17s.
  return v.map((t) => Math.sqrt(Math.max(t, 0)));
}

/** Draws `count` samples of N(mean, cov) as rows, through cov's Cholesky factor. */
function sampleMvn(mean: Float64Array, cov: Mat, count: number, rng: Rng): Mat {
  const M = mean.length;
  const { L } = linalg.cholesky(cov);
  const out = new Float64Array(count * M);
  const z = new Float64Array(M);
  for (let s = 0; s < count; s++) {
    for (let j = 0; j < M; j++) z[j] = rng.normal();
    for (let i = 0; i < M; i++) {
      let v = mean[i];
      for (let j = 0; j <= i; j++) v += L.data[i * M + j] * z[j];
      out[s * M + i] = v;
    }
  }
  return { rows: count, cols: M, data: out };
}

function checkSeed(fn: string, seed: unknown): Rng {
  if (seed instanceof Rng) return seed;
  if (typeof seed !== 'number') throw new TypeError(`${fn}: option 'seed' must be an integer or an Rng, got ${describe(seed)}`);
  return new Rng(seed);
}

function checkCount(fn: string, count: unknown): number {
  return checkNumber(fn, 'nSamples', count, { min: 1, integer: true });
}

/**
 * Conjugate Bayesian linear regression (Bishop, PRML §3.3): prior w ~ N(0, α⁻¹I) on all
 * weights including the bias, likelihood y ~ N(Φw, β⁻¹I). Posterior N(m_N, S_N) with
 * S_N = (αI + βΦᵀΦ)⁻¹ and m_N = β S_N Φᵀy; log evidence by PRML (3.86). With
 * `fitHyperparameters: 'evidence'`, α and β are re-estimated by PRML (3.92) and (3.95).
 *
 * @example
 * const hp = [130, 165, 150, 95, 97, 88], wt = [3504, 3693, 3436, 2372, 2130, 2130];
 * const mpg = [18, 15, 18, 24, 27, 27];
 * const x = hp.map((h, i) => [h, wt[i]]);
 * const blr = new BayesianLinearRegression({ fitHyperparameters: 'evidence' }).fit(x, mpg);
 * const { mean, std } = blr.predict([[100, 2500]], { returnStd: true });
 */
export class BayesianLinearRegression {
  private readonly opts: Required<BayesianLinearRegressionOptions>;
  private state: BlrState | undefined;

  /**
   * @param options - See {@link BayesianLinearRegressionOptions}. No work is done here.
   * @throws TypeError / ValueError if an option has the wrong type or range.
   */
  constructor(options: BayesianLinearRegressionOptions = {}) {
    const fn = 'BayesianLinearRegression';
    checkOptional(fn, 'alpha', options.alpha, { min: 0, minExclusive: true });
    checkOptional(fn, 'beta', options.beta, { min: 0, minExclusive: true });
    checkOptional(fn, 'maxIter', options.maxIter, { min: 1, integer: true });
    checkOptional(fn, 'tol', options.tol, { min: 0, minExclusive: true });
    const fh = options.fitHyperparameters ?? 'none';
    assert(fh === 'none' || fh === 'evidence', () => new ValueError(`${fn}: option 'fitHyperparameters' must be 'none' or 'evidence', got ${describe(fh)}`, 'fitHyperparameters'));
    for (const k of ['bias', 'standardize'] as const) {
      const v = options[k];
      if (v !== undefined && typeof v !== 'boolean') throw new TypeError(`${fn}: option '${k}' must be a boolean, got ${describe(v)}`);
    }
    this.opts = {
      alpha: options.alpha ?? 1,
      beta: options.beta ?? 1,
      fitHyperparameters: fh,
      bias: options.bias ?? true,
      standardize: options.standardize ?? true,
      maxIter: options.maxIter ?? 1000,
      tol: options.tol ?? 1e-12,
    };
  }

  /**
   * Computes the posterior (and re-estimates α, β with `fitHyperparameters: 'evidence'`).
   *
   * @param x - Inputs, `n × d` (rows), or a 1-D array for one feature.
   * @param y - Targets, length `n`.
   * @returns `this`.
   * @throws TypeError if `x` or `y` is not numeric; ShapeError if the lengths differ or `x` is
   *   ragged; NonFiniteError naming the array and index of a NaN or ±Infinity.
   */
  fit(x: MatrixLike, y: ArrayLike<number>): this {
    const fn = 'BayesianLinearRegression.fit';
    const X = toMatrix(fn, 'x', x);
    const Y = toVector(fn, 'y', y, X.rows);
    const { mean, scale } = featureStats(X, this.opts.standardize);
    const Phi = designMatrix(X, mean, scale, this.opts.bias);
    const PtP = linalg.matmul(Phi, Phi, { transA: true });
    const Pty = linalg.matvec(Phi, Y, { trans: true });
    const N = X.rows;
    const M = Phi.cols;
    const yy = dot(Y, Y);

    const solve = (alpha: number, beta: number) => {
      const A = linalg.addDiagonal(linalg.scale(PtP, beta), alpha);
      const { L, jitter } = linalg.cholesky(A);
      const m = linalg.choleskySolve(L, Pty).map((v) => v * beta);
      const S = linalg.inverseFromCholesky(L);
      // ‖y − Φm‖² = yᵀy − 2mᵀΦᵀy + mᵀΦᵀΦm, but computed directly to avoid cancellation.
      const r = linalg.matvec(Phi, m);
      let sse = 0;
      for (let i = 0; i < N; i++) sse += (Y[i] - r[i]) ** 2;
      const mm = dot(m, m);
      const E = (beta / 2) * sse + (alpha / 2) * mm;
      const logEv = (M / 2) * Math.log(alpha) + (N / 2) * Math.log(beta) - E - 0.5 * linalg.choleskyLogDet(L) - (N / 2) * Math.log(2 * Math.PI);
      let trS = 0;
      for (let i = 0; i < M; i++) trS += S.data[i * M + i];
      return { m, S, sse, mm, logEv, gamma: M - alpha * trS, jitter };
    };

    let alpha = this.opts.alpha;
    let beta = this.opts.beta;
    let iterations = 0;
    let converged = true;
    const history: number[] = [];
    const atBound = new Set<'alpha' | 'beta'>();
    if (this.opts.fitHyperparameters === 'evidence') {
      converged = false;
      // Safety range: α and β can run to infinity when the data are fitted exactly; the scale
      // of α is 1/(mean square target), of β 1/(target variance) (1 for all-zero targets).
      const ms = yy / N;
      let vy = 0;
      const my = Y.reduce((s, v) => s + v, 0) / N;
      for (let i = 0; i < N; i++) vy += (Y[i] - my) ** 2;
      vy /= N;
      const aScale = 1 / (ms > 0 ? ms : 1);
      const bScale = 1 / (vy > 0 ? vy : ms > 0 ? ms : 1);
      const clampTo = (v: number, s: number, name: 'alpha' | 'beta') => {
        const lo = 1e-12 * s;
        const hi = 1e12 * s;
        if (!(v <= hi)) {
          atBound.add(name);
          return hi;
        }
        if (v < lo) {
          atBound.add(name);
          return lo;
        }
        return v;
      };
      for (let it = 0; it < this.opts.maxIter; it++) {
        const s = solve(alpha, beta);
        history.push(s.logEv);
        iterations = it + 1;
        const gamma = s.gamma;
        const aNew = clampTo(gamma / s.mm, aScale, 'alpha');
        const bNew = clampTo((N - gamma) / s.sse, bScale, 'beta');
        const done = Math.abs(aNew - alpha) < this.opts.tol * alpha && Math.abs(bNew - beta) < this.opts.tol * beta;
        alpha = aNew;
        beta = bNew;
        if (done) {
          converged = true;
          break;
        }
      }
    }
    const s = solve(alpha, beta);
    this.state = {
      d: X.cols,
      n: N,
      mean,
      scale,
      alpha,
      beta,
      m: s.m,
      S: s.S,
      logEvidence: s.logEv,
      diagnostics: { iterations, converged, gamma: s.gamma, logEvidenceHistory: history, atBound: [...atBound], jitter: s.jitter },
    };
    return this;
  }

  private fitted(method: string): BlrState {
    if (!this.state) throw new NotFittedError('BayesianLinearRegression', method);
    return this.state;
  }

  /** Prior precision α (fixed, or the evidence-maximising value). @throws NotFittedError before fit. */
  get alpha(): number {
    return this.fitted('alpha').alpha;
  }

  /** Noise precision β. @throws NotFittedError before fit. */
  get beta(): number {
    return this.fitted('beta').beta;
  }

  /** Posterior mean m_N of the weights (bias first when `bias`), in standardised feature units. @throws NotFittedError before fit. */
  get posteriorMean(): Float64Array {
    return this.fitted('posteriorMean').m.slice();
  }

  /** Posterior covariance S_N of the weights. @throws NotFittedError before fit. */
  get posteriorCov(): Mat {
    const S = this.fitted('posteriorCov').S;
    return { rows: S.rows, cols: S.cols, data: S.data.slice() };
  }

  /** Log evidence ln p(y | α, β), PRML (3.86). @throws NotFittedError before fit. */
  get logEvidence(): number {
    return this.fitted('logEvidence').logEvidence;
  }

  /** Fit diagnostics (iterations, convergence, γ, evidence history, jitter). @throws NotFittedError before fit. */
  get diagnostics(): BlrDiagnostics {
    const d = this.fitted('diagnostics').diagnostics;
    return { ...d, logEvidenceHistory: d.logEvidenceHistory.slice(), atBound: d.atBound.slice() };
  }

  /**
   * The posterior mean as an intercept and per-feature slopes in the ORIGINAL feature units
   * (undoing the standardisation): ŷ = intercept + Σ_j coef_j · x_j.
   *
   * @returns `{ intercept, coef }`.
   * @throws NotFittedError before fit.
   */
  coefficients(): { intercept: number; coef: Float64Array } {
    const s = this.fitted('coefficients');
    const o = this.opts.bias ? 1 : 0;
    const coef = new Float64Array(s.d);
    let intercept = o ? s.m[0] : 0;
    for (let j = 0; j < s.d; j++) {
      coef[j] = s.m[o + j] / s.scale[j];
      intercept -= coef[j] * s.mean[j];
    }
    return { intercept, coef };
  }

  private design(fn: string, x: MatrixLike): Mat {
    const s = this.fitted(fn.split('.')[1]);
    const X = toMatrix(`BayesianLinearRegression.${fn.split('.')[1]}`, 'x', x);
    checkCols(`BayesianLinearRegression.${fn.split('.')[1]}`, 'x', X, s.d);
    return designMatrix(X, s.mean, s.scale, this.opts.bias);
  }

  /**
   * Predictive distribution at `x`: mean φᵀm_N, variance φᵀS_Nφ (+ 1/β with `includeNoise`).
   *
   * @param x - Inputs, `n × d`.
   * @param opts - `returnStd`, `returnCov`, `includeNoise` (default true).
   * @returns `{ mean, std?, cov? }`.
   * @throws NotFittedError before fit; ShapeError if `x` has the wrong number of columns;
   *   NonFiniteError for NaN/±Infinity in `x`.
   */
  predict(x: MatrixLike, opts: PredictOptions = {}): Prediction {
    const s = this.fitted('predict');
    const P = this.design('BayesianLinearRegression.predict', x);
    const mean = linalg.matvec(P, s.m);
    const out: Prediction = { mean };
    const noise = (opts.includeNoise ?? true) ? 1 / s.beta : 0;
    if (opts.returnStd) out.std = sqrtNonNeg(quadForms(P, s.S).map((v) => v + noise));
    if (opts.returnCov) {
      const cov = linalg.matmul(linalg.matmul(P, s.S), P, { transB: true });
      if (noise > 0) for (let i = 0; i < cov.rows; i++) cov.data[i * cov.rows + i] += noise;
      out.cov = cov;
    }
    return out;
  }

  /**
   * Draws weight vectors from the posterior N(m_N, S_N).
   *
   * @param nSamples - Number of draws (integer ≥ 1).
   * @param opts - `seed` (integer or an `Rng`, default 0): same seed, same draws.
   * @returns A `nSamples × M` matrix, one draw per row.
   * @throws NotFittedError before fit; ValueError for a bad count.
   */
  sampleWeights(nSamples: number, opts: { seed?: number | Rng } = {}): Mat {
    const s = this.fitted('sampleWeights');
    const fn = 'BayesianLinearRegression.sampleWeights';
    return sampleMvn(s.m, s.S, checkCount(fn, nSamples), checkSeed(fn, opts.seed ?? 0));
  }

  /**
   * Draws functions f(x) = φ(x)ᵀw with w from the posterior (noise-free; add N(0, 1/β) per
   * point for new targets), one draw per row.
   *
   * @param x - Inputs, `n × d`.
   * @param nSamples - Number of draws.
   * @param opts - `seed` (default 0).
   * @returns A `nSamples × n` matrix.
   * @throws NotFittedError before fit; ShapeError / NonFiniteError for bad `x`.
   */
  sampleY(x: MatrixLike, nSamples: number, opts: { seed?: number | Rng } = {}): Mat {
    const P = this.design('BayesianLinearRegression.sampleY', x);
    const W = this.sampleWeights(nSamples, opts);
    return linalg.matmul(W, P, { transB: true });
  }

  /** Plain-JSON form of the options and the fitted state. */
  toJSON(): BlrJSON {
    const s = this.state;
    return {
      type: 'BayesianLinearRegression',
      version: 1,
      options: { ...this.opts },
      state: s && {
        d: s.d,
        n: s.n,
        mean: Array.from(s.mean),
        scale: Array.from(s.scale),
        alpha: s.alpha,
        beta: s.beta,
        m: Array.from(s.m),
        S: matToRows(s.S),
        logEvidence: s.logEvidence,
        diagnostics: s.diagnostics,
      },
    };
  }

  /**
   * Rebuilds an estimator from {@link BayesianLinearRegression.toJSON}'s output.
   *
   * @throws ValueError if `json` is not a BayesianLinearRegression's JSON.
   */
  static fromJSON(json: BlrJSON): BayesianLinearRegression {
    assert(
      json !== null && typeof json === 'object' && json.type === 'BayesianLinearRegression' && json.version === 1,
      () => new ValueError(`BayesianLinearRegression.fromJSON: argument 'json' must come from BayesianLinearRegression.toJSON() (type, version 1), got ${describe((json as { type?: unknown })?.type)}`, 'json'),
    );
    const est = new BayesianLinearRegression(json.options);
    const s = json.state;
    if (s) {
      const M = s.m.length;
      est.state = {
        d: s.d,
        n: s.n,
        mean: Float64Array.from(s.mean),
        scale: Float64Array.from(s.scale),
        alpha: s.alpha,
        beta: s.beta,
        m: Float64Array.from(s.m),
        S: rowsToMat(s.S, M),
        logEvidence: s.logEvidence,
        diagnostics: s.diagnostics,
      };
    }
    return est;
  }
}

/** JSON form of a {@link BayesianLinearRegression}. */
export interface BlrJSON {
  type: 'BayesianLinearRegression';
  version: 1;
  options: Required<BayesianLinearRegressionOptions>;
  state?: {
    d: number;
    n: number;
    mean: number[];
    scale: number[];
    alpha: number;
    beta: number;
    m: number[];
    S: number[][];
    logEvidence: number;
    diagnostics: BlrDiagnostics;
  };
}

// ---------------------------------------------------------------------------------------------

/** Options of {@link BayesianRidge} (scikit-learn's names in camelCase, and its defaults). */
export interface BayesianRidgeOptions {
  /** Maximum iterations (sklearn `n_iter`, default 300). */
  maxIter?: number;
  /** Stop when Σ|coef − coef_old| < tol (default 1e-3). */
  tol?: number;
  /** Gamma prior shape on the NOISE precision (sklearn `alpha_1`, default 1e-6). */
  alpha1?: number;
  /** Gamma prior rate on the NOISE precision (sklearn `alpha_2`, default 1e-6). */
  alpha2?: number;
  /** Gamma prior shape on the WEIGHT precision (sklearn `lambda_1`, default 1e-6). */
  lambda1?: number;
  /** Gamma prior rate on the WEIGHT precision (sklearn `lambda_2`, default 1e-6). */
  lambda2?: number;
  /** Initial noise precision (default 1/(var(y) + ε), as sklearn). */
  alphaInit?: number;
  /** Initial weight precision (default 1). */
  lambdaInit?: number;
  /** Fit an unpenalised intercept by centring x and y (default true). */
  fitIntercept?: boolean;
  /**
   * Add the intercept's own posterior variance 1/(α·n) to predictions (default false, as
   * scikit-learn, which treats the intercept as known). True is the honest choice for a flat
   * prior on the intercept.
   */
  interceptUncertainty?: boolean;
}

interface RidgeState {
  d: number;
  xOffset: Float64Array;
  yOffset: number;
  n: number;
  alpha: number; // noise precision (sklearn alpha_)
  lambda: number; // weight precision (sklearn lambda_)
  coef: Float64Array;
  sigma: Mat;
  intercept: number;
  nIter: number;
  converged: boolean;
  scores: number[];
}

/**
 * scikit-learn's `BayesianRidge` (1.2): MacKay's evidence updates with gamma hyper-priors,
 * intercept unpenalised (x and y centred), convergence when the coefficients move less than
 * `tol`. Careful with the letters, which are scikit-learn's: `alpha` is the NOISE precision and
 * `lambda` the WEIGHT precision (the opposite of Bishop's). The predictive variance uses the
 * centred input (x − x̄)ᵀΣ(x − x̄) + 1/α, which is scikit-learn's value whenever the training
 * features are centred.
 *
 * @example
 * const br = new BayesianRidge().fit([[0], [1], [2], [3]], [0.1, 0.9, 2.1, 2.9]);
 * br.coef;       // ≈ [0.94]
 * br.converged;  // true
 */
export class BayesianRidge {
  private readonly opts: Required<Omit<BayesianRidgeOptions, 'alphaInit'>> & { alphaInit?: number };
  private state: RidgeState | undefined;

  /**
   * @param options - See {@link BayesianRidgeOptions}. No work is done here.
   * @throws TypeError / ValueError for an option of the wrong type or range.
   */
  constructor(options: BayesianRidgeOptions = {}) {
    const fn = 'BayesianRidge';
    checkOptional(fn, 'maxIter', options.maxIter, { min: 1, integer: true });
    checkOptional(fn, 'tol', options.tol, { min: 0 });
    for (const k of ['alpha1', 'alpha2', 'lambda1', 'lambda2'] as const) checkOptional(fn, k, options[k], { min: 0 });
    checkOptional(fn, 'alphaInit', options.alphaInit, { min: 0, minExclusive: true });
    checkOptional(fn, 'lambdaInit', options.lambdaInit, { min: 0, minExclusive: true });
    for (const k of ['fitIntercept', 'interceptUncertainty'] as const) {
      const v = options[k];
      if (v !== undefined && typeof v !== 'boolean') throw new TypeError(`${fn}: option '${k}' must be a boolean, got ${describe(v)}`);
    }
    this.opts = {
      maxIter: options.maxIter ?? 300,
      tol: options.tol ?? 1e-3,
      alpha1: options.alpha1 ?? 1e-6,
      alpha2: options.alpha2 ?? 1e-6,
      lambda1: options.lambda1 ?? 1e-6,
      lambda2: options.lambda2 ?? 1e-6,
      alphaInit: options.alphaInit,
      lambdaInit: options.lambdaInit ?? 1,
      fitIntercept: options.fitIntercept ?? true,
      interceptUncertainty: options.interceptUncertainty ?? false,
    };
  }

  /**
   * Runs the evidence iterations.
   *
   * @param x - Inputs, `n × d`.
   * @param y - Targets, length `n`.
   * @returns `this`.
   * @throws TypeError / ShapeError / NonFiniteError for bad `x` or `y`.
   */
  fit(x: MatrixLike, y: ArrayLike<number>): this {
    const fn = 'BayesianRidge.fit';
    const X = toMatrix(fn, 'x', x);
    const Y = toVector(fn, 'y', y, X.rows);
    const n = X.rows;
    const d = X.cols;
    const o = this.opts;
    const xOffset = new Float64Array(d);
    let yOffset = 0;
    if (o.fitIntercept) {
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xOffset[j] += X.data[i * d + j];
      for (let j = 0; j < d; j++) xOffset[j] /= n;
      for (let i = 0; i < n; i++) yOffset += Y[i];
      yOffset /= n;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < d; j++) X.data[i * d + j] -= xOffset[j];
        Y[i] -= yOffset;
      }
    }
    const XtX = linalg.matmul(X, X, { transA: true });
    const Xty = linalg.matvec(X, Y, { trans: true });
    let vy = 0;
    let my = 0;
    for (let i = 0; i < n; i++) my += Y[i];
    my /= n;
    for (let i = 0; i < n; i++) vy += (Y[i] - my) ** 2;
    vy /= n;
    let alpha = o.alphaInit ?? 1 / (vy + Number.EPSILON);
    let lambda = o.lambdaInit;

    // Posterior at (α, λ): Σ = (αXᵀX + λI)⁻¹, coef = αΣXᵀy. sklearn gets the same from an SVD.
    const posterior = (a: number, l: number) => {
      const A = linalg.addDiagonal(linalg.scale(XtX, a), l);
      const { L } = linalg.cholesky(A);
      const coef = linalg.choleskySolve(L, Xty).map((v) => v * a);
      const r = linalg.matvec(X, coef);
      let rmse = 0;
      for (let i = 0; i < n; i++) rmse += (Y[i] - r[i]) ** 2;
      return { L, coef, rmse };
    };
    const score = (a: number, l: number, L: Mat, coef: Float64Array, rmse: number) => {
      // sklearn's _log_marginal_likelihood; logdet Σ = −log det(αXᵀX + λI).
      const logdetSigma = -linalg.choleskyLogDet(L);
      let s = o.lambda1 * Math.log(l) - o.lambda2 * l + o.alpha1 * Math.log(a) - o.alpha2 * a;
      s += 0.5 * (d * Math.log(l) + n * Math.log(a) - a * rmse - l * dot(coef, coef) + logdetSigma - n * Math.log(2 * Math.PI));
      return s;
    };
    const traceSigma = (L: Mat) => {
      const S = linalg.inverseFromCholesky(L);
      let t = 0;
      for (let i = 0; i < d; i++) t += S.data[i * d + i];
      return t;
    };

    const scores: number[] = [];
    let coefOld: Float64Array | undefined;
    let coef = new Float64Array(d);
    let converged = false;
    let it = 0;
    for (it = 0; it < o.maxIter; it++) {
      const p = posterior(alpha, lambda);
      coef = p.coef;
      scores.push(score(alpha, lambda, p.L, p.coef, p.rmse));
      // γ = Σ αe/(λ + αe) over the eigenvalues e of XᵀX = d − λ·tr(Σ).
      const gamma = d - lambda * traceSigma(p.L);
      lambda = (gamma + 2 * o.lambda1) / (dot(coef, coef) + 2 * o.lambda2);
      alpha = (n - gamma + 2 * o.alpha1) / (p.rmse + 2 * o.alpha2);
      if (coefOld) {
        let change = 0;
        for (let j = 0; j < d; j++) change += Math.abs(coefOld[j] - coef[j]);
        if (change < o.tol) {
          converged = true;
          break;
        }
      }
      coefOld = coef.slice();
    }
    const nIter = Math.min(it + 1, o.maxIter);
    const p = posterior(alpha, lambda);
    scores.push(score(alpha, lambda, p.L, p.coef, p.rmse));
    const sigma = linalg.inverseFromCholesky(p.L);
    let intercept = yOffset;
    for (let j = 0; j < d; j++) intercept -= xOffset[j] * p.coef[j];
    this.state = { d, xOffset, yOffset, n, alpha, lambda, coef: p.coef, sigma, intercept, nIter, converged, scores };
    return this;
  }

  private fitted(method: string): RidgeState {
    if (!this.state) throw new NotFittedError('BayesianRidge', method);
    return this.state;
  }

  /** Noise precision (sklearn `alpha_`). @throws NotFittedError before fit. */
  get alpha(): number {
    return this.fitted('alpha').alpha;
  }
  /** Weight precision (sklearn `lambda_`). @throws NotFittedError before fit. */
  get lambda(): number {
    return this.fitted('lambda').lambda;
  }
  /** Posterior mean of the slopes (sklearn `coef_`). @throws NotFittedError before fit. */
  get coef(): Float64Array {
    return this.fitted('coef').coef.slice();
  }
  /** Intercept (sklearn `intercept_`). @throws NotFittedError before fit. */
  get intercept(): number {
    return this.fitted('intercept').intercept;
  }
  /** Posterior covariance of the slopes (sklearn `sigma_`). @throws NotFittedError before fit. */
  get sigma(): Mat {
    const s = this.fitted('sigma').sigma;
    return { rows: s.rows, cols: s.cols, data: s.data.slice() };
  }
  /** Iterations run (sklearn `n_iter_`). @throws NotFittedError before fit. */
  get nIter(): number {
    return this.fitted('nIter').nIter;
  }
  /** Whether the coefficients met `tol` before `maxIter`. @throws NotFittedError before fit. */
  get converged(): boolean {
    return this.fitted('converged').converged;
  }
  /**
   * Log marginal likelihood (with the gamma hyper-prior terms) at each iteration and, last, at
   * the final α, λ and coefficients (sklearn `scores_` with `compute_score=True`).
   * @throws NotFittedError before fit.
   */
  get scores(): number[] {
    return this.fitted('scores').scores.slice();
  }

  /**
   * Predictive mean and (optionally) std / covariance.
   *
   * @param x - Inputs, `n × d`.
   * @param opts - `returnStd`, `returnCov`, `includeNoise` (default true: adds 1/α).
   * @returns `{ mean, std?, cov? }`.
   * @throws NotFittedError before fit; ShapeError / NonFiniteError for bad `x`.
   */
  predict(x: MatrixLike, opts: PredictOptions = {}): Prediction {
    const s = this.fitted('predict');
    const fn = 'BayesianRidge.predict';
    const X = toMatrix(fn, 'x', x);
    checkCols(fn, 'x', X, s.d);
    const mean = linalg.matvec(X, s.coef).map((v) => v + s.intercept);
    const out: Prediction = { mean };
    const Xc = { rows: X.rows, cols: s.d, data: X.data.map((v, i) => v - s.xOffset[i % s.d]) };
    let extra = (opts.includeNoise ?? true) ? 1 / s.alpha : 0;
    if (this.opts.interceptUncertainty && this.opts.fitIntercept) extra += 1 / (s.alpha * s.n);
    if (opts.returnStd) out.std = sqrtNonNeg(quadForms(Xc, s.sigma).map((v) => v + extra));
    if (opts.returnCov) {
      const cov = linalg.matmul(linalg.matmul(Xc, s.sigma), Xc, { transB: true });
      const noise = (opts.includeNoise ?? true) ? 1 / s.alpha : 0;
      const iv = this.opts.interceptUncertainty && this.opts.fitIntercept ? 1 / (s.alpha * s.n) : 0;
      for (let i = 0; i < cov.data.length; i++) cov.data[i] += iv;
      for (let i = 0; i < cov.rows; i++) cov.data[i * cov.rows + i] += noise;
      out.cov = cov;
    }
    return out;
  }

  /** Plain-JSON form of the options and fitted state. */
  toJSON(): BayesianRidgeJSON {
    const s = this.state;
    return {
      type: 'BayesianRidge',
      version: 1,
      options: { ...this.opts },
      state: s && {
        d: s.d,
        n: s.n,
        xOffset: Array.from(s.xOffset),
        yOffset: s.yOffset,
        alpha: s.alpha,
        lambda: s.lambda,
        coef: Array.from(s.coef),
        sigma: matToRows(s.sigma),
        intercept: s.intercept,
        nIter: s.nIter,
        converged: s.converged,
        scores: s.scores,
      },
    };
  }

  /**
   * Rebuilds an estimator from {@link BayesianRidge.toJSON}'s output.
   * @throws ValueError if `json` is not a BayesianRidge's JSON.
   */
  static fromJSON(json: BayesianRidgeJSON): BayesianRidge {
    assert(
      json !== null && typeof json === 'object' && json.type === 'BayesianRidge' && json.version === 1,
      () => new ValueError(`BayesianRidge.fromJSON: argument 'json' must come from BayesianRidge.toJSON() (type, version 1), got ${describe((json as { type?: unknown })?.type)}`, 'json'),
    );
    const est = new BayesianRidge(json.options);
    const s = json.state;
    if (s) {
      est.state = {
        d: s.d,
        n: s.n,
        xOffset: Float64Array.from(s.xOffset),
        yOffset: s.yOffset,
        alpha: s.alpha,
        lambda: s.lambda,
        coef: Float64Array.from(s.coef),
        sigma: rowsToMat(s.sigma, s.d),
        intercept: s.intercept,
        nIter: s.nIter,
        converged: s.converged,
        scores: s.scores.slice(),
      };
    }
    return est;
  }
}

/** JSON form of a {@link BayesianRidge}. */
export interface BayesianRidgeJSON {
  type: 'BayesianRidge';
  version: 1;
  options: BayesianRidgeOptions;
  state?: {
    d: number;
    n: number;
    xOffset: number[];
    yOffset: number;
    alpha: number;
    lambda: number;
    coef: number[];
    sigma: number[][];
    intercept: number;
    nIter: number;
    converged: boolean;
    scores: number[];
  };
}

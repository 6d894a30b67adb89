/**
 * Exact Gaussian process regression in float64 (Rasmussen & Williams, Algorithm 2.1), with
 * scikit-learn's conventions: `alpha` added to the diagonal, optional `normalizeY`, log marginal
 * likelihood and its gradient in log-parameter space, hyperparameters fitted by a bounded
 * quasi-Newton method from the kernel's initial values plus seeded random restarts.
 */
import { NotFittedError, NotPositiveDefiniteError, Rng, ValueError, XError, assert, checkNumber, describe, linalg, type Mat } from '@x/tensor';
import { checkCols, matToRows, rowsToMat, standardizeInPlace, toMatrix, toVector, type MatrixLike } from './input.js';
import { ConstantKernel, Kernel, RBF, kernelFromJSON, type KernelJSON } from './kernels.js';
import { inverseSpd } from './inverse.js';
import { minimizeBounded, type MinimizeResult } from './optimize.js';
import type { Prediction, PredictOptions } from './blr.js';

/** A predictive variance was negative beyond round-off: the kernel or the data are not what they claim. */
export class NegativeVarianceError extends XError {
  /** Row of the prediction input. */
  readonly index: number;
  /** The variance computed there. */
  readonly variance: number;
  constructor(message: string, fields: { index: number; variance: number }) {
    super(message);
    this.name = 'NegativeVarianceError';
    this.index = fields.index;
    this.variance = fields.variance;
  }
}

/** Options of {@link GaussianProcessRegressor}. */
export interface GaussianProcessRegressorOptions {
  /** Prior covariance (default `ConstantKernel(1, fixed) * RBF(1, fixed)`, as scikit-learn). */
  kernel?: Kernel;
  /** Added to the diagonal of K at fit (a noise variance, or jitter); a number or one per sample (default 1e-10). */
  alpha?: number | ArrayLike<number>;
  /** Standardise y (mean, population std) before fitting; a constant y is only centred (default false). */
  normalizeY?: boolean;
  /** `'lbfgsb'` (default): fit the free hyperparameters; `null`: keep the kernel as given. */
  optimizer?: 'lbfgsb' | null;
  /** Extra optimizer runs from log-uniform random points within the bounds (default 0). */
  nRestartsOptimizer?: number;
  /** Seed of the restarts and of `sampleY`'s default stream (default 0). */
  seed?: number;
  /** Optimizer iteration limit per run (default 1000). */
  maxIter?: number;
  /**
   * Negative predictive variances larger in size than this times the prior variance k(x, x)
   * throw {@link NegativeVarianceError}; smaller ones are round-off, set to 0 and counted in
   * `diagnostics.clampedVariances` (default 1e-6).
   */
  negativeVarianceTol?: number;
}

/** What {@link GaussianProcessRegressor.diagnostics} reports. */
export interface GpDiagnostics {
  /** Jitter that the Cholesky factorisation of K + alpha·I needed (0 normally; > 0 e.g. for duplicate inputs without noise). */
  jitter: number;
  /** Every jitter tried at the final factorisation. */
  jitterTries: number[];
  /** Tiny negative predictive variances set to 0 so far (round-off). */
  clampedVariances: number;
  /** Optimizer runs (the first from the kernel's initial values), or empty without optimisation. */
  optimizerRuns: { start: number[]; theta: number[]; logMarginalLikelihood: number; iterations: number; evaluations: number; converged: boolean; message: string }[];
  /** Target mean and std used by `normalizeY` (0 and 1 without it). */
  yMean: number;
  yStd: number;
}

interface GpState {
  X: Mat;
  y: Float64Array; // (normalised) targets
  kernel: Kernel;
  L: Mat;
  alphaVec: Float64Array; // (K + αI)⁻¹ y
  lml: number;
  diag: GpDiagnostics;
}

/**
 * Gaussian process regression.
 *
 * @example
 * const kernel = new ConstantKernel({ value: 1 }).mul(new RBF({ lengthScale: 1 })).add(new WhiteKernel({ noiseLevel: 0.1 }));
 * const gp = new GaussianProcessRegressor({ kernel, normalizeY: true }).fit([[0], [1], [2], [3]], [0, 0.8, 0.9, 0.1]);
 * const { mean, std } = gp.predict([[1.5]], { returnStd: true });
 */
export class GaussianProcessRegressor {
  private readonly opts: Required<Omit<GaussianProcessRegressorOptions, 'alpha' | 'optimizer'>> & { alpha: number | Float64Array; optimizer: 'lbfgsb' | null };
  private state: GpState | undefined;

  /**
   * @param options - See {@link GaussianProcessRegressorOptions}. No work is done here.
   * @throws TypeError / ValueError for an option of the wrong type or range.
   */
  constructor(options: GaussianProcessRegressorOptions = {}) {
    const fn = 'GaussianProcessRegressor';
    if (options.kernel !== undefined && !(options.kernel instanceof Kernel)) throw new TypeError(`${fn}: option 'kernel' must be a Kernel, got ${describe(options.kernel)}`);
    let alpha: number | Float64Array = 1e-10;
    if (typeof options.alpha === 'number') alpha = checkNumber(fn, 'alpha', options.alpha, { min: 0 });
    else if (options.alpha !== undefined) {
      if (typeof (options.alpha as ArrayLike<number>).length !== 'number') throw new TypeError(`${fn}: option 'alpha' must be a number or an array, got ${describe(options.alpha)}`);
      alpha = Float64Array.from(options.alpha as ArrayLike<number>);
      alpha.forEach((v, i) => assert(Number.isFinite(v) && v >= 0, () => new ValueError(`${fn}: option 'alpha' must hold finite numbers >= 0, got ${v} at index ${i}`, 'alpha')));
    }
    const opt = options.optimizer === undefined ? 'lbfgsb' : options.optimizer;
    assert(opt === 'lbfgsb' || opt === null, () => new ValueError(`${fn}: option 'optimizer' must be 'lbfgsb' or null, got ${describe(opt)}`, 'optimizer'));
    if (options.normalizeY !== undefined && typeof options.normalizeY !== 'boolean') throw new TypeError(`${fn}: option 'normalizeY' must be a boolean, got ${describe(options.normalizeY)}`);
    if (options.nRestartsOptimizer !== undefined) checkNumber(fn, 'nRestartsOptimizer', options.nRestartsOptimizer, { min: 0, integer: true });
    if (options.seed !== undefined) checkNumber(fn, 'seed', options.seed, { integer: true });
    if (options.maxIter !== undefined) checkNumber(fn, 'maxIter', options.maxIter, { min: 1, integer: true });
    if (options.negativeVarianceTol !== undefined) checkNumber(fn, 'negativeVarianceTol', options.negativeVarianceTol, { min: 0 });
    this.opts = {
      kernel: options.kernel ?? new ConstantKernel({ value: 1, valueBounds: 'fixed' }).mul(new RBF({ lengthScale: 1, lengthScaleBounds: 'fixed' })),
      alpha,
      normalizeY: options.normalizeY ?? false,
      optimizer: opt,
      nRestartsOptimizer: options.nRestartsOptimizer ?? 0,
      seed: options.seed ?? 0,
      maxIter: options.maxIter ?? 1000,
      negativeVarianceTol: options.negativeVarianceTol ?? 1e-6,
    };
  }

  private addAlpha(K: Mat): void {
    const n = K.rows;
    const a = this.opts.alpha;
    for (let i = 0; i < n; i++) K.data[i * n + i] += typeof a === 'number' ? a : a[i];
  }

  /** LML (and gradient) of `kernel` on (X, y); `null` if K is not positive definite even with jitter. */
  private lmlAt(kernel: Kernel, X: Mat, y: Float64Array, gradient: boolean) {
    const { K, grads } = kernel.compute(X, null, { gradient });
    this.addAlpha(K);
    let chol;
    try {
      chol = linalg.cholesky(K, { check: false });
    } catch (e) {
      if (e instanceof NotPositiveDefiniteError) return null;
      throw e;
    }
    const { L } = chol;
    const a = linalg.choleskySolve(L, y);
    const n = X.rows;
    let yAy = 0;
    for (let i = 0; i < n; i++) yAy += y[i] * a[i];
    const lml = -0.5 * yAy - 0.5 * linalg.choleskyLogDet(L) - (n / 2) * Math.log(2 * Math.PI);
    let grad: Float64Array | undefined;
    if (gradient) {
      // ∂LML/∂θ_p = ½ tr((ααᵀ − K⁻¹) ∂K/∂θ_p); W is symmetric, so sum the lower triangle twice.
      const W = inverseSpd(L).data;
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) W[i * n + j] = a[i] * a[j] - W[i * n + j];
      grad = new Float64Array(grads.length);
      grads.forEach((G, p) => {
        const g = G.data;
        let s = 0;
        for (let i = 0; i < n; i++) {
          const r = i * n;
          s += 0.5 * W[r + i] * g[r + i];
          for (let j = 0; j < i; j++) s += W[r + j] * g[r + j];
        }
        grad![p] = s;
      });
    }
    return { lml, grad, L, a, jitter: chol.jitter, tries: chol.tries };
  }

  /**
   * Fits the GP: normalises y (with `normalizeY`), fits the kernel's free hyperparameters by
   * maximising the log marginal likelihood (with `optimizer: 'lbfgsb'`), and factorises K.
   *
   * @param x - Inputs, `n × d` (or a 1-D array for one feature).
   * @param y - Targets, length `n`.
   * @returns `this`.
   * @throws TypeError / ShapeError / NonFiniteError (naming the array and index) for bad input;
   *   ShapeError if a per-sample `alpha` has the wrong length; ValueError if the kernel does not
   *   fit the input dimension; NotPositiveDefiniteError if K + alpha·I cannot be factorised
   *   even with jitter at the final hyperparameters.
   */
  fit(x: MatrixLike, y: ArrayLike<number>): this {
    const fn = 'GaussianProcessRegressor.fit';
    const X = toMatrix(fn, 'x', x);
    const Y = toVector(fn, 'y', y, X.rows);
    const n = X.rows;
    const a = this.opts.alpha;
    if (typeof a !== 'number' && a.length !== n) throw new ValueError(`${fn}: option 'alpha' has ${a.length} entries but 'x' has ${n} rows`, 'alpha');
    let yMean = 0;
    let yStd = 1;
    if (this.opts.normalizeY) ({ mean: yMean, std: yStd } = standardizeInPlace(Y));
    let kernel = this.opts.kernel;
    const runs: GpDiagnostics['optimizerRuns'] = [];
    const theta0 = kernel.theta;
    if (this.opts.optimizer === 'lbfgsb' && theta0.length > 0) {
      const bounds = kernel.bounds;
      const lo = Float64Array.from(bounds, (b) => b[0]);
      const hi = Float64Array.from(bounds, (b) => b[1]);
      const objective = (t: Float64Array) => {
        const r = this.lmlAt(kernel.withTheta(t), X, Y, true);
        if (!r || !Number.isFinite(r.lml)) return { f: Infinity, g: new Float64Array(t.length) };
        return { f: -r.lml, g: r.grad!.map((v) => -v) };
      };
      const starts: Float64Array[] = [theta0];
      const rng = new Rng(this.opts.seed);
      for (let r = 0; r < this.opts.nRestartsOptimizer; r++) starts.push(Float64Array.from(bounds, ([l, h]) => rng.uniform(l, h)));
      let best: MinimizeResult | undefined;
      for (const start of starts) {
        const res = minimizeBounded(objective, start, lo, hi, { maxIter: this.opts.maxIter });
        runs.push({
          start: Array.from(start),
          theta: Array.from(res.x),
          logMarginalLikelihood: -res.f,
          iterations: res.iterations,
          evaluations: res.evaluations,
          converged: res.converged,
          message: res.message,
        });
        if (Number.isFinite(res.f) && (!best || res.f < best.f)) best = res;
      }
      if (!best) {
        throw new NotPositiveDefiniteError(`${fn}: K + alpha·I is not positive definite at any start of the optimizer, even with jitter`, { diagonalMin: NaN, tries: [], column: -1 });
      }
      kernel = kernel.withTheta(best.x);
    }
    const r = this.lmlAt(kernel, X, Y, false);
    if (!r) {
      // Re-run to get the factorisation's own error with its details.
      const { K } = kernel.compute(X);
      this.addAlpha(K);
      linalg.cholesky(K);
      throw new Error('unreachable');
    }
    this.state = {
      X,
      y: Y,
      kernel,
      L: r.L,
      alphaVec: r.a,
      lml: r.lml,
      diag: { jitter: r.jitter, jitterTries: r.tries, clampedVariances: 0, optimizerRuns: runs, yMean, yStd },
    };
    return this;
  }

  private fitted(method: string): GpState {
    if (!this.state) throw new NotFittedError('GaussianProcessRegressor', method);
    return this.state;
  }

  /** The kernel with the fitted hyperparameters (sklearn `kernel_`). @throws NotFittedError before fit. */
  get fittedKernel(): Kernel {
    return this.fitted('fittedKernel').kernel;
  }

  /** Log marginal likelihood at the fitted hyperparameters, of the (normalised) targets. @throws NotFittedError before fit. */
  get logMarginalLikelihoodValue(): number {
    return this.fitted('logMarginalLikelihoodValue').lml;
  }

  /** Fit and prediction diagnostics (jitter, clamped variances, optimizer runs). @throws NotFittedError before fit. */
  get diagnostics(): GpDiagnostics {
    const d = this.fitted('diagnostics').diag;
    return { ...d, jitterTries: d.jitterTries.slice(), optimizerRuns: d.optimizerRuns.map((r) => ({ ...r })) };
  }

  /**
   * Log marginal likelihood of the training targets (normalised with `normalizeY`) at log
   * hyperparameters `theta` (default: the fitted ones), and its gradient d LML / d theta.
   *
   * @param theta - Log hyperparameters in the kernel's `theta` order.
   * @param opts - `gradient` (default false).
   * @returns `{ value, gradient? }`; value −Infinity if K is not positive definite.
   * @throws NotFittedError before fit; ShapeError if `theta` has the wrong length.
   */
  logMarginalLikelihood(theta?: ArrayLike<number>, opts: { gradient?: boolean } = {}): { value: number; gradient?: Float64Array } {
    const s = this.fitted('logMarginalLikelihood');
    if (theta === undefined && !opts.gradient) return { value: s.lml };
    const k = theta === undefined ? s.kernel : this.opts.kernel.withTheta(theta);
    const r = this.lmlAt(k, s.X, s.y, !!opts.gradient);
    if (!r) return { value: -Infinity, gradient: opts.gradient ? new Float64Array(k.theta.length).fill(NaN) : undefined };
    return opts.gradient ? { value: r.lml, gradient: r.grad } : { value: r.lml };
  }

  /** Clamps round-off negatives (counted), throws on real ones. */
  private checkVariance(fn: string, v: Float64Array, prior: Float64Array): void {
    const s = this.state!;
    for (let i = 0; i < v.length; i++) {
      if (v[i] >= 0) continue;
      if (!(v[i] >= -this.opts.negativeVarianceTol * Math.max(prior[i], Number.MIN_VALUE))) {
        throw new NegativeVarianceError(
          `${fn}: the predictive variance at row ${i} of 'x' is ${v[i]}, negative beyond round-off (prior variance ${prior[i]}, tolerance ${this.opts.negativeVarianceTol} of it): the kernel is not positive semi-definite or K is badly conditioned`,
          { index: i, variance: v[i] },
        );
      }
      v[i] = 0;
      s.diag.clampedVariances++;
    }
  }

  /**
   * Predictive distribution at `x`: mean K*α, and with `returnStd` / `returnCov` the
   * covariance K** − K*K⁻¹K*ᵀ, in the units of y.
   *
   * @param x - Inputs, `m × d`.
   * @param opts - `returnStd`, `returnCov`, `includeNoise` (default true: white-noise terms of
   *   the kernel count, as scikit-learn; false gives the latent function's uncertainty).
   * @returns `{ mean, std?, cov? }`.
   * @throws NotFittedError before fit; ShapeError / NonFiniteError for bad `x`;
   *   NegativeVarianceError if a variance is negative beyond round-off.
   */
  predict(x: MatrixLike, opts: PredictOptions = {}): Prediction {
    const fn = 'GaussianProcessRegressor.predict';
    const s = this.fitted('predict');
    const Xs = toMatrix(fn, 'x', x);
    checkCols(fn, 'x', Xs, s.X.cols);
    const { yMean, yStd } = s.diag;
    const Ks = s.kernel.compute(Xs, s.X).K; // m × n
    const m = Xs.rows;
    const n = s.X.rows;
    const mean = linalg.matvec(Ks, s.alphaVec).map((v) => v * yStd + yMean);
    const out: Prediction = { mean };
    if (!opts.returnStd && !opts.returnCov) return out;
    const noise = opts.includeNoise ?? true;
    // W = K* L⁻ᵀ (m × n): row i is L⁻¹k(X, x_i), so var_i = k(x_i, x_i) − ‖W_i‖² (a multi-RHS
    // triangular solve in @x/tensor's WebAssembly kernels).
    const W = linalg.solveLowerRows(s.L, Ks, { check: false });
    const Wd = W.data;
    const prior = s.kernel.diag(Xs, { noise });
    if (opts.returnStd) {
      const v = prior.slice();
      for (let i = 0; i < m; i++) {
        const r = i * n;
        let q0 = 0;
        let q1 = 0;
        let j = 0;
        for (; j + 1 < n; j += 2) {
          q0 += Wd[r + j] * Wd[r + j];
          q1 += Wd[r + j + 1] * Wd[r + j + 1];
        }
        if (j < n) q0 += Wd[r + j] * Wd[r + j];
        v[i] -= q0 + q1;
      }
      this.checkVariance(fn, v, prior);
      out.std = v.map((t) => Math.sqrt(t) * yStd);
    }
    if (opts.returnCov) {
      const C = s.kernel.compute(Xs, null, { noise }).K;
      const WWt = linalg.matmul(W, W, { transB: true });
      for (let i = 0; i < C.data.length; i++) C.data[i] -= WWt.data[i];
      const d = new Float64Array(m);
      for (let i = 0; i < m; i++) d[i] = C.data[i * m + i];
      this.checkVariance(fn, d, prior);
      for (let i = 0; i < m; i++) C.data[i * m + i] = d[i];
      for (let i = 0; i < C.data.length; i++) C.data[i] *= yStd * yStd;
      out.cov = C;
    }
    return out;
  }

  /**
   * Draws functions from the posterior at `x` (one draw per row), through the Cholesky factor
   * of the predictive covariance (with adaptive jitter, as posterior covariances are often
   * singular).
   *
   * @param x - Inputs, `m × d`.
   * @param nSamples - Number of draws (integer ≥ 1).
   * @param opts - `seed` (integer or Rng; default the estimator's `seed`), `includeNoise` (default false).
   * @returns A `nSamples × m` matrix.
   * @throws NotFittedError before fit; ValueError for a bad count; as {@link predict}.
   */
  sampleY(x: MatrixLike, nSamples: number, opts: { seed?: number | Rng; includeNoise?: boolean } = {}): Mat {
    const fn = 'GaussianProcessRegressor.sampleY';
    this.fitted('sampleY');
    const count = checkNumber(fn, 'nSamples', nSamples, { min: 1, integer: true });
    const seed = opts.seed ?? this.opts.seed;
    if (!(seed instanceof Rng) && typeof seed !== 'number') throw new TypeError(`${fn}: option 'seed' must be an integer or an Rng, got ${describe(seed)}`);
    const rng = seed instanceof Rng ? seed : new Rng(seed);
    const { mean, cov } = this.predict(x, { returnCov: true, includeNoise: opts.includeNoise ?? false });
    const m = mean.length;
    const { L } = linalg.cholesky(cov!, { maxTries: 12 });
    const out = new Float64Array(count * m);
    const z = new Float64Array(m);
    for (let s = 0; s < count; s++) {
      for (let j = 0; j < m; j++) z[j] = rng.normal();
      for (let i = 0; i < m; i++) {
        let v = mean[i];
        for (let j = 0; j <= i; j++) v += L.data[i * m + j] * z[j];
        out[s * m + i] = v;
      }
    }
    return { rows: count, cols: m, data: out };
  }

  /** Plain-JSON form: options (with the kernel) and, when fitted, the training data and fitted kernel. */
  toJSON(): GpJSON {
    const s = this.state;
    const o = this.opts;
    return {
      type: 'GaussianProcessRegressor',
      version: 1,
      options: {
        kernel: o.kernel.toJSON(),
        alpha: typeof o.alpha === 'number' ? o.alpha : Array.from(o.alpha),
        normalizeY: o.normalizeY,
        optimizer: o.optimizer,
        nRestartsOptimizer: o.nRestartsOptimizer,
        seed: o.seed,
        maxIter: o.maxIter,
        negativeVarianceTol: o.negativeVarianceTol,
      },
      state: s && { X: matToRows(s.X), y: Array.from(s.y), kernel: s.kernel.toJSON(), diagnostics: s.diag },
    };
  }

  /**
   * Rebuilds a regressor from {@link GaussianProcessRegressor.toJSON}'s output (refactorising K
   * at the stored hyperparameters, without optimising again).
   *
   * @throws ValueError if `json` is not a GaussianProcessRegressor's JSON.
   */
  static fromJSON(json: GpJSON): GaussianProcessRegressor {
    assert(
      json !== null && typeof json === 'object' && json.type === 'GaussianProcessRegressor' && json.version === 1,
      () => new ValueError(`GaussianProcessRegressor.fromJSON: argument 'json' must come from GaussianProcessRegressor.toJSON() (type, version 1), got ${describe((json as { type?: unknown })?.type)}`, 'json'),
    );
    const o = json.options;
    const gp = new GaussianProcessRegressor({ ...o, kernel: kernelFromJSON(o.kernel) });
    const s = json.state;
    if (s) {
      const X = rowsToMat(s.X, s.X[0].length);
      const y = Float64Array.from(s.y);
      const kernel = kernelFromJSON(s.kernel);
      const r = gp.lmlAt(kernel, X, y, false);
      if (!r) throw new ValueError(`GaussianProcessRegressor.fromJSON: the stored kernel gives a K that is not positive definite`, 'json');
      gp.state = { X, y, kernel, L: r.L, alphaVec: r.a, lml: r.lml, diag: { ...s.diagnostics } };
    }
    return gp;
  }
}

/** JSON form of a {@link GaussianProcessRegressor}. */
export interface GpJSON {
  type: 'GaussianProcessRegressor';
  version: 1;
  options: {
    kernel: KernelJSON;
    alpha: number | number[];
    normalizeY: boolean;
    optimizer: 'lbfgsb' | null;
    nRestartsOptimizer: number;
    seed: number;
    maxIter: number;
    negativeVarianceTol: number;
  };
  state?: { X: number[][]; y: number[]; kernel: KernelJSON; diagnostics: GpDiagnostics };
}

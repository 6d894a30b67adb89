/**
 * Sparse Gaussian process regression with inducing points: Titsias' (2009) collapsed
 * variational bound ("SGPR"), for data too large for an exact GP. With M inducing inputs Z,
 * Q = K_nm K_mm⁻¹ K_mn and noise variance σ²,
 *
 *   ELBO = log N(y | 0, Q + σ²I) − tr(K_nn − Q) / (2σ²)  ≤  log p(y)   (exact when Z = X),
 *
 * computed in GPflow's stable form: L = chol(K_mm), W = K_nm L⁻ᵀ (n × M, one row per datum),
 * B = I + WᵀW/σ², L_B = chol(B), c = L_B⁻¹ Wᵀy / σ². Cost O(n·M²) time and O(chunk·M) memory:
 * the data are streamed in row chunks (K_nm, the row solve and the Gram WᵀW on @x/tensor's
 * WebAssembly kernels), so 50,000 points with M = 300 fit in a few seconds.
 */
import { NotFittedError, NotPositiveDefiniteError, Rng, ShapeError, ValueError, assert, checkNumber, describe, linalg, type Mat } from '@x/tensor';
import { checkCols, matToRows, rowsToMat, standardizeInPlace, toMatrix, toVector, type MatrixLike } from './input.js';
import { ConstantKernel, Kernel, RBF, kernelFromJSON, type Bounds, type KernelJSON } from './kernels.js';
import { minimizeBounded } from './optimize.js';
import { NegativeVarianceError } from './gp.js';
import type { Prediction } from './blr.js';

/** Options of {@link SparseGaussianProcessRegressor}. */
export interface SparseGaussianProcessRegressorOptions {
  /** Prior covariance of the latent function, WITHOUT a white-noise term (default `ConstantKernel(1) * RBF(1)`). */
  kernel?: Kernel;
  /** Gaussian noise variance σ² (default 1, as GPflow). */
  noiseVariance?: number;
  /** Bounds of σ² for the optimizer, or `'fixed'` (default [1e-6, 1e5]). */
  noiseVarianceBounds?: Bounds;
  /** Number of inducing points M (default 100; at most the number of training points). */
  nInducing?: number;
  /** Inducing inputs given explicitly (M × d); then `nInducing` and `init` are ignored. */
  inducingPoints?: MatrixLike;
  /** `'kmeans'` (default): k-means++ seeding and Lloyd iterations on a subsample; `'random'`: a random subset of the inputs. */
  init?: 'kmeans' | 'random';
  /** Lloyd iterations of the k-means initialisation (default 10). */
  kmeansIter?: number;
  /** Points the k-means initialisation looks at (a seeded random subsample; default 20,000). */
  kmeansSample?: number;
  /** Standardise y (mean, population std) before fitting; a constant y is only centred (default false). */
  normalizeY?: boolean;
  /**
   * `null` (default): keep kernel and noise as given. `'lbfgsb'`: maximise the ELBO over the
   * kernel's free log-parameters and log σ² (the inducing inputs stay fixed), with
   * forward-difference gradients: each step costs (free parameters + 1) bound evaluations.
   */
  optimizer?: 'lbfgsb' | null;
  /** Optimizer iteration limit (default 100). */
  maxIter?: number;
  /** Seed of the inducing-point choice (default 0). */
  seed?: number;
  /** As in {@link GaussianProcessRegressor}: tolerance of round-off negative variances, relative to k(x, x) (default 1e-6). */
  negativeVarianceTol?: number;
}

/** What {@link SparseGaussianProcessRegressor.diagnostics} reports. */
export interface SparseGpDiagnostics {
  /** Jitter the Cholesky factorisation of K_mm needed (0 normally; > 0 e.g. for duplicate inducing points). */
  jitter: number;
  /** Every jitter tried for K_mm at the final hyperparameters. */
  jitterTries: number[];
  /** Tiny negative predictive variances set to 0 so far (round-off). */
  clampedVariances: number;
  /** tr(K_nn − Q_nn)/σ²: how much of the prior variance the inducing points miss (0 when Z = X). */
  traceTerm: number;
  /** How the inducing points were chosen. */
  inducing: { method: 'given' | 'kmeans' | 'random' | 'all'; count: number; kmeansIterations: number };
  /** The optimizer run, if any. */
  optimizer?: { start: number[]; theta: number[]; elbo: number; iterations: number; evaluations: number; converged: boolean; message: string };
  yMean: number;
  yStd: number;
}

interface Factor {
  L: Mat; // chol(K_mm + jitter)
  LB: Mat; // chol(I + WᵀW/σ²)
  c: Float64Array; // L_B⁻¹ Wᵀy / σ²
  elbo: number;
  traceTerm: number;
  jitter: number;
  tries: number[];
}

interface SparseState {
  Z: Mat;
  kernel: Kernel;
  noise: number;
  f: Factor;
  d: number;
  diag: SparseGpDiagnostics;
}

/** Rows per chunk when streaming n × M blocks (about 8 MiB each). */
function chunkRows(M: number): number {
  return Math.max(256, Math.floor((1 << 20) / Math.max(M, 1)));
}

function rowsOf(X: Mat, r0: number, r1: number): Mat {
  return { rows: r1 - r0, cols: X.cols, data: X.data.subarray(r0 * X.cols, r1 * X.cols) };
}

/** The collapsed bound and the factors prediction needs; `null` if K_mm cannot be factorised even with jitter. */
function factor(kernel: Kernel, noise: number, X: Mat, y: Float64Array, Z: Mat): Factor | null {
  const n = X.rows;
  const M = Z.rows;
  let chol;
  try {
    chol = linalg.cholesky(kernel.compute(Z).K, { check: false });
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) return null;
    throw e;
  }
  const { L } = chol;
  const G = new Float64Array(M * M);
  const b = new Float64Array(M);
  let trW = 0;
  const step = chunkRows(M);
  for (let r0 = 0; r0 < n; r0 += step) {
    const r1 = Math.min(r0 + step, n);
    const W = linalg.solveLowerRows(L, kernel.compute(rowsOf(X, r0, r1), Z).K, { check: false });
    const g = linalg.gram(W).data;
    for (let t = 0; t < g.length; t++) G[t] += g[t];
    const w = W.data;
    for (let i = 0; i < r1 - r0; i++) {
      const yi = y[r0 + i];
      const q = i * M;
      for (let j = 0; j < M; j++) {
        const v = w[q + j];
        b[j] += v * yi;
        trW += v * v;
      }
    }
  }
  const inv = 1 / noise;
  for (let t = 0; t < G.length; t++) G[t] *= inv;
  for (let i = 0; i < M; i++) G[i * M + i] += 1;
  let LB;
  try {
    LB = linalg.cholesky({ rows: M, cols: M, data: G }, { check: false, jitter: 0 }).L;
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) return null;
    throw e;
  }
  const c = linalg.solveTriangular(LB, b, { lower: true, check: false });
  for (let j = 0; j < M; j++) c[j] *= inv;
  let yy = 0;
  for (let i = 0; i < n; i++) yy += y[i] * y[i];
  let cc = 0;
  for (let j = 0; j < M; j++) cc += c[j] * c[j];
  let logDetB = 0;
  for (let j = 0; j < M; j++) logDetB += Math.log(LB.data[j * M + j]);
  const kd = kernel.diag(X);
  let trK = 0;
  for (let i = 0; i < n; i++) trK += kd[i];
  const traceTerm = (trK - trW) * inv;
  const elbo = -0.5 * n * Math.log(2 * Math.PI * noise) - logDetB - 0.5 * yy * inv + 0.5 * cc - 0.5 * traceTerm;
  return { L, LB, c, elbo, traceTerm, jitter: chol.jitter, tries: chol.tries };
}

/**
 * Inducing inputs by k-means: k-means++ seeding (D²-weighted draws) and Lloyd iterations on a
 * seeded subsample of at most `sample` rows. An emptied cluster keeps its centre.
 */
function kmeans(X: Mat, M: number, rng: Rng, iters: number, sample: number): { Z: Mat; iterations: number } {
  const d = X.cols;
  const idx = X.rows > sample ? rng.choice(X.rows, sample) : Int32Array.from({ length: X.rows }, (_, i) => i);
  const S = idx.length;
  const P = new Float64Array(S * d);
  for (let s = 0; s < S; s++) P.set(X.data.subarray(idx[s] * d, idx[s] * d + d), s * d);
  const C = new Float64Array(M * d);
  const dist2 = (s: number, c: number) => {
    let t = 0;
    for (let k = 0; k < d; k++) {
      const u = P[s * d + k] - C[c * d + k];
      t += u * u;
    }
    return t;
  };
  const D = new Float64Array(S).fill(Infinity);
  let pick = rng.int(S);
  for (let c = 0; c < M; c++) {
    C.set(P.subarray(pick * d, pick * d + d), c * d);
    let total = 0;
    for (let s = 0; s < S; s++) {
      const t = dist2(s, c);
      if (t < D[s]) D[s] = t;
      total += D[s];
    }
    if (c + 1 === M) break;
    if (!(total > 0)) {
      pick = rng.int(S); // every point is already a centre (duplicates): any point will do
      continue;
    }
    let u = rng.uniform(0, total);
    pick = S - 1;
    for (let s = 0; s < S; s++) {
      u -= D[s];
      if (u < 0) {
        pick = s;
        break;
      }
    }
  }
  const assign = new Int32Array(S).fill(-1);
  let it = 0;
  for (; it < iters; it++) {
    let changed = 0;
    for (let s = 0; s < S; s++) {
      let best = 0;
      let bd = Infinity;
      for (let c = 0; c < M; c++) {
        const t = dist2(s, c);
        if (t < bd) {
          bd = t;
          best = c;
        }
      }
      if (assign[s] !== best) changed++;
      assign[s] = best;
    }
    if (changed === 0) break;
    const sum = new Float64Array(M * d);
    const cnt = new Float64Array(M);
    for (let s = 0; s < S; s++) {
      const c = assign[s];
      cnt[c]++;
      for (let k = 0; k < d; k++) sum[c * d + k] += P[s * d + k];
    }
    for (let c = 0; c < M; c++) if (cnt[c] > 0) for (let k = 0; k < d; k++) C[c * d + k] = sum[c * d + k] / cnt[c];
  }
  return { Z: { rows: M, cols: d, data: C }, iterations: it };
}

/**
 * Sparse (inducing-point) Gaussian process regression with Titsias' collapsed variational
 * bound, for n in the tens of thousands and more.
 *
 * @example
 * const x = Array.from({ length: 5000 }, (_, i) => [i / 500]);
 * const y = x.map(([v]) => Math.sin(v));
 * const sgp = new SparseGaussianProcessRegressor({ kernel: new RBF({ lengthScale: 1 }), noiseVariance: 0.01, nInducing: 50 }).fit(x, y);
 * const { mean, std } = sgp.predict([[2.5]], { returnStd: true });
 */
export class SparseGaussianProcessRegressor {
  private readonly opts: Required<Omit<SparseGaussianProcessRegressorOptions, 'inducingPoints' | 'optimizer'>> & { inducingPoints?: Mat; optimizer: 'lbfgsb' | null };
  private state: SparseState | undefined;

  /**
   * @param options - See {@link SparseGaussianProcessRegressorOptions}. No work is done here.
   * @throws TypeError / ValueError for an option of the wrong type or range.
   */
  constructor(options: SparseGaussianProcessRegressorOptions = {}) {
    const fn = 'SparseGaussianProcessRegressor';
    if (options.kernel !== undefined && !(options.kernel instanceof Kernel)) throw new TypeError(`${fn}: option 'kernel' must be a Kernel, got ${describe(options.kernel)}`);
    const noise = options.noiseVariance === undefined ? 1 : checkNumber(fn, 'noiseVariance', options.noiseVariance, { min: 0, minExclusive: true });
    const nb = options.noiseVarianceBounds ?? [1e-6, 1e5];
    assert(
      nb === 'fixed' || (Array.isArray(nb) && nb.length === 2 && nb[0] > 0 && nb[0] <= nb[1] && Number.isFinite(nb[1])),
      () => new ValueError(`${fn}: option 'noiseVarianceBounds' must be 'fixed' or [lo, hi] with 0 < lo <= hi < Infinity, got ${describe(nb)}`, 'noiseVarianceBounds'),
    );
    if (nb !== 'fixed' && (noise < nb[0] || noise > nb[1])) {
      throw new ValueError(`${fn}: option 'noiseVariance' = ${noise} lies outside its bounds [${nb[0]}, ${nb[1]}]`, 'noiseVariance');
    }
    if (options.nInducing !== undefined) checkNumber(fn, 'nInducing', options.nInducing, { min: 1, integer: true });
    const init = options.init ?? 'kmeans';
    assert(init === 'kmeans' || init === 'random', () => new ValueError(`${fn}: option 'init' must be 'kmeans' or 'random', got ${describe(init)}`, 'init'));
    if (options.kmeansIter !== undefined) checkNumber(fn, 'kmeansIter', options.kmeansIter, { min: 0, integer: true });
    if (options.kmeansSample !== undefined) checkNumber(fn, 'kmeansSample', options.kmeansSample, { min: 1, integer: true });
    if (options.normalizeY !== undefined && typeof options.normalizeY !== 'boolean') throw new TypeError(`${fn}: option 'normalizeY' must be a boolean, got ${describe(options.normalizeY)}`);
    const opt = options.optimizer === undefined ? null : options.optimizer;
    assert(opt === 'lbfgsb' || opt === null, () => new ValueError(`${fn}: option 'optimizer' must be 'lbfgsb' or null, got ${describe(opt)}`, 'optimizer'));
    if (options.maxIter !== undefined) checkNumber(fn, 'maxIter', options.maxIter, { min: 1, integer: true });
    if (options.seed !== undefined) checkNumber(fn, 'seed', options.seed, { integer: true });
    if (options.negativeVarianceTol !== undefined) checkNumber(fn, 'negativeVarianceTol', options.negativeVarianceTol, { min: 0 });
    const Z = options.inducingPoints === undefined ? undefined : toMatrix(fn, 'inducingPoints', options.inducingPoints);
    this.opts = {
      kernel: options.kernel ?? new ConstantKernel({ value: 1 }).mul(new RBF({ lengthScale: 1 })),
      noiseVariance: noise,
      noiseVarianceBounds: nb,
      nInducing: options.nInducing ?? 100,
      inducingPoints: Z,
      init,
      kmeansIter: options.kmeansIter ?? 10,
      kmeansSample: options.kmeansSample ?? 20000,
      normalizeY: options.normalizeY ?? false,
      optimizer: opt,
      maxIter: options.maxIter ?? 100,
      seed: options.seed ?? 0,
      negativeVarianceTol: options.negativeVarianceTol ?? 1e-6,
    };
  }

  /**
   * Chooses the inducing inputs (unless given), optionally maximises the ELBO over the kernel's
   * log-parameters and log σ², and factorises.
   *
   * @param x - Inputs, `n × d` (or a 1-D array for one feature).
   * @param y - Targets, length `n`.
   * @returns `this`.
   * @throws TypeError / ShapeError / NonFiniteError (naming the array and index) for bad input;
   *   ShapeError if given inducing points have another number of columns than `x`;
   *   NotPositiveDefiniteError if K_mm cannot be factorised even with jitter.
   */
  fit(x: MatrixLike, y: ArrayLike<number>): this {
    const fn = 'SparseGaussianProcessRegressor.fit';
    const X = toMatrix(fn, 'x', x);
    const Y = toVector(fn, 'y', y, X.rows);
    const n = X.rows;
    let yMean = 0;
    let yStd = 1;
    if (this.opts.normalizeY) ({ mean: yMean, std: yStd } = standardizeInPlace(Y));
    const rng = new Rng(this.opts.seed);
    let Z: Mat;
    let inducing: SparseGpDiagnostics['inducing'];
    if (this.opts.inducingPoints) {
      Z = { ...this.opts.inducingPoints, data: this.opts.inducingPoints.data.slice() };
      if (Z.cols !== X.cols) {
        throw new ShapeError(`${fn}: option 'inducingPoints' has ${Z.cols} columns but 'x' has ${X.cols}`, { expected: `[M,${X.cols}]`, received: [Z.rows, Z.cols] });
      }
      inducing = { method: 'given', count: Z.rows, kmeansIterations: 0 };
    } else if (this.opts.nInducing >= n) {
      Z = { rows: n, cols: X.cols, data: X.data.slice() };
      inducing = { method: 'all', count: n, kmeansIterations: 0 };
    } else if (this.opts.init === 'random') {
      const idx = rng.choice(n, this.opts.nInducing);
      const d = X.cols;
      const data = new Float64Array(idx.length * d);
      idx.forEach((r, k) => data.set(X.data.subarray(r * d, r * d + d), k * d));
      Z = { rows: idx.length, cols: d, data };
      inducing = { method: 'random', count: idx.length, kmeansIterations: 0 };
    } else {
      const km = kmeans(X, this.opts.nInducing, rng, this.opts.kmeansIter, this.opts.kmeansSample);
      Z = km.Z;
      inducing = { method: 'kmeans', count: Z.rows, kmeansIterations: km.iterations };
    }
    let kernel = this.opts.kernel;
    let noise = this.opts.noiseVariance;
    let run: SparseGpDiagnostics['optimizer'];
    const nb = this.opts.noiseVarianceBounds;
    const fitNoise = nb !== 'fixed';
    const theta0 = kernel.theta;
    const p = theta0.length + (fitNoise ? 1 : 0);
    if (this.opts.optimizer === 'lbfgsb' && p > 0) {
      const kb = kernel.bounds;
      const lo = new Float64Array(p);
      const hi = new Float64Array(p);
      kb.forEach(([l, h], i) => ((lo[i] = l), (hi[i] = h)));
      if (fitNoise) {
        lo[p - 1] = Math.log(nb[0]);
        hi[p - 1] = Math.log(nb[1]);
      }
      const start = new Float64Array(p);
      start.set(theta0);
      if (fitNoise) start[p - 1] = Math.log(noise);
      const base = this.opts.kernel;
      const negElbo = (t: Float64Array) => {
        const k = base.withTheta(t.subarray(0, theta0.length));
        const s2 = fitNoise ? Math.exp(t[p - 1]) : noise;
        const f = factor(k, s2, X, Y, Z);
        return f && Number.isFinite(f.elbo) ? -f.elbo : Infinity;
      };
      const objective = (t: Float64Array) => {
        const f0 = negElbo(t);
        const g = new Float64Array(p);
        if (!Number.isFinite(f0)) return { f: Infinity, g };
        for (let i = 0; i < p; i++) {
          // Forward difference, stepping inwards at the upper bound.
          const h = 1e-6 * Math.max(1, Math.abs(t[i]));
          const tt = t.slice();
          const dir = t[i] + h > hi[i] ? -1 : 1;
          tt[i] += dir * h;
          g[i] = (negElbo(tt) - f0) / (dir * h);
        }
        return { f: f0, g };
      };
      const res = minimizeBounded(objective, start, lo, hi, { maxIter: this.opts.maxIter });
      if (Number.isFinite(res.f)) {
        kernel = base.withTheta(res.x.subarray(0, theta0.length));
        if (fitNoise) noise = Math.exp(res.x[p - 1]);
      }
      run = { start: Array.from(start), theta: Array.from(res.x), elbo: -res.f, iterations: res.iterations, evaluations: res.evaluations, converged: res.converged, message: res.message };
    }
    const f = factor(kernel, noise, X, Y, Z);
    if (!f) {
      linalg.cholesky(kernel.compute(Z).K); // throws the factorisation's own error, with its details
      throw new NotPositiveDefiniteError(`${fn}: I + WᵀW/σ² is not positive definite (σ² = ${noise})`, { diagonalMin: NaN, tries: [], column: -1 });
    }
    this.state = {
      Z,
      kernel,
      noise,
      f,
      d: X.cols,
      diag: { jitter: f.jitter, jitterTries: f.tries, clampedVariances: 0, traceTerm: f.traceTerm, inducing, optimizer: run, yMean, yStd },
    };
    return this;
  }

  private fitted(method: string): SparseState {
    if (!this.state) throw new NotFittedError('SparseGaussianProcessRegressor', method);
    return this.state;
  }

  /** The evidence lower bound at the fitted state, of the (normalised) targets. @throws NotFittedError before fit. */
  get elbo(): number {
    return this.fitted('elbo').f.elbo;
  }

  /** The inducing inputs Z (a copy). @throws NotFittedError before fit. */
  get inducingPoints(): Mat {
    const Z = this.fitted('inducingPoints').Z;
    return { rows: Z.rows, cols: Z.cols, data: Z.data.slice() };
  }

  /** The kernel at the fitted hyperparameters. @throws NotFittedError before fit. */
  get fittedKernel(): Kernel {
    return this.fitted('fittedKernel').kernel;
  }

  /** The fitted noise variance σ² (of the normalised targets with `normalizeY`). @throws NotFittedError before fit. */
  get noiseVariance(): number {
    return this.fitted('noiseVariance').noise;
  }

  /** Jitter, clamped variances, trace term, inducing-point choice, optimizer run. @throws NotFittedError before fit. */
  get diagnostics(): SparseGpDiagnostics {
    const d = this.fitted('diagnostics').diag;
    return { ...d, jitterTries: d.jitterTries.slice(), inducing: { ...d.inducing }, optimizer: d.optimizer && { ...d.optimizer } };
  }

  /**
   * Predictive mean and std of Titsias' approximate posterior, in the units of y:
   * mean = K*ₘ L⁻ᵀ L_B⁻ᵀ c, var = k** − ‖L⁻¹kₘ*‖² + ‖L_B⁻¹L⁻¹kₘ*‖² (+ σ² with `includeNoise`).
   *
   * @param x - Inputs, `m × d`.
   * @param opts - `returnStd`, `includeNoise` (default true: the noise σ² is added to the variance).
   * @returns `{ mean, std? }`.
   * @throws NotFittedError before fit; ShapeError / NonFiniteError for bad `x`;
   *   NegativeVarianceError if a variance is negative beyond round-off.
   */
  predict(x: MatrixLike, opts: { returnStd?: boolean; includeNoise?: boolean } = {}): Prediction {
    const fn = 'SparseGaussianProcessRegressor.predict';
    const s = this.fitted('predict');
    const Xs = toMatrix(fn, 'x', x);
    checkCols(fn, 'x', Xs, s.d);
    const m = Xs.rows;
    const M = s.Z.rows;
    const { yMean, yStd } = s.diag;
    const mean = new Float64Array(m);
    const std = opts.returnStd ? new Float64Array(m) : undefined;
    const noise = opts.includeNoise ?? true ? s.noise : 0;
    const c = s.f.c;
    const step = chunkRows(M);
    for (let r0 = 0; r0 < m; r0 += step) {
      const r1 = Math.min(r0 + step, m);
      const Xc = rowsOf(Xs, r0, r1);
      const W1 = linalg.solveLowerRows(s.f.L, s.kernel.compute(Xc, s.Z).K, { check: false });
      const W2 = linalg.solveLowerRows(s.f.LB, W1, { check: false });
      const w1 = W1.data;
      const w2 = W2.data;
      const prior = std ? s.kernel.diag(Xc) : undefined;
      const v = new Float64Array(r1 - r0);
      for (let i = 0; i < r1 - r0; i++) {
        const q = i * M;
        let mu = 0;
        let a = 0;
        let b = 0;
        for (let j = 0; j < M; j++) {
          mu += w2[q + j] * c[j];
          a += w1[q + j] * w1[q + j];
          b += w2[q + j] * w2[q + j];
        }
        mean[r0 + i] = mu * yStd + yMean;
        if (prior) v[i] = prior[i] - a + b + noise;
      }
      if (std && prior) {
        for (let i = 0; i < v.length; i++) {
          if (v[i] < 0) {
            const ref = prior[i] + noise;
            if (!(v[i] >= -this.opts.negativeVarianceTol * Math.max(ref, Number.MIN_VALUE))) {
              throw new NegativeVarianceError(
                `${fn}: the predictive variance at row ${r0 + i} of 'x' is ${v[i]}, negative beyond round-off (prior variance ${ref}, tolerance ${this.opts.negativeVarianceTol} of it): the kernel is not positive semi-definite or K_mm is badly conditioned`,
                { index: r0 + i, variance: v[i] },
              );
            }
            v[i] = 0;
            s.diag.clampedVariances++;
          }
          std[r0 + i] = Math.sqrt(v[i]) * yStd;
        }
      }
    }
    return std ? { mean, std } : { mean };
  }

  /** Plain-JSON form: options and, when fitted, the inducing inputs, kernel, noise and factors. */
  toJSON(): SparseGpJSON {
    const o = this.opts;
    const s = this.state;
    return {
      type: 'SparseGaussianProcessRegressor',
      version: 1,
      options: {
        kernel: o.kernel.toJSON(),
        noiseVariance: o.noiseVariance,
        noiseVarianceBounds: o.noiseVarianceBounds,
        nInducing: o.nInducing,
        inducingPoints: o.inducingPoints && matToRows(o.inducingPoints),
        init: o.init,
        kmeansIter: o.kmeansIter,
        kmeansSample: o.kmeansSample,
        normalizeY: o.normalizeY,
        optimizer: o.optimizer,
        maxIter: o.maxIter,
        seed: o.seed,
        negativeVarianceTol: o.negativeVarianceTol,
      },
      state: s && {
        Z: matToRows(s.Z),
        kernel: s.kernel.toJSON(),
        noise: s.noise,
        L: matToRows(s.f.L),
        LB: matToRows(s.f.LB),
        c: Array.from(s.f.c),
        elbo: s.f.elbo,
        d: s.d,
        diagnostics: s.diag,
      },
    };
  }

  /**
   * Rebuilds a regressor from {@link SparseGaussianProcessRegressor.toJSON}'s output.
   * @throws ValueError if `json` is not such an object.
   */
  static fromJSON(json: SparseGpJSON): SparseGaussianProcessRegressor {
    assert(
      json !== null && typeof json === 'object' && json.type === 'SparseGaussianProcessRegressor' && json.version === 1,
      () => new ValueError(`SparseGaussianProcessRegressor.fromJSON: argument 'json' must come from SparseGaussianProcessRegressor.toJSON() (type, version 1), got ${describe((json as { type?: unknown })?.type)}`, 'json'),
    );
    const o = json.options;
    const g = new SparseGaussianProcessRegressor({ ...o, kernel: kernelFromJSON(o.kernel), inducingPoints: o.inducingPoints });
    const s = json.state;
    if (s) {
      const M = s.Z.length;
      g.state = {
        Z: rowsToMat(s.Z, s.d),
        kernel: kernelFromJSON(s.kernel),
        noise: s.noise,
        f: { L: rowsToMat(s.L, M), LB: rowsToMat(s.LB, M), c: Float64Array.from(s.c), elbo: s.elbo, traceTerm: s.diagnostics.traceTerm, jitter: s.diagnostics.jitter, tries: s.diagnostics.jitterTries.slice() },
        d: s.d,
        diag: { ...s.diagnostics },
      };
    }
    return g;
  }
}

/** JSON form of a {@link SparseGaussianProcessRegressor}. */
export interface SparseGpJSON {
  type: 'SparseGaussianProcessRegressor';
  version: 1;
  options: {
    kernel: KernelJSON;
    noiseVariance: number;
    noiseVarianceBounds: Bounds;
    nInducing: number;
    inducingPoints?: number[][];
    init: 'kmeans' | 'random';
    kmeansIter: number;
    kmeansSample: number;
    normalizeY: boolean;
    optimizer: 'lbfgsb' | null;
    maxIter: number;
    seed: number;
    negativeVarianceTol: number;
  };
  state?: { Z: number[][]; kernel: KernelJSON; noise: number; L: number[][]; LB: number[][]; c: number[]; elbo: number; d: number; diagnostics: SparseGpDiagnostics };
}

/**
 * Covariance functions for Gaussian processes, as scikit-learn's `gaussian_process.kernels`:
 * the same parameters, the same log-space `theta` in the same order (a sum or product lists its
 * first operand's parameters, then its second's; within a kernel, parameters alphabetically),
 * the same names (`k1__k2__length_scale`), and gradients of K with respect to `theta`.
 *
 * Kernels are immutable: `withTheta` returns a new kernel.
 */
import { ShapeError, ValueError, assert, describe, type Mat } from '@x/tensor';

// Module-level aliases: inside jest's vm sandbox, every `Math.x` in a hot loop is a lookup
// through the sandbox's global object, which made the kernel loops ~6x slower there.
const { exp, sqrt, sin, cos, pow, log, PI } = Math;

/** Bounds of a hyperparameter in its natural (not log) units, or `'fixed'` to exclude it from fitting. */
export type Bounds = readonly [number, number] | 'fixed';

/** One hyperparameter as listed by {@link Kernel.hyperparameters}. */
export interface Hyperparameter {
  /** scikit-learn's name, with `k1__` / `k2__` prefixes inside sums and products. */
  name: string;
  /** Current value(s) in natural units (one per input dimension for an ARD length scale). */
  value: number[];
  /** Bounds in natural units, or `'fixed'`. */
  bounds: Bounds;
}

/** Result of {@link Kernel.compute}. */
export interface KernelValue {
  /** Covariance matrix K(X, Y), `n × m`. */
  K: Mat;
  /** dK/dθ_p for every free (non-fixed) log-parameter p in `theta` order (only if asked for). */
  grads: Mat[];
}

/** Options of {@link Kernel.compute} and {@link Kernel.diag}. */
export interface ComputeOptions {
  /** Also return the gradient matrices (default false). Only for `Y` omitted (K(X, X)). */
  gradient?: boolean;
  /** Include white-noise terms (default true); false gives the latent (noise-free) covariance. */
  noise?: boolean;
}

/** JSON form of a kernel (see {@link kernelFromJSON}). */
export type KernelJSON =
  | { type: 'Sum' | 'Product'; k1: KernelJSON; k2: KernelJSON }
  | { type: LeafType; params: Record<string, { value: number[]; bounds: Bounds }>; nu?: number };

type LeafType = 'RBF' | 'Matern' | 'RationalQuadratic' | 'ExpSineSquared' | 'DotProduct' | 'ConstantKernel' | 'WhiteKernel';

const DEFAULT_BOUNDS: readonly [number, number] = [1e-5, 1e5];

/** Base class of every kernel. */
export abstract class Kernel {
  /** Flattened hyperparameters, in `theta` order. */
  abstract get hyperparameters(): Hyperparameter[];

  /**
   * The kernel matrix K(X, Y) (K(X, X) when `Y` is omitted) and, on request, its gradients.
   *
   * @param X - Inputs, `n × d`.
   * @param Y - Second inputs, `m × d` (default: X itself; only then do white-noise terms appear).
   * @param opts - `gradient` (only without `Y`), `noise` (default true).
   */
  abstract compute(X: Mat, Y?: Mat | null, opts?: ComputeOptions): KernelValue;

  /** The diagonal of K(X, X), cheaply. `noise: false` drops white-noise terms. */
  abstract diag(X: Mat, opts?: { noise?: boolean }): Float64Array;

  /** A copy with the free log-parameters set from `theta` (in `theta` order). */
  abstract withTheta(theta: ArrayLike<number>): Kernel;

  /** Plain-JSON form. */
  abstract toJSON(): KernelJSON;

  /** A readable description, e.g. `RBF(length_scale=1) + WhiteKernel(noise_level=0.1)`. */
  abstract toString(): string;

  /** Free hyperparameters (fixed ones excluded), as names in `theta` order. */
  get thetaNames(): string[] {
    const out: string[] = [];
    for (const h of this.hyperparameters) {
      if (h.bounds === 'fixed') continue;
      if (h.value.length === 1) out.push(h.name);
      else h.value.forEach((_, i) => out.push(`${h.name}[${i}]`));
    }
    return out;
  }

  /** Log of the free hyperparameters, scikit-learn's `theta`. */
  get theta(): Float64Array {
    const out: number[] = [];
    for (const h of this.hyperparameters) if (h.bounds !== 'fixed') for (const v of h.value) out.push(log(v));
    return Float64Array.from(out);
  }

  /** Log-space bounds of the free hyperparameters, one `[lo, hi]` per `theta` entry. */
  get bounds(): [number, number][] {
    const out: [number, number][] = [];
    for (const h of this.hyperparameters) {
      if (h.bounds === 'fixed') continue;
      for (let i = 0; i < h.value.length; i++) out.push([log(h.bounds[0]), log(h.bounds[1])]);
    }
    return out;
  }

  /** `this + other`. */
  add(other: Kernel): Kernel {
    return new Sum(this, checkKernel('Kernel.add', 'other', other));
  }

  /** `this × other` (element-wise product of the covariances). */
  mul(other: Kernel): Kernel {
    return new Product(this, checkKernel('Kernel.mul', 'other', other));
  }
}

function checkKernel(fn: string, arg: string, k: unknown): Kernel {
  if (!(k instanceof Kernel)) throw new TypeError(`${fn}: argument '${arg}' must be a Kernel, got ${describe(k)}`);
  return k;
}

/** Sum of kernels: `sum(a, b, c)` = `a.add(b).add(c)`. */
export function sum(...kernels: Kernel[]): Kernel {
  assert(kernels.length >= 1, () => new ValueError(`sum: needs at least one kernel, got none`, 'kernels'));
  kernels.forEach((k, i) => checkKernel('sum', `kernels[${i}]`, k));
  return kernels.reduce((a, b) => a.add(b));
}

/** Product of kernels: `product(a, b)` = `a.mul(b)`. */
export function product(...kernels: Kernel[]): Kernel {
  assert(kernels.length >= 1, () => new ValueError(`product: needs at least one kernel, got none`, 'kernels'));
  kernels.forEach((k, i) => checkKernel('product', `kernels[${i}]`, k));
  return kernels.reduce((a, b) => a.mul(b));
}

function zeros(r: number, c: number): Mat {
  return { rows: r, cols: c, data: new Float64Array(r * c) };
}

abstract class Binary extends Kernel {
  constructor(
    readonly k1: Kernel,
    readonly k2: Kernel,
  ) {
    super();
  }
  get hyperparameters(): Hyperparameter[] {
    return [
      ...this.k1.hyperparameters.map((h) => ({ ...h, name: `k1__${h.name}` })),
      ...this.k2.hyperparameters.map((h) => ({ ...h, name: `k2__${h.name}` })),
    ];
  }
  protected split(theta: ArrayLike<number>): [Float64Array, Float64Array] {
    const n1 = this.k1.theta.length;
    const n2 = this.k2.theta.length;
    assert(
      theta.length === n1 + n2,
      () => new ShapeError(`Kernel.withTheta: argument 'theta' must have length ${n1 + n2}, got ${theta.length}`, { expected: `[${n1 + n2}]`, received: [theta.length] }),
    );
    const t = Float64Array.from(theta);
    return [t.subarray(0, n1), t.subarray(n1)];
  }
}

/** k1 + k2. */
export class Sum extends Binary {
  compute(X: Mat, Y?: Mat | null, opts: ComputeOptions = {}): KernelValue {
    const a = this.k1.compute(X, Y, opts);
    const b = this.k2.compute(X, Y, opts);
    const K = a.K;
    for (let i = 0; i < K.data.length; i++) K.data[i] += b.K.data[i];
    return { K, grads: [...a.grads, ...b.grads] };
  }
  diag(X: Mat, opts?: { noise?: boolean }): Float64Array {
    const a = this.k1.diag(X, opts);
    const b = this.k2.diag(X, opts);
    for (let i = 0; i < a.length; i++) a[i] += b[i];
    return a;
  }
  withTheta(theta: ArrayLike<number>): Kernel {
    const [t1, t2] = this.split(theta);
    return new Sum(this.k1.withTheta(t1), this.k2.withTheta(t2));
  }
  toJSON(): KernelJSON {
    return { type: 'Sum', k1: this.k1.toJSON(), k2: this.k2.toJSON() };
  }
  toString(): string {
    return `${this.k1} + ${this.k2}`;
  }
}

/** k1 × k2. */
export class Product extends Binary {
  compute(X: Mat, Y?: Mat | null, opts: ComputeOptions = {}): KernelValue {
    const a = this.k1.compute(X, Y, opts);
    const b = this.k2.compute(X, Y, opts);
    const K1 = a.K.data;
    const K2 = b.K.data;
    for (const g of a.grads) for (let i = 0; i < K2.length; i++) g.data[i] *= K2[i];
    for (const g of b.grads) for (let i = 0; i < K1.length; i++) g.data[i] *= K1[i];
    const K = { rows: a.K.rows, cols: a.K.cols, data: new Float64Array(K1.length) };
    for (let i = 0; i < K1.length; i++) K.data[i] = K1[i] * K2[i];
    return { K, grads: [...a.grads, ...b.grads] };
  }
  diag(X: Mat, opts?: { noise?: boolean }): Float64Array {
    const a = this.k1.diag(X, opts);
    const b = this.k2.diag(X, opts);
    for (let i = 0; i < a.length; i++) a[i] *= b[i];
    return a;
  }
  withTheta(theta: ArrayLike<number>): Kernel {
    const [t1, t2] = this.split(theta);
    return new Product(this.k1.withTheta(t1), this.k2.withTheta(t2));
  }
  toJSON(): KernelJSON {
    return { type: 'Product', k1: this.k1.toJSON(), k2: this.k2.toJSON() };
  }
  toString(): string {
    const wrap = (k: Kernel) => (k instanceof Sum ? `(${k})` : String(k));
    return `${wrap(this.k1)} * ${wrap(this.k2)}`;
  }
}

interface Param {
  name: string;
  value: Float64Array;
  bounds: Bounds;
}

function makeParam(kernel: string, name: string, option: string, value: number | readonly number[], bounds: Bounds | undefined, allowVector: boolean): Param {
  const fn = kernel;
  const vals = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(vals) && !ArrayBuffer.isView(vals)) throw new TypeError(`${fn}: option '${option}' must be a number${allowVector ? ' or an array' : ''}, got ${describe(value)}`);
  if (!allowVector && vals.length !== 1) throw new TypeError(`${fn}: option '${option}' must be a single number, got ${describe(value)}`);
  assert(vals.length >= 1, () => new ValueError(`${fn}: option '${option}' must not be empty`, option));
  vals.forEach((v, i) => {
    if (typeof v !== 'number') throw new TypeError(`${fn}: option '${option}' must hold numbers, got ${describe(v)}`);
    assert(Number.isFinite(v) && v > 0, () => new ValueError(`${fn}: option '${option}' must be > 0 and finite, got ${v}${vals.length > 1 ? ` at index ${i}` : ''}`, option));
  });
  const b = bounds ?? DEFAULT_BOUNDS;
  const bName = `${option}Bounds`;
  if (b !== 'fixed') {
    if (!Array.isArray(b) || b.length !== 2 || typeof b[0] !== 'number' || typeof b[1] !== 'number') {
      throw new TypeError(`${fn}: option '${bName}' must be [low, high] or 'fixed', got ${describe(b)}`);
    }
    assert(b[0] > 0 && b[1] > b[0] && Number.isFinite(b[1]), () => new ValueError(`${fn}: option '${bName}' must satisfy 0 < low < high < ∞, got [${b[0]}, ${b[1]}]`, bName));
    vals.forEach((v) =>
      assert(v >= b[0] * (1 - 1e-12) && v <= b[1] * (1 + 1e-12), () => new ValueError(`${fn}: option '${option}' = ${v} lies outside '${bName}' [${b[0]}, ${b[1]}]`, option)),
    );
  }
  return { name, value: Float64Array.from(vals), bounds: b === 'fixed' ? 'fixed' : [b[0], b[1]] };
}

abstract class Leaf extends Kernel {
  protected abstract readonly type: LeafType;
  protected params: Param[] = [];

  get hyperparameters(): Hyperparameter[] {
    return this.params.map((p) => ({ name: p.name, value: Array.from(p.value), bounds: p.bounds }));
  }

  withTheta(theta: ArrayLike<number>): Kernel {
    const n = this.theta.length;
    assert(
      theta.length === n,
      () => new ShapeError(`Kernel.withTheta: argument 'theta' must have length ${n}, got ${theta.length}`, { expected: `[${n}]`, received: [theta.length] }),
    );
    const k = Object.create(Object.getPrototypeOf(this)) as this;
    Object.assign(k, this);
    let t = 0;
    k.params = this.params.map((p) => {
      if (p.bounds === 'fixed') return p;
      const value = p.value.map(() => exp(theta[t++]));
      return { ...p, value };
    });
    return k;
  }

  toJSON(): KernelJSON {
    const params: Record<string, { value: number[]; bounds: Bounds }> = {};
    for (const p of this.params) params[p.name] = { value: Array.from(p.value), bounds: p.bounds === 'fixed' ? 'fixed' : [p.bounds[0], p.bounds[1]] };
    return { type: this.type, params };
  }

  toString(): string {
    const f = (v: Float64Array) => (v.length === 1 ? fmt(v[0]) : `[${Array.from(v, fmt).join(', ')}]`);
    return `${this.type}(${this.params.map((p) => `${p.name}=${f(p.value)}`).join(', ')})`;
  }

  diag(X: Mat, opts?: { noise?: boolean }): Float64Array {
    // Stationary kernels: k(x, x) is the same for every x.
    void opts;
    return new Float64Array(X.rows).fill(this.k0());
  }

  protected k0(): number {
    return 1;
  }

  protected free(i: number): boolean {
    return this.params[i].bounds !== 'fixed';
  }
}

function fmt(v: number): string {
  return Number(v.toPrecision(4)).toString();
}

function checkDims(kernel: string, X: Mat, Y: Mat | null | undefined, ard: number): void {
  if (Y && Y.cols !== X.cols) {
    throw new ShapeError(`${kernel}: inputs 'X' and 'Y' must have the same number of columns, got ${X.cols} and ${Y.cols}`, { expected: `[m,${X.cols}]`, received: [Y.rows, Y.cols] });
  }
  if (ard > 1 && X.cols !== ard) {
    throw new ShapeError(`${kernel}: the length scale has ${ard} entries (one per input dimension) but the inputs have ${X.cols} columns`, {
      expected: `[n,${ard}]`,
      received: [X.rows, X.cols],
    });
  }
}

/**
 * Loops over the pairs (i, j) of X × Y (only j ≤ i and mirrored when Y is X), handing `f` the
 * squared distance scaled by the length scales and, for ARD gradients, the per-dimension terms.
 */
function stationary(
  X: Mat,
  Y: Mat | null | undefined,
  ls: Float64Array,
  f: (r2: number, idx: number, dims: Float64Array | null) => void,
  wantDims: boolean,
): void {
  const sym = !Y;
  const B = Y ?? X;
  const n = X.rows;
  const m = B.rows;
  const d = X.cols;
  const inv = new Float64Array(d);
  for (let k = 0; k < d; k++) inv[k] = 1 / (ls.length === 1 ? ls[0] : ls[k]);
  const dims = wantDims ? new Float64Array(d) : null;
  const A = X.data;
  const Bd = B.data;
  for (let i = 0; i < n; i++) {
    const jEnd = sym ? i + 1 : m;
    for (let j = 0; j < jEnd; j++) {
      let r2 = 0;
      for (let k = 0; k < d; k++) {
        const t = (A[i * d + k] - Bd[j * d + k]) * inv[k];
        const t2 = t * t;
        if (dims) dims[k] = t2;
        r2 += t2;
      }
      f(r2, i * m + j, dims);
    }
  }
}

/** Copies the lower triangle to the upper one, for each matrix. */
function mirror(ms: Mat[]): void {
  for (const M of ms) {
    const n = M.rows;
    const a = M.data;
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
  }
}

/**
 * Squared-exponential kernel k(x, y) = exp(−‖(x − y)/ℓ‖² / 2), with one length scale or one
 * per input dimension (ARD).
 *
 * @example
 * const k = new RBF({ lengthScale: 2 });           // isotropic
 * const ard = new RBF({ lengthScale: [1, 10] });    // one per dimension
 */
export class RBF extends Leaf {
  protected readonly type = 'RBF' as const;
  /**
   * @param opts - `lengthScale` (default 1; an array for ARD), `lengthScaleBounds` (default [1e-5, 1e5] or 'fixed').
   * @throws ValueError for a non-positive value or one outside its bounds.
   */
  constructor(opts: { lengthScale?: number | readonly number[]; lengthScaleBounds?: Bounds } = {}) {
    super();
    this.params = [makeParam('RBF', 'length_scale', 'lengthScale', opts.lengthScale ?? 1, opts.lengthScaleBounds, true)];
  }
  compute(X: Mat, Y?: Mat | null, opts: ComputeOptions = {}): KernelValue {
    return radial('RBF', this.params[0], X, Y, opts, 0);
  }
}

/**
 * Squared Euclidean distances between the rows of X and Y (X itself when Y is omitted), as a
 * full n × m array. K(X, X) is recomputed at every step of a hyperparameter fit with the same
 * X, so the symmetric case is cached per input matrix (the cache is weak: it goes with X).
 */
const distCache = new WeakMap<Mat, { x: Float64Array; D: Float64Array }>();
function sqDist(X: Mat, Y: Mat | null | undefined): Float64Array {
  if (!Y) {
    // Valid only while X holds the same numbers (checking them costs O(n·d), the distances O(n²·d)).
    const hit = distCache.get(X);
    if (hit && hit.x.length === X.data.length && hit.x.every((v, i) => v === X.data[i])) return hit.D;
  }
  const B = Y ?? X;
  const n = X.rows;
  const m = B.rows;
  const d = X.cols;
  const A = X.data;
  const Bd = B.data;
  const D = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const jEnd = Y ? m : i + 1;
    for (let j = 0; j < jEnd; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = A[i * d + k] - Bd[j * d + k];
        s += t * t;
      }
      D[i * m + j] = s;
      if (!Y) D[j * m + i] = s;
    }
  }
  if (!Y) distCache.set(X, { x: X.data.slice(), D });
  return D;
}

const S3 = sqrt(3);
const S5 = sqrt(5);

/** k(r²) for the radial kernels: 0 RBF, 1 Matérn ½, 2 Matérn 3/2, 3 Matérn 5/2. */
function radialK(kind: number, r2: number): number {
  switch (kind) {
    case 0:
      return exp(-0.5 * r2);
    case 1:
      return exp(-sqrt(r2));
    case 2: {
      const r = S3 * sqrt(r2);
      return (1 + r) * exp(-r);
    }
    default: {
      const r = S5 * sqrt(r2);
      return (1 + r + (r * r) / 3) * exp(-r);
    }
  }
}

/** ψ = −(dk/dr)/r, so that dk/dlog ℓ_k = ψ·(Δ_k/ℓ_k)² (and dk/dlog ℓ = ψ·r² for one ℓ). */
function radialPsi(kind: number, r2: number, k: number): number {
  switch (kind) {
    case 0:
      return k;
    case 1:
      return r2 > 0 ? k / sqrt(r2) : 0;
    case 2:
      return 3 * exp(-S3 * sqrt(r2));
    default: {
      const r = S5 * sqrt(r2);
      return (5 / 3) * (1 + r) * exp(-r);
    }
  }
}

/** Shared code of RBF and Matérn. */
function radial(name: string, p: Param, X: Mat, Y: Mat | null | undefined, opts: ComputeOptions, kind: number): KernelValue {
  const ls = p.value;
  checkDims(name, X, Y, ls.length);
  const grad = !!opts.gradient && !Y && p.bounds !== 'fixed';
  const n = X.rows;
  const m = Y ? Y.rows : n;
  const K = zeros(n, m);
  const nd = ls.length;
  const grads: Mat[] = grad ? Array.from({ length: nd }, () => zeros(n, m)) : [];
  const Kd = K.data;
  if (nd === 1 && Y && !grad) {
    // Cross-covariance (prediction): distances and k in one pass, no n × m distance array.
    const il2 = 1 / (ls[0] * ls[0]);
    const d = X.cols;
    const A = X.data;
    const Bd = Y.data;
    for (let i = 0; i < n; i++) {
      const r = i * m;
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) {
          const t = A[i * d + k] - Bd[j * d + k];
          s += t * t;
        }
        Kd[r + j] = radialK(kind, s * il2);
      }
    }
    return { K, grads };
  }
  if (nd === 1) {
    const D = sqDist(X, Y);
    const il2 = 1 / (ls[0] * ls[0]);
    if (!grad && !Y) {
      // Symmetric: one exp per pair (j ≤ i), mirrored.
      for (let i = 0; i < n; i++) {
        const r = i * n;
        for (let j = 0; j < i; j++) {
          const k = radialK(kind, D[r + j] * il2);
          Kd[r + j] = k;
          Kd[j * n + i] = k;
        }
        Kd[r + i] = radialK(kind, D[r + i] * il2);
      }
    } else if (!grad) {
      for (let i = 0; i < D.length; i++) Kd[i] = radialK(kind, D[i] * il2);
    } else {
      const G = grads[0].data;
      for (let i = 0; i < D.length; i++) {
        const r2 = D[i] * il2;
        const k = radialK(kind, r2);
        Kd[i] = k;
        G[i] = radialPsi(kind, r2, k) * r2;
      }
    }
    return { K, grads };
  }
  stationary(X, Y, ls, (r2, idx, dims) => {
    const k = radialK(kind, r2);
    Kd[idx] = k;
    if (grad) {
      const s = radialPsi(kind, r2, k);
      for (let q = 0; q < nd; q++) grads[q].data[idx] = s * dims![q];
    }
  }, grad);
  if (!Y) mirror([K, ...grads]);
  return { K, grads };
}

/**
 * Matérn kernel with ν ∈ {1/2, 3/2, 5/2} (closed forms), isotropic or ARD.
 *
 * @example
 * const k = new Matern({ nu: 2.5, lengthScale: 3 });
 */
export class Matern extends Leaf {
  protected readonly type = 'Matern' as const;
  /** Smoothness ν (fixed, not a hyperparameter). */
  readonly nu: 0.5 | 1.5 | 2.5;
  /**
   * @param opts - `nu` (0.5, 1.5 or 2.5; default 1.5), `lengthScale`, `lengthScaleBounds`.
   * @throws ValueError for another ν or a bad length scale.
   */
  constructor(opts: { nu?: number; lengthScale?: number | readonly number[]; lengthScaleBounds?: Bounds } = {}) {
    super();
    const nu = opts.nu ?? 1.5;
    assert(nu === 0.5 || nu === 1.5 || nu === 2.5, () => new ValueError(`Matern: option 'nu' must be 0.5, 1.5 or 2.5, got ${describe(nu)}`, 'nu'));
    this.nu = nu;
    this.params = [makeParam('Matern', 'length_scale', 'lengthScale', opts.lengthScale ?? 1, opts.lengthScaleBounds, true)];
  }
  compute(X: Mat, Y?: Mat | null, opts: ComputeOptions = {}): KernelValue {
    return radial('Matern', this.params[0], X, Y, opts, this.nu === 0.5 ? 1 : this.nu === 1.5 ? 2 : 3);
  }
  override toJSON(): KernelJSON {
    return { ...(super.toJSON() as object), nu: this.nu } as KernelJSON;
  }
  override toString(): string {
    return super.toString().replace(/\)$/, `, nu=${this.nu})`);
  }
}

/**
 * Rational quadratic kernel k = (1 + d²/(2αℓ²))^(−α), a scale mixture of RBFs.
 *
 * @example
 * const k = new RationalQuadratic({ lengthScale: 1, alpha: 0.5 });
 */
export class RationalQuadratic extends Leaf {
  protected readonly type = 'RationalQuadratic' as const;
  /**
   * @param opts - `lengthScale` (default 1), `alpha` (default 1) and their bounds.
   * @throws ValueError for non-positive values or values outside their bounds.
   */
  constructor(opts: { lengthScale?: number; alpha?: number; lengthScaleBounds?: Bounds; alphaBounds?: Bounds } = {}) {
    super();
    // sklearn's order: alpha, then length_scale (alphabetical).
    this.params = [
      makeParam('RationalQuadratic', 'alpha', 'alpha', opts.alpha ?? 1, opts.alphaBounds, false),
      makeParam('RationalQuadratic', 'length_scale', 'lengthScale', opts.lengthScale ?? 1, opts.lengthScaleBounds, false),
    ];
  }
  compute(X: Mat, Y?: Mat | null, opts: ComputeOptions = {}): KernelValue {
    checkDims('RationalQuadratic', X, Y, 1);
    const a = this.params[0].value[0];
    const l = this.params[1].value[0];
    const n = X.rows;
    const m = Y ? Y.rows : n;
    const K = zeros(n, m);
    const gA = !!opts.gradient && !Y && this.free(0);
    const gL = !!opts.gradient && !Y && this.free(1);
    const GA = gA ? zeros(n, m) : null;
    const GL = gL ? zeros(n, m) : null;
    const D = sqDist(X, Y);
    const c = 1 / (2 * a * l * l);
    const il2 = 1 / (l * l);
    const Kd = K.data;
    for (let idx = 0; idx < D.length; idx++) {
      const d2 = D[idx];
      const base = 1 + d2 * c;
      const k = pow(base, -a);
      Kd[idx] = k;
      // dk/dlog ℓ = d²/ℓ² · base^(−α−1); dk/dlog α = α·k·(d²/(2αℓ²·base) − log base).
      if (GL) GL.data[idx] = (d2 * il2 * k) / base;
      if (GA) GA.data[idx] = a * k * ((d2 * c) / base - log(base));
    }
    const grads = [GA, GL].filter((g): g is Mat => g !== null);
    return { K, grads };
  }
}

/**
 * Periodic kernel k = exp(−2 sin²(π |x − y| / p) / ℓ²), for 1-D inputs (on distances in more
 * dimensions it is not positive semi-definite, so other shapes throw a ShapeError).
 *
 * @example
 * const seasonal = new ExpSineSquared({ lengthScale: 1, periodicity: 1 });
 */
export class ExpSineSquared extends Leaf {
  protected readonly type = 'ExpSineSquared' as const;
  /**
   * @param opts - `lengthScale` (default 1), `periodicity` (default 1) and their bounds.
   * @throws ValueError for non-positive values or values outside their bounds.
   */
  constructor(opts: { lengthScale?: number; periodicity?: number; lengthScaleBounds?: Bounds; periodicityBounds?: Bounds } = {}) {
    super();
    this.params = [
      makeParam('ExpSineSquared', 'length_scale', 'lengthScale', opts.lengthScale ?? 1, opts.lengthScaleBounds, false),
      makeParam('ExpSineSquared', 'periodicity', 'periodicity', opts.periodicity ?? 1, opts.periodicityBounds, false),
    ];
  }
  compute(X: Mat, Y?: Mat | null, opts: ComputeOptions = {}): KernelValue {
    checkDims('ExpSineSquared', X, Y, 1);
    // exp(−2 sin²(π‖x − y‖/p)/ℓ²) is positive semi-definite for 1-D inputs only (it is an RBF
    // of (cos, sin) of the phase); on the Euclidean distance of ≥ 2-D inputs it is not, and
    // a GP would then produce negative variances. scikit-learn allows it; we refuse.
    if (X.cols !== 1) {
      throw new ShapeError(`ExpSineSquared: inputs must have 1 column (the kernel is not positive semi-definite on distances in ${X.cols} dimensions), got shape [${X.rows},${X.cols}]`, {
        expected: '[n,1]',
        received: [X.rows, X.cols],
      });
    }
    const l = this.params[0].value[0];
    const p = this.params[1].value[0];
    const n = X.rows;
    const m = Y ? Y.rows : n;
    const K = zeros(n, m);
    const gL = !!opts.gradient && !Y && this.free(0);
    const gP = !!opts.gradient && !Y && this.free(1);
    const GL = gL ? zeros(n, m) : null;
    const GP = gP ? zeros(n, m) : null;
    const il2 = 1 / (l * l);
    const D = sqDist(X, Y);
    const Kd = K.data;
    const w = PI / p;
    for (let idx = 0; idx < D.length; idx++) {
      const arg = w * sqrt(D[idx]);
      const sn = sin(arg);
      const k = exp(-2 * sn * sn * il2);
      Kd[idx] = k;
      if (GL) GL.data[idx] = 4 * sn * sn * il2 * k;
      if (GP) GP.data[idx] = 4 * arg * il2 * cos(arg) * sn * k;
    }
    const grads = [GL, GP].filter((g): g is Mat => g !== null);
    return { K, grads };
  }
}

/**
 * Dot-product (linear) kernel k = σ₀² + x·y. Not stationary.
 *
 * @example
 * const linear = new DotProduct({ sigma0: 1 });
 */
export class DotProduct extends Leaf {
  protected readonly type = 'DotProduct' as const;
  /**
   * @param opts - `sigma0` (default 1), `sigma0Bounds`.
   * @throws ValueError for a non-positive value or one outside its bounds.
   */
  constructor(opts: { sigma0?: number; sigma0Bounds?: Bounds } = {}) {
    super();
    this.params = [makeParam('DotProduct', 'sigma_0', 'sigma0', opts.sigma0 ?? 1, opts.sigma0Bounds, false)];
  }
  compute(X: Mat, Y?: Mat | null, opts: ComputeOptions = {}): KernelValue {
    checkDims('DotProduct', X, Y, 1);
    const s2 = this.params[0].value[0] ** 2;
    const B = Y ?? X;
    const n = X.rows;
    const m = B.rows;
    const d = X.cols;
    const K = zeros(n, m);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let t = s2;
        for (let k = 0; k < d; k++) t += X.data[i * d + k] * B.data[j * d + k];
        K.data[i * m + j] = t;
      }
    }
    const grads = opts.gradient && !Y && this.free(0) ? [{ rows: n, cols: m, data: new Float64Array(n * m).fill(2 * s2) }] : [];
    return { K, grads };
  }
  override diag(X: Mat): Float64Array {
    const s2 = this.params[0].value[0] ** 2;
    const d = X.cols;
    const out = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let t = s2;
      for (let k = 0; k < d; k++) t += X.data[i * d + k] ** 2;
      out[i] = t;
    }
    return out;
  }
}

/**
 * Constant kernel k = c: as a factor, the signal variance (amplitude²); as a term, a constant offset.
 *
 * @example
 * const k = new ConstantKernel({ value: 4 }).mul(new RBF({ lengthScale: 10 })); // 2² · RBF
 */
export class ConstantKernel extends Leaf {
  protected readonly type = 'ConstantKernel' as const;
  /**
   * @param opts - `value` (sklearn `constant_value`, default 1), `valueBounds`.
   * @throws ValueError for a non-positive value or one outside its bounds.
   */
  constructor(opts: { value?: number; valueBounds?: Bounds } = {}) {
    super();
    this.params = [makeParam('ConstantKernel', 'constant_value', 'value', opts.value ?? 1, opts.valueBounds, false)];
  }
  compute(X: Mat, Y?: Mat | null, opts: ComputeOptions = {}): KernelValue {
    checkDims('ConstantKernel', X, Y, 1);
    const c = this.params[0].value[0];
    const n = X.rows;
    const m = Y ? Y.rows : n;
    const K = { rows: n, cols: m, data: new Float64Array(n * m).fill(c) };
    const grads = opts.gradient && !Y && this.free(0) ? [{ rows: n, cols: m, data: new Float64Array(n * m).fill(c) }] : [];
    return { K, grads };
  }
  protected override k0(): number {
    return this.params[0].value[0];
  }
}

/**
 * White noise k(x, y) = σ²·[x and y are the same training point]: it appears only on the
 * diagonal of K(X, X) and is 0 between different input sets (so predictions at new points see
 * it only through `includeNoise`).
 *
 * @example
 * const k = new RBF().add(new WhiteKernel({ noiseLevel: 0.1 }));
 */
export class WhiteKernel extends Leaf {
  protected readonly type = 'WhiteKernel' as const;
  /**
   * @param opts - `noiseLevel` (σ², default 1), `noiseLevelBounds`.
   * @throws ValueError for a non-positive value or one outside its bounds.
   */
  constructor(opts: { noiseLevel?: number; noiseLevelBounds?: Bounds } = {}) {
    super();
    this.params = [makeParam('WhiteKernel', 'noise_level', 'noiseLevel', opts.noiseLevel ?? 1, opts.noiseLevelBounds, false)];
  }
  compute(X: Mat, Y?: Mat | null, opts: ComputeOptions = {}): KernelValue {
    checkDims('WhiteKernel', X, Y, 1);
    const s = this.params[0].value[0];
    const n = X.rows;
    const m = Y ? Y.rows : n;
    const K = zeros(n, m);
    const on = !Y && (opts.noise ?? true);
    if (on) for (let i = 0; i < n; i++) K.data[i * n + i] = s;
    const grads: Mat[] = [];
    if (opts.gradient && !Y && this.free(0)) {
      const G = zeros(n, n);
      if (on) for (let i = 0; i < n; i++) G.data[i * n + i] = s;
      grads.push(G);
    }
    return { K, grads };
  }
  override diag(X: Mat, opts?: { noise?: boolean }): Float64Array {
    return new Float64Array(X.rows).fill((opts?.noise ?? true) ? this.params[0].value[0] : 0);
  }
}

/**
 * Rebuilds a kernel from {@link Kernel.toJSON}'s output.
 *
 * @param json - A kernel's JSON.
 * @returns The kernel.
 * @throws ValueError for an unknown kernel type.
 * @example
 * const k2 = kernelFromJSON(JSON.parse(JSON.stringify(k.toJSON())));
 */
export function kernelFromJSON(json: KernelJSON): Kernel {
  if (json === null || typeof json !== 'object') throw new TypeError(`kernelFromJSON: argument 'json' must be an object, got ${describe(json)}`);
  if (json.type === 'Sum' || json.type === 'Product') {
    const a = kernelFromJSON(json.k1);
    const b = kernelFromJSON(json.k2);
    return json.type === 'Sum' ? new Sum(a, b) : new Product(a, b);
  }
  const p = (json as { params?: Record<string, { value: number[]; bounds: Bounds }> }).params ?? {};
  const v = (name: string) => {
    const e = p[name];
    if (!e) throw new ValueError(`kernelFromJSON: a ${json.type} needs parameter '${name}'`, 'json');
    return e;
  };
  const one = (name: string) => v(name).value[0];
  switch (json.type) {
    case 'RBF':
      return new RBF({ lengthScale: v('length_scale').value, lengthScaleBounds: v('length_scale').bounds });
    case 'Matern':
      return new Matern({ nu: json.nu, lengthScale: v('length_scale').value, lengthScaleBounds: v('length_scale').bounds });
    case 'RationalQuadratic':
      return new RationalQuadratic({ alpha: one('alpha'), alphaBounds: v('alpha').bounds, lengthScale: one('length_scale'), lengthScaleBounds: v('length_scale').bounds });
    case 'ExpSineSquared':
      return new ExpSineSquared({ lengthScale: one('length_scale'), lengthScaleBounds: v('length_scale').bounds, periodicity: one('periodicity'), periodicityBounds: v('periodicity').bounds });
    case 'DotProduct':
      return new DotProduct({ sigma0: one('sigma_0'), sigma0Bounds: v('sigma_0').bounds });
    case 'ConstantKernel':
      return new ConstantKernel({ value: one('constant_value'), valueBounds: v('constant_value').bounds });
    case 'WhiteKernel':
      return new WhiteKernel({ noiseLevel: one('noise_level'), noiseLevelBounds: v('noise_level').bounds });
    default:
      throw new ValueError(`kernelFromJSON: unknown kernel type ${describe((json as { type?: unknown }).type)}`, 'json');
  }
}

/**
 * Bound-constrained quasi-Newton minimisation: a projected L-BFGS. Each iteration fixes the
 * variables that sit on a bound with the gradient pushing outwards (the active set), takes the
 * L-BFGS direction (two-loop recursion, Nocedal & Wright Alg. 7.4) on the others, and
 * backtracks along the projected path P(x + t·d) until the Armijo condition holds, measured
 * with the step actually taken. Stopping rules are scipy's L-BFGS-B ones: projected-gradient
 * max-norm ≤ `pgtol`, or relative decrease of f ≤ `factr`·ε.
 */

/** Objective: value and gradient at `x`. A non-finite value means "not allowed here" (the line search backs off). */
export type Objective = (x: Float64Array) => { f: number; g: Float64Array };

/** Options of {@link minimizeBounded}. */
export interface MinimizeOptions {
  /** Iterations at most (default 1000). */
  maxIter?: number;
  /** Evaluations at most (default 15000, as scipy). */
  maxEval?: number;
  /** Pairs kept in memory (default 10, as scipy). */
  memory?: number;
  /** Projected-gradient tolerance (default 1e-5, as scipy). */
  pgtol?: number;
  /** Relative-decrease tolerance in units of machine ε (default 1e7, as scipy's `factr`). */
  factr?: number;
}

/** Result of {@link minimizeBounded}. */
export interface MinimizeResult {
  x: Float64Array;
  f: number;
  g: Float64Array;
  iterations: number;
  evaluations: number;
  converged: boolean;
  message: string;
}

function clip(x: Float64Array, lo: Float64Array, hi: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.min(hi[i], Math.max(lo[i], x[i]));
  return out;
}

function projGradNorm(x: Float64Array, g: Float64Array, lo: Float64Array, hi: Float64Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const p = Math.min(hi[i], Math.max(lo[i], x[i] - g[i])) - x[i];
    m = Math.max(m, Math.abs(p));
  }
  return m;
}

/**
 * Minimises `fun` over the box [lower, upper].
 *
 * @param fun - Value and gradient; must be finite at the (clipped) start.
 * @param x0 - Starting point (clipped into the box).
 * @param lower - Lower bounds.
 * @param upper - Upper bounds.
 * @param opts - See {@link MinimizeOptions}.
 * @returns The best point found, with counts and whether a stopping rule was met.
 */
export function minimizeBounded(fun: Objective, x0: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>, opts: MinimizeOptions = {}): MinimizeResult {
  const n = x0.length;
  const lo = Float64Array.from(lower);
  const hi = Float64Array.from(upper);
  const maxIter = opts.maxIter ?? 1000;
  const maxEval = opts.maxEval ?? 15000;
  const mem = opts.memory ?? 10;
  const pgtol = opts.pgtol ?? 1e-5;
  const ftol = (opts.factr ?? 1e7) * Number.EPSILON;

  let x = clip(Float64Array.from(x0), lo, hi);
  let evals = 0;
  const evaluate = (p: Float64Array) => {
    evals++;
    return fun(p);
  };
  let { f, g } = evaluate(x);
  if (!Number.isFinite(f)) return { x, f, g, iterations: 0, evaluations: evals, converged: false, message: 'objective not finite at the starting point' };
  const S: Float64Array[] = [];
  const Yv: Float64Array[] = [];
  let it = 0;
  for (; it < maxIter; it++) {
    if (projGradNorm(x, g, lo, hi) <= pgtol) return { x, f, g, iterations: it, evaluations: evals, converged: true, message: 'projected gradient below pgtol' };
    // Active set: on a bound with the gradient pushing outwards.
    const free = new Uint8Array(n);
    for (let i = 0; i < n; i++) free[i] = (x[i] <= lo[i] && g[i] > 0) || (x[i] >= hi[i] && g[i] < 0) ? 0 : 1;
    const direction = (useMemory: boolean) => {
      const q = new Float64Array(n);
      for (let i = 0; i < n; i++) q[i] = free[i] ? g[i] : 0;
      const k = useMemory ? S.length : 0;
      const a = new Float64Array(k);
      const rho = new Float64Array(k);
      const dotF = (u: Float64Array, v: Float64Array) => {
        let s = 0;
        for (let i = 0; i < n; i++) if (free[i]) s += u[i] * v[i];
        return s;
      };
      for (let j = k - 1; j >= 0; j--) {
        const sy = dotF(S[j], Yv[j]);
        rho[j] = sy > 0 ? 1 / sy : 0;
        a[j] = rho[j] * dotF(S[j], q);
        for (let i = 0; i < n; i++) if (free[i]) q[i] -= a[j] * Yv[j][i];
      }
      let gamma = 1;
      if (k > 0) {
        const yy = dotF(Yv[k - 1], Yv[k - 1]);
        const sy = dotF(S[k - 1], Yv[k - 1]);
        if (yy > 0 && sy > 0) gamma = sy / yy;
      } else {
        // First step: move at most 1 in any coordinate (as L-BFGS-B's first step).
        let gm = 0;
        for (let i = 0; i < n; i++) if (free[i]) gm = Math.max(gm, Math.abs(q[i]));
        gamma = gm > 1 ? 1 / gm : 1;
      }
      for (let i = 0; i < n; i++) q[i] *= gamma;
      for (let j = 0; j < k; j++) {
        const b = rho[j] * dotF(Yv[j], q);
        for (let i = 0; i < n; i++) if (free[i]) q[i] += S[j][i] * (a[j] - b);
      }
      for (let i = 0; i < n; i++) q[i] = free[i] ? -q[i] : 0;
      return q;
    };
    let d = direction(true);
    let slope = 0;
    for (let i = 0; i < n; i++) slope += d[i] * g[i];
    if (!(slope < 0)) {
      S.length = 0;
      Yv.length = 0;
      d = direction(false);
    }
    // Backtracking along the projected path, Armijo with the realised step.
    let t = 1;
    let accepted: { x: Float64Array; f: number; g: Float64Array } | undefined;
    for (let ls = 0; ls < 40 && evals < maxEval; ls++) {
      const xn = new Float64Array(n);
      for (let i = 0; i < n; i++) xn[i] = x[i] + t * d[i];
      const xc = clip(xn, lo, hi);
      let dec = 0;
      let moved = false;
      for (let i = 0; i < n; i++) {
        dec += g[i] * (xc[i] - x[i]);
        if (xc[i] !== x[i]) moved = true;
      }
      if (!moved) break;
      const r = evaluate(xc);
      if (Number.isFinite(r.f) && r.f <= f + 1e-4 * dec && dec < 0) {
        accepted = { x: xc, f: r.f, g: r.g };
        break;
      }
      // Quadratic interpolation of the step when possible, kept within [0.1, 0.5] of t.
      let tn = t * 0.5;
      if (Number.isFinite(r.f) && dec < 0) {
        const denom = 2 * (r.f - f - dec);
        if (denom > 0) tn = Math.min(0.5 * t, Math.max(0.1 * t, (-dec * t) / denom));
      }
      t = tn;
    }
    if (!accepted) {
      if (S.length > 0) {
        S.length = 0;
        Yv.length = 0;
        continue;
      }
      return { x, f, g, iterations: it, evaluations: evals, converged: false, message: evals >= maxEval ? 'evaluation limit reached' : 'line search failed' };
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    let sy = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = accepted.x[i] - x[i];
      y[i] = accepted.g[i] - g[i];
      sy += s[i] * y[i];
      yy += y[i] * y[i];
    }
    if (sy > Number.EPSILON * yy) {
      S.push(s);
      Yv.push(y);
      if (S.length > mem) {
        S.shift();
        Yv.shift();
      }
    }
    const fOld = f;
    x = accepted.x;
    f = accepted.f;
    g = accepted.g;
    if ((fOld - f) / Math.max(Math.abs(fOld), Math.abs(f), 1) <= ftol) {
      return { x, f, g, iterations: it + 1, evaluations: evals, converged: true, message: 'relative reduction of f below factr·eps' };
    }
    if (evals >= maxEval) return { x, f, g, iterations: it + 1, evaluations: evals, converged: false, message: 'evaluation limit reached' };
  }
  return { x, f, g, iterations: it, evaluations: evals, converged: false, message: 'iteration limit reached' };
}

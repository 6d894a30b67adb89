import { expectClose } from '@x/test-utils';
import { NonFiniteError, NotPositiveDefiniteError, ShapeError, ValueError } from './errors.js';
import {
  add,
  addDiagonal,
  cholesky,
  choleskyLogDet,
  choleskySolve,
  diag,
  eye,
  fromRows,
  gram,
  inverseFromCholesky,
  mat,
  matmul,
  matvec,
  scale,
  solveLowerRows,
  solveTriangular,
  sub,
  toRows,
  transpose,
  type Mat,
} from './linalg.js';
import { Rng } from './rng.js';
import { simdKernel } from './linalg-wasm.js';

// ---- independent, deliberately naive reference implementations (textbook loops) ----

function naiveMatmul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));
}

function naiveTranspose(a: number[][]): number[][] {
  return a[0].map((_, j) => a.map((row) => row[j]));
}

/** Cholesky–Banachiewicz straight from the definition. */
function naiveCholesky(a: number[][]): number[][] {
  const n = a.length;
  const L = a.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      L[i][j] = i === j ? Math.sqrt(s) : s / L[j][j];
    }
  }
  return L;
}

function randomMat(rng: Rng, rows: number, cols: number): Mat {
  return mat(rows, cols, rng.normalArray64(rows * cols));
}

/** A = B·Bᵀ + n·I, symmetric positive definite with condition number O(1). */
function randomSpd(rng: Rng, n: number): Mat {
  const B = randomMat(rng, n, n);
  const A = naiveMatmul(toRows(B), naiveTranspose(toRows(B)));
  for (let i = 0; i < n; i++) A[i][i] += n;
  return fromRows(A);
}

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

const hilbert = (n: number) => fromRows(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => 1 / (i + j + 1))));

/** The exact inverse of the 5 × 5 Hilbert matrix (integer entries; checked with rational arithmetic). */
const HILBERT5_INV = [
  [25, -300, 1050, -1400, 630],
  [-300, 4800, -18900, 26880, -12600],
  [1050, -18900, 79380, -117600, 56700],
  [-1400, 26880, -117600, 179200, -88200],
  [630, -12600, 56700, -88200, 44100],
];

describe('matrix construction helpers', () => {
  it('mat, eye, fromRows and toRows round-trip', () => {
    expect(toRows(mat(2, 3, [1, 2, 3, 4, 5, 6]))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(toRows(eye(2))).toEqual([
      [1, 0],
      [0, 1],
    ]);
    const m = fromRows([
      [1, 2],
      [3, 4],
    ]);
    expect(m).toEqual({ rows: 2, cols: 2, data: new Float64Array([1, 2, 3, 4]) });
    expect(fromRows([])).toEqual({ rows: 0, cols: 0, data: new Float64Array(0) });
    const shared = new Float64Array(4);
    expect(mat(2, 2, shared).data).toBe(shared); // a Float64Array is wrapped, not copied
  });

  it('rejects bad shapes', () => {
    expect(() => mat(2, 2, [1, 2, 3])).toThrow(ShapeError);
    expect(() => mat(-1, 2)).toThrow(ValueError);
    expect(() => fromRows([[1, 2], [3]])).toThrow(/fromRows: every row must have length 2 \(as row 0\), got 1 at row 1/);
  });

  it('diag, add, sub, scale and addDiagonal', () => {
    const a = fromRows([
      [1, 2],
      [3, 4],
    ]);
    expect(Array.from(diag(a))).toEqual([1, 4]);
    expect(Array.from(diag(mat(2, 3, [1, 2, 3, 4, 5, 6])))).toEqual([1, 5]);
    expect(toRows(add(a, a))).toEqual([
      [2, 4],
      [6, 8],
    ]);
    expect(toRows(sub(a, eye(2)))).toEqual([
      [0, 2],
      [3, 3],
    ]);
    expect(toRows(scale(a, -1))).toEqual([
      [-1, -2],
      [-3, -4],
    ]);
    expect(toRows(addDiagonal(a, 10))).toEqual([
      [11, 2],
      [3, 14],
    ]);
    expect(toRows(addDiagonal(a, [1, 2]))).toEqual([
      [2, 2],
      [3, 6],
    ]);
    expect(a.data[0]).toBe(1); // inputs untouched
    expect(() => add(a, eye(3))).toThrow(ShapeError);
    expect(() => addDiagonal(mat(2, 3), 1)).toThrow(ShapeError);
    expect(() => addDiagonal(a, [1, Number.NaN])).toThrow(NonFiniteError);
    expect(() => scale(a, Infinity)).toThrow(NonFiniteError);
  });
});

describe('matmul, transpose, matvec', () => {
  const rng = new Rng(100);
  // Odd sizes and sizes past the kernel's 2-row, 4-deep and 512-column blocks exercise every
  // remainder path. Sums of ≤ 600 products of N(0,1) numbers: differences in summation order
  // stay below 1e-12 (values are O(25), float64 round-off ~ 600·2^-53·25 ≈ 2e-12, bound loosely).
  const cases: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [2, 4, 8],
    [7, 130, 9],
    [5, 9, 600],
    [0, 3, 2],
  ];
  it.each(cases)('matches a naive triple loop for [%i x %i]·[. x %i] in all four transpose modes', (m, k, n) => {
    const a = randomMat(rng, m, k);
    const b = randomMat(rng, k, n);
    const expected = m === 0 ? [] : naiveMatmul(toRows(a), toRows(b));
    const c = matmul(a, b);
    expect([c.rows, c.cols]).toEqual([m, n]);
    expectClose(c.data, expected.flat(), 1e-10);
    const at = transpose(a);
    const bt = transpose(b);
    expectClose(matmul(at, b, { transA: true }).data, expected.flat(), 1e-10);
    expectClose(matmul(a, bt, { transB: true }).data, expected.flat(), 1e-10);
    expectClose(matmul(at, bt, { transA: true, transB: true }).data, expected.flat(), 1e-10);
  });

  it('transpose matches the definition, including across 32-wide tiles', () => {
    const a = randomMat(rng, 37, 70);
    expect(toRows(transpose(a))).toEqual(naiveTranspose(toRows(a)));
  });

  it('matvec matches matmul with a one-column matrix, and its transpose', () => {
    const a = randomMat(rng, 9, 6);
    const x = rng.normalArray64(6);
    expectClose(matvec(a, x), naiveMatmul(toRows(a), Array.from(x, (v) => [v])).flat(), 1e-12);
    const y = rng.normalArray64(9);
    expectClose(matvec(a, y, { trans: true }), naiveMatmul(naiveTranspose(toRows(a)), Array.from(y, (v) => [v])).flat(), 1e-12);
  });

  it('rejects mismatched inner dimensions with both shapes in the message', () => {
    expect(() => matmul(mat(2, 3), mat(2, 3))).toThrow(
      /matmul: inner dimensions must agree, got op\(a\) of shape \[2,3\] and op\(b\) of shape \[2,3\]/,
    );
    expect(() => matmul(mat(2, 3), mat(2, 3), { transB: true })).not.toThrow();
    expect(() => matvec(mat(2, 3), new Float64Array(2))).toThrow(ShapeError);
    expect(() => matmul({ rows: 2, cols: 2, data: new Float64Array(3) }, eye(2))).toThrow(ShapeError);
  });
});

describe('cholesky', () => {
  it('factors a 2 × 2 matrix exactly', () => {
    // [[4, 2], [2, 3]] = L·Lᵀ with L = [[2, 0], [1, √2]].
    const r = cholesky(fromRows([[4, 2], [2, 3]]));
    expectClose(r.L.data, [2, 0, 1, Math.SQRT2], 1e-15);
    expect(r.jitter).toBe(0);
    expect(r.tries).toEqual([0]);
  });

  // 333 spans several 64-column blocks and more than one 256-long chunk of the update; the odd
  // sizes leave remainders in every unrolled loop.
  it.each([1, 5, 64, 65, 157, 333])('reconstructs a random SPD matrix of size %i within 1e-12 relative and matches textbook Cholesky', (n) => {
    const rng = new Rng(n);
    const A = randomSpd(rng, n);
    const { L, jitter } = cholesky(A);
    expect(jitter).toBe(0);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(L.data[i * n + j]).toBe(0);
    const LLt = matmul(L, L, { transB: true });
    // Backward stability: ‖L·Lᵀ − A‖ ≤ c·n·eps·‖A‖; 1e-12 relative is far above that bound
    // for n ≤ 157 (n·eps ≈ 3.5e-14) and far below any real error.
    const scaleA = maxAbs(A.data);
    expectClose(LLt.data, A.data, 1e-12 * scaleA);
    // A well-conditioned A (κ = O(1) by the +n·I) makes the factor itself accurate too.
    expectClose(L.data, naiveCholesky(toRows(A)).flat(), 1e-12 * Math.sqrt(scaleA));
  });

  it('uses the WebAssembly SIMD kernel here, and its results do not alias its reused memory', () => {
    // Node 20 has WebAssembly SIMD: the fast path must really be on where the benchmark runs.
    expect(simdKernel()).toBeDefined();
    const A = randomSpd(new Rng(7), 200);
    const B = randomSpd(new Rng(8), 150);
    const la = cholesky(A).L;
    const copy = la.data.slice();
    const lb = cholesky(B).L; // runs in the same kernel memory
    expect(la.data).toEqual(copy);
    expectClose(matmul(lb, lb, { transB: true }).data, B.data, 1e-12 * maxAbs(B.data));
    expectClose(la.data, naiveCholesky(toRows(A)).flat(), 1e-12 * Math.sqrt(maxAbs(A.data)));
  });

  it('reports the failing column of a large indefinite matrix on the SIMD path', () => {
    // diag(1..n) with one pivot made negative by an off-diagonal pair: fails exactly at column 150.
    const n = 200;
    const A = mat(n, n);
    for (let i = 0; i < n; i++) A.data[i * n + i] = 1;
    A.data[150 * n + 149] = A.data[149 * n + 150] = 2; // pivot 150: 1 − 2² = −3
    expect(() => cholesky(A, { maxTries: 0 })).toThrow(NotPositiveDefiniteError);
    try {
      cholesky(A, { maxTries: 0 });
    } catch (e) {
      expect((e as NotPositiveDefiniteError).column).toBe(150);
    }
  });

  it('handles the 5 × 5 Hilbert matrix: log-determinant and inverse against exact values', () => {
    const H = hilbert(5);
    const { L, jitter } = cholesky(H);
    expect(jitter).toBe(0);
    // det(H5) = 1/266716800000 exactly; κ(H5) ≈ 4.8e5, so expect ~κ·eps ≈ 1e-10 relative error.
    expectClose(choleskyLogDet(L), -Math.log(266716800000), 1e-9);
    const inv = inverseFromCholesky(L);
    expectClose(inv.data, HILBERT5_INV.flat(), { atol: 0, rtol: 1e-8 });
    // The inverse is built to be exactly symmetric.
    expect(toRows(inv)).toEqual(naiveTranspose(toRows(inv)));
  });

  it('adds growing jitter to a rank-deficient PSD matrix and reports it', () => {
    const ones = fromRows([
      [1, 1, 1],
      [1, 1, 1],
      [1, 1, 1],
    ]);
    const r = cholesky(ones);
    expect(r.jitter).toBeGreaterThan(0);
    expect(r.tries[0]).toBe(0);
    expect(r.tries[r.tries.length - 1]).toBe(r.jitter);
    expect(r.tries[1]).toBeCloseTo(1e-10, 20); // initialJitter · mean(diag) = 1e-10 · 1
    for (let t = 2; t < r.tries.length; t++) expectClose(r.tries[t], 10 * r.tries[t - 1], { rtol: 1e-12 });
    const LLt = matmul(r.L, r.L, { transB: true });
    expectClose(LLt.data, addDiagonal(ones, r.jitter).data, 1e-12);
  });

  it('scales the jitter with the mean diagonal and honours initialJitter and a fixed jitter', () => {
    const big = scale(fromRows([[1, 1], [1, 1]]), 1e6);
    const r = cholesky(big, { initialJitter: 1e-8 });
    expectClose(r.tries[1], 1e-2, { rtol: 1e-12 }); // 1e-8 · mean diag 1e6
    const fixed = cholesky(fromRows([[1, 1], [1, 1]]), { jitter: 0.5 });
    expect(fixed.tries).toEqual([0.5]);
    expectClose(matmul(fixed.L, fixed.L, { transB: true }).data, [1.5, 1, 1, 1.5], 1e-15);
  });

  it('throws NotPositiveDefiniteError with diagonalMin and no jitter for a negative diagonal', () => {
    const a = fromRows([
      [2, 0, 0],
      [0, -1, 0],
      [0, 0, 3],
    ]);
    let err: unknown;
    try {
      cholesky(a);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotPositiveDefiniteError);
    const e = err as NotPositiveDefiniteError;
    expect(e.diagonalMin).toBe(-1);
    expect(e.tries).toEqual([0]);
    expect(e.column).toBe(1);
    expect(e.message).toMatch(/^cholesky: argument 'a' \(3x3\) is not positive definite: smallest diagonal entry -1/);
  });

  it('throws after maxTries for an indefinite matrix with a positive diagonal, listing the jitters', () => {
    const a = fromRows([
      [1, 2],
      [2, 1],
    ]); // eigenvalues 3 and −1
    expect(() => cholesky(a)).toThrow(NotPositiveDefiniteError);
    expect.assertions(6);
    try {
      cholesky(a, { maxTries: 3 });
    } catch (e) {
      const err = e as NotPositiveDefiniteError;
      expect(err.tries.length).toBe(4);
      expect(err.tries[0]).toBe(0);
      expectClose(err.tries.slice(1), [1e-10, 1e-9, 1e-8], { rtol: 1e-12 });
      expect(err.column).toBe(1);
      expect(err.diagonalMin).toBe(1);
      expect(err.message).toMatch(/jitter 0\.0e\+0, 1\.0e-10, 1\.0e-9, 1\.0e-8/);
    }
  });

  it('validates its input: square, finite, symmetric, options', () => {
    expect(() => cholesky(mat(2, 3))).toThrow(ShapeError);
    expect(() => cholesky(mat(2, 3))).toThrow(/cholesky: argument 'a' must be square, got shape \[2,3\]/);
    expect(() => cholesky(fromRows([[1, Number.NaN], [Number.NaN, 1]]))).toThrow(NonFiniteError);
    expect(() => cholesky(fromRows([[1, 0, 0], [0, 1, 0.5], [0, 0, 1]]))).toThrow(/must be symmetric, got a\[2\]\[1\] = 0 and a\[1\]\[2\] = 0.5/);
    expect(() => cholesky(fromRows([[1, 0, 0], [0, 1, 0.5], [0, 0, 1]]))).toThrow(ValueError);
    // A float32-sized asymmetry passes the default tolerance.
    expect(() => cholesky(fromRows([[1, 0.5 + 1e-8], [0.5, 1]]))).not.toThrow();
    expect(() => cholesky(eye(2), { jitter: -1 })).toThrow(ValueError);
    expect(() => cholesky(eye(2), { maxTries: 1.5 })).toThrow(ValueError);
    // check: false skips the scans; a NaN then still fails as not positive definite, not silently.
    expect(() => cholesky(fromRows([[Number.NaN]]), { check: false })).toThrow(NotPositiveDefiniteError);
  });

  it('handles the empty matrix', () => {
    const r = cholesky(mat(0, 0));
    expect(r.L.rows).toBe(0);
    expect(choleskyLogDet(r.L)).toBe(0);
  });
});

describe('triangular solves and Cholesky-based helpers', () => {
  const n = 70;
  const rng = new Rng(200);
  const A = randomSpd(rng, n);
  const { L } = cholesky(A);
  const U = transpose(L);
  const b = rng.normalArray64(n);
  const B = randomMat(rng, n, 3);

  /** Fills the triangle the solver must ignore with garbage. */
  function poisonOther(T: Mat, lower: boolean): Mat {
    const out = mat(T.rows, T.cols, T.data.slice());
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (lower ? j > i : j < i) out.data[i * n + j] = 1e6;
    return out;
  }

  const cases: [string, Mat, boolean, boolean][] = [
    ['L x = b', L, true, false],
    ['Lᵀ x = b', L, true, true],
    ['U x = b', U, false, false],
    ['Uᵀ x = b', U, false, true],
  ];
  it.each(cases)('solves %s for a vector and a matrix with residual below 1e-12', (_, T, lower, trans) => {
    const P = poisonOther(T, lower);
    const op = trans ? transpose(T) : T;
    const x = solveTriangular(P, b, { lower, trans });
    expect(x).toBeInstanceOf(Float64Array);
    // Residual relative to |b| ~ 3 with a well-conditioned T (diagonal ≥ √n): 1e-12 is ample.
    expectClose(matvec(op, x), b, 1e-12);
    const X = solveTriangular(P, B, { lower, trans });
    expect([X.rows, X.cols]).toEqual([n, 3]);
    expectClose(matmul(op, X).data, B.data, 1e-12);
    // The vector path and the matrix path agree column by column.
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) col[i] = B.data[i * 3 + 1];
    const xc = solveTriangular(P, col, { lower, trans });
    expectClose(Array.from({ length: n }, (_, i) => X.data[i * 3 + 1]), xc, 1e-13);
  });

  it('choleskySolve solves A x = b (vector and matrix)', () => {
    const x = choleskySolve(L, b);
    expectClose(matvec(A, x), b, 1e-10);
    const X = choleskySolve(L, B);
    expectClose(matmul(A, X).data, B.data, 1e-10);
  });

  it('choleskyLogDet equals log det of a 2 × 2 matrix and of a diagonal matrix', () => {
    expectClose(choleskyLogDet(cholesky(fromRows([[4, 2], [2, 3]])).L), Math.log(8), 1e-15);
    const d = [2, 3, 0.5, 7];
    const D = addDiagonal(mat(4, 4), d);
    expectClose(choleskyLogDet(cholesky(D).L), Math.log(2 * 3 * 0.5 * 7), 1e-14);
    expect(() => choleskyLogDet(fromRows([[-1]]))).toThrow(ValueError);
  });

  it('inverseFromCholesky gives A·A⁻¹ = I', () => {
    const inv = inverseFromCholesky(L);
    expectClose(matmul(A, inv).data, eye(n).data, 1e-12);
  });

  it('rejects bad triangular inputs with named errors', () => {
    expect(() => solveTriangular(mat(2, 3), b, { lower: true })).toThrow(ShapeError);
    expect(() => solveTriangular(L, new Float64Array(3), { lower: true })).toThrow(/solveTriangular: argument 'b' must have length 70, got 3/);
    expect(() => solveTriangular(L, mat(3, 2), { lower: true })).toThrow(ShapeError);
    expect(() => solveTriangular(fromRows([[1, 0], [1, 0]]), new Float64Array(2), { lower: true })).toThrow(
      /argument 'L' is singular: diagonal entry \(1, 1\) is 0/,
    );
    expect(() => solveTriangular(eye(2), new Float64Array([1, Number.NaN]), { lower: true })).toThrow(NonFiniteError);
    expect(() => solveTriangular(eye(2), new Float64Array(2), {} as { lower: boolean })).toThrow(TypeError);
    expect(() => choleskySolve(L, new Float64Array(2))).toThrow(ShapeError);
  });
});

describe('solveLowerRows (right-hand sides as rows, X·Lᵀ = B)', () => {
  // n < 128 runs the plain-JS path; n ≥ 128 the WebAssembly kernels, with n not a multiple of
  // 4 or of the 64-wide block, odd row counts (the last row outside the kernel's row pairs)
  // and, at n = 300 / m = 29000, more rows than one kernel chunk ((1 << 23) / 300 = 27962).
  it.each([[5, 3], [70, 4], [130, 7], [203, 9], [257, 1], [300, 64]])(
    'equals the column solve of solveTriangular, transposed, to 1e-12 (n = %i, m = %i)',
    (n, m) => {
      const rng = new Rng(n * 31 + m);
      const A = randomSpd(rng, n);
      const { L } = cholesky(A);
      const B = randomMat(rng, m, n);
      const X = solveLowerRows(L, B);
      expect([X.rows, X.cols]).toEqual([m, n]);
      const ref = transpose(solveTriangular(L, transpose(B), { lower: true }));
      // Same substitution in another order: round-off differences only (|X| ~ 0.1, L well conditioned).
      expectClose(X.data, ref.data, { rtol: 1e-12, atol: 1e-13 });
    },
  );

  it('handles more rows than one kernel chunk (n = 300, m = 29000) with the residual of X·Lᵀ below 1e-12', () => {
    const n = 300;
    const m = 29000;
    const rng = new Rng(9);
    const { L } = cholesky(randomSpd(rng, n));
    // Cheap deterministic right-hand sides (8.7 million normals would dominate the test's time).
    const B = mat(m, n, Float64Array.from({ length: m * n }, (_, t) => Math.sin(t * 0.7)));
    const X = solveLowerRows(L, B, { check: false });
    // Check a few rows far apart (the first, both sides of the chunk boundary, the last).
    for (const i of [0, 27961, 27962, 27963, m - 1]) {
      const x = X.data.subarray(i * n, (i + 1) * n);
      expectClose(matvec(L, x), B.data.subarray(i * n, (i + 1) * n), 1e-12);
    }
  });

  it('ignores the upper triangle of L', () => {
    const rng = new Rng(3);
    const n = 140;
    const { L } = cholesky(randomSpd(rng, n));
    const P = mat(n, n, L.data.slice());
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) P.data[i * n + j] = 1e6;
    const B = randomMat(rng, 5, n);
    expectClose(solveLowerRows(P, B).data, solveLowerRows(L, B).data, 0);
  });

  it('rejects bad inputs with named errors', () => {
    expect(() => solveLowerRows(eye(3), mat(2, 4))).toThrow(/solveLowerRows: argument 'B' must have 3 columns/);
    expect(() => solveLowerRows(mat(2, 3), mat(2, 3))).toThrow(ShapeError);
    expect(() => solveLowerRows(fromRows([[1, 0], [1, 0]]), mat(1, 2))).toThrow(/argument 'L' is singular/);
    expect(() => solveLowerRows(eye(2), fromRows([[1, Number.NaN]]))).toThrow(NonFiniteError);
    expect(solveLowerRows(eye(2), mat(0, 2)).rows).toBe(0);
  });
});

describe('gram (AᵀA)', () => {
  it('gives [[10, 14], [14, 20]] for [[1, 2], [3, 4]]', () => {
    expect(toRows(gram(fromRows([[1, 2], [3, 4]])))).toEqual([[10, 14], [14, 20]]);
  });
  // (rows, cols): the JS path (cols < 8 or rows < 64) and the WebAssembly one, with cols and
  // rows not multiples of 4, more than one 64-row block and more than one 128-wide chunk.
  it.each([[10, 3], [63, 9], [64, 8], [301, 7 + 64], [1000, 131]])('equals matmul(aᵀ, a) to 1e-12 relative (rows = %i, cols = %i)', (r, c) => {
    const rng = new Rng(r + 7 * c);
    const A = randomMat(rng, r, c);
    const G = gram(A);
    const ref = matmul(A, A, { transA: true });
    expectClose(G.data, ref.data, { rtol: 1e-12, atol: 1e-12 * r });
    for (let i = 0; i < c; i++) for (let j = 0; j < i; j++) expect(G.data[i * c + j]).toBe(G.data[j * c + i]);
  });
});

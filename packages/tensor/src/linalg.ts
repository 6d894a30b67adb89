/**
 * Dense float64 linear algebra on row-major `Float64Array`s, in plain TypeScript: tfjs has no
 * float64 and no Cholesky, and Gaussian processes need both (a kernel matrix in float32 loses
 * positive definiteness long before float64 does).
 *
 * Speed notes. The Cholesky factorisation's hot loops run in WebAssembly SIMD kernels
 * (linalg-wasm.ts); the plain-JS versions below stay as the fallback and for small n.
 * JavaScript has no SIMD for scalar code and every typed-array access is bounds
 * checked, so the cost is in loads per floating-point operation. The hot loops are therefore
 * register-blocked: the Cholesky update computes a 2×4 block of dot products per pass over
 * contiguous row segments (6 loads for 8 multiply-adds), and `matmul` updates two output rows
 * with four rows of `b` per pass (i-k-j order, contiguous inner loop, 6 loads and 2 stores for
 * 8 multiply-adds), with the `b` panel blocked to stay in cache.
 */
import { NonFiniteError, NotPositiveDefiniteError, ShapeError, ValueError, assert, describe } from './errors.js';
import { simdKernel, type SimdKernel } from './linalg-wasm.js';

/** A dense row-major float64 matrix: entry (i, j) is `data[i * cols + j]`. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** Use aᵀ instead of a (default false). */
  transA?: boolean;
  /** Use bᵀ instead of b (default false). */
  transB?: boolean;
}

/** Options of {@link cholesky}. */
export interface CholeskyOptions {
  /**
   * `'auto'` (default): try without jitter, then with `initialJitter·mean(diag(a))` growing
   * tenfold per try. A number: factor `a + jitter·I` once with exactly that jitter.
   */
  jitter?: 'auto' | number;
  /** Jittered attempts after the plain one in `'auto'` mode (default 6, so at most 7 in all). */
  maxTries?: number;
  /** First jitter relative to the mean diagonal in `'auto'` mode (default 1e-10). */
  initialJitter?: number;
  /** Validate finiteness and symmetry first (default true). Squareness is always checked. */
  check?: boolean;
  /**
   * Allowed asymmetry |a_ij − a_ji| relative to the largest |a_ij| (default 1e-6, loose enough
   * for matrices assembled in float32, tight enough to catch a wrong matrix). Only the lower
   * triangle is read by the factorisation.
   */
  symmetryTol?: number;
}

/** Result of {@link cholesky}. */
export interface CholeskyResult {
  /** Lower-triangular factor (zeros above the diagonal) with L·Lᵀ = a + jitter·I. */
  L: Mat;
  /** Jitter added to the diagonal for the successful factorisation (0 if none was needed). */
  jitter: number;
  /** Every jitter tried, in order, the successful one last. */
  tries: number[];
}

/** Options of {@link solveTriangular}. */
export interface TriangularOptions {
  /** `true`: the matrix is lower-triangular (its upper triangle is ignored); `false`: upper. */
  lower: boolean;
  /** Solve with the transpose of the matrix (default false). */
  trans?: boolean;
  /** Check that the right-hand side and the used triangle are finite (default true). */
  check?: boolean;
}

const shapeOf = (m: Mat): [number, number] => [m.rows, m.cols];

function checkMat(fn: string, arg: string, m: unknown): Mat {
  const ok =
    m !== null &&
    typeof m === 'object' &&
    Number.isInteger((m as Mat).rows) &&
    Number.isInteger((m as Mat).cols) &&
    (m as Mat).rows >= 0 &&
    (m as Mat).cols >= 0 &&
    (m as Mat).data instanceof Float64Array;
  if (!ok) throw new TypeError(`${fn}: argument '${arg}' must be a Mat {rows, cols, data: Float64Array}, got ${describe(m)}`);
  const a = m as Mat;
  assert(
    a.data.length === a.rows * a.cols,
    () =>
      new ShapeError(`${fn}: argument '${arg}' has rows·cols = ${a.rows}·${a.cols} = ${a.rows * a.cols} but data of length ${a.data.length}`, {
        expected: `data of length ${a.rows * a.cols}`,
        received: [a.data.length],
      }),
  );
  return a;
}

function checkSquare(fn: string, arg: string, m: unknown): Mat {
  const a = checkMat(fn, arg, m);
  assert(
    a.rows === a.cols,
    () => new ShapeError(`${fn}: argument '${arg}' must be square, got shape [${a.rows},${a.cols}]`, { expected: '[n,n]', received: shapeOf(a) }),
  );
  return a;
}

function checkDim(fn: string, arg: string, n: unknown): number {
  if (typeof n !== 'number') throw new TypeError(`${fn}: argument '${arg}' must be a number, got ${describe(n)}`);
  assert(Number.isInteger(n) && n >= 0, () => new ValueError(`${fn}: argument '${arg}' must be a non-negative integer, got ${n}`, arg));
  return n;
}

/**
 * Makes a `rows × cols` matrix: zeros, or wrapping `data`.
 *
 * @param rows - Number of rows (non-negative integer).
 * @param cols - Number of columns (non-negative integer).
 * @param data - Row-major entries. A `Float64Array` is used as is (no copy, so later writes
 *   are shared); any other array-like is copied.
 * @returns The matrix.
 * @throws ValueError if `rows`/`cols` is not a non-negative integer.
 * @throws ShapeError if `data.length !== rows·cols`.
 * @example
 * const a = mat(2, 2, [1, 2, 3, 4]); // [[1, 2], [3, 4]]
 */
export function mat(rows: number, cols: number, data?: ArrayLike<number>): Mat {
  checkDim('mat', 'rows', rows);
  checkDim('mat', 'cols', cols);
  if (data === undefined) return { rows, cols, data: new Float64Array(rows * cols) };
  assert(
    data.length === rows * cols,
    () => new ShapeError(`mat: argument 'data' must have length rows·cols = ${rows * cols}, got ${data.length}`, { expected: `[${rows * cols}]`, received: [data.length] }),
  );
  return { rows, cols, data: data instanceof Float64Array ? data : Float64Array.from(data) };
}

/**
 * The `n × n` identity matrix.
 *
 * @param n - Size (non-negative integer).
 * @returns A new identity matrix.
 * @throws ValueError if `n` is not a non-negative integer.
 * @example
 * eye(3).data; // Float64Array [1,0,0, 0,1,0, 0,0,1]
 */
export function eye(n: number): Mat {
  checkDim('eye', 'n', n);
  const m = mat(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

/**
 * Builds a matrix from an array of equal-length rows.
 *
 * @param rows - The rows; an empty array gives a 0 × 0 matrix.
 * @returns A new matrix.
 * @throws TypeError if `rows` is not an array of arrays.
 * @throws ShapeError if the rows have different lengths.
 * @example
 * fromRows([[1, 2], [3, 4]]); // { rows: 2, cols: 2, data: [1, 2, 3, 4] }
 */
export function fromRows(rows: ArrayLike<number>[]): Mat {
  assert(Array.isArray(rows), () => new TypeError(`fromRows: argument 'rows' must be an array of rows, got ${describe(rows)}`));
  const r = rows.length;
  const c = r > 0 ? rows[0].length : 0;
  const m = mat(r, c);
  for (let i = 0; i < r; i++) {
    const row = rows[i];
    assert(
      row !== null && typeof row === 'object' && typeof row.length === 'number',
      () => new TypeError(`fromRows: row ${i} must be an array of numbers, got ${describe(row)}`),
    );
    assert(
      row.length === c,
      () => new ShapeError(`fromRows: every row must have length ${c} (as row 0), got ${row.length} at row ${i}`, { expected: `[${r},${c}]`, received: [i, row.length] }),
    );
    for (let j = 0; j < c; j++) m.data[i * c + j] = row[j];
  }
  return m;
}

/**
 * The matrix as an array of plain number rows (for printing, JSON, tests).
 *
 * @param m - The matrix.
 * @returns A new `number[][]`.
 * @throws TypeError if `m` is not a Mat.
 * @example
 * toRows(eye(2)); // [[1, 0], [0, 1]]
 */
export function toRows(m: Mat): number[][] {
  checkMat('toRows', 'm', m);
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}

/**
 * The transpose, with a tiled loop so that both reads and writes stay in cache.
 *
 * @param a - The matrix.
 * @returns A new `cols × rows` matrix.
 * @throws TypeError if `a` is not a Mat.
 * @example
 * toRows(transpose(fromRows([[1, 2, 3]]))); // [[1], [2], [3]]
 */
export function transpose(a: Mat): Mat {
  checkMat('transpose', 'a', a);
  return transposeRaw(a);
}

function transposeRaw(a: Mat): Mat {
  const { rows: r, cols: c, data: x } = a;
  const out = new Float64Array(r * c);
  const T = 32;
  for (let i0 = 0; i0 < r; i0 += T) {
    const i1 = Math.min(i0 + T, r);
    for (let j0 = 0; j0 < c; j0 += T) {
      const j1 = Math.min(j0 + T, c);
      for (let i = i0; i < i1; i++) {
        const row = i * c;
        for (let j = j0; j < j1; j++) out[j * r + i] = x[row + j];
      }
    }
  }
  return { rows: c, cols: r, data: out };
}

/**
 * Matrix product `op(a)·op(b)` where `op` transposes when asked. The kernel is an i-k-j loop
 * (contiguous inner loop over a row of `b` and of the result), unrolled over two rows of the
 * result and four rows of `b`, with `b` processed in cache-sized panels. Transposed operands
 * are materialised first (O(n²) next to the O(n³) product).
 *
 * @param a - Left matrix, `m × k` (or `k × m` with `transA`).
 * @param b - Right matrix, `k × n` (or `n × k` with `transB`).
 * @param opts - `transA`, `transB`.
 * @returns A new `m × n` matrix.
 * @throws ShapeError if the inner dimensions differ.
 * @example
 * const c = matmul(fromRows([[1, 2]]), fromRows([[3], [4]])); // [[11]]
 * const g = matmul(x, x, { transA: true });                  // Gram matrix xᵀx
 */
export function matmul(a: Mat, b: Mat, opts: MatmulOptions = {}): Mat {
  checkMat('matmul', 'a', a);
  checkMat('matmul', 'b', b);
  const A = opts.transA ? transposeRaw(a) : a;
  const B = opts.transB ? transposeRaw(b) : b;
  assert(
    A.cols === B.rows,
    () =>
      new ShapeError(
        `matmul: inner dimensions must agree, got op(a) of shape [${A.rows},${A.cols}] and op(b) of shape [${B.rows},${B.cols}]` +
          ` (transA ${!!opts.transA}, transB ${!!opts.transB})`,
        { expected: `[${A.rows},k]·[k,n] with k = ${A.cols}`, received: shapeOf(B) },
      ),
  );
  const C = mat(A.rows, B.cols);
  gemmAcc(A.data, B.data, C.data, A.rows, A.cols, B.cols);
  return C;
}

/** C += A·B for row-major A (m×k), B (k×n), C (m×n). */
function gemmAcc(A: Float64Array, B: Float64Array, C: Float64Array, m: number, k: number, n: number): void {
  // Panels of b: KC rows × NC columns (128·512·8 B = 512 KiB) stay in L2 across all rows of a.
  const KC = 128;
  const NC = 512;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const p1 = Math.min(p0 + KC, k);
    const p4 = p0 + ((p1 - p0) & ~3);
    for (let j0 = 0; j0 < n; j0 += NC) {
      const j1 = Math.min(j0 + NC, n);
      let i = 0;
      for (; i + 1 < m; i += 2) {
        const a0 = i * k;
        const a1 = a0 + k;
        const c0 = i * n;
        const c1 = c0 + n;
        let p = p0;
        for (; p < p4; p += 4) {
          const x00 = A[a0 + p], x01 = A[a0 + p + 1], x02 = A[a0 + p + 2], x03 = A[a0 + p + 3];
          const x10 = A[a1 + p], x11 = A[a1 + p + 1], x12 = A[a1 + p + 2], x13 = A[a1 + p + 3];
          const b0 = p * n;
          const b1 = b0 + n;
          const b2 = b1 + n;
          const b3 = b2 + n;
          for (let j = j0; j < j1; j++) {
            const y0 = B[b0 + j], y1 = B[b1 + j], y2 = B[b2 + j], y3 = B[b3 + j];
            C[c0 + j] += x00 * y0 + x01 * y1 + x02 * y2 + x03 * y3;
            C[c1 + j] += x10 * y0 + x11 * y1 + x12 * y2 + x13 * y3;
          }
        }
        for (; p < p1; p++) {
          const x0 = A[a0 + p], x1 = A[a1 + p];
          const b0 = p * n;
          for (let j = j0; j < j1; j++) {
            const y = B[b0 + j];
            C[c0 + j] += x0 * y;
            C[c1 + j] += x1 * y;
          }
        }
      }
      if (i < m) {
        const a0 = i * k;
        const c0 = i * n;
        for (let p = p0; p < p1; p++) {
          const x = A[a0 + p];
          const b0 = p * n;
          for (let j = j0; j < j1; j++) C[c0 + j] += x * B[b0 + j];
        }
      }
    }
  }
}

/**
 * Matrix–vector product `a·x` (or `aᵀ·x`).
 *
 * @param a - Matrix, `m × n`.
 * @param x - Vector of length `n` (`m` with `trans`).
 * @param opts - `trans`: multiply by aᵀ (default false).
 * @returns A new `Float64Array` of length `m` (`n` with `trans`).
 * @throws ShapeError if the lengths do not match.
 * @example
 * matvec(fromRows([[1, 2], [3, 4]]), new Float64Array([1, 1])); // [3, 7]
 */
export function matvec(a: Mat, x: Float64Array, opts: { trans?: boolean } = {}): Float64Array {
  checkMat('matvec', 'a', a);
  assert(x instanceof Float64Array, () => new TypeError(`matvec: argument 'x' must be a Float64Array, got ${describe(x)}`));
  const { rows: m, cols: n, data: A } = a;
  const want = opts.trans ? m : n;
  assert(
    x.length === want,
    () =>
      new ShapeError(`matvec: argument 'x' must have length ${want} for a${opts.trans ? 'ᵀ' : ''} of shape [${m},${n}], got ${x.length}`, {
        expected: `[${want}]`,
        received: [x.length],
      }),
  );
  if (opts.trans) {
    const y = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      const xi = x[i];
      const r = i * n;
      for (let j = 0; j < n; j++) y[j] += xi * A[r + j];
    }
    return y;
  }
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) y[i] = dot(A, i * n, x, 0, n);
  return y;
}

/** Σ_t a[ia + t]·b[ib + t] for t < len, with four accumulators to hide add latency. */
function dot(a: Float64Array, ia: number, b: Float64Array, ib: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 3 < len; t += 4) {
    s0 += a[ia + t] * b[ib + t];
    s1 += a[ia + t + 1] * b[ib + t + 1];
    s2 += a[ia + t + 2] * b[ib + t + 2];
    s3 += a[ia + t + 3] * b[ib + t + 3];
  }
  for (; t < len; t++) s0 += a[ia + t] * b[ib + t];
  return s0 + s1 + (s2 + s3);
}

/**
 * The diagonal of a matrix (the first min(rows, cols) entries (i, i)).
 *
 * @param m - The matrix.
 * @returns A new `Float64Array`.
 * @throws TypeError if `m` is not a Mat.
 * @example
 * diag(fromRows([[1, 2], [3, 4]])); // Float64Array [1, 4]
 */
export function diag(m: Mat): Float64Array {
  checkMat('diag', 'm', m);
  const k = Math.min(m.rows, m.cols);
  const out = new Float64Array(k);
  for (let i = 0; i < k; i++) out[i] = m.data[i * m.cols + i];
  return out;
}

function checkSameShape(fn: string, a: Mat, b: Mat): void {
  assert(
    a.rows === b.rows && a.cols === b.cols,
    () =>
      new ShapeError(`${fn}: arguments 'a' and 'b' must have the same shape, got [${a.rows},${a.cols}] and [${b.rows},${b.cols}]`, {
        expected: `[${a.rows},${a.cols}]`,
        received: shapeOf(b),
      }),
  );
}

/**
 * Element-wise sum `a + b`.
 *
 * @param a - First matrix.
 * @param b - Second matrix, same shape.
 * @returns A new matrix.
 * @throws ShapeError if the shapes differ.
 * @example
 * add(eye(2), eye(2)); // 2·I
 */
export function add(a: Mat, b: Mat): Mat {
  checkMat('add', 'a', a);
  checkMat('add', 'b', b);
  checkSameShape('add', a, b);
  const out = mat(a.rows, a.cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i] + b.data[i];
  return out;
}

/**
 * Element-wise difference `a − b`.
 *
 * @param a - First matrix.
 * @param b - Second matrix, same shape.
 * @returns A new matrix.
 * @throws ShapeError if the shapes differ.
 * @example
 * sub(eye(2), eye(2)); // zeros
 */
export function sub(a: Mat, b: Mat): Mat {
  checkMat('sub', 'a', a);
  checkMat('sub', 'b', b);
  checkSameShape('sub', a, b);
  const out = mat(a.rows, a.cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i] - b.data[i];
  return out;
}

/**
 * Scalar multiple `s·a`.
 *
 * @param a - The matrix.
 * @param s - A finite scalar.
 * @returns A new matrix.
 * @throws ValueError if `s` is not finite.
 * @example
 * scale(eye(2), 3); // 3·I
 */
export function scale(a: Mat, s: number): Mat {
  checkMat('scale', 'a', a);
  if (typeof s !== 'number') throw new TypeError(`scale: argument 's' must be a number, got ${describe(s)}`);
  assert(Number.isFinite(s), () => new NonFiniteError(`scale: argument 's' must be finite, got ${s}`, 's', 0));
  const out = mat(a.rows, a.cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = s * a.data[i];
  return out;
}

/**
 * `m + diag(v)`: adds a scalar or a vector to the diagonal of a square matrix (jitter, noise).
 *
 * @param m - A square matrix.
 * @param v - A finite number, or finite values of length `n`.
 * @returns A new matrix.
 * @throws ShapeError if `m` is not square or `v` has the wrong length.
 * @throws NonFiniteError if `v` holds NaN or ±Infinity.
 * @example
 * addDiagonal(k, 0.1);                 // K + 0.1·I
 * addDiagonal(k, [0.1, 0.2, 0.3]);     // heteroscedastic noise
 */
export function addDiagonal(m: Mat, v: number | ArrayLike<number>): Mat {
  const fn = 'addDiagonal';
  checkSquare(fn, 'm', m);
  const n = m.rows;
  const out: Mat = { rows: n, cols: n, data: m.data.slice() };
  if (typeof v === 'number') {
    assert(Number.isFinite(v), () => new NonFiniteError(`${fn}: argument 'v' must be finite, got ${v}`, 'v', 0));
    for (let i = 0; i < n; i++) out.data[i * n + i] += v;
    return out;
  }
  assert(
    v !== null && typeof v === 'object' && typeof v.length === 'number',
    () => new TypeError(`${fn}: argument 'v' must be a number or an array of numbers, got ${describe(v)}`),
  );
  assert(v.length === n, () => new ShapeError(`${fn}: argument 'v' must have length ${n}, got ${v.length}`, { expected: `[${n}]`, received: [v.length] }));
  for (let i = 0; i < n; i++) {
    const x = v[i];
    assert(Number.isFinite(x), () => new NonFiniteError(`${fn}: argument 'v' must hold finite numbers, got ${x} at index ${i}`, 'v', i));
    out.data[i * n + i] += x;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Cholesky

/** Column block width of the factorisation (see `factorInPlace`). */
const NB = 64;
/** Chunk of the inner dimension per pass of the update, so the block's rows stay in L2. */
const KC = 256;

/**
 * Subtracts L[i, 0:k0]·L[j, 0:k0] from w[i][j] for rows i in [k0, n) and columns j in [k0, k1)
 * (the left-looking update of one block column). Entries with j > i inside the diagonal block
 * are updated too (cheaper than branching) and are zeroed at the end. Every access is along
 * contiguous row segments; the 2×4 register block does 8 multiply-adds per 6 loads.
 */
function updateBlockColumn(w: Float64Array, n: number, k0: number, k1: number): void {
  const j4 = k0 + ((k1 - k0) & ~3);
  for (let kb = 0; kb < k0; kb += KC) {
    const ke = Math.min(kb + KC, k0);
    const len = ke - kb;
    let i = k0;
    for (; i + 1 < n; i += 2) {
      const r0 = i * n;
      const r1 = r0 + n;
      let j = k0;
      for (; j < j4; j += 4) {
        const q0 = j * n;
        const q1 = q0 + n;
        const q2 = q1 + n;
        const q3 = q2 + n;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        for (let k = kb; k < ke; k++) {
          const a0 = w[r0 + k];
          const a1 = w[r1 + k];
          const b0 = w[q0 + k];
          c00 += a0 * b0;
          c10 += a1 * b0;
          const b1 = w[q1 + k];
          c01 += a0 * b1;
          c11 += a1 * b1;
          const b2 = w[q2 + k];
          c02 += a0 * b2;
          c12 += a1 * b2;
          const b3 = w[q3 + k];
          c03 += a0 * b3;
          c13 += a1 * b3;
        }
        w[r0 + j] -= c00;
        w[r0 + j + 1] -= c01;
        w[r0 + j + 2] -= c02;
        w[r0 + j + 3] -= c03;
        w[r1 + j] -= c10;
        w[r1 + j + 1] -= c11;
        w[r1 + j + 2] -= c12;
        w[r1 + j + 3] -= c13;
      }
      for (; j < k1; j++) {
        const q0 = j * n + kb;
        w[r0 + j] -= dot(w, r0 + kb, w, q0, len);
        w[r1 + j] -= dot(w, r1 + kb, w, q0, len);
      }
    }
    if (i < n) {
      const r0 = i * n;
      for (let j = k0; j < k1; j++) w[r0 + j] -= dot(w, r0 + kb, w, j * n + kb, len);
    }
  }
}

/**
 * `updateBlockColumn` with the 2×4 blocks done by the WebAssembly SIMD kernel (linalg-wasm.ts)
 * on `w`, which must be the kernel's memory view starting at byte 0; the few columns past a
 * multiple of 4 and an odd last row are done here. Same arithmetic, ~3x faster.
 */
function updateBlockColumnSimd(kernel: SimdKernel, w: Float64Array, n: number, k0: number, k1: number): void {
  const j4 = k0 + ((k1 - k0) & ~3);
  const iPairs = k0 + ((n - k0) & ~1);
  for (let kb = 0; kb < k0; kb += KC) {
    // k0 is a multiple of NB and kb of KC, so the chunk length is a multiple of NB = 64, as
    // the kernel needs (a multiple of 4).
    const ke = Math.min(kb + KC, k0);
    const len = ke - kb;
    if (j4 > k0) kernel.upd(0, n, k0, iPairs, k0, j4, kb, ke);
    for (let i = k0; i < iPairs; i++) {
      const r = i * n;
      for (let j = j4; j < k1; j++) w[r + j] -= dot(w, r + kb, w, j * n + kb, len);
    }
    if (iPairs < n) {
      const r = iPairs * n;
      for (let j = k0; j < k1; j++) w[r + j] -= dot(w, r + kb, w, j * n + kb, len);
    }
  }
}

/**
 * Left-looking blocked Cholesky ("Crout" order) of the lower triangle of `w` (n × n, row
 * major), in place. Per block column: apply the updates from all earlier columns (the O(n³)
 * part, `updateBlockColumn`), then factor the block column itself with short dot products.
 * Returns -1 on success or the column whose pivot was not positive (or NaN).
 */
function factorInPlace(w: Float64Array, n: number, kernel?: SimdKernel): number {
  // With the kernel, 1/diagonal lives in its memory right after the matrix (see cholesky()).
  const invDiag = kernel ? new Float64Array(w.buffer, w.byteOffset + n * n * 8, NB) : new Float64Array(NB);
  for (let k0 = 0; k0 < n; k0 += NB) {
    const k1 = Math.min(k0 + NB, n);
    if (k0 > 0) {
      if (kernel) updateBlockColumnSimd(kernel, w, n, k0, k1);
      else updateBlockColumn(w, n, k0, k1);
    }
    // Diagonal block: unblocked Cholesky–Crout.
    for (let j = k0; j < k1; j++) {
      const rj = j * n;
      const len = j - k0;
      const d = w[rj + j] - dot(w, rj + k0, w, rj + k0, len);
      if (!(d > 0)) return j;
      const ljj = Math.sqrt(d);
      w[rj + j] = ljj;
      const inv = 1 / ljj;
      invDiag[j - k0] = inv;
      for (let i = j + 1; i < k1; i++) {
        const ri = i * n;
        w[ri + j] = (w[ri + j] - dot(w, ri + k0, w, rj + k0, len)) * inv;
      }
    }
    // Rows below: each row's block segment solves against the diagonal block (row by row, so
    // the segment stays in L1 and the 64×64 diagonal block in L2), two rows at a time.
    let i = k1;
    if (kernel) {
      const pairs = k1 + ((n - k1) & ~1);
      if (pairs > k1) kernel.solve(0, n, k0, k1, k1, pairs, n * n * 8);
      i = pairs;
    }
    for (; i + 1 < n; i += 2) {
      const r0 = i * n + k0;
      const r1 = r0 + n;
      for (let j = k0; j < k1; j++) {
        const q = j * n + k0;
        const len = j - k0;
        let s0 = w[r0 + len];
        let s1 = w[r1 + len];
        for (let t = 0; t < len; t++) {
          const l = w[q + t];
          s0 -= w[r0 + t] * l;
          s1 -= w[r1 + t] * l;
        }
        const inv = invDiag[len];
        w[r0 + len] = s0 * inv;
        w[r1 + len] = s1 * inv;
      }
    }
    for (; i < n; i++) {
      const r0 = i * n + k0;
      for (let j = k0; j < k1; j++) {
        const len = j - k0;
        w[r0 + len] = (w[r0 + len] - dot(w, r0, w, j * n + k0, len)) * invDiag[len];
      }
    }
  }
  return -1;
}

/**
 * Cholesky factorisation `a + jitter·I = L·Lᵀ` of a symmetric positive (semi-)definite matrix,
 * with adaptive jitter as GPy's `jitchol` and GPflow: first without jitter, then with
 * `initialJitter·mean(diag(a))`, ten times larger on each further try, up to `maxTries`
 * jittered tries. A negative diagonal entry means `a` is not positive semi-definite at all,
 * so jitter is not tried then. Only the lower triangle of `a` is used for the factorisation.
 *
 * Left-looking blocked algorithm with register-blocked dot products over contiguous rows. For
 * n ≥ 128 the O(n³) block update and the row solves run in hand-assembled WebAssembly SIMD
 * kernels (linalg-wasm.ts; plain JS where WebAssembly SIMD is missing): a 2000 × 2000
 * factorisation takes ~0.3 s on one core of the project's machines (numpy/OpenBLAS on 2
 * cores: ~0.08 s; see `pnpm bench`). The kernels' memory is kept for the next call (8·n²
 * bytes for the largest n factored so far).
 *
 * @param a - Symmetric matrix, `n × n`. Not modified.
 * @param opts - `jitter` ('auto' or a fixed number), `maxTries` (default 6), `initialJitter`
 *   (default 1e-10, relative to the mean diagonal; with a zero mean diagonal it is absolute),
 *   `check` (default true), `symmetryTol` (default 1e-6).
 * @returns `{ L, jitter, tries }`: the factor, the jitter used and every jitter tried.
 * @throws ShapeError if `a` is not square.
 * @throws NonFiniteError if `a` holds NaN or ±Infinity (with `check`).
 * @throws ValueError if `a` is not symmetric within `symmetryTol` (names the worst (i, j)),
 *   or an option is out of range.
 * @throws NotPositiveDefiniteError if every try fails; it carries `diagonalMin`, `tries` and
 *   the failing `column`.
 * @example
 * const { L, jitter } = cholesky(fromRows([[4, 2], [2, 3]]));
 * // L = [[2, 0], [1, √2]], jitter 0
 * const r = cholesky(fromRows([[1, 1], [1, 1]]));  // singular: succeeds with r.jitter > 0
 */
export function cholesky(a: Mat, opts: CholeskyOptions = {}): CholeskyResult {
  const fn = 'cholesky';
  checkSquare(fn, 'a', a);
  const n = a.rows;
  const A = a.data;
  const jitterOpt = opts.jitter ?? 'auto';
  const maxTries = opts.maxTries ?? 6;
  const initialJitter = opts.initialJitter ?? 1e-10;
  const symmetryTol = opts.symmetryTol ?? 1e-6;
  assert(
    jitterOpt === 'auto' || (typeof jitterOpt === 'number' && Number.isFinite(jitterOpt) && jitterOpt >= 0),
    () => new ValueError(`${fn}: option 'jitter' must be 'auto' or a finite number >= 0, got ${describe(jitterOpt)}`, 'jitter'),
  );
  assert(
    Number.isInteger(maxTries) && maxTries >= 0,
    () => new ValueError(`${fn}: option 'maxTries' must be a non-negative integer, got ${describe(maxTries)}`, 'maxTries'),
  );
  assert(
    typeof initialJitter === 'number' && Number.isFinite(initialJitter) && initialJitter > 0,
    () => new ValueError(`${fn}: option 'initialJitter' must be a finite number > 0, got ${describe(initialJitter)}`, 'initialJitter'),
  );
  assert(
    typeof symmetryTol === 'number' && symmetryTol >= 0,
    () => new ValueError(`${fn}: option 'symmetryTol' must be a number >= 0, got ${describe(symmetryTol)}`, 'symmetryTol'),
  );
  if (opts.check ?? true) {
    checkSymmetric(fn, a, symmetryTol); // finiteness too, in the same pass
  }

  let diagMin = Infinity;
  let diagSum = 0;
  for (let i = 0; i < n; i++) {
    const d = A[i * n + i];
    diagMin = Math.min(diagMin, d);
    diagSum += d;
  }
  const meanDiag = n > 0 ? diagSum / n : 0;

  const jitters: number[] = [];
  if (jitterOpt === 'auto') {
    jitters.push(0);
    // Jitter repairs round-off in a PSD matrix; it cannot honestly repair a negative variance.
    if (!(diagMin < 0)) {
      const base = initialJitter * (meanDiag > 0 ? meanDiag : 1);
      for (let t = 0; t < maxTries; t++) jitters.push(base * 10 ** t);
    }
  } else {
    jitters.push(jitterOpt);
  }

  // With WebAssembly SIMD the factorisation runs in the kernel's memory (copied out at the end).
  const kernel = n >= 2 * NB ? simdKernel() : undefined;
  const w = kernel ? kernel.view(n * n + NB).subarray(0, n * n) : new Float64Array(n * n);
  const tries: number[] = [];
  let column = -1;
  for (const jitter of jitters) {
    tries.push(jitter);
    // Copy the lower triangle (the factorisation never reads above the diagonal).
    for (let i = 0; i < n; i++) {
      const r = i * n;
      w.set(A.subarray(r, r + i + 1), r);
      w[r + i] += jitter;
    }
    column = factorInPlace(w, n, kernel);
    if (column < 0) {
      let L = w;
      if (kernel) {
        // Out of the kernel's memory into a fresh (zeroed) array: the lower triangle only.
        L = new Float64Array(n * n);
        for (let i = 0; i < n; i++) L.set(w.subarray(i * n, i * n + i + 1), i * n);
      } else {
        for (let i = 0; i < n; i++) L.fill(0, i * n + i + 1, (i + 1) * n);
      }
      return { L: { rows: n, cols: n, data: L }, jitter, tries };
    }
  }
  const why = diagMin < 0 ? ' (a negative diagonal entry: not positive semi-definite, so no jitter was tried)' : '';
  throw new NotPositiveDefiniteError(
    `${fn}: argument 'a' (${n}x${n}) is not positive definite: smallest diagonal entry ${diagMin}${why}; ` +
      `factorisation failed at column ${column} with jitter ${tries.map((t) => t.toExponential(1)).join(', ')}`,
    { diagonalMin: diagMin, tries, column },
  );
}

function checkSymmetric(fn: string, a: Mat, tol: number): void {
  const n = a.rows;
  const A = a.data;
  // One pass for finiteness and the largest |a_ij| (the scale of the tolerance).
  let maxAbs = 0;
  for (let i = 0; i < A.length; i++) {
    const x = A[i];
    if (!(x - x === 0)) {
      const r = Math.floor(i / n);
      throw new NonFiniteError(`${fn}: argument 'a' must hold finite numbers, got ${x} at (${r}, ${i - r * n})`, 'a', i);
    }
    const ax = x < 0 ? -x : x;
    if (ax > maxAbs) maxAbs = ax;
  }
  let worst = 0;
  let wi = 0;
  let wj = 0;
  // Tiled, and inside a tile j outer / i inner, so that both a[i][j] (down a column, within
  // the tile's cached rows) and a[j][i] (along a row) stay in cache.
  const T = 64;
  for (let i0 = 0; i0 < n; i0 += T) {
    const i1 = Math.min(i0 + T, n);
    for (let j0 = 0; j0 <= i0; j0 += T) {
      const j1 = Math.min(j0 + T, i1);
      for (let j = j0; j < j1; j++) {
        const rj = j * n;
        for (let i = Math.max(i0, j + 1); i < i1; i++) {
          const d = A[i * n + j] - A[rj + i];
          const e = d < 0 ? -d : d;
          if (e > worst) {
            worst = e;
            wi = i;
            wj = j;
          }
        }
      }
    }
  }
  assert(
    worst <= tol * maxAbs,
    () =>
      new ValueError(
        `${fn}: argument 'a' must be symmetric, got a[${wi}][${wj}] = ${A[wi * n + wj]} and a[${wj}][${wi}] = ${A[wj * n + wi]} ` +
          `(|difference| ${worst} > symmetryTol ${tol} · max|a| ${maxAbs})`,
        'a',
      ),
  );
}

// ---------------------------------------------------------------------------------------------
// Triangular solves

/**
 * Solves `T·x = b` (or `Tᵀ·x = b`) for a triangular `T`, by forward or back substitution, for
 * one right-hand side (a vector) or several (the columns of a matrix). Only the triangle named
 * by `lower` is read. Every loop runs along rows of `T` and of the right-hand side.
 *
 * @param L - Triangular matrix, `n × n`, with a non-zero diagonal.
 * @param b - Right-hand side: a `Float64Array` of length `n` or a `Mat` with `n` rows.
 * @param opts - `lower` (required), `trans` (default false), `check` (default true).
 * @returns The solution, of the same kind and shape as `b` (a new array).
 * @throws ShapeError if `L` is not square or `b` does not have `n` rows.
 * @throws ValueError if a diagonal entry of `L` is zero (singular).
 * @throws NonFiniteError if `L`'s triangle or `b` holds NaN or ±Infinity (with `check`).
 * @example
 * const { L } = cholesky(a);
 * const y = solveTriangular(L, b, { lower: true });               // L y = b
 * const x = solveTriangular(L, y, { lower: true, trans: true });  // Lᵀ x = y
 */
export function solveTriangular(L: Mat, b: Float64Array, opts: TriangularOptions): Float64Array;
export function solveTriangular(L: Mat, b: Mat, opts: TriangularOptions): Mat;
export function solveTriangular(L: Mat, b: Mat | Float64Array, opts: TriangularOptions): Mat | Float64Array;
export function solveTriangular(L: Mat, b: Mat | Float64Array, opts: TriangularOptions): Mat | Float64Array {
  const fn = 'solveTriangular';
  checkSquare(fn, 'L', L);
  assert(
    opts !== null && typeof opts === 'object' && typeof opts.lower === 'boolean',
    () => new TypeError(`${fn}: option 'lower' must be a boolean (which triangle to use), got ${describe(opts?.lower)}`),
  );
  const { x, m } = rhsCopy(fn, L.rows, b);
  const check = opts.check ?? true;
  checkTriangle(fn, L, opts.lower, check);
  if (check) checkFinite64(fn, 'b', x);
  triSolveInPlace(L.data, L.rows, x, m, opts.lower, opts.trans ?? false);
  return b instanceof Float64Array ? x : { rows: L.rows, cols: m, data: x };
}

/**
 * Solves many right-hand sides stored as ROWS against a lower-triangular factor: returns `X`
 * (m × n) with `X·Lᵀ = B`, i.e. row i of X is `L⁻¹·bᵢ` for row bᵢ of B. This is the shape of a
 * Gaussian process's predictive variance, var(x*) = k(x*, x*) − ‖L⁻¹k*‖², where B = K(X*, X)
 * holds one test point per row: the squared row norms of X are what is subtracted.
 *
 * It is the lower block of a bordered Cholesky factorisation, so it runs the Cholesky's own
 * WebAssembly f64x2 kernels (the 2×4 block update and the two-row solve, linalg-wasm.ts) over
 * the rows of B, block column by block column (m·n²/2 multiply-adds, at the factorisation's
 * speed); rows are processed in chunks so the kernel memory stays ≤ ~64 MiB beyond L. Without
 * WebAssembly SIMD, or for n < 128, plain-JS forward substitution along rows.
 *
 * @param L - Lower-triangular factor, `n × n`, with a non-zero diagonal (only the lower triangle is read).
 * @param B - Right-hand sides as rows, `m × n`.
 * @param opts - `check` (default true): check that `L`'s lower triangle and `B` are finite.
 * @returns A new `m × n` matrix X = B·L⁻ᵀ.
 * @throws ShapeError if `L` is not square or `B` does not have `n` columns.
 * @throws ValueError if a diagonal entry of `L` is zero.
 * @throws NonFiniteError if `L` or `B` holds NaN or ±Infinity (with `check`).
 * @example
 * const { L } = cholesky(K);                  // K = K(X, X) + noise
 * const W = solveLowerRows(L, Kstar);         // Kstar = K(X*, X), one row per test point
 * // predictive variance of test point i: k(x_i, x_i) − Σ_j W[i][j]²
 */
export function solveLowerRows(L: Mat, B: Mat, opts: { check?: boolean } = {}): Mat {
  const fn = 'solveLowerRows';
  checkSquare(fn, 'L', L);
  checkMat(fn, 'B', B);
  const n = L.rows;
  const m = B.rows;
  assert(
    B.cols === n,
    () => new ShapeError(`${fn}: argument 'B' must have ${n} columns (one per row of 'L'), got shape [${B.rows},${B.cols}]`, { expected: `[m,${n}]`, received: shapeOf(B) }),
  );
  const check = opts.check ?? true;
  checkTriangle(fn, L, true, check);
  if (check) checkFinite64(fn, 'B', B.data);
  const out = new Float64Array(m * n);
  if (m === 0 || n === 0) return { rows: m, cols: n, data: out };
  const kernel = n >= 2 * NB ? simdKernel() : undefined;
  if (!kernel) {
    const T = L.data;
    out.set(B.data);
    for (let i = 0; i < m; i++) {
      const r = i * n;
      for (let j = 0; j < n; j++) out[r + j] = (out[r + j] - dot(T, j * n, out, r, j)) / T[j * n + j];
    }
    return { rows: m, cols: n, data: out };
  }
  // Kernel memory: [L (n·n) | a chunk of B's rows (chunk·n) | 1/diagonal of one block (NB)].
  const chunk = Math.max(2, Math.min(m + (m & 1), Math.floor((1 << 23) / n) & ~1));
  const all = kernel.view(n * n + chunk * n + NB);
  const w = all.subarray(0, n * n + chunk * n);
  const invOffset = n * n + chunk * n;
  const invDiag = all.subarray(invOffset, invOffset + NB);
  const T = L.data;
  for (let i = 0; i < n; i++) w.set(T.subarray(i * n, i * n + i + 1), i * n);
  for (let r0 = 0; r0 < m; r0 += chunk) {
    const rows = Math.min(chunk, m - r0);
    w.set(B.data.subarray(r0 * n, (r0 + rows) * n), n * n);
    solveRowsSimd(kernel, w, n, n, n + rows, invDiag, invOffset * 8);
    out.set(w.subarray(n * n, n * n + rows * n), r0 * n);
  }
  return { rows: m, cols: n, data: out };
}

/** Rows [i0, i1) of `w` (below the factor L in rows [0, n)) become L⁻¹ applied to them, in place. */
function solveRowsSimd(kernel: SimdKernel, w: Float64Array, n: number, i0: number, i1: number, invDiag: Float64Array, invByte: number): void {
  const iPairs = i0 + ((i1 - i0) & ~1);
  for (let k0 = 0; k0 < n; k0 += NB) {
    const k1 = Math.min(k0 + NB, n);
    const j4 = k0 + ((k1 - k0) & ~3);
    for (let kb = 0; kb < k0; kb += KC) {
      // kb is a multiple of KC and k0 of NB, so the chunk length is a multiple of 4 as the kernel needs.
      const ke = Math.min(kb + KC, k0);
      const len = ke - kb;
      if (j4 > k0 && iPairs > i0) kernel.upd(0, n, i0, iPairs, k0, j4, kb, ke);
      for (let i = i0; i < iPairs; i++) {
        const r = i * n;
        for (let j = j4; j < k1; j++) w[r + j] -= dot(w, r + kb, w, j * n + kb, len);
      }
      if (iPairs < i1) {
        const r = iPairs * n;
        for (let j = k0; j < k1; j++) w[r + j] -= dot(w, r + kb, w, j * n + kb, len);
      }
    }
    for (let j = k0; j < k1; j++) invDiag[j - k0] = 1 / w[j * n + j];
    if (iPairs > i0) kernel.solve(0, n, k0, k1, i0, iPairs, invByte);
    if (iPairs < i1) {
      const r = iPairs * n + k0;
      for (let j = k0; j < k1; j++) {
        const len = j - k0;
        w[r + len] = (w[r + len] - dot(w, r, w, j * n + k0, len)) * invDiag[len];
      }
    }
  }
}

/**
 * The Gram matrix `Aᵀ·A` (cols × cols, exactly symmetric) of a tall matrix A (rows × cols),
 * e.g. Σₙ wₙwₙᵀ over many data rows in a sparse GP. With WebAssembly SIMD it runs the
 * Cholesky's 2×4 f64x2 block-update kernel on Aᵀ laid out with a zero output block in front of
 * each row, in 128-wide chunks of the long dimension so the operand rows stay in L2 (about
 * cols²·rows/2 multiply-adds); otherwise a plain-JS rank-one update per row.
 *
 * @param a - The matrix, `rows × cols`.
 * @returns A new `cols × cols` matrix AᵀA.
 * @throws TypeError if `a` is not a Mat.
 * @example
 * gram(fromRows([[1, 2], [3, 4]])); // [[10, 14], [14, 20]]
 */
export function gram(a: Mat): Mat {
  checkMat('gram', 'a', a);
  const { rows: n, cols: m, data: A } = a;
  const G = new Float64Array(m * m);
  const kernel = m >= 8 && n >= 64 ? simdKernel() : undefined;
  if (!kernel) {
    for (let r = 0; r < n; r++) {
      const q = r * m;
      for (let i = 0; i < m; i++) {
        const x = A[q + i];
        if (x === 0) continue;
        const gi = i * m;
        for (let j = 0; j <= i; j++) G[gi + j] += x * A[q + j];
      }
    }
  } else {
    // Rows 0..m4 of w: [output block (m4) | row i of Aᵀ, zero-padded to n4]; the kernel does
    // w[i][j] −= Σ_k w[i][k]·w[j][k] with k over the data part, so −G lands in the output block.
    const m4 = (m + 3) & ~3;
    const n4 = (n + 3) & ~3;
    const S = m4 + n4;
    const w = kernel.view(m4 * S);
    w.fill(0);
    for (let r = 0; r < n; r++) {
      const q = r * m;
      for (let i = 0; i < m; i++) w[i * S + m4 + r] = A[q + i];
    }
    const KCG = 128;
    for (let kb = 0; kb < n4; kb += KCG) {
      const ke = Math.min(kb + KCG, n4);
      // Only blocks with j < i1 (the lower triangle and the diagonal blocks).
      for (let i0 = 0; i0 < m4; i0 += 64) {
        const i1 = Math.min(i0 + 64, m4);
        kernel.upd(0, S, i0, i1, 0, i1, m4 + kb, m4 + ke);
      }
    }
    for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) G[i * m + j] = -w[i * S + j];
  }
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) G[j * m + i] = G[i * m + j];
  return { rows: m, cols: m, data: G };
}

function rhsCopy(fn: string, n: number, b: unknown): { x: Float64Array; m: number } {
  if (b instanceof Float64Array) {
    assert(b.length === n, () => new ShapeError(`${fn}: argument 'b' must have length ${n}, got ${b.length}`, { expected: `[${n}]`, received: [b.length] }));
    return { x: b.slice(), m: 1 };
  }
  const B = checkMat(fn, 'b', b);
  assert(
    B.rows === n,
    () => new ShapeError(`${fn}: argument 'b' must have ${n} rows, got shape [${B.rows},${B.cols}]`, { expected: `[${n},m]`, received: shapeOf(B) }),
  );
  return { x: B.data.slice(), m: B.cols };
}

function checkFinite64(fn: string, arg: string, x: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new NonFiniteError(`${fn}: argument '${arg}' must hold finite numbers, got ${x[i]} at index ${i}`, arg, i);
  }
}

function checkTriangle(fn: string, L: Mat, lower: boolean, finite: boolean): void {
  const n = L.rows;
  const T = L.data;
  for (let i = 0; i < n; i++) {
    const d = T[i * n + i];
    if (d === 0) throw new ValueError(`${fn}: argument 'L' is singular: diagonal entry (${i}, ${i}) is 0`, 'L');
    if (!finite) continue;
    const j0 = lower ? i * n : i * n + i;
    const j1 = lower ? i * n + i + 1 : (i + 1) * n;
    for (let p = j0; p < j1; p++) {
      if (!Number.isFinite(T[p])) {
        throw new NonFiniteError(`${fn}: argument 'L' must hold finite numbers in its ${lower ? 'lower' : 'upper'} triangle, got ${T[p]} at (${i}, ${p - i * n})`, 'L', p);
      }
    }
  }
}

/** Solves op(T)·X = X in place; X is n × m row-major. Loops follow rows of T and of X. */
function triSolveInPlace(T: Float64Array, n: number, X: Float64Array, m: number, lower: boolean, trans: boolean): void {
  if (m === 1) {
    if (lower && !trans) {
      for (let i = 0; i < n; i++) X[i] = (X[i] - dot(T, i * n, X, 0, i)) / T[i * n + i];
    } else if (!lower && !trans) {
      for (let i = n - 1; i >= 0; i--) X[i] = (X[i] - dot(T, i * n + i + 1, X, i + 1, n - i - 1)) / T[i * n + i];
    } else if (lower && trans) {
      // Lᵀx = b: once x_i is known, remove its contribution (row i of L) from the earlier b_k.
      for (let i = n - 1; i >= 0; i--) {
        const r = i * n;
        const xi = (X[i] /= T[r + i]);
        for (let k = 0; k < i; k++) X[k] -= T[r + k] * xi;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const r = i * n;
        const xi = (X[i] /= T[r + i]);
        for (let k = i + 1; k < n; k++) X[k] -= T[r + k] * xi;
      }
    }
    return;
  }
  const axpyRow = (dst: number, src: number, s: number) => {
    const d = dst * m;
    const q = src * m;
    for (let j = 0; j < m; j++) X[d + j] -= s * X[q + j];
  };
  const scaleRow = (row: number, s: number) => {
    const d = row * m;
    for (let j = 0; j < m; j++) X[d + j] *= s;
  };
  if (lower && !trans) {
    for (let i = 0; i < n; i++) {
      const r = i * n;
      for (let k = 0; k < i; k++) {
        const t = T[r + k];
        if (t !== 0) axpyRow(i, k, t);
      }
      scaleRow(i, 1 / T[r + i]);
    }
  } else if (!lower && !trans) {
    for (let i = n - 1; i >= 0; i--) {
      const r = i * n;
      for (let k = i + 1; k < n; k++) {
        const t = T[r + k];
        if (t !== 0) axpyRow(i, k, t);
      }
      scaleRow(i, 1 / T[r + i]);
    }
  } else if (lower && trans) {
    for (let i = n - 1; i >= 0; i--) {
      const r = i * n;
      scaleRow(i, 1 / T[r + i]);
      for (let k = 0; k < i; k++) {
        const t = T[r + k];
        if (t !== 0) axpyRow(k, i, t);
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const r = i * n;
      scaleRow(i, 1 / T[r + i]);
      for (let k = i + 1; k < n; k++) {
        const t = T[r + k];
        if (t !== 0) axpyRow(k, i, t);
      }
    }
  }
}

/**
 * Solves `A·x = b` given the Cholesky factor `L` of `A` (`A = L·Lᵀ`): `L·y = b`, then `Lᵀ·x = y`.
 *
 * @param L - Lower-triangular Cholesky factor, `n × n` (from {@link cholesky}).
 * @param b - A `Float64Array` of length `n` or a `Mat` with `n` rows.
 * @returns `x`, of the same kind and shape as `b`.
 * @throws ShapeError if the shapes do not match.
 * @throws ValueError if `L` has a zero diagonal entry.
 * @throws NonFiniteError if `L` or `b` holds NaN or ±Infinity.
 * @example
 * const { L } = cholesky(k);
 * const alpha = choleskySolve(L, y); // K⁻¹y, as in GP regression
 */
export function choleskySolve(L: Mat, b: Float64Array): Float64Array;
export function choleskySolve(L: Mat, b: Mat): Mat;
export function choleskySolve(L: Mat, b: Mat | Float64Array): Mat | Float64Array;
export function choleskySolve(L: Mat, b: Mat | Float64Array): Mat | Float64Array {
  const fn = 'choleskySolve';
  checkSquare(fn, 'L', L);
  const { x, m } = rhsCopy(fn, L.rows, b);
  checkTriangle(fn, L, true, true);
  checkFinite64(fn, 'b', x);
  triSolveInPlace(L.data, L.rows, x, m, true, false);
  triSolveInPlace(L.data, L.rows, x, m, true, true);
  return b instanceof Float64Array ? x : { rows: L.rows, cols: m, data: x };
}

/**
 * log det(A) = 2·Σ log L_ii from the Cholesky factor of A (never forms the determinant, so it
 * neither overflows nor underflows).
 *
 * @param L - Cholesky factor, `n × n`, with a positive diagonal.
 * @returns log det(L·Lᵀ) (0 for n = 0).
 * @throws ShapeError if `L` is not square.
 * @throws ValueError if a diagonal entry is not positive and finite.
 * @example
 * choleskyLogDet(cholesky(fromRows([[4, 2], [2, 3]])).L); // log 8
 */
export function choleskyLogDet(L: Mat): number {
  const fn = 'choleskyLogDet';
  checkSquare(fn, 'L', L);
  const n = L.rows;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = L.data[i * n + i];
    assert(d > 0 && d < Infinity, () => new ValueError(`${fn}: argument 'L' must have a positive, finite diagonal, got ${d} at (${i}, ${i})`, 'L'));
    s += Math.log(d);
  }
  return 2 * s;
}

/**
 * A⁻¹ from the Cholesky factor of A, as (L⁻¹)ᵀ·L⁻¹, exactly symmetric. Prefer
 * {@link choleskySolve} when only A⁻¹·b is needed; use this when the entries themselves are
 * (for example the trace terms of a GP's marginal-likelihood gradient).
 *
 * @param L - Lower-triangular Cholesky factor, `n × n`, with a non-zero diagonal.
 * @returns A new `n × n` matrix A⁻¹.
 * @throws ShapeError if `L` is not square.
 * @throws ValueError if `L` has a zero diagonal entry.
 * @throws NonFiniteError if `L`'s lower triangle holds NaN or ±Infinity.
 * @example
 * const inv = inverseFromCholesky(cholesky(fromRows([[4, 2], [2, 3]])).L); // [[3/8, -1/4], [-1/4, 1/2]]
 */
export function inverseFromCholesky(L: Mat): Mat {
  const fn = 'inverseFromCholesky';
  checkSquare(fn, 'L', L);
  checkTriangle(fn, L, true, true);
  const n = L.rows;
  const T = L.data;
  // X = L⁻¹ (lower-triangular) row by row: X[i, 0:i] = −(Σ_k L[i][k]·X[k, 0:k+1]) / L[i][i].
  const X = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const r = i * n;
    for (let k = 0; k < i; k++) {
      const t = T[r + k];
      if (t === 0) continue;
      const q = k * n;
      for (let j = 0; j <= k; j++) X[r + j] -= t * X[q + j];
    }
    X[r + i] = 1;
    const inv = 1 / T[r + i];
    for (let j = 0; j <= i; j++) X[r + j] *= inv;
  }
  // A⁻¹ = XᵀX; its lower triangle C[i][j] = Σ_{k ≥ i} X[k][i]·X[k][j] as rank-1 row updates.
  const C = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const q = k * n;
    for (let i = 0; i <= k; i++) {
      const xi = X[q + i];
      if (xi === 0) continue;
      const r = i * n;
      for (let j = 0; j <= i; j++) C[r + j] += xi * X[q + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) C[j * n + i] = C[i * n + j];
  return { rows: n, cols: n, data: C };
}

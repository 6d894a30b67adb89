/**
 * Input validation shared by the estimators: every public entry point turns its arguments into
 * row-major float64 matrices here, so a bad shape or a NaN is reported once, with the function,
 * the argument and the index.
 */
import { NonFiniteError, ShapeError, describe, type Mat } from '@x/tensor';

/** What the estimators accept as inputs: a `Mat`, an array of rows, or a 1-D array (one feature). */
export type MatrixLike = Mat | readonly (readonly number[] | ArrayLike<number>)[] | ArrayLike<number>;

function isMat(x: unknown): x is Mat {
  return (
    x !== null &&
    typeof x === 'object' &&
    (x as Mat).data instanceof Float64Array &&
    Number.isInteger((x as Mat).rows) &&
    Number.isInteger((x as Mat).cols)
  );
}

/**
 * Copies `x` into a new `Mat` (rows × cols), checking that it is rectangular and finite.
 * A 1-D array is one column (n samples of one feature).
 */
export function toMatrix(fn: string, arg: string, x: unknown): Mat {
  if (isMat(x)) {
    if (x.data.length !== x.rows * x.cols) {
      throw new ShapeError(`${fn}: argument '${arg}' has rows·cols = ${x.rows * x.cols} but data of length ${x.data.length}`, {
        expected: `data of length ${x.rows * x.cols}`,
        received: [x.data.length],
      });
    }
    const m = { rows: x.rows, cols: x.cols, data: x.data.slice() };
    checkFiniteMatrix(fn, arg, m);
    return m;
  }
  if (x === null || typeof x !== 'object' || typeof (x as ArrayLike<unknown>).length !== 'number') {
    throw new TypeError(`${fn}: argument '${arg}' must be an array of rows, a 1-D numeric array or a Mat, got ${describe(x)}`);
  }
  const arr = x as ArrayLike<unknown>;
  const n = arr.length;
  if (n === 0) {
    throw new ShapeError(`${fn}: argument '${arg}' must hold at least one sample, got an empty array`, { expected: '[n>=1, d]', received: [0] });
  }
  const first = arr[0];
  if (typeof first === 'number') {
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = arr[i];
      if (typeof v !== 'number') throw new TypeError(`${fn}: argument '${arg}' must hold numbers, got ${describe(v)} at index ${i}`);
      data[i] = v;
    }
    const m = { rows: n, cols: 1, data };
    checkFiniteMatrix(fn, arg, m);
    return m;
  }
  if (first === null || typeof first !== 'object' || typeof (first as ArrayLike<unknown>).length !== 'number') {
    throw new TypeError(`${fn}: argument '${arg}' must be an array of rows, a 1-D numeric array or a Mat, got ${describe(first)} at index 0`);
  }
  const d = (first as ArrayLike<number>).length;
  if (d === 0) throw new ShapeError(`${fn}: argument '${arg}' must have at least one column, got rows of length 0`, { expected: '[n, d>=1]', received: [n, 0] });
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = arr[i] as ArrayLike<number>;
    if (row === null || typeof row !== 'object' || row.length !== d) {
      throw new ShapeError(`${fn}: argument '${arg}' must be rectangular: row 0 has ${d} columns, row ${i} has ${row?.length ?? describe(row)}`, {
        expected: `[${n},${d}]`,
        received: [i, row?.length ?? -1],
      });
    }
    for (let j = 0; j < d; j++) {
      const v = row[j];
      if (typeof v !== 'number') throw new TypeError(`${fn}: argument '${arg}' must hold numbers, got ${describe(v)} at (${i}, ${j})`);
      data[i * d + j] = v;
    }
  }
  const m = { rows: n, cols: d, data };
  checkFiniteMatrix(fn, arg, m);
  return m;
}

function checkFiniteMatrix(fn: string, arg: string, m: Mat): void {
  const d = m.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      const r = Math.floor(i / m.cols);
      throw new NonFiniteError(`${fn}: argument '${arg}' must hold finite numbers, got ${d[i]} at row ${r}, column ${i - r * m.cols}`, arg, i);
    }
  }
}

/** Copies a target vector, checking its length against `n` and finiteness. */
export function toVector(fn: string, arg: string, y: unknown, n: number): Float64Array {
  if (y === null || typeof y !== 'object' || typeof (y as ArrayLike<unknown>).length !== 'number') {
    throw new TypeError(`${fn}: argument '${arg}' must be a 1-D numeric array, got ${describe(y)}`);
  }
  const arr = y as ArrayLike<unknown>;
  if (arr.length !== n) {
    throw new ShapeError(`${fn}: argument '${arg}' must have one value per row of 'x' (${n}), got length ${arr.length}`, {
      expected: `[${n}]`,
      received: [arr.length],
    });
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = arr[i];
    if (typeof v !== 'number') throw new TypeError(`${fn}: argument '${arg}' must hold numbers, got ${describe(v)} at index ${i}`);
    if (!Number.isFinite(v)) throw new NonFiniteError(`${fn}: argument '${arg}' must hold finite numbers, got ${v} at index ${i}`, arg, i);
    out[i] = v;
  }
  return out;
}

/** Checks the number of columns of a prediction input against what was fitted. */
export function checkCols(fn: string, arg: string, x: Mat, d: number): void {
  if (x.cols !== d) {
    throw new ShapeError(`${fn}: argument '${arg}' must have ${d} columns (as in fit), got shape [${x.rows},${x.cols}]`, {
      expected: `[n,${d}]`,
      received: [x.rows, x.cols],
    });
  }
}

/** Plain rows of a matrix, for JSON. */
export function matToRows(m: Mat): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}

/** A matrix from JSON rows (already trusted: written by toJSON). */
export function rowsToMat(rows: number[][], cols: number): Mat {
  const data = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r, i * cols));
  return { rows: rows.length, cols, data };
}

/**
 * Mean and population std for `normalizeY`, standardising `y` in place. A constant target
 * (std at round-off level: ≤ 1e-12 of the largest |y|, since the mean of equal numbers is not
 * always exactly that number) is only centred (std reported as 1), so nothing is divided by ~0.
 */
export function standardizeInPlace(y: Float64Array): { mean: number; std: number } {
  const n = y.length;
  let mean = 0;
  let big = 0;
  for (let i = 0; i < n; i++) {
    mean += y[i];
    big = Math.max(big, Math.abs(y[i]));
  }
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (y[i] - mean) ** 2;
  const s = Math.sqrt(v / n);
  const std = s > 1e-12 * big ? s : 1;
  for (let i = 0; i < n; i++) y[i] = (y[i] - mean) / std;
  return { mean, std };
}

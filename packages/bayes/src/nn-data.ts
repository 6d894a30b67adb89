/**
 * Input checks shared by the neural estimators (VAE, Bayesian MLP): row-major float32 inputs
 * and integer labels, validated once at the public boundary with the function, argument and
 * index in the message.
 */
import { NonFiniteError, ShapeError, ValueError, describe } from '@x/tensor';

/** What the neural estimators accept as inputs: row-major `Float32Array` [n, d], or rows. */
export type RowsLike = Float32Array | readonly (readonly number[] | Float32Array)[];

/**
 * Copies (or views, for a Float32Array) `x` as row-major float32 data with `d` columns; checks
 * that it is rectangular, non-empty and finite.
 */
export function toRows(fn: string, arg: string, x: unknown, d: number): { data: Float32Array; n: number } {
  let data: Float32Array;
  if (x instanceof Float32Array) {
    if (x.length === 0 || x.length % d !== 0) {
      throw new ShapeError(`${fn}: argument '${arg}' must hold a positive multiple of ${d} values (rows of ${d}), got ${x.length}`, {
        expected: `[n ≥ 1, ${d}]`,
        received: [x.length],
      });
    }
    data = x;
  } else if (Array.isArray(x)) {
    if (x.length === 0) throw new ShapeError(`${fn}: argument '${arg}' must hold at least one row, got an empty array`, { expected: `[n ≥ 1, ${d}]`, received: [0] });
    data = new Float32Array(x.length * d);
    for (let i = 0; i < x.length; i++) {
      const row = x[i] as ArrayLike<number>;
      if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
        throw new TypeError(`${fn}: argument '${arg}' must be a Float32Array or an array of rows, got ${describe(row)} at row ${i}`);
      }
      if (row.length !== d) {
        throw new ShapeError(`${fn}: row ${i} of argument '${arg}' must have ${d} values, got ${row.length}`, { expected: `[${d}]`, received: [row.length] });
      }
      for (let j = 0; j < d; j++) data[i * d + j] = row[j];
    }
  } else {
    throw new TypeError(`${fn}: argument '${arg}' must be a Float32Array (row-major) or an array of rows, got ${describe(x)}`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new NonFiniteError(
        `${fn}: argument '${arg}' must hold finite numbers, got ${data[i]} at index ${i} (row ${Math.floor(i / d)}, column ${i % d})`,
        arg,
        i,
      );
    }
  }
  return { data, n: data.length / d };
}

/** Checks that every value lies in [0, 1] (Bernoulli targets). */
export function checkUnitInterval(fn: string, arg: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!(data[i] >= 0 && data[i] <= 1)) {
      throw new ValueError(`${fn}: argument '${arg}' must hold values in [0, 1] (Bernoulli targets), got ${data[i]} at index ${i}`, arg);
    }
  }
}

/** Copies labels into an Int32Array, checking that there are `n` integers in [0, classes). */
export function toLabels(fn: string, arg: string, y: unknown, n: number, classes: number): Int32Array {
  if (y === null || typeof y !== 'object' || typeof (y as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`${fn}: argument '${arg}' must be an Int32Array or an array of integer labels, got ${describe(y)}`);
  }
  const arr = y as ArrayLike<number>;
  if (arr.length !== n) {
    throw new ShapeError(`${fn}: argument '${arg}' must have one label per input row (${n}), got ${arr.length}`, { expected: `[${n}]`, received: [arr.length] });
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = arr[i];
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new ValueError(`${fn}: argument '${arg}' must hold integers in [0, ${classes}), got ${v} at index ${i}`, arg);
    }
    out[i] = v;
  }
  return out;
}

/** Checks an options argument is a plain object. */
export function checkOptionsObject(fn: string, options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${fn}: argument 'options' must be an object, got ${describe(options)}`);
  }
}

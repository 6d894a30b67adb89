/**
 * Named error classes shared by every @x package. Messages name the function, the
 * argument, what was expected and what was received, e.g.
 * "fit: argument 'x' must be rank 2, got shape [3,4,5]".
 */

/** Base class: every error thrown on purpose by an @x package is an `XError`. */
export class XError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A shape (rank or dimension) did not match what the function needs. */
export class ShapeError extends RangeError {
  readonly expected: string;
  readonly received: readonly number[] | string;
  constructor(message: string, fields: { expected: string; received: readonly number[] | string }, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShapeError';
    this.expected = fields.expected;
    this.received = fields.received;
  }
}

/** An argument had a valid type but a value outside what the function accepts. */
export class ValueError extends RangeError {
  readonly argument: string;
  constructor(message: string, argument: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ValueError';
    this.argument = argument;
  }
}

/** A numeric input or parameter held NaN or ±Infinity where finite numbers are required. */
export class NonFiniteError extends ValueError {
  readonly index: number;
  constructor(message: string, argument: string, index: number, options?: { cause?: unknown }) {
    super(message, argument, options);
    this.name = 'NonFiniteError';
    this.index = index;
  }
}

/** An estimator was used before `fit()`. */
export class NotFittedError extends XError {
  constructor(what: string, method: string) {
    super(`${what}.${method}: this ${what} is not fitted yet; call fit() first`);
    this.name = 'NotFittedError';
  }
}

/** A matrix that must be symmetric positive definite is not, even after adding jitter. */
export class NotPositiveDefiniteError extends XError {
  /** Smallest diagonal entry of the input matrix. */
  readonly diagonalMin: number;
  /** Jitter values tried, in order (the first is 0). */
  readonly tries: readonly number[];
  /** Column at which the last factorisation failed. */
  readonly column: number;
  constructor(message: string, fields: { diagonalMin: number; tries: readonly number[]; column: number }) {
    super(message);
    this.name = 'NotPositiveDefiniteError';
    this.diagonalMin = fields.diagonalMin;
    this.tries = fields.tries;
    this.column = fields.column;
  }
}

/** Something that a backend or kernel cannot do (for example an op with no gradient). */
export class UnsupportedError extends XError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnsupportedError';
  }
}

/** Formats a value for an error message: shapes as [a,b], arrays truncated, strings quoted. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value.length > 40 ? value.slice(0, 40) + '…' : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) {
    const head = value.slice(0, 6).map((v) => describe(v)).join(',');
    return `[${head}${value.length > 6 ? `,… (${value.length})` : ''}]`;
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  if (typeof value === 'object') {
    const shape = (value as { shape?: unknown }).shape;
    if (Array.isArray(shape)) return `Tensor of shape [${shape.join(',')}]`;
    return (value as object).constructor?.name ?? 'object';
  }
  return typeof value;
}

/**
 * Throws `make()` when `cond` is false. The message factory runs only on failure, so
 * validation costs nothing on the happy path.
 */
export function assert(cond: unknown, make: () => Error): asserts cond {
  if (!cond) throw make();
}

/** Checks that `value` is a finite number; throws a `TypeError`/`ValueError` naming `fn` and `arg`. */
export function checkNumber(
  fn: string,
  arg: string,
  value: unknown,
  range: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; integer?: boolean } = {},
): number {
  if (typeof value !== 'number') throw new TypeError(`${fn}: argument '${arg}' must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value)) throw new ValueError(`${fn}: argument '${arg}' must be finite, got ${value}`, arg);
  if (range.integer && !Number.isInteger(value)) {
    throw new ValueError(`${fn}: argument '${arg}' must be an integer, got ${value}`, arg);
  }
  const { min, max } = range;
  const lowOk = min === undefined || (range.minExclusive ? value > min : value >= min);
  const highOk = max === undefined || (range.maxExclusive ? value < max : value <= max);
  if (!lowOk || !highOk) {
    const lo = min === undefined ? '(-∞' : `${range.minExclusive ? '(' : '['}${min}`;
    const hi = max === undefined ? '∞)' : `${max}${range.maxExclusive ? ')' : ']'}`;
    throw new ValueError(`${fn}: argument '${arg}' must be in ${lo}, ${hi}, got ${value}`, arg);
  }
  return value;
}

/** Checks that every entry of a numeric array is finite; names the first bad index. */
export function checkFinite(fn: string, arg: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new NonFiniteError(`${fn}: argument '${arg}' must hold finite numbers, got ${values[i]} at index ${i}`, arg, i);
    }
  }
}

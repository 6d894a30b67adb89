/**
 * Shared test helpers. Private: only test files import this.
 */

type Numeric = number | ArrayLike<number> | ArrayLike<number>[] | number[][];

function flatten(x: Numeric): number[] {
  if (typeof x === 'number') return [x];
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = (x as ArrayLike<unknown>)[i];
    if (typeof v === 'number') out.push(v);
    else out.push(...flatten(v as Numeric));
  }
  return out;
}

export interface CloseOptions {
  /** Absolute tolerance (default: the `tol` argument). */
  atol?: number;
  /** Relative tolerance, applied as atol + rtol * |expected| (default 0). */
  rtol?: number;
}

/**
 * Asserts that every element of `actual` is within `atol + rtol·|expected|` of `expected`.
 * NaN never matches anything (a NaN result is a failure, not a pass). Reports the worst
 * element, its index and both values.
 */
export function expectClose(actual: Numeric, expected: Numeric, tol: number | CloseOptions = 1e-6): void {
  const opts: CloseOptions = typeof tol === 'number' ? { atol: tol } : tol;
  const atol = opts.atol ?? 0;
  const rtol = opts.rtol ?? 0;
  const a = flatten(actual);
  const e = flatten(expected);
  if (a.length !== e.length) {
    throw new Error(`expectClose: length mismatch, actual has ${a.length} elements, expected ${e.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const bound = atol + rtol * Math.abs(e[i]);
    const diff = Math.abs(a[i] - e[i]);
    if (!(diff <= bound)) {
      const excess = Number.isNaN(diff) ? Infinity : diff - bound;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (worst >= 0) {
    throw new Error(
      `expectClose: element ${worst} is ${a[worst]}, expected ${e[worst]} ` +
        `(|diff| ${Math.abs(a[worst] - e[worst])} > atol ${atol} + rtol ${rtol}·|expected|)`,
    );
  }
}

/**
 * Path of a reference fixture: `X_FIXTURES` if set, else the copy kept in the repository
 * (`fixtures/`, copied from the team shared fixtures), else `../shared/fixtures` beside it.
 */
export function fixturePath(name: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const path = require('node:path') as typeof import('node:path');
  const candidates = [
    process.env.X_FIXTURES,
    path.resolve(__dirname, '..', '..', '..', 'fixtures'),
    path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'fixtures'),
  ].filter((p): p is string => !!p);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  for (const dir of candidates) {
    const full = path.join(dir, name);
    if (fs.existsSync(full)) return full;
  }
  throw new Error(`fixturePath: fixture '${name}' not found in ${candidates.join(', ')}`);
}

/** Reads and parses a JSON fixture from `../shared/fixtures`. */
export function loadFixture<T = any>(name: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  return JSON.parse(fs.readFileSync(fixturePath(name), 'utf8')) as T;
}

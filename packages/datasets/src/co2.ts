import { DatasetError } from './errors.js';
import { CO2_CSV } from './generated/co2-csv.js';

/** Monthly mean CO2 at Mauna Loa: `x[i]` is the decimal year, `y[i]` the mole fraction in ppm. */
export interface Co2 {
  /** `year + (month - 1) / 12`, strictly increasing (months without data are absent). */
  x: Float64Array;
  /** CO2 in ppm (the CSV's `CO2` column; the seasonally adjusted column is not used). */
  y: Float64Array;
  /** Number of months (741: March 1958 to April 2020, with gaps). */
  n: number;
}

let cached: Co2 | undefined;

/**
 * Loads the Mauna Loa monthly CO2 record (Scripps CO2 Program, via `vega-datasets@3.2.1`), which
 * is kept inside this package. Each call returns new copies of the arrays.
 *
 * @returns `x` (decimal year = year + (month − 1)/12), `y` (ppm) and `n`.
 * @throws {DatasetError} If the embedded CSV is malformed (a bad header, date or value, or dates
 *   out of order).
 * @example
 * ```ts
 * const { x, y, n } = loadCo2();
 * n;    // 741
 * x[0]; // 1958.1666666666667 (March 1958)
 * y[0]; // 315.7
 * ```
 */
export function loadCo2(): Co2 {
  cached ??= parseCo2Csv(CO2_CSV);
  return { x: cached.x.slice(), y: cached.y.slice(), n: cached.n };
}

/** Parses `Date,CO2,...` CSV text. Not public: exported for the tests. */
export function parseCo2Csv(text: string): Co2 {
  const fail = (msg: string) => new DatasetError('loadCo2', msg);
  const lines = text.split('\n');
  if (!/^Date,CO2(,|\r?$)/.test(lines[0])) {
    throw fail(`the CSV header must start with 'Date,CO2', got '${lines[0].slice(0, 40)}'`);
  }
  const xs: number[] = [];
  const ys: number[] = [];
  for (let l = 1; l < lines.length; l++) {
    const line = lines[l].replace(/\r$/, '');
    if (line === '') continue;
    const m = /^(\d{4})-(\d{2})-(\d{2}),([^,]+)(,|$)/.exec(line);
    const month = m ? Number(m[2]) : NaN;
    const ppm = m ? Number(m[4]) : NaN;
    if (!m || month < 1 || month > 12 || !(Number.isFinite(ppm) && ppm > 0)) {
      throw fail(`CSV line ${l + 1} must be 'YYYY-MM-DD,<ppm > 0>,...', got '${line.slice(0, 40)}'`);
    }
    const x = Number(m[1]) + (month - 1) / 12;
    if (xs.length > 0 && x <= xs[xs.length - 1]) {
      throw fail(`CSV line ${l + 1}: dates must increase, got ${m[1]}-${m[2]} after an equal or later month`);
    }
    xs.push(x);
    ys.push(ppm);
  }
  if (xs.length === 0) throw fail('the CSV holds no data rows');
  return { x: Float64Array.from(xs), y: Float64Array.from(ys), n: xs.length };
}

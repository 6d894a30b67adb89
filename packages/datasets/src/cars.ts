import { DatasetError } from './errors.js';
import { CARS_ROWS, type CarRow } from './generated/cars-rows.js';

/** The cars table: one entry per car with horsepower, weight and MPG all known. */
export interface Cars {
  /** Engine horsepower. */
  horsepower: Float64Array;
  /** Weight in pounds. */
  weight: Float64Array;
  /** Fuel economy in miles per US gallon. */
  mpg: Float64Array;
  /** Number of cars (392). */
  n: number;
  /** Model names, e.g. `'chevrolet chevelle malibu'` (not unique). */
  name: string[];
}

let cached: Cars | undefined;

/**
 * Loads the cars table of `vega-datasets@3.2.1` (`data/cars.json`, originally from the StatLib
 * archive), kept inside this package. Rows where horsepower, weight or MPG is missing are dropped
 * (406 rows in the file, 392 kept), file order is kept. Each call returns new copies.
 *
 * @returns `horsepower`, `weight` (lbs), `mpg`, `n` and `name`, aligned by index.
 * @throws {DatasetError} If the embedded table is malformed (a name that is not a string, or a
 *   value that is neither null nor a positive finite number).
 * @example
 * ```ts
 * const cars = loadCars();
 * cars.n;             // 392
 * cars.name[0];       // 'chevrolet chevelle malibu'
 * cars.horsepower[0]; // 130
 * ```
 */
export function loadCars(): Cars {
  cached ??= selectCars(CARS_ROWS);
  const { horsepower, weight, mpg, n, name } = cached;
  return { horsepower: horsepower.slice(), weight: weight.slice(), mpg: mpg.slice(), n, name: name.slice() };
}

/** Validates the rows and keeps those without nulls. Not public: exported for the tests. */
export function selectCars(rows: readonly CarRow[]): Cars {
  const keep: CarRow[] = [];
  rows.forEach((row, r) => {
    const [name, ...values] = row;
    const bad = values.findIndex((v) => v !== null && !(typeof v === 'number' && Number.isFinite(v) && v > 0));
    if (row.length !== 4 || typeof name !== 'string' || bad >= 0) {
      throw new DatasetError(
        'loadCars',
        `row ${r} must be [name, mpg, horsepower, weight] with positive numbers or null, got ${JSON.stringify(row)}`,
      );
    }
    if (values.every((v) => v !== null)) keep.push(row);
  });
  return {
    horsepower: Float64Array.from(keep, (r) => r[2] as number),
    weight: Float64Array.from(keep, (r) => r[3] as number),
    mpg: Float64Array.from(keep, (r) => r[1] as number),
    n: keep.length,
    name: keep.map((r) => r[0]),
  };
}

import { expectClose, loadFixture } from '@x/test-utils';
import { DatasetError, loadCars } from './index.js';
import { selectCars } from './cars.js';
import { CARS_ROWS, type CarRow } from './generated/cars-rows.js';

const ref = loadFixture<{
  data: {
    rows_in_file: number;
    rows_used: number;
    feature_mean: number[];
    feature_std_ddof0: number[];
    target_mean: number;
    target_std_ddof0: number;
  };
  'ols_lstsq_coef_[bias,hp,wt]': number[];
}>('blr.json');

const meanStd = (v: Float64Array) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return [mean, Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length)];
};

describe('loadCars', () => {
  const cars = loadCars();

  it('keeps the 392 of 406 rows with horsepower, weight and MPG all known', () => {
    expect(CARS_ROWS.length).toBe(ref.data.rows_in_file);
    expect(cars.n).toBe(ref.data.rows_used);
    expect(cars.n).toBe(392);
    for (const a of [cars.horsepower, cars.weight, cars.mpg]) {
      expect(a).toBeInstanceOf(Float64Array);
      expect(a.length).toBe(392);
    }
    expect(cars.name.length).toBe(392);
  });

  it('keeps file order: first and last rows of cars.json', () => {
    expect([cars.name[0], cars.horsepower[0], cars.weight[0], cars.mpg[0]]).toEqual(['chevrolet chevelle malibu', 130, 3504, 18]);
    const l = cars.n - 1;
    expect([cars.name[l], cars.horsepower[l], cars.weight[l], cars.mpg[l]]).toEqual(['chevy s-10', 82, 2720, 31]);
  });

  it('matches the means and population stds of the blr.json inputs', () => {
    // 392 float64 terms summed in another order: relative error below 392·2^-53 ≈ 5e-14.
    expectClose(meanStd(cars.horsepower), [ref.data.feature_mean[0], ref.data.feature_std_ddof0[0]], { rtol: 1e-12 });
    expectClose(meanStd(cars.weight), [ref.data.feature_mean[1], ref.data.feature_std_ddof0[1]], { rtol: 1e-12 });
    expectClose(meanStd(cars.mpg), [ref.data.target_mean, ref.data.target_std_ddof0], { rtol: 1e-12 });
  });

  it('pairs the columns row by row as the reference did: same least-squares fit', () => {
    // Normal equations of MPG ~ [1, z_hp, z_wt]; well conditioned (cond ≈ 13), so float64
    // solves agree with numpy's lstsq to ~1e-13; 1e-9 leaves room and still catches any shuffle.
    const [mh, sh] = meanStd(cars.horsepower);
    const [mw, sw] = meanStd(cars.weight);
    const A = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
    const b = [0, 0, 0];
    for (let i = 0; i < cars.n; i++) {
      const phi = [1, (cars.horsepower[i] - mh) / sh, (cars.weight[i] - mw) / sw];
      for (let r = 0; r < 3; r++) {
        b[r] += phi[r] * cars.mpg[i];
        for (let c = 0; c < 3; c++) A[r][c] += phi[r] * phi[c];
      }
    }
    expectClose(solve3(A, b), ref['ols_lstsq_coef_[bias,hp,wt]'], 1e-9);
  });

  it('returns new copies on every call', () => {
    const a = loadCars();
    a.mpg[0] = -1;
    a.name[0] = 'changed';
    const b = loadCars();
    expect([b.mpg[0], b.name[0]]).toEqual([18, 'chevrolet chevelle malibu']);
  });
});

describe('selectCars (the validation behind loadCars)', () => {
  it('drops rows with a null in any of mpg, horsepower, weight', () => {
    const rows: CarRow[] = [['a', 10, 100, 2000], ['b', null, 100, 2000], ['c', 10, null, 2000], ['d', 10, 100, null], ['e', 20, 50, 1500]];
    const c = selectCars(rows);
    expect(c.name).toEqual(['a', 'e']);
    expect(Array.from(c.mpg)).toEqual([10, 20]);
  });

  it.each([
    ['a non-string name', [1, 10, 100, 2000]],
    ['a string value', ['a', '10', 100, 2000]],
    ['NaN', ['a', 10, NaN, 2000]],
    ['a negative weight', ['a', 10, 100, -5]],
    ['a short row', ['a', 10, 100]],
  ])('throws a DatasetError naming loadCars for %s', (_what, row) => {
    expect(() => selectCars([['ok', 1, 1, 1], row as unknown as CarRow])).toThrow(DatasetError);
    expect(() => selectCars([['ok', 1, 1, 1], row as unknown as CarRow])).toThrow(/^loadCars: row 1 must be \[name, mpg, horsepower, weight\]/);
  });
});

/** Gaussian elimination with partial pivoting for a 3×3 system. */
function solve3(A: number[][], b: number[]): number[] {
  const M = A.map((row, i) => [...row, b[i]]);
  for (let k = 0; k < 3; k++) {
    const p = [k, k + 1, k + 2].filter((i) => i < 3).reduce((best, i) => (Math.abs(M[i][k]) > Math.abs(M[best][k]) ? i : best), k);
    [M[k], M[p]] = [M[p], M[k]];
    for (let i = k + 1; i < 3; i++) {
      const f = M[i][k] / M[k][k];
      for (let j = k; j < 4; j++) M[i][j] -= f * M[k][j];
    }
  }
  const x = [0, 0, 0];
  for (let i = 2; i >= 0; i--) {
    let s = M[i][3];
    for (let j = i + 1; j < 3; j++) s -= M[i][j] * x[j];
    x[i] = s / M[i][i];
  }
  return x;
}

import { createHash } from 'node:crypto';
import { expectClose, loadFixture } from '@x/test-utils';
import { DatasetError, loadCo2 } from './index.js';
import { parseCo2Csv } from './co2.js';
import { CO2_CSV, CO2_CSV_SHA256 } from './generated/co2-csv.js';

const ref = loadFixture<{
  data: { n: number; x_first: number; x_last: number; y_mean: number; y_std_ddof0: number };
}>('gp-co2.json').data;

describe('loadCo2', () => {
  const { x, y, n } = loadCo2();

  it('holds the 741 months of the reference, as Float64Arrays', () => {
    expect(n).toBe(ref.n);
    expect(n).toBe(741);
    expect(x).toBeInstanceOf(Float64Array);
    expect(y).toBeInstanceOf(Float64Array);
    expect([x.length, y.length]).toEqual([741, 741]);
  });

  it('starts at March 1958, 315.70 ppm and ends at April 2020, 416.18 ppm', () => {
    // Same float64 arithmetic as the reference (year + (month-1)/12), so equal to the last bit.
    expect(x[0]).toBe(ref.x_first);
    expect(x[0]).toBe(1958 + 2 / 12);
    expect(y[0]).toBe(315.7);
    expect(x[n - 1]).toBe(ref.x_last);
    expect(x[n - 1]).toBe(2020.25);
    expect(y[n - 1]).toBe(416.18);
  });

  it('matches the reference mean and population std of y', () => {
    // Sums of 741 float64 values in another order: relative error below 741·2^-53 ≈ 1e-13.
    const mean = y.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    expectClose(mean, ref.y_mean, { rtol: 1e-12 });
    expectClose(std, ref.y_std_ddof0, { rtol: 1e-12 });
  });

  it('has strictly increasing x', () => {
    for (let i = 1; i < n; i++) expect(x[i] > x[i - 1]).toBe(true);
  });

  it('keeps the vega-datasets CSV byte for byte', () => {
    expect(createHash('sha256').update(CO2_CSV).digest('hex')).toBe(CO2_CSV_SHA256);
    expect(CO2_CSV_SHA256).toBe('c1a4a970864145940a28225cae288618b156cb32f9a2a1b6606ba7124134febb');
  });

  it('returns new copies on every call', () => {
    const a = loadCo2();
    a.y[0] = -1;
    expect(loadCo2().y[0]).toBe(315.7);
    expect(loadCo2().x).not.toBe(loadCo2().x);
  });
});

describe('parseCo2Csv (the validation behind loadCo2)', () => {
  it('parses rows, skips blank lines and accepts CRLF', () => {
    const c = parseCo2Csv('Date,CO2\r\n2000-01-01,370.5\r\n\r\n2000-12-01,371\r\n');
    expect(c.n).toBe(2);
    expect(Array.from(c.x)).toEqual([2000, 2000 + 11 / 12]);
    expect(Array.from(c.y)).toEqual([370.5, 371]);
  });

  it.each([
    ['a bad header', 'date,co2\n2000-01-01,370\n', /^loadCo2: the CSV header must start with 'Date,CO2'/],
    ['a bad date', 'Date,CO2\n2000-1-01,370\n', /^loadCo2: CSV line 2 must be 'YYYY-MM-DD,<ppm > 0>,\.\.\.', got '2000-1-01,370'/],
    ['month 13', 'Date,CO2\n2000-13-01,370\n', /CSV line 2 must be/],
    ['a missing value', 'Date,CO2\n2000-01-01,,1\n', /CSV line 2 must be/],
    ['a non-numeric value', 'Date,CO2\n2000-01-01,abc\n', /CSV line 2 must be/],
    ['a negative value', 'Date,CO2\n2000-01-01,370\n2000-02-01,-1\n', /CSV line 3 must be/],
    ['months out of order', 'Date,CO2\n2000-02-01,370\n2000-02-01,371\n', /CSV line 3: dates must increase/],
    ['no rows', 'Date,CO2\n', /the CSV holds no data rows/],
  ])('throws a DatasetError for %s', (_what, text, message) => {
    expect(() => parseCo2Csv(text)).toThrow(DatasetError);
    expect(() => parseCo2Csv(text)).toThrow(message);
  });
});

import { ValueError } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { continualMetrics } from './index.js';

// Hand-computed from the definitions (GEM's ACC/BWT/FWT, RWalk's forgetting); 1e-12 covers
// only floating-point summation order.
const TOL = 1e-12;

describe('continualMetrics', () => {
  it('with one task gives the accuracy and says why the others are undefined (null, not 0)', () => {
    const m = continualMetrics([[0.9]], { baseline: [0.1] });
    expectClose(m.averageAccuracy.value as number, 0.9, TOL);
    for (const k of ['backwardTransfer', 'forgetting', 'forwardTransfer'] as const) {
      expect(m[k].value).toBeNull();
      expect(m[k].reason).toMatch(/fewer than 2 tasks \(got 1\)/);
    }
    expect(m.forgettingPerTask).toEqual([]);
  });

  it('after two tasks with R = [[0.99, ·], [0.60, 0.98]] the forgetting of task 1 is 0.39', () => {
    const m = continualMetrics([
      [0.99, null],
      [0.6, 0.98],
    ]);
    expectClose(m.forgettingPerTask, [0.39], TOL);
    expectClose(m.forgetting.value as number, 0.39, TOL);
    expectClose(m.backwardTransfer.value as number, -0.39, TOL);
    expectClose(m.averageAccuracy.value as number, (0.6 + 0.98) / 2, TOL);
    // R[0][1] was not measured, so forward transfer cannot be computed even with a baseline.
    expect(() => continualMetrics([[0.99, null], [0.6, 0.98]], { baseline: [0.1, 0.1] })).toThrow(/R\[0\]\[1\]/);
    expect(m.forwardTransfer.value).toBeNull();
    expect(m.forwardTransfer.reason).toMatch(/baseline/);
  });

  it('computes every metric of a 5-task matrix by its definition', () => {
    const R = [
      [0.95, 0.1, 0.12, 0.09, 0.11],
      [0.8, 0.96, 0.15, 0.1, 0.1],
      [0.85, 0.7, 0.97, 0.2, 0.1],
      [0.6, 0.75, 0.9, 0.94, 0.3],
      [0.5, 0.65, 0.8, 0.9, 0.98],
    ];
    const b = [0.1, 0.11, 0.09, 0.1, 0.1];
    const m = continualMetrics(R, { baseline: b });
    expectClose(m.averageAccuracy.value as number, (0.5 + 0.65 + 0.8 + 0.9 + 0.98) / 5, TOL);
    expectClose(m.backwardTransfer.value as number, (0.5 - 0.95 + (0.65 - 0.96) + (0.8 - 0.97) + (0.9 - 0.94)) / 4, TOL);
    // max over rows 0..3 of each column minus the final row.
    expectClose(m.forgettingPerTask, [0.95 - 0.5, 0.96 - 0.65, 0.97 - 0.8, 0.94 - 0.9], TOL);
    expectClose(m.forgetting.value as number, (0.45 + 0.31 + 0.17 + 0.04) / 4, TOL);
    expectClose(m.forwardTransfer.value as number, (0.1 - 0.11 + (0.15 - 0.09) + (0.2 - 0.1) + (0.3 - 0.1)) / 4, TOL);
  });

  it('leaves forward transfer undefined in class-incremental runs', () => {
    const m = continualMetrics([[0.9, 0], [0.5, 0.9]], { baseline: [0.1, 0.1], classIncremental: true });
    expect(m.forwardTransfer.value).toBeNull();
    expect(m.forwardTransfer.reason).toMatch(/class-incremental/);
  });

  it('rejects malformed matrices and baselines with ValueError', () => {
    expect(() => continualMetrics([])).toThrow(ValueError);
    expect(() => continualMetrics([[0.9, 0.1], [0.5]])).toThrow(/every row/);
    expect(() => continualMetrics([[1.5]])).toThrow(/\[0, 1\]/);
    expect(() => continualMetrics([[Number.NaN]])).toThrow(ValueError);
    expect(() => continualMetrics([[0.9, 0.1], [0.5, 0.9]], { baseline: [0.1] })).toThrow(/baseline/);
  });
});

import { Rng, linalg } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { inverseSpd } from './inverse.js';
import { minimizeBounded } from './optimize.js';

describe('minimizeBounded (projected L-BFGS)', () => {
  it('finds the Rosenbrock minimum (1, 1) from (-1.2, 1) inside wide bounds', () => {
    const r = minimizeBounded(
      (x) => {
        const [a, b] = x;
        return {
          f: 100 * (b - a * a) ** 2 + (1 - a) ** 2,
          g: Float64Array.of(-400 * a * (b - a * a) - 2 * (1 - a), 200 * (b - a * a)),
        };
      },
      [-1.2, 1],
      [-5, -5],
      [5, 5],
      { pgtol: 1e-8, factr: 10 },
    );
    expect(r.converged).toBe(true);
    expectClose(r.x, [1, 1], { atol: 1e-5 });
  });

  it('stops on the bound that cuts off the unconstrained minimum, with the free coordinate optimal', () => {
    const r = minimizeBounded((x) => ({ f: (x[0] - 3) ** 2 + (x[1] + 1) ** 2 + x[0] * x[1], g: Float64Array.of(2 * (x[0] - 3) + x[1], 2 * (x[1] + 1) + x[0]) }), [0.5, 0], [0, -5], [1, 5]);
    expect(r.converged).toBe(true);
    // x0 = 1 (bound); then y minimises (y + 1)² + y → y = -1.5.
    expectClose(r.x, [1, -1.5], { atol: 1e-6 });
  });

  it('backs off from points where the objective is not finite, and reports a non-finite start', () => {
    // f = -log(x) + x on x > 0 (infinite at x <= 0), minimum at 1; a first step would overshoot below 0.
    const fun = (x: Float64Array) => ({ f: x[0] > 0 ? -Math.log(x[0]) + x[0] : Infinity, g: Float64Array.of(x[0] > 0 ? -1 / x[0] + 1 : 0) });
    const r = minimizeBounded(fun, [5], [-10], [10], { pgtol: 1e-9 });
    expectClose(r.x, [1], { atol: 1e-6 });
    const bad = minimizeBounded(fun, [-1], [-10], [10]);
    expect(bad.converged).toBe(false);
    expect(bad.message).toMatch(/not finite at the starting point/);
  });
});

describe('inverseSpd', () => {
  it.each([1, 4, 13, 64])('equals linalg.inverseFromCholesky and inverts A (n = %i)', (n) => {
    const rng = new Rng(n);
    const B = linalg.mat(n, n, Array.from({ length: n * n }, () => rng.normal()));
    const A = linalg.addDiagonal(linalg.matmul(B, B, { transB: true }), 0.1);
    const { L } = linalg.cholesky(A);
    const inv = inverseSpd(L);
    expectClose(inv.data, linalg.inverseFromCholesky(L).data, { rtol: 1e-10, atol: 1e-12 });
    expectClose(linalg.matmul(A, inv).data, linalg.eye(n).data, { atol: 1e-8 });
  });
});

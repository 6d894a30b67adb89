import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, ShapeError, ValueError, linalg, type Mat } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import {
  ConstantKernel,
  DotProduct,
  ExpSineSquared,
  Kernel,
  Matern,
  RBF,
  RationalQuadratic,
  WhiteKernel,
  kernelFromJSON,
  product,
  sum,
} from './kernels.js';

// Reference matrices from scikit-learn 1.2.1 (test-data/sklearn_kernels.py). Closed forms in
// float64 on both sides: agreement to 1e-12 relative is expected.
const ref = JSON.parse(readFileSync(join(__dirname, '..', 'test-data', 'sklearn-kernels.json'), 'utf8'));
const X3 = linalg.fromRows([[0, 1], [0.5, -1], [2, 0.3]]);

const X1 = linalg.fromRows([[0], [0.5], [2]]);
const input = (name: string) => (name === 'es' ? X1 : X3);
const cases: [string, Kernel][] = [
  ['rbf', new RBF({ lengthScale: 1.3 })],
  ['rbf_ard', new RBF({ lengthScale: [0.7, 2] })],
  ['m12', new Matern({ lengthScale: 0.8, nu: 0.5 })],
  ['m32', new Matern({ lengthScale: [0.8, 1.7], nu: 1.5 })],
  ['m52', new Matern({ lengthScale: 1.1, nu: 2.5 })],
  ['rq', new RationalQuadratic({ lengthScale: 0.9, alpha: 0.6 })],
  ['es', new ExpSineSquared({ lengthScale: 1.2, periodicity: 2.5 })],
  ['dp', new DotProduct({ sigma0: 0.7 })],
  ['c', new ConstantKernel({ value: 2.5 })],
  ['w', new WhiteKernel({ noiseLevel: 0.3 })],
];

/** Central differences of K with respect to each theta entry. */
function fdGrads(k: Kernel, X: Mat, h = 1e-6): Mat[] {
  const t = k.theta;
  return Array.from(t, (_, p) => {
    const up = Float64Array.from(t);
    const dn = Float64Array.from(t);
    up[p] += h;
    dn[p] -= h;
    const a = k.withTheta(up).compute(X).K;
    const b = k.withTheta(dn).compute(X).K;
    return { rows: a.rows, cols: a.cols, data: a.data.map((v, i) => (v - b.data[i]) / (2 * h)) };
  });
}

describe('kernels', () => {
  it.each(cases)('%s matches scikit-learn K(X, X) to 1e-12', (name, k) => {
    expectClose(linalg.toRows(k.compute(input(name)).K), ref[name], { rtol: 1e-12, atol: 1e-15 });
  });

  it.each(cases)('%s: diag equals the diagonal of K, and K(X, Y) agrees with K(X, X) off the white noise', (name, k) => {
    const X3 = input(name);
    const K = k.compute(X3).K;
    expectClose(k.diag(X3), linalg.diag(K), { rtol: 1e-14 });
    const cross = k.compute(X3, X3).K;
    const latent = k.compute(X3, null, { noise: false }).K;
    expectClose(cross.data, latent.data, { rtol: 1e-14, atol: 1e-300 });
  });

  it.each(cases)('%s: analytic dK/dtheta matches central differences to 1e-6', (name, k) => {
    const X3 = input(name);
    const { grads } = k.compute(X3, null, { gradient: true });
    expect(grads.length).toBe(k.theta.length);
    // Central differences with h = 1e-6 have truncation error ~h² and round-off ~1e-16/h = 1e-10.
    fdGrads(k, X3).forEach((g, p) => expectClose(grads[p].data, g.data, { rtol: 1e-6, atol: 1e-8 }));
  });

  it('composes with add / mul / sum / product, theta in scikit-learn order', () => {
    const k = new ConstantKernel({ value: 1.5 })
      .mul(new Matern({ lengthScale: [1, 2], nu: 2.5 }))
      .add(new RationalQuadratic({ lengthScale: 0.9, alpha: 0.6 }).mul(new DotProduct({ sigma0: 0.7 })))
      .add(new WhiteKernel({ noiseLevel: 0.05 }));
    expect(k.thetaNames).toEqual([
      'k1__k1__k1__constant_value',
      'k1__k1__k2__length_scale[0]',
      'k1__k1__k2__length_scale[1]',
      'k1__k2__k1__alpha',
      'k1__k2__k1__length_scale',
      'k1__k2__k2__sigma_0',
      'k2__noise_level',
    ]);
    expectClose(k.theta, ref.composite.theta, { rtol: 1e-15, atol: 1e-15 });
    const same = sum(product(new ConstantKernel({ value: 1.5 }), new Matern({ lengthScale: [1, 2], nu: 2.5 })), product(new RationalQuadratic({ lengthScale: 0.9, alpha: 0.6 }), new DotProduct({ sigma0: 0.7 })), new WhiteKernel({ noiseLevel: 0.05 }));
    expect(Array.from(same.compute(X3).K.data)).toEqual(Array.from(k.compute(X3).K.data));
    const { grads } = k.compute(X3, null, { gradient: true });
    fdGrads(k, X3).forEach((g, p) => expectClose(grads[p].data, g.data, { rtol: 1e-6, atol: 1e-8 }));
    expect(String(k)).toContain('WhiteKernel(noise_level=0.05)');
  });

  it('leaves fixed hyperparameters out of theta, bounds and gradients', () => {
    const k = new ConstantKernel({ value: 2, valueBounds: 'fixed' }).mul(new RBF({ lengthScale: 3, lengthScaleBounds: [0.1, 10] }));
    expect(k.thetaNames).toEqual(['k2__length_scale']);
    expectClose(k.bounds.flat(), [Math.log(0.1), Math.log(10)], { rtol: 1e-15 });
    const k2 = k.withTheta([Math.log(5)]);
    expect(k2.hyperparameters.map((h) => h.value[0])).toEqual([2, expect.closeTo(5, 12)]);
    expect(k.compute(X3, null, { gradient: true }).grads.length).toBe(1);
    // withTheta returns a new kernel: the original is unchanged.
    expect(k.hyperparameters[1].value[0]).toBe(3);
  });

  it('round-trips through JSON', () => {
    const k = new ConstantKernel({ value: 1.5 }).mul(new Matern({ lengthScale: 2, nu: 0.5 })).add(new ExpSineSquared({ periodicity: 3, periodicityBounds: 'fixed' })).add(new WhiteKernel({ noiseLevel: 0.1 }));
    const back = kernelFromJSON(JSON.parse(JSON.stringify(k.toJSON())));
    expect(Array.from(back.compute(X1).K.data)).toEqual(Array.from(k.compute(X1).K.data));
    const ard = new RBF({ lengthScale: [1, 2], lengthScaleBounds: [0.5, 5] });
    expect(Array.from(kernelFromJSON(JSON.parse(JSON.stringify(ard.toJSON()))).compute(X3).K.data)).toEqual(Array.from(ard.compute(X3).K.data));
    expect(back.thetaNames).toEqual(k.thetaNames);
    expect(() => kernelFromJSON({ type: 'Cosine' } as any)).toThrow(ValueError);
  });

  it('gives positive semi-definite matrices for random kernels and inputs with duplicates', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 30; trial++) {
      const n = 20;
      const d = trial % 2 === 0 ? 1 : 2;
      const rows: number[][] = [];
      for (let i = 0; i < n; i++) rows.push(i % 4 === 3 ? rows[i - 1].slice() : Array.from({ length: d }, () => rng.normal(0, 2)));
      const X = linalg.fromRows(rows);
      const pick = () => {
        const ls = Math.exp(rng.uniform(-2, 2));
        switch (rng.int(6)) {
          case 0:
            return new RBF({ lengthScale: d === 2 ? [ls, Math.exp(rng.uniform(-2, 2))] : ls });
          case 1:
            return new Matern({ lengthScale: ls, nu: [0.5, 1.5, 2.5][rng.int(3)] });
          case 2:
            return new RationalQuadratic({ lengthScale: ls, alpha: Math.exp(rng.uniform(-2, 2)) });
          case 3:
            if (d === 2) return new Matern({ lengthScale: [ls, 1], nu: 2.5 });
            return new ExpSineSquared({ lengthScale: ls, periodicity: Math.exp(rng.uniform(-1, 2)) });
          case 4:
            return new DotProduct({ sigma0: ls });
          default:
            return new ConstantKernel({ value: ls });
        }
      };
      const k = rng.uniform() < 0.5 ? pick().add(pick()) : pick().mul(pick());
      const K = k.compute(X).K;
      // PSD: the Cholesky factor exists with at most a tiny relative jitter.
      const { jitter } = linalg.cholesky(K, { maxTries: 8 });
      const meanDiag = linalg.diag(K).reduce((a, b) => a + b, 0) / n;
      expect(jitter).toBeLessThanOrEqual(1e-3 * meanDiag);
    }
  });

  it('names bad parameters, bounds and shapes', () => {
    expect(() => new RBF({ lengthScale: -1 })).toThrow(ValueError);
    expect(() => new RBF({ lengthScale: 0.5, lengthScaleBounds: [1, 10] })).toThrow(/lengthScale' = 0.5 lies outside 'lengthScaleBounds' \[1, 10\]/);
    expect(() => new RBF({ lengthScaleBounds: [10, 1] })).toThrow(ValueError);
    expect(() => new Matern({ nu: 2 })).toThrow(/nu/);
    expect(() => new ConstantKernel({ value: [1, 2] as any })).toThrow(TypeError);
    expect(() => new RBF({ lengthScale: [1, 2, 3] }).compute(X3)).toThrow(ShapeError);
    expect(() => new RBF().compute(X3, linalg.fromRows([[1]]))).toThrow(ShapeError);
    expect(() => new RBF().withTheta([1, 2])).toThrow(ShapeError);
    expect(() => new RBF().add(3 as any)).toThrow(TypeError);
    expect(() => new ExpSineSquared().compute(X3)).toThrow(/1 column/);
  });
});

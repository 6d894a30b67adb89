/**
 * Exact Gaussian process regression at N = 2000, fit + predict (mean and std), vs
 * scikit-learn's GaussianProcessRegressor in the same run. Both sides do the same work:
 *
 * - the same data: x = 2000 sorted uniform(0, 10) points, y = sin(x) + 0.1·noise (made here
 *   with our seeded Rng and handed to Python in the request, so both fit the same numbers),
 *   predicted at 2000 points linspace(0, 10);
 * - the same model: kernel RBF(1) + White(0.1) with FIXED hyperparameters (sklearn
 *   `optimizer=None`, ours `optimizer: null`, so no optimizer runs and no restarts on either
 *   side), alpha = 1e-10 on the diagonal (both defaults), no normalisation of y;
 * - the same timed unit: `fit(x, y)` then `predict(xs, return_std=True)`, median of 5 after
 *   one warm-up.
 *
 * The mean absolute difference of the predictive std is kept in the details (from the Python
 * side's std), as a check that both computed the same thing.
 */
import { GaussianProcessRegressor, RBF, SparseGaussianProcessRegressor, WhiteKernel } from '@x/bayes';
import { Rng } from '@x/tensor';
import { registerCase } from '../registry.js';
import { timeIt } from '../timing.js';

const N = 2000;

/** The case's data (deterministic: Rng seed 0). */
export function gpBenchData(n: number): { x: number[]; y: number[]; xs: number[] } {
  const rng = new Rng(0);
  const x = Array.from({ length: n }, () => rng.uniform(0, 10)).sort((a, b) => a - b);
  const y = x.map((v) => Math.sin(v) + 0.1 * rng.normal());
  const xs = Array.from({ length: n }, (_, i) => (10 * i) / (n - 1));
  return { x, y, xs };
}

registerCase({
  id: 'gp-exact-2000',
  title: `exact GP fit+predict (mean, std) N=${N}, fixed RBF+White`,
  maxRatio: 10,
  reference: { key: 'sklearn-gp-exact', label: 'scikit-learn', args: () => ({ ...gpBenchData(N), lengthScale: 1, noiseLevel: 0.1 }) },
  async run() {
    const { x, y, xs } = gpBenchData(N);
    const kernel = new RBF({ lengthScale: 1 }).add(new WhiteKernel({ noiseLevel: 0.1 }));
    let std: Float64Array | undefined;
    let lml = NaN;
    const t = await timeIt(() => {
      const gp = new GaussianProcessRegressor({ kernel, optimizer: null }).fit(x, y);
      std = gp.predict(xs, { returnStd: true }).std;
      lml = gp.logMarginalLikelihoodValue;
    }, { warmup: 1, repeats: 5 });
    const s = std!;
    let mean = 0;
    for (const v of s) mean += v / s.length;
    return { ...t, details: { logMarginalLikelihood: lml, stdMean: mean, std0: s[0], stdMid: s[N >> 1] } };
  },
});

/**
 * The sparse GP (Titsias SGPR, 300 k-means inducing points, fixed RBF + noise 0.01) fitted on
 * 50,000 points of the same kind of data and predicting mean and std at 50,000 others. No
 * reference: scikit-learn has no sparse GP; the project's goal is under 60 s.
 */
registerCase({
  id: 'sgpr-50000',
  title: 'sparse GP (M=300) fit+predict (mean, std) N=50000',
  async run() {
    const n = 50000;
    const rng = new Rng(1);
    const x = Array.from({ length: n }, () => rng.uniform(0, 10));
    const y = x.map((v) => Math.sin(v) + 0.1 * rng.normal());
    const xs = Array.from({ length: n }, () => rng.uniform(0, 10));
    let elbo = NaN;
    const t = await timeIt(() => {
      const sgp = new SparseGaussianProcessRegressor({ kernel: new RBF({ lengthScale: 1 }), noiseVariance: 0.01, nInducing: 300 }).fit(x, y);
      sgp.predict(xs, { returnStd: true });
      elbo = sgp.elbo;
    }, { warmup: 0, repeats: 3 });
    return { ...t, details: { elbo, goalSeconds: 60 } };
  },
});

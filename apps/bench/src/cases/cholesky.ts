/** Cholesky of a 2000×2000 float64 SPD matrix (an RBF kernel matrix plus noise) vs numpy. */
import { linalg } from '@x/tensor';
import { registerCase } from '../registry.js';
import { timeIt } from '../timing.js';

const N = 2000;

/** K_ij = exp(−(x_i − x_j)²/2) + 0.1·δ_ij with x = linspace(0, 10, n): the GP case; python/reference.py builds the same. */
export function kernelMatrix(n: number): linalg.Mat {
  const x = Float64Array.from({ length: n }, (_, i) => (10 * i) / (n - 1));
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = x[i] - x[j];
      data[i * n + j] = Math.exp(-0.5 * d * d) + (i === j ? 0.1 : 0);
    }
  }
  return { rows: n, cols: n, data };
}

registerCase({
  id: 'cholesky-f64-2000',
  title: `Cholesky ${N}² float64`,
  maxRatio: 10,
  reference: { key: 'numpy-cholesky-f64', label: 'numpy', args: () => ({ n: N }) },
  async run() {
    const a = kernelMatrix(N);
    let jitter = 0;
    // Default options: the symmetry/finiteness check and adaptive jitter are part of the cost.
    const t = await timeIt(() => {
      jitter = linalg.cholesky(a).jitter;
    }, { warmup: 1, repeats: 5 });
    return { ...t, details: { jitter, gflops: N ** 3 / 3 / t.seconds / 1e9 } };
  },
});

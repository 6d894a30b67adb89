/** float32 matmul 1024² on each tfjs backend vs numpy (float32, BLAS at its default threads). */
import { tf, ready, Rng, type BackendName } from '@x/tensor';
import { registerCase } from '../registry.js';
import { timeIt } from '../timing.js';

const N = 1024;

registerCase({
  id: 'matmul-f32-1024',
  title: `float32 matmul ${N}²`,
  variants: ['wasm', 'cpu'],
  reference: { key: 'numpy-matmul-f32', label: 'numpy f32', args: () => ({ n: N }) },
  async run(variant) {
    await ready(variant as BackendName);
    const rng = new Rng(0);
    const a = tf.tensor2d(Float32Array.from({ length: N * N }, () => rng.normal()), [N, N]);
    const b = tf.tensor2d(Float32Array.from({ length: N * N }, () => rng.normal()), [N, N]);
    try {
      // Reading the result forces the work (and is part of any real use of it). The block
      // returns nothing: tidy() walks a returned value looking for tensors, and walking a
      // million-entry Float32Array costs ten times the matmul.
      const once = () =>
        tf.tidy(() => {
          tf.matMul(a, b).dataSync();
        });
      const t = await timeIt(once, variant === 'cpu' ? { warmup: 1, repeats: 3 } : { warmup: 2, repeats: 7 });
      return { ...t, details: { gflops: (2 * N ** 3) / t.seconds / 1e9 } };
    } finally {
      a.dispose();
      b.dispose();
    }
  },
});

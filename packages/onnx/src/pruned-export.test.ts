import { ready, mlp, tf, Sequential } from '@x/tensor';

type Tensor = tf.Tensor;
import { buildOnnx, decodeOnnx } from './index.js';
import { runOrt, tsForward, trainedMlp, mnist, maxAbsDiff, agreement } from './test-support.js';

beforeAll(async () => {
  await ready();
});

/** Global magnitude mask keeping the largest `keep` fraction of each weight, as 0/1 tensors. */
function maskModel(model: Sequential, keep: number): Map<string, Tensor> {
  const masks = new Map<string, Tensor>();
  for (const [name, v] of model.namedParameters()) {
    if (!name.endsWith('weight')) continue;
    const mask = tf.tidy(() => {
      const a = tf.abs(v);
      const sorted = Float32Array.from(a.dataSync() as Float32Array).sort();
      const thr = sorted[Math.floor(sorted.length * (1 - keep))];
      return tf.cast(tf.greaterEqual(a, thr), 'float32');
    });
    masks.set(name, mask);
    model.setParametrization(name, (w) => tf.mul(w, mask));
  }
  return masks;
}

describe('pruned export', () => {
  let model: Sequential;
  let masks: Map<string, Tensor>;
  beforeAll(async () => {
    model = await trainedMlp();
    masks = maskModel(model, 0.1);
  });
  afterAll(() => {
    model.dispose();
    for (const m of masks.values()) m.dispose();
  });

  test('bakes orig·mask into the initializers: ORT matches the masked TS model within 1e-4, sparsity ≈ 0.9', async () => {
    const { test: t } = mnist();
    const { bytes, info } = buildOnnx(model);
    const ort = await runOrt(bytes, t.images, t.n, 784);
    const ts = tsForward(model, t.images, t.n, 784);
    expect(maxAbsDiff(ort, ts)).toBeLessThanOrEqual(1e-4);
    expect(agreement(ort, ts, 10)).toBe(1);
    expect(info.variant).toBe('pruned');
    // each weight keeps ≥ 10 % (ties at the threshold stay): sparsity just under 0.9
    expect(info.sparsity).toBeGreaterThan(0.89);
    expect(info.sparsity).toBeLessThanOrEqual(0.9);
    const w0 = decodeOnnx(bytes).graph.initializer.find((i: { name: string }) => i.name === '0.weight');
    const f = new Float32Array(Uint8Array.from(w0.raw_data).buffer);
    const expected = tf.tidy(() => tf.mul(model.namedParameters().get('0.weight')!, masks.get('0.weight')!).dataSync());
    expect(f.length).toBe(expected.length);
    expect(f.filter((v, i) => v !== expected[i]).length).toBe(0);
  });

  test('export leaves the live model unchanged: stored weights, parametrizations, outputs', () => {
    const before = model.stateDict();
    const fns = [...model.namedParameters().keys()].map((n) => model.getParametrization(n));
    const x = mnist().test.images.slice(0, 20 * 784);
    const out0 = tsForward(model, x, 20, 784);
    buildOnnx(model);
    buildOnnx(model);
    const after = model.stateDict();
    for (const k of Object.keys(before)) {
      const a = after[k].data;
      const b = before[k].data;
      expect([k, a.length, a.filter((v, i) => v !== b[i]).length]).toEqual([k, b.length, 0]);
    }
    // the stored originals still hold the pruned (non-zero) values
    const zeros = (before['0.weight'].data as Float32Array).filter((v) => v === 0).length;
    expect(zeros).toBeLessThan(before['0.weight'].data.length * 0.01);
    expect([...model.namedParameters().keys()].map((n) => model.getParametrization(n))).toEqual(fns);
    const out1 = tsForward(model, x, 20, 784);
    expect(out1.filter((v, i) => v !== out0[i]).length).toBe(0);
  });

  test('a structurally pruned (smaller) model exports to a proportionally smaller file that still matches', async () => {
    const small = mlp([784, 150, 50, 10], { seed: 5 });
    small.eval();
    const big = buildOnnx(mlp([784, 300, 100, 10], { seed: 5 })).bytes.length;
    const { bytes, info } = buildOnnx(small);
    expect(info.params).toBe(784 * 150 + 150 + 150 * 50 + 50 + 50 * 10 + 10);
    // file size is dominated by 4 bytes per parameter
    expect(bytes.length / big).toBeLessThan(0.51);
    const n = 100;
    const x = mnist().test.images.slice(0, n * 784);
    expect(maxAbsDiff(await runOrt(bytes, x, n, 784), tsForward(small, x, n, 784))).toBeLessThanOrEqual(1e-4);
    small.dispose();
  });
});

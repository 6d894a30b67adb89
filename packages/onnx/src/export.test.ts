import { ready, Sequential, Linear, Flatten, Conv2d, MaxPool2d, AvgPool2d, BatchNorm, Reshape, Dropout, Tanh, Sigmoid, Softmax, tf } from '@x/tensor';
import { buildOnnx, decodeOnnx, toOnnx, IR_VERSION } from './index.js';
import { runOrt, tsForward, trainedMlp, trainedCnn, mnist, maxAbsDiff, agreement } from './test-support.js';

beforeAll(async () => {
  await ready();
});

describe('fp32 export', () => {
  let model: Sequential;
  beforeAll(async () => {
    model = await trainedMlp();
  });
  afterAll(() => model.dispose());

  test('MLP 784-300-100-10 logits match the TS model on 2000 real digits within 1e-4', async () => {
    const { test: t } = mnist();
    const { bytes, info } = buildOnnx(model);
    const ort = await runOrt(bytes, t.images, t.n, 784);
    const ts = tsForward(model, t.images, t.n, 784);
    // float32 MatMul in two libraries: different summation order, |logits| ~ 10 → ~1e-5 apart
    expect(maxAbsDiff(ort, ts)).toBeLessThanOrEqual(1e-4);
    expect(agreement(ort, ts, 10)).toBe(1);
    expect(info.variant).toBe('fp32');
    expect(info.ops).toEqual({ MatMul: 3, Add: 3, Relu: 2, Identity: 1 });
    expect(info.params).toBe(784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10);
  });

  test('writes IR version 8, opset 13, a dynamic batch dimension and the metadata', () => {
    const m = decodeOnnx(toOnnx(model));
    expect(m.ir_version).toBe(IR_VERSION);
    expect(IR_VERSION).toBe(8);
    expect(m.opset_import).toEqual([{ domain: '', version: 13 }]);
    expect(m.producer_name).toBe('@x/onnx');
    const dims = m.graph.input[0].type.tensor_type.shape.dim;
    expect(dims).toEqual([{ dim_param: 'N' }, { dim_value: 784 }]);
    const meta = Object.fromEntries(m.metadata_props.map((p: { key: string; value: string }) => [p.key, p.value]));
    expect(meta['x.bits']).toBe('32');
    expect(meta['x.sparsity']).toBe('0.000000');
    expect(meta['x.source.@x/tensor']).toMatch(/^\d+\.\d+\.\d+/);
    expect(m.producer_version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('fp32 CNN export (NHWC in TS, NCHW in ONNX)', () => {
  test('convNet with batch norm, pooling and flatten matches the TS model within 1e-4', async () => {
    const model = await trainedCnn();
    const { test: t } = mnist();
    const n = 500;
    const x = t.images.slice(0, n * 784);
    const ort = await runOrt(toOnnx(model), x, n, 784);
    const ts = tsForward(model, x, n, 784);
    expect(maxAbsDiff(ort, ts)).toBeLessThanOrEqual(1e-4);
    expect(agreement(ort, ts, 10)).toBe(1);
    model.dispose();
  });

  test('every supported layer (strided/valid/padded conv, avg pool same, tanh, sigmoid, softmax, dropout) matches', async () => {
    const model = new Sequential(
      new Reshape([28, 28, 1]),
      new Conv2d(1, 4, 3, { padding: 'valid', stride: 2, seed: 1 }),
      new BatchNorm(4),
      new Tanh(),
      new Conv2d(4, 6, 5, { padding: 1, seed: 2 }),
      new AvgPool2d(3, { stride: 2, padding: 'same' }),
      new Sigmoid(),
      new Conv2d(6, 5, 4, { padding: 'same', stride: 3, seed: 3 }),
      new MaxPool2d(2, { stride: 1, padding: 'same' }), // 2x2x5: flatten order matters
      new Softmax(),
      new Flatten(),
      new Dropout(0.3),
      new Linear(20, 7, { seed: 4 }),
      new Reshape([7, 1]),
      new Flatten(),
      new Softmax(),
    );
    // give batch norm non-trivial statistics
    tf.tidy(() => {
      model.train();
      const x = tf.tensor2d(mnist().train.images.slice(0, 64 * 784), [64, 784]);
      model.forward(x);
      model.forward(tf.mul(x, 0.5));
    });
    model.eval();
    const n = 64;
    const x = mnist().test.images.slice(0, n * 784);
    const ts = tsForward(model, x, n, 784);
    const ort = await runOrt(toOnnx(model), x, n, 784);
    expect(ts.length).toBe(n * 7);
    expect(maxAbsDiff(ort, ts)).toBeLessThanOrEqual(1e-5);
    model.dispose();
  });
});

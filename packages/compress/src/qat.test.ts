import { tf, ready, Adam, Linear, ReLU, Sequential, Rng, mlp, fit, evaluate, argmaxRows, ValueError } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { loadMnistSplit } from '@x/datasets';
import { convertQat, prepareQat, QatModel } from './qat.js';
import { computeQuantParams, quantize } from './quant.js';
import { disposeQuantizedModel, quantizeModel, quantizedForward, quantizedPredict } from './quant-model.js';

beforeAll(async () => {
  await ready();
});

describe('moving-average observers', () => {
  it('start at the first batch range and then move by the averaging constant; evaluation does not update them', () => {
    const qat = prepareQat(new Sequential(new ReLU()), { averagingConstant: 0.5 });
    const run = (v: number[]) => tf.dispose(qat.forward(tf.tensor2d(v, [2, 2])));
    run([-1, 2, 0.5, 0]);
    expect(qat.observers.get('input')).toEqual({ min: -1, max: 2, count: 1 });
    expect(qat.observers.get('0')).toMatchObject({ min: 0, max: 2 });
    run([-3, 4, 1, 1]);
    // min ← −1 + 0.5·(−3 − (−1)) = −2; max ← 2 + 0.5·(4 − 2) = 3
    expect(qat.observers.get('input')).toEqual({ min: -2, max: 3, count: 2 });
    // ReLU sees the fake-quantized input, saturated at the new input max 3: max ← 2 + 0.5·(3 − 2).
    expect(qat.observers.get('0')).toMatchObject({ min: 0, max: 2.5 });
    qat.eval();
    run([-100, 100, 0, 0]);
    expect(qat.observers.get('input')).toEqual({ min: -2, max: 3, count: 2 });
    qat.dispose();
  });

  it('uses averaging constant 0.01 by default (torch MovingAverageMinMaxObserver) and can freeze', () => {
    const qat = prepareQat(new Sequential(new ReLU()), { freezeObserversAfter: 2 });
    expect(qat.averagingConstant).toBe(0.01);
    for (const hi of [1, 2, 50]) tf.dispose(qat.forward(tf.tensor2d([0, hi], [1, 2])));
    expect(qat.observers.get('input')?.max).toBeCloseTo(1 + 0.01 * (2 - 1), 12);
    qat.dispose();
  });
});

describe('prepareQat / convertQat', () => {
  it('keeps the parameter names of the model, fake-quantizes weights per output channel, and trains with fit', async () => {
    const model = mlp([6, 8, 3], { seed: 1 });
    const qat = prepareQat(model);
    expect(qat).toBeInstanceOf(QatModel);
    expect([...qat.namedParameters().keys()]).toEqual([...model.namedParameters().keys()]);
    const rng = new Rng(2);
    const x = rng.normalArray(64 * 6);
    const y = Int32Array.from({ length: 64 }, (_, i) => (x[i * 6] > 0 ? 1 : x[i * 6 + 1] > 0 ? 2 : 0));
    const h = await fit(qat, { x, y }, { epochs: 15, batchSize: 16, seed: 3, optimizer: new Adam(qat, { lr: 1e-2 }) });
    expect(h.loss[14]).toBeLessThan(h.loss[0] * 0.7);
    // The live model is untouched by QAT training.
    expect(Array.from(model.stateDict()['0.weight'].data)).not.toEqual(Array.from(qat.stateDict()['0.weight'].data));
    qat.dispose();
    model.dispose();
  });

  it('converts to the PTQ format (method qat) and the TS simulation equals the QAT model in evaluation mode', async () => {
    const model = mlp([5, 7, 4], { seed: 4 });
    const qat = prepareQat(model);
    const rng = new Rng(5);
    const x = rng.normalArray(40 * 5);
    const y = Int32Array.from({ length: 40 }, (_, i) => i % 4);
    await fit(qat, { x, y }, { epochs: 3, batchSize: 10, seed: 6 });
    const qm = convertQat(qat);
    expect(qm.method).toBe('qat');
    expect(qm.bits).toBe(8);
    expect([...qm.weights.keys()]).toEqual(['0.weight', '2.weight']);
    expect([...qm.activations.keys()]).toEqual(['input', '0', '1', '2']);
    for (const [name, q] of qm.weights) {
      expect(q.params).toMatchObject({ dtype: 'int8', scheme: 'symmetric', axis: 1 });
      const w = qat.stateDict()[name];
      const ref = computeQuantParams(w.data as Float32Array, w.shape, { axis: 1 });
      expect(Array.from(q.codes)).toEqual(Array.from(quantize(w.data as Float32Array, w.shape, ref)));
    }
    for (const [k, p] of qm.activations) {
      expect(p).toMatchObject({ dtype: 'uint8', scheme: 'asymmetric', axis: null });
      const o = qat.observers.get(k)!;
      expect(p.scale[0]).toBe(Math.fround((Math.max(o.max, 0) - Math.min(o.min, 0)) / 255));
    }
    qat.eval();
    const xt = tf.tensor2d(x.subarray(0, 10 * 5), [10, 5]);
    const a = qat.forward(xt);
    const b = quantizedForward(qm, xt);
    // Same codes and scales on both paths; only float32 summation order may differ.
    expectClose(a.dataSync(), b.dataSync(), 1e-5);
    tf.dispose([xt, a, b]);
    disposeQuantizedModel(qm);
    qat.dispose();
    model.dispose();
  });

  it('keeps pruned weights at zero through QAT training and conversion', async () => {
    const model = mlp([6, 5, 2], { seed: 7 });
    const m = new Rng(8).uniformArray(30).map((v) => (v < 0.5 ? 0 : 1));
    const mask = tf.tensor2d(m, [6, 5]);
    model.setParametrization('0.weight', (w) => tf.mul(w, mask));
    const qat = prepareQat(model);
    const rng = new Rng(9);
    const x = rng.normalArray(32 * 6);
    await fit(qat, { x, y: Int32Array.from({ length: 32 }, (_, i) => i % 2) }, { epochs: 3, batchSize: 8, seed: 1 });
    const qm = convertQat(qat);
    const codes = qm.weights.get('0.weight')!.codes;
    for (let i = 0; i < m.length; i++) if (m[i] === 0) expect(codes[i]).toBe(0);
    disposeQuantizedModel(qm);
    qat.dispose();
    mask.dispose();
    model.dispose();
  });

  it('throws named errors: an observer that saw no data, a non-Sequential model, a bad averaging constant', () => {
    const qat = prepareQat(new Sequential(new Linear(2, 2, { seed: 1 })));
    expect(() => convertQat(qat)).toThrow(ValueError);
    expect(() => convertQat(qat)).toThrow(/observers \[input, 0\] have seen no data/);
    expect(() => prepareQat(new Linear(2, 2) as never)).toThrow(TypeError);
    expect(() => prepareQat(new Sequential(new ReLU()), { averagingConstant: 2 })).toThrow(/'averagingConstant'/);
    expect(() => prepareQat(new Sequential(new ReLU()), { activationDtype: 'int4' as never })).toThrow(/option 'dtype'/);
    qat.dispose();
  });
});

describe('int8 on real MNIST digits: static, dynamic and QAT keep the accuracy', () => {
  it('784-128-10 MLP: every int8 variant within 1 point of fp32 on the 2000 test digits; no tensor leaks', async () => {
    const { train, test } = loadMnistSplit();
    const model = mlp([784, 128, 10], { seed: 11 });
    await fit(model, { x: train.images, y: train.labels }, { epochs: 2, batchSize: 128, seed: 12, optimizer: new Adam(model, { lr: 2e-3 }) });
    const before = tf.memory().numTensors;
    const testSet = { x: test.images, y: test.labels };
    const fp32 = evaluate(model, testSet).accuracy;
    const acc = (values: Float32Array) => {
      const pred = argmaxRows(values, 10);
      let hit = 0;
      for (let i = 0; i < test.n; i++) if (pred[i] === test.labels[i]) hit++;
      return hit / test.n;
    };
    const calibration = { x: train.images.subarray(0, 500 * 784), n: 500 };
    const st = quantizeModel(model, { method: 'static', calibration });
    const staticAcc = acc(quantizedPredict(st, test.images, test.n).values);
    const dy = quantizeModel(model, { method: 'dynamic' });
    const dynamicAcc = acc(quantizedPredict(dy, test.images, test.n).values);
    const qat = prepareQat(model, { calibration });
    const opt = new Adam(qat, { lr: 1e-4 });
    await fit(qat, { x: train.images, y: train.labels }, { epochs: 1, batchSize: 128, seed: 13, optimizer: opt });
    opt.dispose();
    const qatEval = evaluate(qat, testSet).accuracy;
    const qm = convertQat(qat);
    const qatAcc = acc(quantizedPredict(qm, test.images, test.n).values);
    console.log(
      `MNIST 784-128-10 test accuracy: fp32 ${fp32.toFixed(4)}, int8-static ${staticAcc.toFixed(4)}, int8-dynamic ${dynamicAcc.toFixed(4)}, int8-qat ${qatAcc.toFixed(4)} (QAT model in eval ${qatEval.toFixed(4)})`,
    );
    expect(fp32).toBeGreaterThan(0.9);
    for (const a of [staticAcc, dynamicAcc, qatAcc]) expect(a).toBeGreaterThanOrEqual(fp32 - 0.01);
    expect(Math.abs(qatAcc - qatEval)).toBeLessThanOrEqual(0.002);
    for (const q of [st, dy, qm]) disposeQuantizedModel(q);
    qat.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

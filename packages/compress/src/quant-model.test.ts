import { tf, ready, Linear, ReLU, Sequential, Rng, convNet, mlp, NonFiniteError, ValueError } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { computeQuantParams, dequantize, quantize, quantParamsFromRange, scaleAndZeroPoint } from './quant.js';
import { dequantizeModel, disposeQuantizedModel, quantizeModel, quantizedForward, quantizedPredict } from './quant-model.js';

beforeAll(async () => {
  await ready();
});

function linear(w: number[], b: number[], inF: number, outF: number): Linear {
  const l = new Linear(inF, outF);
  l.loadStateDict({ weight: { shape: [inF, outF], dtype: 'float32', data: Float32Array.from(w) }, bias: { shape: [outF], dtype: 'float32', data: Float32Array.from(b) } });
  return l;
}

/** JS reference of a fake-quantized per-tensor activation. */
function fq(v: number[], p: { scale: Float32Array; zeroPoint: Int32Array; dtype: 'int8' | 'uint8'; scheme: 'asymmetric' | 'symmetric'; axis: null }): number[] {
  const f = Float32Array.from(v);
  return Array.from(dequantize({ shape: [f.length], codes: quantize(f, [f.length], p), params: p }));
}

describe('quantizeModel (static)', () => {
  it('quantizes every Linear weight int8 symmetric per output channel (axis 1) and calibrates every activation uint8 asymmetric', () => {
    const model = mlp([6, 5, 4], { seed: 2 });
    const cal = new Rng(3).uniformArray(30 * 6, -1, 1);
    const qm = quantizeModel(model, { method: 'static', calibration: { x: cal, n: 30 }, activationPlacement: 'every-layer' });
    expect(qm.bits).toBe(8);
    expect(qm.method).toBe('static');
    expect([...qm.weights.keys()]).toEqual(['0.weight', '2.weight']);
    for (const [name, q] of qm.weights) {
      expect(q.params).toMatchObject({ dtype: 'int8', scheme: 'symmetric', axis: 1 });
      expect(Array.from(q.params.zeroPoint).every((z) => z === 0)).toBe(true);
      const w = model.stateDict()[name];
      const ref = computeQuantParams(w.data as Float32Array, w.shape, { axis: 1 });
      expect(Array.from(q.params.scale)).toEqual(Array.from(ref.scale));
      expect(Array.from(q.codes)).toEqual(Array.from(quantize(w.data as Float32Array, w.shape, ref)));
    }
    expect([...qm.activations.keys()]).toEqual(['input', '0', '1', '2']);
    for (const p of qm.activations.values()) {
      expect(p).toMatchObject({ dtype: 'uint8', scheme: 'asymmetric', axis: null });
      expect(p.scale[0]).toBeGreaterThan(0);
    }
    // ReLU output: the range starts at 0, so the zero point is 0.
    expect(qm.activations.get('1')?.zeroPoint[0]).toBe(0);
    disposeQuantizedModel(qm);
    model.dispose();
  });

  it('uses the output axis 3 for Conv2d (HWIO), folds batch norm and keys activations by the folded indices', () => {
    const model = convNet({ inputShape: [6, 6, 1], channels: [3], outFeatures: 2, seed: 4 });
    const qm = quantizeModel(model, { method: 'static', calibration: { x: new Rng(5).uniformArray(4 * 36), n: 4 }, activationPlacement: 'every-layer' });
    // Reshape, Conv2d(+BN folded), ReLU, MaxPool, Flatten, Linear
    expect(qm.model.layers.map((l) => l.constructor.name)).toEqual(['Reshape', 'Conv2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear']);
    expect(qm.weights.get('1.weight')?.params.axis).toBe(3);
    expect(qm.weights.get('1.weight')?.params.scale.length).toBe(3);
    expect(qm.weights.get('5.weight')?.params.axis).toBe(1);
    expect([...qm.activations.keys()]).toEqual(['input', '0', '1', '2', '3', '4', '5']);
    disposeQuantizedModel(qm);
    model.dispose();
  });

  it('activationDtype int8 gives int8 asymmetric activations; perChannel false gives one weight scale', () => {
    const model = mlp([3, 2], { seed: 1 });
    const qm = quantizeModel(model, { method: 'static', calibration: { x: Float32Array.of(1, -2, 3), n: 1 }, activationDtype: 'int8', perChannel: false });
    expect(qm.activations.get('input')).toMatchObject({ dtype: 'int8', scheme: 'asymmetric' });
    expect(qm.weights.get('0.weight')?.params.axis).toBeNull();
    disposeQuantizedModel(qm);
    model.dispose();
  });

  it('simulates QuantizeLinear/DequantizeLinear around a hand-checkable Linear + ReLU', () => {
    const model = new Sequential(linear([0.5, -1, 0.25, 2, -0.75, 0.1], [0.05, -0.2], 3, 2), new ReLU());
    const calX = Float32Array.of(1, -1, 0.5, -0.3, 0.8, 0.2, 0.9, 0.1, -0.6);
    const qm = quantizeModel(model, { method: 'static', calibration: { x: calX, n: 3 }, activationPlacement: 'every-layer' });
    const x = [0.7, -0.2, 0.33];
    const xq = fq(x, qm.activations.get('input') as never);
    const w = Array.from(dequantize(qm.weights.get('0.weight')!));
    const y = [0, 1].map((j) => xq[0] * w[j] + xq[1] * w[2 + j] + xq[2] * w[4 + j] + [0.05, -0.2][j]);
    const y0 = fq(y, qm.activations.get('0') as never);
    const expected = fq(y0.map((v) => Math.max(v, 0)), qm.activations.get('1') as never);
    const out = quantizedForward(qm, tf.tensor2d([x]));
    // Identical codes; float32 vs float64 sums differ by < 1e-7 (values below 2).
    expectClose(out.dataSync(), expected, 1e-6);
    out.dispose();
    disposeQuantizedModel(qm);
    model.dispose();
  });

  it("'fused' placement (default): Linear input and ReLU output only, the ReLU range as calibrated; simulated without the pre-ReLU rounding", () => {
    const model = new Sequential(linear([0.5, -1, 0.25, 2, -0.75, 0.1], [0.05, -0.2], 3, 2), new ReLU());
    const calX = Float32Array.of(1, -1, 0.5, -0.3, 0.8, 0.2, 0.9, 0.1, -0.6);
    const qm = quantizeModel(model, { method: 'static', calibration: { x: calX, n: 3 } });
    const every = quantizeModel(model, { method: 'static', calibration: { x: calX, n: 3 }, activationPlacement: 'every-layer' });
    expect([...qm.activations.keys()]).toEqual(['input', '1']);
    for (const k of ['input', '1']) expect(qm.activations.get(k)).toEqual(every.activations.get(k));
    expect(qm.activations.get('1')?.zeroPoint[0]).toBe(0);
    const x = [0.7, -0.2, 0.33];
    const xq = fq(x, qm.activations.get('input') as never);
    const w = Array.from(dequantize(qm.weights.get('0.weight')!));
    const y = [0, 1].map((j) => xq[0] * w[j] + xq[1] * w[2 + j] + xq[2] * w[4 + j] + [0.05, -0.2][j]);
    const expected = fq(y.map((v) => Math.max(v, 0)), qm.activations.get('1') as never);
    const out = quantizedForward(qm, tf.tensor2d([x]));
    expectClose(out.dataSync(), expected, 1e-6);
    out.dispose();
    disposeQuantizedModel(qm);
    disposeQuantizedModel(every);
    model.dispose();
  });

  it("'fused' placement on a CNN: shape-only layers after a quantized value share its parameters (one object)", () => {
    const model = convNet({ inputShape: [6, 6, 1], channels: [3], outFeatures: 2, seed: 4 });
    const cal = { x: new Rng(5).uniformArray(4 * 36), n: 4 };
    const qm = quantizeModel(model, { method: 'static', calibration: cal });
    const every = quantizeModel(model, { method: 'static', calibration: cal, activationPlacement: 'every-layer' });
    // Folded: 0 Reshape, 1 Conv2d, 2 ReLU, 3 MaxPool, 4 Flatten, 5 Linear.
    expect([...qm.activations.keys()]).toEqual(['0', '2', '3', '4', '5']);
    expect(qm.activations.get('0')).toEqual(every.activations.get('0'));
    expect(qm.activations.get('2')).toEqual(every.activations.get('2'));
    expect(qm.activations.get('3')).toBe(qm.activations.get('2'));
    expect(qm.activations.get('4')).toBe(qm.activations.get('2'));
    expect(qm.activations.get('5')).toEqual(every.activations.get('5'));
    for (const q of [qm, every]) disposeQuantizedModel(q);
    model.dispose();
  });

  it('keepFloat leaves a weight in float32 (mapped through batch-norm folding) and quantizes only what the int8 layers use', () => {
    // Unfolded: 0 Reshape, 1 Conv2d, 2 BatchNorm, 3 ReLU, 4 MaxPool, 5 Flatten, 6 Linear; folded: the BatchNorm is gone.
    const model = convNet({ inputShape: [6, 6, 1], channels: [3], outFeatures: 2, seed: 4 });
    const cal = { x: new Rng(5).uniformArray(4 * 36), n: 4 };
    const qm = quantizeModel(model, { method: 'static', calibration: cal, keepFloat: ['1.weight'] });
    expect(qm.floatWeights).toEqual(['1.weight']);
    expect([...qm.weights.keys()]).toEqual(['5.weight']);
    expect([...qm.activations.keys()]).toEqual(['4', '5']);
    // The simulation: float layers 0-4, QDQ, Linear with dequantized int8 weights, QDQ.
    const x = tf.tensor2d(new Rng(6).uniformArray(3 * 36), [3, 36]);
    const expected = tf.tidy(() => {
      let h: tf.Tensor = x;
      for (let i = 0; i < 5; i++) h = qm.model.layers[i].forward(h);
      const hq = fq(Array.from(h.dataSync()), qm.activations.get('4') as never);
      const w = dequantize(qm.weights.get('5.weight')!);
      const b = qm.model.stateDict()['5.bias'].data as Float32Array;
      const y = tf.add(tf.matMul(tf.tensor2d(hq, h.shape as [number, number]), tf.tensor2d(w, [27, 2])), tf.tensor1d(b));
      return fq(Array.from(y.dataSync()), qm.activations.get('5') as never);
    });
    const out = quantizedForward(qm, x);
    expectClose(out.dataSync(), expected, 1e-5);
    const last = quantizeModel(model, { method: 'dynamic', keepFloat: ['6.weight'] });
    expect(last.floatWeights).toEqual(['5.weight']);
    expect([...last.weights.keys()]).toEqual(['1.weight']);
    expect(() => quantizeModel(model, { method: 'dynamic', keepFloat: ['2.weight'] })).toThrow(ValueError);
    expect(() => quantizeModel(model, { method: 'dynamic', keepFloat: ['2.weight'] })).toThrow(/keepFloat.*Linear\/Conv2d weights.*1\.weight, 6\.weight.*'2\.weight'/);
    expect(() => quantizeModel(model, { method: 'static', calibration: cal, activationPlacement: 'all' as never })).toThrow(/activationPlacement' must be 'fused' or 'every-layer', got 'all'/);
    for (const t of [x, out]) t.dispose();
    for (const q of [qm, last]) disposeQuantizedModel(q);
    model.dispose();
  });

  it('leaves the live model and its pruning parametrization unchanged, and bakes the mask into the copy', () => {
    const model = mlp([4, 3, 2], { seed: 6 });
    const mask = tf.tensor2d([1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1], [4, 3]);
    model.setParametrization('0.weight', (w) => tf.mul(w, mask));
    const before = model.stateDict();
    const qm = quantizeModel(model, { method: 'dynamic' });
    expect(Array.from(model.stateDict()['0.weight'].data)).toEqual(Array.from(before['0.weight'].data));
    expect(model.getParametrization('0.weight')).toBeDefined();
    const codes = qm.weights.get('0.weight')!.codes;
    const m = mask.dataSync();
    for (let i = 0; i < m.length; i++) if (m[i] === 0) expect(codes[i]).toBe(0);
    disposeQuantizedModel(qm);
    mask.dispose();
    model.dispose();
  });
});

describe('quantizeModel (dynamic) and the simulation', () => {
  it('has no activation parameters and quantizes each Linear input with the batch range (DynamicQuantizeLinear)', () => {
    const model = new Sequential(linear([1, -0.5, 0.25, 0.75], [0, 0.1], 2, 2));
    const qm = quantizeModel(model, { method: 'dynamic' });
    expect(qm.activations.size).toBe(0);
    const x = [0.3, -1.2, 2.5, 0.4];
    const r = scaleAndZeroPoint(Math.min(...x), Math.max(...x), 'uint8', 'asymmetric');
    const xq = fq(x, { ...quantParamsFromRange({ min: -1.2, max: 2.5 }) } as never);
    expect(r.scale).toBe(Math.fround(3.7 / 255));
    const w = Array.from(dequantize(qm.weights.get('0.weight')!));
    const expected = [0, 1].flatMap((row) => [0, 1].map((j) => xq[2 * row] * w[j] + xq[2 * row + 1] * w[2 + j] + [0, 0.1][j]));
    const out = quantizedForward(qm, tf.tensor2d(x, [2, 2]));
    expectClose(out.dataSync(), expected, 1e-6);
    out.dispose();
    disposeQuantizedModel(qm);
    model.dispose();
  });

  it('quantizedPredict equals quantizedForward batch by batch, and dequantizeModel carries the weight error only', () => {
    const model = mlp([5, 4, 3], { seed: 8 });
    const x = new Rng(9).normalArray(7 * 5);
    const qm = quantizeModel(model, { method: 'static', calibration: { x, n: 7 } });
    const p = quantizedPredict(qm, x, 7, { batchSize: 3 });
    const f = quantizedForward(qm, tf.tensor2d(x, [7, 5]));
    expect(Array.from(p.values)).toEqual(Array.from(f.dataSync()));
    expect(p.cols).toBe(3);
    const dq = dequantizeModel(qm);
    const w = dq.stateDict()['0.weight'].data;
    expect(Array.from(w)).toEqual(Array.from(dequantize(qm.weights.get('0.weight')!)));
    f.dispose();
    dq.dispose();
    disposeQuantizedModel(qm);
    model.dispose();
  });
});

describe('quantizeModel: bad input', () => {
  it('requires calibration data for static quantization', () => {
    const model = mlp([2, 2], { seed: 1 });
    expect(() => quantizeModel(model, { method: 'static' })).toThrow(/option 'calibration' \(\{ x, n \}\) is required for method 'static'/);
    expect(() => quantizeModel(model, { method: 'int4' as never })).toThrow(ValueError);
    expect(() => quantizeModel(model, { method: 'dynamic', bits: 4 })).toThrow(/option 'bits' must be 8/);
    model.dispose();
  });

  it('names the parameter that holds NaN', () => {
    const model = mlp([2, 3, 2], { seed: 1 });
    const w = model.stateDict()['2.weight'];
    (w.data as Float32Array)[4] = NaN;
    model.loadStateDict({ '2.weight': w }, { strict: false });
    expect(() => quantizeModel(model, { method: 'dynamic' })).toThrow(NonFiniteError);
    expect(() => quantizeModel(model, { method: 'dynamic' })).toThrow(/parameter '2.weight' holds NaN at index 4/);
    model.dispose();
  });

  it('frees every tensor it creates (repeated quantize, forward, predict, dispose)', () => {
    const model = mlp([5, 4, 3], { seed: 8 });
    const x = new Rng(9).normalArray(6 * 5);
    const xt = tf.tensor2d(x, [6, 5]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      for (const method of ['static', 'dynamic'] as const) {
        const qm = quantizeModel(model, { method, calibration: { x, n: 6 } });
        tf.dispose(quantizedForward(qm, xt));
        quantizedPredict(qm, x, 6, { batchSize: 4 });
        dequantizeModel(qm).dispose();
        disposeQuantizedModel(qm);
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    xt.dispose();
    model.dispose();
  });
});

import { ready, mlp, tf, Module, Sequential, Linear, ReLU, convNet } from '@x/tensor';

type _T = tf.Tensor;
import { quantizeModel, disposeQuantizedModel, type QuantizedModel } from '@x/compress';
import { buildOnnx, toOnnx, OnnxExportError, allowedOps } from './index.js';
import { GraphBuilder } from './graph.js';
import { validateGraph } from './check.js';
import { DataType } from './proto.js';
import { mnist } from './test-support.js';

beforeAll(async () => {
  await ready();
});

function expectExportError(fn: () => unknown, rule: string, layer: string | RegExp, message?: RegExp): OnnxExportError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(OnnxExportError);
  const e = err as OnnxExportError;
  expect(e.name).toBe('OnnxExportError');
  expect(e.rule).toBe(rule);
  if (typeof layer === 'string') expect(e.layer).toBe(layer);
  else expect(e.layer).toMatch(layer);
  if (message) expect(e.message).toMatch(message);
  return e;
}

class Swish extends Module {
  toString(): string {
    return 'Swish()';
  }
  protected call(x: _T): _T {
    return tf.mul(x, tf.sigmoid(x));
  }
  clone(): Swish {
    return new Swish();
  }
}

describe('export checks name the layer and the rule', () => {
  let model: Sequential;
  let qm: QuantizedModel;
  beforeAll(() => {
    model = mlp([784, 32, 10], { seed: 0 });
    model.eval();
    qm = quantizeModel(model, { method: 'static', calibration: { x: mnist().train.images.slice(0, 100 * 784), n: 100 } });
  });
  afterAll(() => {
    model.dispose();
    disposeQuantizedModel(qm);
  });

  /** A copy of qm whose weight '0.weight' params are changed. */
  function withWeightParams(change: Record<string, unknown>, codes?: Int8Array | Uint8Array): QuantizedModel {
    const w = qm.weights.get('0.weight')!;
    const weights = new Map(qm.weights);
    weights.set('0.weight', { ...w, codes: codes ?? w.codes, params: { ...w.params, ...change } as typeof w.params });
    return { ...qm, weights };
  }

  test('the unmodified quantized model passes', () => {
    expect(buildOnnx(qm).info.variant).toBe('int8-static');
  });

  test('an unsupported layer is named', () => {
    const m = new Sequential(new Linear(784, 16, { seed: 1 }), new Swish(), new Linear(16, 10, { seed: 2 }));
    expectExportError(() => toOnnx(m), 'unsupported-layer', '1: Swish()', /Swish\(\).*Swish.*cannot be exported/);
    m.dispose();
  });

  test('NaN weights name the parameter', () => {
    const m = mlp([784, 16, 10], { seed: 1 });
    const w = m.namedParameters().get('2.weight')!;
    const data = Float32Array.from(w.dataSync() as Float32Array);
    data[37] = NaN;
    tf.tidy(() => w.assign(tf.tensor(data, w.shape)));
    expectExportError(() => toOnnx(m), 'finite-weights', '2: Linear(16→10)', /parameter '2\.weight' holds NaN at flat index 37/);
    m.dispose();
  });

  test.each([
    ['zero', 0],
    ['negative', -0.1],
    ['NaN', NaN],
    ['infinite', Infinity],
  ])('a %s weight scale is refused', (_label, bad) => {
    const scale = Float32Array.from(qm.weights.get('0.weight')!.params.scale);
    scale[5] = bad;
    expectExportError(() => toOnnx(withWeightParams({ scale })), 'scale-positive-finite', '0: Linear(784→32)', /scale '0\.weight_scale'\[5\] must be finite and > 0/);
  });

  test('a bad activation scale is refused, naming the layer whose output it quantizes', () => {
    const activations = new Map(qm.activations);
    const p = activations.get('1')!;
    activations.set('1', { ...p, scale: Float32Array.of(0) });
    expectExportError(() => toOnnx({ ...qm, activations }), 'scale-positive-finite', '1: ReLU()');
  });

  test('a zero-point dtype different from the codes type is refused', () => {
    expectExportError(() => toOnnx(withWeightParams({ dtype: 'uint8' })), 'zero-point-type', '0: Linear(784→32)', /zero-point dtype 'uint8' must equal the codes' type \(int8\)/);
  });

  test('a zero point outside its dtype range is refused', () => {
    const activations = new Map(qm.activations);
    activations.set('input', { ...activations.get('input')!, zeroPoint: Int32Array.of(300) });
    expectExportError(() => toOnnx({ ...qm, activations }), 'zero-point-range', 'input', /\[0, 255\] for uint8, got 300/);
  });

  test('per-channel scales without an axis, or with an axis out of range, are refused', () => {
    expectExportError(() => toOnnx(withWeightParams({ axis: null })), 'per-channel-axis', '0: Linear(784→32)', /32 scales .* need an axis/);
    expectExportError(() => toOnnx(withWeightParams({ axis: 2 })), 'per-channel-axis', '0: Linear(784→32)', /axis must be in \[0, 1\].*got 2/);
    expectExportError(() => toOnnx(withWeightParams({ axis: 0 })), 'per-channel-axis', '0: Linear(784→32)', /axis 0 has 784 channels but there are 32 scales/);
  });

  test('an opset too low for an op used is refused, naming the layer; opsets outside 13–17 too', () => {
    // per-channel DequantizeLinear (attribute axis) exists from opset 13
    expectExportError(() => toOnnx(qm, { opset: 12 }), 'opset', '0: Linear(784→32)', /needs opset ≥ 13, but the model declares opset 12/);
    expectExportError(() => toOnnx(model, { opset: 12 }), 'opset', 'model', /\[13, 17\].*got 12/);
    expectExportError(() => toOnnx(model, { opset: 18 }), 'opset', 'model');
    expect(() => toOnnx(model, { opset: 17 })).not.toThrow();
  });

  test('only allow-listed operators pass the graph check', () => {
    const g = new GraphBuilder();
    g.layer = '3: Custom()';
    g.node('Einsum', ['input']);
    expectExportError(() => validateGraph(g, 13), 'op-allow-list', '3: Custom()', /'Einsum' is not in the allow-list/);
    expect(allowedOps()).toContain('QuantizeLinear');
  });

  test('the graph check catches a DequantizeLinear whose zero point type differs from its input', () => {
    const g = new GraphBuilder();
    g.layer = '0: Linear(2→2)';
    const x = g.init('w_q', DataType.INT8, [2, 2], Int8Array.of(1, 2, 3, 4));
    const s = g.floatInit('w_s', [], [0.1]);
    const z = g.init('w_z', DataType.UINT8, [], Uint8Array.of(0));
    g.node('DequantizeLinear', [x, s, z]);
    expectExportError(() => validateGraph(g, 13), 'zero-point-type', '0: Linear(2→2)', /is uint8 but the quantized tensor is int8/);
  });

  test('a model whose input shape cannot be inferred asks for inputShape; a bad inputShape is refused', () => {
    const m = convNet({ channels: [4], outFeatures: 10, seed: 0 });
    const noReshape = new Sequential(...m.layers.slice(1));
    expectExportError(() => toOnnx(noReshape), 'argument', /^0: Conv2d/, /pass options\.inputShape/);
    expect(() => toOnnx(noReshape, { inputShape: [28, 28, 1] })).not.toThrow();
    expectExportError(() => toOnnx(noReshape, { inputShape: [28, 28] }), 'shape', /^0: Conv2d/);
    expectExportError(() => toOnnx(model, { inputShape: [0] }), 'argument', 'model');
    m.dispose();
  });

  test('a layer fed the wrong shape is named', () => {
    const m = new Sequential(new Linear(784, 20, { seed: 0 }), new ReLU(), new Linear(30, 10, { seed: 0 }));
    expectExportError(() => toOnnx(m), 'shape', '2: Linear(30→10)', /needs input \[N,30\], got \[N,20\]/);
    m.dispose();
  });

  test('a quantized model missing a weight is refused', () => {
    const weights = new Map(qm.weights);
    weights.delete('2.weight');
    expectExportError(() => toOnnx({ ...qm, weights }), 'argument', '2: Linear(32→10)', /no quantized weight '2\.weight'/);
  });

  test('floatWeights must not also carry quantized codes, and must be a list', () => {
    expectExportError(() => toOnnx({ ...qm, floatWeights: ['2.weight'] }), 'argument', '2: Linear(32→10)', /'2\.weight' is listed in QuantizedModel\.floatWeights but also has quantized codes/);
    expectExportError(() => toOnnx({ ...qm, floatWeights: '2.weight' as never }), 'argument', /^0: Linear/, /floatWeights must be a list of weight names, got/);
  });
});

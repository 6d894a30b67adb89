import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ready, fit, Sequential } from '@x/tensor';
import { quantizeModel, quantizedPredict, prepareQat, convertQat, disposeQuantizedModel, type QuantizedModel } from '@x/compress';
import { buildOnnx, decodeOnnx } from './index.js';
import { runOrt, tsForward, trainedMlp, trainedCnn, mnist, maxAbsDiff, agreement, simulateStatic, simulateDynamic } from './test-support.js';

beforeAll(async () => {
  await ready();
});

const calib = (n = 500) => ({ x: mnist().train.images.slice(0, n * 784), n });

/** Agreement of ORT with @x/compress's TS simulation (and, for QDQ, with the test's own simulation that also rounds biases to int32 as the graph does). */
async function check(qm: QuantizedModel, n: number, opts: { exactSim?: boolean } = {}) {
  const x = mnist().test.images.slice(0, n * 784);
  const { bytes, info } = buildOnnx(qm);
  const ort = await runOrt(bytes, x, n, 784);
  // dynamic quantization takes the range of the whole batch: simulate with the same batch
  const sim = quantizedPredict(qm, x, n, { batchSize: n }).values;
  const out = { bytes, info, ort, sim, agree: agreement(ort, sim, 10), diff: maxAbsDiff(ort, sim), exactAgree: NaN, exactDiff: NaN };
  if (opts.exactSim) {
    const exact = simulateStatic(qm, x, n);
    out.exactAgree = agreement(ort, exact, 10);
    out.exactDiff = maxAbsDiff(ort, exact);
  }
  return out;
}

describe('int8 exports of the MLP 784-300-100-10 agree with the TS simulation on 2000 real digits', () => {
  let model: Sequential;
  beforeAll(async () => {
    model = await trainedMlp();
  });
  afterAll(() => model.dispose());

  test('static: QDQ graph with int8 per-channel weights (axis 1), uint8 activations, int32 biases', async () => {
    const qm = quantizeModel(model, { method: 'static', calibration: calib() });
    const r = await check(qm, 2000, { exactSim: true });
    expect(r.info.variant).toBe('int8-static');
    // 'fused' placement: Q/DQ at the input, after each ReLU and at the output (4), plus the
    // DequantizeLinear of 3 weights and 3 int32 biases.
    expect(r.info.ops).toMatchObject({ QuantizeLinear: 4, DequantizeLinear: 10, MatMul: 3, Add: 3 });
    // ≥ 0.995 argmax agreement is the bar; the int32-bias simulation is closer still
    expect(r.agree).toBeGreaterThanOrEqual(0.995);
    expect(r.exactAgree).toBeGreaterThanOrEqual(0.995);
    const g = decodeOnnx(r.bytes).graph;
    const init = (name: string) => g.initializer.find((i: { name: string }) => i.name === name);
    expect(init('0.weight_quantized').data_type).toBe(3); // INT8
    expect(init('0.weight_zero_point').data_type).toBe(3);
    expect(init('0.weight_scale').dims).toEqual([300]);
    expect(init('0.bias_quantized').data_type).toBe(6); // INT32
    expect(init('act.input.zero_point').data_type).toBe(2); // UINT8
    const dq = g.node.find((n: { input: string[] }) => n.input[0] === '0.weight_quantized');
    expect(dq.attribute).toHaveLength(1);
    expect(dq.attribute[0]).toMatchObject({ name: 'axis', type: 2, i: 1 });
    // int8 weights: ~1/4 of the fp32 file
    expect(r.bytes.length / buildOnnx(model).bytes.length).toBeLessThan(0.3);
    disposeQuantizedModel(qm);
  });

  test("static QDQ is placed so that onnxruntime runs it as integer kernels only (no float MatMul, no requantization)", async () => {
    const qm = quantizeModel(model, { method: 'static', calibration: calib() });
    const every = quantizeModel(model, { method: 'static', calibration: calib(), activationPlacement: 'every-layer' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x-onnx-opt-'));
    const optimizedOps = async (q: QuantizedModel) => {
      const file = path.join(dir, 'opt.onnx');
      const s = await ort.InferenceSession.create(buildOnnx(q).bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, optimizedModelFilePath: file, logSeverityLevel: 3 });
      await s.release();
      const ops: Record<string, number> = {};
      for (const n of decodeOnnx(fs.readFileSync(file)).graph.node) ops[n.op_type] = (ops[n.op_type] ?? 0) + 1;
      return ops;
    };
    try {
      // one QuantizeLinear at the input, three int8 GEMMs, one DequantizeLinear at the output
      expect(await optimizedOps(qm)).toEqual({ QuantizeLinear: 1, QGemm: 3, DequantizeLinear: 1 });
      // with every child output quantized, the pre-ReLU and post-ReLU scales differ and
      // onnxruntime requantizes in float between the GEMMs
      const e = await optimizedOps(every);
      expect(e.QGemm).toBe(3);
      expect(e.DequantizeLinear).toBeGreaterThan(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      disposeQuantizedModel(qm);
      disposeQuantizedModel(every);
    }
  });

  test('int8 activations (asymmetric int8) also export and agree', async () => {
    const qm = quantizeModel(model, { method: 'static', calibration: calib(), activationDtype: 'int8' });
    const r = await check(qm, 1000);
    expect(r.agree).toBeGreaterThanOrEqual(0.995);
    disposeQuantizedModel(qm);
  });

  test('dynamic: DynamicQuantizeLinear + MatMulInteger + scale Mul', async () => {
    const qm = quantizeModel(model, { method: 'dynamic' });
    const r = await check(qm, 500);
    expect(r.info.ops).toMatchObject({ DynamicQuantizeLinear: 3, MatMulInteger: 3, Cast: 3, Mul: 6, Add: 3 });
    expect(r.info.ops.QuantizeLinear).toBeUndefined();
    expect(r.agree).toBeGreaterThanOrEqual(0.995);
    // the test's float64 simulation of the integer graph (DynamicQuantizeLinear's rounding,
    // exact int32 accumulation) matches to float32 rounding of the scales; @x/compress's
    // float32 simulation differs by a few 1e-3 on |logits| ~ 10
    const x = mnist().test.images.slice(0, 500 * 784);
    expect(maxAbsDiff(r.ort, simulateDynamic(qm, x, 500))).toBeLessThan(1e-4);
    expect(r.diff).toBeLessThan(0.05);
    disposeQuantizedModel(qm);
  });

  test('qat: a QAT-trained model converts to the same QDQ form and agrees', async () => {
    const qat = prepareQat(model, { calibration: calib() });
    await fit(qat, { x: mnist().train.images.slice(0, 2000 * 784), y: mnist().train.labels.slice(0, 2000) }, { epochs: 1, batchSize: 64, seed: 7 });
    const qm = convertQat(qat);
    expect(qm.method).toBe('qat');
    const r = await check(qm, 2000);
    expect(r.info.variant).toBe('int8-qat');
    expect(r.info.ops.QuantizeLinear).toBe(6);
    expect(r.agree).toBeGreaterThanOrEqual(0.995);
    disposeQuantizedModel(qm);
    qat.dispose();
  });
});

describe('int8 CNN (batch norm folded by @x/compress)', () => {
  test('static QDQ (per-channel axis 0 in OIHW) and dynamic (ConvInteger) agree with the simulation', async () => {
    const model = await trainedCnn();
    const qs = quantizeModel(model, { method: 'static', calibration: calib(200) });
    const rs = await check(qs, 500, { exactSim: true });
    expect(rs.info.ops).toMatchObject({ Conv: 2, MaxPool: 2 });
    expect(rs.info.ops.BatchNormalization).toBeUndefined();
    expect(rs.agree).toBeGreaterThanOrEqual(0.995);
    expect(rs.exactAgree).toBeGreaterThanOrEqual(0.995);
    const qd = quantizeModel(model, { method: 'dynamic' });
    const rd = await check(qd, 500);
    expect(rd.info.ops).toMatchObject({ ConvInteger: 2, MatMulInteger: 1 });
    expect(rd.agree).toBeGreaterThanOrEqual(0.995);
    const ts = tsForward(model, mnist().test.images.slice(0, 500 * 784), 500, 784);
    expect(agreement(rs.ort, ts, 10)).toBeGreaterThanOrEqual(0.97);
    // keepFloat: the first convolution stays a float Conv with float weights; the rest is int8
    const qk = quantizeModel(model, { method: 'static', calibration: calib(200), keepFloat: ['1.weight'] });
    const rk = await check(qk, 500);
    const g = decodeOnnx(rk.bytes).graph;
    const init = (name: string) => g.initializer.find((i: { name: string }) => i.name === name);
    expect(init('1.weight')).toMatchObject({ data_type: 1, dims: [8, 1, 3, 3] });
    expect(init('1.weight_quantized')).toBeUndefined();
    expect(init('4.weight_quantized').data_type).toBe(3);
    expect(rk.info.params).toBe(rs.info.params);
    expect(rk.agree).toBeGreaterThanOrEqual(0.995);
    expect(rk.diff).toBeLessThan(0.05);
    disposeQuantizedModel(qk);
    disposeQuantizedModel(qs);
    disposeQuantizedModel(qd);
    model.dispose();
  });
});

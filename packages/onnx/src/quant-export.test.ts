import { ready, Sequential } from '@x/tensor';
import { buildOnnx } from './index.js';
import { runOrt, tsForward, trainedMlp, trainedCnn, mnist, maxAbsDiff, agreement, referenceQuantize, simulateStatic, simulateDynamic } from './test-support.js';

beforeAll(async () => {
  await ready();
});

describe('int8 exports of the MLP agree with a TS simulation of the quantization on 2000 real digits', () => {
  let model: Sequential;
  beforeAll(async () => {
    model = await trainedMlp();
  });
  afterAll(() => model.dispose());

  const calib = () => ({ x: mnist().train.images.slice(0, 500 * 784), n: 500 });

  test.each(['static', 'qat'] as const)('%s: QDQ graph', async (method) => {
    const { test: t } = mnist();
    const qm = referenceQuantize(model, method, calib());
    const { bytes, info } = buildOnnx(qm);
    expect(info.variant).toBe(`int8-${method}`);
    expect(info.bits).toBe(8);
    const ort = await runOrt(bytes, t.images, t.n, 784);
    const sim = simulateStatic(qm, t.images, t.n);
    const ts = tsForward(model, t.images, t.n, 784);
    const agree = agreement(ort, sim, 10);
    console.log(method, 'agree sim', agree, 'maxdiff sim', maxAbsDiff(ort, sim), 'agree fp32', agreement(ort, ts, 10), 'bytes', bytes.length);
    expect(agree).toBeGreaterThanOrEqual(0.995);
  });

  test('dynamic: DynamicQuantizeLinear + MatMulInteger graph', async () => {
    const { test: t } = mnist();
    const qm = referenceQuantize(model, 'dynamic');
    const { bytes, info } = buildOnnx(qm);
    expect(info.ops.MatMulInteger).toBe(3);
    const n = 500;
    const x = t.images.slice(0, n * 784);
    const ort = await runOrt(bytes, x, n, 784);
    const sim = simulateDynamic(qm, x, n);
    console.log('dynamic agree sim', agreement(ort, sim, 10), 'maxdiff', maxAbsDiff(ort, sim), 'bytes', bytes.length);
    expect(agreement(ort, sim, 10)).toBeGreaterThanOrEqual(0.995);
  });
});

describe('int8 CNN', () => {
  test('static QDQ CNN agrees with the simulation', async () => {
    const model = await trainedCnn();
    const { test: t } = mnist();
    const qm = referenceQuantize(model, 'static', { x: mnist().train.images.slice(0, 200 * 784), n: 200 });
    const n = 500;
    const x = t.images.slice(0, n * 784);
    const ort = await runOrt(buildOnnx(qm).bytes, x, n, 784);
    const sim = simulateStatic(qm, x, n);
    console.log('cnn static agree', agreement(ort, sim, 10), maxAbsDiff(ort, sim));
    expect(agreement(ort, sim, 10)).toBeGreaterThanOrEqual(0.995);
    const qd = referenceQuantize(model, 'dynamic');
    const ortD = await runOrt(buildOnnx(qd).bytes, x, n, 784);
    const ts = tsForward(model, x, n, 784);
    console.log('cnn dynamic agree fp32', agreement(ortD, ts, 10));
    model.dispose();
  });
});

import { tf, ready, Adam, Rng, convNet, mlp, fit } from '@x/tensor';
import { calibrate } from './calibrate.js';
import { foldBatchNorm } from './fold.js';
import { convertQat, prepareQat } from './qat.js';
import { disposeQuantizedModel, quantizeModel, quantizedPredict } from './quant-model.js';
import { distillationLoss } from './distill.js';

beforeAll(async () => {
  await ready();
});

describe('leak test: tf.memory().numTensors is flat over repeated use', () => {
  it('CNN: fold, calibrate, static/dynamic quantization, simulation, QAT training and conversion, KD loss', async () => {
    const model = convNet({ inputShape: [8, 8, 1], channels: [4], outFeatures: 3, seed: 1 });
    const teacher = mlp([64, 16, 3], { seed: 2 });
    const rng = new Rng(3);
    const x = rng.uniformArray(24 * 64);
    const y = Int32Array.from({ length: 24 }, (_, i) => i % 3);
    const cycle = async () => {
      foldBatchNorm(model).dispose();
      calibrate(model, x, 24, { method: 'percentile', batchSize: 10 });
      for (const method of ['static', 'dynamic'] as const) {
        const qm = quantizeModel(model, { method, calibration: { x, n: 24 } });
        quantizedPredict(qm, x, 24, { batchSize: 10 });
        disposeQuantizedModel(qm);
      }
      const qat = prepareQat(model);
      const opt = new Adam(qat, { lr: 1e-3 });
      await fit(qat, { x, y }, { epochs: 1, batchSize: 8, optimizer: opt });
      opt.dispose();
      const qm = convertQat(qat);
      quantizedPredict(qm, x, 24);
      disposeQuantizedModel(qm);
      qat.dispose();
      tf.tidy(() => {
        const xt = tf.tensor2d(x, [24, 64]);
        const s = model.forward(xt);
        tf.grad((z: tf.Tensor) => distillationLoss(z, teacher.forward(xt), y, { temperature: 2 }))(s);
      });
    };
    await cycle(); // warm-up: lazily created backend state
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await cycle();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    teacher.dispose();
  });
});

import { tf, ready, mlp, fit, evaluate, Adam } from './index.js';
import { loadMnistSplit } from '@x/datasets';

describe('fit on real MNIST digits', () => {
  it('trains the reference MLP 784-256-128-10 (Adam 1e-3, batch 128, 5 epochs) to ≥ 0.91 test accuracy', async () => {
    await ready();
    const { train, test } = loadMnistSplit();
    const model = mlp([784, 256, 128, 10], { seed: 0, init: 'torch' });
    const t0 = Date.now();
    const history = await fit(model, { x: train.images, y: train.labels }, { epochs: 5, batchSize: 128, seed: 0, optimizer: new Adam(model, { lr: 1e-3 }) });
    const ms = Date.now() - t0;
    const { accuracy } = evaluate(model, { x: test.images, y: test.labels });
    console.log(`backend ${tf.getBackend()} 5 epochs ${ms} ms, loss ${history.loss.map((l) => l.toFixed(3)).join(' ')}, test acc ${accuracy}`);
    // PyTorch with the same recipe: 0.917–0.927 on this split (../shared/fixtures/README.md).
    expect(accuracy).toBeGreaterThanOrEqual(0.91);
    model.dispose();
  });
});

/**
 * One training epoch of the reference MLP 784-256-128-10 on the 8000 real training digits
 * (Adam 1e-3, batch 128, cross-entropy) vs PyTorch doing the same on the same digits.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ready, mlp, fit, Adam, type BackendName } from '@x/tensor';
import { loadMnistSplit } from '@x/datasets';
import { registerCase } from '../registry.js';
import { timeIt } from '../timing.js';

const EPOCHS = 5;

registerCase({
  id: 'mlp-epoch',
  title: 'MLP 784-256-128-10 epoch, 8000 digits',
  variants: ['wasm'],
  maxRatio: 5,
  reference: {
    key: 'torch-mlp-epoch',
    label: 'PyTorch',
    args: (dir) => {
      // Hand PyTorch exactly our digits: raw float32 images and int64 labels.
      const { train } = loadMnistSplit();
      const images = path.join(dir, 'mnist-train-images.f32');
      const labels = path.join(dir, 'mnist-train-labels.i64');
      fs.writeFileSync(images, Buffer.from(train.images.buffer, train.images.byteOffset, train.images.byteLength));
      fs.writeFileSync(labels, Buffer.from(BigInt64Array.from(train.labels, (l) => BigInt(l)).buffer));
      return { images, labels, n: train.n, batch: 128, lr: 1e-3, epochs: EPOCHS };
    },
  },
  async run(variant) {
    await ready(variant as BackendName);
    const { train } = loadMnistSplit();
    const data = { x: train.images, y: train.labels };
    const model = mlp([784, 256, 128, 10], { seed: 0, init: 'torch' });
    const optimizer = new Adam(model, { lr: 1e-3 });
    const losses: number[] = [];
    let epoch = 0;
    try {
      // As the reference: one warm-up epoch, then EPOCHS timed epochs of one continuing run.
      const t = await timeIt(
        async () => {
          const h = await fit(model, data, { epochs: 1, batchSize: 128, seed: epoch++, optimizer });
          losses.push(h.loss[0]);
        },
        { warmup: 1, repeats: EPOCHS },
      );
      return { ...t, details: { trainLossPerEpoch: losses, samplesPerSecond: train.n / t.seconds } };
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  },
});

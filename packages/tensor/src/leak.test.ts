import {
  tf,
  ready,
  mlp,
  convNet,
  fit,
  predict,
  evaluate,
  trainStep,
  crossEntropy,
  binaryCrossEntropy,
  categoricalKl,
  gaussianKl,
  logSoftmax,
  SGD,
  Adam,
  Module,
} from './index.js';
import { loadMnist, mnistSubset } from '@x/datasets';

const m = loadMnist();
// 384 real training digits and 128 test digits: enough for every code path, quick on any backend.
const train = mnistSubset(m, m.split.train.subarray(0, 384));
const test = mnistSubset(m, m.split.test.subarray(0, 128));

/**
 * Runs `body` once to warm up (backends may keep persistent tensors the first time), then
 * `times` more, and asserts that the number of live tensors did not change across them.
 */
async function expectFlat(body: () => unknown, times = 3): Promise<void> {
  await body();
  const before = tf.memory().numTensors;
  for (let i = 0; i < times; i++) await body();
  expect(tf.memory().numTensors).toBe(before);
}

describe.each(['wasm', 'cpu'] as const)('no tensor leaks on %s', (backend) => {
  beforeAll(async () => {
    await ready(backend);
  });

  it('repeated 1-epoch fit of an MLP with batch norm and dropout, then predict and evaluate', async () => {
    const model = mlp([784, 32, 10], { seed: 0, batchNorm: true, dropout: 0.1 });
    const opt = new Adam(model, { lr: 1e-3 });
    await expectFlat(async () => {
      await fit(model, { x: train.images, y: train.labels }, { epochs: 1, batchSize: 64, seed: 1, optimizer: opt, validation: { x: test.images, y: test.labels } });
      predict(model, test.images, test.n, { batchSize: 50 });
      evaluate(model, { x: test.images, y: test.labels });
    });
    // fit with its own optimizer disposes that optimizer's state.
    await expectFlat(() => fit(model, { x: train.images, y: train.labels }, { epochs: 1, batchSize: 128, seed: 2 }), 2);
    opt.dispose();
    model.dispose();
  });

  it('repeated fit of a small conv net (conv weight gradients, pooling, batch norm) and SGD with momentum', async () => {
    // The cpu backend's conv kernels are ~100x slower: a smaller net and fewer digits there.
    const [channels, n] = backend === 'cpu' ? [[2], 32] : [[4, 8], 128];
    const model = convNet({ channels, outFeatures: 10, seed: 0 });
    const opt = new SGD(model, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
    await expectFlat(async () => {
      await fit(model, { x: train.images.subarray(0, n * 784), y: train.labels.subarray(0, n) }, { epochs: 1, batchSize: 16, seed: 3, optimizer: opt });
      evaluate(model, { x: test.images.subarray(0, n * 784), y: test.labels.subarray(0, n) }, { batchSize: 16 });
    }, 2);
    opt.dispose();
    model.dispose();
  });

  it('functional apply, its gradients and second-order gradients, trainStep and maskState', async () => {
    // tanh, not relu: second derivatives through relu hit the Cast-gradient bug of gradients.ts
    // (see losses.test.ts); this test is about leaks.
    const model = mlp([784, 16, 10], { seed: 4, activation: 'tanh' });
    const x = tf.tensor2d(train.images.subarray(0, 32 * 784), [32, 784]);
    const y = Array.from(train.labels.subarray(0, 32));
    const opt = new Adam(model, { lr: 1e-3 });
    const mask = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([784, 16], 0, 1, 'float32', 1), 0.5), 'float32'));
    await expectFlat(() => {
      tf.tidy(() => {
        const params = model.namedParameters();
        model.apply(params, x);
        // One MAML-style inner step and the outer (second-order) gradient.
        const names = [...params.keys()];
        const outer = (...ps: tf.Tensor[]) => {
          const p0 = new Map(names.map((n, i) => [n, ps[i]]));
          const g = tf.grads((...qs: tf.Tensor[]) => crossEntropy(model.apply(new Map(names.map((n, i) => [n, qs[i]])), x), y) as tf.Scalar)(ps);
          const adapted = new Map(names.map((n, i) => [n, tf.sub(p0.get(n)!, tf.mul(g[i], 0.1))]));
          return tf.sum(tf.square(model.apply(adapted, x))) as tf.Scalar;
        };
        tf.grads(outer)([...params.values()]);
      });
      trainStep(model, opt, () => crossEntropy(model.forward(x), y));
      opt.maskState('0.weight', mask);
    });
    opt.dispose();
    mask.dispose();
    x.dispose();
    model.dispose();
  });

  it('losses inside tidy, stateDict/loadStateDict, clone + dispose, and building + disposing models', async () => {
    const model = mlp([784, 16, 10], { seed: 5, batchNorm: true });
    const z = tf.randomNormal([8, 10], 0, 3, 'float32', 2);
    const t = tf.randomUniform([8, 10], 0, 1, 'float32', 3);
    await expectFlat(() => {
      tf.tidy(() => {
        crossEntropy(z, [0, 1, 2, 3, 4, 5, 6, 7]);
        crossEntropy(z, tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'));
        binaryCrossEntropy(z, t);
        categoricalKl(logSoftmax(z), logSoftmax(t));
        categoricalKl(tf.log(tf.cast(tf.oneHot(tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8], 'int32'), 10), 'float32')), logSoftmax(z));
        gaussianKl(z, t, { mu: 0.5, logVar: 0.1 });
      });
      // Loss values outside a tidy: the caller disposes the result only.
      crossEntropy(z, [9, 8, 7, 6, 5, 4, 3, 2]).dispose();
      model.loadStateDict(model.stateDict());
      const c = model.clone();
      c.dispose();
      const fresh: Module = convNet({ channels: [2], outFeatures: 3, seed: 1 });
      fresh.dispose();
    });
    z.dispose();
    t.dispose();
    model.dispose();
  });
});

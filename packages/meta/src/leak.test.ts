import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, ready, Adam, Linear, Rng, convNet, crossEntropy, mlp, mse, trainStep } from '@x/tensor';
import type { Module } from '@x/tensor';
import { EpisodeSampler, MAML, MatchingNet, ProtoNet, SinusoidTasks, episodeTensors, evaluateEpisodes, metaTrain } from './index.js';
import type { Episode, LabelledData } from './index.js';

let dir: string;
beforeAll(async () => {
  await ready('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x-meta-leak-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `body` once to warm up (the optimizer creates its state on the first step; backends may
 * keep tensors the first time), then `times` more, and asserts the number of live tensors did
 * not change across them.
 */
function expectFlat(body: () => unknown, times = 3): void {
  body();
  const before = tf.memory().numTensors;
  for (let i = 0; i < times; i++) body();
  expect(tf.memory().numTensors).toBe(before);
}

/** 8x8 images of 4 classes (a patch per class plus noise): small inputs for conv encoders. */
function images(seed: number): LabelledData {
  const rng = new Rng(seed);
  const spots = [[1, 1], [1, 5], [5, 1], [5, 5]];
  const n = 4 * 8;
  const x = new Float32Array(n * 64);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
  labels.forEach((k, r) => {
    for (let p = 0; p < 64; p++) {
      const hit = Math.abs(Math.floor(p / 8) - spots[k][0]) <= 1 && Math.abs((p % 8) - spots[k][1]) <= 1;
      x[r * 64 + p] = (hit ? 1 : 0) + rng.normal(0, 0.5);
    }
  });
  return { x, labels, dim: 64 };
}

const data = images(0);

/** One classification meta-iteration: a learner adapted on the support set, the query loss through it. */
function episodeLoss(maml: MAML, ep: Episode, xs: tf.Tensor, xq: tf.Tensor): tf.Tensor {
  const l = maml.clone();
  l.adapt(() => crossEntropy(l.forward(xs), ep.supportY));
  return crossEntropy(l.forward(xq), ep.queryY);
}

/** Query accuracy after adapting a fresh learner outside `metaGradients` (the evaluation path). */
function adaptedAccuracy(maml: MAML, ep: Episode): number {
  const { xs, xq } = episodeTensors(ep);
  const l = maml.clone();
  l.adapt(() => crossEntropy(l.forward(xs), ep.supportY), 2);
  const pred = tf.tidy(() => tf.argMax(l.forward(xq), 1));
  const p = pred.dataSync();
  let right = 0;
  p.forEach((v, i) => (right += v === ep.queryY[i] ? 1 : 0));
  tf.dispose([pred, xs, xq]);
  l.dispose();
  return right / p.length;
}

describe('no tensor leaks', () => {
  it.each([
    ['second-order', false],
    ['first-order', true],
  ] as const)('%s MAML on sinusoids (mlp with relu), two tasks per meta-batch', (_name, firstOrder) => {
    const model = mlp([1, 16, 16, 1], { seed: 0 });
    const maml = new MAML(model, { lr: 0.01, firstOrder });
    const opt = new Adam(maml.parameters(), { lr: 1e-3 });
    const tasks = new SinusoidTasks({ seed: 0 });
    expectFlat(() => {
      const batch = [tasks.next(), tasks.next()].map((t) => {
        const s = t.sample(10);
        const q = t.sample(10);
        return [tf.tensor2d(s.x, [10, 1]), tf.tensor2d(s.y, [10, 1]), tf.tensor2d(q.x, [10, 1]), tf.tensor2d(q.y, [10, 1])];
      });
      maml.step(opt, () => {
        const losses = batch.map(([xs, ys, xq, yq]) => {
          const l = maml.clone();
          l.adapt(() => mse(l.forward(xs), ys));
          return mse(l.forward(xq), yq);
        });
        return tf.div(tf.addN(losses), losses.length);
      });
      tf.dispose(batch.flat());
    });
    opt.dispose();
    maml.dispose();
    model.dispose();
  });

  it.each([
    ['first-order', true],
    ['second-order', false],
  ] as const)('%s MAML through a convNet with batch norm (functional forward), and adapted evaluation', (_name, firstOrder) => {
    const model = convNet({ channels: [4, 4], inputShape: [8, 8, 1], outFeatures: 3, seed: 0 });
    const maml = new MAML(model, { lr: 0.1, firstOrder });
    const opt = new Adam(maml.parameters(), { lr: 1e-3 });
    const sampler = new EpisodeSampler(data, { ways: 3, shots: 2, queries: 2, seed: 0 });
    expectFlat(() => {
      const ep = sampler.sample();
      const { xs, xq } = episodeTensors(ep);
      const loss = maml.step(opt, () => episodeLoss(maml, ep, xs, xq));
      expect(Number.isFinite(loss)).toBe(true);
      tf.dispose([xs, xq]);
      adaptedAccuracy(maml, sampler.sample());
    });
    opt.dispose();
    maml.dispose();
    model.dispose();
  });

  it('MAML with a learned inner rate, and metaGradients with the caller disposing the gradients', () => {
    const model = mlp([1, 8, 1], { seed: 1, activation: 'tanh' });
    const maml = new MAML(model, { lr: 0.05, learnLr: true });
    const opt = new Adam(maml.parameters(), { lr: 1e-3 });
    const tasks = new SinusoidTasks({ seed: 1 });
    expectFlat(() => {
      const t = tasks.next();
      const s = t.sample(5);
      const [xs, ys] = [tf.tensor2d(s.x, [5, 1]), tf.tensor2d(s.y, [5, 1])];
      const fn = () => {
        const l = maml.clone();
        l.adapt(() => mse(l.forward(xs), ys), 2);
        return mse(l.forward(xs), ys);
      };
      maml.step(opt, fn);
      const { grads } = maml.metaGradients(fn);
      tf.dispose([...grads.values(), xs, ys]);
    });
    opt.dispose();
    maml.dispose();
    model.dispose();
  });

  it.each([
    ['ProtoNet', 'convNet'],
    ['MatchingNet', 'convNet'],
    ['ProtoNet', 'Linear'],
    ['MatchingNet', 'Linear'],
  ] as const)('%s over a %s: training steps with Adam and episodeAccuracy', (kind, encoder) => {
    const enc: Module = encoder === 'convNet' ? convNet({ channels: [4, 4], inputShape: [8, 8, 1], seed: 0 }) : new Linear(64, 8, { seed: 0 });
    const net = kind === 'ProtoNet' ? new ProtoNet(enc) : new MatchingNet(enc, { scale: 5 });
    const opt = new Adam(enc, { lr: 1e-3 });
    const sampler = new EpisodeSampler(data, { ways: 3, shots: 2, queries: 2, seed: 0 });
    expectFlat(() => {
      const ep = sampler.sample();
      const { xs, xq } = episodeTensors(ep);
      trainStep(enc, opt, () => net.loss(xs, ep.supportY, xq, ep.queryY, ep.ways));
      tf.dispose([xs, xq]);
      net.episodeAccuracy(sampler.sample());
    });
    opt.dispose();
    enc.dispose();
  });

  it('metaTrain with MAML steps, validation by adapted accuracy and a checkpoint restored at the end', () => {
    const model = convNet({ channels: [4], inputShape: [8, 8, 1], outFeatures: 3, seed: 0 });
    const maml = new MAML(model, { lr: 0.1, firstOrder: true });
    const opt = new Adam(maml.parameters(), { lr: 1e-3 });
    const train = new EpisodeSampler(data, { ways: 3, shots: 1, queries: 2, seed: 0 });
    const val = new EpisodeSampler(data, { ways: 3, shots: 1, queries: 2, seed: 1 });
    const file = path.join(dir, 'maml.json');
    let progress = 0;
    expectFlat(() => {
      const r = metaTrain({
        iterations: 4,
        step: () => {
          const ep = train.sample();
          const { xs, xq } = episodeTensors(ep);
          const loss = maml.step(opt, () => episodeLoss(maml, ep, xs, xq));
          tf.dispose([xs, xq]);
          return loss;
        },
        validate: { every: 2, run: () => evaluateEpisodes(() => val.sample(), (ep) => adaptedAccuracy(maml, ep), 2).accuracy },
        checkpoint: { file, module: model },
        onProgress: () => progress++,
      });
      expect(r.validation).toHaveLength(2);
    }, 2);
    expect(progress).toBeGreaterThan(0);
    expect(fs.existsSync(file)).toBe(true);
    opt.dispose();
    maml.dispose();
    model.dispose();
  });
});

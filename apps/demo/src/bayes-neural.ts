/**
 * The demo's neural Bayesian part, on the real digits (fixed 8000/2000 split):
 * - a VAE (16-D latent) on binarised digits: held-out −ELBO and an importance-weighted bound in
 *   nats per digit, samples and reconstructions as image grids; a second VAE with a 2-D latent
 *   for the latent-space scatter coloured by digit;
 * - a Bayes-by-backprop MLP next to a plain MLP of the same shape: accuracy, NLL, ECE (15 bins)
 *   and reliability diagrams; predictive entropy on test digits vs uniform-noise images, and of a
 *   second BNN trained on digits 0–4 only, on test digits 0–4 vs test digits 5–9 (held-out classes).
 */
import { BayesianMLP, VAE, expectedCalibrationError, negativeLogLikelihood, predictiveEntropy, type CalibrationBin } from '@x/bayes';
import { Adam, Rng, fit, logSoftmax, mlp, predict, tf } from '@x/tensor';
import type { TopLevelSpec } from 'vega-lite';
import type { DemoSection, DemoContext } from './section.js';
import type { Block } from './report.js';
import { imageGridSvg } from './report.js';
import { histogram, curves } from './plots.js';
import { ProgressBar } from './progress.js';

const ECE_BINS = 15;
const BASE = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 420, height: 260 } as const;

interface Config {
  vaeEpochs: number;
  vae2dEpochs: number;
  iwSamples: number;
  bnnHidden: number[];
  bnnEpochs: number;
  bnnHeldOutEpochs: number;
  mlpEpochs: number;
  predictSamples: number;
  noiseImages: number;
}

const FULL: Config = { vaeEpochs: 15, vae2dEpochs: 10, iwSamples: 20, bnnHidden: [400, 400], bnnEpochs: 12, bnnHeldOutEpochs: 12, mlpEpochs: 12, predictSamples: 20, noiseImages: 500 };
const QUICK: Config = { vaeEpochs: 3, vae2dEpochs: 3, iwSamples: 5, bnnHidden: [100], bnnEpochs: 3, bnnHeldOutEpochs: 3, mlpEpochs: 3, predictSamples: 8, noiseImages: 200 };

const BNN_OPTIONS = { priorStd: 1, initStd: 0.01, lr: 3e-3, batchSize: 128 };

const mean = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
};
const binarize = (a: Float32Array) => a.map((v) => (v > 0.5 ? 1 : 0));
const rows = (a: Float32Array, d: number, idx: number[]) => idx.map((i) => a.slice(i * d, (i + 1) * d));
const concat = (parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

function subsetByClass(images: Float32Array, labels: Int32Array, keep: (c: number) => boolean): { images: Float32Array; labels: Int32Array; n: number } {
  const idx: number[] = [];
  for (let i = 0; i < labels.length; i++) if (keep(labels[i])) idx.push(i);
  const out = new Float32Array(idx.length * 784);
  idx.forEach((i, k) => out.set(images.subarray(i * 784, (i + 1) * 784), k * 784));
  return { images: out, labels: Int32Array.from(idx, (i) => labels[i]), n: idx.length };
}

function accuracyOf(pred: Int32Array, labels: Int32Array): number {
  let hit = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) hit++;
  return hit / labels.length;
}

/** Reliability diagram: accuracy per confidence bin against the diagonal, one colour per model. */
function reliabilitySpec(series: Record<string, CalibrationBin[]>): TopLevelSpec {
  const values = Object.entries(series).flatMap(([model, bins]) =>
    bins.filter((b) => b.count > 0).map((b) => ({ model, confidence: b.confidence, accuracy: b.accuracy, count: b.count, mid: (b.lower + b.upper) / 2 })),
  );
  return {
    ...BASE,
    title: `Reliability diagram on the 2000 test digits (${ECE_BINS} bins)`,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', color: '#999', strokeDash: [4, 4] },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'line' },
        encoding: {
          x: { field: 'confidence', type: 'quantitative', scale: { domain: [0, 1] }, title: 'mean confidence in bin' },
          y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'accuracy in bin' },
          color: { field: 'model', type: 'nominal', title: null },
        },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true },
        encoding: {
          x: { field: 'confidence', type: 'quantitative' },
          y: { field: 'accuracy', type: 'quantitative' },
          color: { field: 'model', type: 'nominal', title: null },
          size: { field: 'count', type: 'quantitative', title: 'digits in bin', scale: { type: 'sqrt' } },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Scatter of 2-D latent means coloured by digit. */
function latentSpec(points: { z1: number; z2: number; digit: number }[]): TopLevelSpec {
  return {
    ...BASE,
    width: 420,
    height: 360,
    title: 'VAE with a 2-D latent: posterior means of the 2000 test digits',
    data: { values: points.map((p) => ({ ...p, digit: String(p.digit) })) },
    mark: { type: 'circle', size: 14, opacity: 0.7 },
    encoding: {
      x: { field: 'z1', type: 'quantitative', title: 'z₁' },
      y: { field: 'z2', type: 'quantitative', title: 'z₂' },
      color: { field: 'digit', type: 'nominal', scale: { scheme: 'category10' }, title: 'digit' },
    },
  } as TopLevelSpec;
}

/** Grouped bars of the mean predictive entropy per input kind and model. */
function entropyBars(rows: { model: string; input: string; entropy: number }[]): TopLevelSpec {
  return {
    ...BASE,
    title: 'Mean predictive entropy (nats) by kind of input',
    data: { values: rows },
    mark: 'bar',
    encoding: {
      y: { field: 'input', type: 'nominal', sort: null, title: null },
      x: { field: 'entropy', type: 'quantitative', title: 'mean predictive entropy (nats)' },
      yOffset: { field: 'model' },
      color: { field: 'model', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

async function runVae(ctx: DemoContext, cfg: Config, blocks: Block[]) {
  const { train, test } = ctx.data;
  const xTrain = binarize(train.images);
  const xTest = binarize(test.images);
  const t0 = Date.now();
  const bar = new ProgressBar('train vae 16-d', cfg.vaeEpochs);
  const curve: number[] = [];
  const vae = await new VAE({ latentDim: 16, hiddenSizes: [400], epochs: cfg.vaeEpochs, batchSize: 128, lr: 1e-3, seed: ctx.seed, onEpochEnd: (e, i) => {
    curve.push(i.loss);
    bar.update(e + 1, `−ELBO ${i.loss.toFixed(1)}`);
  } }).fit(xTrain);
  const trainSeconds = (Date.now() - t0) / 1000;
  const ev = vae.evaluate(xTest, { samples: cfg.iwSamples, seed: ctx.seed + 1 });
  const show = Array.from({ length: 16 }, (_, k) => k * 125);
  const originals = rows(xTest, 784, show);
  const recon = vae.reconstruct(concat(originals));
  const reconRows = rows(recon, 784, show.map((_, k) => k));
  const samples = vae.sample(32, { seed: ctx.seed + 2 });
  const sampleRows = rows(samples, 784, Array.from({ length: 32 }, (_, k) => k));
  vae.dispose();

  const t1 = Date.now();
  const bar2 = new ProgressBar('train vae 2-d', cfg.vae2dEpochs);
  const vae2 = await new VAE({ latentDim: 2, hiddenSizes: [400], epochs: cfg.vae2dEpochs, batchSize: 128, lr: 1e-3, seed: ctx.seed + 3, onEpochEnd: (e, i) => bar2.update(e + 1, `−ELBO ${i.loss.toFixed(1)}`) }).fit(xTrain);
  const ev2 = vae2.evaluate(xTest, { samples: 1, seed: ctx.seed + 1 });
  const { mu } = vae2.encode(xTest);
  const points = Array.from({ length: test.n }, (_, i) => ({ z1: mu[2 * i], z2: mu[2 * i + 1], digit: test.labels[i] }));
  // The decoder over a grid of the 2-D latent space (a "manifold" picture).
  const g = 8;
  const grid: number[] = [];
  for (let r = 0; r < g; r++) for (let c = 0; c < g; c++) grid.push(-2 + (4 * c) / (g - 1), 2 - (4 * r) / (g - 1));
  const manifold = vae2.decode(Float32Array.from(grid));
  const manifoldRows = rows(manifold, 784, Array.from({ length: g * g }, (_, k) => k));
  vae2.dispose();
  const vae2Seconds = (Date.now() - t1) / 1000;

  blocks.push({
    kind: 'text',
    html:
      `<b>Variational autoencoder.</b> 784-400-(16+16) encoder, 16-400-784 decoder with Bernoulli logits, on the 8000 training digits ` +
      `binarised at 0.5 (so the ELBO bounds a true log-likelihood), ${cfg.vaeEpochs} epochs of Adam (${trainSeconds.toFixed(0)} s). ` +
      `Held-out (2000 test digits): <b>−ELBO ${ev.negElbo.toFixed(2)} nats per digit</b> (reconstruction ${ev.reconstruction.toFixed(2)} + KL ${ev.kl.toFixed(2)}), ` +
      `importance-weighted bound on −log p(x) with ${ev.samples} samples: ${ev.iwNegLogLikelihood.toFixed(2)} nats. ` +
      `The log-variance is soft-clamped to [−10, 4]; the clamp was active on ${(100 * ev.logVarClampedFraction).toFixed(2)} % of the test digits' latent dimensions.`,
  });
  blocks.push({ kind: 'image', title: 'Test digits (top two rows) and their VAE reconstructions (bottom two rows, decoder mean at μ(x))', svg: imageGridSvg([...originals, ...reconRows], 8, 2) });
  blocks.push({ kind: 'image', title: 'Samples from the VAE: decoder means at z ~ N(0, I)', svg: imageGridSvg(sampleRows, 8, 2) });
  blocks.push({ kind: 'plot', title: 'VAE training loss', spec: curves('VAE training −ELBO per digit', 'epoch', 'nats per digit', { '16-d latent': curve }) });
  blocks.push({
    kind: 'text',
    html: `A second VAE with a <b>2-D latent</b> (same architecture otherwise, ${cfg.vae2dEpochs} epochs, ${vae2Seconds.toFixed(0)} s, held-out −ELBO ${ev2.negElbo.toFixed(2)} nats): its posterior means of the test digits, coloured by the true digit (labels were never used in training), and its decoder over the grid [−2, 2]².`,
  });
  blocks.push({ kind: 'plot', title: 'VAE latent space (2-D)', spec: latentSpec(points) });
  blocks.push({ kind: 'image', title: 'The 2-D VAE decoder over z₁, z₂ ∈ [−2, 2]', svg: imageGridSvg(manifoldRows, g, 1.5) });
  return {
    testNegElbo: ev.negElbo,
    testIwNegLogLikelihood: ev.iwNegLogLikelihood,
    iwSamples: ev.samples,
    testReconstruction: ev.reconstruction,
    testKl: ev.kl,
    logVarClampedFraction: ev.logVarClampedFraction,
    latentDim: 16,
    epochs: cfg.vaeEpochs,
    trainSeconds,
    binarization: 'pixel > 0.5',
    latent2d: { testNegElbo: ev2.negElbo, epochs: cfg.vae2dEpochs, seconds: vae2Seconds },
  };
}

/** What the per-epoch history says about convergence, in words. */
function trend(hist: { nll: number[]; klPerDigit: number[] }): string {
  const k = hist.klPerDigit;
  const klFalling = k.length > 1 && k[k.length - 1] < k[k.length - 2];
  const best = hist.nll.indexOf(Math.min(...hist.nll));
  const rising = best < hist.nll.length - 1;
  let s = klFalling ? 'and still falling at the last epoch' : 'and no longer falling';
  if (rising) s += `, while the data term has risen from its minimum ${hist.nll[best].toFixed(3)} (epoch ${best + 1}) to ${hist.nll[hist.nll.length - 1].toFixed(3)}: the posterior is moving towards the prior, trading fit for a smaller KL`;
  if (klFalling) s += '; the ELBO optimum is not reached in this budget';
  return s;
}

async function runBnn(ctx: DemoContext, cfg: Config, blocks: Block[]) {
  const { train, test } = ctx.data;
  const noise = new Rng(ctx.seed + 10).uniformArray(cfg.noiseImages * 784);
  const arch = [784, ...cfg.bnnHidden, 10].join('-');

  // Bayes by backprop on all ten digits.
  let t0 = Date.now();
  const bar = new ProgressBar(`train bnn ${arch}`, cfg.bnnEpochs);
  const hist = { nll: [] as number[], klPerDigit: [] as number[] };
  const bnn = await new BayesianMLP({ ...BNN_OPTIONS, hiddenSizes: cfg.bnnHidden, epochs: cfg.bnnEpochs, seed: ctx.seed, onEpochEnd: (e, i) => {
    hist.nll.push(i.nll);
    hist.klPerDigit.push(i.kl / train.n);
    bar.update(e + 1, `nll ${i.nll.toFixed(3)} kl/N ${(i.kl / train.n).toFixed(1)}`);
  } }).fit(train.images, train.labels);
  const bnnSeconds = (Date.now() - t0) / 1000;
  const kl = bnn.kl();
  t0 = Date.now();
  const pTest = bnn.predict(test.images, { samples: cfg.predictSamples, seed: ctx.seed + 1 });
  const pNoise = bnn.predict(noise, { samples: cfg.predictSamples, seed: ctx.seed + 2 });
  const predictSeconds = (Date.now() - t0) / 1000;
  bnn.dispose();
  const bnnCal = expectedCalibrationError(pTest.mean, test.labels, { bins: ECE_BINS });
  const bnnRes = {
    accuracy: accuracyOf(pTest.labels, test.labels),
    nll: negativeLogLikelihood(pTest.logProbs, test.labels),
    ece: bnnCal.ece,
    entropyTest: mean(pTest.entropy),
    entropyNoise: mean(pNoise.entropy),
  };

  // The same network, trained by maximum likelihood.
  t0 = Date.now();
  const model = mlp([784, ...cfg.bnnHidden, 10], { seed: ctx.seed });
  const bar2 = new ProgressBar(`train mlp ${arch}`, cfg.mlpEpochs);
  const optimizer = new Adam(model, { lr: 1e-3 });
  await fit(model, { x: train.images, y: train.labels }, { epochs: cfg.mlpEpochs, batchSize: 128, optimizer, seed: ctx.seed, onEpochEnd: (e) => bar2.update(e + 1) });
  optimizer.dispose();
  const mlpSeconds = (Date.now() - t0) / 1000;
  const mlpOut = (x: Float32Array, n: number) => {
    const { values } = predict(model, x, n);
    const lp = tf.tidy(() => logSoftmax(tf.tensor2d(values, [n, 10])).dataSync() as Float32Array);
    return { logProbs: lp, probs: lp.map(Math.exp), labels: Int32Array.from({ length: n }, (_, i) => {
      let best = 0;
      for (let c = 1; c < 10; c++) if (values[i * 10 + c] > values[i * 10 + best]) best = c;
      return best;
    }) };
  };
  const mTest = mlpOut(test.images, test.n);
  const mNoise = mlpOut(noise, cfg.noiseImages);
  model.dispose();
  const mlpCal = expectedCalibrationError(mTest.probs, test.labels, { bins: ECE_BINS });
  const mlpEntTest = predictiveEntropy(mTest.probs, 10);
  const mlpEntNoise = predictiveEntropy(mNoise.probs, 10);
  const mlpRes = {
    accuracy: accuracyOf(mTest.labels, test.labels),
    nll: negativeLogLikelihood(mTest.logProbs, test.labels),
    ece: mlpCal.ece,
    entropyTest: mean(mlpEntTest),
    entropyNoise: mean(mlpEntNoise),
    epochs: cfg.mlpEpochs,
    seconds: mlpSeconds,
  };

  // Held-out classes: a BNN trained on digits 0–4 only, shown test digits 0–4 and 5–9.
  t0 = Date.now();
  const low = subsetByClass(train.images, train.labels, (c) => c < 5);
  const testLow = subsetByClass(test.images, test.labels, (c) => c < 5);
  const testHigh = subsetByClass(test.images, test.labels, (c) => c >= 5);
  const bar3 = new ProgressBar('train bnn on 0-4', cfg.bnnHeldOutEpochs);
  const bnnLow = await new BayesianMLP({ ...BNN_OPTIONS, hiddenSizes: cfg.bnnHidden, numClasses: 5, epochs: cfg.bnnHeldOutEpochs, seed: ctx.seed + 5, onEpochEnd: (e) => bar3.update(e + 1) }).fit(low.images, low.labels);
  const pLowIn = bnnLow.predict(testLow.images, { samples: cfg.predictSamples, seed: ctx.seed + 3 });
  const pLowOut = bnnLow.predict(testHigh.images, { samples: cfg.predictSamples, seed: ctx.seed + 4 });
  bnnLow.dispose();
  const heldOut = {
    trainDigits: low.n,
    accuracyOnDigits0to4: accuracyOf(pLowIn.labels, testLow.labels),
    entropyDigits0to4: mean(pLowIn.entropy),
    entropyDigits5to9: mean(pLowOut.entropy),
    maxEntropy: Math.log(5),
    epochs: cfg.bnnHeldOutEpochs,
    seconds: (Date.now() - t0) / 1000,
  };

  blocks.push({
    kind: 'text',
    html:
      `<b>Bayesian neural network.</b> Bayes by backprop on ${arch}: mean-field Gaussian weights with σ = softplus(ρ) (σ₀ = ${BNN_OPTIONS.initStd}), ` +
      `prior N(0, ${BNN_OPTIONS.priorStd}²), local reparameterisation, the KL divided by the number of minibatches (full ELBO, no down-weighting), ` +
      `Adam ${BNN_OPTIONS.lr}, ${cfg.bnnEpochs} epochs (${bnnSeconds.toFixed(0)} s); predictions average the softmax over ${cfg.predictSamples} Monte Carlo samples ` +
      `(${predictSeconds.toFixed(1)} s for the test digits and the noise images). At the end KL(q ‖ p) = ${kl.toFixed(0)} nats (${(kl / train.n).toFixed(1)} per training digit) ` +
      `${trend(hist)} (see the curves below). ` +
      `The plain MLP is the same network trained by maximum likelihood (Adam 1e-3, ${cfg.mlpEpochs} epochs). ECE uses ${ECE_BINS} equal-width confidence bins.`,
  });
  blocks.push({
    kind: 'table',
    caption: 'Held-out test digits (2000)',
    columns: ['model', 'accuracy', 'NLL (nats)', `ECE (${ECE_BINS} bins)`, 'entropy on test digits', `entropy on ${cfg.noiseImages} uniform-noise images`],
    rows: [
      ['Bayes by backprop', bnnRes.accuracy, bnnRes.nll, bnnRes.ece, bnnRes.entropyTest, bnnRes.entropyNoise],
      ['plain MLP', mlpRes.accuracy, mlpRes.nll, mlpRes.ece, mlpRes.entropyTest, mlpRes.entropyNoise],
    ],
  });
  blocks.push({ kind: 'plot', title: 'Reliability diagram, BNN and plain MLP', spec: reliabilitySpec({ 'Bayes by backprop': bnnCal.bins, 'plain MLP': mlpCal.bins }) });
  blocks.push({
    kind: 'text',
    html:
      `<b>Out-of-distribution inputs.</b> Noise: ${cfg.noiseImages} images of independent U(0, 1) pixels, shown to the ten-digit models. ` +
      `Held-out classes: a second BNN (same settings, ${heldOut.trainDigits} training digits of classes 0–4, test accuracy on 0–4 ${heldOut.accuracyOnDigits0to4.toFixed(4)}) ` +
      `has mean predictive entropy ${heldOut.entropyDigits0to4.toFixed(3)} nats on test digits 0–4 and ${heldOut.entropyDigits5to9.toFixed(3)} on test digits 5–9 (maximum log 5 = ${Math.log(5).toFixed(3)}).`,
  });
  blocks.push({
    kind: 'plot',
    title: 'Mean predictive entropy by input kind',
    spec: entropyBars([
      { model: 'BNN (10 classes)', input: 'test digits', entropy: bnnRes.entropyTest },
      { model: 'BNN (10 classes)', input: 'uniform noise', entropy: bnnRes.entropyNoise },
      { model: 'plain MLP (10 classes)', input: 'test digits', entropy: mlpRes.entropyTest },
      { model: 'plain MLP (10 classes)', input: 'uniform noise', entropy: mlpRes.entropyNoise },
      { model: 'BNN (trained on 0–4)', input: 'test digits 0–4', entropy: heldOut.entropyDigits0to4 },
      { model: 'BNN (trained on 0–4)', input: 'test digits 5–9 (held out)', entropy: heldOut.entropyDigits5to9 },
    ]),
  });
  blocks.push({
    kind: 'plot',
    title: 'Histogram of predictive entropies of the BNNs',
    spec: histogram('BNN predictive entropy per input (nats)', 'predictive entropy (nats)', {
      'test digits (10-class BNN)': pTest.entropy,
      'uniform noise (10-class BNN)': pNoise.entropy,
      'digits 5–9 (BNN trained on 0–4)': pLowOut.entropy,
    }, 40),
  });
  blocks.push({ kind: 'plot', title: 'BNN training: data term', spec: curves('BNN training: NLL per training digit (one weight sample)', 'epoch', 'nats', { '10-class BNN': hist.nll }) });
  blocks.push({ kind: 'plot', title: 'BNN training: KL term', spec: curves('BNN training: KL(q ‖ p) / N per training digit', 'epoch', 'nats', { '10-class BNN': hist.klPerDigit }) });

  return {
    bnn: {
      accuracy: bnnRes.accuracy,
      nll: bnnRes.nll,
      ece: bnnRes.ece,
      eceBins: ECE_BINS,
      entropyTest: bnnRes.entropyTest,
      entropyOod: { noise: bnnRes.entropyNoise, heldOutClasses: heldOut.entropyDigits5to9 },
      heldOutClasses: heldOut,
      kl,
      architecture: arch,
      epochs: cfg.bnnEpochs,
      predictSamples: cfg.predictSamples,
      seconds: bnnSeconds,
      options: BNN_OPTIONS,
      history: hist,
    },
    mlp: { ...mlpRes, eceBins: ECE_BINS },
  };
}

export const bayesNeuralSection: DemoSection = {
  key: 'bayes',
  title: 'Variational autoencoder and Bayesian neural network',
  async run(ctx) {
    const cfg = ctx.quick ? QUICK : FULL;
    const blocks: Block[] = [];
    const vae = await runVae(ctx, cfg, blocks);
    const { bnn, mlp: mlpRes } = await runBnn(ctx, cfg, blocks);
    const summary: [string, string][] = [
      ['bayes vae', `held-out −ELBO ${vae.testNegElbo.toFixed(2)} nats/digit (IWAE-${vae.iwSamples} ${vae.testIwNegLogLikelihood.toFixed(2)})`],
      ['bayes bnn', `acc ${bnn.accuracy.toFixed(4)}, NLL ${bnn.nll.toFixed(4)}, ECE ${bnn.ece.toFixed(4)} (MLP: acc ${mlpRes.accuracy.toFixed(4)}, NLL ${mlpRes.nll.toFixed(4)}, ECE ${mlpRes.ece.toFixed(4)})`],
      ['bayes bnn entropy', `test ${bnn.entropyTest.toFixed(3)}, noise ${bnn.entropyOod.noise.toFixed(3)}, held-out classes ${bnn.entropyOod.heldOutClasses.toFixed(3)} (vs ${bnn.heldOutClasses.entropyDigits0to4.toFixed(3)} in-class)`],
    ];
    return {
      results: { vae, bnn, mlp: mlpRes },
      summary,
      section: { id: 'bayes-neural', title: 'Variational autoencoder and Bayesian neural network', blocks },
    };
  },
};

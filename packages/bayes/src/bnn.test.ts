import { loadMnistSplit } from '@x/datasets';
import { NonFiniteError, NotFittedError, Rng, ShapeError, ValueError, gaussianKl, tf } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { BayesianMLP, gaussianWeightKl, localReparamMoments } from './bnn.js';
import { expectedCalibrationError, negativeLogLikelihood, predictiveEntropy } from './calibration.js';

describe('localReparamMoments', () => {
  const rng = new Rng(11);
  const [B, I, O] = [3, 5, 4];
  const x = Array.from(rng.normalArray(B * I));
  const mu = Array.from(rng.normalArray(I * O, 0, 0.5));
  const sigma = Array.from(rng.uniformArray(I * O, 0.05, 0.6));
  const bMu = Array.from(rng.normalArray(O));
  const bSigma = Array.from(rng.uniformArray(O, 0.1, 0.3));

  it('gives mean x·μ + μ_b and variance x²·σ² + σ_b² (analytic, float64 reference)', () => {
    const m = localReparamMoments(tf.tensor2d(x, [B, I]), tf.tensor2d(mu, [I, O]), tf.tensor2d(sigma, [I, O]), tf.tensor1d(bMu), tf.tensor1d(bSigma));
    const mean: number[] = [];
    const variance: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < O; o++) {
        let s = bMu[o];
        let v = bSigma[o] ** 2;
        for (let i = 0; i < I; i++) {
          s += x[b * I + i] * mu[i * O + o];
          v += x[b * I + i] ** 2 * sigma[i * O + o] ** 2;
        }
        mean.push(s);
        variance.push(v);
      }
    }
    // Float32 sums of five products of order 1: 1e-5 relative + 1e-6 absolute.
    expectClose(m.mean.dataSync(), mean, { rtol: 1e-5, atol: 1e-6 });
    expectClose(m.variance.dataSync(), variance, { rtol: 1e-5, atol: 1e-6 });
    m.mean.dispose();
    m.variance.dispose();
  });

  it('agrees with the empirical moments of x·W + b over 8,000 sampled weight matrices', () => {
    const S = 8000;
    const sums = new Float64Array(B * O);
    const sq = new Float64Array(B * O);
    const r = new Rng(12);
    for (let s = 0; s < S; s++) {
      const w = r.normalArray(I * O);
      const bb = r.normalArray(O);
      for (let b = 0; b < B; b++) {
        for (let o = 0; o < O; o++) {
          let y = bMu[o] + bSigma[o] * bb[o];
          for (let i = 0; i < I; i++) y += x[b * I + i] * (mu[i * O + o] + sigma[i * O + o] * w[i * O + o]);
          sums[b * O + o] += y;
          sq[b * O + o] += y * y;
        }
      }
    }
    const m = localReparamMoments(tf.tensor2d(x, [B, I]), tf.tensor2d(mu, [I, O]), tf.tensor2d(sigma, [I, O]), tf.tensor1d(bMu), tf.tensor1d(bSigma));
    const mean = m.mean.dataSync();
    const variance = m.variance.dataSync();
    for (let k = 0; k < B * O; k++) {
      const em = sums[k] / S;
      const ev = sq[k] / S - em * em;
      // 5 standard errors: of the mean √(v/S); of the variance ≈ v·√(2/S) for a Gaussian.
      expect(Math.abs(em - mean[k])).toBeLessThan(5 * Math.sqrt(variance[k] / S));
      expect(Math.abs(ev - variance[k])).toBeLessThan(5 * variance[k] * Math.sqrt(2 / S));
    }
    m.mean.dispose();
    m.variance.dispose();
  });
});

describe('gaussianWeightKl', () => {
  it('equals Σ log(s/σ) + (σ² + μ²)/(2s²) − ½ (float64 closed form) and @x/tensor gaussianKl', () => {
    const mu = [0.3, -1.2, 0, 2.5, 0.01, -0.4];
    const sigma = [0.1, 0.5, 1, 0.02, 2, 0.3];
    for (const s of [0.1, 1, 3]) {
      let ref = 0;
      for (let i = 0; i < mu.length; i++) ref += Math.log(s / sigma[i]) + (sigma[i] ** 2 + mu[i] ** 2) / (2 * s * s) - 0.5;
      const kl = tf.tidy(() => gaussianWeightKl(tf.tensor2d(mu, [2, 3]), tf.tensor2d(sigma, [2, 3]), s).dataSync()[0]);
      // Terms up to ~300 (μ = 2.5, s = 0.1) in float32: 1e-5 relative.
      expectClose(kl, ref, { rtol: 1e-5 });
      const viaTensor = tf.tidy(
        () =>
          gaussianKl(tf.tensor2d([mu]), tf.log(tf.square(tf.tensor2d([sigma]))), { mu: 0, logVar: Math.log(s * s) }, { reduction: 'sum' }).dataSync()[0],
      );
      expectClose(kl, viaTensor, { rtol: 1e-5 });
    }
  });

  it('is 0 when the posterior equals the prior', () => {
    const kl = tf.tidy(() => gaussianWeightKl(tf.zeros([10]), tf.fill([10], 0.7), 0.7).dataSync()[0]);
    expect(Math.abs(kl)).toBeLessThan(1e-5);
  });
});

describe('calibration metrics', () => {
  it('computes ECE on a hand-made case with 15 bins (lower < confidence ≤ upper)', () => {
    // Confidences 0.9 (right), 0.6 (wrong), 0.95 (right), 0.55 (right): bins 13, 8, 14, 8.
    const probs = [0.9, 0.1, 0.4, 0.6, 0.05, 0.95, 0.55, 0.45];
    const labels = [0, 0, 1, 0];
    const r = expectedCalibrationError(probs, labels);
    // bin 8: conf (0.6 + 0.55)/2 = 0.575, acc 0.5; bin 13: 0.9 vs 1; bin 14: 0.95 vs 1
    const ece = (2 / 4) * Math.abs(0.5 - 0.575) + (1 / 4) * 0.1 + (1 / 4) * 0.05;
    expectClose(r.ece, ece, 1e-12);
    expect(r.bins).toHaveLength(15);
    expect(r.bins[8]).toMatchObject({ count: 2, accuracy: 0.5 });
    expectClose(r.bins[8].confidence, 0.575, 1e-12);
    expect(r.bins.reduce((s, b) => s + b.count, 0)).toBe(4);
    expectClose(r.mce, 0.1, 1e-12);
    // Two bins: 0.55 and 0.6 fall in (0.5, 1] with the rest.
    const two = expectedCalibrationError(probs, labels, { bins: 2 });
    expectClose(two.ece, Math.abs(0.75 - (0.9 + 0.6 + 0.95 + 0.55) / 4), 1e-12);
  });

  it('computes NLL from log-probabilities and entropy with 0·log 0 = 0', () => {
    const lp = [Math.log(0.7), Math.log(0.3), Math.log(0.2), Math.log(0.8)];
    expectClose(negativeLogLikelihood(lp, [0, 0]), -(Math.log(0.7) + Math.log(0.2)) / 2, 1e-12);
    expectClose(Array.from(predictiveEntropy([1, 0, 0.5, 0.5], 2)), [0, Math.log(2)], 1e-12);
  });

  it('rejects malformed input with named errors', () => {
    expect(() => expectedCalibrationError([0.5, 0.5, 1], [0, 1])).toThrow(ShapeError);
    expect(() => expectedCalibrationError([0.5, 0.5], [2])).toThrow(/labels' must hold integers in \[0, 2\), got 2 at index 0/);
    expect(() => expectedCalibrationError([NaN, 0.5], [0])).toThrow(ValueError);
    expect(() => expectedCalibrationError([0.5, 0.5], [0], { bins: 0 })).toThrow(ValueError);
    expect(() => negativeLogLikelihood([0.5, -1], [0])).toThrow(/must hold log-probabilities/);
    expect(() => predictiveEntropy([0.5, 0.5, 0.2], 2)).toThrow(ShapeError);
  });
});

describe('BayesianMLP on real digits (small)', () => {
  const { train, test } = loadMnistSplit();
  const nTr = 1000;
  const xTr = train.images.subarray(0, nTr * 784);
  const yTr = train.labels.subarray(0, nTr);
  const xTe = test.images.subarray(0, 300 * 784);
  const yTe = test.labels.subarray(0, 300);
  const opts = { hiddenSizes: [32], epochs: 3, batchSize: 64, lr: 3e-3, priorStd: 1, initStd: 0.01, seed: 1 };

  it('learns the digits, with predictive std > 0, probabilities that sum to 1 and a KL that matches its posterior', async () => {
    const epochs: number[] = [];
    const bnn = await new BayesianMLP({ ...opts, onEpochEnd: (_e, info) => epochs.push(info.loss) }).fit(xTr, yTr);
    expect(epochs).toHaveLength(3);
    expect(epochs[2]).toBeLessThan(epochs[0]);
    const p = bnn.predict(xTe, { samples: 10, seed: 2 });
    let hit = 0;
    for (let i = 0; i < 300; i++) if (p.labels[i] === yTe[i]) hit++;
    // 1000 training digits, 3 epochs: far above chance (0.1).
    expect(hit / 300).toBeGreaterThan(0.7);
    for (let i = 0; i < 300; i++) {
      let s = 0;
      for (let c = 0; c < 10; c++) s += p.mean[i * 10 + c];
      expect(Math.abs(s - 1)).toBeLessThan(1e-5);
      // log-mean-exp of the log-softmax is the log of the mean softmax
      expectClose(Math.exp(p.logProbs[i * 10]), p.mean[i * 10], { rtol: 1e-4, atol: 1e-7 });
    }
    expect(p.std.some((v) => v > 1e-3)).toBe(true);
    expectClose(Array.from(p.entropy), Array.from(predictiveEntropy(p.mean, 10)), 1e-9);
    let ref = 0;
    for (const { mean, std } of bnn.posterior().values()) {
      for (let i = 0; i < mean.length; i++) ref += Math.log(1 / std[i]) + (std[i] ** 2 + mean[i] ** 2) / 2 - 0.5;
    }
    expectClose(bnn.kl(), ref, { rtol: 1e-12 });
    bnn.dispose();
  });

  it('same seed, same numbers; another training or prediction seed, other numbers', async () => {
    const a = await new BayesianMLP({ ...opts, epochs: 1 }).fit(xTr, yTr);
    const b = await new BayesianMLP({ ...opts, epochs: 1 }).fit(xTr, yTr);
    const c = await new BayesianMLP({ ...opts, epochs: 1, seed: 2 }).fit(xTr, yTr);
    const pa = a.predict(xTe, { samples: 3, seed: 5 });
    expect(b.predict(xTe, { samples: 3, seed: 5 }).mean).toEqual(pa.mean);
    expect(c.predict(xTe, { samples: 3, seed: 5 }).mean).not.toEqual(pa.mean);
    expect(a.predict(xTe, { samples: 3, seed: 6 }).mean).not.toEqual(pa.mean);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('keeps tf.memory().numTensors flat over repeated fit / predict / kl / dispose', async () => {
    const run = async () => {
      const m = await new BayesianMLP({ ...opts, epochs: 1, onEpochEnd: () => undefined }).fit(xTr.subarray(0, 100 * 784), yTr.subarray(0, 100));
      m.predict(xTe.subarray(0, 20 * 784), { samples: 2 });
      m.kl();
      m.posterior();
      m.dispose();
    };
    await run();
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await run();
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('throws named errors for bad input and use before fit', async () => {
    const m = new BayesianMLP(opts);
    expect(() => m.predict(xTe)).toThrow(NotFittedError);
    expect(() => m.kl()).toThrow(NotFittedError);
    const x2 = xTr.slice(0, 2 * 784);
    await expect(m.fit(x2, [0, 1, 2])).rejects.toThrow(ValueError);
    await expect(m.fit(x2, [0, 1.5])).rejects.toThrow(/BayesianMLP\.fit: argument 'y' must hold non-negative integer labels, got 1.5 at index 1/);
    await expect(m.fit(x2, [0, -1])).rejects.toThrow(ValueError);
    await expect(m.fit(x2, [0, 0])).rejects.toThrow(/at least two classes/);
    await expect(new BayesianMLP({ numClasses: 3 }).fit(x2, [0, 3])).rejects.toThrow(ValueError);
    const nan = x2.slice();
    nan[900] = Infinity;
    await expect(m.fit(nan, [0, 1])).rejects.toThrow(NonFiniteError);
    await expect(m.fit(nan, [0, 1])).rejects.toThrow(/got Infinity at index 900 \(row 1, column 116\)/);
    await expect(new BayesianMLP({ priorStd: 0 }).fit(x2, [0, 1])).rejects.toThrow(/priorStd/);
    await expect(new BayesianMLP({ hiddenSizes: [0] }).fit(x2, [0, 1])).rejects.toThrow(ValueError);
    await expect(m.fit('x' as never, [0, 1])).rejects.toThrow(TypeError);
    await m.fit(xTr.subarray(0, 64 * 784), yTr.subarray(0, 64));
    expect(() => m.predict(new Float32Array(10))).toThrow(ShapeError);
    expect(() => m.predict(xTe.subarray(0, 784), { samples: 0 })).toThrow(ValueError);
    m.dispose();
    expect(() => m.predict(xTe)).toThrow(NotFittedError);
  });
});

describe('BayesianMLP toJSON / fromJSON', () => {
  it('round-trips exactly: the same predictions for the same seed, through JSON text', async () => {
    const { train } = loadMnistSplit();
    const x = train.images.subarray(0, 200 * 784);
    const m = await new BayesianMLP({ hiddenSizes: [16], epochs: 1, seed: 4 }).fit(x, train.labels.subarray(0, 200));
    const back = BayesianMLP.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    const xs = x.subarray(0, 20 * 784);
    expect(back.predict(xs, { samples: 4, seed: 9 })).toEqual(m.predict(xs, { samples: 4, seed: 9 }));
    expect(back.kl()).toBe(m.kl());
    expect(() => BayesianMLP.fromJSON({ kind: 'VAE' } as never)).toThrow(TypeError);
    const bad = m.toJSON();
    bad.layers[0].biasMu.pop();
    expect(() => BayesianMLP.fromJSON(bad)).toThrow(ShapeError);
    m.dispose();
    back.dispose();
  });
});

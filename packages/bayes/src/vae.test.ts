import { loadMnistSplit } from '@x/datasets';
import { NonFiniteError, NotFittedError, ShapeError, ValueError, mlp, tf } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { VAE, softClamp, vaeTerms } from './vae.js';

// Float32 arithmetic on values of order 1–10: 1e-5 relative (plus 1e-5 absolute) is ~100 ulps.
const TOL = { rtol: 1e-5, atol: 1e-5 };

const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
const clampRef = (v: number, lo: number, hi: number) => hi - softplus(hi - lo - softplus(v - lo));

/** A tiny encoder (Linear 2→2: μ, raw log-variance of one latent) and decoder (Linear 1→2) with fixed weights. */
function tinyModel() {
  const encoder = mlp([2, 2], { seed: 0 });
  const decoder = mlp([1, 2], { seed: 0 });
  const t = (data: number[], shape: number[]) => ({ shape, dtype: 'float32' as const, data: Float32Array.from(data) });
  encoder.loadStateDict({ '0.weight': t([0.5, -0.3, -1.2, 0.8], [2, 2]), '0.bias': t([0.1, -0.7], [2]) });
  decoder.loadStateDict({ '0.weight': t([1.5, -2.0], [1, 2]), '0.bias': t([0.2, 0.4], [2]) });
  return { encoder, decoder };
}

describe('softClamp', () => {
  it('matches hi − softplus(hi − lo − softplus(x − lo)), stays inside [lo, hi] and is the identity away from the edges', () => {
    const xs = [-1e4, -30, -12, -10, -7, -3, 0, 1, 3.9, 4, 6, 50, 1e4];
    const out = tf.tidy(() => Array.from(softClamp(tf.tensor1d(xs), -10, 4).dataSync()));
    expectClose(out, xs.map((v) => clampRef(v, -10, 4)), TOL);
    for (const v of out) {
      expect(v).toBeGreaterThanOrEqual(-10);
      expect(v).toBeLessThanOrEqual(4);
    }
    // 5 away from both edges: |f(x) − x| ≤ softplus(−5) + softplus(−9) < 7e-3.
    expect(Math.abs(out[5] - -3)).toBeLessThan(7e-3);
  });
});

describe('vaeTerms on a tiny model, by hand', () => {
  const x = [
    [1, 0],
    [0.25, 1],
  ];
  const eps = [0.3, -1.1];
  const range: [number, number] = [-10, 4];

  function hand() {
    const rows = x.map((xi, i) => {
      const mu = xi[0] * 0.5 + xi[1] * -1.2 + 0.1;
      const raw = xi[0] * -0.3 + xi[1] * 0.8 - 0.7;
      const lv = clampRef(raw, ...range);
      const z = mu + Math.exp(lv / 2) * eps[i];
      const logits = [1.5 * z + 0.2, -2.0 * z + 0.4];
      // Bernoulli: −log p(x | z) = Σ softplus(l) − l·x
      const rec = logits.reduce((s, l, j) => s + softplus(l) - l * xi[j], 0);
      const kl = -0.5 * (1 + lv - mu * mu - Math.exp(lv));
      // log q(z|x) − log p(z) with q = N(mu, e^lv), p = N(0, 1)
      const logQ = -0.5 * (eps[i] * eps[i] + lv + Math.log(2 * Math.PI));
      const logP = -0.5 * (z * z + Math.log(2 * Math.PI));
      return { rec, kl, qp: logQ - logP, raw };
    });
    return rows;
  }

  it('gives the reconstruction, the closed-form KL and log q − log p of the reparameterised sample', () => {
    const { encoder, decoder } = tinyModel();
    const t = vaeTerms(encoder, decoder, tf.tensor2d(x), tf.tensor2d(eps, [2, 1]), range);
    const ref = hand();
    expectClose(t.reconstruction.dataSync(), ref.map((r) => r.rec), TOL);
    expectClose(t.kl.dataSync(), ref.map((r) => r.kl), TOL);
    expectClose(t.logQminusLogP.dataSync(), ref.map((r) => r.qp), TOL);
    expectClose(t.rawLogVar.dataSync(), ref.map((r) => r.raw), TOL);
    // −ELBO of the batch = mean(rec + KL)
    const negElbo = ref.reduce((s, r) => s + r.rec + r.kl, 0) / 2;
    expectClose(tf.tidy(() => tf.mean(tf.add(t.reconstruction, t.kl)).dataSync()[0]), negElbo, TOL);
    Object.values(t).forEach((v) => v.dispose());
    encoder.dispose();
    decoder.dispose();
  });

  it('the KL term equals the analytic Gaussian KL −½ Σ (1 + logσ² − μ² − σ²) for a multi-dimensional latent', () => {
    const encoder = mlp([3, 8], { seed: 5 });
    const decoder = mlp([4, 3], { seed: 6 });
    const xv = [0.2, 0.9, 0.4, 1, 0, 0.5];
    const t = vaeTerms(encoder, decoder, tf.tensor2d(xv, [2, 3]), tf.zeros([2, 4]), [-10, 4]);
    const h = tf.tidy(() => encoder.forward(tf.tensor2d(xv, [2, 3])).arraySync() as number[][]);
    const ref = h.map((r) => {
      let s = 0;
      for (let j = 0; j < 4; j++) {
        const mu = r[j];
        const lv = clampRef(r[4 + j], -10, 4);
        s += -0.5 * (1 + lv - mu * mu - Math.exp(lv));
      }
      return s;
    });
    expectClose(t.kl.dataSync(), ref, TOL);
    Object.values(t).forEach((v) => v.dispose());
    encoder.dispose();
    decoder.dispose();
  });
});

describe('VAE on real digits (small)', () => {
  const { train, test } = loadMnistSplit();
  const binarize = (a: Float32Array) => a.map((v) => (v > 0.5 ? 1 : 0));
  const xTrain = binarize(train.images.subarray(0, 300 * 784));
  const xTest = binarize(test.images.subarray(0, 100 * 784));
  const opts = { latentDim: 2, hiddenSizes: [64], epochs: 4, batchSize: 32, lr: 3e-3, seed: 3 };

  it('learns: the held-out −ELBO drops well below the 784·log 2 = 543 nats of a coin-flip decoder, and IWAE ≤ ELBO bound', async () => {
    const vae = await new VAE(opts).fit(xTrain);
    const ev = vae.evaluate(xTest, { samples: 20, seed: 1 });
    expect(ev.negElbo).toBeLessThan(300);
    expect(ev.negElbo).toBeCloseTo(ev.reconstruction + ev.kl, 6);
    expect(ev.kl).toBeGreaterThan(0);
    // Importance weighting with 20 samples tightens the bound on these 100 digits.
    expect(ev.iwNegLogLikelihood).toBeLessThan(ev.negElbo);
    expect(ev.logVarClampedFraction).toBeGreaterThanOrEqual(0);
    const s = vae.sample(4, { seed: 0 });
    const r = vae.reconstruct(xTest.subarray(0, 3 * 784));
    expect(s.length).toBe(4 * 784);
    expect(r.length).toBe(3 * 784);
    for (const v of [...s, ...r]) expect(v >= 0 && v <= 1).toBe(true);
    const { mu, logVar } = vae.encode(xTest.subarray(0, 784));
    expect(mu.length).toBe(2);
    expect(logVar.every((v) => v > -10 && v < 4)).toBe(true);
    vae.dispose();
  });

  it('same seed, same numbers; another seed, other numbers', async () => {
    const a = await new VAE(opts).fit(xTrain);
    const b = await new VAE(opts).fit(xTrain);
    const c = await new VAE({ ...opts, seed: 4 }).fit(xTrain);
    const ea = a.evaluate(xTest, { seed: 1, samples: 2 });
    expect(b.evaluate(xTest, { seed: 1, samples: 2 })).toEqual(ea);
    expect(a.sample(2, { seed: 7 })).toEqual(b.sample(2, { seed: 7 }));
    expect(c.evaluate(xTest, { seed: 1, samples: 2 }).negElbo).not.toBe(ea.negElbo);
    expect(a.evaluate(xTest, { seed: 2, samples: 2 }).negElbo).not.toBe(ea.negElbo);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('keeps tf.memory().numTensors flat over repeated fit / evaluate / sample / dispose', async () => {
    const small = xTrain.subarray(0, 64 * 784);
    const run = async () => {
      const v = await new VAE({ ...opts, epochs: 1 }).fit(small);
      v.evaluate(xTest.subarray(0, 10 * 784), { samples: 3 });
      v.sample(2);
      v.reconstruct(xTest.subarray(0, 784));
      v.dispose();
    };
    await run();
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await run();
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('throws named errors for bad input and use before fit', async () => {
    const vae = new VAE(opts);
    expect(() => vae.sample(2)).toThrow(NotFittedError);
    expect(() => vae.evaluate(xTest)).toThrow(NotFittedError);
    expect(() => vae.latentDim).toThrow(NotFittedError);
    const bad = xTrain.slice(0, 2 * 784);
    bad[800] = NaN;
    await expect(vae.fit(bad)).rejects.toThrow(NonFiniteError);
    await expect(vae.fit(bad)).rejects.toThrow(/VAE\.fit: argument 'x' must hold finite numbers, got NaN at index 800 \(row 1, column 16\)/);
    const grey = xTrain.slice(0, 784);
    grey[3] = 1.5;
    await expect(vae.fit(grey)).rejects.toThrow(ValueError);
    await expect(vae.fit(new Float32Array(785))).rejects.toThrow(ShapeError);
    await expect(new VAE({ latentDim: 0 }).fit(xTrain.subarray(0, 784))).rejects.toThrow(/latentDim/);
    await expect(new VAE({ logVarRange: [2, 1] }).fit(xTrain.subarray(0, 784))).rejects.toThrow(ValueError);
    expect(() => new VAE(null as never)).toThrow(TypeError);
    await vae.fit(xTrain.subarray(0, 64 * 784));
    expect(() => vae.decode(new Float32Array(3))).toThrow(ShapeError);
    expect(() => vae.evaluate(new Float32Array(100))).toThrow(/VAE\.evaluate: argument 'x' must hold a positive multiple of 784/);
    vae.dispose();
  });
});

describe('VAE toJSON / fromJSON', () => {
  it('round-trips exactly: the same evaluation, samples and codes, through JSON text', async () => {
    const { train } = loadMnistSplit();
    const x = train.images.subarray(0, 100 * 784).map((v) => (v > 0.5 ? 1 : 0));
    const vae = await new VAE({ latentDim: 3, hiddenSizes: [16], epochs: 1, seed: 2, logVarRange: [-8, 3] }).fit(x);
    const back = VAE.fromJSON(JSON.parse(JSON.stringify(vae.toJSON())));
    expect(back.evaluate(x, { samples: 2, seed: 1 })).toEqual(vae.evaluate(x, { samples: 2, seed: 1 }));
    expect(back.sample(3, { seed: 5 })).toEqual(vae.sample(3, { seed: 5 }));
    expect(back.encode(x.subarray(0, 784))).toEqual(vae.encode(x.subarray(0, 784)));
    expect(() => VAE.fromJSON({ kind: 'BayesianMLP' } as never)).toThrow(TypeError);
    const n0 = tf.memory().numTensors;
    const bad = vae.toJSON();
    bad.decoder['0.bias'].shape = [3];
    expect(() => VAE.fromJSON(bad)).toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(n0);
    vae.dispose();
    back.dispose();
  });
});

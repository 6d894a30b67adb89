/**
 * A variational autoencoder (Kingma & Welling 2014) on @x/tensor modules: an MLP encoder to the
 * mean and log-variance of a diagonal Gaussian q(z | x), the reparameterisation z = μ + σ·ε with
 * seeded noise, an MLP decoder to Bernoulli logits, the closed-form KL to N(0, I) and a β weight
 * on it. The log-variance is kept in a safe range by a smooth clamp (see {@link softClamp}).
 */
import { Adam, NotFittedError, Rng, Sequential, ValueError, binaryCrossEntropy, checkNumber, describe, gaussianKl, mlp, ready, tf, trainStep, type Module } from '@x/tensor';
import { checkOptionsObject, checkUnitInterval, toRows, type RowsLike } from './nn-data.js';

type Tensor = tf.Tensor;


/** Options of {@link VAE}. */
export interface VAEOptions {
  /** Latent dimensions (default 16). */
  latentDim?: number;
  /** Hidden widths of the encoder (default [400]); the decoder uses them in reverse. ReLU. */
  hiddenSizes?: number[];
  /** Weight of the KL term in the training loss (default 1, the ELBO; β-VAE otherwise). */
  beta?: number;
  /** Range [lo, hi] the log-variance is softly clamped to (default [-10, 4]). */
  logVarRange?: [number, number];
  epochs?: number;
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Seed of the initial weights, the shuffling and the training noise (default 0). */
  seed?: number;
  /** Called after every epoch with the mean per-example training loss (−ELBO with β, nats). */
  onEpochEnd?: (epoch: number, info: { loss: number; reconstruction: number; kl: number }) => void;
}

/** A fitted {@link VAE} as plain JSON (options without callbacks, exact float32 weights). */
export interface VaeJSON {
  kind: 'VAE';
  options: Omit<VAEOptions, 'onEpochEnd'>;
  inputDim: number;
  encoder: Record<string, { shape: number[]; data: number[] }>;
  decoder: Record<string, { shape: number[]; data: number[] }>;
}

/** Result of {@link VAE.evaluate}, nats per example (per digit). */
export interface VaeEvaluation {
  /** −ELBO = reconstruction + KL (β = 1, whatever β was trained with), Monte Carlo over `samples`. */
  negElbo: number;
  /** E_q[−log p(x | z)]. */
  reconstruction: number;
  /** KL(q(z | x) ‖ N(0, I)). */
  kl: number;
  /** Importance-weighted estimate of −log p(x) with `samples` samples (IWAE bound; ≤ negElbo). */
  iwNegLogLikelihood: number;
  samples: number;
  /** Fraction of log-variance outputs whose unclamped value lay outside `logVarRange` (the clamp bit there). */
  logVarClampedFraction: number;
}

/**
 * Smooth clamp of `x` to [lo, hi]: hi − softplus(hi − lo − softplus(x − lo)). It is within
 * softplus(−distance) of the identity away from the edges (< 0.007 at distance 5) and never
 * leaves [lo, hi], with a non-zero gradient everywhere.
 */
export function softClamp(x: Tensor, lo: number, hi: number): Tensor {
  return tf.tidy(() => tf.sub(hi, tf.softplus(tf.sub(hi - lo, tf.softplus(tf.sub(x, lo))))));
}

/**
 * Per-example terms of the negative ELBO for given standard-normal noise `eps` [B, latent]:
 * reconstruction −log p(x | z) with z = μ + e^{logVar/2}·ε (Bernoulli, binary cross-entropy
 * from logits) and KL(N(μ, e^logVar) ‖ N(0, I)), both [B]; also log q(z | x) − log p(z) parts
 * for importance weighting and the raw (unclamped) log-variance.
 */
export function vaeTerms(
  encoder: Module,
  decoder: Module,
  x: Tensor,
  eps: Tensor,
  logVarRange: [number, number],
): { reconstruction: Tensor; kl: Tensor; logQminusLogP: Tensor; rawLogVar: Tensor } {
  return tf.tidy(() => {
    const h = encoder.forward(x);
    const latent = eps.shape[1] as number;
    const [mu, rawLogVar] = tf.split(h, [latent, latent], 1);
    const logVar = softClamp(rawLogVar, logVarRange[0], logVarRange[1]);
    const z = tf.add(mu, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps));
    const logits = decoder.forward(z);
    const reconstruction = tf.sum(binaryCrossEntropy(logits, x, { reduction: 'none' }), 1);
    const kl = gaussianKl(mu, logVar, undefined, { reduction: 'none' });
    // log q(z|x) − log p(z) = −½ Σ (ε² + logVar) + ½ Σ z²   (the 2π terms cancel)
    const logQminusLogP = tf.mul(tf.sum(tf.sub(tf.square(z), tf.add(tf.square(eps), logVar)), 1), 0.5);
    return { reconstruction, kl, logQminusLogP, rawLogVar };
  });
}

/**
 * Variational autoencoder with a Bernoulli decoder, for inputs in [0, 1] (e.g. MNIST pixels;
 * the ELBO is a bound on log-likelihood only for binary inputs).
 * @example
 * const vae = await new VAE({ latentDim: 2, epochs: 5, seed: 0 }).fit(images);
 * const { negElbo } = vae.evaluate(testImages, { seed: 1 });
 * const samples = vae.sample(16, { seed: 2 });   // 16 × 784 probabilities
 * vae.dispose();
 */
export class VAE {
  private readonly options: VAEOptions;
  private state: { encoder: Module; decoder: Module; both: Sequential; d: number; latent: number; range: [number, number] } | undefined;

  /** @param options architecture, β, clamp range and training settings (checked at `fit`). */
  constructor(options: VAEOptions = {}) {
    checkOptionsObject('VAE', options);
    this.options = { ...options };
  }

  /** Whether `fit` has run. */
  get fitted(): boolean {
    return this.state !== undefined;
  }

  /** Latent dimensions (after `fit`). */
  get latentDim(): number {
    return this.fittedState('latentDim').latent;
  }

  /** Input dimensions (after `fit`). */
  get inputDim(): number {
    return this.fittedState('inputDim').d;
  }

  private fittedState(method: string): NonNullable<VAE['state']> {
    if (!this.state) throw new NotFittedError('VAE', method);
    return this.state;
  }

  /**
   * Maximises the ELBO (with β on the KL) by Adam over seeded minibatches, one noise sample per
   * example. Refitting starts from new weights.
   * @param x row-major [n, d] inputs in [0, 1] (Float32Array with `inputDim`, or an array of rows).
   * @param inputDim columns of `x` when it is a Float32Array (default 784).
   * @returns this.
   * @throws TypeError / ShapeError / NonFiniteError / ValueError for malformed inputs or options.
   */
  async fit(x: RowsLike, inputDim = 784): Promise<this> {
    const fn = 'VAE.fit';
    const o = this.options;
    const d = x instanceof Float32Array ? checkNumber(fn, 'inputDim', inputDim, { min: 1, integer: true }) : Array.isArray(x) ? (x[0]?.length ?? 0) : 0;
    if (!(x instanceof Float32Array) && !Array.isArray(x)) throw new TypeError(`${fn}: argument 'x' must be a Float32Array (row-major) or an array of rows, got ${describe(x)}`);
    const { data, n } = toRows(fn, 'x', x, d);
    checkUnitInterval(fn, 'x', data);
    const latent = checkNumber(fn, 'latentDim', o.latentDim ?? 16, { min: 1, integer: true });
    const hidden = o.hiddenSizes ?? [400];
    if (!Array.isArray(hidden)) throw new TypeError(`${fn}: option 'hiddenSizes' must be an array of widths, got ${describe(hidden)}`);
    hidden.forEach((h, i) => checkNumber(fn, `hiddenSizes[${i}]`, h, { min: 1, integer: true }));
    const beta = checkNumber(fn, 'beta', o.beta ?? 1, { min: 0 });
    const range = o.logVarRange ?? [-10, 4];
    if (!Array.isArray(range) || range.length !== 2) throw new TypeError(`${fn}: option 'logVarRange' must be [lo, hi], got ${describe(range)}`);
    checkNumber(fn, 'logVarRange[0]', range[0]);
    checkNumber(fn, 'logVarRange[1]', range[1]);
    if (!(range[0] < range[1])) throw new ValueError(`${fn}: option 'logVarRange' must have lo < hi, got [${range[0]}, ${range[1]}]`, 'logVarRange');
    const epochs = checkNumber(fn, 'epochs', o.epochs ?? 10, { min: 1, integer: true });
    const batchSize = checkNumber(fn, 'batchSize', o.batchSize ?? 128, { min: 1, integer: true });
    const lr = checkNumber(fn, 'lr', o.lr ?? 1e-3, { min: 0, minExclusive: true });
    const seed = checkNumber(fn, 'seed', o.seed ?? 0, { integer: true });
    if (o.onEpochEnd !== undefined && typeof o.onEpochEnd !== 'function') throw new TypeError(`${fn}: option 'onEpochEnd' must be a function, got ${describe(o.onEpochEnd)}`);
    await ready();

    this.dispose();
    const rng = new Rng(seed);
    const encoder = mlp([d, ...hidden, 2 * latent], { seed: rng.fork() });
    const decoder = mlp([latent, ...[...hidden].reverse(), d], { seed: rng.fork() });
    const both = new Sequential(encoder, decoder);
    this.state = { encoder, decoder, both, d, latent, range: [range[0], range[1]] };
    const orderRng = rng.fork();
    const noiseRng = rng.fork();
    const optimizer = new Adam(both, { lr });
    const batches = Math.ceil(n / batchSize);
    try {
      for (let epoch = 0; epoch < epochs; epoch++) {
        const order = orderRng.permutation(n);
        let lossSum = 0;
        let recSum = 0;
        let klSum = 0;
        for (let b = 0; b < batches; b++) {
          const from = b * batchSize;
          const to = Math.min(n, from + batchSize);
          const bs = to - from;
          const xb = new Float32Array(bs * d);
          for (let i = from; i < to; i++) xb.set(data.subarray(order[i] * d, order[i] * d + d), (i - from) * d);
          const eb = noiseRng.normalArray(bs * latent);
          const xt = tf.tensor2d(xb, [bs, d]);
          const et = tf.tensor2d(eb, [bs, latent]);
          let rec = 0;
          let kl = 0;
          try {
            const loss = trainStep(both, optimizer, () => {
              const t = vaeTerms(encoder, decoder, xt, et, this.state!.range);
              const r = tf.mean(t.reconstruction);
              const k = tf.mean(t.kl);
              rec = r.dataSync()[0];
              kl = k.dataSync()[0];
              return tf.add(r, tf.mul(k, beta));
            });
            lossSum += loss * bs;
            recSum += rec * bs;
            klSum += kl * bs;
          } finally {
            xt.dispose();
            et.dispose();
          }
        }
        o.onEpochEnd?.(epoch, { loss: lossSum / n, reconstruction: recSum / n, kl: klSum / n });
      }
    } catch (e) {
      this.dispose();
      throw e;
    } finally {
      optimizer.dispose();
    }
    return this;
  }

  /**
   * Held-out negative ELBO (β = 1) and an importance-weighted estimate of −log p(x), in nats
   * per example, with `samples` seeded noise draws per example.
   * @param x row-major inputs in [0, 1].
   * @param options `samples` (default 1; the IWAE estimate needs more to be tighter), `seed` (default 0), `batchSize` (default 500).
   * @returns the evaluation.
   * @throws NotFittedError before `fit`; ShapeError / NonFiniteError / ValueError for bad inputs.
   */
  evaluate(x: RowsLike, options: { samples?: number; seed?: number; batchSize?: number } = {}): VaeEvaluation {
    const fn = 'VAE.evaluate';
    const st = this.fittedState('evaluate');
    checkOptionsObject(fn, options);
    const { data, n } = toRows(fn, 'x', x, st.d);
    checkUnitInterval(fn, 'x', data);
    const samples = checkNumber(fn, 'samples', options.samples ?? 1, { min: 1, integer: true });
    const seed = checkNumber(fn, 'seed', options.seed ?? 0, { integer: true });
    const batchSize = checkNumber(fn, 'batchSize', options.batchSize ?? 500, { min: 1, integer: true });
    const rng = new Rng(seed);
    let rec = 0;
    let kl = 0;
    let iw = 0;
    let clamped = 0;
    for (let from = 0; from < n; from += batchSize) {
      const to = Math.min(n, from + batchSize);
      const bs = to - from;
      const [r, k, w, c] = tf.tidy(() => {
        const xt = tf.tensor2d(data.subarray(from * st.d, to * st.d), [bs, st.d]);
        const logW: Tensor[] = [];
        let rs: Tensor = tf.scalar(0);
        let ks: Tensor = tf.scalar(0);
        let cl = 0;
        for (let s = 0; s < samples; s++) {
          const et = tf.tensor2d(rng.normalArray(bs * st.latent), [bs, st.latent]);
          const t = vaeTerms(st.encoder, st.decoder, xt, et, st.range);
          rs = tf.add(rs, tf.sum(t.reconstruction));
          ks = tf.add(ks, tf.sum(t.kl));
          logW.push(tf.neg(tf.add(t.reconstruction, t.logQminusLogP)));
          if (s === 0) {
            const raw = t.rawLogVar.dataSync();
            for (let i = 0; i < raw.length; i++) if (raw[i] < st.range[0] || raw[i] > st.range[1]) cl++;
          }
        }
        // −log p(x) ≈ −log (1/S) Σ_s w_s, by log-sum-exp per example.
        const lw = tf.stack(logW); // [S, bs]
        const mx = tf.max(lw, 0);
        const lme = tf.add(tf.log(tf.mean(tf.exp(tf.sub(lw, mx)), 0)), mx);
        return [rs.dataSync()[0], ks.dataSync()[0], tf.sum(lme).dataSync()[0], cl];
      });
      rec += r;
      kl += k;
      iw += w;
      clamped += c;
    }
    // The closed-form KL does not depend on the noise: every sample gives the same value.
    const recM = rec / (n * samples);
    const klM = kl / (n * samples);
    return {
      negElbo: recM + klM,
      reconstruction: recM,
      kl: klM,
      iwNegLogLikelihood: -iw / n,
      samples,
      logVarClampedFraction: clamped / (n * st.latent),
    };
  }

  /**
   * Mean and (clamped) log-variance of q(z | x).
   * @param x row-major inputs.
   * @returns row-major [n, latentDim] arrays.
   * @throws NotFittedError before `fit`; ShapeError / NonFiniteError for bad inputs.
   */
  encode(x: RowsLike): { mu: Float32Array; logVar: Float32Array } {
    const st = this.fittedState('encode');
    const { data, n } = toRows('VAE.encode', 'x', x, st.d);
    return tf.tidy(() => {
      const h = st.encoder.forward(tf.tensor2d(data, [n, st.d]));
      const [mu, raw] = tf.split(h, [st.latent, st.latent], 1);
      return { mu: mu.dataSync() as Float32Array, logVar: softClamp(raw, st.range[0], st.range[1]).dataSync() as Float32Array };
    });
  }

  /**
   * Bernoulli means (pixel probabilities) of p(x | z).
   * @param z row-major [m, latentDim] latent points.
   * @returns row-major [m, inputDim] probabilities.
   * @throws NotFittedError before `fit`; ShapeError / NonFiniteError for bad inputs.
   */
  decode(z: RowsLike): Float32Array {
    const st = this.fittedState('decode');
    const { data, n } = toRows('VAE.decode', 'z', z, st.latent);
    return tf.tidy(() => tf.sigmoid(st.decoder.forward(tf.tensor2d(data, [n, st.latent]))).dataSync() as Float32Array);
  }

  /**
   * Reconstructions: the decoder's probabilities at the posterior mean μ(x).
   * @throws NotFittedError before `fit`.
   */
  reconstruct(x: RowsLike): Float32Array {
    this.fittedState('reconstruct');
    return this.decode(this.encode(x).mu);
  }

  /**
   * New examples: the decoder's probabilities at z ~ N(0, I).
   * @param count how many.
   * @param options `seed` (default 0).
   * @returns row-major [count, inputDim] probabilities.
   * @throws NotFittedError before `fit`; ValueError for a bad count.
   */
  sample(count: number, options: { seed?: number } = {}): Float32Array {
    const st = this.fittedState('sample');
    checkNumber('VAE.sample', 'count', count, { min: 1, integer: true });
    const seed = checkNumber('VAE.sample', 'seed', options.seed ?? 0, { integer: true });
    return this.decode(new Rng(seed).normalArray(count * st.latent));
  }

  /**
   * The fitted model as plain JSON: options (without `onEpochEnd`) and every weight exactly.
   * @throws NotFittedError before `fit`.
   */
  toJSON(): VaeJSON {
    const st = this.fittedState('toJSON');
    const dump = (m: Module) => {
      const out: Record<string, { shape: number[]; data: number[] }> = {};
      for (const [k, e] of Object.entries(m.stateDict())) out[k] = { shape: e.shape, data: Array.from(e.data) };
      return out;
    };
    const { onEpochEnd: _drop, ...options } = this.options;
    return { kind: 'VAE', options: { ...options, latentDim: st.latent, logVarRange: st.range }, inputDim: st.d, encoder: dump(st.encoder), decoder: dump(st.decoder) };
  }

  /**
   * Rebuilds a fitted model from {@link VAE.toJSON}: same numbers for the same seeds.
   * @throws TypeError / ValueError / ShapeError for JSON of another kind or shape.
   */
  static fromJSON(json: VaeJSON): VAE {
    if (json === null || typeof json !== 'object' || json.kind !== 'VAE') {
      throw new TypeError(`VAE.fromJSON: argument 'json' must come from VAE.toJSON() (kind 'VAE'), got ${describe(json)}`);
    }
    const vae = new VAE(json.options);
    const d = checkNumber('VAE.fromJSON', 'inputDim', json.inputDim, { min: 1, integer: true });
    const latent = checkNumber('VAE.fromJSON', 'options.latentDim', json.options.latentDim ?? 16, { min: 1, integer: true });
    const hidden = json.options.hiddenSizes ?? [400];
    const encoder = mlp([d, ...hidden, 2 * latent]);
    const decoder = mlp([latent, ...[...hidden].reverse(), d]);
    const both = new Sequential(encoder, decoder);
    const load = (m: Module, entries: VaeJSON['encoder'], arg: string) => {
      if (entries === null || typeof entries !== 'object') throw new TypeError(`VAE.fromJSON: argument 'json.${arg}' must be an object of weights, got ${describe(entries)}`);
      const state: Record<string, { shape: number[]; dtype: 'float32'; data: Float32Array }> = {};
      for (const [k, e] of Object.entries(entries)) state[k] = { shape: e.shape, dtype: 'float32', data: Float32Array.from(e.data) };
      m.loadStateDict(state);
    };
    try {
      load(encoder, json.encoder, 'encoder');
      load(decoder, json.decoder, 'decoder');
    } catch (e) {
      both.dispose();
      throw e;
    }
    const range = json.options.logVarRange ?? [-10, 4];
    vae.state = { encoder, decoder, both, d, latent, range: [range[0], range[1]] };
    return vae;
  }

  /** Frees the encoder and decoder; the model is unfitted afterwards. Safe to call twice. */
  dispose(): void {
    if (!this.state) return;
    this.state.both.dispose();
    this.state = undefined;
  }
}

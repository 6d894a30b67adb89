/**
 * A Bayesian multi-layer perceptron trained by Bayes by backprop (Blundell et al. 2015):
 * mean-field Gaussian weights q(w) = N(μ, σ²) with σ = softplus(ρ), a Gaussian prior
 * N(0, s²), the local reparameterisation trick (Kingma et al. 2015) for low-variance gradients,
 * and the KL term scaled per minibatch (KL / number of batches, so that one epoch adds the KL
 * once). Predictions average the softmax over Monte Carlo samples of the weights.
 */
import { Adam, NonFiniteError, NotFittedError, Rng, ShapeError, ValueError, checkNumber, describe, initWeights, logSoftmax, ready, tf } from '@x/tensor';
type Tensor = tf.Tensor;
type Variable = tf.Variable;
import { checkOptionsObject, toLabels, toRows, type RowsLike } from './nn-data.js';

/** Options of {@link BayesianMLP}. */
export interface BayesianMLPOptions {
  /** Widths of the hidden layers (default [400, 400]), ReLU between them. */
  hiddenSizes?: number[];
  /** Number of classes (default: largest training label + 1). */
  numClasses?: number;
  /** Standard deviation s of the prior N(0, s²) on every weight and bias (default 1). */
  priorStd?: number;
  /** Initial posterior standard deviation σ of every weight (default 0.01); means start from He-uniform. */
  initStd?: number;
  /** Multiplier of the KL term (default 1, the ELBO; other values are tempered posteriors). */
  klWeight?: number;
  epochs?: number;
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Monte Carlo samples of the weights per prediction (default 20). */
  predictSamples?: number;
  /** Seed of the initial weights, the shuffling and the training noise (default 0). */
  seed?: number;
  /** Called after every epoch. */
  onEpochEnd?: (epoch: number, info: BnnEpochInfo) => void;
}

/** What `onEpochEnd` receives. */
export interface BnnEpochInfo {
  /** Mean per-sample loss of the epoch: NLL + klWeight·KL/N. */
  loss: number;
  /** Mean per-sample negative log-likelihood term of the epoch (one weight sample per example). */
  nll: number;
  /** KL(q ‖ prior) of all weights at the end of the epoch, in nats. */
  kl: number;
}

/** Monte Carlo predictive distribution of {@link BayesianMLP.predict}. */
export interface BnnPrediction {
  /** Row-major [n, classes] predictive probabilities: mean of the softmax over the samples. */
  mean: Float32Array;
  /** Row-major [n, classes] standard deviation of the softmax probabilities over the samples. */
  std: Float32Array;
  /** Row-major [n, classes] log of the predictive probabilities (log-mean-exp, stable). */
  logProbs: Float32Array;
  /** Arg-max class of the predictive mean. */
  labels: Int32Array;
  /** Entropy of the predictive mean, nats. */
  entropy: Float64Array;
  classes: number;
}

/** Options of {@link BayesianMLP.predict}. */
export interface BnnPredictOptions {
  /** Monte Carlo samples (default: the `predictSamples` option). */
  samples?: number;
  /** Seed of the prediction noise (default 0): same seed, same numbers. */
  seed?: number;
  /** Rows per batch (default 500). */
  batchSize?: number;
}

/** A fitted {@link BayesianMLP} as plain JSON (options without callbacks, exact float32 parameters). */
export interface BnnJSON {
  kind: 'BayesianMLP';
  options: Omit<BayesianMLPOptions, 'onEpochEnd'>;
  inFeatures: number;
  classes: number;
  layers: { inFeatures: number; outFeatures: number; weightMu: number[]; weightRho: number[]; biasMu: number[]; biasRho: number[] }[];
}

interface Layer {
  weightMu: Variable;
  weightRho: Variable;
  biasMu: Variable;
  biasRho: Variable;
  inF: number;
  outF: number;
}

/** log(e^σ − 1), the ρ whose softplus is σ, stable for small σ. */
function inverseSoftplus(s: number): number {
  return s > 20 ? s : Math.log(Math.expm1(s));
}

/**
 * Mean and variance of the pre-activations x·W + b when W and b are independent Gaussians
 * N(μ, σ²): mean = x·μ_W + μ_b, variance = x²·σ_W² + σ_b² (the local reparameterisation).
 * @param x [B, in] inputs; weightMu, weightSigma [in, out]; biasMu, biasSigma [out].
 * @returns `{ mean, variance }`, both [B, out].
 */
export function localReparamMoments(x: Tensor, weightMu: Tensor, weightSigma: Tensor, biasMu: Tensor, biasSigma: Tensor): { mean: Tensor; variance: Tensor } {
  return tf.tidy(() => {
    const mean = tf.add(tf.matMul(x, weightMu), biasMu);
    const variance = tf.add(tf.matMul(tf.square(x), tf.square(weightSigma)), tf.square(biasSigma));
    return { mean, variance };
  });
}

/**
 * KL(N(μ, σ²) ‖ N(0, s²)) summed over every entry: Σ log(s/σ) + (σ² + μ²)/(2s²) − ½.
 * @param mu means; sigma standard deviations (same shape, > 0); priorStd s > 0.
 * @returns a scalar tensor, nats.
 */
export function gaussianWeightKl(mu: Tensor, sigma: Tensor, priorStd: number): Tensor {
  return tf.tidy(() => {
    const s2 = priorStd * priorStd;
    const t = tf.add(tf.sub(Math.log(priorStd), tf.log(sigma)), tf.div(tf.add(tf.square(sigma), tf.square(mu)), 2 * s2));
    return tf.sub(tf.sum(t), 0.5 * mu.size);
  });
}

/**
 * A classifier whose weights are distributions: Bayes by backprop with mean-field Gaussian
 * weights (σ = softplus(ρ)), a Gaussian prior, the local reparameterisation trick and the KL
 * scaled per minibatch. Inputs are row-major float32 rows; outputs Monte Carlo predictive
 * probabilities with their spread.
 * @example
 * const bnn = await new BayesianMLP({ hiddenSizes: [64], epochs: 5, seed: 0 }).fit(x, labels);
 * const { mean, std, entropy } = bnn.predict(xTest, { samples: 20, seed: 1 });
 * bnn.dispose();
 */
export class BayesianMLP {
  private readonly options: BayesianMLPOptions;
  private state: { layers: Layer[]; inFeatures: number; classes: number } | undefined;

  /**
   * @param options architecture, prior, training and prediction settings (checked at `fit`).
   */
  constructor(options: BayesianMLPOptions = {}) {
    checkOptionsObject('BayesianMLP', options);
    this.options = { ...options };
  }

  /** Whether `fit` has run. */
  get fitted(): boolean {
    return this.state !== undefined;
  }

  /** Number of input features (after `fit`). */
  get inFeatures(): number {
    return this.fittedState('inFeatures').inFeatures;
  }

  /** Number of classes (after `fit`). */
  get classes(): number {
    return this.fittedState('classes').classes;
  }

  private fittedState(method: string): NonNullable<BayesianMLP['state']> {
    if (!this.state) throw new NotFittedError('BayesianMLP', method);
    return this.state;
  }

  /**
   * Trains the posterior by Bayes by backprop: each minibatch of B rows minimises
   * (klWeight · KL(q ‖ prior) / M + Σ_batch −log p(y | x, w)) / B, with M the number of
   * minibatches per epoch and one local-reparameterisation sample per example.
   * Refitting starts from new weights.
   * @param x row-major [n, d] float32 inputs (or an array of rows).
   * @param y n integer labels in [0, numClasses).
   * @returns this.
   * @throws TypeError / ShapeError / NonFiniteError / ValueError for malformed inputs or options;
   * NonFiniteError if the loss diverges.
   */
  async fit(x: RowsLike, y: ArrayLike<number>): Promise<this> {
    const fn = 'BayesianMLP.fit';
    const o = this.options;
    const hidden = o.hiddenSizes ?? [400, 400];
    if (!Array.isArray(hidden)) throw new TypeError(`${fn}: option 'hiddenSizes' must be an array of widths, got ${describe(hidden)}`);
    hidden.forEach((h, i) => checkNumber(fn, `hiddenSizes[${i}]`, h, { min: 1, integer: true }));
    if (y === null || typeof y !== 'object' || typeof y.length !== 'number') {
      throw new TypeError(`${fn}: argument 'y' must be an array of integer labels, got ${describe(y)}`);
    }
    const nY = y.length;
    if (nY === 0) throw new ValueError(`${fn}: argument 'y' must hold at least one label, got 0`, 'y');
    if (!(x instanceof Float32Array) && !Array.isArray(x)) throw new TypeError(`${fn}: argument 'x' must be a Float32Array (row-major) or an array of rows, got ${describe(x)}`);
    const d = x instanceof Float32Array ? x.length / nY : (x[0]?.length ?? 0);
    if (!Number.isInteger(d) || d < 1) {
      throw new ValueError(`${fn}: argument 'x' must hold a whole number of rows for the ${nY} labels of 'y', got ${x.length} values`, 'x');
    }
    const { data, n } = toRows(fn, 'x', x, d);
    let maxLabel = 0;
    for (let i = 0; i < nY; i++) {
      const v = y[i];
      if (!Number.isInteger(v) || v < 0) throw new ValueError(`${fn}: argument 'y' must hold non-negative integer labels, got ${v} at index ${i}`, 'y');
      if (v > maxLabel) maxLabel = v;
    }
    const classes = o.numClasses === undefined ? maxLabel + 1 : checkNumber(fn, 'numClasses', o.numClasses, { min: 2, integer: true });
    if (classes < 2) throw new ValueError(`${fn}: argument 'y' must hold at least two classes (or set numClasses), got only label 0`, 'y');
    const labels = toLabels(fn, 'y', y, n, classes);
    const priorStd = checkNumber(fn, 'priorStd', o.priorStd ?? 1, { min: 0, minExclusive: true });
    const initStd = checkNumber(fn, 'initStd', o.initStd ?? 0.01, { min: 0, minExclusive: true });
    const klWeight = checkNumber(fn, 'klWeight', o.klWeight ?? 1, { min: 0 });
    const epochs = checkNumber(fn, 'epochs', o.epochs ?? 10, { min: 1, integer: true });
    const batchSize = checkNumber(fn, 'batchSize', o.batchSize ?? 128, { min: 1, integer: true });
    const lr = checkNumber(fn, 'lr', o.lr ?? 1e-3, { min: 0, minExclusive: true });
    checkNumber(fn, 'predictSamples', o.predictSamples ?? 20, { min: 1, integer: true });
    const seed = checkNumber(fn, 'seed', o.seed ?? 0, { integer: true });
    if (o.onEpochEnd !== undefined && typeof o.onEpochEnd !== 'function') throw new TypeError(`${fn}: option 'onEpochEnd' must be a function, got ${describe(o.onEpochEnd)}`);
    await ready();

    this.dispose();
    const rng = new Rng(seed);
    const initRng = rng.fork();
    const orderRng = rng.fork();
    const noiseRng = rng.fork();
    const sizes = [d, ...hidden, classes];
    const rho0 = inverseSoftplus(initStd);
    const layers: Layer[] = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const [inF, outF] = [sizes[l], sizes[l + 1]];
      const mk = (t: Tensor) => {
        const v = tf.variable(t, true);
        t.dispose();
        return v;
      };
      layers.push({
        weightMu: mk(initWeights(fn, 'he-uniform', [inF, outF], inF, outF, initRng)),
        weightRho: mk(tf.fill([inF, outF], rho0)),
        biasMu: mk(tf.zeros([outF])),
        biasRho: mk(tf.fill([outF], rho0)),
        inF,
        outF,
      });
    }
    this.state = { layers, inFeatures: d, classes };
    const named = new Map<string, Variable>();
    layers.forEach((L, l) => {
      named.set(`${l}.weightMu`, L.weightMu);
      named.set(`${l}.weightRho`, L.weightRho);
      named.set(`${l}.biasMu`, L.biasMu);
      named.set(`${l}.biasRho`, L.biasRho);
    });
    const byVar = new Map<string, string>();
    for (const [k, v] of named) byVar.set(v.name, k);
    const vars = [...named.values()];
    const optimizer = new Adam(named, { lr });
    const batches = Math.ceil(n / batchSize);
    try {
      for (let epoch = 0; epoch < epochs; epoch++) {
        const order = orderRng.permutation(n);
        let lossSum = 0;
        let nllSum = 0;
        for (let b = 0; b < batches; b++) {
          const from = b * batchSize;
          const to = Math.min(n, from + batchSize);
          const bs = to - from;
          const xb = new Float32Array(bs * d);
          const yb = new Int32Array(bs);
          for (let i = from; i < to; i++) {
            xb.set(data.subarray(order[i] * d, order[i] * d + d), (i - from) * d);
            yb[i - from] = labels[order[i]];
          }
          const noise = layers.map((L) => noiseRng.normalArray(bs * L.outF));
          const [loss, nll] = tf.tidy(() => {
            const xt = tf.tensor2d(xb, [bs, d]);
            const onehot = tf.oneHot(tf.tensor1d(yb, 'int32'), classes);
            const eps = noise.map((e, l) => tf.tensor2d(e, [bs, layers[l].outF]));
            let nllT: Tensor | undefined;
            const { value, grads } = tf.variableGrads(() => {
              const logits = this.forwardSample(xt, (l) => eps[l]);
              const nllSumT = tf.neg(tf.sum(tf.mul(logSoftmax(logits), onehot)));
              nllT = tf.keep(nllSumT);
              const kl = this.klTensor(priorStd);
              return tf.div(tf.add(tf.mul(kl, klWeight / batches), nllSumT), bs) as tf.Scalar;
            }, vars);
            const lv = value.dataSync()[0];
            if (!Number.isFinite(lv)) throw new NonFiniteError(`${fn}: the loss became ${lv} at epoch ${epoch}, batch ${b}; lower 'lr' or check the inputs`, 'loss', b);
            const g = new Map<string, Tensor>();
            for (const [vn, t] of Object.entries(grads)) g.set(byVar.get(vn) as string, t);
            optimizer.step(g);
            const nv = (nllT as Tensor).dataSync()[0];
            (nllT as Tensor).dispose();
            return [lv, nv];
          });
          lossSum += loss * bs;
          nllSum += nll;
        }
        o.onEpochEnd?.(epoch, { loss: lossSum / n, nll: nllSum / n, kl: this.kl() });
      }
    } catch (e) {
      this.dispose();
      throw e;
    } finally {
      optimizer.dispose();
    }
    return this;
  }

  /** Logits of one sample: local reparameterisation at every layer with the given standard-normal noise. */
  private forwardSample(x: Tensor, eps: (layer: number) => Tensor): Tensor {
    const layers = (this.state as NonNullable<BayesianMLP['state']>).layers;
    let h = x;
    layers.forEach((L, l) => {
      const { mean, variance } = localReparamMoments(h, L.weightMu, tf.softplus(L.weightRho), L.biasMu, tf.softplus(L.biasRho));
      h = tf.add(mean, tf.mul(tf.sqrt(variance), eps(l)));
      if (l + 1 < layers.length) h = tf.relu(h);
    });
    return h;
  }

  private klTensor(priorStd: number): Tensor {
    const layers = (this.state as NonNullable<BayesianMLP['state']>).layers;
    let kl: Tensor = tf.scalar(0);
    for (const L of layers) {
      kl = tf.add(kl, gaussianWeightKl(L.weightMu, tf.softplus(L.weightRho), priorStd));
      kl = tf.add(kl, gaussianWeightKl(L.biasMu, tf.softplus(L.biasRho), priorStd));
    }
    return kl;
  }

  /**
   * KL(q ‖ prior) of all weights and biases, in nats.
   * @throws NotFittedError before `fit`.
   */
  kl(): number {
    this.fittedState('kl');
    const s = this.options.priorStd ?? 1;
    // Summed in float64 from the float32 parameters: a float32 sum over ~10⁵–10⁶ terms would be off by ~1e-4.
    let kl = 0;
    for (const { mean, std } of this.posterior().values()) {
      for (let i = 0; i < mean.length; i++) kl += Math.log(s / std[i]) + (std[i] * std[i] + mean[i] * mean[i]) / (2 * s * s) - 0.5;
    }
    return kl;
  }

  /**
   * Monte Carlo predictive distribution: S samples of the network (local reparameterisation per
   * example), the mean and standard deviation of the softmax over them, the log predictive
   * probabilities (log-mean-exp of the log-softmax), the arg-max labels and the predictive entropy.
   * @param x row-major [n, inFeatures] inputs (or an array of rows).
   * @param options `samples`, `seed` (default 0), `batchSize`.
   * @returns the predictive distribution.
   * @throws NotFittedError before `fit`; ShapeError / NonFiniteError for bad inputs; ValueError for bad options.
   */
  predict(x: RowsLike, options: BnnPredictOptions = {}): BnnPrediction {
    const fn = 'BayesianMLP.predict';
    const st = this.fittedState('predict');
    checkOptionsObject(fn, options);
    const { data, n } = toRows(fn, 'x', x, st.inFeatures);
    const samples = checkNumber(fn, 'samples', options.samples ?? this.options.predictSamples ?? 20, { min: 1, integer: true });
    const seed = checkNumber(fn, 'seed', options.seed ?? 0, { integer: true });
    const batchSize = checkNumber(fn, 'batchSize', options.batchSize ?? 500, { min: 1, integer: true });
    const k = st.classes;
    const rng = new Rng(seed);
    const mean = new Float32Array(n * k);
    const std = new Float32Array(n * k);
    const logProbs = new Float32Array(n * k);
    for (let from = 0; from < n; from += batchSize) {
      const to = Math.min(n, from + batchSize);
      const bs = to - from;
      const [m, s, lp] = tf.tidy(() => {
        const xt = tf.tensor2d(data.subarray(from * st.inFeatures, to * st.inFeatures), [bs, st.inFeatures]);
        const logs: Tensor[] = [];
        for (let t = 0; t < samples; t++) {
          logs.push(this.forwardSample(xt, (l) => tf.tensor2d(rng.normalArray(bs * st.layers[l].outF), [bs, st.layers[l].outF])));
          logs[t] = logSoftmax(logs[t]);
        }
        const all = tf.stack(logs); // [S, bs, k]
        const p = tf.exp(all);
        const pm = tf.mean(p, 0);
        const pv = tf.relu(tf.sub(tf.mean(tf.square(p), 0), tf.square(pm)));
        const mx = tf.max(all, 0);
        const lme = tf.add(tf.log(tf.mean(tf.exp(tf.sub(all, mx)), 0)), mx);
        return [pm.dataSync() as Float32Array, tf.sqrt(pv).dataSync() as Float32Array, lme.dataSync() as Float32Array];
      });
      mean.set(m, from * k);
      std.set(s, from * k);
      logProbs.set(lp, from * k);
    }
    const labels = new Int32Array(n);
    const entropy = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      let h = 0;
      for (let c = 0; c < k; c++) {
        const p = mean[i * k + c];
        if (p > mean[i * k + best]) best = c;
        if (p > 0) h -= p * Math.log(p);
      }
      labels[i] = best;
      entropy[i] = h;
    }
    return { mean, std, logProbs, labels, entropy, classes: k };
  }

  /**
   * Posterior means and standard deviations of every parameter by name
   * (`"0.weight"`, `"0.bias"`, ...; weights [in, out], row-major).
   * @throws NotFittedError before `fit`.
   */
  posterior(): Map<string, { shape: number[]; mean: Float32Array; std: Float32Array }> {
    const st = this.fittedState('posterior');
    const out = new Map<string, { shape: number[]; mean: Float32Array; std: Float32Array }>();
    st.layers.forEach((L, l) => {
      const get = (mu: Variable, rho: Variable) => ({
        shape: [...mu.shape],
        mean: mu.dataSync() as Float32Array,
        std: tf.tidy(() => tf.softplus(rho).dataSync() as Float32Array),
      });
      out.set(`${l}.weight`, get(L.weightMu, L.weightRho));
      out.set(`${l}.bias`, get(L.biasMu, L.biasRho));
    });
    return out;
  }

  /**
   * The fitted posterior as plain JSON: options (without `onEpochEnd`), μ and ρ of every parameter exactly.
   * @throws NotFittedError before `fit`.
   */
  toJSON(): BnnJSON {
    const st = this.fittedState('toJSON');
    const { onEpochEnd: _drop, ...options } = this.options;
    return {
      kind: 'BayesianMLP',
      options: { ...options, numClasses: st.classes },
      inFeatures: st.inFeatures,
      classes: st.classes,
      layers: st.layers.map((L) => ({
        inFeatures: L.inF,
        outFeatures: L.outF,
        weightMu: Array.from(L.weightMu.dataSync()),
        weightRho: Array.from(L.weightRho.dataSync()),
        biasMu: Array.from(L.biasMu.dataSync()),
        biasRho: Array.from(L.biasRho.dataSync()),
      })),
    };
  }

  /**
   * Rebuilds a fitted model from {@link BayesianMLP.toJSON}: same predictions for the same seed.
   * @throws TypeError / ShapeError for JSON of another kind or with inconsistent sizes.
   */
  static fromJSON(json: BnnJSON): BayesianMLP {
    const fn = 'BayesianMLP.fromJSON';
    if (json === null || typeof json !== 'object' || json.kind !== 'BayesianMLP' || !Array.isArray(json.layers) || json.layers.length === 0) {
      throw new TypeError(`${fn}: argument 'json' must come from BayesianMLP.toJSON() (kind 'BayesianMLP'), got ${describe(json)}`);
    }
    let prev = checkNumber(fn, 'inFeatures', json.inFeatures, { min: 1, integer: true });
    json.layers.forEach((L, l) => {
      const ok =
        L.inFeatures === prev &&
        L.weightMu?.length === L.inFeatures * L.outFeatures &&
        L.weightRho?.length === L.inFeatures * L.outFeatures &&
        L.biasMu?.length === L.outFeatures &&
        L.biasRho?.length === L.outFeatures;
      if (!ok) {
        throw new ShapeError(`${fn}: layer ${l} of argument 'json' must have ${prev} inputs and [in, out] weights with [out] biases, got ${describe(L)}`, {
          expected: `[${prev}, out]`,
          received: [L.inFeatures, L.outFeatures],
        });
      }
      prev = L.outFeatures;
    });
    if (prev !== json.classes) {
      throw new ShapeError(`${fn}: the last layer of argument 'json' must have ${json.classes} outputs (classes), got ${prev}`, { expected: `[${json.classes}]`, received: [prev] });
    }
    const m = new BayesianMLP(json.options);
    const v = (data: number[], shape: number[]) => {
      const t = tf.tensor(Float32Array.from(data), shape);
      const out = tf.variable(t, true);
      t.dispose();
      return out;
    };
    m.state = {
      inFeatures: json.inFeatures,
      classes: json.classes,
      layers: json.layers.map((L) => ({
        weightMu: v(L.weightMu, [L.inFeatures, L.outFeatures]),
        weightRho: v(L.weightRho, [L.inFeatures, L.outFeatures]),
        biasMu: v(L.biasMu, [L.outFeatures]),
        biasRho: v(L.biasRho, [L.outFeatures]),
        inF: L.inFeatures,
        outF: L.outFeatures,
      })),
    };
    return m;
  }

  /** Frees the posterior's tensors; the model is unfitted afterwards. Safe to call twice. */
  dispose(): void {
    if (!this.state) return;
    for (const L of this.state.layers) for (const v of [L.weightMu, L.weightRho, L.biasMu, L.biasRho]) v.dispose();
    this.state = undefined;
  }
}

/**
 * Metric-based few-shot classifiers over any encoder module: Prototypical Networks (Snell et
 * al. 2017: class means of the support embeddings, logits = −squared Euclidean distance) and
 * Matching Networks (Vinyals et al. 2016: softmax attention over the support set by cosine
 * similarity, class probability = attention mass on that class's support examples).
 */
import { Module, ShapeError, ValueError, crossEntropy, describe, logSoftmax, tf } from '@x/tensor';
import type { Episode } from './episodes.js';

type Tensor = tf.Tensor;

function checkEmbeddings(fn: string, support: Tensor, labels: ArrayLike<number>, query: Tensor, ways: number): Int32Array {
  for (const [arg, t] of [['support', support], ['query', query]] as const) {
    if (!(t instanceof tf.Tensor)) throw new TypeError(`${fn}: argument '${arg}' must be a Tensor, got ${describe(t)}`);
    if (t.rank !== 2) throw new ShapeError(`${fn}: argument '${arg}' must be rank 2 [n, d], got shape [${t.shape.join(',')}]`, { expected: 'rank 2', received: t.shape });
  }
  if (support.shape[1] !== query.shape[1]) {
    throw new ShapeError(`${fn}: arguments 'support' and 'query' must have the same width, got [${support.shape.join(',')}] and [${query.shape.join(',')}]`, {
      expected: `[*, ${support.shape[1]}]`,
      received: query.shape,
    });
  }
  if (!Number.isInteger(ways) || ways < 1) throw new ValueError(`${fn}: argument 'ways' must be a positive integer, got ${describe(ways)}`, 'ways');
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new TypeError(`${fn}: argument 'supportLabels' must be an array of integers, got ${describe(labels)}`);
  }
  if (labels.length !== support.shape[0]) {
    throw new ShapeError(`${fn}: argument 'supportLabels' must have one label per support row (${support.shape[0]}), got ${labels.length}`, {
      expected: `[${support.shape[0]}]`,
      received: [labels.length],
    });
  }
  const y = new Int32Array(labels.length);
  const count = new Array<number>(ways).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= ways) throw new ValueError(`${fn}: argument 'supportLabels' must hold integers in [0, ${ways}), got ${describe(l)} at index ${i}`, 'supportLabels');
    y[i] = l;
    count[l]++;
  }
  const empty = count.findIndex((c) => c === 0);
  if (empty >= 0) throw new ValueError(`${fn}: class ${empty} has no support examples (every class 0..${ways - 1} needs at least one)`, 'supportLabels');
  return y;
}

/**
 * Class prototypes: the mean support embedding of each class.
 * @param support [n, d] support embeddings.
 * @param supportLabels n labels in [0, ways).
 * @param ways number of classes.
 * @returns [ways, d] prototypes.
 * @throws ValueError naming a class with no support example; ShapeError for mismatched labels.
 */
export function prototypes(support: Tensor, supportLabels: ArrayLike<number>, ways: number): Tensor {
  const y = checkEmbeddings('prototypes', support, supportLabels, support, ways);
  return tf.tidy(() => {
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), ways), 'float32'); // [n, ways]
    const counts = tf.reshape(tf.sum(onehot, 0), [ways, 1]);
    return tf.div(tf.matMul(tf.transpose(onehot), support), counts);
  });
}

/**
 * Prototypical-network logits: −‖q − c_k‖² for each query row and class prototype.
 * @param support [n, d] support embeddings.
 * @param supportLabels n labels in [0, ways).
 * @param query [m, d] query embeddings.
 * @param ways number of classes.
 * @returns [m, ways] logits (softmax gives the class probabilities).
 * @throws ValueError naming a class with no support example; ShapeError for mismatched shapes.
 * @example
 * const logits = prototypicalLogits(tf.tensor2d([[0, 0], [2, 0]]), [0, 1], tf.tensor2d([[1.5, 0]]), 2); // [[-2.25, -0.25]]
 */
export function prototypicalLogits(support: Tensor, supportLabels: ArrayLike<number>, query: Tensor, ways: number): Tensor {
  checkEmbeddings('prototypicalLogits', support, supportLabels, query, ways);
  return tf.tidy(() => {
    const c = prototypes(support, supportLabels, ways);
    const q2 = tf.sum(tf.square(query), 1, true); // [m, 1]
    const c2 = tf.reshape(tf.sum(tf.square(c), 1), [1, ways]);
    const qc = tf.matMul(query, tf.transpose(c));
    return tf.neg(tf.add(tf.sub(q2, tf.mul(qc, 2)), c2));
  });
}

/**
 * Matching-network log-probabilities: attention a_i = softmax_i(scale · cos(q, s_i)) over the
 * support set, p(k | q) = Σ_{i: y_i = k} a_i.
 * @param support [n, d] support embeddings.
 * @param supportLabels n labels in [0, ways).
 * @param query [m, d] query embeddings.
 * @param ways number of classes.
 * @param scale multiplies the cosine before the softmax (1 in the paper).
 * @returns [m, ways] log-probabilities (usable as logits: their softmax is the same distribution).
 * @throws ValueError naming a class with no support example; ShapeError for mismatched shapes.
 */
export function matchingLogProbs(support: Tensor, supportLabels: ArrayLike<number>, query: Tensor, ways: number, scale = 1): Tensor {
  const y = checkEmbeddings('matchingLogProbs', support, supportLabels, query, ways);
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) throw new ValueError(`matchingLogProbs: argument 'scale' must be a positive number, got ${describe(scale)}`, 'scale');
  return tf.tidy(() => {
    const unit = (t: Tensor) => tf.div(t, tf.sqrt(tf.add(tf.sum(tf.square(t), 1, true), 1e-12)));
    const cos = tf.matMul(unit(query), tf.transpose(unit(support))); // [m, n]
    // exp(logSoftmax): @x/tensor's logSoftmax is built from plain ops, right to second order.
    const attn = tf.exp(logSoftmax(tf.mul(cos, scale), 1));
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), ways), 'float32');
    // Probabilities are ≥ the smallest attention weight, which is > 0 in float32 for |scale·cos| ≲ 80.
    return tf.log(tf.add(tf.matMul(attn, onehot), 1e-12));
  });
}

/** Options of `ProtoNet` and `MatchingNet`. */
export interface MetricOptions {
  /** Run the encoder in training mode (batch statistics; default: the encoder's own mode). */
  training?: boolean;
  /** Matching networks only: multiplier of the cosine similarity before the softmax (default 1). */
  scale?: number;
  /**
   * Prototypical networks only: scale every embedding to this Euclidean norm before the squared
   * distances (then −‖q − c‖² ranges over [−4r², 0], so r² acts as an inverse temperature on
   * the cosine geometry). Default: off, the embeddings as the encoder gives them (the paper's).
   */
  radius?: number;
}

abstract class MetricClassifier {
  readonly encoder: Module;
  protected readonly options: MetricOptions;
  constructor(name: string, encoder: Module, options: MetricOptions) {
    if (!(encoder instanceof Module)) throw new TypeError(`${name}: argument 'encoder' must be a Module, got ${describe(encoder)}`);
    if (options === null || typeof options !== 'object') throw new TypeError(`${name}: argument 'options' must be an object, got ${describe(options)}`);
    this.encoder = encoder;
    this.options = options;
  }

  protected abstract scores(support: Tensor, labels: ArrayLike<number>, query: Tensor, ways: number): Tensor;

  /** Embeds support and query rows in one batch with the encoder (its own parameters, or `params`). */
  protected embed(xs: Tensor, xq: Tensor, params?: Map<string, Tensor>): [Tensor, Tensor] {
    const all = tf.concat([xs, xq], 0);
    const p = params ?? this.encoder.namedParameters();
    const e = this.encoder.apply(p, all, { training: this.options.training ?? this.encoder.training });
    const flat = e.rank === 2 ? e : tf.reshape(e, [e.shape[0], -1]);
    return [tf.slice(flat, [0, 0], [xs.shape[0], -1]), tf.slice(flat, [xs.shape[0], 0], [xq.shape[0], -1])];
  }

  /**
   * Class scores of the query rows given the support rows (raw inputs, embedded here).
   * @param xs support inputs; @param ys support labels; @param xq query inputs; @param ways classes.
   * @returns [m, ways] logits.
   */
  logits(xs: Tensor, ys: ArrayLike<number>, xq: Tensor, ways: number): Tensor {
    return tf.tidy(() => {
      const [s, q] = this.embed(xs, xq);
      return this.scores(s, ys, q, ways);
    });
  }

  /**
   * Cross-entropy of the query labels (the training loss of an episode).
   * @returns a scalar tensor.
   */
  loss(xs: Tensor, ys: ArrayLike<number>, xq: Tensor, yq: ArrayLike<number>, ways: number): Tensor {
    return tf.tidy(() => crossEntropy(this.logits(xs, ys, xq, ways), yq));
  }

  /**
   * Accuracy on an episode's query rows.
   * @param ep an episode from `EpisodeSampler`.
   * @returns the fraction of query rows classified right.
   */
  episodeAccuracy(ep: Episode): number {
    const pred = tf.tidy(() => {
      const xs = tf.tensor2d(ep.supportX, [ep.supportY.length, ep.dim]);
      const xq = tf.tensor2d(ep.queryX, [ep.queryY.length, ep.dim]);
      return tf.argMax(this.logits(xs, ep.supportY, xq, ep.ways), 1);
    });
    const p = pred.dataSync();
    pred.dispose();
    let right = 0;
    for (let i = 0; i < p.length; i++) if (p[i] === ep.queryY[i]) right++;
    return right / p.length;
  }
}

/**
 * Prototypical network over an encoder.
 * @example
 * const net = new ProtoNet(convNet({ channels: [32, 32, 32], seed: 0 }));
 * const loss = net.loss(xs, ys, xq, yq, 5);
 */
export class ProtoNet extends MetricClassifier {
  constructor(encoder: Module, options: MetricOptions = {}) {
    super('ProtoNet', encoder, options);
    if (options.radius !== undefined && (typeof options.radius !== 'number' || !Number.isFinite(options.radius) || !(options.radius > 0))) {
      throw new ValueError(`ProtoNet: option 'radius' must be a finite positive number, got ${describe(options.radius)}`, 'radius');
    }
  }
  protected scores(s: Tensor, ys: ArrayLike<number>, q: Tensor, ways: number): Tensor {
    const r = this.options.radius;
    if (r === undefined) return prototypicalLogits(s, ys, q, ways);
    return tf.tidy(() => {
      const onSphere = (t: Tensor) => tf.mul(tf.div(t, tf.sqrt(tf.add(tf.sum(tf.square(t), 1, true), 1e-12))), r);
      return prototypicalLogits(onSphere(s), ys, onSphere(q), ways);
    });
  }
}

/**
 * Matching network over an encoder (cosine attention over the support set; the full-context
 * embeddings of the paper are not included).
 */
export class MatchingNet extends MetricClassifier {
  constructor(encoder: Module, options: MetricOptions = {}) {
    super('MatchingNet', encoder, options);
    if (options.scale !== undefined && (typeof options.scale !== 'number' || !(options.scale > 0))) {
      throw new ValueError(`MatchingNet: option 'scale' must be a positive number, got ${describe(options.scale)}`, 'scale');
    }
  }
  protected scores(s: Tensor, ys: ArrayLike<number>, q: Tensor, ways: number): Tensor {
    return matchingLogProbs(s, ys, q, ways, this.options.scale ?? 1);
  }
}

/**
 * Batching and the fit / evaluate / predict loop over plain typed arrays.
 */
import { tf, ready } from './backend.js';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { Module } from './module.js';
import { Adam, Optimizer, type GradMap } from './optim.js';
import { crossEntropy } from './losses.js';
import { Rng, toSeed } from './rng.js';
import { NonFiniteError, ShapeError, ValueError, checkNumber, describe } from './errors.js';

/** A labelled data set: `x` is row-major [n, d], `y` holds n labels (or n·k targets). */
export interface Dataset {
  x: Float32Array;
  y: Int32Array | Float32Array | number[];
}

/** What the progress callback receives, after every batch. */
export interface Progress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Loss of this batch. */
  loss: number;
  /** Mean loss over the epoch so far. */
  epochLoss: number;
}

/** Per-epoch results of `fit`. */
export interface History {
  loss: number[];
  valLoss: number[];
  valAccuracy: number[];
}

/** Options of `fit`. */
export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** An optimizer over the model's parameters (default `new Adam(model, { lr: 1e-3 })`). */
  optimizer?: Optimizer;
  /** Loss of a batch from the model output and the batch targets (default cross-entropy with integer labels). */
  loss?: (output: Tensor, y: Tensor) => Tensor;
  /** Seed or generator for the shuffling (default seed 0). */
  seed?: number | Rng;
  shuffle?: boolean;
  /** Called after every batch. */
  onProgress?: (p: Progress) => void;
  /** Called after every epoch, with the history so far. */
  onEpochEnd?: (epoch: number, history: History) => void;
  /** Called with the gradients before each optimizer step (may replace them by returning a map). */
  beforeStep?: (grads: Map<string, Tensor>) => Map<string, Tensor> | void;
  /** Called after each optimizer step (e.g. to re-apply pruning masks to optimizer state). */
  afterStep?: (step: number) => void;
  /** Scheduled learning rate per epoch (0-based), applied at the start of each epoch. */
  lrSchedule?: (epoch: number) => number;
  /** Held-out data evaluated after every epoch. */
  validation?: Dataset;
}

function checkDataset(fn: string, arg: string, data: Dataset): { n: number; d: number; yPer: number } {
  if (data === null || typeof data !== 'object') throw new TypeError(`${fn}: argument '${arg}' must be { x, y }, got ${describe(data)}`);
  if (!(data.x instanceof Float32Array)) throw new TypeError(`${fn}: argument '${arg}.x' must be a Float32Array, got ${describe(data.x)}`);
  const y = data.y;
  if (!(y instanceof Int32Array || y instanceof Float32Array || Array.isArray(y))) {
    throw new TypeError(`${fn}: argument '${arg}.y' must be an Int32Array, Float32Array or number[], got ${describe(y)}`);
  }
  const n = y.length;
  if (n === 0) throw new ValueError(`${fn}: argument '${arg}' must hold at least one sample, got 0`, arg);
  if (data.x.length % n !== 0) {
    throw new ShapeError(`${fn}: argument '${arg}.x' must have a multiple of ${n} values (one row per label), got ${data.x.length}`, {
      expected: `[${n}, d]`,
      received: [data.x.length],
    });
  }
  return { n, d: data.x.length / n, yPer: 1 };
}

/** Copies rows `idx[from..to)` of a row-major matrix into a new tensor [to-from, d]. */
export function gatherRows(x: Float32Array, d: number, idx: ArrayLike<number>, from = 0, to = idx.length): Tensor {
  const out = new Float32Array((to - from) * d);
  for (let i = from; i < to; i++) out.set(x.subarray(idx[i] * d, idx[i] * d + d), (i - from) * d);
  return tf.tensor2d(out, [to - from, d]);
}

function gatherLabels(y: Dataset['y'], idx: ArrayLike<number>, from: number, to: number): Tensor {
  if (y instanceof Int32Array || Array.isArray(y)) {
    const out = new Int32Array(to - from);
    for (let i = from; i < to; i++) out[i - from] = y[idx[i]];
    return tf.tensor1d(out, 'int32');
  }
  const out = new Float32Array(to - from);
  for (let i = from; i < to; i++) out[i - from] = y[idx[i]];
  return tf.tensor1d(out, 'float32');
}

/**
 * One optimisation step on a batch: loss, gradients of every parameter, optional gradient
 * hook, optimizer step. Returns the loss value.
 * @throws NonFiniteError if the loss is NaN or infinite (training stops instead of
 * silently poisoning the weights).
 */
export function trainStep(
  model: Module,
  optimizer: Optimizer,
  lossOf: () => Tensor,
  beforeStep?: (grads: Map<string, Tensor>) => Map<string, Tensor> | void,
): number {
  const named = model.namedParameters();
  const list: Variable[] = [...named.values()];
  const byVar = new Map<string, string>();
  for (const [n, v] of named) byVar.set(v.name, n);
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(lossOf as () => tf.Scalar, list);
    const loss = value.dataSync()[0];
    if (!Number.isFinite(loss)) {
      throw new NonFiniteError(`trainStep: the loss became ${loss}; lower the learning rate or check the inputs`, 'loss', 0);
    }
    let g = new Map<string, Tensor>();
    for (const [vname, t] of Object.entries(grads)) g.set(byVar.get(vname) as string, t);
    if (beforeStep) g = beforeStep(g) ?? g;
    optimizer.step(g as GradMap);
    return loss;
  });
}

/**
 * Trains `model` on `data` with seeded shuffling and mini-batches. Awaits `ready()` first,
 * so the default (fast) backend is used unless one was chosen.
 * @param model the module to train (its variables are updated in place).
 * @param data training set: `x` [n, d] row-major, `y` n integer labels (or targets with a custom loss).
 * @param options epochs (1), batchSize (32), optimizer (Adam 1e-3), loss, seed, callbacks, validation.
 * @returns the per-epoch history.
 * @throws TypeError/ShapeError/ValueError for malformed data or options; NonFiniteError if the loss diverges.
 * @example
 * const model = mlp([784, 100, 10], { seed: 0 });
 * const history = await fit(model, { x, y }, { epochs: 2, batchSize: 128, seed: 0 });
 */
export async function fit(model: Module, data: Dataset, options: FitOptions = {}): Promise<History> {
  if (!(model instanceof Module)) throw new TypeError(`fit: argument 'model' must be a Module, got ${describe(model)}`);
  const { n, d } = checkDataset('fit', 'data', data);
  const epochs = checkNumber('fit', 'epochs', options.epochs ?? 1, { min: 1, integer: true });
  const batchSize = checkNumber('fit', 'batchSize', options.batchSize ?? 32, { min: 1, integer: true });
  if (options.validation) checkDataset('fit', 'validation', options.validation);
  await ready();
  const rng = toSeed(options.seed, 0);
  const ownOptimizer = options.optimizer === undefined;
  const optimizer = options.optimizer ?? new Adam(model, { lr: 1e-3 });
  const lossFn = options.loss ?? ((out: Tensor, y: Tensor) => crossEntropy(out, y));
  const history: History = { loss: [], valLoss: [], valAccuracy: [] };
  const batches = Math.ceil(n / batchSize);
  const wasTraining = model.training;
  model.train(true);
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      if (options.lrSchedule) optimizer.lr = checkNumber('fit', 'lrSchedule(epoch)', options.lrSchedule(epoch), { min: 0, minExclusive: true });
      const order = options.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : rng.permutation(n);
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        const from = b * batchSize;
        const to = Math.min(n, from + batchSize);
        const xb = gatherRows(data.x, d, order, from, to);
        const yb = gatherLabels(data.y, order, from, to);
        let loss: number;
        try {
          loss = trainStep(model, optimizer, () => lossFn(model.forward(xb), yb), options.beforeStep);
        } finally {
          xb.dispose();
          yb.dispose();
        }
        options.afterStep?.(optimizer.iterations);
        sum += loss * (to - from);
        options.onProgress?.({ epoch, epochs, batch: b, batches, loss, epochLoss: sum / to });
      }
      history.loss.push(sum / n);
      if (options.validation) {
        const r = evaluate(model, options.validation, { loss: options.loss });
        history.valLoss.push(r.loss);
        history.valAccuracy.push(r.accuracy);
        model.train(true);
      }
      options.onEpochEnd?.(epoch, history);
    }
  } finally {
    model.train(wasTraining);
    if (ownOptimizer) optimizer.dispose();
  }
  return history;
}

/** Options of `predict` and `evaluate`. */
export interface PredictOptions {
  batchSize?: number;
}

/**
 * Runs the model in evaluation mode over row-major inputs, batch by batch.
 * @param model the module.
 * @param x [n, d] row-major inputs.
 * @param options batch size (default 500).
 * @returns the outputs, row-major [n, k], and k.
 * @throws TypeError for a non-Float32Array input; ShapeError if the model's output is not rank 2.
 */
export function predict(model: Module, x: Float32Array, n: number, options: PredictOptions = {}): { values: Float32Array; cols: number } {
  if (!(x instanceof Float32Array)) throw new TypeError(`predict: argument 'x' must be a Float32Array, got ${describe(x)}`);
  checkNumber('predict', 'n', n, { min: 1, integer: true });
  if (x.length % n !== 0) throw new ShapeError(`predict: argument 'x' must hold ${n} rows, got ${x.length} values`, { expected: `[${n}, d]`, received: [x.length] });
  const d = x.length / n;
  const batchSize = checkNumber('predict', 'batchSize', options.batchSize ?? 500, { min: 1, integer: true });
  const wasTraining = model.training;
  model.eval();
  try {
    let out: Float32Array | undefined;
    let cols = 0;
    for (let from = 0; from < n; from += batchSize) {
      const to = Math.min(n, from + batchSize);
      const y = tf.tidy(() => {
        const xb = tf.tensor2d(x.subarray(from * d, to * d), [to - from, d]);
        return model.forward(xb);
      });
      if (y.rank !== 2) {
        y.dispose();
        throw new ShapeError(`predict: the model's output must be rank 2, got rank ${y.rank}`, { expected: 'rank 2', received: y.shape });
      }
      cols = y.shape[1] as number;
      out ??= new Float32Array(n * cols);
      out.set(y.dataSync() as Float32Array, from * cols);
      y.dispose();
    }
    return { values: out as Float32Array, cols };
  } finally {
    model.train(wasTraining);
  }
}

/**
 * Loss and accuracy of a classifier on a labelled set (evaluation mode).
 * @param model the module.
 * @param data `x` [n, d], `y` n integer labels.
 * @param options batch size; a custom loss (default cross-entropy).
 * @returns `{ loss, accuracy }`.
 */
export function evaluate(
  model: Module,
  data: Dataset,
  options: PredictOptions & { loss?: (output: Tensor, y: Tensor) => Tensor } = {},
): { loss: number; accuracy: number } {
  const { n } = checkDataset('evaluate', 'data', data);
  const { values, cols } = predict(model, data.x, n, options);
  const lossFn = options.loss ?? ((out: Tensor, y: Tensor) => crossEntropy(out, y));
  const loss = tf.tidy(() => {
    const yt = data.y instanceof Float32Array ? tf.tensor1d(data.y) : tf.tensor1d(Int32Array.from(data.y as ArrayLike<number>), 'int32');
    return lossFn(tf.tensor2d(values, [n, cols]), yt).dataSync()[0];
  });
  const pred = argmaxRows(values, cols);
  let hit = 0;
  for (let i = 0; i < n; i++) if (pred[i] === Number(data.y[i])) hit++;
  return { loss, accuracy: hit / n };
}

/** Index of the largest entry of each row of a row-major [n, cols] matrix. */
export function argmaxRows(values: Float32Array, cols: number): Int32Array {
  const n = values.length / cols;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (values[i * cols + c] > values[i * cols + best]) best = c;
    out[i] = best;
  }
  return out;
}


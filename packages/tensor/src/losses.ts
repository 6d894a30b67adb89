/**
 * Losses, written out of plain differentiable ops (no `customGrad`), so that their second
 * derivatives are right (see gradients.ts). Each takes logits or log-probabilities rather
 * than probabilities, and uses the log-sum-exp shift, so they stay finite for logits of ±1e4.
 */
import { tf } from './backend.js';
import type { Tensor, Scalar } from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, describe } from './errors.js';

/** How a per-sample loss is reduced. */
export type Reduction = 'mean' | 'sum' | 'none';

function reduce(fn: string, values: Tensor, reduction: Reduction): Tensor {
  switch (reduction) {
    case 'mean':
      return tf.mean(values);
    case 'sum':
      return tf.sum(values);
    case 'none':
      return values;
    default:
      throw new ValueError(`${fn}: option 'reduction' must be 'mean', 'sum' or 'none', got ${describe(reduction)}`, 'reduction');
  }
}

function checkTensor(fn: string, arg: string, x: unknown): asserts x is Tensor {
  if (x === null || typeof x !== 'object' || !Array.isArray((x as Tensor).shape) || typeof (x as Tensor).dataId !== 'object') {
    throw new TypeError(`${fn}: argument '${arg}' must be a Tensor, got ${describe(x)}`);
  }
}

function checkAxis(fn: string, x: Tensor, axis: unknown): number {
  if (x.rank === 0) {
    throw new ShapeError(`${fn}: argument 'x' must have at least one axis, got a scalar`, { expected: 'rank ≥ 1', received: x.shape });
  }
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -x.rank || axis >= x.rank) {
    throw new ValueError(`${fn}: argument 'axis' must be an integer in [${-x.rank}, ${x.rank}) for shape [${x.shape.join(',')}], got ${describe(axis)}`, 'axis');
  }
  return axis < 0 ? x.rank + axis : axis;
}

function sameShape(fn: string, a: Tensor, b: Tensor, an: string, bn: string): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`${fn}: arguments '${an}' and '${bn}' must have the same shape, got [${a.shape.join(',')}] and [${b.shape.join(',')}]`, {
      expected: `[${a.shape.join(',')}]`,
      received: b.shape,
    });
  }
}

/**
 * max(x) along `axis` (kept), as a constant for differentiation. The shift m in
 * log Σ exp(x − m) + m cancels exactly in the derivative, so a zero gradient is the true
 * one; it also keeps comparison ops (max's gradient) out of second-order graphs.
 */
function detachedMax(x: Tensor, ax: number): Tensor {
  // The zero gradient is built from the shape alone: `t` itself may be gone by then.
  const shape = x.shape;
  const body = (t: Tensor) => ({ value: tf.max(t, ax, true), gradFunc: () => tf.zeros(shape) });
  return tf.customGrad(body as unknown as Parameters<typeof tf.customGrad>[0])(x);
}

/**
 * log Σ exp(x) along `axis`, shifted by the maximum so that it never overflows.
 * @param x input.
 * @param axis axis to reduce (default last).
 * @param keepDims keep the reduced axis with size 1.
 * @returns the log-sum-exp.
 */
export function logSumExp(x: Tensor, axis = -1, keepDims = false): Tensor {
  checkTensor('logSumExp', 'x', x);
  const ax = checkAxis('logSumExp', x, axis);
  return tf.tidy(() => {
    const m = detachedMax(x, ax);
    const lse = tf.add(tf.log(tf.sum(tf.exp(tf.sub(x, m)), ax, true)), m);
    return keepDims ? lse : tf.squeeze(lse, [ax]);
  });
}

/**
 * log softmax(x) = x − logSumExp(x), stable for large logits and twice differentiable.
 * @param x logits.
 * @param axis class axis (default last).
 * @returns log-probabilities, same shape as `x`.
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkTensor('logSoftmax', 'x', x);
  checkAxis('logSoftmax', x, axis);
  return tf.tidy(() => tf.sub(x, logSumExp(x, axis, true)));
}

function labelsTensor(fn: string, labels: Tensor | ArrayLike<number>, n: number, classes: number): Tensor {
  let t: Tensor;
  if (labels instanceof tf.Tensor) {
    if (labels.rank !== 1) {
      throw new ShapeError(`${fn}: argument 'labels' must be rank 1, got shape [${labels.shape.join(',')}]`, { expected: 'rank 1', received: labels.shape });
    }
    if (labels.shape[0] === n) {
      // Labels are data, never differentiated: reading them costs one small copy and turns
      // an out-of-range label (which oneHot would silently map to an all-zero row) into an error.
      const vals = labels.dataSync();
      for (let i = 0; i < vals.length; i++) {
        const v = vals[i];
        if (!Number.isInteger(v) || v < 0 || v >= classes) {
          throw new ValueError(`${fn}: argument 'labels' must hold integers in [0, ${classes}), got ${v} at index ${i}`, 'labels');
        }
      }
    }
    t = labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32');
  } else {
    if (labels === null || typeof labels !== 'object' || typeof (labels as ArrayLike<number>).length !== 'number') {
      throw new TypeError(`${fn}: argument 'labels' must be a Tensor or an array of integers, got ${describe(labels)}`);
    }
    const arr = labels as ArrayLike<number>;
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      if (!Number.isInteger(v) || v < 0 || v >= classes) {
        throw new ValueError(`${fn}: argument 'labels' must hold integers in [0, ${classes}), got ${v} at index ${i}`, 'labels');
      }
    }
    t = tf.tensor1d(Int32Array.from(arr), 'int32');
  }
  if (t.shape[0] !== n) {
    throw new ShapeError(`${fn}: argument 'labels' must have ${n} entries (one per row of 'logits'), got ${t.shape[0]}`, {
      expected: `[${n}]`,
      received: t.shape,
    });
  }
  return t;
}

/**
 * Softmax cross-entropy from logits with integer class labels (as torch's
 * `F.cross_entropy`): mean over samples of logSumExp(z) − z[label].
 * @param logits [N, C] unnormalised scores.
 * @param labels N integers in [0, C), a Tensor or an array.
 * @param options reduction (default `'mean'`).
 * @returns the loss (a scalar unless reduction is `'none'`).
 * @throws ShapeError for wrong ranks or counts; ValueError for labels out of range.
 * @example
 * const loss = crossEntropy(tf.tensor2d([[2, 0, 0]]), [0]);  // ≈ 0.2395
 */
export function crossEntropy(logits: Tensor, labels: Tensor | ArrayLike<number>, options: { reduction?: Reduction } = {}): Tensor {
  checkTensor('crossEntropy', 'logits', logits);
  if (logits.rank !== 2) {
    throw new ShapeError(`crossEntropy: argument 'logits' must be rank 2 [N, C], got shape [${logits.shape.join(',')}]`, {
      expected: 'rank 2',
      received: logits.shape,
    });
  }
  const [n, c] = logits.shape;
  if (n < 1 || c < 1) {
    throw new ShapeError(`crossEntropy: argument 'logits' must have at least one row and one class, got shape [${logits.shape.join(',')}]`, {
      expected: '[N ≥ 1, C ≥ 1]',
      received: logits.shape,
    });
  }
  return tf.tidy(() => {
    const y = labelsTensor('crossEntropy', labels, n, c);
    const picked = tf.sum(tf.mul(logits, tf.oneHot(y, c)), 1);
    return reduce('crossEntropy', tf.sub(logSumExp(logits, 1), picked), options.reduction ?? 'mean');
  });
}

/**
 * Binary cross-entropy from logits: max(z,0) − z·t + log(1 + e^−|z|), exact for any z.
 * @param logits any shape.
 * @param targets same shape, values in [0, 1].
 * @param options reduction (default `'mean'`).
 * @returns the loss.
 * @throws ShapeError if the shapes differ.
 */
export function binaryCrossEntropy(logits: Tensor, targets: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkTensor('binaryCrossEntropy', 'logits', logits);
  checkTensor('binaryCrossEntropy', 'targets', targets);
  sameShape('binaryCrossEntropy', logits, targets, 'logits', 'targets');
  // Targets are data (or a teacher's probabilities): one read catches values outside [0, 1],
  // for which the formula returns a number that is not a cross-entropy.
  const tv = targets.dataSync();
  for (let i = 0; i < tv.length; i++) {
    if (!(tv[i] >= 0 && tv[i] <= 1)) {
      throw new ValueError(`binaryCrossEntropy: argument 'targets' must hold values in [0, 1], got ${tv[i]} at index ${i}`, 'targets');
    }
  }
  return tf.tidy(() => {
    // softplus(z) − z·t: tfjs's softplus switches to z or e^z where log(1 + e^z) would
    // overflow or lose precision, and its gradient σ(z) has a smooth second derivative.
    const per = tf.sub(tf.softplus(logits), tf.mul(logits, targets));
    return reduce('binaryCrossEntropy', per, options.reduction ?? 'mean');
  });
}

/**
 * Mean squared error.
 * @param pred predictions.
 * @param target targets, same shape.
 * @param options reduction (default `'mean'` over all elements).
 * @returns the loss.
 * @throws ShapeError if the shapes differ.
 */
export function mse(pred: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkTensor('mse', 'pred', pred);
  checkTensor('mse', 'target', target);
  sameShape('mse', pred, target, 'pred', 'target');
  return tf.tidy(() => reduce('mse', tf.square(tf.sub(pred, target)), options.reduction ?? 'mean'));
}

/**
 * KL(p ‖ q) between categorical distributions given as log-probabilities, summed over the
 * last axis: Σ exp(logP)·(logP − logQ). Finite wherever both are finite.
 * @param logP log-probabilities of p, [N, C].
 * @param logQ log-probabilities of q, same shape.
 * @param options reduction over the N rows (default `'mean'`, i.e. torch's 'batchmean').
 * @returns the divergence.
 * @throws ShapeError if the shapes differ.
 */
export function categoricalKl(logP: Tensor, logQ: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkTensor('categoricalKl', 'logP', logP);
  checkTensor('categoricalKl', 'logQ', logQ);
  sameShape('categoricalKl', logP, logQ, 'logP', 'logQ');
  // p = 0 (logP = −∞) contributes 0, as 0·log 0 = 0. Such entries are replaced before any
  // arithmetic so that neither the value nor the gradient sees −∞·0 = NaN. The mask is built
  // from the values (not from ops on logP), so no comparison enters the gradient graph.
  const lp = logP.dataSync();
  let absent: Uint8Array | undefined;
  for (let i = 0; i < lp.length; i++) {
    if (lp[i] === -Infinity) (absent ??= new Uint8Array(lp.length))[i] = 1;
  }
  return tf.tidy(() => {
    let term: Tensor;
    if (absent === undefined) {
      term = tf.mul(tf.exp(logP), tf.sub(logP, logQ));
    } else {
      const present = tf.tensor(Uint8Array.from(absent, (a) => 1 - a), logP.shape, 'bool');
      const safeP = tf.where(present, logP, tf.zerosLike(logP));
      term = tf.where(present, tf.mul(tf.exp(safeP), tf.sub(safeP, logQ)), tf.zerosLike(logP));
    }
    const per = tf.sum(term, -1);
    return reduce('categoricalKl', per, options.reduction ?? 'mean');
  });
}

/**
 * KL(N(μ, diag e^logVar) ‖ N(μ₂, diag e^logVar₂)), summed over the last axis; the prior
 * defaults to the standard normal (the VAE term −½ Σ (1 + logVar − μ² − e^logVar)).
 * @param mu means [N, D].
 * @param logVar log-variances [N, D].
 * @param prior optional `{ mu, logVar }` of the second Gaussian (broadcastable).
 * @param options reduction over rows (default `'mean'`).
 * @returns the divergence.
 * @throws ShapeError if `mu` and `logVar` differ in shape.
 */
export function gaussianKl(
  mu: Tensor,
  logVar: Tensor,
  prior?: { mu: Tensor | number; logVar: Tensor | number },
  options: { reduction?: Reduction } = {},
): Tensor {
  checkTensor('gaussianKl', 'mu', mu);
  checkTensor('gaussianKl', 'logVar', logVar);
  sameShape('gaussianKl', mu, logVar, 'mu', 'logVar');
  return tf.tidy(() => {
    const m2 = prior?.mu ?? 0;
    const lv2 = prior?.logVar ?? 0;
    // ½ [ logVar₂ − logVar + (e^logVar + (μ − μ₂)²)/e^logVar₂ − 1 ]
    const term = tf.sub(
      tf.add(tf.sub(lv2, logVar), tf.div(tf.add(tf.exp(logVar), tf.square(tf.sub(mu, m2))), tf.exp(lv2))),
      1,
    );
    const per = tf.mul(tf.sum(term, -1), 0.5);
    return reduce('gaussianKl', per, options.reduction ?? 'mean');
  });
}

/**
 * Fraction of rows whose arg-max equals the label.
 * @param logits [N, C].
 * @param labels N integers.
 * @returns accuracy in [0, 1].
 */
export function accuracy(logits: Tensor, labels: ArrayLike<number>): number {
  checkTensor('accuracy', 'logits', logits);
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new TypeError(`accuracy: argument 'labels' must be an array of integers, got ${describe(labels)}`);
  }
  const pred = tf.tidy(() => tf.argMax(logits, -1).dataSync());
  if (pred.length !== labels.length) {
    throw new ShapeError(`accuracy: argument 'labels' must have ${pred.length} entries, got ${labels.length}`, { expected: `[${pred.length}]`, received: [labels.length] });
  }
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) hit++;
  return pred.length === 0 ? 0 : hit / pred.length;
}

export type { Scalar };

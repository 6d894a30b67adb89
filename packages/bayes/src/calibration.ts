/**
 * Metrics of predictive uncertainty for classifiers: negative log-likelihood, expected
 * calibration error with its reliability-diagram bins, and predictive entropy. All take plain
 * row-major arrays, so they apply to any model (the Bayesian MLP, a plain MLP, ...).
 */
import { ShapeError, ValueError, checkNumber, describe } from '@x/tensor';

/** One bin of a reliability diagram. */
export interface CalibrationBin {
  /** Bin edges: a prediction falls in the bin when lower < confidence ≤ upper. */
  lower: number;
  upper: number;
  /** Predictions whose confidence (top probability) fell in the bin. */
  count: number;
  /** Mean confidence in the bin (NaN-free: 0 for an empty bin). */
  confidence: number;
  /** Fraction of correct predictions in the bin (0 for an empty bin). */
  accuracy: number;
}

/** Result of {@link expectedCalibrationError}. */
export interface CalibrationResult {
  /** Σ_b (n_b / n) · |accuracy_b − confidence_b|. */
  ece: number;
  /** Maximum over non-empty bins of |accuracy_b − confidence_b|. */
  mce: number;
  bins: CalibrationBin[];
}

function classesOf(fn: string, arg: string, values: ArrayLike<number>, labels: ArrayLike<number>): { n: number; k: number } {
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new TypeError(`${fn}: argument '${arg}' must be a row-major numeric array [n, classes], got ${describe(values)}`);
  }
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new TypeError(`${fn}: argument 'labels' must be an array of integer labels, got ${describe(labels)}`);
  }
  const n = labels.length;
  if (n === 0 || values.length === 0 || values.length % n !== 0) {
    throw new ShapeError(`${fn}: argument '${arg}' must hold n·classes values for n = ${n} labels (n ≥ 1), got ${values.length}`, {
      expected: `[${n}, classes]`,
      received: [values.length],
    });
  }
  const k = values.length / n;
  for (let i = 0; i < n; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || v >= k) throw new ValueError(`${fn}: argument 'labels' must hold integers in [0, ${k}), got ${v} at index ${i}`, 'labels');
  }
  return { n, k };
}

/**
 * Expected calibration error of a classifier (Guo et al. 2017): predictions are binned by their
 * confidence (the top class probability) into `bins` equal-width bins over [0, 1], a prediction
 * with confidence c going to the bin with lower < c ≤ upper (c = 0 goes to the first bin); ECE is
 * the count-weighted mean |accuracy − confidence| over the bins.
 * @param probs row-major [n, classes] predicted probabilities (rows sum to 1).
 * @param labels n integer labels.
 * @param options `bins` (default 15).
 * @returns `{ ece, mce, bins }` (bins for a reliability diagram).
 * @throws ShapeError if `probs` is not n·classes long; ValueError for a label out of range, a
 * probability outside [0, 1] or NaN, or a bad bin count.
 * @example
 * const { ece } = expectedCalibrationError([0.9, 0.1, 0.4, 0.6], [0, 0]); // 0.35
 */
export function expectedCalibrationError(probs: ArrayLike<number>, labels: ArrayLike<number>, options: { bins?: number } = {}): CalibrationResult {
  const fn = 'expectedCalibrationError';
  const { n, k } = classesOf(fn, 'probs', probs, labels);
  const nb = checkNumber(fn, 'bins', options.bins ?? 15, { min: 1, integer: true });
  const count = new Float64Array(nb);
  const conf = new Float64Array(nb);
  const hit = new Float64Array(nb);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 0; c < k; c++) {
      const p = probs[i * k + c];
      if (!(p >= 0 && p <= 1)) throw new ValueError(`${fn}: argument 'probs' must hold probabilities in [0, 1], got ${p} at index ${i * k + c}`, 'probs');
      if (p > probs[i * k + best]) best = c;
    }
    const top = probs[i * k + best];
    const b = Math.min(nb - 1, Math.max(0, Math.ceil(top * nb) - 1));
    count[b]++;
    conf[b] += top;
    if (best === labels[i]) hit[b]++;
  }
  const bins: CalibrationBin[] = [];
  let ece = 0;
  let mce = 0;
  for (let b = 0; b < nb; b++) {
    const c = count[b];
    const bin = { lower: b / nb, upper: (b + 1) / nb, count: c, confidence: c > 0 ? conf[b] / c : 0, accuracy: c > 0 ? hit[b] / c : 0 };
    bins.push(bin);
    if (c > 0) {
      const gap = Math.abs(bin.accuracy - bin.confidence);
      ece += (c / n) * gap;
      mce = Math.max(mce, gap);
    }
  }
  return { ece, mce, bins };
}

/**
 * Mean negative log-likelihood of the labels, −(1/n) Σ log p(label_i), from log-probabilities
 * (so that a confident mistake costs its true, large value instead of −log 0 = ∞ from an
 * underflowed probability).
 * @param logProbs row-major [n, classes] log-probabilities.
 * @param labels n integer labels.
 * @returns the mean NLL in nats.
 * @throws ShapeError / ValueError as {@link expectedCalibrationError}; ValueError for a NaN or
 * positive log-probability.
 */
export function negativeLogLikelihood(logProbs: ArrayLike<number>, labels: ArrayLike<number>): number {
  const fn = 'negativeLogLikelihood';
  const { n, k } = classesOf(fn, 'logProbs', logProbs, labels);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const lp = logProbs[i * k + labels[i]];
    // Float32 log-softmax can round a certain class to a tiny positive value; more than that is a bug upstream.
    if (!(lp <= 1e-5)) throw new ValueError(`${fn}: argument 'logProbs' must hold log-probabilities (≤ 0), got ${lp} at index ${i * k + labels[i]}`, 'logProbs');
    s -= lp;
  }
  return s / n;
}

/**
 * Entropy −Σ_c p_c log p_c (nats) of each row of a row-major [n, classes] probability matrix,
 * with 0·log 0 = 0.
 * @param probs row-major probabilities.
 * @param classes number of columns.
 * @returns n entropies, in [0, log classes].
 * @throws ShapeError if the length is not a multiple of `classes`; ValueError for a value outside [0, 1].
 */
export function predictiveEntropy(probs: ArrayLike<number>, classes: number): Float64Array {
  const fn = 'predictiveEntropy';
  const k = checkNumber(fn, 'classes', classes, { min: 1, integer: true });
  if (probs === null || typeof probs !== 'object' || typeof probs.length !== 'number') {
    throw new TypeError(`${fn}: argument 'probs' must be a row-major numeric array, got ${describe(probs)}`);
  }
  if (probs.length % k !== 0) {
    throw new ShapeError(`${fn}: argument 'probs' must hold a multiple of ${k} values, got ${probs.length}`, { expected: `[n, ${k}]`, received: [probs.length] });
  }
  const n = probs.length / k;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let h = 0;
    for (let c = 0; c < k; c++) {
      const p = probs[i * k + c];
      if (!(p >= 0 && p <= 1)) throw new ValueError(`${fn}: argument 'probs' must hold probabilities in [0, 1], got ${p} at index ${i * k + c}`, 'probs');
      if (p > 0) h -= p * Math.log(p);
    }
    out[i] = h;
  }
  return out;
}

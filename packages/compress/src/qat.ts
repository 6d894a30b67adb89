/**
 * Quantization-aware training: the model trains with its weights and activations passed
 * through fake quantization (straight-through estimator), activation ranges tracked by
 * moving-average min/max observers, then converts to the same `QuantizedModel` as
 * post-training quantization (method `'qat'`).
 */
import { tf, Module, Sequential, NonFiniteError, ValueError, checkNumber, describe, type Parametrization } from '@x/tensor';
import { calibrate } from './calibrate.js';
import { foldBatchNormMapped } from './fold.js';
import { quantParamsFromRange, resolveQuantOptions, type QuantDtype, type QuantParams } from './quant.js';
import { fakeQuantizeSte, fakeQuantizeWeight } from './quant-fake.js';
import { activationParams, quantizableWeights, quantizeWeights, type QuantizedModel } from './quant-model.js';
import type { ActivationRanges } from './calibrate.js';

type Tensor = tf.Tensor;

/** Options of {@link prepareQat}. */
export interface QatOptions {
  /** Activation codes, asymmetric: `'uint8'` (default) or `'int8'`. */
  activationDtype?: QuantDtype;
  /**
   * Weight of the new batch in the moving-average observers: min ← min + c·(batchMin − min)
   * (default 0.01, torch's MovingAverageMinMaxObserver). The first batch sets the range.
   */
  averagingConstant?: number;
  /** Per-channel weight fake quantization along the output axis (default true). */
  perChannel?: boolean;
  /** Stop updating the observers after this many training forward passes (default: never). */
  freezeObserversAfter?: number;
  /** Initialise the observers with min-max ranges of this sample set (default: from the first training batch). */
  calibration?: { x: Float32Array; n: number };
}

/** State of one moving-average min/max observer. */
export interface ObserverState {
  min: number;
  max: number;
  /** Batches seen. */
  count: number;
}

/**
 * A Sequential that trains with fake quantization: every Linear/Conv2d weight is
 * fake-quantized int8 symmetric per output channel (through a parametrization, composed with
 * any pruning mask so pruned weights stay zero); the input and every child output are
 * fake-quantized with the ranges of their observers. Parameter names are those of the
 * (batch-norm-folded) model, so `fit`, optimizers and hooks work unchanged.
 */
export class QatModel extends Sequential {
  /** Observers by key (`'input'`, `String(i)`). */
  readonly observers = new Map<string, ObserverState>();
  readonly activationDtype: QuantDtype;
  readonly averagingConstant: number;
  readonly perChannel: boolean;
  readonly freezeObserversAfter: number;
  /** Training forward passes so far. */
  steps = 0;
  private readonly masks = new Map<string, Parametrization>();

  /**
   * Usually made by {@link prepareQat}.
   * @param layers the layers (taken over, not copied).
   * @param options as {@link QatOptions} (calibration ignored here).
   * @param masks pruning parametrizations by weight name, applied before fake quantization.
   */
  constructor(layers: Module[], options: QatOptions = {}, masks: Map<string, Parametrization> = new Map()) {
    super(...layers);
    this.activationDtype = options.activationDtype ?? 'uint8';
    resolveQuantOptions('prepareQat', { dtype: this.activationDtype, scheme: 'asymmetric' });
    this.averagingConstant = checkNumber('prepareQat', 'averagingConstant', options.averagingConstant ?? 0.01, { min: 0, max: 1, minExclusive: true });
    this.perChannel = options.perChannel ?? true;
    this.freezeObserversAfter =
      options.freezeObserversAfter === undefined ? Infinity : checkNumber('prepareQat', 'freezeObserversAfter', options.freezeObserversAfter, { min: 0, integer: true });
    for (const [name, axis] of quantizableWeights(this)) {
      const mask = masks.get(name);
      if (mask) this.masks.set(name, mask);
      const ax = this.perChannel ? axis : null;
      this.setParametrization(name, mask ? (w) => fakeQuantizeWeight(mask(w), ax) : (w) => fakeQuantizeWeight(w, ax));
    }
  }

  override toString(): string {
    return `QatModel(${this.layers.map((l) => l.toString()).join(', ')})`;
  }

  /** The pruning parametrizations kept under fake quantization, by weight name. */
  pruningMasks(): Map<string, Parametrization> {
    return new Map(this.masks);
  }

  /** The observed ranges, keyed as ActivationRanges. */
  observedRanges(): ActivationRanges {
    const out: ActivationRanges = new Map();
    for (const [k, o] of this.observers) out.set(k, { min: o.min, max: o.max });
    return out;
  }

  /** Current activation parameters from the observers. */
  activationParams(): Map<string, QuantParams> {
    return activationParams(this.observedRanges(), this.activationDtype);
  }

  /** Updates an observer with a batch (training, or first sight) and fake-quantizes the batch. */
  private observe(key: string, h: Tensor, training: boolean): Tensor {
    let o = this.observers.get(key);
    const update = o === undefined || (training && this.steps <= this.freezeObserversAfter);
    if (update) {
      const [lo, hi] = tf.tidy(() => Array.from(tf.stack([tf.min(h), tf.max(h)]).dataSync()));
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
        const what = key === 'input' ? 'the input' : `the output of child ${key} (${this.layers[Number(key)].toString()})`;
        throw new NonFiniteError(`QatModel.forward: ${what} holds non-finite values (range [${lo}, ${hi}])`, key === 'input' ? 'x' : 'model', 0);
      }
      if (o === undefined) {
        o = { min: lo, max: hi, count: 1 };
        this.observers.set(key, o);
      } else {
        const c = this.averagingConstant;
        o.min += c * (lo - o.min);
        o.max += c * (hi - o.max);
        o.count++;
      }
    }
    const ob = o as ObserverState;
    return fakeQuantizeSte(h, quantParamsFromRange(ob, { dtype: this.activationDtype }));
  }

  protected override call(x: Tensor, get: (n: string) => Tensor, training: boolean): Tensor {
    if (training) this.steps++;
    let h = this.observe('input', x, training);
    this.layers.forEach((layer, i) => {
      h = this.runChild(String(i), layer, h, get, training);
      h = this.observe(String(i), h, training);
    });
    return h;
  }

  /** A deep copy: layers, observers, step count and masks. */
  override clone(): QatModel {
    const q = new QatModel(
      this.layers.map((l) => l.clone()),
      { activationDtype: this.activationDtype, averagingConstant: this.averagingConstant, perChannel: this.perChannel, freezeObserversAfter: this.freezeObserversAfter },
      this.masks,
    );
    for (const [k, o] of this.observers) q.observers.set(k, { ...o });
    q.steps = this.steps;
    q.training = this.training;
    return q;
  }
}

/**
 * Prepares a model for quantization-aware training: a copy with batch norm folded (using
 * the running statistics; QAT then trains the folded layers) and pruning masks kept (pruned
 * weights get zero gradient, so they stay zero), weights and activations fake-quantized.
 * The live model is not changed.
 * @param model a trained fp32 Sequential.
 * @param opts activation dtype, observer averaging constant (0.01), per-channel, freezing, calibration.
 * @returns a QatModel to train with `fit` (free it with `dispose()`).
 * @throws TypeError if `model` is not a Sequential; ValueError for bad options.
 * @example
 * const qat = prepareQat(model);
 * await fit(qat, train, { epochs: 1, optimizer: new Adam(qat, { lr: 1e-4 }) });
 * const qm = convertQat(qat);
 */
export function prepareQat(model: Sequential, opts: QatOptions = {}): QatModel {
  if (!(model instanceof Sequential)) throw new TypeError(`prepareQat: argument 'model' must be a Sequential, got ${describe(model)}`);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`prepareQat: argument 'opts' must be an object, got ${describe(opts)}`);
  const { model: folded, indexMap } = foldBatchNormMapped(model);
  const masks = new Map<string, Parametrization>();
  for (const name of model.namedParameters().keys()) {
    const p = model.getParametrization(name);
    if (!p) continue;
    const [head, ...rest] = name.split('.');
    const j = indexMap[Number(head)];
    if (j === undefined || model.layers[Number(head)].constructor !== folded.layers[j].constructor) continue;
    masks.set([String(j), ...rest].join('.'), p);
  }
  let qat: QatModel;
  try {
    qat = new QatModel([...folded.layers], opts, masks);
  } catch (e) {
    folded.dispose();
    throw e;
  }
  qat.train(true);
  if (opts.calibration) {
    const { x, n } = opts.calibration;
    for (const [k, r] of calibrate(qat, x, n)) qat.observers.set(k, { min: r.min, max: r.max, count: 1 });
  }
  return qat;
}

/**
 * Converts a QAT-trained model to the post-training-quantization form (method `'qat'`):
 * weights (masks applied) quantized int8 symmetric per output channel exactly as the
 * training forward fake-quantized them, activations from the observers.
 * @param qat the trained QatModel (not changed).
 * @returns a QuantizedModel (free it with `disposeQuantizedModel`).
 * @throws ValueError if an observer has seen no data; NonFiniteError naming a parameter with NaN weights.
 */
export function convertQat(qat: QatModel): QuantizedModel {
  if (!(qat instanceof QatModel)) throw new TypeError(`convertQat: argument 'qat' must be a QatModel (from prepareQat), got ${describe(qat)}`);
  const keys = ['input', ...qat.layers.map((_, i) => String(i))];
  const missing = keys.filter((k) => !qat.observers.has(k));
  if (missing.length > 0) {
    throw new ValueError(`convertQat: observers [${missing.join(', ')}] have seen no data; train the model or pass 'calibration' to prepareQat`, 'qat');
  }
  const copy = new Sequential(...qat.layers.map((l) => l.clone()));
  copy.eval();
  try {
    const params = copy.namedParameters();
    for (const [name, mask] of qat.pruningMasks()) {
      const v = params.get(name) as tf.Variable;
      tf.tidy(() => v.assign(mask(v)));
    }
    const weights = quantizeWeights('convertQat', copy, qat.perChannel);
    return { model: copy, weights, activations: qat.activationParams(), bits: 8, method: 'qat' };
  } catch (e) {
    copy.dispose();
    throw e;
  }
}

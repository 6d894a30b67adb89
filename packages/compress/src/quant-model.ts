/**
 * Post-training quantization of whole models (static: weights and calibrated activations;
 * dynamic: weights only, activations quantized per batch at run time) and a TypeScript
 * simulation of the quantized model, so that its accuracy can be measured without ONNX.
 */
import { tf, Conv2d, Linear, Module, Sequential, ReLU, Reshape, Flatten, MaxPool2d, Dropout, NonFiniteError, ValueError, checkNumber, describe } from '@x/tensor';
import { calibrate, type ActivationRanges } from './calibrate.js';
import { foldBatchNormMapped } from './fold.js';
import {
  computeQuantParams,
  dequantize,
  quantize,
  quantParamsFromRange,
  resolveQuantOptions,
  scaleAndZeroPoint,
  type QuantDtype,
  type QuantizedTensor,
  type QuantParams,
} from './quant.js';
import { fakeQuantize } from './quant-fake.js';

type Tensor = tf.Tensor;

/** A model quantized to 8 bits, in the form the ONNX exporter reads. */
export interface QuantizedModel {
  /** fp32 copy the quantized weights came from (batch norm folded, masks baked). */
  model: Sequential;
  /** Every Linear/Conv2d weight by parameter name; int8 symmetric, per channel along the output axis (Linear: 1, Conv2d: 3) unless `perChannel: false`. */
  weights: Map<string, QuantizedTensor>;
  /** Static/QAT only: per-tensor activation parameters keyed as ActivationRanges (`'input'`, `String(i)`); uint8 asymmetric by default. Empty for dynamic. */
  activations: Map<string, QuantParams>;
  bits: 8;
  method: 'static' | 'dynamic' | 'qat';
  /** Linear/Conv2d weights (names in `model`) deliberately kept in float32: absent from `weights`, exported and simulated as float layers. */
  floatWeights?: string[];
}

/** Options of {@link quantizeModel}. */
export interface QuantizeModelOptions {
  method: 'static' | 'dynamic';
  /** Sample inputs for static quantization ([n, d] row-major). Required for `'static'`. */
  calibration?: { x: Float32Array; n: number };
  /** `'minmax'` (default) or `'percentile'`. */
  calibrationMethod?: 'minmax' | 'percentile';
  /** Percentile for `'percentile'` (default 99.99). */
  percentile?: number;
  /** Activation codes: `'uint8'` (default) or `'int8'`, both asymmetric. */
  activationDtype?: QuantDtype;
  /** Per-channel weight scales (default true); false: one scale per weight. */
  perChannel?: boolean;
  /** Bit width; only 8. */
  bits?: number;
  /**
   * Where activations are quantized (static only):
   * - `'fused'` (default): where onnxruntime's int8 kernels need them: the input of every
   *   quantized Linear/Conv2d and its output, taken after a directly following ReLU (the ReLU is
   *   fused into the integer kernel, as onnxruntime's own quantizer does); shape-only layers
   *   (Reshape, Flatten, MaxPool2d, Dropout) after a quantized value reuse its parameters, so
   *   values pass through them unchanged and stay int8 in onnxruntime;
   * - `'every-layer'`: the input and every child output, each with its own calibrated range.
   */
  activationPlacement?: 'fused' | 'every-layer';
  /**
   * Names of Linear/Conv2d weights of `model` to keep in float32 (e.g. a first convolution with
   * one input channel, which onnxruntime runs faster in float32 than in int8). Default none.
   */
  keepFloat?: string[];
}

/** Names of the quantizable weights of a model (every Linear / Conv2d `weight`) and their output-channel axis. */
export function quantizableWeights(model: Module): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, m] of model.namedModules()) {
    const prefix = name === '' ? '' : `${name}.`;
    if (m instanceof Linear) out.set(`${prefix}weight`, 1);
    else if (m instanceof Conv2d) out.set(`${prefix}weight`, 3);
  }
  return out;
}

/**
 * Quantizes every Linear/Conv2d weight of `model` (already a baked, folded copy): int8
 * symmetric, per output channel (or per tensor).
 * @throws NonFiniteError naming the parameter if a weight holds NaN/±Infinity.
 */
export function quantizeWeights(fn: string, model: Sequential, perChannel: boolean, skip: ReadonlySet<string> = new Set()): Map<string, QuantizedTensor> {
  const params = model.namedParameters();
  const out = new Map<string, QuantizedTensor>();
  for (const [name, axis] of quantizableWeights(model)) {
    if (skip.has(name)) continue;
    const v = params.get(name) as tf.Variable;
    const data = v.dataSync() as Float32Array;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new NonFiniteError(`${fn}: parameter '${name}' holds ${data[i]} at index ${i}; quantization needs finite weights`, name, i);
      }
    }
    const shape = [...v.shape];
    const p = computeQuantParams(data, shape, { dtype: 'int8', scheme: 'symmetric', axis: perChannel ? axis : null });
    out.set(name, { shape, codes: quantize(data, shape, p), params: p });
  }
  return out;
}

/** Activation parameters from ranges (per-tensor, asymmetric, the given dtype). */
export function activationParams(ranges: ActivationRanges, dtype: QuantDtype): Map<string, QuantParams> {
  const out = new Map<string, QuantParams>();
  for (const [key, r] of ranges) out.set(key, quantParamsFromRange(r, { dtype, scheme: 'asymmetric' }));
  return out;
}

const SHAPE_ONLY = (m: Module): boolean => m instanceof Reshape || m instanceof Flatten || m instanceof MaxPool2d || m instanceof Dropout;

/**
 * The `'fused'` activation placement (see {@link QuantizeModelOptions.activationPlacement}) of a
 * folded Sequential from the calibrated ranges of every tap.
 */
export function fusedActivationParams(model: Sequential, ranges: ActivationRanges, dtype: QuantDtype, floatWeights: ReadonlySet<string>): Map<string, QuantParams> {
  const layers = model.layers;
  const quantized = (i: number) => (layers[i] instanceof Linear || layers[i] instanceof Conv2d) && !floatWeights.has(`${i}.weight`);
  const key = (t: number) => (t < 0 ? 'input' : String(t));
  // Tap t (-1: the input, i: child i's output) is needed if a quantized layer consumes it
  // directly or a quantized layer produces it (after a fused ReLU). Float values pass through
  // shape-only layers in float and are quantized just before the layer that uses them.
  const needed = (t: number): boolean => {
    if (t >= 0 && quantized(t) && !(layers[t + 1] instanceof ReLU)) return true;
    if (t >= 1 && layers[t] instanceof ReLU && quantized(t - 1)) return true;
    return t + 1 < layers.length && quantized(t + 1);
  };
  const out = new Map<string, QuantParams>();
  let cur: QuantParams | null = null;
  for (let t = -1; t < layers.length; t++) {
    if (t >= 0 && SHAPE_ONLY(layers[t]) && cur !== null) {
      out.set(key(t), cur);
      continue;
    }
    const r = ranges.get(key(t));
    if (needed(t) && r !== undefined) {
      cur = quantParamsFromRange(r, { dtype, scheme: 'asymmetric' });
      out.set(key(t), cur);
    } else cur = null;
  }
  return out;
}

/** Maps the caller's weight names (`'<child>.weight'`) to the folded copy's names; checks them. */
function mapKeepFloat(fn: string, model: Sequential, names: unknown, indexMap: number[]): Set<string> {
  if (names === undefined) return new Set();
  if (!Array.isArray(names)) throw new TypeError(`${fn}: option 'keepFloat' must be a list of weight names, got ${describe(names)}`);
  const valid = quantizableWeights(model);
  const out = new Set<string>();
  for (const n of names) {
    const m = typeof n === 'string' ? /^(\d+)\.weight$/.exec(n) : null;
    if (!m || !valid.has(n)) {
      throw new ValueError(`${fn}: option 'keepFloat' must name Linear/Conv2d weights of the model (${[...valid.keys()].join(', ')}), got ${describe(n)}`, 'keepFloat');
    }
    out.add(`${indexMap[Number(m[1])]}.weight`);
  }
  return out;
}

/**
 * Post-training quantization of a Sequential to 8 bits. The model is copied with pruning
 * masks baked and batch norm folded (child indices of the copy are the keys used below);
 * the live model is not changed.
 * - `'static'`: weights int8 + activation ranges calibrated on `calibration` (placed as
 *   `activationPlacement` says: by default where onnxruntime's int8 kernels use them);
 * - `'dynamic'`: weights int8 only; activations are quantized per batch when the model runs.
 * @param model the trained model.
 * @param opts method, calibration data, calibration method, activation dtype, per-channel.
 * @returns the quantized model (free it with {@link disposeQuantizedModel}).
 * @throws ValueError for a missing calibration set or bad options; NonFiniteError naming a parameter with NaN weights.
 * @example
 * const qm = quantizeModel(model, { method: 'static', calibration: { x: train.images.subarray(0, 500 * 784), n: 500 } });
 * const logits = quantizedForward(qm, xBatch);
 */
export function quantizeModel(model: Sequential, opts: QuantizeModelOptions): QuantizedModel {
  const fn = 'quantizeModel';
  if (!(model instanceof Sequential)) throw new TypeError(`${fn}: argument 'model' must be a Sequential, got ${describe(model)}`);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: argument 'opts' must be an object, got ${describe(opts)}`);
  const method = opts.method;
  if (method !== 'static' && method !== 'dynamic') {
    throw new ValueError(`${fn}: option 'method' must be 'static' or 'dynamic', got ${describe(method)}`, 'method');
  }
  resolveQuantOptions(fn, { bits: opts.bits });
  const activationDtype = opts.activationDtype ?? 'uint8';
  resolveQuantOptions(fn, { dtype: activationDtype, scheme: 'asymmetric' });
  if (method === 'static' && (opts.calibration === undefined || opts.calibration === null)) {
    throw new ValueError(`${fn}: option 'calibration' ({ x, n }) is required for method 'static', got undefined`, 'calibration');
  }
  // Check the live weights first so that the error names the caller's parameter.
  for (const name of quantizableWeights(model).keys()) {
    const v = model.namedParameters().get(name) as tf.Variable;
    const data = v.dataSync();
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new NonFiniteError(`${fn}: parameter '${name}' holds ${data[bad]} at index ${bad}; quantization needs finite weights`, name, bad);
  }
  const placement = opts.activationPlacement ?? 'fused';
  if (placement !== 'fused' && placement !== 'every-layer') {
    throw new ValueError(`${fn}: option 'activationPlacement' must be 'fused' or 'every-layer', got ${describe(placement)}`, 'activationPlacement');
  }
  const { model: copy, indexMap } = foldBatchNormMapped(model);
  try {
    const keep = mapKeepFloat(fn, model, opts.keepFloat, indexMap);
    const weights = quantizeWeights(fn, copy, opts.perChannel ?? true, keep);
    let activations = new Map<string, QuantParams>();
    if (method === 'static') {
      const cal = opts.calibration as { x: Float32Array; n: number };
      const ranges = calibrate(copy, cal.x, cal.n, { method: opts.calibrationMethod, percentile: opts.percentile });
      activations = placement === 'fused' ? fusedActivationParams(copy, ranges, activationDtype, keep) : activationParams(ranges, activationDtype);
    }
    return { model: copy, weights, activations, bits: 8, method, floatWeights: [...keep] };
  } catch (e) {
    copy.dispose();
    throw e;
  }
}

/** Frees the fp32 copy held by a quantized model. */
export function disposeQuantizedModel(qm: QuantizedModel): void {
  qm.model.dispose();
}

/**
 * An fp32 Sequential whose Linear/Conv2d weights are the DEQUANTIZED int8 weights (biases and
 * everything else as in `qm.model`): the weight-only part of the quantization error.
 * @param qm a quantized model.
 * @returns a new Sequential (dispose it).
 */
export function dequantizeModel(qm: QuantizedModel): Sequential {
  const copy = qm.model.clone();
  const params = copy.namedParameters();
  for (const [name, q] of qm.weights) {
    const v = params.get(name);
    if (!v) throw new ValueError(`dequantizeModel: weight '${name}' is not a parameter of the model`, 'qm');
    tf.tidy(() => v.assign(tf.tensor(dequantize(q), q.shape)));
  }
  return copy;
}

/** Dequantized weights as tensors by full name (caller disposes). */
function dequantizedWeights(qm: QuantizedModel): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, q] of qm.weights) out.set(name, tf.tensor(dequantize(q), q.shape));
  return out;
}

/** Per-tensor uint8 asymmetric parameters of a tensor's current range (ONNX DynamicQuantizeLinear). */
function dynamicParams(x: Tensor): QuantParams {
  const [lo, hi] = tf.tidy(() => Array.from(tf.stack([tf.min(x), tf.max(x)]).dataSync()));
  const p = scaleAndZeroPoint(lo, hi, 'uint8', 'asymmetric');
  return { dtype: 'uint8', scheme: 'asymmetric', axis: null, scale: Float32Array.of(p.scale), zeroPoint: Int32Array.of(p.zeroPoint) };
}

function runSimulated(qm: QuantizedModel, x: Tensor, weights: Map<string, Tensor>): Tensor {
  const model = qm.model;
  const all = model.namedParameters();
  const fq = (key: string, t: Tensor): Tensor => {
    const p = qm.activations.get(key);
    return p ? fakeQuantize(t, p) : t;
  };
  return tf.tidy(() => {
    let h = qm.method === 'dynamic' ? x : fq('input', x);
    model.layers.forEach((layer, i) => {
      const prefix = `${i}.`;
      const local = new Map<string, Tensor>();
      for (const [name, v] of all) if (name.startsWith(prefix)) local.set(name.slice(prefix.length), weights.get(name) ?? v);
      const quantizable = (layer instanceof Linear || layer instanceof Conv2d) && !(qm.floatWeights ?? []).includes(`${i}.weight`);
      if (qm.method === 'dynamic' && quantizable) h = fakeQuantize(h, dynamicParams(h));
      h = layer.apply(local, h, { training: false, parametrize: false });
      if (qm.method !== 'dynamic') h = fq(String(i), h);
    });
    return h;
  });
}

/**
 * Runs a quantized model in TypeScript, simulating the integer arithmetic in float32:
 * weights are the dequantized int8 codes; for `static`/`qat` the input and every child
 * output that has activation parameters are fake-quantized (QuantizeLinear → DequantizeLinear);
 * for `dynamic` the input of every Linear/Conv2d is quantized to uint8 with the range of the
 * whole batch, as ONNX DynamicQuantizeLinear does (so results depend on the batch).
 * @param qm the quantized model.
 * @param x an input batch.
 * @returns the output batch.
 */
export function quantizedForward(qm: QuantizedModel, x: Tensor): Tensor {
  const w = dequantizedWeights(qm);
  try {
    return runSimulated(qm, x, w);
  } finally {
    for (const t of w.values()) t.dispose();
  }
}

/**
 * {@link quantizedForward} over row-major inputs, batch by batch.
 * @param qm the quantized model.
 * @param x [n, d] row-major inputs.
 * @param n number of rows.
 * @param opts batchSize (default 256; matters for dynamic quantization only).
 * @returns the outputs [n, cols] row-major and cols.
 */
export function quantizedPredict(qm: QuantizedModel, x: Float32Array, n: number, opts: { batchSize?: number } = {}): { values: Float32Array; cols: number } {
  if (!(x instanceof Float32Array)) throw new TypeError(`quantizedPredict: argument 'x' must be a Float32Array, got ${describe(x)}`);
  checkNumber('quantizedPredict', 'n', n, { min: 1, integer: true });
  if (x.length % n !== 0) throw new ValueError(`quantizedPredict: argument 'x' must hold ${n} rows, got ${x.length} values`, 'x');
  const batchSize = checkNumber('quantizedPredict', 'batchSize', opts.batchSize ?? 256, { min: 1, integer: true });
  const d = x.length / n;
  const w = dequantizedWeights(qm);
  try {
    let out: Float32Array | undefined;
    let cols = 0;
    for (let from = 0; from < n; from += batchSize) {
      const to = Math.min(n, from + batchSize);
      const y = tf.tidy(() => runSimulated(qm, tf.tensor2d(x.subarray(from * d, to * d), [to - from, d]), w));
      cols = y.shape[1] as number;
      out ??= new Float32Array(n * cols);
      out.set(y.dataSync() as Float32Array, from * cols);
      y.dispose();
    }
    return { values: out as Float32Array, cols };
  } finally {
    for (const t of w.values()) t.dispose();
  }
}

/**
 * Post-training quantization of plain arrays: parameters (scale, zero point) from a range,
 * quantize, dequantize. The arithmetic follows ONNX QuantizeLinear / DequantizeLinear
 * bit for bit: the scale is a float32, `x / scale` is a float32 division, rounding is half to
 * even, the result saturates to the code range; dequantization is `(q − zp) · scale` in
 * float32. The reference formulas are those of `../shared/fixtures/quant.json`.
 */
import { tf, NonFiniteError, ShapeError, ValueError, describe } from '@x/tensor';

type Tensor = tf.Tensor;

/** Integer type of the codes. */
export type QuantDtype = 'int8' | 'uint8';
/** `symmetric`: zero point exactly 0 and codes in [−127, 127]; `asymmetric`: scale and zero point fit [min, max]. */
export type QuantScheme = 'symmetric' | 'asymmetric';

/** Quantization parameters of one tensor (per-tensor: one scale; per-channel: one per channel). */
export interface QuantParams {
  dtype: QuantDtype;
  scheme: QuantScheme;
  /** `null` = per-tensor (scale/zeroPoint of length 1); else the channel axis in our layout. */
  axis: number | null;
  /** > 0 and finite, float32. */
  scale: Float32Array;
  /** 0 for symmetric; inside the dtype's range. */
  zeroPoint: Int32Array;
}

/** Integer codes with their shape and parameters. */
export interface QuantizedTensor {
  shape: number[];
  codes: Int8Array | Uint8Array;
  params: QuantParams;
}

/** Options shared by the quantizers. */
export interface QuantOptions {
  /** Code type (default `'int8'`). */
  dtype?: QuantDtype;
  /** Default: `'symmetric'` for int8, `'asymmetric'` for uint8. */
  scheme?: QuantScheme;
  /** Channel axis for per-channel parameters (negative counts from the end); `null`/absent = per-tensor. */
  axis?: number | null;
  /** Bit width; only 8 is supported. */
  bits?: number;
}

/**
 * Smallest scale handed out for a tensor whose range is not exactly zero: float32 epsilon
 * (2⁻²³), as torch's observers do, so that scales stay normal floats and `scale_x · scale_w`
 * (the int32 bias scale of an exporter) cannot underflow.
 */
export const MIN_SCALE = 2 ** -23;

/**
 * Scale given to an all-zero tensor or channel (its range [0, 0] says nothing): 1.0. Every
 * code then dequantizes to 0 exactly, and the scale is a valid positive float.
 */
export const ZERO_RANGE_SCALE = 1;

const DTYPES: readonly QuantDtype[] = ['int8', 'uint8'];
const SCHEMES: readonly QuantScheme[] = ['symmetric', 'asymmetric'];

/** Code range of a dtype and scheme: symmetric int8 leaves out −128 so that the range is symmetric. */
export function codeRange(dtype: QuantDtype, scheme: QuantScheme): [number, number] {
  if (dtype === 'uint8') return [0, 255];
  return scheme === 'symmetric' ? [-127, 127] : [-128, 127];
}

/**
 * Rounds to the nearest integer, ties to the even one (as ONNX QuantizeLinear, numpy and torch;
 * `Math.round` rounds ties up, so `Math.round(-2.5) = -2` but `Math.round(2.5) = 3`).
 * @param x any number.
 * @returns the rounded value (`NaN` stays `NaN`).
 * @example
 * roundHalfToEven(2.5);  // 2
 * roundHalfToEven(-1.5); // -2
 */
export function roundHalfToEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Validates dtype / scheme / bits options and fills the defaults. */
export function resolveQuantOptions(fn: string, opts: QuantOptions | undefined): { dtype: QuantDtype; scheme: QuantScheme } {
  const o = opts ?? {};
  if (o.bits !== undefined && o.bits !== 8) {
    throw new ValueError(`${fn}: option 'bits' must be 8 (int8 or uint8 codes), got ${describe(o.bits)}`, 'bits');
  }
  const dtype = o.dtype ?? 'int8';
  if (!DTYPES.includes(dtype)) {
    throw new ValueError(`${fn}: option 'dtype' must be 'int8' or 'uint8', got ${describe(dtype)}`, 'dtype');
  }
  const scheme = o.scheme ?? (dtype === 'int8' ? 'symmetric' : 'asymmetric');
  if (!SCHEMES.includes(scheme)) {
    throw new ValueError(`${fn}: option 'scheme' must be 'symmetric' or 'asymmetric', got ${describe(scheme)}`, 'scheme');
  }
  if (dtype === 'uint8' && scheme === 'symmetric') {
    // A zero point of 0 with unsigned codes cannot hold negative values; torch's answer
    // (zero point 128) is not symmetric in the contract's sense, so refuse rather than guess.
    throw new ValueError(`${fn}: option 'scheme' 'symmetric' needs dtype 'int8' (zero point 0, codes in [-127, 127]); use 'asymmetric' with 'uint8', got dtype 'uint8'`, 'scheme');
  }
  return { dtype, scheme };
}

/**
 * Scale and zero point for a range. The range is first widened to contain 0 (so that 0 is
 * exactly representable, as zero padding and ReLU need).
 * - symmetric int8: scale = max(|min|, |max|) / 127, zero point 0;
 * - asymmetric: scale = (max − min) / 255, zero point = qmin − round(min / scale), saturated;
 * - an all-zero range gets scale {@link ZERO_RANGE_SCALE}; other scales are at least {@link MIN_SCALE}.
 * The scale is rounded to float32 (what is stored and exported); the zero point is computed
 * from that stored scale.
 * @param min smallest value seen.
 * @param max largest value seen.
 * @returns `{ scale, zeroPoint }` as numbers.
 * @throws NonFiniteError if `min` or `max` is not finite.
 */
export function scaleAndZeroPoint(min: number, max: number, dtype: QuantDtype, scheme: QuantScheme): { scale: number; zeroPoint: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new NonFiniteError(`scaleAndZeroPoint: the range must be finite, got [${min}, ${max}]`, Number.isFinite(min) ? 'max' : 'min', 0);
  }
  if (min > max) throw new ValueError(`scaleAndZeroPoint: argument 'min' must be <= 'max', got [${min}, ${max}]`, 'min');
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const [qmin] = codeRange(dtype, scheme);
  if (hi - lo === 0) {
    return { scale: ZERO_RANGE_SCALE, zeroPoint: scheme === 'symmetric' ? 0 : qmin };
  }
  if (scheme === 'symmetric') {
    const scale = Math.max(Math.fround(Math.max(-lo, hi) / 127), MIN_SCALE);
    return { scale, zeroPoint: 0 };
  }
  const scale = Math.max(Math.fround((hi - lo) / 255), MIN_SCALE);
  const zp = Math.min(Math.max(roundHalfToEven(qmin - lo / scale), qmin), qmin + 255);
  return { scale, zeroPoint: zp };
}

function checkValues(fn: string, values: unknown): Float32Array {
  if (!(values instanceof Float32Array)) {
    throw new TypeError(`${fn}: argument 'values' must be a Float32Array, got ${describe(values)}`);
  }
  return values;
}

function checkShape(fn: string, shape: unknown, size: number): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`${fn}: argument 'shape' must be a list of non-negative integers, got ${describe(shape)}`, {
      expected: 'non-negative integers',
      received: String(shape),
    });
  }
  const n = shape.reduce((a: number, b: number) => a * b, 1);
  if (n !== size) {
    throw new ShapeError(`${fn}: argument 'shape' [${shape.join(',')}] holds ${n} values but 'values' has ${size}`, {
      expected: `${size} values`,
      received: shape,
    });
  }
  return shape as number[];
}

/**
 * Normalises a channel axis against a rank.
 * @throws ValueError naming the axis and the rank when it is out of range.
 */
export function checkAxis(fn: string, axis: unknown, rank: number): number | null {
  if (axis === null || axis === undefined) return null;
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ValueError(
      `${fn}: option 'axis' must be an integer in [${-rank}, ${rank - 1}] for a rank-${rank} tensor, got ${describe(axis)}`,
      'axis',
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/** Sizes around a channel axis: index i is in channel floor(i / inner) % channels. */
function channelLayout(shape: number[], axis: number | null): { channels: number; inner: number } {
  if (axis === null) return { channels: 1, inner: shape.reduce((a, b) => a * b, 1) || 1 };
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return { channels: shape[axis], inner };
}

function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

/**
 * Quantization parameters of a tensor: per-tensor, or per channel along `axis`.
 * @param values the tensor's values, row-major.
 * @param shape its shape.
 * @param opts dtype (default int8), scheme (default symmetric for int8, asymmetric for uint8), axis (default per-tensor), bits (8).
 * @returns the parameters (scale float32 > 0, integer zero points).
 * @throws NonFiniteError for NaN/±Infinity values (names the first index); ValueError for an
 * unsupported dtype/scheme/bits or an axis out of range (names axis and rank); ShapeError if shape and values disagree.
 * @example
 * const p = computeQuantParams(new Float32Array([-1, 0.5, 2]), [3], { dtype: 'uint8' });
 * // p.scale[0] = 3/255, p.zeroPoint[0] = 85
 */
export function computeQuantParams(values: Float32Array, shape: number[], opts: QuantOptions = {}): QuantParams {
  const fn = 'computeQuantParams';
  checkValues(fn, values);
  checkShape(fn, shape, values.length);
  const { dtype, scheme } = resolveQuantOptions(fn, opts);
  const axis = checkAxis(fn, opts.axis, shape.length);
  const bad = firstNonFinite(values);
  if (bad >= 0) {
    throw new NonFiniteError(`${fn}: argument 'values' must hold finite numbers, got ${values[bad]} at index ${bad}`, 'values', bad);
  }
  const { channels, inner } = channelLayout(shape, axis);
  const mins = new Float64Array(channels).fill(Infinity);
  const maxs = new Float64Array(channels).fill(-Infinity);
  for (let i = 0; i < values.length; i++) {
    const c = axis === null ? 0 : Math.floor(i / inner) % channels;
    const v = values[i];
    if (v < mins[c]) mins[c] = v;
    if (v > maxs[c]) maxs[c] = v;
  }
  const scale = new Float32Array(channels);
  const zeroPoint = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const lo = mins[c] === Infinity ? 0 : mins[c];
    const hi = maxs[c] === -Infinity ? 0 : maxs[c];
    const p = scaleAndZeroPoint(lo, hi, dtype, scheme);
    scale[c] = p.scale;
    zeroPoint[c] = p.zeroPoint;
  }
  return { dtype, scheme, axis, scale, zeroPoint };
}

/**
 * Builds per-tensor parameters from a known range (activation calibration, QAT observers).
 * @param range `{ min, max }` seen.
 * @param opts dtype (default uint8), scheme (default asymmetric for uint8).
 * @returns per-tensor parameters.
 */
export function quantParamsFromRange(range: { min: number; max: number }, opts: { dtype?: QuantDtype; scheme?: QuantScheme } = {}): QuantParams {
  const { dtype, scheme } = resolveQuantOptions('quantParamsFromRange', { dtype: opts.dtype ?? 'uint8', scheme: opts.scheme });
  const p = scaleAndZeroPoint(range.min, range.max, dtype, scheme);
  return { dtype, scheme, axis: null, scale: Float32Array.of(p.scale), zeroPoint: Int32Array.of(p.zeroPoint) };
}

/** Validates parameters against a shape; returns the channel layout. */
export function checkParams(fn: string, params: QuantParams, shape: number[]): { channels: number; inner: number } {
  if (params === null || typeof params !== 'object') throw new TypeError(`${fn}: argument 'params' must be QuantParams, got ${describe(params)}`);
  resolveQuantOptions(fn, { dtype: params.dtype, scheme: params.scheme });
  const axis = checkAxis(fn, params.axis, shape.length);
  if (axis !== params.axis) {
    throw new ValueError(`${fn}: 'params.axis' must be normalised to [0, ${shape.length - 1}] or null, got ${params.axis}`, 'axis');
  }
  const layout = channelLayout(shape, axis);
  if (!(params.scale instanceof Float32Array) || params.scale.length !== layout.channels) {
    throw new ShapeError(`${fn}: 'params.scale' must be a Float32Array of ${layout.channels} entries, got ${describe(params.scale)}`, {
      expected: `[${layout.channels}]`,
      received: [params.scale?.length ?? 0],
    });
  }
  if (!(params.zeroPoint instanceof Int32Array) || params.zeroPoint.length !== layout.channels) {
    throw new ShapeError(`${fn}: 'params.zeroPoint' must be an Int32Array of ${layout.channels} entries, got ${describe(params.zeroPoint)}`, {
      expected: `[${layout.channels}]`,
      received: [params.zeroPoint?.length ?? 0],
    });
  }
  const [qmin, qmax] = codeRange(params.dtype, params.scheme);
  for (let c = 0; c < layout.channels; c++) {
    const s = params.scale[c];
    if (!(s > 0) || !Number.isFinite(s)) throw new ValueError(`${fn}: 'params.scale[${c}]' must be finite and > 0, got ${s}`, 'scale');
    const z = params.zeroPoint[c];
    if (params.scheme === 'symmetric' ? z !== 0 : z < qmin || z > qmax) {
      throw new ValueError(
        `${fn}: 'params.zeroPoint[${c}]' must be ${params.scheme === 'symmetric' ? '0 for symmetric' : `in [${qmin}, ${qmax}]`}, got ${z}`,
        'zeroPoint',
      );
    }
  }
  return layout;
}

/**
 * Integer codes: q = saturate(roundHalfToEven(x / scale) + zeroPoint), with `x / scale` a
 * float32 division (as ONNX QuantizeLinear).
 * @param values row-major values.
 * @param shape their shape.
 * @param params from {@link computeQuantParams}.
 * @returns Int8Array (int8) or Uint8Array (uint8) codes.
 * @throws NonFiniteError for NaN/±Infinity values; ShapeError/ValueError for parameters that do not fit.
 */
export function quantize(values: Float32Array, shape: number[], params: QuantParams): Int8Array | Uint8Array {
  const fn = 'quantize';
  checkValues(fn, values);
  checkShape(fn, shape, values.length);
  const { channels, inner } = checkParams(fn, params, shape);
  const bad = firstNonFinite(values);
  if (bad >= 0) throw new NonFiniteError(`${fn}: argument 'values' must hold finite numbers, got ${values[bad]} at index ${bad}`, 'values', bad);
  const [qmin, qmax] = codeRange(params.dtype, params.scheme);
  const out = params.dtype === 'int8' ? new Int8Array(values.length) : new Uint8Array(values.length);
  const perTensor = params.axis === null;
  for (let i = 0; i < values.length; i++) {
    const c = perTensor ? 0 : Math.floor(i / inner) % channels;
    const q = roundHalfToEven(Math.fround(values[i] / params.scale[c])) + params.zeroPoint[c];
    out[i] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
  return out;
}

/**
 * Float values of codes: (q − zeroPoint) · scale, rounded to float32 (as ONNX DequantizeLinear).
 * @param q codes, shape and parameters.
 * @returns the dequantized values.
 * @throws ShapeError/ValueError if the codes and parameters do not fit the shape.
 */
export function dequantize(q: QuantizedTensor): Float32Array {
  const fn = 'dequantize';
  if (q === null || typeof q !== 'object') throw new TypeError(`${fn}: argument 'q' must be a QuantizedTensor, got ${describe(q)}`);
  const size = checkShape(fn, q.shape, q.codes?.length ?? -1).reduce((a, b) => a * b, 1);
  const { channels, inner } = checkParams(fn, q.params, q.shape);
  const out = new Float32Array(size);
  const perTensor = q.params.axis === null;
  for (let i = 0; i < size; i++) {
    const c = perTensor ? 0 : Math.floor(i / inner) % channels;
    out[i] = (q.codes[i] - q.params.zeroPoint[c]) * q.params.scale[c];
  }
  return out;
}

/**
 * Computes parameters and codes in one go.
 * @param values a Float32Array (give `shape`, default [length]) or a Tensor (its shape is used).
 * @param opts dtype, scheme, axis, bits, shape.
 * @returns codes, shape and parameters.
 * @throws as {@link computeQuantParams}.
 * @example
 * const q = quantizeTensor(weight, { dtype: 'int8', axis: 1 }); // Linear [in, out]: per output channel
 */
export function quantizeTensor(values: Float32Array | Tensor, opts: QuantOptions & { shape?: number[] } = {}): QuantizedTensor {
  let data: Float32Array;
  let shape: number[];
  if (values instanceof tf.Tensor) {
    if (values.dtype !== 'float32') throw new TypeError(`quantizeTensor: argument 'values' must be a float32 Tensor, got ${values.dtype}`);
    data = values.dataSync() as Float32Array;
    shape = [...values.shape];
  } else {
    data = checkValues('quantizeTensor', values);
    shape = opts.shape ?? [data.length];
  }
  const params = computeQuantParams(data, shape, opts);
  return { shape: [...shape], codes: quantize(data, shape, params), params };
}

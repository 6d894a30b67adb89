/**
 * Fake quantization on tensors: quantize then dequantize in float32, as the exported
 * QuantizeLinear → DequantizeLinear pair computes it. Used by the TypeScript simulation of
 * quantized models and, with a straight-through estimator, by quantization-aware training.
 */
import { tf, ValueError } from '@x/tensor';
import { checkParams, codeRange, MIN_SCALE, ZERO_RANGE_SCALE, type QuantParams } from './quant.js';

type Tensor = tf.Tensor;

/** Scale and zero point as tensors that broadcast against `x` (per-channel: along `params.axis`). */
function paramTensors(x: Tensor, params: QuantParams): { s: Tensor; z: Tensor } {
  if (params.axis === null) return { s: tf.scalar(params.scale[0]), z: tf.scalar(params.zeroPoint[0]) };
  const shape = x.shape.map((_, i) => (i === params.axis ? (x.shape[i] as number) : 1));
  return { s: tf.tensor(params.scale, shape), z: tf.tensor(Float32Array.from(params.zeroPoint), shape) };
}

/**
 * Quantize-dequantize: (clamp(round(x / s) + zp, qmin, qmax) − zp) · s, float32, ties to even.
 * No gradient trick: use {@link fakeQuantizeSte} for training.
 * @param x any float32 tensor.
 * @param params per-tensor or per-channel parameters (the axis is checked against x's rank).
 * @returns a tensor of the same shape holding only representable values.
 * @throws ValueError/ShapeError if the parameters do not fit `x`.
 * @example
 * const y = fakeQuantize(x, quantParamsFromRange({ min: 0, max: 6 }));
 */
export function fakeQuantize(x: Tensor, params: QuantParams): Tensor {
  checkParams('fakeQuantize', params, x.shape as number[]);
  const [qmin, qmax] = codeRange(params.dtype, params.scheme);
  return tf.tidy(() => {
    const { s, z } = paramTensors(x, params);
    const q = tf.clipByValue(tf.add(tf.round(tf.div(x, s)), z), qmin, qmax);
    return tf.mul(tf.sub(q, z), s);
  });
}

/**
 * Fake quantization with the straight-through estimator (Bengio et al. 2013; as torch's
 * FakeQuantize): the forward pass is {@link fakeQuantize}; the gradient is `dy` where the
 * unclamped code round(x / s) + zp lies inside [qmin, qmax] and 0 where it saturates. The
 * scale and zero point get no gradient.
 * @param x any float32 tensor.
 * @param params per-tensor or per-channel parameters.
 * @returns the fake-quantized tensor (differentiable w.r.t. `x`).
 */
export function fakeQuantizeSte(x: Tensor, params: QuantParams): Tensor {
  checkParams('fakeQuantizeSte', params, x.shape as number[]);
  const [qmin, qmax] = codeRange(params.dtype, params.scheme);
  const { s, z } = paramTensors(x, params);
  const f = tf.customGrad(((input: Tensor, save: (t: Tensor[]) => void) => {
    const code = tf.add(tf.round(tf.div(input, s)), z);
    const inside = tf.cast(tf.logicalAnd(tf.greaterEqual(code, qmin), tf.lessEqual(code, qmax)), 'float32');
    save([inside]);
    const value = tf.mul(tf.sub(tf.clipByValue(code, qmin, qmax), z), s);
    return { value, gradFunc: (dy: Tensor, saved: Tensor[]) => tf.mul(dy, saved[0]) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const out = f(x);
  s.dispose();
  z.dispose();
  return out;
}

/**
 * Per-channel symmetric int8 scales of a weight computed with tensor ops, identical bit for
 * bit to {@link computeQuantParams} (max|w| / 127 in float32, floored at MIN_SCALE, 1 for an
 * all-zero channel), shaped to broadcast against `w`.
 */
export function weightScaleTensor(w: Tensor, axis: number | null): Tensor {
  return tf.tidy(() => {
    const axes = axis === null ? undefined : w.shape.map((_, i) => i).filter((i) => i !== axis);
    const amax = tf.max(tf.abs(w), axes, true);
    const s = tf.maximum(tf.div(amax, 127), MIN_SCALE);
    return tf.where(tf.equal(amax, 0), tf.fill(amax.shape, ZERO_RANGE_SCALE), s);
  });
}

/**
 * Fake-quantizes a weight as `quantizeModel` will store it: int8 symmetric, per channel along
 * `axis` (or per tensor with `null`), scales from the weight itself, with the STE gradient
 * (codes never saturate, so the gradient is the identity).
 * @param w the weight.
 * @param axis the output-channel axis (Linear [in, out]: 1; Conv2d HWIO: 3) or null.
 * @returns the fake-quantized weight.
 * @throws ValueError if `axis` is out of range.
 */
export function fakeQuantizeWeight(w: Tensor, axis: number | null): Tensor {
  if (axis !== null && (axis < 0 || axis >= w.rank)) {
    throw new ValueError(`fakeQuantizeWeight: option 'axis' must be in [0, ${w.rank - 1}] for a rank-${w.rank} weight, got ${axis}`, 'axis');
  }
  const s = weightScaleTensor(w, axis);
  const f = tf.customGrad(((input: Tensor) => {
    const value = tf.mul(tf.clipByValue(tf.round(tf.div(input, s)), -127, 127), s);
    return { value, gradFunc: (dy: Tensor) => dy };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const out = f(w);
  s.dispose();
  return out;
}

import { tf, Rng, NonFiniteError, ShapeError, ValueError } from '@x/tensor';
import { loadFixture } from '@x/test-utils';
import {
  computeQuantParams,
  dequantize,
  quantize,
  quantizeTensor,
  quantParamsFromRange,
  roundHalfToEven,
  MIN_SCALE,
  ZERO_RANGE_SCALE,
  type QuantParams,
} from './quant.js';

const fx = loadFixture('quant.json');
const x = Float32Array.from(fx.inputs.x_float32 as number[]);
const W = Float32Array.from((fx.inputs.W_float32_16x64 as number[][]).flat());

/** Transpose of a row-major [r, c] matrix. */
function transpose(a: Float32Array | Int8Array, r: number, c: number): number[] {
  const out = new Array<number>(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
  return out;
}

describe('roundHalfToEven', () => {
  it('matches numpy / torch on the fixture rounding probe (ties to even, unlike Math.round)', () => {
    const probe = fx.torch.rounding_probe;
    expect((probe.input as number[]).map(roundHalfToEven)).toEqual(probe.numpy_round_half_even);
    expect((probe.input as number[]).map(roundHalfToEven)).toEqual(probe.torch_qint8_zp0);
    expect((probe.input as number[]).map((v) => Math.round(v))).not.toEqual(probe.numpy_round_half_even);
  });

  it('rounds non-ties to the nearest integer and leaves integers alone', () => {
    expect([0.49999, 0.50001, -0.50001, -0.49999, 7, -7, 2 ** 53].map(roundHalfToEven)).toEqual([0, 1, -1, 0, 7, -7, 2 ** 53]);
  });

  it('gives torch quint8 codes for the probe with scale 1 and zero point 10', () => {
    const probe = fx.torch.rounding_probe;
    const params: QuantParams = { dtype: 'uint8', scheme: 'asymmetric', axis: null, scale: Float32Array.of(1), zeroPoint: Int32Array.of(10) };
    expect(Array.from(quantize(Float32Array.from(probe.input), [7], params))).toEqual(probe.torch_quint8_zp10);
  });
});

describe('post-training quantization against quant.json (exact)', () => {
  it('uint8 asymmetric per-tensor: scale, zero point and all 1000 codes', () => {
    const ref = fx.reference_uint8_asymmetric_per_tensor;
    const q = quantizeTensor(x, { dtype: 'uint8', scheme: 'asymmetric' });
    expect(q.params.axis).toBeNull();
    expect(q.codes).toBeInstanceOf(Uint8Array);
    // The scale is stored as float32 (what ONNX holds): the float64 reference rounded once.
    expect(q.params.scale[0]).toBe(Math.fround(ref.scale));
    expect(q.params.zeroPoint[0]).toBe(ref.zero_point);
    expect(Array.from(q.codes)).toEqual(ref.q);
    const deq = dequantize(q);
    let maxErr = 0;
    for (let i = 0; i < x.length; i++) maxErr = Math.max(maxErr, Math.abs(deq[i] - x[i]));
    // float32 dequantization vs the float64 reference: same codes, error equal to ~1e-8.
    expect(Math.abs(maxErr - ref.max_abs_dequant_error)).toBeLessThan(1e-7);
    expect(maxErr).toBeLessThanOrEqual(ref.half_scale + 1e-7);
  });

  it('int8 symmetric per-tensor: zero point exactly 0, codes in [-127, 127]', () => {
    const ref = fx.reference_int8_symmetric_per_tensor;
    const q = quantizeTensor(x, { dtype: 'int8', scheme: 'symmetric' });
    expect(q.codes).toBeInstanceOf(Int8Array);
    expect(q.params.scale[0]).toBe(Math.fround(ref.scale));
    expect(q.params.zeroPoint[0]).toBe(0);
    expect(Array.from(q.codes)).toEqual(ref.q);
    expect(Math.min(...q.codes)).toBeGreaterThanOrEqual(-127);
    expect(Math.max(...q.codes)).toBe(127);
  });

  it('int8 symmetric per-channel along axis 0 of the 16x64 matrix', () => {
    const ref = fx.reference_int8_symmetric_per_channel_axis0;
    const q = quantizeTensor(W, { shape: [16, 64], dtype: 'int8', axis: 0 });
    expect(q.params.axis).toBe(0);
    expect(Array.from(q.params.scale)).toEqual((ref.scale as number[]).map(Math.fround));
    expect(Array.from(q.params.zeroPoint)).toEqual(ref.zero_point);
    expect(Array.from(q.codes)).toEqual((ref.q as number[][]).flat());
  });

  it('per output channel of a Linear weight [in, out] is axis 1: same codes as axis 0 of the transpose', () => {
    const ref = fx.reference_int8_symmetric_per_channel_axis0;
    const wt = Float32Array.from(transpose(W, 16, 64)); // [64, 16], channels on axis 1
    const q = quantizeTensor(wt, { shape: [64, 16], axis: 1 });
    expect(Array.from(q.params.scale)).toEqual((ref.scale as number[]).map(Math.fround));
    expect(transpose(q.codes as Int8Array, 64, 16)).toEqual((ref.q as number[][]).flat());
    // A negative axis counts from the end and is stored normalised.
    expect(quantizeTensor(wt, { shape: [64, 16], axis: -1 }).params.axis).toBe(1);
  });

  it('int8 asymmetric uses the uint8 scale with the zero point shifted by -128', () => {
    const ref = fx.reference_uint8_asymmetric_per_tensor;
    const q = quantizeTensor(x, { dtype: 'int8', scheme: 'asymmetric' });
    expect(q.params.scale[0]).toBe(Math.fround(ref.scale));
    expect(q.params.zeroPoint[0]).toBe(ref.zero_point - 128);
    expect(Array.from(q.codes)).toEqual((ref.q as number[]).map((c) => c - 128));
  });

  it('accepts a Tensor and takes its shape', () => {
    const t = tf.tensor2d(W, [16, 64]);
    const q = quantizeTensor(t, { axis: 0 });
    t.dispose();
    expect(q.shape).toEqual([16, 64]);
    expect(Array.from(q.codes)).toEqual((fx.reference_int8_symmetric_per_channel_axis0.q as number[][]).flat());
  });
});

describe('ranges, constants and the round-trip bound', () => {
  it('widens the range to contain 0, so 0 is exact, for all-positive and all-negative data', () => {
    const pos = Float32Array.of(1, 1.5, 2);
    const p = computeQuantParams(pos, [3], { dtype: 'uint8' });
    expect(p.zeroPoint[0]).toBe(0);
    expect(p.scale[0]).toBe(Math.fround(2 / 255));
    const neg = Float32Array.of(-3, -1);
    const n = computeQuantParams(neg, [2], { dtype: 'uint8' });
    expect(n.zeroPoint[0]).toBe(255);
    const zero = quantize(Float32Array.of(0), [1], n);
    expect(dequantize({ shape: [1], codes: zero, params: n })[0]).toBe(0);
  });

  it(`gives an all-zero tensor scale ${ZERO_RANGE_SCALE} and codes that dequantize to exactly 0`, () => {
    for (const opts of [{ dtype: 'int8' as const }, { dtype: 'uint8' as const }, { dtype: 'int8' as const, scheme: 'asymmetric' as const }]) {
      const q = quantizeTensor(new Float32Array(6), opts);
      expect(q.params.scale[0]).toBe(1);
      expect(Array.from(dequantize(q))).toEqual([0, 0, 0, 0, 0, 0]);
    }
    expect(quantizeTensor(new Float32Array(6), { dtype: 'int8' }).params.zeroPoint[0]).toBe(0);
  });

  it('gives a constant tensor a positive scale that represents the constant exactly at the range end', () => {
    const q = quantizeTensor(new Float32Array(4).fill(3), { dtype: 'uint8' });
    expect(q.params.scale[0]).toBe(Math.fround(3 / 255));
    expect(Array.from(q.codes)).toEqual([255, 255, 255, 255]);
    expect(Math.abs(dequantize(q)[0] - 3)).toBeLessThan(1e-6);
    const s = quantizeTensor(new Float32Array(4).fill(-2), { dtype: 'int8' });
    expect(Array.from(s.codes)).toEqual([-127, -127, -127, -127]);
  });

  it('floors tiny scales at MIN_SCALE and gives an all-zero channel its own scale 1', () => {
    const tiny = computeQuantParams(Float32Array.of(1e-30, -1e-30), [2], { dtype: 'int8' });
    expect(tiny.scale[0]).toBe(MIN_SCALE);
    // [2, 3] per channel on axis 1: the middle column is pruned to zero.
    const w = Float32Array.of(0.5, 0, -0.25, -1, 0, 0.125);
    const p = computeQuantParams(w, [2, 3], { axis: 1 });
    expect(Array.from(p.scale)).toEqual([Math.fround(1 / 127), 1, Math.fround(0.25 / 127)]);
    expect(Array.from(quantize(w, [2, 3], p))).toEqual([64, 0, -127, -127, 0, 64]);
  });

  it('keeps |dequantize(quantize(x)) - x| <= scale/2 inside the range for random tensors (200 seeded cases)', () => {
    const rng = new Rng(3);
    for (let t = 0; t < 200; t++) {
      const n = 1 + rng.int(50);
      const spread = Math.exp(rng.uniform(-8, 4));
      const shift = rng.uniform(-1, 1) * spread;
      const v = rng.normalArray(n, shift, spread);
      const opts = [{ dtype: 'int8' as const }, { dtype: 'uint8' as const }, { dtype: 'int8' as const, scheme: 'asymmetric' as const }][t % 3];
      const q = quantizeTensor(v, opts);
      const deq = dequantize(q);
      const s = q.params.scale[0];
      for (let i = 0; i < n; i++) {
        // float32 division and product add at most a few ulps of the value on top of scale/2.
        expect(Math.abs(deq[i] - v[i])).toBeLessThanOrEqual(s / 2 + 4e-7 * Math.abs(v[i]) + 1e-12);
      }
    }
  });

  it('quantParamsFromRange builds uint8 asymmetric activation parameters by default', () => {
    const p = quantParamsFromRange({ min: 0, max: 6 });
    expect(p).toEqual({ dtype: 'uint8', scheme: 'asymmetric', axis: null, scale: Float32Array.of(Math.fround(6 / 255)), zeroPoint: Int32Array.of(0) });
  });
});

describe('bad input gets named errors', () => {
  it('rejects unsupported bit widths and dtypes naming the option', () => {
    expect(() => computeQuantParams(x, [1000], { bits: 4 })).toThrow(ValueError);
    expect(() => computeQuantParams(x, [1000], { bits: 4 })).toThrow(/option 'bits' must be 8.*got 4/);
    expect(() => computeQuantParams(x, [1000], { dtype: 'int16' as never })).toThrow(/option 'dtype' must be 'int8' or 'uint8', got 'int16'/);
    expect(() => computeQuantParams(x, [1000], { dtype: 'uint8', scheme: 'symmetric' })).toThrow(ValueError);
  });

  it('rejects a per-channel axis out of range, naming the axis and the rank', () => {
    const err = (() => {
      try {
        computeQuantParams(W, [16, 64], { axis: 2 });
      } catch (e) {
        return e as ValueError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ValueError);
    expect(err?.argument).toBe('axis');
    expect(err?.message).toMatch(/option 'axis' must be an integer in \[-2, 1\] for a rank-2 tensor, got 2/);
    expect(() => computeQuantParams(W, [16, 64], { axis: -3 })).toThrow(/rank-2.*got -3/);
  });

  it('rejects NaN values with NonFiniteError naming the index', () => {
    const bad = Float32Array.of(0, 1, NaN, 2);
    expect(() => computeQuantParams(bad, [4])).toThrow(NonFiniteError);
    expect(() => computeQuantParams(bad, [4])).toThrow(/got NaN at index 2/);
    const p = computeQuantParams(Float32Array.of(0, 1), [2]);
    expect(() => quantize(Float32Array.of(Infinity, 0), [2], p)).toThrow(NonFiniteError);
  });

  it('rejects shapes that do not match the values and parameters that do not fit', () => {
    expect(() => computeQuantParams(x, [10, 10])).toThrow(ShapeError);
    const p = computeQuantParams(W, [16, 64], { axis: 0 });
    expect(() => quantize(W, [64, 16], p)).toThrow(/'params.scale' must be a Float32Array of 64 entries/);
    const zeroScale = { ...p, axis: null, scale: Float32Array.of(0), zeroPoint: Int32Array.of(0) };
    expect(() => quantize(W, [16, 64], zeroScale)).toThrow(/'params.scale\[0\]' must be finite and > 0, got 0/);
    const badZp = { ...zeroScale, scale: Float32Array.of(1), zeroPoint: Int32Array.of(3) };
    expect(() => quantize(W, [16, 64], badZp)).toThrow(/must be 0 for symmetric, got 3/);
    expect(() => computeQuantParams([1, 2] as never, [2])).toThrow(TypeError);
  });
});

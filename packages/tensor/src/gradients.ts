/**
 * Gradient registrations for every kernel the @x packages differentiate through.
 *
 * Why our own and not tfjs's `register_all_gradients`:
 * - tfjs-core's node bundle registers no gradients; its gradient modules are ESM with
 *   extension-less imports that Node cannot load, and the `@tensorflow/tfjs` union (141 MB)
 *   would be the only other source.
 * - tfjs's gradients for tanh, sigmoid and exp save the op's OUTPUT, which makes
 *   `grad(grad(f))` throw, and logSoftmax / softmaxCrossEntropy use `customGrad`, whose
 *   forward is not taped, so second derivatives through them are silently wrong.
 *   Every gradient here saves inputs and is written from differentiable ops only, so
 *   gradients of gradients (full MAML) are right.
 * - On wasm, `matMul` with transpose flags is ~10x slower than an explicit transpose, and
 *   `Conv2DBackpropFilter` does not exist; the gradients below avoid both.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { UnsupportedError } from './errors.js';

type Grads = Record<string, () => Tensor>;

/** Sums `dy` over the axes along which `shape` was broadcast, then reshapes to `shape`. */
export function reduceToShape(dy: Tensor, shape: number[]): Tensor {
  if (dy.shape.length === shape.length && dy.shape.every((d, i) => d === shape[i])) return dy;
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  let r = dy;
  if (axes.length > 0) r = tf.sum(r, axes);
  return tf.reshape(r, shape);
}

function normAxes(axis: number | number[] | undefined | null, rank: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: rank }, (_, i) => i);
  const list = Array.isArray(axis) ? axis : [axis];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** Shape that `x` has after reducing `axes` with keepDims. */
function keptShape(shape: number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function unary(kernelName: string, grad: (dy: Tensor, x: Tensor, attrs: NamedAttrMap) => Tensor, inputName = 'x'): GradConfig {
  return {
    kernelName,
    inputsToSave: [inputName],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      return { [inputName]: () => grad(dy as Tensor, x, attrs) };
    },
  };
}

function zeroGrad(kernelName: string, inputs: string[]): GradConfig {
  return {
    kernelName,
    inputsToSave: inputs,
    gradFunc: (_dy, saved) => {
      const out: Grads = {};
      inputs.forEach((name, i) => {
        out[name] = () => tf.zerosLike(saved[i]);
      });
      return out;
    },
  };
}

function binary(
  kernelName: string,
  ga: (dy: Tensor, a: Tensor, b: Tensor) => Tensor,
  gb: (dy: Tensor, a: Tensor, b: Tensor) => Tensor,
): GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      const d = dy as Tensor;
      return {
        a: () => reduceToShape(ga(d, a, b), a.shape),
        b: () => reduceToShape(gb(d, a, b), b.shape),
      };
    },
  };
}

function stepPositive(x: Tensor): Tensor {
  return tf.cast(tf.greater(x, 0), x.dtype);
}

function pair(v: [number, number] | number): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/**
 * Weight gradient of a 2-D convolution (NHWC input, HWIO filter), computed as
 * im2col(x)ᵀ · dy from slices, concat and one matMul. Every op used here has a gradient,
 * so it is itself differentiable (with respect to x and dy), and every op exists on wasm.
 */
export function conv2dFilterGrad(
  x: Tensor,
  dy: Tensor,
  filterShape: [number, number, number, number],
  attrs: { strides: [number, number] | number; pad: unknown; dilations: [number, number] | number; dimRoundingMode?: unknown },
): Tensor {
  const [kh, kw, ci, co] = filterShape;
  const [sh, sw] = pair(attrs.strides);
  const [dh, dw] = pair(attrs.dilations ?? 1);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    [sh, sw],
    [dh, dw],
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    false,
    'channelsLast',
  );
  const { top, bottom, left, right } = info.padInfo;
  const oh = info.outHeight;
  const ow = info.outWidth;
  const n = x.shape[0];
  if (sh === 1 && sw === 1 && dh === 1 && dw === 1) {
    // Stride 1: dW is itself a convolution of the padded input (batch moved to channels) with
    // dy as the filter: one conv2d kernel instead of kh·kw slices, a concat and a matmul
    // (2-4x faster on wasm; differentiable, so second order still works).
    const [, h, w] = x.shape;
    const xpad = tf.pad(x, [[0, 0], [top, oh + kh - 1 - h - top], [left, ow + kw - 1 - w - left], [0, 0]]);
    const r = tf.conv2d(tf.transpose(xpad, [3, 1, 2, 0]) as tf.Tensor4D, tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D, 1, 'valid'); // [ci, kh, kw, co]
    return tf.transpose(r, [1, 2, 0, 3]);
  }
  const xp = top || bottom || left || right ? tf.pad(x, [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]]) : x;
  const spanH = (oh - 1) * sh + 1;
  const spanW = (ow - 1) * sw + 1;
  const cols: Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      let patch = tf.slice(xp, [0, i * dh, j * dw, 0], [n, spanH, spanW, ci]);
      if (sh > 1 || sw > 1) {
        // Take every s-th row/column: pad up to a multiple of the stride, fold the stride
        // into its own axis and keep index 0 (slice and reshape have gradients; strided
        // slice would need one more).
        patch = tf.pad(patch, [[0, 0], [0, oh * sh - spanH], [0, ow * sw - spanW], [0, 0]]);
        patch = tf.reshape(patch, [n, oh, sh, ow, sw, ci]);
        patch = tf.slice(patch, [0, 0, 0, 0, 0, 0], [n, oh, 1, ow, 1, ci]);
      }
      cols.push(tf.reshape(patch, [n * oh * ow, ci]));
    }
  }
  const im2col = cols.length === 1 ? cols[0] : tf.concat(cols, 1); // [n·oh·ow, kh·kw·ci]
  const dyMat = tf.reshape(dy, [n * oh * ow, co]);
  const dW = tf.matMul(tf.transpose(im2col), dyMat); // [kh·kw·ci, co]
  return tf.reshape(dW, filterShape);
}

/**
 * dx of a stride-1, dilation-1 conv2d as a plain conv2d: dy padded by (k − 1 − pad) before and
 * what remains after, correlated with the filter flipped in space and with its channel axes
 * swapped. On wasm this is 2-4x faster than its Conv2DBackpropInput kernel, and it is taped
 * as a Conv2D, whose gradient is registered (second order through convs keeps working).
 */
function conv2dInputGradStride1(dy: tf.Tensor4D, filter: tf.Tensor4D, xShape: [number, number, number, number], pad: unknown, dimRoundingMode: unknown): Tensor {
  const [kh, kw] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(xShape, filter.shape, [1, 1], [1, 1], pad as 'same', dimRoundingMode as 'floor' | undefined, false, 'channelsLast');
  const { top, left } = info.padInfo;
  const [, h, w] = xShape;
  const [, oh, ow] = dy.shape;
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  const padded = tf.pad(dy, [[0, 0], [kh - 1 - top, h + top - oh], [kw - 1 - left, w + left - ow], [0, 0]]);
  return tf.conv2d(padded, flipped, 1, 'valid');
}

function isNonOverlapping(attrs: NamedAttrMap): boolean {
  const [fh, fw] = pair(attrs.filterSize as [number, number] | number);
  const [sh, sw] = pair(attrs.strides as [number, number] | number);
  return fh === sh && fw === sw && attrs.pad === 'valid';
}

const configs: GradConfig[] = [
  // ---- element-wise unary -------------------------------------------------------------
  unary('Abs', (dy, x) => tf.mul(dy, tf.sign(x))),
  unary('Neg', (dy) => tf.neg(dy)),
  unary('Exp', (dy, x) => tf.mul(dy, tf.exp(x))),
  unary('Expm1', (dy, x) => tf.mul(dy, tf.exp(x))),
  unary('Log', (dy, x) => tf.div(dy, x)),
  unary('Log1p', (dy, x) => tf.div(dy, tf.add(x, 1))),
  unary('Sqrt', (dy, x) => tf.div(dy, tf.mul(tf.sqrt(x), 2))),
  unary('Rsqrt', (dy, x) => tf.mul(dy, tf.mul(tf.pow(x, -1.5), -0.5))),
  unary('Square', (dy, x) => tf.mul(dy, tf.mul(x, 2))),
  unary('Reciprocal', (dy, x) => tf.neg(tf.div(dy, tf.square(x)))),
  unary('Relu', (dy, x) => tf.mul(dy, stepPositive(x))),
  unary('Relu6', (dy, x) => tf.mul(dy, tf.cast(tf.logicalAnd(tf.greater(x, 0), tf.less(x, 6)), x.dtype))),
  unary('LeakyRelu', (dy, x, attrs) => tf.mul(dy, tf.where(tf.greater(x, 0), tf.onesLike(x), tf.fill(x.shape, attrs.alpha as number)))),
  unary('Elu', (dy, x) => tf.mul(dy, tf.where(tf.greater(x, 0), tf.onesLike(x), tf.exp(x)))),
  unary('Sigmoid', (dy, x) => {
    const s = tf.sigmoid(x);
    return tf.mul(dy, tf.mul(s, tf.sub(1, s)));
  }),
  unary('Tanh', (dy, x) => tf.mul(dy, tf.sub(1, tf.square(tf.tanh(x))))),
  unary('Softplus', (dy, x) => tf.mul(dy, tf.sigmoid(x))),
  unary('Sin', (dy, x) => tf.mul(dy, tf.cos(x))),
  unary('Cos', (dy, x) => tf.neg(tf.mul(dy, tf.sin(x)))),
  unary('Erf', (dy, x) => tf.mul(dy, tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI)))),
  unary('Identity', (dy) => dy),
  unary('ClipByValue', (dy, x, attrs) =>
    tf.mul(dy, tf.cast(tf.logicalAnd(tf.greaterEqual(x, attrs.clipValueMin as number), tf.lessEqual(x, attrs.clipValueMax as number)), dy.dtype)),
  ),
  unary('Cast', (dy, x) => (x.dtype === 'float32' ? tf.cast(dy, 'float32') : tf.zerosLike(x))),
  unary('Reshape', (dy, x) => tf.reshape(dy, x.shape)),
  unary('Transpose', (dy, _x, attrs) => {
    const perm = attrs.perm as number[];
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return tf.transpose(dy, inv);
  }),
  unary('Sum', (dy, x, attrs) => {
    const axes = normAxes(attrs.axis as number[], x.rank);
    return tf.mul(tf.reshape(dy, keptShape(x.shape, axes)), tf.onesLike(x));
  }),
  unary('Mean', (dy, x, attrs) => {
    const axes = normAxes(attrs.axis as number[], x.rank);
    const count = axes.reduce((p, a) => p * x.shape[a], 1);
    return tf.div(tf.mul(tf.reshape(dy, keptShape(x.shape, axes)), tf.onesLike(x)), count);
  }),
  unary('Max', (dy, x, attrs) => {
    const axes = normAxes(attrs.reductionIndices as number[], x.rank);
    const kept = keptShape(x.shape, axes);
    const y = tf.reshape(tf.max(x, axes), kept);
    return tf.mul(tf.reshape(dy, kept), tf.cast(tf.equal(x, y), x.dtype));
  }),
  unary('Min', (dy, x, attrs) => {
    const axes = normAxes(attrs.axis as number[], x.rank);
    const kept = keptShape(x.shape, axes);
    const y = tf.reshape(tf.min(x, axes), kept);
    return tf.mul(tf.reshape(dy, kept), tf.cast(tf.equal(x, y), x.dtype));
  }),
  unary('Slice', (dy, x, attrs) => {
    const begin = tf.slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[])[0];
    const paddings = dy.shape.map((d, i) => [begin[i], x.shape[i] - begin[i] - d] as [number, number]);
    return tf.pad(dy, paddings);
  }),
  // Reverse is its own adjoint (the stride-1 conv input gradient flips the filter with it).
  unary('Reverse', (dy, _x, attrs) => tf.reverse(dy, attrs.dims as number[])),
  unary('PadV2', (dy, x, attrs) => {
    const paddings = attrs.paddings as Array<[number, number]>;
    return tf.slice(dy, paddings.map((p) => p[0]), x.shape);
  }),
  unary('Tile', (dy, x, attrs) => {
    const reps = attrs.reps as number[];
    // Fold each tiled axis into [rep, size] and sum over the rep axes.
    const folded: number[] = [];
    const sumAxes: number[] = [];
    x.shape.forEach((d, i) => {
      sumAxes.push(folded.length);
      folded.push(reps[i], d);
    });
    return tf.sum(tf.reshape(dy, folded), sumAxes);
  }),
  unary('BroadcastTo', (dy, x) => reduceToShape(dy, x.shape)),
  unary('Softmax', (dy, x, attrs) => {
    const dim = attrs.dim as number;
    const y = tf.softmax(x, dim);
    return tf.mul(y, tf.sub(dy, tf.sum(tf.mul(dy, y), dim, true)));
  }, 'logits'), // the Softmax kernel's input is named 'logits'
  unary('MaxPool', (dy, x, attrs) => {
    const y = tf.maxPool(x as tf.Tensor4D, attrs.filterSize as [number, number], attrs.strides as [number, number], attrs.pad as 'valid');
    return maxPoolBackward(dy, x, y, attrs);
  }),
  unary('AvgPool', (dy, x, attrs) => avgPoolBackward(dy, x, attrs)),

  // ---- zero or no gradient ------------------------------------------------------------
  ...['Sign', 'Floor', 'Ceil', 'Round', 'Step', 'IsNan', 'IsInf', 'LogicalNot', 'ZerosLike', 'OnesLike', 'ArgMax', 'ArgMin'].map((k) =>
    zeroGrad(k, ['x']),
  ),
  ...['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'FloorDiv', 'Mod'].map((k) =>
    zeroGrad(k, ['a', 'b']),
  ),
  zeroGrad('OneHot', ['indices']),

  // ---- element-wise binary ------------------------------------------------------------
  binary('Add', (dy) => dy, (dy) => dy),
  binary('Sub', (dy) => dy, (dy) => tf.neg(dy)),
  binary('Multiply', (dy, _a, b) => tf.mul(dy, b), (dy, a) => tf.mul(dy, a)),
  binary('RealDiv', (dy, _a, b) => tf.div(dy, b), (dy, a, b) => tf.neg(tf.div(tf.mul(dy, a), tf.square(b)))),
  binary(
    'SquaredDifference',
    (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(a, b), 2)),
    (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(b, a), 2)),
  ),
  binary(
    'Maximum',
    (dy, a, b) => tf.mul(dy, tf.cast(tf.greaterEqual(a, b), dy.dtype)),
    (dy, a, b) => tf.mul(dy, tf.cast(tf.less(a, b), dy.dtype)),
  ),
  binary(
    'Minimum',
    (dy, a, b) => tf.mul(dy, tf.cast(tf.lessEqual(a, b), dy.dtype)),
    (dy, a, b) => tf.mul(dy, tf.cast(tf.greater(a, b), dy.dtype)),
  ),
  binary(
    'Pow',
    (dy, a, b) => tf.mul(dy, tf.mul(b, tf.pow(a, tf.sub(b, 1)))),
    (dy, a, b) => {
      // d/db a^b = a^b·log a, defined as 0 where a ≤ 0 (as tfjs and torch do).
      const positive = tf.greater(a, 0);
      const safeLog = tf.log(tf.where(positive, a, tf.onesLike(a)));
      return tf.mul(dy, tf.mul(tf.pow(a, b), tf.where(positive, safeLog, tf.zerosLike(a))));
    },
  ),
  {
    kernelName: 'Atan2',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const d = tf.add(tf.square(a), tf.square(b));
      return {
        a: () => reduceToShape(tf.div(tf.mul(dy as Tensor, b), d), a.shape),
        b: () => reduceToShape(tf.div(tf.neg(tf.mul(dy as Tensor, a)), d), b.shape),
      };
    },
  },
  {
    kernelName: 'Select',
    inputsToSave: ['condition'],
    gradFunc: (dy, [condition]) => {
      const d = dy as Tensor;
      return {
        condition: () => tf.zerosLike(condition),
        t: () => tf.mul(d, tf.cast(condition, d.dtype)),
        e: () => tf.mul(d, tf.cast(tf.logicalNot(condition), d.dtype)),
      };
    },
  },
  {
    kernelName: 'AddN',
    saveAllInputs: true,
    gradFunc: (dy, saved) => {
      const out: Grads = {};
      saved.forEach((_, i) => (out[i] = () => (dy as Tensor).clone()));
      return out;
    },
  },

  // ---- shape ---------------------------------------------------------------------------
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const d = dy as Tensor;
      const axis = tf.util.parseAxisParam(attrs.axis as number, saved[0].shape)[0];
      const sizes = saved.map((t) => t.shape[axis]);
      const parts = tf.split(d, sizes, axis);
      const out: Grads = {};
      parts.forEach((p, i) => (out[i] = () => p));
      return out;
    },
  },
  {
    kernelName: 'Pack',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const parts = tf.unstack(dy as Tensor, attrs.axis as number);
      const out: Grads = {};
      saved.forEach((_, i) => (out[i] = () => parts[i]));
      return out;
    },
  },
  {
    kernelName: 'Unpack',
    gradFunc: (dy, _saved, attrs) => ({ value: () => tf.stack(dy as Tensor[], attrs.axis as number) }),
  },
  {
    kernelName: 'SplitV',
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.concat(dy as Tensor[], attrs.axis as number) }),
  },
  {
    kernelName: 'GatherV2',
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, [x, indices], attrs) => {
      const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
      if (axis !== 0 || (attrs.batchDims as number) !== 0) {
        throw new UnsupportedError(`gather gradient: only axis 0 without batch dims is differentiable here, got axis ${axis}`);
      }
      return {
        x: () => {
          const flatIdx = tf.reshape(indices, [indices.size]);
          const rows = tf.reshape(dy as Tensor, [indices.size, ...x.shape.slice(1)]);
          return tf.unsortedSegmentSum(rows, tf.cast(flatIdx, 'int32') as tf.Tensor1D, x.shape[0]);
        },
        indices: () => tf.zerosLike(indices),
      };
    },
  },

  // ---- linear algebra and nn ----------------------------------------------------------
  {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      // Explicit transposes: on wasm, matMul with transpose flags is ~10x slower.
      const d = dy as Tensor;
      const tA = attrs.transposeA as boolean;
      const tB = attrs.transposeB as boolean;
      const T = (t: Tensor) => (t.rank === 2 ? tf.transpose(t) : tf.transpose(t, [...t.shape.keys()].map((i, _, arr) => (i < arr.length - 2 ? i : i === arr.length - 2 ? arr.length - 1 : arr.length - 2))));
      const mm = (p: Tensor, q: Tensor) => tf.matMul(p, q);
      let da: () => Tensor;
      let db: () => Tensor;
      if (!tA && !tB) {
        da = () => mm(d, T(b));
        db = () => mm(T(a), d);
      } else if (!tA && tB) {
        da = () => mm(d, b);
        db = () => mm(T(d), a);
      } else if (tA && !tB) {
        da = () => mm(b, T(d));
        db = () => mm(a, d);
      } else {
        da = () => mm(T(b), T(d));
        db = () => mm(T(d), T(a));
      }
      return { a: () => reduceToShape(da(), a.shape), b: () => reduceToShape(db(), b.shape) };
    },
  },
  {
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, [x, filter], attrs) => {
      if (attrs.dataFormat !== 'NHWC') throw new UnsupportedError(`conv2d gradient: only NHWC is supported, got ${String(attrs.dataFormat)}`);
      const [dh, dw] = pair(attrs.dilations as [number, number]);
      if (dh !== 1 || dw !== 1) throw new UnsupportedError(`conv2d gradient: dilation must be 1, got [${dh},${dw}]`);
      const d = dy as tf.Tensor4D;
      const [sh, sw] = pair(attrs.strides as [number, number]);
      return {
        x: () =>
          sh === 1 && sw === 1
            ? conv2dInputGradStride1(d, filter as tf.Tensor4D, x.shape as [number, number, number, number], attrs.pad, attrs.dimRoundingMode)
            : tf.conv2dTranspose(d, filter as tf.Tensor4D, x.shape as [number, number, number, number], attrs.strides as [number, number], attrs.pad as 'same', attrs.dimRoundingMode as 'floor'),
        filter: () => conv2dFilterGrad(x, d, filter.shape as [number, number, number, number], attrs as never),
      };
    },
  },
  {
    // conv2dTranspose(dy, W) is bilinear in (dy, W): ∂/∂dy is conv2d(ddx, W) and ∂/∂W is the
    // conv filter gradient with ddx as input. Needed for second-order MAML through convs.
    kernelName: 'Conv2DBackpropInput',
    inputsToSave: ['dy', 'filter'],
    gradFunc: (ddx, [dy, filter], attrs) => {
      const g = ddx as tf.Tensor4D;
      return {
        dy: () => tf.conv2d(g, filter as tf.Tensor4D, attrs.strides as [number, number], attrs.pad as 'same', 'NHWC', 1, attrs.dimRoundingMode as 'floor'),
        filter: () => conv2dFilterGrad(g, dy, filter.shape as [number, number, number, number], { ...(attrs as object), dilations: 1 } as never),
      };
    },
  },
  {
    kernelName: 'MaxPoolGrad',
    inputsToSave: ['dy', 'input', 'output'],
    gradFunc: (ddx, [dy, input, output], attrs) => {
      if (!isNonOverlapping(attrs)) {
        throw new UnsupportedError('max-pool second derivative: only non-overlapping windows (filter = stride, padding valid) are supported');
      }
      const [fh, fw] = pair(attrs.filterSize as [number, number]);
      return {
        // The backward pass routes each dy to its window's argmax; its adjoint reads ddx there.
        dy: () => {
          const mask = runKernel('MaxPoolGrad', { dy: tf.onesLike(dy), input, output }, { filterSize: [fh, fw], strides: [fh, fw], pad: 'valid' });
          return tf.mul(tf.avgPool(tf.mul(ddx as Tensor, mask) as tf.Tensor4D, [fh, fw], [fh, fw], 'valid'), fh * fw);
        },
        input: () => tf.zerosLike(input),
        output: () => tf.zerosLike(output),
      };
    },
  },
  {
    kernelName: 'AvgPoolGrad',
    inputsToSave: ['dy', 'input'],
    gradFunc: (ddx, [, input], attrs) => ({
      dy: () => tf.avgPool(ddx as tf.Tensor4D, attrs.filterSize as [number, number], attrs.strides as [number, number], attrs.pad as 'valid'),
      input: () => tf.zerosLike(input),
    }),
  },
];

function maxPoolBackward(dy: Tensor, x: Tensor, y: Tensor, attrs: NamedAttrMap): Tensor {
  return runKernel('MaxPoolGrad', { dy, input: x, output: y }, attrs);
}

function avgPoolBackward(dy: Tensor, x: Tensor, attrs: NamedAttrMap): Tensor {
  // tfjs exposes no public avgPoolGrad op; run the kernel through the engine so it is taped.
  return runKernel('AvgPoolGrad', { dy, input: x }, attrs);
}

/** Runs a kernel that has no public op through the engine, so that it is taped. */
function runKernel(name: string, inputs: Record<string, Tensor>, attrs: NamedAttrMap): Tensor {
  return tf.engine().runKernel(name, inputs as never, attrs) as Tensor;
}

let registered = false;

/** Registers every gradient above (idempotent). Called once when @x/tensor loads. */
export function registerGradients(): void {
  if (registered) return;
  registered = true;
  for (const config of configs) {
    if (tf.getGradient(config.kernelName) !== undefined) {
      // Someone registered tfjs's own gradients first (e.g. the @tensorflow/tfjs union);
      // ours must win for second-order correctness, so drop theirs quietly.
      unregisterGradient(config.kernelName);
    }
    tf.registerGradient(config);
  }
}

function unregisterGradient(kernelName: string): void {
  const fn = (tf as unknown as { unregisterGradient?: (k: string) => void }).unregisterGradient;
  if (fn) fn(kernelName);
}

/** Names of the kernels that have a gradient from this module. */
export function differentiableKernels(): string[] {
  return configs.map((c) => c.kernelName);
}

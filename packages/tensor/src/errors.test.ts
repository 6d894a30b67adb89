import {
  tf,
  ready,
  XError,
  ShapeError,
  ValueError,
  NonFiniteError,
  NotFittedError,
  NotPositiveDefiniteError,
  UnsupportedError,
  checkNumber,
  checkFinite,
  describe as describeValue,
  Linear,
  Conv2d,
  MaxPool2d,
  AvgPool2d,
  BatchNorm,
  Reshape,
  Dropout,
  Sequential,
  ReLU,
  mlp,
  convNet,
  crossEntropy,
  binaryCrossEntropy,
  mse,
  categoricalKl,
  gaussianKl,
  logSumExp,
  logSoftmax,
  accuracy,
  SGD,
  Adam,
} from './index.js';

beforeAll(async () => {
  await ready();
});

/** Asserts that `f` throws an instance of `cls` whose message matches every pattern. */
function expectError(f: () => unknown, cls: new (...a: never[]) => Error, ...patterns: RegExp[]): Error {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(cls);
  for (const p of patterns) expect((caught as Error).message).toMatch(p);
  return caught as Error;
}

describe('error classes', () => {
  it('carry their name, typed fields and cause, and sit in the standard hierarchy', () => {
    const cause = new Error('inner');
    const v = new ValueError("f: argument 'a' must be positive, got -1", 'a', { cause });
    expect(v).toBeInstanceOf(RangeError);
    expect(v.name).toBe('ValueError');
    expect(v.argument).toBe('a');
    expect(v.cause).toBe(cause);
    const s = new ShapeError('f: bad', { expected: 'rank 2', received: [3] });
    expect(s).toBeInstanceOf(RangeError);
    expect([s.name, s.expected, s.received]).toEqual(['ShapeError', 'rank 2', [3]]);
    const n = new NonFiniteError('f: nan', 'x', 4);
    expect(n).toBeInstanceOf(ValueError);
    expect([n.name, n.argument, n.index]).toEqual(['NonFiniteError', 'x', 4]);
    const nf = new NotFittedError('GaussianProcess', 'predict');
    expect(nf).toBeInstanceOf(XError);
    expect(nf.message).toBe('GaussianProcess.predict: this GaussianProcess is not fitted yet; call fit() first');
    const pd = new NotPositiveDefiniteError('cholesky: not PD', { diagonalMin: -1, tries: [0, 1e-6], column: 3 });
    expect([pd.name, pd.diagonalMin, pd.tries, pd.column]).toEqual(['NotPositiveDefiniteError', -1, [0, 1e-6], 3]);
    expect(new UnsupportedError('x').name).toBe('UnsupportedError');
    class Custom extends XError {}
    expect(new Custom('m').name).toBe('Custom');
  });

  it('checkNumber and checkFinite name the function, argument, range and value', () => {
    expectError(() => checkNumber('f', 'lr', '0.1'), TypeError, /^f: argument 'lr' must be a number, got '0\.1'$/);
    expectError(() => checkNumber('f', 'lr', NaN), ValueError, /^f: argument 'lr' must be finite, got NaN$/);
    expectError(() => checkNumber('f', 'k', 2.5, { integer: true }), ValueError, /must be an integer, got 2\.5/);
    expectError(() => checkNumber('f', 'p', 1, { min: 0, max: 1, maxExclusive: true }), ValueError, /must be in \[0, 1\), got 1$/);
    expectError(() => checkNumber('f', 'lr', 0, { min: 0, minExclusive: true }), ValueError, /must be in \(0, ∞\), got 0$/);
    expect(checkNumber('f', 'x', 3, { min: 0 })).toBe(3);
    const e = expectError(() => checkFinite('f', 'x', [1, 2, Infinity]), NonFiniteError, /^f: argument 'x' must hold finite numbers, got Infinity at index 2$/);
    expect((e as NonFiniteError).index).toBe(2);
    expect(describeValue(tf.zeros([2, 3]))).toBe('Tensor of shape [2,3]');
    expect(describeValue([1, 2, 3, 4, 5, 6, 7])).toBe('[1,2,3,4,5,6,… (7)]');
    expect(describeValue(new Float32Array(3))).toBe('Float32Array(3)');
  });
});

describe('layers reject bad construction arguments', () => {
  it('Linear', () => {
    expectError(() => new Linear(0, 3), ValueError, /^Linear: argument 'inFeatures' must be in \[1, ∞\), got 0$/);
    expectError(() => new Linear(3, 2.5), ValueError, /Linear: argument 'outFeatures' must be an integer, got 2\.5/);
    expectError(() => new Linear('3' as never, 2), TypeError, /Linear: argument 'inFeatures' must be a number, got '3'/);
    expectError(() => new Linear(3, 2, null as never), TypeError, /Linear: argument 'options' must be an object, got null/);
    expectError(() => new Linear(3, 2, { init: 'xavier' as never }), ValueError, /Linear: option 'init' must be one of he-uniform, .*got 'xavier'/);
    expectError(() => new Linear(3, 2, { seed: 1.5 }), ValueError, /seed.*got 1\.5/);
  });

  it('Conv2d, pooling, BatchNorm, Dropout, Reshape, Sequential', () => {
    expectError(() => new Conv2d(1, 8, 0), ValueError, /Conv2d: argument 'kernelSize' must be in \[1, ∞\), got 0/);
    expectError(() => new Conv2d(1, 8, 3, { stride: 0 }), ValueError, /Conv2d: argument 'stride'/);
    expectError(() => new Conv2d(1, 8, 3, { padding: -1 }), ValueError, /Conv2d: option 'padding' must be 'same', 'valid' or a non-negative integer, got -1/);
    expectError(() => new MaxPool2d(0), ValueError, /MaxPool2d: argument 'kernelSize'/);
    expectError(() => new AvgPool2d(2, { padding: 'full' as never }), ValueError, /AvgPool2d: option 'padding' must be 'valid' or 'same', got 'full'/);
    expectError(() => new BatchNorm(0), ValueError, /BatchNorm: argument 'numFeatures'/);
    expectError(() => new BatchNorm(4, { momentum: 1.5 }), ValueError, /BatchNorm: argument 'momentum' must be in \[0, 1\], got 1\.5/);
    expectError(() => new BatchNorm(4, { eps: 0 }), ValueError, /BatchNorm: argument 'eps'/);
    expectError(() => new Dropout(1), ValueError, /Dropout: argument 'p' must be in \[0, 1\), got 1/);
    expectError(() => new Dropout(NaN), ValueError, /Dropout: argument 'p' must be finite, got NaN/);
    expectError(() => new Reshape([28, 0]), ValueError, /Reshape: argument 'shape' must be a non-empty list of positive integers, got \[28,0\]/);
    expectError(() => new Sequential(new ReLU(), {} as never), TypeError, /Sequential: argument 1 must be a Module, got Object/);
  });

  it('mlp and convNet', () => {
    expectError(() => mlp([]), ValueError, /^mlp: argument 'sizes' must list at least an input and an output width, got \[\]$/);
    expectError(() => mlp([784]), ValueError, /got \[784\]/);
    expectError(() => mlp(784 as never), ValueError, /got 784/);
    expectError(() => mlp([784, 0, 10]), ValueError, /mlp: argument 'sizes\[1\]' must be in \[1, ∞\), got 0/);
    expectError(() => mlp([4, 2], { activation: 'gelu' as never }), ValueError, /mlp: option 'activation' must be 'relu', 'tanh' or 'sigmoid', got 'gelu'/);
    expectError(() => mlp([4, 3, 2], { dropout: 1.5 }), ValueError, /mlp: argument 'dropout' must be in \[0, 1\), got 1\.5/);
    expectError(() => convNet({ channels: [] }), ValueError, /convNet: option 'channels' must be a non-empty list, got \[\]/);
    expectError(() => convNet({ channels: [8, -1] }), ValueError, /convNet: argument 'channels\[1\]'/);
    expectError(() => convNet({ inputShape: [28, 28] as never }), ValueError, /convNet: option 'inputShape' must be \[H, W, C\], got \[28,28\]/);
    expectError(() => convNet({ channels: [4, 4, 4, 4, 4] }), ValueError, /convNet: 5 pooling blocks shrink a 28x28 image below 1x1/);
  });
});

describe('layers reject bad inputs with the layer named', () => {
  it('Linear: wrong last dimension, rank, or not a tensor', () => {
    const l = new Linear(3, 2);
    const e = expectError(() => l.forward(tf.zeros([4, 5])), ShapeError, /^Linear\(3→2\)\.forward: argument 'x' must have last dimension 3, got shape \[4,5\]$/);
    expect((e as ShapeError).received).toEqual([4, 5]);
    expectError(() => l.forward(tf.zeros([3])), ShapeError, /Linear\(3→2\)\.forward: argument 'x' must be rank 2, got shape \[3\]/);
    expectError(() => l.forward([[1, 2, 3]] as never), TypeError, /Linear\(3→2\)\.forward: argument 'x' must be a Tensor/);
    // Inside a Sequential, the failing layer is named.
    expectError(() => mlp([4, 3, 2]).forward(tf.zeros([2, 5])), ShapeError, /Linear\(4→3\)/);
  });

  it('Conv2d, pooling, BatchNorm, Reshape', () => {
    const conv = new Conv2d(3, 4, 3, { padding: 'valid' });
    expectError(() => conv.forward(tf.zeros([1, 8, 8, 1])), ShapeError, /Conv2d\(3→4, 3x3\)\.forward: argument 'x' must have last dimension 3, got shape \[1,8,8,1\]/);
    expectError(() => conv.forward(tf.zeros([8, 8, 3])), ShapeError, /must be rank 4/);
    expectError(() => conv.forward(tf.zeros([1, 2, 8, 3])), ShapeError, /Conv2d\(3→4, 3x3\)\.forward: argument 'x' must be at least 3x3 per image with padding 'valid', got shape \[1,2,8,3\]/);
    expectError(() => new MaxPool2d(3).forward(tf.zeros([1, 2, 2, 1])), ShapeError, /MaxPool2d\(3\)\.forward: argument 'x' must be at least 3x3/);
    const bn = new BatchNorm(4);
    expectError(() => bn.forward(tf.zeros([2, 3])), ShapeError, /BatchNorm\(4\)\.forward: argument 'x' must have last dimension 4/);
    expectError(() => bn.forward(tf.zeros([1, 4])), ShapeError, /BatchNorm\(4\)\.forward: in training mode argument 'x' needs more than one value per feature, got shape \[1,4\]/);
    bn.eval();
    expect(bn.forward(tf.zeros([1, 4])).shape).toEqual([1, 4]);
    expectError(() => new Reshape([28, 28, 1]).forward(tf.zeros([2, 700])), ValueError, /Reshape\(\[28,28,1\]\)\.forward: argument 'x' must have 784 values per sample, got shape \[2,700\]/);
  });
});

describe('losses reject bad inputs', () => {
  const logits = tf.tensor2d([[1, 2, 3], [0, 0, 0]]);
  it('crossEntropy: labels out of range, non-integer, wrong count; logits of the wrong rank', () => {
    expectError(() => crossEntropy(logits, [0, 3]), ValueError, /^crossEntropy: argument 'labels' must hold integers in \[0, 3\), got 3 at index 1$/);
    expectError(() => crossEntropy(logits, [-1, 0]), ValueError, /got -1 at index 0/);
    expectError(() => crossEntropy(logits, [0, 1.5]), ValueError, /got 1\.5 at index 1/);
    expectError(() => crossEntropy(logits, tf.tensor1d([0, 5], 'int32')), ValueError, /crossEntropy: argument 'labels' must hold integers in \[0, 3\), got 5 at index 1/);
    expectError(() => crossEntropy(logits, tf.tensor1d([0, 0.5])), ValueError, /got 0\.5 at index 1/);
    expectError(() => crossEntropy(logits, [0]), ShapeError, /crossEntropy: argument 'labels' must have 2 entries \(one per row of 'logits'\), got 1/);
    expectError(() => crossEntropy(logits, tf.tensor2d([[0], [1]], [2, 1], 'int32')), ShapeError, /argument 'labels' must be rank 1, got shape \[2,1\]/);
    expectError(() => crossEntropy(tf.tensor1d([1, 2]), [0]), ShapeError, /crossEntropy: argument 'logits' must be rank 2 \[N, C\], got shape \[2\]/);
    expectError(() => crossEntropy(tf.zeros([0, 3]), []), ShapeError, /at least one row and one class, got shape \[0,3\]/);
    expectError(() => crossEntropy([[1, 2]] as never, [0]), TypeError, /crossEntropy: argument 'logits' must be a Tensor/);
    expectError(() => crossEntropy(logits, 'ab' as never), TypeError, /argument 'labels' must be a Tensor or an array of integers, got 'ab'/);
    expectError(() => crossEntropy(logits, [0, 1], { reduction: 'avg' as never }), ValueError, /crossEntropy: option 'reduction' must be 'mean', 'sum' or 'none', got 'avg'/);
  });

  it('binaryCrossEntropy, mse, categoricalKl, gaussianKl, logSumExp, accuracy', () => {
    expectError(() => binaryCrossEntropy(tf.zeros([3]), tf.tensor1d([0, 1.5, 1])), ValueError, /binaryCrossEntropy: argument 'targets' must hold values in \[0, 1\], got 1\.5 at index 1/);
    expectError(() => binaryCrossEntropy(tf.zeros([3]), tf.tensor1d([0, NaN, 1])), ValueError, /got NaN at index 1/);
    expectError(() => binaryCrossEntropy(tf.zeros([3]), tf.zeros([2])), ShapeError, /arguments 'logits' and 'targets' must have the same shape, got \[3\] and \[2\]/);
    expectError(() => mse(tf.zeros([2, 2]), tf.zeros([4])), ShapeError, /^mse: arguments 'pred' and 'target' must have the same shape, got \[2,2\] and \[4\]$/);
    expectError(() => categoricalKl(tf.zeros([2, 3]), tf.zeros([2, 2])), ShapeError, /categoricalKl: arguments 'logP' and 'logQ'/);
    expectError(() => gaussianKl(tf.zeros([2, 3]), undefined as never), TypeError, /gaussianKl: argument 'logVar' must be a Tensor, got undefined/);
    expectError(() => logSumExp(tf.zeros([2, 3]), 2), ValueError, /logSumExp: argument 'axis' must be an integer in \[-2, 2\) for shape \[2,3\], got 2/);
    expectError(() => logSoftmax(tf.scalar(1)), ShapeError, /logSoftmax: argument 'x' must have at least one axis/);
    expectError(() => accuracy(tf.zeros([2, 3]), [0]), ShapeError, /accuracy: argument 'labels' must have 2 entries, got 1/);
    expectError(() => accuracy(tf.zeros([2, 3]), null as never), TypeError, /accuracy: argument 'labels' must be an array of integers, got null/);
  });
});

describe('optimizers reject bad arguments', () => {
  const make = () => new Map([['w', tf.variable(tf.zeros([2, 2]))]]);
  it('constructors', () => {
    expectError(() => new SGD(make(), { lr: NaN }), ValueError, /^SGD: argument 'lr' must be finite, got NaN$/);
    expectError(() => new SGD(make(), { lr: 0 }), ValueError, /SGD: argument 'lr' must be in \(0, ∞\), got 0/);
    expectError(() => new SGD(make(), undefined as never), TypeError, /SGD: argument 'options' must be \{ lr, \.\.\. \}, got undefined/);
    expectError(() => new SGD(make(), { lr: 0.1, momentum: 1 }), ValueError, /SGD: argument 'momentum' must be in \[0, 1\), got 1/);
    expectError(() => new SGD(make(), { lr: 0.1, nesterov: true }), ValueError, /SGD: option 'nesterov' needs a momentum in \(0, 1\), got momentum 0/);
    expectError(() => new SGD(make(), { lr: 0.1, weightDecay: -1 }), ValueError, /SGD: argument 'weightDecay'/);
    expectError(() => new SGD([1, 2] as never, { lr: 0.1 }), TypeError, /SGD: argument 'params' must be a Module or a Map of named variables, got \[1,2\]/);
    expectError(() => new SGD(new Map([['w', 3]]) as never, { lr: 0.1 }), TypeError, /SGD: parameter 'w' of argument 'params' must be a Variable, got 3/);
    expectError(() => new Adam(make(), { lr: Infinity }), ValueError, /Adam: argument 'lr' must be finite, got Infinity/);
    expectError(() => new Adam(make(), { beta1: 1 }), ValueError, /Adam: argument 'beta1' must be in \[0, 1\), got 1/);
    expectError(() => new Adam(make(), { eps: 0 }), ValueError, /Adam: argument 'eps'/);
    expectError(() => new Adam(make(), null as never), TypeError, /Adam: argument 'options' must be an object, got null/);
  });

  it('step: unknown names, wrong shapes and non-tensors fail before anything changes', () => {
    const params = make();
    const opt = new Adam(params, { lr: 0.1 });
    expectError(() => opt.step({ v: tf.zeros([2, 2]) }), ValueError, /^Adam\.step: gradient 'v' is not a parameter \(w\)$/);
    // A [1, 2] gradient would broadcast silently in tfjs.
    const e = expectError(() => opt.step({ w: tf.ones([1, 2]) }), ShapeError, /^Adam\.step: gradient 'w' must have shape \[2,2\], got \[1,2\]$/);
    expect((e as ShapeError).received).toEqual([1, 2]);
    expectError(() => opt.step({ w: [[1, 1], [1, 1]] as never }), TypeError, /Adam\.step: gradient 'w' must be a Tensor/);
    expectError(() => opt.step(null as never), TypeError, /Adam\.step: argument 'grads' must be a Map or an object/);
    expect(opt.iterations).toBe(0);
    expect(opt.state('w')).toBeUndefined();
    expect(Array.from(params.get('w')!.dataSync())).toEqual([0, 0, 0, 0]);
  });
});

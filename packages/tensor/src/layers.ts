/**
 * Layers. Layouts follow tfjs: Linear weights are [in, out] (so the forward is one plain
 * matMul, the fast path on wasm), images are NHWC and conv filters HWIO [kh, kw, in, out].
 * The ONNX exporters transpose to ONNX's layouts.
 */
import { tf } from './backend.js';
import type { Tensor } from '@tensorflow/tfjs-core';
import { Module, checkInput } from './module.js';
import { Rng, toSeed } from './rng.js';
import { ShapeError, ValueError, checkNumber, describe } from './errors.js';

/** Checks that an NHWC input is at least as large as the (padded) window. */
function checkWindow(layer: Module, x: Tensor, k: number, padding: Padding): void {
  if (padding === 'same') return;
  const pad = typeof padding === 'number' ? 2 * padding : 0;
  const [h, w] = [x.shape[1] as number, x.shape[2] as number];
  if (h + pad < k || w + pad < k) {
    throw new ShapeError(
      `${layer.toString()}.forward: argument 'x' must be at least ${k}x${k} per image with padding ${describe(padding)}, got shape [${x.shape.join(',')}]`,
      { expected: `[N, ≥${k - pad}, ≥${k - pad}, C]`, received: x.shape },
    );
  }
}

/** Weight initialisation schemes (bias is always initialised to zero). */
export type Init = 'he-uniform' | 'he-normal' | 'glorot-uniform' | 'glorot-normal' | 'torch';

const INITS: readonly Init[] = ['he-uniform', 'he-normal', 'glorot-uniform', 'glorot-normal', 'torch'];

/** Common layer options: initialisation and its randomness. */
export interface InitOptions {
  /** Weight initialisation (default `'he-uniform'`, suited to ReLU). */
  init?: Init;
  /** Seed or generator for the initial weights (default seed 0). */
  seed?: number | Rng;
}

/**
 * Draws initial weights in float64 JS from the seeded generator (identical on every
 * backend). `torch` is PyTorch's default: U(±1/√fan_in).
 */
export function initWeights(fn: string, init: Init, shape: number[], fanIn: number, fanOut: number, rng: Rng): Tensor {
  if (!INITS.includes(init)) {
    throw new ValueError(`${fn}: option 'init' must be one of ${INITS.join(', ')}, got ${describe(init)}`, 'init');
  }
  const n = shape.reduce((a, b) => a * b, 1);
  let data: Float32Array;
  switch (init) {
    case 'he-uniform': {
      const lim = Math.sqrt(6 / fanIn);
      data = rng.uniformArray(n, -lim, lim);
      break;
    }
    case 'he-normal':
      data = rng.normalArray(n, 0, Math.sqrt(2 / fanIn));
      break;
    case 'glorot-uniform': {
      const lim = Math.sqrt(6 / (fanIn + fanOut));
      data = rng.uniformArray(n, -lim, lim);
      break;
    }
    case 'glorot-normal':
      data = rng.normalArray(n, 0, Math.sqrt(2 / (fanIn + fanOut)));
      break;
    case 'torch': {
      const lim = 1 / Math.sqrt(fanIn);
      data = rng.uniformArray(n, -lim, lim);
      break;
    }
  }
  return tf.tensor(data, shape, 'float32');
}

function checkOptions(fn: string, options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${fn}: argument 'options' must be an object, got ${describe(options)}`);
  }
}

function positiveInt(fn: string, arg: string, v: unknown): number {
  return checkNumber(fn, arg, v, { min: 1, integer: true });
}

/** Options of `Linear`. */
export interface LinearOptions extends InitOptions {
  /** Add a bias (default true). */
  bias?: boolean;
}

/**
 * Fully connected layer y = x·W + b with W of shape [in, out].
 * Parameters: `weight` [in, out], `bias` [out].
 * @example
 * const layer = new Linear(784, 10, { seed: 1 });
 * const y = layer.forward(tf.zeros([2, 784]));   // [2, 10]
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;

  /**
   * @param inFeatures input width.
   * @param outFeatures output width.
   * @param options bias, init, seed.
   * @throws ValueError for non-positive or non-integer sizes.
   */
  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    checkOptions('Linear', options);
    this.inFeatures = positiveInt('Linear', 'inFeatures', inFeatures);
    this.outFeatures = positiveInt('Linear', 'outFeatures', outFeatures);
    this.hasBias = options.bias ?? true;
    const rng = toSeed(options.seed, 0);
    this.addParam('weight', initWeights('Linear', options.init ?? 'he-uniform', [inFeatures, outFeatures], inFeatures, outFeatures, rng));
    if (this.hasBias) {
      this.addParam(
        'bias',
        options.init === 'torch' ? initWeights('Linear', 'torch', [outFeatures], inFeatures, outFeatures, rng) : tf.zeros([outFeatures]),
      );
    }
  }

  toString(): string {
    return `Linear(${this.inFeatures}→${this.outFeatures})`;
  }

  protected call(x: Tensor, get: (n: string) => Tensor): Tensor {
    checkInput(this, x, 2, this.inFeatures);
    const y = tf.matMul(x, get('weight'));
    return this.hasBias ? tf.add(y, get('bias')) : y;
  }

  clone(): Linear {
    return this.copyStateInto(new Linear(this.inFeatures, this.outFeatures, { bias: this.hasBias }));
  }
}

/** Padding of a convolution or pooling window. */
export type Padding = 'same' | 'valid' | number;

/** Options of `Conv2d`. */
export interface Conv2dOptions extends InitOptions {
  stride?: number;
  /** `'same'` (default), `'valid'` or a number of zeros on every side. */
  padding?: Padding;
  bias?: boolean;
}

/**
 * 2-D convolution over NHWC images. Parameters: `weight` [k, k, in, out] (HWIO), `bias` [out].
 * @example
 * const conv = new Conv2d(1, 8, 3, { seed: 1 });
 * const y = conv.forward(tf.zeros([2, 28, 28, 1]));   // [2, 28, 28, 8]
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: Padding;
  readonly hasBias: boolean;

  /**
   * @param inChannels input channels.
   * @param outChannels output channels (filters).
   * @param kernelSize square kernel side.
   * @param options stride, padding, bias, init, seed.
   * @throws ValueError for bad sizes or padding.
   */
  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Conv2dOptions = {}) {
    super();
    checkOptions('Conv2d', options);
    this.inChannels = positiveInt('Conv2d', 'inChannels', inChannels);
    this.outChannels = positiveInt('Conv2d', 'outChannels', outChannels);
    this.kernelSize = positiveInt('Conv2d', 'kernelSize', kernelSize);
    this.stride = positiveInt('Conv2d', 'stride', options.stride ?? 1);
    this.padding = checkPadding('Conv2d', options.padding ?? 'same');
    this.hasBias = options.bias ?? true;
    const rng = toSeed(options.seed, 0);
    const fanIn = inChannels * kernelSize * kernelSize;
    const fanOut = outChannels * kernelSize * kernelSize;
    this.addParam('weight', initWeights('Conv2d', options.init ?? 'he-uniform', [kernelSize, kernelSize, inChannels, outChannels], fanIn, fanOut, rng));
    if (this.hasBias) {
      this.addParam('bias', options.init === 'torch' ? initWeights('Conv2d', 'torch', [outChannels], fanIn, fanOut, rng) : tf.zeros([outChannels]));
    }
  }

  toString(): string {
    return `Conv2d(${this.inChannels}→${this.outChannels}, ${this.kernelSize}x${this.kernelSize})`;
  }

  protected call(x: Tensor, get: (n: string) => Tensor): Tensor {
    checkInput(this, x, 4, this.inChannels);
    checkWindow(this, x, this.kernelSize, this.padding);
    const pad = typeof this.padding === 'number' ? explicitPad(this.padding) : this.padding;
    const y = tf.conv2d(x as tf.Tensor4D, get('weight') as tf.Tensor4D, this.stride, pad as 'same');
    return this.hasBias ? tf.add(y, get('bias')) : y;
  }

  clone(): Conv2d {
    return this.copyStateInto(
      new Conv2d(this.inChannels, this.outChannels, this.kernelSize, { stride: this.stride, padding: this.padding, bias: this.hasBias }),
    );
  }
}

function explicitPad(p: number): [[number, number], [number, number], [number, number], [number, number]] {
  return [[0, 0], [p, p], [p, p], [0, 0]];
}

function checkPadding(fn: string, p: unknown): Padding {
  if (p === 'same' || p === 'valid') return p;
  if (typeof p === 'number' && Number.isInteger(p) && p >= 0) return p;
  throw new ValueError(`${fn}: option 'padding' must be 'same', 'valid' or a non-negative integer, got ${describe(p)}`, 'padding');
}

/** Options of the pooling layers. */
export interface PoolOptions {
  /** Stride (default: the window size). */
  stride?: number;
  /** `'valid'` (default) or `'same'`. */
  padding?: 'valid' | 'same';
}

abstract class Pool2d extends Module {
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: 'valid' | 'same';
  constructor(name: string, kernelSize: number, options: PoolOptions) {
    super();
    checkOptions(name, options);
    this.kernelSize = positiveInt(name, 'kernelSize', kernelSize);
    this.stride = positiveInt(name, 'stride', options.stride ?? kernelSize);
    const p = options.padding ?? 'valid';
    if (p !== 'valid' && p !== 'same') throw new ValueError(`${name}: option 'padding' must be 'valid' or 'same', got ${describe(p)}`, 'padding');
    this.padding = p;
  }
}

/** Max pooling over NHWC images. No parameters. */
export class MaxPool2d extends Pool2d {
  /** @param kernelSize window side. @param options stride (default = window), padding. */
  constructor(kernelSize: number, options: PoolOptions = {}) {
    super('MaxPool2d', kernelSize, options);
  }
  toString(): string {
    return `MaxPool2d(${this.kernelSize})`;
  }
  protected call(x: Tensor): Tensor {
    checkInput(this, x, 4);
    checkWindow(this, x, this.kernelSize, this.padding);
    return tf.maxPool(x as tf.Tensor4D, this.kernelSize, this.stride, this.padding);
  }
  clone(): MaxPool2d {
    return new MaxPool2d(this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}

/** Average pooling over NHWC images. No parameters. */
export class AvgPool2d extends Pool2d {
  /** @param kernelSize window side. @param options stride (default = window), padding. */
  constructor(kernelSize: number, options: PoolOptions = {}) {
    super('AvgPool2d', kernelSize, options);
  }
  toString(): string {
    return `AvgPool2d(${this.kernelSize})`;
  }
  protected call(x: Tensor): Tensor {
    checkInput(this, x, 4);
    checkWindow(this, x, this.kernelSize, this.padding);
    return tf.avgPool(x as tf.Tensor4D, this.kernelSize, this.stride, this.padding);
  }
  clone(): AvgPool2d {
    return new AvgPool2d(this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}

/** Options of `BatchNorm`. */
export interface BatchNormOptions {
  /** Added to the variance (default 1e-5, as torch). */
  eps?: number;
  /** Weight of the new batch in the running statistics (default 0.1, as torch). */
  momentum?: number;
}

/**
 * Batch normalisation over the last axis (features of [N, C] or channels of NHWC).
 * Training mode normalises with the batch statistics and updates the running mean and
 * (unbiased) variance as torch does; evaluation mode uses the running statistics.
 * Parameters: `weight` (γ), `bias` (β); buffers: `running_mean`, `running_var`.
 */
export class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  private readonly runningMean: tf.Variable;
  private readonly runningVar: tf.Variable;

  /** @param numFeatures size of the last axis. @param options eps, momentum. */
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super();
    checkOptions('BatchNorm', options);
    this.numFeatures = positiveInt('BatchNorm', 'numFeatures', numFeatures);
    this.eps = checkNumber('BatchNorm', 'eps', options.eps ?? 1e-5, { min: 0, minExclusive: true });
    this.momentum = checkNumber('BatchNorm', 'momentum', options.momentum ?? 0.1, { min: 0, max: 1 });
    this.addParam('weight', tf.ones([numFeatures]));
    this.addParam('bias', tf.zeros([numFeatures]));
    this.runningMean = this.addBuffer('running_mean', tf.zeros([numFeatures]));
    this.runningVar = this.addBuffer('running_var', tf.ones([numFeatures]));
  }

  toString(): string {
    return `BatchNorm(${this.numFeatures})`;
  }

  protected call(x: Tensor, get: (n: string) => Tensor, training: boolean): Tensor {
    checkInput(this, x, [2, 4], this.numFeatures);
    const gamma = get('weight');
    const beta = get('bias');
    if (!training) {
      const inv = tf.rsqrt(tf.add(this.runningVar, this.eps));
      return tf.add(tf.mul(tf.mul(tf.sub(x, this.runningMean), inv), gamma), beta);
    }
    const axes = x.rank === 2 ? [0] : [0, 1, 2];
    const count = axes.reduce((p, a) => p * x.shape[a], 1);
    if (count < 2) {
      // As torch: one value per feature has no variance to normalise by.
      throw new ShapeError(`${this.toString()}.forward: in training mode argument 'x' needs more than one value per feature, got shape [${x.shape.join(',')}]`, {
        expected: 'more than 1 value per feature',
        received: x.shape,
      });
    }
    const mean = tf.mean(x, axes);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), axes);
    // Running statistics are state, not part of the differentiated computation.
    const m = this.momentum;
    const newMean = tf.tidy(() => tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(tf.clone(mean), m)));
    const unbiased = count > 1 ? count / (count - 1) : 1;
    const newVar = tf.tidy(() => tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(tf.clone(variance), m * unbiased)));
    this.runningMean.assign(newMean);
    this.runningVar.assign(newVar);
    newMean.dispose();
    newVar.dispose();
    return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, this.eps))), gamma), beta);
  }

  clone(): BatchNorm {
    return this.copyStateInto(new BatchNorm(this.numFeatures, { eps: this.eps, momentum: this.momentum }));
  }
}

/** Flattens every axis after the first: [N, ...] → [N, prod(...)]. */
export class Flatten extends Module {
  toString(): string {
    return 'Flatten()';
  }
  protected call(x: Tensor): Tensor {
    checkInput(this, x, [2, 3, 4, 5]);
    return tf.reshape(x, [x.shape[0], -1]);
  }
  clone(): Flatten {
    return new Flatten();
  }
}

/** Reshapes every sample: [N, ...] → [N, ...shape] (e.g. 784 → [28, 28, 1]). */
export class Reshape extends Module {
  readonly shape: number[];
  /** @param shape per-sample target shape. */
  constructor(shape: number[]) {
    super();
    if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new ValueError(`Reshape: argument 'shape' must be a non-empty list of positive integers, got ${describe(shape)}`, 'shape');
    }
    this.shape = [...shape];
  }
  toString(): string {
    return `Reshape([${this.shape.join(',')}])`;
  }
  protected call(x: Tensor): Tensor {
    checkInput(this, x, [1, 2, 3, 4, 5, 6]);
    const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const want = this.shape.reduce((a, b) => a * b, 1);
    if (per !== want) {
      throw new ValueError(`${this.toString()}.forward: argument 'x' must have ${want} values per sample, got shape [${x.shape.join(',')}]`, 'x');
    }
    return tf.reshape(x, [x.shape[0], ...this.shape]);
  }
  clone(): Reshape {
    return new Reshape(this.shape);
  }
}

/**
 * Inverted dropout: in training, zeroes each entry with probability `p` and scales the rest
 * by 1/(1−p); identity in evaluation. Masks come from a seeded generator.
 */
export class Dropout extends Module {
  readonly p: number;
  private readonly rng: Rng;
  /** @param p drop probability in [0, 1). @param options seed. */
  constructor(p: number, options: { seed?: number | Rng } = {}) {
    super();
    this.p = checkNumber('Dropout', 'p', p, { min: 0, max: 1, maxExclusive: true });
    this.rng = toSeed(options.seed, 0);
  }
  toString(): string {
    return `Dropout(${this.p})`;
  }
  protected call(x: Tensor, _get: unknown, training: boolean): Tensor {
    if (!training || this.p === 0) return x;
    const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', this.rng.seed32()), this.p), 'float32');
    return tf.mul(x, tf.div(keep, 1 - this.p));
  }
  clone(): Dropout {
    return new Dropout(this.p, { seed: this.rng.fork() });
  }
}

abstract class Activation extends Module {
  protected abstract fn(x: Tensor): Tensor;
  protected call(x: Tensor): Tensor {
    checkInput(this, x, [1, 2, 3, 4, 5]);
    return this.fn(x);
  }
}

/** max(x, 0). */
export class ReLU extends Activation {
  toString(): string {
    return 'ReLU()';
  }
  protected fn(x: Tensor): Tensor {
    return tf.relu(x);
  }
  clone(): ReLU {
    return new ReLU();
  }
}

/** tanh(x). */
export class Tanh extends Activation {
  toString(): string {
    return 'Tanh()';
  }
  protected fn(x: Tensor): Tensor {
    return tf.tanh(x);
  }
  clone(): Tanh {
    return new Tanh();
  }
}

/** 1 / (1 + e^−x). */
export class Sigmoid extends Activation {
  toString(): string {
    return 'Sigmoid()';
  }
  protected fn(x: Tensor): Tensor {
    return tf.sigmoid(x);
  }
  clone(): Sigmoid {
    return new Sigmoid();
  }
}

/** Softmax over the last axis. */
export class Softmax extends Activation {
  toString(): string {
    return 'Softmax()';
  }
  protected fn(x: Tensor): Tensor {
    return tf.softmax(x);
  }
  clone(): Softmax {
    return new Softmax();
  }
}

/** Layers in order; parameters are named `"<index>.<name>"` (`"0.weight"`, ...). */
export class Sequential extends Module {
  readonly layers: readonly Module[];
  /** @param layers the layers, applied in order. */
  constructor(...layers: Module[]) {
    super();
    layers.forEach((l, i) => {
      if (!(l instanceof Module)) throw new TypeError(`Sequential: argument ${i} must be a Module, got ${describe(l)}`);
      this.addChild(String(i), l);
    });
    this.layers = layers;
  }
  toString(): string {
    return `Sequential(${this.layers.map((l) => l.toString()).join(', ')})`;
  }
  protected call(x: Tensor, get: (n: string) => Tensor, training: boolean): Tensor {
    let h = x;
    this.layers.forEach((l, i) => {
      h = this.runChild(String(i), l, h, get, training);
    });
    return h;
  }
  clone(): Sequential {
    const s = new Sequential(...this.layers.map((l) => l.clone()));
    s.training = this.training;
    return s;
  }
}

/** Options of `mlp`. */
export interface MlpOptions extends InitOptions {
  /** Hidden activation (default `'relu'`). */
  activation?: 'relu' | 'tanh' | 'sigmoid';
  /** Dropout probability after each hidden activation (default 0: none). */
  dropout?: number;
  /** Batch norm after each hidden linear layer (default false). */
  batchNorm?: boolean;
}

/**
 * A multi-layer perceptron: `mlp([784, 300, 100, 10])` is Linear-ReLU-Linear-ReLU-Linear,
 * with parameters `"0.weight"`, `"0.bias"`, `"2.weight"`, ... (activations count as layers).
 * @param sizes widths from input to output (at least two).
 * @param options activation, dropout, batch norm, init, seed.
 * @returns a Sequential.
 * @throws ValueError for fewer than two sizes or a non-positive width.
 * @example
 * const model = mlp([784, 300, 100, 10], { seed: 42 });
 */
export function mlp(sizes: number[], options: MlpOptions = {}): Sequential {
  if (!Array.isArray(sizes) || sizes.length < 2) {
    throw new ValueError(`mlp: argument 'sizes' must list at least an input and an output width, got ${describe(sizes)}`, 'sizes');
  }
  sizes.forEach((s, i) => positiveInt('mlp', `sizes[${i}]`, s));
  if (options === null || typeof options !== 'object') throw new TypeError(`mlp: argument 'options' must be an object, got ${describe(options)}`);
  if (options.dropout !== undefined) checkNumber('mlp', 'dropout', options.dropout, { min: 0, max: 1, maxExclusive: true });
  const rng = toSeed(options.seed, 0);
  const act = options.activation ?? 'relu';
  if (act !== 'relu' && act !== 'tanh' && act !== 'sigmoid') {
    // Checked here too, so that a bad option fails even when there is no hidden layer.
    throw new ValueError(`mlp: option 'activation' must be 'relu', 'tanh' or 'sigmoid', got ${describe(act)}`, 'activation');
  }
  const make = (): Module => {
    switch (act) {
      case 'relu':
        return new ReLU();
      case 'tanh':
        return new Tanh();
      case 'sigmoid':
        return new Sigmoid();
      default:
        throw new ValueError(`mlp: option 'activation' must be 'relu', 'tanh' or 'sigmoid', got ${describe(act)}`, 'activation');
    }
  };
  const layers: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const last = i + 2 === sizes.length;
    layers.push(new Linear(sizes[i], sizes[i + 1], { init: options.init ?? (act === 'relu' ? 'he-uniform' : 'glorot-uniform'), seed: rng.fork() }));
    if (!last) {
      if (options.batchNorm) layers.push(new BatchNorm(sizes[i + 1]));
      layers.push(make());
      if (options.dropout) layers.push(new Dropout(options.dropout, { seed: rng.fork() }));
    }
  }
  return new Sequential(...layers);
}

/** Options of `convNet`. */
export interface ConvNetOptions extends InitOptions {
  /** Per-sample input shape [H, W, C]; a flat input ([N, H·W·C]) is reshaped to it. Default [28, 28, 1]. */
  inputShape?: [number, number, number];
  /** Channels of each conv block (default [32, 32, 32, 32]: four blocks, the few-shot backbone). */
  channels?: number[];
  /** Width of a final Linear layer (e.g. number of classes); omitted: the net ends with Flatten (an embedding). */
  outFeatures?: number;
  /** Batch norm in each block (default true). */
  batchNorm?: boolean;
}

/**
 * The usual few-shot backbone: blocks of conv 3x3 (same padding), batch norm, ReLU and 2x2
 * max-pool, then Flatten and optionally a Linear head. The first layer reshapes flat input to
 * `inputShape`.
 * @param options input shape, channels per block, head width, init, seed.
 * @returns a Sequential.
 * @throws ValueError if the image becomes smaller than 1x1 or options are invalid.
 * @example
 * const net = convNet({ channels: [16, 32], outFeatures: 10, seed: 0 });
 */
export function convNet(options: ConvNetOptions = {}): Sequential {
  if (options === null || typeof options !== 'object') throw new TypeError(`convNet: argument 'options' must be an object, got ${describe(options)}`);
  const shape = options.inputShape ?? [28, 28, 1];
  if (!Array.isArray(shape) || shape.length !== 3) {
    throw new ValueError(`convNet: option 'inputShape' must be [H, W, C], got ${describe(shape)}`, 'inputShape');
  }
  const [h, w, c] = shape;
  [h, w, c].forEach((d, i) => positiveInt('convNet', `inputShape[${i}]`, d));
  const channels = options.channels ?? [32, 32, 32, 32];
  if (!Array.isArray(channels) || channels.length === 0) {
    throw new ValueError(`convNet: option 'channels' must be a non-empty list, got ${describe(channels)}`, 'channels');
  }
  channels.forEach((ch, i) => positiveInt('convNet', `channels[${i}]`, ch));
  const rng = toSeed(options.seed, 0);
  const layers: Module[] = [new Reshape([h, w, c])];
  let inC = c;
  let side = [h, w];
  for (const outC of channels) {
    layers.push(new Conv2d(inC, outC, 3, { padding: 'same', init: options.init, seed: rng.fork(), bias: !(options.batchNorm ?? true) }));
    if (options.batchNorm ?? true) layers.push(new BatchNorm(outC));
    layers.push(new ReLU(), new MaxPool2d(2));
    side = side.map((s) => Math.floor(s / 2));
    if (side[0] < 1 || side[1] < 1) {
      throw new ValueError(`convNet: ${channels.length} pooling blocks shrink a ${h}x${w} image below 1x1; use fewer blocks`, 'channels');
    }
    inC = outC;
  }
  layers.push(new Flatten());
  if (options.outFeatures !== undefined) {
    layers.push(new Linear(side[0] * side[1] * inC, positiveInt('convNet', 'outFeatures', options.outFeatures), { init: options.init, seed: rng.fork() }));
  }
  return new Sequential(...layers);
}

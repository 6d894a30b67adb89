/**
 * @x/tensor — the shared tensor layer of the @x toolkit: one tfjs-core with a fast, complete
 * backend; modules with named parameters and a functional forward; losses; optimizers with
 * reachable state; a fit loop; seeded randomness; float64 linear algebra; named errors.
 */
export { tf, ready, backendName } from './backend.js';
export type { BackendName } from './backend.js';
export { registerGradients, differentiableKernels, conv2dFilterGrad, reduceToShape } from './gradients.js';

export {
  XError,
  ShapeError,
  ValueError,
  NonFiniteError,
  NotFittedError,
  NotPositiveDefiniteError,
  UnsupportedError,
  assert,
  checkNumber,
  checkFinite,
  describe,
} from './errors.js';

export { Rng, toSeed } from './rng.js';
export type { ChoiceOptions, ShuffleArray } from './rng.js';

export { Module, checkInput } from './module.js';
export type { ParamMap, Parametrization, StateDict, StateEntry, ApplyOptions } from './module.js';
export {
  Linear,
  Conv2d,
  MaxPool2d,
  AvgPool2d,
  BatchNorm,
  Flatten,
  Reshape,
  Dropout,
  ReLU,
  Tanh,
  Sigmoid,
  Softmax,
  Sequential,
  mlp,
  convNet,
  initWeights,
} from './layers.js';
export type { Init, InitOptions, LinearOptions, Conv2dOptions, Padding, PoolOptions, BatchNormOptions, MlpOptions, ConvNetOptions } from './layers.js';

export { crossEntropy, binaryCrossEntropy, mse, categoricalKl, gaussianKl, logSoftmax, logSumExp, accuracy } from './losses.js';
export type { Reduction } from './losses.js';

export { Optimizer, SGD, Adam } from './optim.js';
export type { GradMap, SgdOptions, AdamOptions } from './optim.js';

export { fit, evaluate, predict, trainStep, gatherRows, argmaxRows } from './train.js';
export type { Dataset, FitOptions, History, Progress, PredictOptions } from './train.js';

export * as linalg from './linalg.js';
export { cholesky, solveTriangular, choleskySolve, choleskyLogDet } from './linalg.js';
export type { Mat, CholeskyOptions, CholeskyResult } from './linalg.js';

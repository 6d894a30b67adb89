/**
 * @x/bayes — Bayesian models with honest uncertainty, in float64 on @x/tensor's linear algebra:
 * conjugate Bayesian linear regression (fixed, evidence-maximised, scikit-learn BayesianRidge)
 * and exact Gaussian process regression with composable kernels.
 */
export { BayesianLinearRegression, BayesianRidge } from './blr.js';
export type {
  BayesianLinearRegressionOptions,
  BayesianRidgeOptions,
  BlrDiagnostics,
  BlrJSON,
  BayesianRidgeJSON,
  Prediction,
  PredictOptions,
} from './blr.js';
export type { MatrixLike } from './input.js';
export { GaussianProcessRegressor, NegativeVarianceError } from './gp.js';
export type { GaussianProcessRegressorOptions, GpDiagnostics, GpJSON } from './gp.js';
export { SparseGaussianProcessRegressor } from './sparse.js';
export type { SparseGaussianProcessRegressorOptions, SparseGpDiagnostics, SparseGpJSON } from './sparse.js';
export {
  Kernel,
  Sum,
  Product,
  RBF,
  Matern,
  RationalQuadratic,
  ExpSineSquared,
  DotProduct,
  ConstantKernel,
  WhiteKernel,
  sum,
  product,
  kernelFromJSON,
} from './kernels.js';
export type { Bounds, Hyperparameter, KernelValue, ComputeOptions, KernelJSON } from './kernels.js';
export { minimizeBounded } from './optimize.js';
export type { Objective, MinimizeOptions, MinimizeResult } from './optimize.js';
export { VAE, softClamp } from './vae.js';
export type { VAEOptions, VaeEvaluation, VaeJSON } from './vae.js';
export { BayesianMLP, localReparamMoments, gaussianWeightKl } from './bnn.js';
export type { BayesianMLPOptions, BnnEpochInfo, BnnPrediction, BnnPredictOptions, BnnJSON } from './bnn.js';
export { expectedCalibrationError, negativeLogLikelihood, predictiveEntropy } from './calibration.js';
export type { CalibrationBin, CalibrationResult } from './calibration.js';
export type { RowsLike } from './nn-data.js';

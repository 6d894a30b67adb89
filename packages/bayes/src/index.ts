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

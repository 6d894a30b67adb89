/**
 * @x/compress: pruning (magnitude, global, gradual, structured, lottery ticket), post-training
 * and quantization-aware int8 quantization, and knowledge distillation for @x/tensor models.
 */
// Pruning (magnitude, schedules, structured, lottery ticket)
export { magnitudePrune, pruneToSparsity, getMasks, applyMasks, removePruning, sparsity, pruningHooks, prunableParameters } from './prune.js';
export type { Masks, PruneScope, MagnitudePruneOptions, PruneToSparsityOptions, SparsityCount, SparsityReport, PruningHooks } from './prune.js';
export { polynomialSchedule, GradualPruner } from './prune-schedule.js';
export type { PolynomialScheduleOptions, SparsitySchedule, GradualPrunerOptions, PruneEvent } from './prune-schedule.js';
// Quantization (post-training arrays)
export { roundHalfToEven, computeQuantParams, quantize, dequantize, quantizeTensor, quantParamsFromRange, scaleAndZeroPoint, codeRange, MIN_SCALE, ZERO_RANGE_SCALE } from './quant.js';
export type { QuantDtype, QuantScheme, QuantParams, QuantizedTensor, QuantOptions } from './quant.js';
export { structuredPrune, planStructuredPrune, applyStructuredPlan } from './structured.js';
export type { StructuredPruneOptions, StructuredPlan, StructuredLayerPlan } from './structured.js';
export { lotteryTicket } from './lottery.js';
export type { LotteryOptions, LotteryRoundContext, LotteryRound, LotteryResult } from './lottery.js';
// Quantization (models: calibration, batch-norm folding, static / dynamic PTQ, TS simulation)
export { fakeQuantize, fakeQuantizeSte, fakeQuantizeWeight } from './quant-fake.js';
export { calibrate } from './calibrate.js';
export type { ActivationRanges, CalibrateOptions } from './calibrate.js';
export { foldBatchNorm, foldBatchNormMapped, bakeParametrizations } from './fold.js';
export type { FoldResult } from './fold.js';
export { quantizeModel, quantizedForward, quantizedPredict, dequantizeModel, disposeQuantizedModel, quantizableWeights } from './quant-model.js';
export type { QuantizedModel, QuantizeModelOptions } from './quant-model.js';
// Knowledge distillation (response-based and feature-based with learned adapters)
export { distill, distillationLoss, featureDistillationLoss, makeAdapter, TEMPERATURE_RANGE } from './distill.js';
export type { DistillLossOptions, DistillOptions, DistillResult, FeatureHint } from './distill.js';
// Quantization-aware training
export { prepareQat, convertQat, QatModel } from './qat.js';
export type { QatOptions, ObserverState } from './qat.js';

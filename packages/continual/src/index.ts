/**
 * @x/continual — continual learning on @x/tensor, shaped like Avalanche: a training template
 * with hooks and each method as a plugin (EWC and online EWC, experience replay, PackNet),
 * scenarios (class-split task- and class-incremental, permuted inputs) over any labelled data,
 * and the metrics of the accuracy matrix.
 */
export { classSplitScenario, permutedScenario, concatTaskData } from './scenario.js';
export type { TaskData, Experience, Scenario, ScenarioKind, LabelledSet, ClassSplitOptions, PermutedOptions } from './scenario.js';
export { ContinualStrategy, accuracyOf, randomInitBaseline } from './template.js';
export type { Batch, StrategyContext, ContinualPlugin, StrategyOptions, RunResult } from './template.js';
export { continualMetrics } from './metrics.js';
export type { AccuracyMatrix, Metric, ContinualMetrics, MetricsOptions } from './metrics.js';
export { empiricalFisher, supportsVectorizedFisher } from './fisher.js';
export type { FisherOptions } from './fisher.js';
export { EwcPlugin, ewcPenalty } from './ewc.js';
export type { EwcAnchor, EwcOptions } from './ewc.js';
export { Reservoir, ReservoirMemory, ClassBalancedMemory, ReplayPlugin } from './replay.js';
export type { MemorySample, ReplayMemory, ReplayOptions } from './replay.js';
export { PackNetPlugin } from './packnet.js';
export { UntrainedTaskError } from './errors.js';
export { SynapticIntelligencePlugin } from './si.js';
export type { SiOptions } from './si.js';
export type { PackNetOptions } from './packnet.js';

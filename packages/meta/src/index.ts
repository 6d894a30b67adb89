/**
 * @x/meta — meta-learning on @x/tensor: seeded N-way K-shot episodes with class splits, MAML
 * (second- and first-order, learn2learn-style `clone()` / `adapt()`), Prototypical and Matching
 * Networks over any encoder, a meta-training loop with validation and checkpoints, and the
 * evaluation helpers few-shot papers report (mean accuracy ± 95 % interval, pixel nearest neighbour).
 */
export { EpisodeSampler, classSplit, episodeTensors } from './episodes.js';
export type { Episode, EpisodeSamplerOptions, LabelledData } from './episodes.js';
export { MAML, Learner } from './maml.js';
export type { MamlOptions } from './maml.js';
export { ProtoNet, MatchingNet, prototypes, prototypicalLogits, matchingLogProbs } from './metric.js';
export type { MetricOptions } from './metric.js';
export { metaTrain, meanCI, evaluateEpisodes, nearestNeighbourPredict, queryAccuracy, saveCheckpoint, loadCheckpoint } from './train.js';
export type { AccuracyCI, MetaProgress, MetaTrainOptions, MetaTrainResult } from './train.js';
export { SinusoidTasks } from './sinusoid.js';
export type { SinusoidTask } from './sinusoid.js';

/**
 * The training template, shaped like Avalanche's `SupervisedTemplate`: a strategy trains a
 * model experience by experience and calls its plugins at fixed points (before/after an
 * experience and an epoch, to adapt each mini-batch, to add a penalty before the backward
 * pass, to change gradients after it, after each update, around evaluation). Every method
 * (EWC, replay, PackNet) is a plugin; plugins combine (e.g. EWC + replay).
 */
import { tf, Module, Adam, Rng, trainStep, crossEntropy, argmaxRows, ValueError, checkNumber, describe } from '@x/tensor';
import type { Optimizer } from '@x/tensor';
import { concatTaskData, type Experience, type Scenario, type ScenarioKind, type TaskData } from './scenario.js';
import { UntrainedTaskError } from './errors.js';
import { continualMetrics, type AccuracyMatrix, type ContinualMetrics } from './metrics.js';

type Tensor = tf.Tensor;

/** A mini-batch as plain arrays (rows, labels, task ids). */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  task: Int32Array;
  n: number;
}

/** What a hook sees. */
export interface StrategyContext {
  strategy: ContinualStrategy;
  model: Module;
  /** The experience being trained (or evaluated, in eval hooks). */
  experience: Experience;
  /** The optimizer of the current training phase (undefined in eval hooks). */
  optimizer?: Optimizer;
  epoch: number;
  /** Optimizer steps taken in this phase. */
  iteration: number;
}

/**
 * A continual-learning method as a set of optional hooks (Avalanche's plugin). Hooks that
 * allocate tensors must free them; `penalty` returns a scalar that the template adds to the
 * loss inside its gradient tape (so it is differentiated), and frees.
 */
export interface ContinualPlugin {
  readonly name: string;
  beforeTrainingExp?(ctx: StrategyContext): void | Promise<void>;
  beforeTrainingEpoch?(ctx: StrategyContext): void;
  /** Changes the mini-batch before the forward pass (replay appends buffer samples). */
  adaptBatch?(ctx: StrategyContext, batch: Batch): Batch;
  /** before_backward: a scalar tensor added to the loss (EWC's quadratic penalty). */
  penalty?(ctx: StrategyContext): Tensor | undefined;
  /** after_backward: may replace the gradients by name (PackNet freezes other tasks' weights). */
  afterBackward?(ctx: StrategyContext, grads: Map<string, Tensor>): Map<string, Tensor> | void;
  /** after_update: after each optimizer step. */
  afterUpdate?(ctx: StrategyContext): void;
  afterTrainingEpoch?(ctx: StrategyContext): void;
  afterTrainingExp?(ctx: StrategyContext): void | Promise<void>;
  /** Before evaluating one task (PackNet selects the weights of tasks ≤ t). */
  beforeEvalExp?(ctx: StrategyContext): void;
  afterEvalExp?(ctx: StrategyContext): void;
  /** Frees the plugin's tensors. */
  dispose?(): void;
}

/** Options of `ContinualStrategy`. */
export interface StrategyOptions {
  model: Module;
  /** How the scenario is evaluated: task-incremental masks the outputs to the task's classes. */
  kind: ScenarioKind;
  plugins?: ContinualPlugin[];
  /** Epochs per experience (default 1). */
  epochs?: number;
  /** Mini-batch size (default 128). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3); a fresh Adam per training phase. */
  lr?: number;
  /** Seed of the shuffling (and of plugins that take the strategy's rng). */
  seed?: number;
  /** Called after every mini-batch. */
  onBatch?: (info: { experience: number; epoch: number; batch: number; batches: number; loss: number }) => void;
}

/** The result of `ContinualStrategy.run`. */
export interface RunResult {
  /** R[i][j]: accuracy on task j after training task i (every task measured after every training). */
  matrix: AccuracyMatrix;
  metrics: ContinualMetrics;
}

const MASKED = -1e9;

/**
 * Trains a model on a stream of experiences with plugins, and evaluates it on any task.
 * @example
 * const strategy = new ContinualStrategy({ model, kind: s.kind, epochs: 1, plugins: [new EwcPlugin({ lambda: 100 })] });
 * const { matrix, metrics } = await strategy.run(s);
 */
export class ContinualStrategy {
  readonly model: Module;
  readonly kind: ScenarioKind;
  readonly plugins: ContinualPlugin[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  /** The strategy's generator (shuffling; plugins may fork it). */
  readonly rng: Rng;
  private readonly onBatch?: StrategyOptions['onBatch'];
  private readonly classesOf = new Map<number, number[]>();
  private readonly trainedTasks = new Set<number>();
  private numClasses = 0;

  constructor(options: StrategyOptions) {
    const fn = 'ContinualStrategy';
    if (!(options?.model instanceof Module)) throw new TypeError(`${fn}: option 'model' must be a Module, got ${describe(options?.model)}`);
    if (!['task-incremental', 'class-incremental', 'domain-incremental'].includes(options.kind)) {
      throw new ValueError(`${fn}: option 'kind' must be 'task-incremental', 'class-incremental' or 'domain-incremental', got ${describe(options.kind)}`, 'kind');
    }
    this.model = options.model;
    this.kind = options.kind;
    this.plugins = [...(options.plugins ?? [])];
    this.epochs = checkNumber(fn, 'epochs', options.epochs ?? 1, { min: 1, integer: true });
    this.batchSize = checkNumber(fn, 'batchSize', options.batchSize ?? 128, { min: 1, integer: true });
    this.lr = checkNumber(fn, 'lr', options.lr ?? 1e-3, { min: 0, minExclusive: true });
    this.rng = new Rng(options.seed ?? 0);
    this.onBatch = options.onBatch;
  }

  /** Task ids trained so far. */
  trained(): number[] {
    return [...this.trainedTasks].sort((a, b) => a - b);
  }

  /** Records a task's classes (the output mask in task-incremental mode). */
  private register(exp: Experience): void {
    this.classesOf.set(exp.id, exp.classes);
    for (const c of exp.classes) this.numClasses = Math.max(this.numClasses, c + 1);
  }

  /**
   * The additive logit mask of rows with the given task ids ([n, C]: 0 for the task's
   * classes, −1e9 elsewhere), or undefined when outputs are not masked.
   */
  logitMask(task: Int32Array, cols: number): Float32Array | undefined {
    if (this.kind !== 'task-incremental') return undefined;
    const out = new Float32Array(task.length * cols).fill(MASKED);
    for (let i = 0; i < task.length; i++) {
      const cs = this.classesOf.get(task[i]);
      if (!cs) throw new ValueError(`logitMask: task ${task[i]} has no known classes (it was never seen by this strategy)`, 'task');
      for (const c of cs) out[i * cols + c] = 0;
    }
    return out;
  }

  /** Logits of a batch with the task mask applied (inside the caller's tidy). */
  logits(x: Tensor, task: Int32Array, params?: Map<string, Tensor>): Tensor {
    const out = params ? this.model.apply(params, x) : this.model.forward(x);
    const cols = out.shape[1] as number;
    const mask = this.logitMask(task, cols);
    return mask ? tf.add(out, tf.tensor2d(mask, [task.length, cols])) : out;
  }

  private ctx(experience: Experience, optimizer?: Optimizer, epoch = 0, iteration = 0): StrategyContext {
    return { strategy: this, model: this.model, experience, optimizer, epoch, iteration };
  }

  /**
   * Trains on one experience: the before/after-experience hooks around `epochs` epochs.
   * @param experience the task to learn.
   * @returns this.
   */
  async train(experience: Experience): Promise<this> {
    checkExperience('train', experience);
    this.register(experience);
    const ctx = this.ctx(experience);
    for (const p of this.plugins) await p.beforeTrainingExp?.(ctx);
    await this.trainEpochs(experience, this.epochs);
    this.trainedTasks.add(experience.id);
    for (const p of this.plugins) await p.afterTrainingExp?.(ctx);
    return this;
  }

  /**
   * Joint training (the upper bound): one pass over the union of the experiences, each row
   * keeping its task id.
   * @param experiences the tasks, all at once.
   */
  async trainJoint(experiences: Experience[]): Promise<this> {
    if (!Array.isArray(experiences) || experiences.length === 0) throw new ValueError(`trainJoint: argument 'experiences' must be a non-empty array, got ${describe(experiences)}`, 'experiences');
    experiences.forEach((e) => checkExperience('trainJoint', e));
    for (const e of experiences) this.register(e);
    const joint: Experience = { id: experiences[0].id, classes: [...new Set(experiences.flatMap((e) => e.classes))], train: concatTaskData(experiences.map((e) => e.train)), test: concatTaskData(experiences.map((e) => e.test)) };
    await this.trainEpochs(joint, this.epochs);
    for (const e of experiences) this.trainedTasks.add(e.id);
    return this;
  }

  /**
   * The inner loop, for plugins that need extra phases (PackNet's retraining): `epochs`
   * epochs over the experience with a fresh Adam, calling the epoch, batch, penalty,
   * gradient and update hooks (not the experience hooks).
   */
  async trainEpochs(experience: Experience, epochs: number): Promise<void> {
    const data = experience.train;
    const optimizer = new Adam(this.model, { lr: this.lr });
    const wasTraining = this.model.training;
    this.model.train(true);
    const ctx = this.ctx(experience, optimizer);
    try {
      const batches = Math.ceil(data.n / this.batchSize);
      for (let epoch = 0; epoch < epochs; epoch++) {
        ctx.epoch = epoch;
        for (const p of this.plugins) p.beforeTrainingEpoch?.(ctx);
        const order = this.rng.permutation(data.n);
        for (let b = 0; b < batches; b++) {
          let batch = takeRows(data, order, b * this.batchSize, Math.min(data.n, (b + 1) * this.batchSize));
          for (const p of this.plugins) if (p.adaptBatch) batch = p.adaptBatch(ctx, batch);
          const loss = this.step(ctx, optimizer, batch);
          ctx.iteration++;
          for (const p of this.plugins) p.afterUpdate?.(ctx);
          this.onBatch?.({ experience: experience.id, epoch, batch: b, batches, loss });
        }
        for (const p of this.plugins) p.afterTrainingEpoch?.(ctx);
        // Let progress output and other work through between epochs.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      optimizer.dispose();
      this.model.train(wasTraining);
    }
  }

  private step(ctx: StrategyContext, optimizer: Optimizer, batch: Batch): number {
    const xb = tf.tensor2d(batch.x, [batch.n, batch.x.length / batch.n]);
    const yb = tf.tensor1d(batch.y, 'int32');
    try {
      return trainStep(
        this.model,
        optimizer,
        () => {
          let loss = crossEntropy(this.logits(xb, batch.task), yb);
          for (const p of this.plugins) {
            const pen = p.penalty?.(ctx);
            if (pen) loss = tf.add(loss, pen);
          }
          return loss;
        },
        (grads) => {
          let g = grads;
          for (const p of this.plugins) if (p.afterBackward) g = p.afterBackward(ctx, g) ?? g;
          return g;
        },
      );
    } finally {
      xb.dispose();
      yb.dispose();
    }
  }

  /**
   * Accuracy on one task's test data (task-incremental: argmax over the task's classes).
   * @param experience the task.
   * @param options `allowUntrained`: evaluate a task not trained yet (forward transfer needs it).
   * @returns the accuracy in [0, 1].
   * @throws NotFittedError for a task that was never trained (unless allowed).
   */
  evaluate(experience: Experience, options: { allowUntrained?: boolean } = {}): number {
    checkExperience('evaluate', experience);
    if (!this.trainedTasks.has(experience.id) && !options.allowUntrained) {
      throw new UntrainedTaskError(
        `evaluate: argument 'experience' must be a trained task (trained: ${this.trained().join(', ') || 'none'}), got task ${experience.id}; pass { allowUntrained: true } to measure it anyway`,
        experience.id,
        this.trained(),
      );
    }
    this.register(experience);
    const ctx = this.ctx(experience);
    for (const p of this.plugins) p.beforeEvalExp?.(ctx);
    try {
      return accuracyOf(this, experience.test);
    } finally {
      for (const p of this.plugins) p.afterEvalExp?.(ctx);
    }
  }

  /**
   * Runs a whole scenario: trains each experience in order and after each one measures every
   * task (the full accuracy matrix, future tasks included for forward transfer).
   * @param scenario the experiences.
   * @param options `baseline`: random-init accuracy per task (forward transfer); `onExperience`: after each row of R.
   * @returns the accuracy matrix and its metrics.
   */
  async run(scenario: Scenario, options: { baseline?: number[]; onExperience?: (i: number, row: number[]) => void } = {}): Promise<RunResult> {
    const R: number[][] = [];
    for (const exp of scenario.experiences) {
      await this.train(exp);
      const row = scenario.experiences.map((e) => this.evaluate(e, { allowUntrained: true }));
      R.push(row);
      options.onExperience?.(exp.id, row);
    }
    return { matrix: R, metrics: continualMetrics(R, { baseline: options.baseline, classIncremental: scenario.kind === 'class-incremental' }) };
  }

  /** Frees the plugins' tensors (not the model's). */
  dispose(): void {
    for (const p of this.plugins) p.dispose?.();
  }
}

function checkExperience(fn: string, e: Experience): void {
  if (e === null || typeof e !== 'object' || !Number.isInteger(e.id) || !Array.isArray(e.classes) || !e.train || !e.test) {
    throw new TypeError(`${fn}: argument 'experience' must be an Experience { id, classes, train, test }, got ${describe(e)}`);
  }
}

function takeRows(data: TaskData, order: Int32Array, from: number, to: number): Batch {
  const n = to - from;
  const d = data.d;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const task = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const i = order[from + r];
    x.set(data.x.subarray(i * d, i * d + d), r * d);
    y[r] = data.y[i];
    task[r] = data.task[i];
  }
  return { x, y, task, n };
}

/** Accuracy of the strategy's model on a set, in evaluation mode, 500 rows at a time. */
export function accuracyOf(strategy: ContinualStrategy, data: TaskData): number {
  const model = strategy.model;
  const wasTraining = model.training;
  model.eval();
  let hit = 0;
  try {
    for (let from = 0; from < data.n; from += 500) {
      const to = Math.min(data.n, from + 500);
      const task = data.task.subarray(from, to);
      const { values, cols } = tf.tidy(() => {
        const out = strategy.logits(tf.tensor2d(data.x.subarray(from * data.d, to * data.d), [to - from, data.d]), task);
        return { values: out.dataSync() as Float32Array, cols: out.shape[1] as number };
      });
      const pred = argmaxRows(values, cols);
      for (let i = 0; i < to - from; i++) if (pred[i] === data.y[from + i]) hit++;
    }
  } finally {
    model.train(wasTraining);
  }
  return hit / data.n;
}

/**
 * Accuracy of an untrained (randomly initialised) model on each task: the baseline b_j of
 * forward transfer.
 * @param model a freshly initialised model (left unchanged).
 * @param scenario the tasks.
 * @returns one accuracy per task.
 */
export function randomInitBaseline(model: Module, scenario: Scenario): number[] {
  const s = new ContinualStrategy({ model, kind: scenario.kind });
  return scenario.experiences.map((e) => s.evaluate(e, { allowUntrained: true }));
}

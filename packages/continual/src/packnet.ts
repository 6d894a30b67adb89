/**
 * PackNet (Mallya & Lazebnik 2018) as a plugin, on @x/compress pruning. Every prunable weight
 * has an owner: the task that kept it, or none (free). For task t: (1) train with every weight
 * in the forward pass but gradients only on free weights; (2) magnitude-prune among the free
 * weights (`magnitudePrune` over a mask of the free positions): the kept ones now belong to
 * t, the released ones are set to zero and stay free for later tasks; (3) retrain t's own
 * weights with the pruning mask of tasks ≤ t in place (`pruningHooks` keep masked weights
 * out of the update). Biases and other non-prunable parameters train on the first task only.
 * Inference for task t masks the weights to those owned by tasks trained up to t, so later
 * tasks never change an earlier task's outputs: its accuracy stays exactly as it was.
 */
import { tf, ValueError, checkNumber, describe } from '@x/tensor';
import { applyMasks, getMasks, magnitudePrune, prunableParameters, pruningHooks, removePruning } from '@x/compress';
import type { Optimizer } from '@x/tensor';
import { UntrainedTaskError } from './errors.js';
import type { ContinualPlugin, StrategyContext } from './template.js';
import type { Module } from '@x/tensor';

type Tensor = tf.Tensor;

/** Options of `PackNetPlugin`. */
export interface PackNetOptions {
  /**
   * Number of tasks: each task keeps an equal share of the weights (task k of T prunes
   * 1 − 1/(T − k) of the free weights, the last keeps all). Either this or `pruneAmount`.
   */
  totalTasks?: number;
  /** Fraction in [0, 1) of the free weights released after each task (instead of `totalTasks`). */
  pruneAmount?: number;
  /** Epochs of retraining after pruning (default 1). */
  retrainEpochs?: number;
}

/** Removes every pruning mask without baking it (the stored weights stay as they are). */
function clearMasks(model: Module): void {
  for (const [n, m] of getMasks(model)) {
    model.setParametrization(n, null);
    m.dispose();
  }
}

/**
 * PackNet with per-task masks.
 * @example
 * new ContinualStrategy({ model, kind: 'task-incremental', plugins: [new PackNetPlugin({ totalTasks: 5 })] });
 */
export class PackNetPlugin implements ContinualPlugin {
  readonly name = 'packnet';
  private readonly totalTasks?: number;
  private readonly pruneAmount?: number;
  private readonly retrainEpochs: number;
  private owner?: Map<string, Int32Array>;
  private shapes = new Map<string, number[]>();
  private order: number[] = [];
  private phase: 'idle' | 'train' | 'retrain' = 'idle';
  private current = -1;
  private gradMasks = new Map<string, Tensor>();
  private hooks?: { opt: Optimizer; h: ReturnType<typeof pruningHooks> };

  /** @throws ValueError unless exactly one of `totalTasks` (≥ 1) and `pruneAmount` (in [0, 1)) is given. */
  constructor(options: PackNetOptions) {
    const fn = 'PackNetPlugin';
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: argument 'options' must be { totalTasks } or { pruneAmount }, got ${describe(options)}`);
    if ((options.totalTasks === undefined) === (options.pruneAmount === undefined)) {
      throw new ValueError(`${fn}: give exactly one of options 'totalTasks' and 'pruneAmount', got ${describe(options)}`, 'options');
    }
    if (options.totalTasks !== undefined) this.totalTasks = checkNumber(fn, 'totalTasks', options.totalTasks, { min: 1, integer: true });
    if (options.pruneAmount !== undefined) this.pruneAmount = checkNumber(fn, 'pruneAmount', options.pruneAmount, { min: 0, max: 1, maxExclusive: true });
    this.retrainEpochs = checkNumber(fn, 'retrainEpochs', options.retrainEpochs ?? 1, { min: 0, integer: true });
  }

  /** Tasks trained so far, in order. */
  tasks(): number[] {
    return [...this.order];
  }

  /** Number of weights owned by each task, and free, per parameter. */
  ownership(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [k, o] of this.owner ?? []) {
      const c: Record<string, number> = { free: 0 };
      for (const v of o) {
        const key = v < 0 ? 'free' : `task ${v}`;
        c[key] = (c[key] ?? 0) + 1;
      }
      out[k] = c;
    }
    return out;
  }

  /**
   * The 0/1 masks of the weights that inference for task `task` uses (owned by it or by a task trained before it).
   * @returns new tensors owned by the caller.
   * @throws NotFittedError for a task this plugin never trained.
   */
  taskMasks(task: number): Map<string, Tensor> {
    const idx = this.order.indexOf(task);
    if (idx < 0 || !this.owner) throw new UntrainedTaskError(`PackNetPlugin.taskMasks: argument 'task' must be a trained task (${this.order.join(', ') || 'none'}), got ${task}`, task, this.order);
    const allowed = new Set(this.order.slice(0, idx + 1));
    return this.masksWhere((o) => o >= 0 && allowed.has(o));
  }

  private masksWhere(pred: (owner: number) => boolean): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [k, o] of this.owner as Map<string, Int32Array>) out.set(k, tf.tensor(Float32Array.from(o, (v) => (pred(v) ? 1 : 0)), this.shapes.get(k) as number[]));
    return out;
  }

  private setGradMasks(model: Module, pred: (owner: number) => boolean, othersTrainable: boolean): void {
    for (const t of this.gradMasks.values()) t.dispose();
    this.gradMasks = this.masksWhere(pred);
    if (!othersTrainable) for (const [k, v] of model.namedParameters()) if (!this.gradMasks.has(k)) this.gradMasks.set(k, tf.zerosLike(v));
  }

  beforeTrainingExp(ctx: StrategyContext): void {
    const model = ctx.model;
    if (!this.owner) {
      this.owner = new Map();
      for (const k of prunableParameters(model)) {
        const v = model.namedParameters().get(k) as tf.Variable;
        this.owner.set(k, new Int32Array(v.size).fill(-1));
        this.shapes.set(k, [...v.shape]);
      }
    }
    if (this.order.includes(ctx.experience.id)) throw new ValueError(`PackNetPlugin: task ${ctx.experience.id} was already trained; PackNet trains each task once`, 'experience');
    if (this.totalTasks !== undefined && this.order.length >= this.totalTasks) {
      throw new ValueError(`PackNetPlugin: option 'totalTasks' is ${this.totalTasks} but task ${ctx.experience.id} would be number ${this.order.length + 1}`, 'totalTasks');
    }
    this.current = ctx.experience.id;
    this.phase = 'train';
    this.setGradMasks(model, (o) => o < 0, this.order.length === 0);
  }

  afterBackward(ctx: StrategyContext, grads: Map<string, Tensor>): Map<string, Tensor> | void {
    if (this.phase === 'idle') return;
    let g = grads;
    if (this.phase === 'retrain' && ctx.optimizer) {
      if (this.hooks?.opt !== ctx.optimizer) this.hooks = { opt: ctx.optimizer, h: pruningHooks(ctx.model, ctx.optimizer) };
      g = this.hooks.h.beforeStep(g);
    }
    const out = new Map<string, Tensor>();
    for (const [k, t] of g) {
      const m = this.gradMasks.get(k);
      out.set(k, m ? tf.mul(t, m) : t);
    }
    return out;
  }

  afterUpdate(): void {
    if (this.phase === 'retrain') this.hooks?.h.afterStep();
  }

  async afterTrainingExp(ctx: StrategyContext): Promise<void> {
    const model = ctx.model;
    const owner = this.owner as Map<string, Int32Array>;
    const t = this.current;
    const k = this.order.length;
    const amount = this.totalTasks !== undefined ? 1 - 1 / (this.totalTasks - k) : (this.pruneAmount as number);
    // (2) prune among the free weights: mask the owned ones, let magnitudePrune drop the smallest free ones.
    const free = this.masksWhere((o) => o < 0);
    applyMasks(model, free);
    for (const m of free.values()) m.dispose();
    magnitudePrune(model, { amount, scope: 'layer', params: [...owner.keys()] });
    for (const [name, m] of getMasks(model)) {
      const kept = m.dataSync();
      const o = owner.get(name) as Int32Array;
      for (let i = 0; i < o.length; i++) if (kept[i] === 1 && o[i] < 0) o[i] = t;
    }
    this.order.push(t);
    // Released weights become exactly zero in the stored variables (baked), as in PackNet.
    clearMasks(model);
    const mine = this.masksWhere((o) => o >= 0);
    applyMasks(model, mine);
    for (const m of mine.values()) m.dispose();
    removePruning(model);
    // (3) retrain this task's weights with the mask of tasks ≤ t in the forward pass.
    if (this.retrainEpochs > 0 && amount > 0) {
      const upto = this.taskMasks(t);
      applyMasks(model, upto);
      for (const m of upto.values()) m.dispose();
      this.phase = 'retrain';
      this.setGradMasks(model, (o) => o === t, k === 0);
      try {
        await ctx.strategy.trainEpochs(ctx.experience, this.retrainEpochs);
      } finally {
        clearMasks(model);
        this.hooks = undefined;
      }
    }
    this.phase = 'idle';
    for (const m of this.gradMasks.values()) m.dispose();
    this.gradMasks.clear();
  }

  beforeEvalExp(ctx: StrategyContext): void {
    if (this.phase !== 'idle' || !this.owner) return;
    // A task not trained yet is measured with every weight trained so far (for forward transfer).
    if (!this.order.includes(ctx.experience.id)) return;
    const m = this.taskMasks(ctx.experience.id);
    applyMasks(ctx.model, m);
    for (const t of m.values()) t.dispose();
  }

  afterEvalExp(ctx: StrategyContext): void {
    if (this.phase === 'idle') clearMasks(ctx.model);
  }

  dispose(): void {
    for (const m of this.gradMasks.values()) m.dispose();
    this.gradMasks.clear();
  }
}

/**
 * Gradual pruning (Zhu & Gupta 2017, "To prune, or not to prune"): the sparsity rises from
 * s_i to s_f along a polynomial over training steps, and the pruner masks the smallest
 * remaining weights each time the target rises.
 */
import { Module, ValueError, checkNumber, describe } from '@x/tensor';
import type { Optimizer } from '@x/tensor';
import { pruneTo, pruningHooks, resolveParams, sparsity, type PruneScope, type PruningHooks } from './prune.js';

/** Options of `polynomialSchedule`. */
export interface PolynomialScheduleOptions {
  /** s_i, the sparsity at `beginStep` (default 0). */
  initialSparsity?: number;
  /** s_f, the sparsity from `endStep` on, in [initialSparsity, 1). */
  finalSparsity: number;
  /** t_0, the first pruning step (default 0). */
  beginStep?: number;
  /** t_0 + n·Δt, the last pruning step; `endStep − beginStep` must be a multiple of `frequency`. */
  endStep: number;
  /** Δt, steps between pruning updates (default 1). */
  frequency?: number;
  /** Exponent of the decay (default 3, as in the paper). */
  power?: number;
}

/** Sparsity target by step. */
export type SparsitySchedule = (step: number) => number;

/**
 * The polynomial sparsity schedule of Zhu & Gupta (2017):
 * s_t = s_f + (s_i − s_f)·(1 − (t − t_0)/(n·Δt))^power at the update steps
 * t ∈ {t_0, t_0 + Δt, …, t_0 + n·Δt}, held constant between updates, 0 before t_0 (no pruning
 * yet) and s_f after the last update.
 * @param options initial and final sparsity, begin and end step, frequency, power.
 * @returns a function from a step (integer ≥ 0) to the target sparsity.
 * @throws ValueError for sparsities outside [0, 1), s_i > s_f, endStep ≤ beginStep, a span that is
 * not a multiple of the frequency, or a non-positive power.
 * @example
 * const s = polynomialSchedule({ finalSparsity: 0.9, beginStep: 0, endStep: 1000, frequency: 100 });
 * s(0);     // 0
 * s(500);   // 0.9 − 0.9·0.5³ = 0.7875
 * s(1000);  // 0.9
 */
export function polynomialSchedule(options: PolynomialScheduleOptions): SparsitySchedule {
  const fn = 'polynomialSchedule';
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: argument 'options' must be an object, got ${describe(options)}`);
  const si = checkNumber(fn, 'initialSparsity', options.initialSparsity ?? 0, { min: 0, max: 1, maxExclusive: true });
  const sf = checkNumber(fn, 'finalSparsity', options.finalSparsity, { min: 0, max: 1, maxExclusive: true });
  if (si > sf) throw new ValueError(`${fn}: option 'initialSparsity' (${si}) must not exceed 'finalSparsity' (${sf})`, 'initialSparsity');
  const begin = checkNumber(fn, 'beginStep', options.beginStep ?? 0, { min: 0, integer: true });
  const end = checkNumber(fn, 'endStep', options.endStep, { min: begin + 1, integer: true });
  const freq = checkNumber(fn, 'frequency', options.frequency ?? 1, { min: 1, integer: true });
  const power = checkNumber(fn, 'power', options.power ?? 3, { min: 0, minExclusive: true });
  if ((end - begin) % freq !== 0) {
    throw new ValueError(`${fn}: 'endStep' − 'beginStep' (${end - begin}) must be a multiple of 'frequency' (${freq}) so that the final sparsity is reached on an update step`, 'endStep');
  }
  return (step: number) => {
    checkNumber('polynomialSchedule(step)', 'step', step, { min: 0, integer: true });
    if (step < begin) return 0;
    if (step >= end) return sf;
    const last = begin + Math.floor((step - begin) / freq) * freq;
    const p = (last - begin) / (end - begin);
    return sf + (si - sf) * Math.pow(1 - p, power);
  };
}

/** Options of `GradualPruner`. */
export interface GradualPrunerOptions {
  /** Target sparsity by step (e.g. `polynomialSchedule(...)`). */
  schedule: SparsitySchedule;
  /** One threshold across the selected parameters, or one per parameter (default 'global'). */
  scope?: PruneScope;
  /** Parameters to prune (default: every Linear / Conv2d weight). */
  params?: string[];
}

/** One pruning event of a `GradualPruner`. */
export interface PruneEvent {
  /** Optimizer steps taken when the masks were updated. */
  step: number;
  /** Target sparsity of the schedule. */
  target: number;
  /** Measured sparsity of the selected weights afterwards. */
  sparsity: number;
}

/**
 * Applies a sparsity schedule during `fit`: before the first step it prunes to
 * `schedule(0)`, and after every optimizer step t it prunes to `schedule(t)` when the target
 * has risen (cumulatively: masked weights stay masked; exact counts as `pruneToSparsity`).
 * Gradients and optimizer state are masked as `pruningHooks` does. The step counter runs
 * across `fit` calls.
 * @example
 * const pruner = new GradualPruner(model, { schedule: polynomialSchedule({ finalSparsity: 0.9, endStep: 600, frequency: 50 }) });
 * const opt = new Adam(model);
 * await fit(model, data, { optimizer: opt, epochs: 10, ...pruner.hooks(opt) });
 * pruner.history;   // [{ step, target, sparsity }, ...]
 */
export class GradualPruner {
  /** Optimizer steps seen so far. */
  step = 0;
  /** Every mask update, in order. */
  readonly history: PruneEvent[] = [];
  private readonly model: Module;
  private readonly schedule: SparsitySchedule;
  private readonly scope: PruneScope;
  private readonly params: string[];
  private applied = -1;
  private target = -1;

  /**
   * @param model the model to prune.
   * @param options schedule, scope, parameters.
   * @throws TypeError/ValueError for a bad model, schedule, scope or parameter name.
   */
  constructor(model: Module, options: GradualPrunerOptions) {
    const fn = 'GradualPruner';
    if (!(model instanceof Module)) throw new TypeError(`${fn}: argument 'model' must be a Module, got ${describe(model)}`);
    if (options === null || typeof options !== 'object' || typeof options.schedule !== 'function') {
      throw new TypeError(`${fn}: option 'schedule' must be a function from step to sparsity, got ${describe(options?.schedule)}`);
    }
    const scope = options.scope ?? 'global';
    if (scope !== 'global' && scope !== 'layer') throw new ValueError(`${fn}: option 'scope' must be 'global' or 'layer', got ${describe(scope)}`, 'scope');
    this.model = model;
    this.schedule = options.schedule;
    this.scope = scope;
    this.params = resolveParams(fn, model, options.params);
  }

  /** Prunes to the schedule's target at the current step, if it has risen. */
  update(): void {
    if (this.applied === this.step) return;
    this.applied = this.step;
    const target = this.schedule(this.step);
    if (target <= this.target) return;
    this.target = target;
    pruneTo('GradualPruner', this.model, { sparsity: target, scope: this.scope, params: this.params }, true);
    this.history.push({ step: this.step, target, sparsity: sparsity(this.model, { params: this.params }).fraction });
  }

  /**
   * Hooks for `fit`: prune on schedule, mask gradients and optimizer state.
   * @param optimizer the optimizer `fit` uses.
   * @returns `{ beforeStep, afterStep }`.
   */
  hooks(optimizer: Optimizer): PruningHooks {
    const base = pruningHooks(this.model, optimizer);
    return {
      beforeStep: (grads) => {
        this.update();
        return base.beforeStep(grads);
      },
      afterStep: () => {
        this.step++;
        this.update();
        base.afterStep();
      },
    };
  }
}

/**
 * Lottery-ticket iterative magnitude pruning (Frankle & Carbin 2019) with rewinding to the
 * initial weights, or to the weights after an early training iteration k (Frankle et al.
 * 2020, "Linear mode connectivity and the lottery ticket hypothesis"): train, prune a fraction
 * of the remaining weights by magnitude, reset the surviving weights to the saved ones,
 * repeat.
 */
import { Module, ValueError, checkNumber, describe } from '@x/tensor';
import type { Optimizer, StateDict } from '@x/tensor';
import { getMasks, magnitudePrune, pruningHooks, resolveParams, sparsity, type Masks, type PruneScope, type PruningHooks } from './prune.js';

/** What the training callback of `lotteryTicket` receives each round. */
export interface LotteryRoundContext {
  /** 0 for the dense network, then 1, 2, … after each pruning. */
  round: number;
  /** Sparsity of the selected weights during this round (effective weights). */
  sparsity: number;
  /**
   * Hooks to pass to `fit` with the round's optimizer: they keep masked weights masked and,
   * in round 0, count steps to save the rewind point.
   */
  hooks: (optimizer: Optimizer) => PruningHooks;
}

/** Options of `lotteryTicket`. */
export interface LotteryOptions {
  /** Number of prune-and-rewind rounds (≥ 1). */
  rounds: number;
  /** Fraction in (0, 1) of the remaining weights pruned after each round (e.g. 0.2). */
  rate: number;
  /** One threshold across the selected weights or one per parameter (default 'global'). */
  scope?: PruneScope;
  /** Parameters to prune (default: every Linear / Conv2d weight). */
  params?: string[];
  /**
   * Where surviving weights are reset to: `'init'` (default, the weights before any training)
   * or `{ iteration: k }`, the weights after k optimizer steps of round 0 (k = 0 is `'init'`).
   */
  rewind?: 'init' | { iteration: number };
  /**
   * Trains the model for one round (e.g. `fit` with `ctx.hooks(optimizer)`); may return a
   * metric such as test accuracy, which is recorded for the round.
   */
  train: (model: Module, ctx: LotteryRoundContext) => number | void | Promise<number | void>;
  /** Train once more at the final sparsity after the last rewind (default true). */
  finalTrain?: boolean;
}

/** One round of `lotteryTicket`. */
export interface LotteryRound {
  round: number;
  /** Sparsity of the selected weights while this round trained. */
  sparsity: number;
  /** Masked weights while this round trained. */
  zeros: number;
  /** What `train` returned, if a number. */
  metric?: number;
}

/** Result of `lotteryTicket`. */
export interface LotteryResult {
  /** The final masks (owned by the model, as for `magnitudePrune`). */
  masks: Masks;
  /** Every trained round, in order. */
  rounds: LotteryRound[];
  /** Sparsity of the final ticket. */
  finalSparsity: number;
  /** The saved weights surviving weights were reset to (parameters and buffers). */
  rewindState: StateDict;
}

/**
 * Iterative magnitude pruning with rewinding. Round 0 trains the dense model (saving the
 * rewind point); after each of `rounds` rounds, `rate` of the remaining weights are masked
 * by magnitude (exact counts as in `magnitudePrune`) and every parameter and buffer is reset
 * to the rewind point — so the surviving weights equal the saved ones exactly — and training
 * starts again. With `finalTrain` (default) the final ticket is trained too. The model is
 * changed in place.
 * @param model the model (may already carry masks).
 * @param options rounds, rate, scope, params, rewind, train callback, finalTrain.
 * @returns the final masks, per-round sparsity and metrics, and the rewind state.
 * @throws ValueError for bad options, or if round 0 took fewer steps than the rewind iteration.
 * @example
 * const result = await lotteryTicket(model, {
 *   rounds: 3, rate: 0.2, rewind: { iteration: 50 },
 *   train: async (m, ctx) => {
 *     const opt = new Adam(m, { lr: 1e-3 });
 *     await fit(m, data, { optimizer: opt, epochs: 2, ...ctx.hooks(opt) });
 *     opt.dispose();
 *     return evaluate(m, test).accuracy;
 *   },
 * });
 * result.rounds.map((r) => [r.sparsity, r.metric]);
 */
export async function lotteryTicket(model: Module, options: LotteryOptions): Promise<LotteryResult> {
  const fn = 'lotteryTicket';
  if (!(model instanceof Module)) throw new TypeError(`${fn}: argument 'model' must be a Module, got ${describe(model)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: argument 'options' must be an object, got ${describe(options)}`);
  const rounds = checkNumber(fn, 'rounds', options.rounds, { min: 1, integer: true });
  const rate = checkNumber(fn, 'rate', options.rate, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
  const scope = options.scope ?? 'global';
  if (scope !== 'global' && scope !== 'layer') throw new ValueError(`${fn}: option 'scope' must be 'global' or 'layer', got ${describe(scope)}`, 'scope');
  const params = resolveParams(fn, model, options.params);
  if (typeof options.train !== 'function') throw new TypeError(`${fn}: option 'train' must be a function (model, ctx) => metric, got ${describe(options.train)}`);
  const rewind = options.rewind ?? 'init';
  let k: number;
  if (rewind === 'init') k = 0;
  else if (rewind !== null && typeof rewind === 'object') k = checkNumber(fn, 'rewind.iteration', rewind.iteration, { min: 0, integer: true });
  else throw new ValueError(`${fn}: option 'rewind' must be 'init' or { iteration: k }, got ${describe(rewind)}`, 'rewind');
  const finalTrain = options.finalTrain ?? true;

  let saved: StateDict | undefined = k === 0 ? model.stateDict() : undefined;
  let steps = 0;
  const history: LotteryRound[] = [];
  const trainedRounds = finalTrain ? rounds + 1 : rounds;
  for (let round = 0; round < trainedRounds; round++) {
    const s = sparsity(model, { params });
    const ctx: LotteryRoundContext = {
      round,
      sparsity: s.fraction,
      hooks: (optimizer) => {
        const base = pruningHooks(model, optimizer);
        if (round !== 0 || saved !== undefined) return base;
        return {
          beforeStep: base.beforeStep,
          afterStep: () => {
            base.afterStep();
            steps++;
            if (steps === k) saved = model.stateDict();
          },
        };
      },
    };
    const metric = await options.train(model, ctx);
    const entry: LotteryRound = { round, sparsity: s.fraction, zeros: s.zeros };
    if (typeof metric === 'number') entry.metric = metric;
    history.push(entry);
    if (round === rounds) break;
    if (saved === undefined) {
      throw new ValueError(
        `${fn}: option 'rewind.iteration' is ${k}, but round 0 took only ${steps} optimizer steps through ctx.hooks (pass ctx.hooks(optimizer) to fit, or rewind earlier)`,
        'rewind',
      );
    }
    magnitudePrune(model, { amount: rate, scope, params });
    model.loadStateDict(saved);
  }
  const masks = getMasks(model);
  for (const n of [...masks.keys()]) if (!params.includes(n)) masks.delete(n);
  return { masks, rounds: history, finalSparsity: sparsity(model, { params }).fraction, rewindState: saved as StateDict };
}

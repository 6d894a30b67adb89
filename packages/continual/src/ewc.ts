/**
 * Elastic weight consolidation (Kirkpatrick et al. 2017) as a plugin: after each experience
 * the diagonal empirical Fisher F and the weights θ* are stored, and training adds
 * λ/2 · Σ_k Σ F_k (θ − θ*_k)² to the loss. 'separate' keeps one anchor per past task;
 * 'online' (Schwarz et al. 2018, progress & compress) keeps one, F ← γ·F + F_new and θ* the
 * latest weights.
 */
import { tf, ValueError, checkNumber, describe } from '@x/tensor';
import { empiricalFisher, type FisherOptions } from './fisher.js';
import type { ContinualPlugin, StrategyContext } from './template.js';

type Tensor = tf.Tensor;

/** Stored importance and weights of one (or, online, the running) anchor. */
export interface EwcAnchor {
  fisher: Map<string, Tensor>;
  theta: Map<string, Tensor>;
}

/** Options of `EwcPlugin`. */
export interface EwcOptions {
  /** Strength λ ≥ 0 of the penalty λ/2 · Σ F (θ − θ*)². */
  lambda: number;
  /** `'separate'` (default): one anchor per task; `'online'`: one running anchor with decay. */
  mode?: 'separate' | 'online';
  /** γ in (0, 1] of online EWC (default 1); F ← γ·F_old + F_new. */
  decay?: number;
  /** Fisher rows per experience (default: all training rows). */
  fisherSamples?: number;
  /** Per-sample gradient method and chunk size of the Fisher. */
  fisher?: Pick<FisherOptions, 'method' | 'batchSize'>;
}

/**
 * The EWC penalty λ/2 · Σ_anchors Σ_params F · (θ − θ*)².
 * @param params the current parameters by name (variables, inside a gradient tape).
 * @param anchors stored Fisher and weights.
 * @param lambda λ ≥ 0.
 * @returns a scalar tensor.
 * @throws ValueError for λ < 0 or an anchor parameter missing from `params`.
 * @example
 * const pen = ewcPenalty(model.namedParameters(), [{ fisher, theta }], 1);
 */
export function ewcPenalty(params: Map<string, Tensor>, anchors: EwcAnchor[], lambda: number): Tensor {
  const lam = checkLambda('ewcPenalty', lambda);
  return tf.tidy(() => {
    let total: Tensor = tf.scalar(0);
    for (const a of anchors) {
      for (const [k, f] of a.fisher) {
        const p = params.get(k);
        if (p === undefined) throw new ValueError(`ewcPenalty: argument 'params' has no '${k}' (the anchor's parameters: ${[...a.fisher.keys()].join(', ')})`, 'params');
        total = tf.add(total, tf.sum(tf.mul(f, tf.square(tf.sub(p, a.theta.get(k) as Tensor)))));
      }
    }
    return tf.mul(total, lam / 2);
  });
}

function checkLambda(fn: string, lambda: unknown): number {
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0) {
    throw new ValueError(`${fn}: argument 'lambda' must be a finite number ≥ 0, got ${describe(lambda)}`, 'lambda');
  }
  return lambda;
}

/**
 * EWC as a plugin (separate or online).
 * @example
 * new ContinualStrategy({ model, kind, plugins: [new EwcPlugin({ lambda: 1000, mode: 'online', decay: 0.9 })] });
 */
export class EwcPlugin implements ContinualPlugin {
  readonly name: string;
  readonly lambda: number;
  readonly mode: 'separate' | 'online';
  readonly decay: number;
  private readonly fisherSamples?: number;
  private readonly fisherOptions: Pick<FisherOptions, 'method' | 'batchSize'>;
  private readonly stored: EwcAnchor[] = [];
  private merged?: EwcAnchor;
  private params?: Map<string, Tensor>;

  /** @throws ValueError for λ < 0, a decay outside (0, 1], an unknown mode or a bad sample count. */
  constructor(options: EwcOptions) {
    const fn = 'EwcPlugin';
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: argument 'options' must be { lambda, mode?, decay? }, got ${describe(options)}`);
    this.lambda = checkLambda(fn, options.lambda);
    this.mode = options.mode ?? 'separate';
    if (this.mode !== 'separate' && this.mode !== 'online') throw new ValueError(`${fn}: option 'mode' must be 'separate' or 'online', got ${describe(options.mode)}`, 'mode');
    const decay = options.decay ?? 1;
    if (typeof decay !== 'number' || !(decay > 0 && decay <= 1)) throw new ValueError(`${fn}: option 'decay' must be in (0, 1], got ${describe(options.decay)}`, 'decay');
    if (options.decay !== undefined && this.mode !== 'online') throw new ValueError(`${fn}: option 'decay' applies to mode 'online' only, got mode '${this.mode}'`, 'decay');
    this.decay = decay;
    if (options.fisherSamples !== undefined) this.fisherSamples = checkNumber(fn, 'fisherSamples', options.fisherSamples, { min: 1, integer: true });
    this.fisherOptions = options.fisher ?? {};
    this.name = this.mode === 'online' ? 'online-ewc' : 'ewc';
  }

  /** The stored anchors (one per task, or one when online). Live tensors: do not dispose. */
  anchors(): readonly EwcAnchor[] {
    return this.stored;
  }

  /**
   * after_backward: adds the penalty's gradient λ·A·(θ − μ) to the loss gradient, where A = Σ_k F_k
   * and μ = Σ_k F_k θ*_k / A merge every anchor into one quadratic (the same gradient as
   * differentiating `ewcPenalty` over all anchors, at the cost of one anchor however many tasks).
   */
  afterBackward(_ctx: StrategyContext, grads: Map<string, Tensor>): Map<string, Tensor> | void {
    if (!this.merged || this.lambda === 0) return;
    const out = new Map<string, Tensor>();
    for (const [k, g] of grads) {
      const a = this.merged.fisher.get(k);
      out.set(k, a ? tf.add(g, tf.mul(tf.mul(a, tf.sub(this.params?.get(k) as Tensor, this.merged.theta.get(k) as Tensor)), this.lambda)) : g);
    }
    return out;
  }

  /** The current penalty value λ/2 · Σ_k Σ F_k (θ − θ*_k)² (for reporting; training uses its gradient). */
  penaltyValue(params: Map<string, Tensor>): number {
    if (this.stored.length === 0) return 0;
    const t = ewcPenalty(params, this.stored, this.lambda);
    const v = t.dataSync()[0];
    t.dispose();
    return v;
  }

  beforeTrainingExp(ctx: StrategyContext): void {
    this.params = ctx.model.namedParameters();
  }

  private remerge(): void {
    if (this.merged) disposeAnchor(this.merged);
    const fisher = new Map<string, Tensor>();
    const theta = new Map<string, Tensor>();
    for (const k of this.stored[0].fisher.keys()) {
      const [a, mu] = tf.tidy(() => {
        let A: Tensor = tf.zerosLike(this.stored[0].fisher.get(k) as Tensor);
        let B: Tensor = tf.zerosLike(A);
        for (const an of this.stored) {
          const f = an.fisher.get(k) as Tensor;
          A = tf.add(A, f);
          B = tf.add(B, tf.mul(f, an.theta.get(k) as Tensor));
        }
        // Where A = 0 the term vanishes; μ = 0 there keeps it finite.
        const safe = tf.where(tf.greater(A, 0), A, tf.onesLike(A));
        return [A, tf.where(tf.greater(A, 0), tf.div(B, safe), tf.zerosLike(A))];
      });
      fisher.set(k, a);
      theta.set(k, mu);
    }
    this.merged = { fisher, theta };
  }

  afterTrainingExp(ctx: StrategyContext): void {
    const data = ctx.experience.train;
    const n = Math.min(data.n, this.fisherSamples ?? data.n);
    const x = data.x.subarray(0, n * data.d);
    const task = data.task.subarray(0, n);
    const cols = [...ctx.model.namedParameters().values()].at(-1)?.shape.at(-1) as number;
    const fisher = empiricalFisher(ctx.model, x, data.y.subarray(0, n), { ...this.fisherOptions, logitMask: ctx.strategy.logitMask(task, cols) });
    const theta = new Map([...ctx.model.namedParameters()].map(([k, v]) => [k, tf.clone(v) as Tensor]));
    if (this.mode === 'online' && this.stored.length > 0) {
      const old = this.stored[0];
      for (const [k, f] of fisher) {
        const prev = old.fisher.get(k) as Tensor;
        fisher.set(k, tf.tidy(() => tf.add(tf.mul(prev, this.decay), f)));
        f.dispose();
      }
      disposeAnchor(old);
      this.stored[0] = { fisher, theta };
    } else this.stored.push({ fisher, theta });
    this.remerge();
  }

  dispose(): void {
    for (const a of this.stored) disposeAnchor(a);
    this.stored.length = 0;
    if (this.merged) disposeAnchor(this.merged);
    this.merged = undefined;
  }
}

function disposeAnchor(a: EwcAnchor): void {
  for (const t of a.fisher.values()) t.dispose();
  for (const t of a.theta.values()) t.dispose();
}

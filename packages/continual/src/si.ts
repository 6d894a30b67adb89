/**
 * Synaptic intelligence (Zenke, Poole & Ganguli 2017) as a plugin: while training a task each
 * parameter accumulates its contribution to the drop in loss, ω += −g · Δθ per step (g the
 * gradient of the task loss, before any plugin changes it); after the task the importance
 * grows by Ω += ω / ((θ_end − θ_start)² + ξ) and training on later tasks adds
 * c · Σ Ω (θ − θ*)² (θ* the weights after the last task).
 */
import { tf, ValueError, describe } from '@x/tensor';
import type { ContinualPlugin, StrategyContext } from './template.js';

type Tensor = tf.Tensor;

/** Options of `SynapticIntelligencePlugin`. */
export interface SiOptions {
  /** Strength c ≥ 0 of the surrogate loss c · Σ Ω (θ − θ*)². */
  c: number;
  /** Damping ξ > 0 of Ω's denominator (default 1e-3). */
  xi?: number;
}

/**
 * Synaptic intelligence. Put it FIRST in the plugin list, so that it sees the task loss's own
 * gradient (before EWC or PackNet change it).
 * @example
 * new ContinualStrategy({ model, kind, plugins: [new SynapticIntelligencePlugin({ c: 0.5 })] });
 */
export class SynapticIntelligencePlugin implements ContinualPlugin {
  readonly name = 'si';
  readonly c: number;
  readonly xi: number;
  private omega = new Map<string, Tensor>();
  private big = new Map<string, Tensor>();
  private anchor = new Map<string, Tensor>();
  private start = new Map<string, Tensor>();
  private before = new Map<string, Tensor>();
  private grads = new Map<string, Tensor>();

  /** @throws ValueError for c < 0 or ξ ≤ 0. */
  constructor(options: SiOptions) {
    const fn = 'SynapticIntelligencePlugin';
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: argument 'options' must be { c, xi? }, got ${describe(options)}`);
    if (typeof options.c !== 'number' || !Number.isFinite(options.c) || options.c < 0) throw new ValueError(`${fn}: option 'c' must be a finite number ≥ 0, got ${describe(options.c)}`, 'c');
    const xi = options.xi ?? 1e-3;
    if (typeof xi !== 'number' || !Number.isFinite(xi) || xi <= 0) throw new ValueError(`${fn}: option 'xi' must be a finite number > 0, got ${describe(options.xi)}`, 'xi');
    this.c = options.c;
    this.xi = xi;
  }

  /** The accumulated importance Ω by parameter (live tensors; empty before the first task ends). */
  importance(): ReadonlyMap<string, Tensor> {
    return this.big;
  }

  private static replace(map: Map<string, Tensor>, k: string, t: Tensor): void {
    map.get(k)?.dispose();
    map.set(k, t);
  }

  beforeTrainingExp(ctx: StrategyContext): void {
    for (const [k, v] of ctx.model.namedParameters()) {
      SynapticIntelligencePlugin.replace(this.start, k, tf.clone(v));
      SynapticIntelligencePlugin.replace(this.omega, k, tf.zerosLike(v));
    }
  }

  afterBackward(ctx: StrategyContext, grads: Map<string, Tensor>): Map<string, Tensor> | void {
    const params = ctx.model.namedParameters();
    // Keep the task-loss gradient and the weights before this step for ω (outside the step's tidy).
    for (const [k, g] of grads) {
      SynapticIntelligencePlugin.replace(this.grads, k, tf.keep(tf.clone(g)));
      SynapticIntelligencePlugin.replace(this.before, k, tf.keep(tf.clone(params.get(k) as Tensor)));
    }
    if (this.big.size === 0 || this.c === 0) return;
    const out = new Map<string, Tensor>();
    for (const [k, g] of grads) {
      const om = this.big.get(k);
      out.set(k, om ? tf.add(g, tf.mul(tf.mul(om, tf.sub(params.get(k) as Tensor, this.anchor.get(k) as Tensor)), 2 * this.c)) : g);
    }
    return out;
  }

  afterUpdate(ctx: StrategyContext): void {
    const params = ctx.model.namedParameters();
    for (const [k, g] of this.grads) {
      const next = tf.tidy(() => tf.sub(this.omega.get(k) as Tensor, tf.mul(g, tf.sub(params.get(k) as Tensor, this.before.get(k) as Tensor))));
      SynapticIntelligencePlugin.replace(this.omega, k, next);
    }
  }

  afterTrainingExp(ctx: StrategyContext): void {
    for (const [k, v] of ctx.model.namedParameters()) {
      const w = this.omega.get(k) as Tensor;
      const add = tf.tidy(() => {
        const delta = tf.sub(v, this.start.get(k) as Tensor);
        const inc = tf.div(w, tf.add(tf.square(delta), this.xi));
        return this.big.has(k) ? tf.add(this.big.get(k) as Tensor, inc) : inc;
      });
      SynapticIntelligencePlugin.replace(this.big, k, add);
      SynapticIntelligencePlugin.replace(this.anchor, k, tf.clone(v));
    }
    for (const m of [this.grads, this.before]) {
      for (const t of m.values()) t.dispose();
      m.clear();
    }
  }

  /** The surrogate penalty c · Σ Ω (θ − θ*)² at the given parameters (a new scalar tensor). */
  penaltyAt(params: Map<string, Tensor>): Tensor {
    return tf.tidy(() => {
      let total: Tensor = tf.scalar(0);
      for (const [k, om] of this.big) total = tf.add(total, tf.sum(tf.mul(om, tf.square(tf.sub(params.get(k) as Tensor, this.anchor.get(k) as Tensor)))));
      return tf.mul(total, this.c);
    });
  }

  dispose(): void {
    for (const m of [this.omega, this.big, this.anchor, this.start, this.before, this.grads]) {
      for (const t of m.values()) t.dispose();
      m.clear();
    }
  }
}

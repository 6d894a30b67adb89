/**
 * Optimizers over named parameters, with their state reachable by parameter name, so that
 * pruning can zero momentum and Adam moments at masked positions.
 */
import { tf } from './backend.js';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { Module } from './module.js';
import { ValueError, checkNumber, describe } from './errors.js';

/** Gradients by parameter name. */
export type GradMap = Map<string, Tensor> | Record<string, Tensor>;

function entries(g: GradMap): Array<[string, Tensor]> {
  return g instanceof Map ? [...g.entries()] : Object.entries(g);
}

/** Base class: holds the parameters by name and per-parameter state slots. */
export abstract class Optimizer {
  /** Learning rate; may be changed between steps (schedules). */
  lr: number;
  /** Number of steps taken. */
  iterations = 0;
  protected readonly params: Map<string, Variable>;
  protected readonly slots = new Map<string, Record<string, Variable>>();

  protected constructor(name: string, params: Module | Map<string, Variable>, lr: number) {
    if (params instanceof Module) this.params = params.namedParameters();
    else if (params instanceof Map) this.params = new Map(params);
    else throw new TypeError(`${name}: argument 'params' must be a Module or a Map of named variables, got ${describe(params)}`);
    this.lr = checkNumber(name, 'lr', lr, { min: 0, minExclusive: true });
  }

  /** Names of the parameters this optimizer updates. */
  names(): string[] {
    return [...this.params.keys()];
  }

  /**
   * The state of one parameter (e.g. `{ momentum }` or `{ m, v }`), created lazily at the
   * first step; `undefined` before. The variables are live: changing them changes training.
   */
  state(name: string): Readonly<Record<string, Variable>> | undefined {
    return this.slots.get(name);
  }

  /**
   * Multiplies every state slot of a parameter by `mask` (0/1, same shape), e.g. so that
   * pruned weights get no momentum.
   * @throws ValueError for an unknown parameter name.
   */
  maskState(name: string, mask: Tensor): void {
    if (!this.params.has(name)) {
      throw new ValueError(`maskState: argument 'name' must be one of ${this.names().join(', ')}, got '${name}'`, 'name');
    }
    const s = this.slots.get(name);
    if (!s) return;
    tf.tidy(() => {
      for (const v of Object.values(s)) v.assign(tf.mul(v, mask));
    });
  }

  /**
   * Applies one update from gradients by name. Names not given are left unchanged.
   * @throws ValueError for a gradient whose name is not a parameter, or a non-finite gradient norm.
   */
  step(grads: GradMap): void {
    this.iterations++;
    tf.tidy(() => {
      for (const [name, g] of entries(grads)) {
        const p = this.params.get(name);
        if (p === undefined) {
          throw new ValueError(`${this.constructor.name}.step: gradient '${name}' is not a parameter (${this.names().join(', ')})`, 'grads');
        }
        this.update(name, p, g);
      }
    });
  }

  protected slot(name: string, key: string, like: Variable): Variable {
    let s = this.slots.get(name);
    if (!s) {
      s = {};
      this.slots.set(name, s);
    }
    if (!s[key]) s[key] = tf.variable(tf.zerosLike(like), false);
    return s[key];
  }

  protected abstract update(name: string, param: Variable, grad: Tensor): void;

  /** Frees the state. */
  dispose(): void {
    for (const s of this.slots.values()) for (const v of Object.values(s)) v.dispose();
    this.slots.clear();
  }
}

/** Options of `SGD`. */
export interface SgdOptions {
  lr: number;
  /** Momentum coefficient in [0, 1) (default 0). */
  momentum?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

/**
 * Stochastic gradient descent with (Nesterov) momentum, as torch.optim.SGD:
 * b ← μ·b + g; w ← w − lr·b (or lr·(g + μ·b) with Nesterov). State slot: `momentum`.
 * @example
 * const opt = new SGD(model, { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  constructor(params: Module | Map<string, Variable>, options: SgdOptions) {
    super('SGD', params, options?.lr);
    this.momentum = checkNumber('SGD', 'momentum', options.momentum ?? 0, { min: 0, max: 1, maxExclusive: true });
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = checkNumber('SGD', 'weightDecay', options.weightDecay ?? 0, { min: 0 });
  }
  protected update(name: string, p: Variable, grad: Tensor): void {
    let g = this.weightDecay > 0 ? tf.add(grad, tf.mul(p, this.weightDecay)) : grad;
    if (this.momentum > 0) {
      // As torch: the buffer starts as the first gradient, then b ← μ·b + g.
      const fresh = this.slots.get(name)?.momentum === undefined;
      const b = this.slot(name, 'momentum', p);
      b.assign(fresh ? g : tf.add(tf.mul(b, this.momentum), g));
      g = this.nesterov ? tf.add(g, tf.mul(b, this.momentum)) : b;
    }
    p.assign(tf.sub(p, tf.mul(g, this.lr)));
  }
}

/** Options of `Adam`. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Weight decay: L2 added to the gradient (Adam), or decoupled if `decoupled` (AdamW). */
  weightDecay?: number;
  decoupled?: boolean;
}

/**
 * Adam (Kingma & Ba), with bias correction, as torch.optim.Adam (and AdamW with
 * `decoupled`). State slots: `m` (first moment) and `v` (second moment).
 * @example
 * const opt = new Adam(model, { lr: 1e-3 });
 */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  constructor(params: Module | Map<string, Variable>, options: AdamOptions = {}) {
    super('Adam', params, options.lr ?? 1e-3);
    this.beta1 = checkNumber('Adam', 'beta1', options.beta1 ?? 0.9, { min: 0, max: 1, maxExclusive: true });
    this.beta2 = checkNumber('Adam', 'beta2', options.beta2 ?? 0.999, { min: 0, max: 1, maxExclusive: true });
    this.eps = checkNumber('Adam', 'eps', options.eps ?? 1e-8, { min: 0, minExclusive: true });
    this.weightDecay = checkNumber('Adam', 'weightDecay', options.weightDecay ?? 0, { min: 0 });
    this.decoupled = options.decoupled ?? false;
  }
  protected update(name: string, p: Variable, grad: Tensor): void {
    const g = this.weightDecay > 0 && !this.decoupled ? tf.add(grad, tf.mul(p, this.weightDecay)) : grad;
    const m = this.slot(name, 'm', p);
    const v = this.slot(name, 'v', p);
    const t = this.iterations;
    m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
    v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
    const c1 = 1 - Math.pow(this.beta1, t);
    const c2 = 1 - Math.pow(this.beta2, t);
    // w ← w − lr/c1 · m / (√(v/c2) + eps), folded so that v is divided once.
    const denom = tf.add(tf.sqrt(tf.div(v, c2)), this.eps);
    let next = tf.sub(p, tf.mul(tf.div(m, denom), this.lr / c1));
    if (this.weightDecay > 0 && this.decoupled) next = tf.sub(next, tf.mul(p, this.lr * this.weightDecay));
    p.assign(next);
  }
}

/**
 * Optimizers over named parameters, with their state reachable by parameter name, so that
 * pruning can zero momentum and Adam moments at masked positions.
 */
import { tf, fusedAdamUpdate } from './backend.js';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { Module } from './module.js';
import { ShapeError, ValueError, checkNumber, describe } from './errors.js';

/** Gradients by parameter name. */
export type GradMap = Map<string, Tensor> | Record<string, Tensor>;

function entries(fn: string, g: GradMap): Array<[string, Tensor]> {
  if (!(g instanceof Map) && (g === null || typeof g !== 'object' || Array.isArray(g))) {
    throw new TypeError(`${fn}: argument 'grads' must be a Map or an object of tensors by parameter name, got ${describe(g)}`);
  }
  return g instanceof Map ? [...g.entries()] : Object.entries(g);
}

function isTensor(t: unknown): t is Tensor {
  return t !== null && typeof t === 'object' && Array.isArray((t as Tensor).shape) && typeof (t as Tensor).dataId === 'object';
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Base class: holds the parameters by name and per-parameter state slots. */
export abstract class Optimizer {
  private rate = 0;
  private readonly kind: string;
  /** Number of steps taken. */
  iterations = 0;
  protected readonly params: Map<string, Variable>;
  protected readonly slots = new Map<string, Record<string, Variable>>();

  protected constructor(name: string, params: Module | Map<string, Variable>, lr: number) {
    this.kind = name;
    if (params instanceof Module) this.params = params.namedParameters();
    else if (params instanceof Map) this.params = new Map(params);
    else throw new TypeError(`${name}: argument 'params' must be a Module or a Map of named variables, got ${describe(params)}`);
    for (const [n, v] of this.params) {
      if (!isTensor(v)) throw new TypeError(`${name}: parameter '${n}' of argument 'params' must be a Variable, got ${describe(v)}`);
    }
    this.lr = lr;
  }

  /**
   * Learning rate; may be changed between steps (schedules).
   * @throws ValueError when set to a value that is not a finite positive number.
   */
  get lr(): number {
    return this.rate;
  }
  set lr(value: number) {
    this.rate = checkNumber(this.kind, 'lr', value, { min: 0, minExclusive: true });
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
    const p = this.params.get(name) as Variable;
    if (!isTensor(mask)) throw new TypeError(`maskState: argument 'mask' must be a Tensor, got ${describe(mask)}`);
    if (!sameShape(mask.shape, p.shape)) {
      throw new ShapeError(`maskState: argument 'mask' must have the shape of '${name}', [${p.shape.join(',')}], got [${mask.shape.join(',')}]`, {
        expected: `[${p.shape.join(',')}]`,
        received: mask.shape,
      });
    }
    const s = this.slots.get(name);
    if (!s) return;
    tf.tidy(() => {
      for (const v of Object.values(s)) v.assign(tf.mul(v, mask));
    });
  }

  /**
   * Applies one update from gradients by name. Names not given are left unchanged.
   * @throws ValueError for a gradient whose name is not a parameter; ShapeError for a
   * gradient whose shape differs from its parameter's (tfjs would broadcast it silently).
   */
  step(grads: GradMap): void {
    const fn = `${this.kind}.step`;
    const list = entries(fn, grads);
    // Check everything before changing anything, so a bad map leaves the parameters as they were.
    for (const [name, g] of list) {
      const p = this.params.get(name);
      if (p === undefined) {
        throw new ValueError(`${fn}: gradient '${name}' is not a parameter (${this.names().join(', ')})`, 'grads');
      }
      if (!isTensor(g)) throw new TypeError(`${fn}: gradient '${name}' must be a Tensor, got ${describe(g)}`);
      if (!sameShape(g.shape, p.shape)) {
        throw new ShapeError(`${fn}: gradient '${name}' must have shape [${p.shape.join(',')}], got [${g.shape.join(',')}]`, {
          expected: `[${p.shape.join(',')}]`,
          received: g.shape,
        });
      }
    }
    this.iterations++;
    tf.tidy(() => {
      for (const [name, g] of list) this.update(name, this.params.get(name) as Variable, g);
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
    if (options === null || typeof options !== 'object') throw new TypeError(`SGD: argument 'options' must be { lr, ... }, got ${describe(options)}`);
    super('SGD', params, options.lr);
    this.momentum = checkNumber('SGD', 'momentum', options.momentum ?? 0, { min: 0, max: 1, maxExclusive: true });
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && this.momentum === 0) {
      throw new ValueError(`SGD: option 'nesterov' needs a momentum in (0, 1), got momentum 0`, 'nesterov');
    }
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
  private readonly steps = new Map<string, number>();
  constructor(params: Module | Map<string, Variable>, options: AdamOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError(`Adam: argument 'options' must be an object, got ${describe(options)}`);
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
    // Bias correction counts this parameter's own updates (as torch's state['step']), so a
    // parameter left out of some steps is corrected by how often it was really updated.
    const t = (this.steps.get(name) ?? 0) + 1;
    this.steps.set(name, t);
    // Fast path: one in-place pass over p, m, v (backend.ts); same formula as the ops below.
    const fused = { beta1: this.beta1, beta2: this.beta2, eps: this.eps, stepSize: this.lr / (1 - Math.pow(this.beta1, t)), c2: 1 - Math.pow(this.beta2, t) };
    if (fusedAdamUpdate(p, m, v, grad, { ...fused, l2: this.decoupled ? 0 : this.weightDecay, decay: this.decoupled ? this.lr * this.weightDecay : 0 })) return;
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

  /** Frees the state (moments and step counts). */
  override dispose(): void {
    super.dispose();
    this.steps.clear();
  }
}

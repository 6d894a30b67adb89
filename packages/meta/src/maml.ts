/**
 * MAML (Finn et al. 2017) the way learn2learn offers it: `maml.clone()` gives a learner whose
 * fast weights start at the meta-parameters, `learner.adapt(lossFn)` takes an inner gradient
 * step on them, and the outer optimizer (e.g. `Adam` from @x/tensor) updates the
 * meta-parameters from `maml.metaGradients(...)`.
 *
 * One difference from PyTorch: tfjs records a gradient tape only while a function runs, so
 * `adapt` takes a function that computes the inner loss (not an already computed loss), and
 * the outer loss is computed inside `metaGradients(fn)`. Everything inside that call is
 * taped, including the inner gradients, so the meta-gradient is the full second-order one;
 * with `firstOrder: true` the inner gradients are detached (treated as constants), which gives
 * first-order MAML (the (1 − α·H) factor becomes the identity).
 *
 * Batch norm: the learner runs the module in training mode by default, i.e. with the batch's
 * own statistics for support and query alike ("transductive" batch norm), as the MAML paper and
 * learn2learn's examples do.
 */
import { Module, ShapeError, ValueError, checkNumber, describe, tf } from '@x/tensor';
import type { Optimizer } from '@x/tensor';

type Tensor = tf.Tensor;
type Variable = tf.Variable;

/** Options of `MAML`. */
export interface MamlOptions {
  /** Inner learning rate α (default 0.01). */
  lr?: number;
  /** First-order MAML: inner gradients are constants for the meta-gradient (default false: second order). */
  firstOrder?: boolean;
  /** Learn the inner learning rate: one scalar α per parameter tensor, a meta-parameter named `lr:<param>` (default false). */
  learnLr?: boolean;
  /** Mode the learner runs the module in: `true` (default) uses batch statistics in batch norm; `false` the running ones. */
  training?: boolean;
}

let patched = false;

/**
 * @x/tensor's Cast gradient returns `zerosLike(x)` for a bool `x`, a bool gradient that the
 * engine rejects, so any second derivative through relu (whose gradient is dy·cast(x > 0))
 * throws (known and marked in @x/tensor's losses.test.ts). Until it is fixed there, MAML
 * registers the corrected gradient (float32 zeros for non-float inputs; dy otherwise), which is
 * the same function on every float path.
 */
function ensureSecondOrderSafeCast(): void {
  if (patched) return;
  patched = true;
  tf.registerGradient({
    kernelName: 'Cast',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      return { x: () => (x.dtype === 'float32' ? tf.cast(dy as Tensor, 'float32') : tf.zeros(x.shape, 'float32')) };
    },
  });
}

// Depth of `metaGradients` calls now running: inside, fast weights must stay alive until the
// outer gradient is computed (the tape holds them), so `adapt` does not free the old ones.
let metaDepth = 0;

/** A copy of a tensor that shares its data but is not connected to the tape: a stop-gradient. */
function detach(t: Tensor): Tensor {
  const engine = tf.engine();
  const out = engine.makeTensorFromDataId(t.dataId, t.shape, t.dtype);
  // The new tensor shares the buffer: take a reference on it (as the Identity kernels do), or
  // disposing both would free the buffer once and leave the engine's tensor count drifting.
  engine.backend.incRef(t.dataId);
  return out;
}

/** A task learner: fast weights that start at the meta-parameters and move with `adapt`. */
export class Learner {
  private fast: Map<string, Tensor>;
  private readonly owned = new Set<Tensor>();
  private disposed = false;

  /** @internal */
  constructor(
    private readonly maml: MAML,
    start: Map<string, Tensor>,
  ) {
    this.fast = start;
  }

  /** The current fast weights by parameter name (do not dispose them; `dispose()` does). */
  get params(): Map<string, Tensor> {
    return this.fast;
  }

  /**
   * Forward pass of the module with the fast weights (batch statistics in batch norm unless
   * `MAML` was built with `training: false`).
   * @param x input batch.
   * @returns the module's output.
   */
  forward(x: Tensor): Tensor {
    this.check('forward');
    return this.maml.module.apply(this.fast, x, { training: this.maml.training });
  }

  /**
   * One inner step: θ' = θ − α·∇θ L(θ), where L is what `lossFn` returns (computed through
   * `learner.forward`). Inside `maml.metaGradients` the step is taped, so the meta-gradient
   * flows through it (second order) or around it (first order).
   * @param lossFn returns the scalar inner loss, e.g. `() => crossEntropy(learner.forward(xs), ys)`.
   * @param steps how many steps to take with the same loss function (default 1).
   * @returns the loss before the (last) step.
   * @throws TypeError if `lossFn` is not a function; ShapeError if it does not return a scalar;
   *   ValueError for a non-finite loss.
   */
  adapt(lossFn: (learner: Learner) => Tensor, steps = 1): number {
    this.check('adapt');
    if (typeof lossFn !== 'function') throw new TypeError(`Learner.adapt: argument 'lossFn' must be a function returning the inner loss, got ${describe(lossFn)}`);
    if (!Number.isInteger(steps) || steps < 1) throw new ValueError(`Learner.adapt: argument 'steps' must be a positive integer, got ${describe(steps)}`, 'steps');
    let last = NaN;
    for (let s = 0; s < steps; s++) last = this.step(lossFn);
    return last;
  }

  private step(lossFn: (learner: Learner) => Tensor): number {
    const names = [...this.fast.keys()];
    const current = names.map((n) => this.fast.get(n) as Tensor);
    const inMeta = metaDepth > 0;
    const run = () => {
      const { value, grads } = tf.valueAndGrads((..._ps: Tensor[]) => {
        const loss = lossFn(this);
        if (!(loss instanceof tf.Tensor) || loss.rank !== 0) {
          throw new ShapeError(`Learner.adapt: argument 'lossFn' must return a scalar tensor, got ${loss instanceof tf.Tensor ? `shape [${loss.shape.join(',')}]` : describe(loss)}`, {
            expected: 'scalar',
            received: loss instanceof tf.Tensor ? loss.shape : String(loss),
          });
        }
        return loss as tf.Scalar;
      })(current);
      const next = new Map<string, Tensor>();
      names.forEach((n, i) => {
        const g = this.maml.firstOrder ? detach(grads[i]) : grads[i];
        next.set(n, tf.sub(current[i], tf.mul(this.maml.lrFor(n), g)));
      });
      return { value, next };
    };
    if (inMeta) {
      const { value, next } = run();
      this.fast = next;
      // Reading the value syncs, but inner losses are small and this keeps NaN from passing silently.
      const v = value.dataSync()[0];
      if (!Number.isFinite(v)) throw new ValueError(`Learner.adapt: the inner loss is not finite (${v})`, 'lossFn');
      return v;
    }
    // tidy keeps tensors it can see in the result: arrays, not a Map.
    const kept = tf.tidy(() => {
      const r = run();
      return [r.value, ...names.map((n) => r.next.get(n) as Tensor)];
    });
    const value = kept[0];
    const next = new Map(names.map((n, i) => [n, kept[i + 1]]));
    const v = value.dataSync()[0];
    value.dispose();
    for (const t of this.owned) t.dispose();
    this.owned.clear();
    for (const t of next.values()) this.owned.add(t);
    this.fast = next;
    if (!Number.isFinite(v)) throw new ValueError(`Learner.adapt: the inner loss is not finite (${v})`, 'lossFn');
    return v;
  }

  /** Frees the fast weights this learner made (outside `metaGradients`; inside, the enclosing call frees them). */
  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.clear();
    this.disposed = true;
  }

  private check(fn: string): void {
    if (this.disposed) throw new ValueError(`Learner.${fn}: this learner was disposed`, 'this');
  }
}

/**
 * Model-agnostic meta-learning over any @x/tensor module through its functional forward.
 * @example
 * const model = mlp([1, 40, 40, 1], { seed: 0 });
 * const maml = new MAML(model, { lr: 0.01 });
 * const opt = new Adam(maml.parameters(), { lr: 1e-3 });
 * const loss = maml.step(opt, () => {
 *   const learner = maml.clone();
 *   learner.adapt(() => mse(learner.forward(xs), ys));
 *   return mse(learner.forward(xq), yq);
 * });
 */
export class MAML {
  readonly module: Module;
  readonly firstOrder: boolean;
  readonly training: boolean;
  readonly learnLr: boolean;
  private readonly lrValue: number;
  private readonly lrs = new Map<string, Variable>();
  private readonly lrConst = new Map<string, Tensor>();

  /**
   * @param module the model; its parameters are the meta-parameters.
   * @param options inner learning rate, first order, learnable rate, batch-norm mode.
   * @throws TypeError if `module` is not a Module; ValueError for a bad option.
   */
  constructor(module: Module, options: MamlOptions = {}) {
    if (!(module instanceof Module)) throw new TypeError(`MAML: argument 'module' must be a Module, got ${describe(module)}`);
    if (options === null || typeof options !== 'object') throw new TypeError(`MAML: argument 'options' must be an object, got ${describe(options)}`);
    this.module = module;
    this.lrValue = checkNumber('MAML', 'lr', options.lr ?? 0.01, { min: 0, minExclusive: true });
    this.firstOrder = options.firstOrder ?? false;
    this.learnLr = options.learnLr ?? false;
    this.training = options.training ?? true;
    for (const [k, v] of [['firstOrder', this.firstOrder], ['learnLr', this.learnLr], ['training', this.training]] as const) {
      if (typeof v !== 'boolean') throw new TypeError(`MAML: option '${k}' must be a boolean, got ${describe(v)}`);
    }
    for (const n of module.namedParameters().keys()) {
      if (this.learnLr) this.lrs.set(n, tf.variable(tf.scalar(this.lrValue), true, undefined));
      else this.lrConst.set(n, tf.keep(tf.scalar(this.lrValue)));
    }
    ensureSecondOrderSafeCast();
  }

  /** The inner learning rate used for a parameter (a scalar tensor, owned by this object). @internal */
  lrFor(name: string): Tensor {
    return (this.learnLr ? this.lrs.get(name) : this.lrConst.get(name)) as Tensor;
  }

  /** Current inner learning rates by parameter name. */
  innerLr(): Map<string, number> {
    return new Map([...this.module.namedParameters().keys()].map((n) => [n, this.lrFor(n).dataSync()[0]]));
  }

  /** The meta-parameters for the outer optimizer: the module's parameters, and `lr:<name>` if the rate is learned. */
  parameters(): Map<string, Variable> {
    const out = new Map(this.module.namedParameters());
    for (const [n, v] of this.lrs) out.set(`lr:${n}`, v);
    return out;
  }

  /** A learner whose fast weights start at the current meta-parameters. */
  clone(): Learner {
    return new Learner(this, new Map(this.module.namedParameters()));
  }

  /**
   * The meta-gradient of what `fn` returns (typically the mean query loss of a few tasks,
   * each adapted by its own `clone()`), with respect to every meta-parameter.
   * @param fn builds learners, adapts them and returns the scalar outer loss.
   * @returns the loss value and the gradients by name (the caller disposes the gradients, or use `step`).
   * @throws ShapeError if `fn` does not return a scalar; ValueError for a non-finite loss.
   */
  metaGradients(fn: () => Tensor): { loss: number; grads: Map<string, Tensor> } {
    if (typeof fn !== 'function') throw new TypeError(`MAML.metaGradients: argument 'fn' must be a function returning the outer loss, got ${describe(fn)}`);
    const params = this.parameters();
    const names = [...params.keys()];
    const vars = names.map((n) => params.get(n) as Variable);
    metaDepth++;
    let value: Tensor;
    let grads: Tensor[];
    try {
      ({ value, grads } = tf.valueAndGrads((..._ps: Tensor[]) => {
        const loss = fn();
        if (!(loss instanceof tf.Tensor) || loss.rank !== 0) {
          throw new ShapeError(`MAML.metaGradients: argument 'fn' must return a scalar tensor, got ${loss instanceof tf.Tensor ? `shape [${loss.shape.join(',')}]` : describe(loss)}`, {
            expected: 'scalar',
            received: loss instanceof tf.Tensor ? loss.shape : String(loss),
          });
        }
        return loss as tf.Scalar;
      })(vars));
    } finally {
      metaDepth--;
    }
    const loss = value.dataSync()[0];
    value.dispose();
    if (!Number.isFinite(loss)) {
      grads.forEach((g) => g.dispose());
      throw new ValueError(`MAML.metaGradients: the outer loss is not finite (${loss})`, 'fn');
    }
    return { loss, grads: new Map(names.map((n, i) => [n, grads[i]])) };
  }

  /**
   * One meta-update: `metaGradients(fn)`, then `optimizer.step`, then frees the gradients.
   * @param optimizer an optimizer over `maml.parameters()` (e.g. `new Adam(maml.parameters())`).
   * @param fn as for `metaGradients`.
   * @returns the outer loss before the update.
   */
  step(optimizer: Optimizer, fn: () => Tensor): number {
    const { loss, grads } = this.metaGradients(fn);
    try {
      optimizer.step(grads);
    } finally {
      for (const g of grads.values()) g.dispose();
    }
    return loss;
  }

  /** Frees the learning-rate tensors (not the module, which the caller owns). */
  dispose(): void {
    for (const v of this.lrs.values()) v.dispose();
    for (const v of this.lrConst.values()) v.dispose();
    this.lrs.clear();
    this.lrConst.clear();
  }
}

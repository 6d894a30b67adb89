/**
 * The module system: layers with named parameters, a normal forward, a functional forward
 * over a parameter map (MAML, EWC, PackNet and the exporters all see the same names), exact
 * state save/load and parametrizations (the hook that pruning uses for `orig · mask`).
 */
import { tf } from './backend.js';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, describe } from './errors.js';

/** Parameters by full name (`"0.weight"`), as plain tensors or variables. */
export type ParamMap = Record<string, Tensor> | Map<string, Tensor>;

/** A function that turns a stored parameter into the effective one (e.g. `w ⇒ w · mask`). */
export type Parametrization = (orig: Tensor) => Tensor;

/** One entry of a state dict: an exact copy of a parameter or buffer. */
export interface StateEntry {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

/** Every parameter and buffer of a module by full name. */
export type StateDict = Record<string, StateEntry>;

/** Options of `Module.apply`. */
export interface ApplyOptions {
  /** Run in training mode (batch statistics, dropout). Default: the module's own mode. */
  training?: boolean;
  /** Apply registered parametrizations (e.g. pruning masks) to the given parameters. Default true. */
  parametrize?: boolean;
}

type Getter = (localName: string) => Tensor;

// Whether the forward pass now running applies parametrizations. Forward passes are
// synchronous, so one flag (saved and restored around each `invoke`) carries the choice of
// `apply(..., { parametrize })` down to every child.
let parametrizeActive = true;

function isParamMap(p: unknown): p is ParamMap {
  return p instanceof Map || (p !== null && typeof p === 'object' && !Array.isArray(p) && !ArrayBuffer.isView(p));
}

function lookup(params: ParamMap, name: string): Tensor | undefined {
  return params instanceof Map ? params.get(name) : params[name];
}

/**
 * Base class of every layer. Subclasses declare parameters with `addParam`, buffers
 * (non-trainable state such as running statistics) with `addBuffer`, children with
 * `addChild`, and implement `call(x, get, training)` where `get(localName)` returns the
 * parameter to use — the module's own, or one from a map passed to `apply`.
 */
export abstract class Module {
  /** Whether the module is in training mode (batch statistics, dropout on). */
  training = true;
  private readonly ownParams = new Map<string, Variable>();
  private readonly ownBuffers = new Map<string, Variable>();
  private readonly ownChildren = new Map<string, Module>();
  private readonly ownParametrizations = new Map<string, Parametrization>();

  /** A short description such as `Linear(784→300)`, used in error messages. */
  abstract toString(): string;

  /** Forward pass given the parameter getter. Implemented by each layer. */
  protected abstract call(x: Tensor, get: Getter, training: boolean): Tensor;

  /** A deep copy with new variables holding the same values (parametrizations not copied). */
  abstract clone(): Module;

  protected addParam(name: string, value: Tensor): Variable {
    const v = tf.variable(value, true);
    value.dispose();
    this.ownParams.set(name, v);
    return v;
  }

  protected addBuffer(name: string, value: Tensor): Variable {
    const v = tf.variable(value, false);
    value.dispose();
    this.ownBuffers.set(name, v);
    return v;
  }

  protected addChild<M extends Module>(name: string, child: M): M {
    this.ownChildren.set(name, child);
    return child;
  }

  /** Direct children by local name, in order. */
  children(): Map<string, Module> {
    return new Map(this.ownChildren);
  }

  /** Parameters of this module only (not of children), by local name. */
  localParameters(): Map<string, Variable> {
    return new Map(this.ownParams);
  }

  /**
   * All trainable parameters by full name (`"0.weight"`, `"0.bias"`, `"2.weight"`, ...),
   * in a stable order: own parameters first, then each child's in order.
   */
  namedParameters(prefix = ''): Map<string, Variable> {
    const out = new Map<string, Variable>();
    for (const [k, v] of this.ownParams) out.set(prefix + k, v);
    for (const [k, c] of this.ownChildren) for (const [n, v] of c.namedParameters(`${prefix}${k}.`)) out.set(n, v);
    return out;
  }

  /** All buffers (running statistics) by full name. */
  namedBuffers(prefix = ''): Map<string, Variable> {
    const out = new Map<string, Variable>();
    for (const [k, v] of this.ownBuffers) out.set(prefix + k, v);
    for (const [k, c] of this.ownChildren) for (const [n, v] of c.namedBuffers(`${prefix}${k}.`)) out.set(n, v);
    return out;
  }

  /** All sub-modules by full name (`""` is this module), depth first. */
  namedModules(prefix = ''): Map<string, Module> {
    const out = new Map<string, Module>([[prefix.replace(/\.$/, ''), this]]);
    for (const [k, c] of this.ownChildren) for (const [n, m] of c.namedModules(`${prefix}${k}.`)) out.set(n, m);
    return out;
  }

  /** The trainable variables, in `namedParameters` order. */
  parameters(): Variable[] {
    return [...this.namedParameters().values()];
  }

  /** Total number of parameter entries. */
  numParameters(): number {
    let n = 0;
    for (const v of this.namedParameters().values()) n += v.size;
    return n;
  }

  /** Switches this module and its children to training (`true`) or evaluation mode. */
  train(mode = true): this {
    this.training = mode;
    for (const c of this.ownChildren.values()) c.train(mode);
    return this;
  }

  /** Switches to evaluation mode (running statistics, no dropout). */
  eval(): this {
    return this.train(false);
  }

  /**
   * Registers (or with `null` removes) a parametrization of one parameter: the forward pass
   * then uses `fn(stored)` instead of the stored value, as torch.nn.utils.parametrize does.
   * Pruning uses it for `orig · mask`.
   * @throws ValueError if no parameter has that name.
   */
  setParametrization(fullName: string, fn: Parametrization | null): void {
    const { owner, local } = this.resolveParam('setParametrization', fullName);
    if (fn === null) owner.ownParametrizations.delete(local);
    else owner.ownParametrizations.set(local, fn);
  }

  /** The parametrization registered for a parameter, if any. */
  getParametrization(fullName: string): Parametrization | undefined {
    const { owner, local } = this.resolveParam('getParametrization', fullName);
    return owner.ownParametrizations.get(local);
  }

  private resolveParam(fn: string, fullName: string): { owner: Module; local: string } {
    const parts = fullName.split('.');
    let owner: Module = this;
    for (const p of parts.slice(0, -1)) {
      const next = owner.ownChildren.get(p);
      if (next === undefined) break;
      owner = next;
    }
    const local = parts[parts.length - 1];
    if (!owner.ownParams.has(local) || !this.namedParameters().has(fullName)) {
      throw new ValueError(
        `${fn}: argument 'name' must be a parameter of ${this.toString()} (${[...this.namedParameters().keys()].join(', ')}), got '${fullName}'`,
        'name',
      );
    }
    return { owner, local };
  }

  /** Runs `call` with this module's parametrizations applied around `get`. */
  protected invoke(x: Tensor, get: Getter, training: boolean, parametrize = true): Tensor {
    const g: Getter =
      parametrize && this.ownParametrizations.size > 0
        ? (name) => {
            const t = get(name);
            const f = this.ownParametrizations.get(name);
            return f ? f(t) : t;
          }
        : get;
    const saved = parametrizeActive;
    parametrizeActive = parametrize;
    try {
      return this.call(x, g, training);
    } finally {
      parametrizeActive = saved;
    }
  }

  /** Runs a child with its parameters looked up under `key.` in `get`. */
  protected runChild(key: string, child: Module, x: Tensor, get: Getter, training: boolean): Tensor {
    return child.invoke(x, (n) => get(`${key}.${n}`), training, parametrizeActive);
  }

  /**
   * The normal forward pass with the module's own parameters (parametrizations applied).
   * @param x input batch.
   * @returns the output batch.
   */
  forward(x: Tensor): Tensor {
    const own = this.namedParameters();
    return this.invoke(x, (n) => own.get(n) as Tensor, this.training);
  }

  /**
   * Functional forward: the same computation with the parameters taken from `params`
   * (full names, as in `namedParameters`). Gradients flow into `params`, not into the
   * module's variables, which MAML's inner loop needs. Buffers are the module's own.
   * @param params every parameter by full name.
   * @param x input batch.
   * @param options training mode and whether parametrizations apply.
   * @returns the output batch.
   * @throws ValueError if a parameter is missing from `params`; ShapeError if one has the wrong shape.
   */
  apply(params: ParamMap, x: Tensor, options: ApplyOptions = {}): Tensor {
    if (!isParamMap(params)) {
      throw new TypeError(`${this.toString()}.apply: argument 'params' must be a Map or an object of tensors by name, got ${describe(params)}`);
    }
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`${this.toString()}.apply: argument 'options' must be an object, got ${describe(options)}`);
    }
    const own = this.namedParameters();
    const get: Getter = (name) => {
      const t = lookup(params, name);
      if (t === undefined) {
        throw new ValueError(`${this.toString()}.apply: argument 'params' has no entry '${name}' (expected ${[...own.keys()].join(', ')})`, 'params');
      }
      if (t === null || typeof t !== 'object' || !Array.isArray((t as Tensor).shape)) {
        throw new TypeError(`${this.toString()}.apply: entry '${name}' of argument 'params' must be a Tensor, got ${describe(t)}`);
      }
      const expected = own.get(name)?.shape;
      if (expected && (expected.length !== t.shape.length || expected.some((d, i) => d !== t.shape[i]))) {
        throw new ShapeError(
          `${this.toString()}.apply: parameter '${name}' must have shape [${expected.join(',')}], got [${t.shape.join(',')}]`,
          { expected: `[${expected.join(',')}]`, received: t.shape },
        );
      }
      return t;
    };
    return this.invoke(x, get, options.training ?? this.training, options.parametrize ?? true);
  }

  /** Exact copies of every parameter and buffer by full name. */
  stateDict(): StateDict {
    const out: StateDict = {};
    const add = (name: string, v: Variable) => {
      const dtype = v.dtype === 'int32' ? 'int32' : 'float32';
      const src = v.dataSync();
      out[name] = { shape: [...v.shape], dtype, data: dtype === 'int32' ? Int32Array.from(src) : Float32Array.from(src) };
    };
    for (const [n, v] of this.namedParameters()) add(n, v);
    for (const [n, v] of this.namedBuffers()) add(n, v);
    return out;
  }

  /**
   * Loads values saved by `stateDict` (exactly, bit for bit).
   * @param state entries by full name.
   * @param options `strict` (default true): every parameter and buffer must be present and no extra entry allowed.
   * @throws ValueError on missing or unexpected names; ShapeError on a shape mismatch.
   */
  loadStateDict(state: StateDict, options: { strict?: boolean } = {}): this {
    if (state === null || typeof state !== 'object' || Array.isArray(state)) {
      throw new TypeError(`loadStateDict: argument 'state' must be an object of entries by name (from stateDict()), got ${describe(state)}`);
    }
    const strict = options.strict ?? true;
    const targets = new Map([...this.namedParameters(), ...this.namedBuffers()]);
    if (strict) {
      const missing = [...targets.keys()].filter((k) => !(k in state));
      const extra = Object.keys(state).filter((k) => !targets.has(k));
      if (missing.length > 0 || extra.length > 0) {
        throw new ValueError(
          `loadStateDict: argument 'state' must match ${this.toString()}: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]`,
          'state',
        );
      }
    }
    // Validate every entry before assigning any, so that a bad state leaves the module as it was.
    const todo: Array<[Variable, StateEntry]> = [];
    for (const [name, entry] of Object.entries(state)) {
      const v = targets.get(name);
      if (v === undefined) continue;
      if (
        entry === null ||
        typeof entry !== 'object' ||
        !Array.isArray(entry.shape) ||
        !(entry.data instanceof Float32Array || entry.data instanceof Int32Array || Array.isArray(entry.data))
      ) {
        throw new TypeError(`loadStateDict: entry '${name}' must be { shape, dtype, data } with a Float32Array or Int32Array 'data', got ${describe(entry)}`);
      }
      const n = entry.shape.reduce((a, b) => a * b, 1);
      if (entry.shape.length !== v.shape.length || entry.shape.some((d, i) => d !== v.shape[i]) || entry.data.length !== n) {
        throw new ShapeError(`loadStateDict: entry '${name}' must have shape [${v.shape.join(',')}], got [${entry.shape.join(',')}] with ${entry.data.length} values`, {
          expected: `[${v.shape.join(',')}]`,
          received: entry.shape,
        });
      }
      todo.push([v, entry]);
    }
    for (const [v, entry] of todo) tf.tidy(() => v.assign(tf.tensor(entry.data, entry.shape, v.dtype)));
    return this;
  }

  /** Frees every variable of this module and its children, and any tensor a parametrization owns (its `dispose()`, e.g. a pruning mask). */
  dispose(): void {
    for (const f of this.ownParametrizations.values()) (f as { dispose?: () => void }).dispose?.();
    this.ownParametrizations.clear();
    for (const v of this.ownParams.values()) v.dispose();
    for (const v of this.ownBuffers.values()) v.dispose();
    for (const c of this.ownChildren.values()) c.dispose();
  }

  /** Copies values of own parameters and buffers into `target` (same structure). */
  protected copyStateInto<M extends Module>(target: M): M {
    target.loadStateDict(this.stateDict());
    target.training = this.training;
    return target;
  }
}

/** Checks the rank and (optionally) the last dimension of a layer input. */
export function checkInput(layer: Module, x: Tensor, rank: number | number[], lastDim?: number): void {
  if (x === null || typeof x !== 'object' || !Array.isArray((x as Tensor).shape)) {
    throw new TypeError(`${layer.toString()}.forward: argument 'x' must be a Tensor, got ${describe(x)}`);
  }
  const ranks = Array.isArray(rank) ? rank : [rank];
  if (!ranks.includes(x.rank)) {
    throw new ShapeError(`${layer.toString()}.forward: argument 'x' must be rank ${ranks.join(' or ')}, got shape [${x.shape.join(',')}]`, {
      expected: `rank ${ranks.join('|')}`,
      received: x.shape,
    });
  }
  if (lastDim !== undefined && x.shape[x.rank - 1] !== lastDim) {
    throw new ShapeError(`${layer.toString()}.forward: argument 'x' must have last dimension ${lastDim}, got shape [${x.shape.join(',')}]`, {
      expected: `[…,${lastDim}]`,
      received: x.shape,
    });
  }
}

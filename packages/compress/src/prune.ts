/**
 * Unstructured pruning as a mask reparametrisation, as torch.nn.utils.prune does it: a pruned
 * parameter keeps its original values (the model's variable) and a 0/1 mask; the forward pass
 * uses `orig · mask` through `Module.setParametrization`. Masks survive training through
 * `pruningHooks` (gradients and optimizer state are masked), and `removePruning` makes the
 * pruning permanent.
 *
 * Exact counts: pruning `amount` of n candidate weights masks exactly k = round(amount · n)
 * of them, with round-half-to-even (Python's `round`, which torch.nn.utils.prune uses). The k
 * smallest |w| are masked; ties at the threshold are broken by position: the lower flat index
 * first, over the parameters in `namedParameters()` order (global scope) or within the
 * parameter (layer scope). Pruning an already pruned parameter prunes among its remaining
 * (unmasked) weights, cumulatively, like torch's PruningContainer.
 */
import { tf, Module, Linear, Conv2d, ValueError, NonFiniteError, UnsupportedError, checkNumber, describe } from '@x/tensor';
import type { Optimizer, Parametrization } from '@x/tensor';

type Tensor = tf.Tensor;

/** 0/1 float32 masks by parameter name (`"0.weight"`), same shape as the parameter. */
export type Masks = Map<string, Tensor>;

/** Where one threshold applies: across every selected parameter, or per parameter. */
export type PruneScope = 'global' | 'layer';

/** Options of `magnitudePrune`. */
export interface MagnitudePruneOptions {
  /**
   * Fraction in [0, 1) of the still-unpruned weights to prune: k = round(amount · n) with
   * round-half-to-even, n counted over every selected parameter (global) or per parameter (layer).
   */
  amount: number;
  /** `'global'`: one threshold across all selected parameters; `'layer'`: one per parameter. */
  scope: PruneScope;
  /** Parameter names to prune (default: every `weight` of a Linear or Conv2d layer; never biases or batch norm). */
  params?: string[];
}

/** Options of `pruneToSparsity`. */
export interface PruneToSparsityOptions {
  /** Target fraction in [0, 1) of masked weights: exactly round(sparsity · n) are masked afterwards. */
  sparsity: number;
  scope: PruneScope;
  params?: string[];
}

/** A pruning parametrization: `orig ⇒ orig · mask`, carrying its mask so it can be found again. */
interface MaskParametrization extends Parametrization {
  readonly pruneMask: Tensor;
}

function isMaskFn(f: Parametrization | undefined): f is MaskParametrization {
  return f !== undefined && (f as Partial<MaskParametrization>).pruneMask !== undefined;
}

function makeMaskFn(mask: Tensor): MaskParametrization {
  // `+ 0` turns the −0 of a negative weight times 0 into +0: exported weights and baked
  // zeros are then all the same bit pattern (which is what compresses).
  const f = ((orig: Tensor) => tf.add(tf.mul(orig, mask), 0)) as Parametrization;
  Object.defineProperty(f, 'pruneMask', { value: mask, enumerable: false });
  // Module.dispose() calls this, so a pruned model frees its masks with its variables.
  Object.defineProperty(f, 'dispose', { value: () => mask.dispose(), enumerable: false });
  return f as MaskParametrization;
}

/** Round half to even (Python's `round`), so counts match torch.nn.utils.prune exactly. */
export function roundHalfEvenCount(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function checkModel(fn: string, model: unknown): asserts model is Module {
  if (!(model instanceof Module)) throw new TypeError(`${fn}: argument 'model' must be a Module, got ${describe(model)}`);
}

/** Names of the default prunable parameters: the `weight` of every Linear and Conv2d layer. */
export function prunableParameters(model: Module): string[] {
  checkModel('prunableParameters', model);
  const out: string[] = [];
  for (const [name, m] of model.namedModules()) {
    if (m instanceof Linear || m instanceof Conv2d) out.push(name === '' ? 'weight' : `${name}.weight`);
  }
  const order = [...model.namedParameters().keys()];
  return out.sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/** Validates a `params` option and returns the names in `namedParameters` order. */
export function resolveParams(fn: string, model: Module, params: unknown): string[] {
  if (params === undefined) {
    const names = prunableParameters(model);
    if (names.length === 0) {
      throw new ValueError(`${fn}: argument 'model' has no Linear or Conv2d weight to prune (${model.toString()}); pass 'params'`, 'model');
    }
    return names;
  }
  if (!Array.isArray(params) || params.length === 0 || params.some((p) => typeof p !== 'string')) {
    throw new TypeError(`${fn}: option 'params' must be a non-empty list of parameter names, got ${describe(params)}`);
  }
  const order = [...model.namedParameters().keys()];
  const seen = new Set<string>();
  for (const p of params as string[]) {
    if (!order.includes(p)) {
      throw new ValueError(`${fn}: option 'params' names '${p}', which is not a parameter of the model (${order.join(', ')})`, 'params');
    }
    if (seen.has(p)) throw new ValueError(`${fn}: option 'params' lists '${p}' twice`, 'params');
    seen.add(p);
  }
  return [...(params as string[])].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

function checkScope(fn: string, scope: unknown): PruneScope {
  if (scope !== 'global' && scope !== 'layer') {
    throw new ValueError(`${fn}: option 'scope' must be 'global' or 'layer', got ${describe(scope)}`, 'scope');
  }
  return scope;
}

function checkFraction(fn: string, arg: string, v: unknown): number {
  return checkNumber(fn, arg, v, { min: 0, max: 1, maxExclusive: true });
}

/** The existing pruning mask of a parameter, or undefined. Throws if a foreign parametrization is set. */
function currentMask(fn: string, model: Module, name: string): Tensor | undefined {
  const f = model.getParametrization(name);
  if (f === undefined) return undefined;
  if (!isMaskFn(f)) {
    throw new UnsupportedError(`${fn}: parameter '${name}' already has a parametrization that is not a pruning mask; remove it first`);
  }
  return f.pruneMask;
}

/** Sets (replacing) the mask of a parameter; the model owns `mask` from now on. */
function setMask(model: Module, name: string, mask: Tensor): void {
  const old = currentMask('setMask', model, name);
  tf.keep(mask);
  model.setParametrization(name, makeMaskFn(mask));
  if (old !== undefined && old !== mask) old.dispose();
}

interface Candidate {
  name: string;
  size: number;
  shape: number[];
  abs: Float32Array;
  /** 1 where the weight is still unpruned. */
  mask: Float32Array;
  remaining: number;
}

function gather(fn: string, model: Module, names: string[]): Candidate[] {
  const params = model.namedParameters();
  return names.map((name) => {
    const v = params.get(name) as tf.Variable;
    const data = v.dataSync() as Float32Array;
    const abs = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const w = data[i];
      if (!Number.isFinite(w)) {
        throw new NonFiniteError(`${fn}: parameter '${name}' must hold finite weights, got ${w} at flat index ${i}`, 'model', i);
      }
      abs[i] = Math.abs(w);
    }
    const m = currentMask(fn, model, name);
    const mask = m === undefined ? new Float32Array(data.length).fill(1) : Float32Array.from(m.dataSync() as Float32Array);
    let remaining = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) remaining++;
    return { name, size: data.length, shape: [...v.shape], abs, mask, remaining };
  });
}

/**
 * Masks exactly `k` more weights of the group: the k smallest |w| among the unmasked ones,
 * ties at the threshold broken by lower position (group order, then flat index).
 */
function maskSmallest(group: Candidate[], k: number): void {
  if (k <= 0) return;
  const total = group.reduce((s, c) => s + c.remaining, 0);
  const values = new Float32Array(total);
  let j = 0;
  for (const c of group) for (let i = 0; i < c.size; i++) if (c.mask[i] !== 0) values[j++] = c.abs[i];
  values.sort();
  const threshold = values[k - 1];
  let below = 0;
  for (let i = 0; i < total && values[i] < threshold; i++) below++;
  let atThreshold = k - below;
  for (const c of group) {
    for (let i = 0; i < c.size; i++) {
      if (c.mask[i] === 0) continue;
      const a = c.abs[i];
      if (a < threshold) c.mask[i] = 0;
      else if (a === threshold && atThreshold > 0) {
        c.mask[i] = 0;
        atThreshold--;
      }
    }
    c.remaining = 0;
    for (let i = 0; i < c.size; i++) if (c.mask[i] !== 0) c.remaining++;
  }
}

function commit(model: Module, group: Candidate[], out: Masks): void {
  for (const c of group) {
    const mask = tf.keep(tf.tensor(c.mask, c.shape, 'float32'));
    setMask(model, c.name, mask);
    out.set(c.name, mask);
  }
}

/**
 * Magnitude pruning: masks the `amount` fraction of the smallest-magnitude remaining weights,
 * with one threshold across all selected parameters (`scope: 'global'`) or one per parameter
 * (`'layer'`). Exactly k = round(amount · n) weights are masked per group (n = unmasked
 * weights in the group; round half to even); ties are broken by lower position.
 * @param model the model; its selected parameters get (or extend) a pruning mask.
 * @param options amount in [0, 1), scope, optional parameter names.
 * @returns the masks of the pruned parameters. They are owned by the model: do not dispose
 * them; they stay valid until the parameter is pruned again or `removePruning` is called.
 * @throws ValueError for an amount outside [0, 1), an unknown scope or parameter name;
 * NonFiniteError (naming the parameter) for a NaN or infinite weight.
 * @example
 * const model = mlp([784, 300, 100, 10], { seed: 0 });
 * magnitudePrune(model, { amount: 0.9, scope: 'global' });
 * sparsity(model, { params: prunableParameters(model) }).fraction;   // 0.9
 */
export function magnitudePrune(model: Module, options: MagnitudePruneOptions): Masks {
  const fn = 'magnitudePrune';
  checkModel(fn, model);
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: argument 'options' must be { amount, scope }, got ${describe(options)}`);
  const amount = checkFraction(fn, 'amount', options.amount);
  const scope = checkScope(fn, options.scope);
  const names = resolveParams(fn, model, options.params);
  const cands = gather(fn, model, names);
  const groups = scope === 'global' ? [cands] : cands.map((c) => [c]);
  for (const g of groups) maskSmallest(g, roundHalfEvenCount(amount * g.reduce((s, c) => s + c.remaining, 0)));
  const out: Masks = new Map();
  commit(model, cands, out);
  return out;
}

/**
 * Prunes until exactly round(sparsity · n) of the selected weights are masked (n = all
 * weights of the group, masked or not), keeping existing masks: the schedules use it to
 * reach an absolute sparsity.
 * @param model the model.
 * @param options target sparsity in [0, 1), scope, optional parameter names.
 * @returns the masks (owned by the model, as for `magnitudePrune`).
 * @throws ValueError if a group already has more masked weights than the target, or for bad
 * options; NonFiniteError for a NaN or infinite weight.
 * @example
 * pruneToSparsity(model, { sparsity: 0.5, scope: 'layer' });
 */
export function pruneToSparsity(model: Module, options: PruneToSparsityOptions): Masks {
  return pruneTo('pruneToSparsity', model, options, false);
}

/** @internal `atLeast`: a group already sparser than the target is left as it is (gradual pruning never un-prunes). */
export function pruneTo(fn: string, model: Module, options: PruneToSparsityOptions, atLeast: boolean): Masks {
  checkModel(fn, model);
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: argument 'options' must be { sparsity, scope }, got ${describe(options)}`);
  const target = checkFraction(fn, 'sparsity', options.sparsity);
  const scope = checkScope(fn, options.scope);
  const names = resolveParams(fn, model, options.params);
  const cands = gather(fn, model, names);
  const groups = scope === 'global' ? [cands] : cands.map((c) => [c]);
  for (const g of groups) {
    const n = g.reduce((s, c) => s + c.size, 0);
    const masked = n - g.reduce((s, c) => s + c.remaining, 0);
    const want = roundHalfEvenCount(target * n);
    if (want < masked && !atLeast) {
      throw new ValueError(
        `${fn}: option 'sparsity' ${target} asks for ${want} masked weights in ${g.map((c) => `'${c.name}'`).join(', ')}, but ${masked} are already masked (pruning never un-prunes)`,
        'sparsity',
      );
    }
    maskSmallest(g, want - masked);
  }
  const out: Masks = new Map();
  commit(model, cands, out);
  return out;
}

/**
 * The pruning masks currently set on the model, by parameter name.
 * @param model the model.
 * @returns live masks owned by the model (do not dispose them).
 * @example
 * const masks = getMasks(model);   // Map { '0.weight' => Tensor, ... }
 */
export function getMasks(model: Module): Masks {
  checkModel('getMasks', model);
  const out: Masks = new Map();
  for (const name of model.namedParameters().keys()) {
    const f = model.getParametrization(name);
    if (isMaskFn(f)) out.set(name, f.pruneMask);
  }
  return out;
}

/**
 * Sets the given masks on the model (replacing any existing mask of those parameters). The
 * tensors are copied: the caller keeps ownership of `masks`.
 * @param model the model.
 * @param masks 0/1 masks by parameter name, each of its parameter's shape.
 * @throws ValueError for an unknown name or a value other than 0 or 1; ShapeError-like ValueError for a wrong shape.
 * @example
 * const saved = new Map([...getMasks(a)].map(([k, m]) => [k, m.clone()]));
 * applyMasks(b, saved);
 */
export function applyMasks(model: Module, masks: Masks): void {
  const fn = 'applyMasks';
  checkModel(fn, model);
  if (!(masks instanceof Map)) throw new TypeError(`${fn}: argument 'masks' must be a Map of parameter name to mask tensor, got ${describe(masks)}`);
  const params = model.namedParameters();
  const checked: Array<[string, Float32Array, number[]]> = [];
  for (const [name, m] of masks) {
    const v = params.get(name);
    if (v === undefined) throw new ValueError(`${fn}: argument 'masks' has '${name}', which is not a parameter of the model (${[...params.keys()].join(', ')})`, 'masks');
    if (m === null || typeof m !== 'object' || !Array.isArray((m as Tensor).shape)) {
      throw new TypeError(`${fn}: mask '${name}' must be a Tensor, got ${describe(m)}`);
    }
    if (m.shape.length !== v.shape.length || m.shape.some((d, i) => d !== v.shape[i])) {
      throw new ValueError(`${fn}: mask '${name}' must have shape [${v.shape.join(',')}], got [${m.shape.join(',')}]`, 'masks');
    }
    const data = Float32Array.from(m.dataSync() as ArrayLike<number>);
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== 0 && data[i] !== 1) throw new ValueError(`${fn}: mask '${name}' must hold only 0 and 1, got ${data[i]} at flat index ${i}`, 'masks');
    }
    currentMask(fn, model, name);
    checked.push([name, data, [...v.shape]]);
  }
  for (const [name, data, shape] of checked) setMask(model, name, tf.tensor(data, shape, 'float32'));
}

/**
 * Makes pruning permanent: each pruned parameter's variable becomes `orig · mask` and its
 * mask parametrization is removed (torch's `prune.remove`).
 * @param model the model.
 * @param names parameters to finalise (default: every pruned one).
 * @throws ValueError if a named parameter is not pruned.
 * @example
 * removePruning(model);   // getMasks(model).size === 0, zeros stay in the weights
 */
export function removePruning(model: Module, names?: string[]): void {
  const fn = 'removePruning';
  checkModel(fn, model);
  const masks = getMasks(model);
  const list = names === undefined ? [...masks.keys()] : resolveParams(fn, model, names);
  for (const n of list) if (!masks.has(n)) throw new ValueError(`${fn}: parameter '${n}' is not pruned (pruned: ${[...masks.keys()].join(', ') || 'none'})`, 'names');
  const params = model.namedParameters();
  for (const n of list) {
    const v = params.get(n) as tf.Variable;
    const mask = masks.get(n) as Tensor;
    const f = model.getParametrization(n) as MaskParametrization;
    tf.tidy(() => v.assign(f(v)));
    model.setParametrization(n, null);
    mask.dispose();
  }
}

/** Counts of one parameter or of the whole selection. */
export interface SparsityCount {
  total: number;
  zeros: number;
  fraction: number;
}

/** Result of `sparsity`. */
export interface SparsityReport extends SparsityCount {
  perParam: Record<string, SparsityCount>;
}

/**
 * Counts zeros of the EFFECTIVE weights (`orig · mask` for pruned parameters, the variable
 * otherwise), per parameter and in total.
 * @param model the model.
 * @param options `params`: which parameters (default: all of them, biases and batch norm
 * included, so `total` is `model.numParameters()`; pass `prunableParameters(model)` for the
 * Linear/Conv2d weights only).
 * @returns total entries, zero entries and their fraction, overall and per parameter.
 * @example
 * sparsity(model).perParam['0.weight'].fraction;
 */
export function sparsity(model: Module, options: { params?: string[] } = {}): SparsityReport {
  const fn = 'sparsity';
  checkModel(fn, model);
  const params = model.namedParameters();
  const names = options.params === undefined ? [...params.keys()] : resolveParams(fn, model, options.params);
  const perParam: Record<string, SparsityCount> = {};
  let total = 0;
  let zeros = 0;
  for (const n of names) {
    const v = params.get(n) as tf.Variable;
    const f = model.getParametrization(n);
    const data = f === undefined ? (v.dataSync() as Float32Array) : tf.tidy(() => f(v).dataSync() as Float32Array);
    let z = 0;
    for (let i = 0; i < data.length; i++) if (data[i] === 0) z++;
    perParam[n] = { total: data.length, zeros: z, fraction: data.length === 0 ? 0 : z / data.length };
    total += data.length;
    zeros += z;
  }
  return { total, zeros, fraction: total === 0 ? 0 : zeros / total, perParam };
}

/** Hooks for `fit` / `trainStep`. */
export interface PruningHooks {
  /** Multiplies each pruned parameter's gradient by its mask. */
  beforeStep: (grads: Map<string, Tensor>) => Map<string, Tensor>;
  /** Zeroes the optimizer state (momentum, Adam moments) at masked positions. */
  afterStep: (step?: number) => void;
}

/**
 * Keeps pruned weights pruned during training: `beforeStep` zeroes the optimizer state at
 * masked positions (`optimizer.maskState`) and masks the gradients; `afterStep` zeroes the
 * state again. Momentum or Adam moments accumulated before pruning therefore never move a
 * masked weight, and with no weight decay the stored original at a masked position stays
 * exactly as it was (coupled weight decay is added inside the optimizer, after the hook, so
 * it still shrinks the stored original within a step; the effective weight stays 0 either
 * way). The masks are read at every call, so pruning more during training (schedules) is
 * followed.
 * @param model the pruned model.
 * @param optimizer the optimizer `fit` uses.
 * @returns `{ beforeStep, afterStep }` to pass to `fit`.
 * @example
 * const opt = new Adam(model, { lr: 1e-3 });
 * await fit(model, data, { optimizer: opt, ...pruningHooks(model, opt) });
 */
export function pruningHooks(model: Module, optimizer: Optimizer): PruningHooks {
  const fn = 'pruningHooks';
  checkModel(fn, model);
  if (optimizer === null || typeof optimizer !== 'object' || typeof (optimizer as Optimizer).maskState !== 'function') {
    throw new TypeError(`${fn}: argument 'optimizer' must be an Optimizer (with maskState), got ${describe(optimizer)}`);
  }
  const known = new Set(optimizer.names());
  const maskState = (masks: Masks) => {
    for (const [n, m] of masks) if (known.has(n)) optimizer.maskState(n, m);
  };
  return {
    beforeStep: (grads) => {
      const masks = getMasks(model);
      if (masks.size === 0) return grads;
      // Also before the step: momentum accumulated before pruning would otherwise move the
      // stored weights at masked positions in this step.
      maskState(masks);
      const out = new Map<string, Tensor>();
      for (const [n, g] of grads) {
        const m = masks.get(n);
        out.set(n, m === undefined ? g : tf.mul(g, m));
      }
      return out;
    },
    afterStep: () => maskState(getMasks(model)),
  };
}

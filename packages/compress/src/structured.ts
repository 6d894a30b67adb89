/**
 * Structured pruning: removes whole hidden neurons of Linear layers and whole filters of
 * Conv2d layers, and the matching inputs of the layer that consumes them, so the model really
 * gets smaller (fewer parameters, smaller matrices, less compute) — unlike masking.
 *
 * Removing unit j of a producer is exactly the same function as zeroing the consumer's
 * weights that read unit j (its rows of a Linear weight [in, out], its input-channel slice of
 * a conv filter HWIO), whatever lies between them, as long as everything between acts on
 * each unit separately: activations, dropout, batch norm (its per-feature entries are removed
 * too), max/avg pooling, and Flatten (channel c of an NHWC map of H·W positions becomes the
 * Linear rows p·C + c, p = h·W + w).
 */
import {
  tf,
  Sequential,
  Module,
  Linear,
  Conv2d,
  BatchNorm,
  ReLU,
  Tanh,
  Sigmoid,
  Dropout,
  MaxPool2d,
  AvgPool2d,
  Flatten,
  ValueError,
  ShapeError,
  checkNumber,
  describe,
} from '@x/tensor';
import type { StateDict } from '@x/tensor';
import { applyMasks, getMasks, roundHalfEvenCount } from './prune.js';

/** Options of `structuredPrune` and `planStructuredPrune`. */
export interface StructuredPruneOptions {
  /**
   * Fraction in [0, 1) of the units (neurons / filters) of each pruned layer to remove:
   * round(amount · units), round half to even; at least one unit must remain.
   */
  amount: number;
  /** Norm of a unit's incoming (effective) weights that ranks it; the smallest go (default 'l1'). */
  norm?: 'l1' | 'l2';
  /** Indices (in the Sequential) of the Linear / Conv2d layers whose outputs to prune (default: every prunable one). */
  layers?: number[];
}

/** What happens to one producer layer. */
export interface StructuredLayerPlan {
  /** Index of the Linear / Conv2d layer in the Sequential. */
  index: number;
  kind: 'linear' | 'conv2d';
  /** Units before pruning. */
  units: number;
  /** Norm of each unit's incoming weights. */
  norms: number[];
  /** Units removed, ascending. */
  removed: number[];
  /** Units kept, ascending (their new order). */
  kept: number[];
  /** Index of the layer whose inputs shrink. */
  consumer: number;
  /** Batch-norm layers between producer and consumer (their features shrink too). */
  batchNorms: number[];
  /** For a conv feeding Flatten → Linear: positions H·W per channel; else 1. */
  positions: number;
}

/** The full plan: one entry per pruned producer, in layer order. */
export interface StructuredPlan {
  layers: StructuredLayerPlan[];
}

interface Link {
  kind: 'linear' | 'conv2d';
  consumer: number;
  batchNorms: number[];
  positions: number;
}

const ELEMENTWISE = [ReLU, Tanh, Sigmoid, Dropout];

function isAny(m: Module, classes: readonly (abstract new (...a: never[]) => Module)[]): boolean {
  return classes.some((c) => m instanceof c);
}

/** Finds the consumer of producer `i`, or the reason there is none. */
function link(layers: readonly Module[], i: number): Link | string {
  const p = layers[i];
  const isLinear = p instanceof Linear;
  const units = isLinear ? (p as Linear).outFeatures : (p as Conv2d).outChannels;
  const batchNorms: number[] = [];
  let flattened = false;
  for (let j = i + 1; j < layers.length; j++) {
    const l = layers[j];
    if (isAny(l, ELEMENTWISE)) continue;
    if (l instanceof BatchNorm && !flattened) {
      if (l.numFeatures !== units) return `${l.toString()} at ${j} does not match the ${units} outputs of ${p.toString()}`;
      batchNorms.push(j);
      continue;
    }
    if (!isLinear && !flattened && (l instanceof MaxPool2d || l instanceof AvgPool2d)) continue;
    if (!isLinear && !flattened && l instanceof Flatten) {
      flattened = true;
      continue;
    }
    if (l instanceof Linear && (isLinear || flattened)) {
      if (isLinear) {
        if (l.inFeatures !== units) return `${l.toString()} at ${j} does not take the ${units} outputs of ${p.toString()}`;
        return { kind: 'linear', consumer: j, batchNorms, positions: 1 };
      }
      if (l.inFeatures % units !== 0) return `${l.toString()} at ${j} takes ${l.inFeatures} inputs, not a multiple of the ${units} channels of ${p.toString()}`;
      return { kind: 'conv2d', consumer: j, batchNorms, positions: l.inFeatures / units };
    }
    if (l instanceof Conv2d && !isLinear && !flattened) {
      if (l.inChannels !== units) return `${l.toString()} at ${j} does not take the ${units} channels of ${p.toString()}`;
      return { kind: 'conv2d', consumer: j, batchNorms, positions: 1 };
    }
    return `${l.toString()} at ${j} mixes or reshapes the units of ${p.toString()}, which structured pruning cannot follow`;
  }
  return `${p.toString()} at ${i} produces the model's output, which is never pruned`;
}

function effectiveWeight(model: Module, name: string): { data: Float32Array; shape: number[] } {
  const v = model.namedParameters().get(name) as tf.Variable;
  const f = model.getParametrization(name);
  const data = f === undefined ? Float32Array.from(v.dataSync() as Float32Array) : tf.tidy(() => Float32Array.from(f(v).dataSync() as Float32Array));
  return { data, shape: [...v.shape] };
}

/** Norm of each output unit (last axis) of a weight whose last axis is the unit axis. */
function unitNorms(w: Float32Array, units: number, norm: 'l1' | 'l2'): number[] {
  const acc = new Float64Array(units);
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    acc[i % units] += norm === 'l1' ? Math.abs(v) : v * v;
  }
  return Array.from(acc, (a) => (norm === 'l1' ? a : Math.sqrt(a)));
}

/**
 * Decides which neurons / filters `structuredPrune` removes, without changing anything.
 * Units are ranked by the l1 or l2 norm of their incoming effective weights (biases and batch
 * norm not counted); the round(amount · units) smallest go, ties broken by lower index.
 * @param model a Sequential of Linear / Conv2d layers and per-unit layers between them.
 * @param options amount in [0, 1), norm, which layers.
 * @returns the plan, one entry per pruned layer.
 * @throws TypeError if `model` is not a Sequential; ValueError for a bad amount or norm, a
 * listed layer that cannot be pruned (with the reason), or an amount that would remove every unit.
 * @example
 * planStructuredPrune(mlp([784, 300, 100, 10]), { amount: 0.5 }).layers.map((l) => l.kept.length);   // [150, 50]
 */
export function planStructuredPrune(model: Sequential, options: StructuredPruneOptions): StructuredPlan {
  const fn = 'structuredPrune';
  if (!(model instanceof Sequential)) throw new TypeError(`${fn}: argument 'model' must be a Sequential, got ${describe(model)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: argument 'options' must be { amount, norm?, layers? }, got ${describe(options)}`);
  const amount = checkNumber(fn, 'amount', options.amount, { min: 0, max: 1, maxExclusive: true });
  const norm = options.norm ?? 'l1';
  if (norm !== 'l1' && norm !== 'l2') throw new ValueError(`${fn}: option 'norm' must be 'l1' or 'l2', got ${describe(norm)}`, 'norm');
  const layers = model.layers;
  const links = new Map<number, Link | string>();
  layers.forEach((l, i) => {
    if (l instanceof Linear || l instanceof Conv2d) links.set(i, link(layers, i));
  });
  let chosen: number[];
  if (options.layers === undefined) {
    chosen = [...links].filter(([, v]) => typeof v !== 'string').map(([i]) => i);
  } else {
    if (!Array.isArray(options.layers) || options.layers.some((i) => !Number.isInteger(i))) {
      throw new TypeError(`${fn}: option 'layers' must be a list of layer indices, got ${describe(options.layers)}`);
    }
    chosen = [...new Set(options.layers)].sort((a, b) => a - b);
    for (const i of chosen) {
      const l = links.get(i);
      if (l === undefined) {
        throw new ValueError(`${fn}: option 'layers' lists ${i}, which is not a Linear or Conv2d layer of the model (${layers[i]?.toString() ?? 'out of range'})`, 'layers');
      }
      if (typeof l === 'string') throw new ValueError(`${fn}: option 'layers' lists ${i}, which cannot be pruned: ${l}`, 'layers');
    }
  }
  const plan: StructuredPlan = { layers: [] };
  for (const i of chosen) {
    const l = links.get(i) as Link;
    const layer = layers[i] as Linear | Conv2d;
    const units = layer instanceof Linear ? layer.outFeatures : layer.outChannels;
    const w = effectiveWeight(model, `${i}.weight`);
    const norms = unitNorms(w.data, units, norm);
    const k = roundHalfEvenCount(amount * units);
    if (k >= units) {
      throw new ValueError(`${fn}: argument 'amount' ${amount} would remove all ${units} units of ${layer.toString()} at ${i}; at least one must remain`, 'amount');
    }
    const order = Array.from({ length: units }, (_, u) => u).sort((a, b) => norms[a] - norms[b] || a - b);
    const removed = order.slice(0, k).sort((a, b) => a - b);
    const gone = new Set(removed);
    const kept = Array.from({ length: units }, (_, u) => u).filter((u) => !gone.has(u));
    plan.layers.push({ index: i, kind: l.kind, units, norms, removed, kept, consumer: l.consumer, batchNorms: l.batchNorms, positions: l.positions });
  }
  return plan;
}

/** Keeps `rows` of the leading axes and `cols` of the last axis of a row-major [R, C] view. */
function sliceLast(data: Float32Array, cols: number, keepCols: number[] | undefined): Float32Array {
  if (keepCols === undefined) return data;
  const rows = data.length / cols;
  const out = new Float32Array(rows * keepCols.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < keepCols.length; c++) out[r * keepCols.length + c] = data[r * cols + keepCols[c]];
  return out;
}

/** Keeps entries `keep` of axis `axis` of a tensor of `shape` (row-major). */
function sliceAxis(data: Float32Array, shape: number[], axis: number, keep: number[] | undefined): Float32Array {
  if (keep === undefined) return data;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = shape[axis];
  const out = new Float32Array(outer * keep.length * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < keep.length; k++) {
      const src = (o * n + keep[k]) * inner;
      out.set(data.subarray(src, src + inner), (o * keep.length + k) * inner);
    }
  }
  return out;
}

/**
 * Physically removes the least important hidden neurons of Linear layers and filters of
 * Conv2d layers (see `planStructuredPrune` for the ranking): their columns / output channels
 * and bias entries, the matching batch-norm entries, and the consumer's matching input rows
 * / input channels. The last layer's outputs are never removed. Pruning masks of the source
 * model are sliced and carried over. The source model is not changed.
 * @param model a Sequential (e.g. `mlp(...)` or `convNet(...)`).
 * @param options amount in [0, 1), norm ('l1' default or 'l2'), layers.
 * @returns a new, smaller Sequential computing exactly what the source computes with the
 * removed units' outgoing weights set to zero.
 * @throws as `planStructuredPrune`.
 * @example
 * const small = structuredPrune(mlp([784, 300, 100, 10], { seed: 0 }), { amount: 0.5 });
 * small.numParameters();   // 784·150+150 + 150·50+50 + 50·10+10 = 125810
 */
export function structuredPrune(model: Sequential, options: StructuredPruneOptions): Sequential {
  return applyStructuredPlan(model, planStructuredPrune(model, options));
}

/**
 * Builds the smaller model a plan describes (as `structuredPrune`, with a plan made earlier).
 * @param model the Sequential the plan was made for.
 * @param plan from `planStructuredPrune`.
 * @returns a new Sequential.
 * @throws ShapeError if the plan does not fit the model.
 */
export function applyStructuredPlan(model: Sequential, plan: StructuredPlan): Sequential {
  const fn = 'applyStructuredPlan';
  if (!(model instanceof Sequential)) throw new TypeError(`${fn}: argument 'model' must be a Sequential, got ${describe(model)}`);
  const layers = model.layers;
  const keepOut = new Map<number, number[]>();
  const keepIn = new Map<number, number[]>();
  const keepFeat = new Map<number, number[]>();
  for (const p of plan.layers) {
    const l = layers[p.index];
    const units = l instanceof Linear ? l.outFeatures : l instanceof Conv2d ? l.outChannels : -1;
    if (units !== p.units) throw new ShapeError(`${fn}: the plan's layer ${p.index} has ${p.units} units, the model's ${describe(l?.toString())} has ${units}`, { expected: `${p.units} units`, received: [units] });
    keepOut.set(p.index, p.kept);
    for (const b of p.batchNorms) keepFeat.set(b, p.kept);
    if (p.positions === 1) keepIn.set(p.consumer, p.kept);
    else {
      const rows: number[] = [];
      for (let pos = 0; pos < p.positions; pos++) for (const c of p.kept) rows.push(pos * p.units + c);
      keepIn.set(p.consumer, rows);
    }
  }
  const masks = getMasks(model);
  const newMasks = new Map<string, Float32Array>();
  const built = layers.map((l, i) => {
    const own = (name: string) => {
      const v = model.namedParameters().get(`${i}.${name}`) as tf.Variable;
      return { data: Float32Array.from(v.dataSync() as Float32Array), shape: [...v.shape] };
    };
    const buffer = (name: string) => Float32Array.from(model.namedBuffers().get(`${i}.${name}`)?.dataSync() as Float32Array);
    const maskData = (name: string) => {
      const m = masks.get(`${i}.${name}`);
      return m === undefined ? undefined : Float32Array.from(m.dataSync() as Float32Array);
    };
    let out: Module;
    const state: StateDict = {};
    const put = (name: string, data: Float32Array, shape: number[]) => {
      state[name] = { shape, dtype: 'float32', data };
    };
    if (l instanceof Linear) {
      const rows = keepIn.get(i);
      const cols = keepOut.get(i);
      const inF = rows?.length ?? l.inFeatures;
      const outF = cols?.length ?? l.outFeatures;
      const slice = (d: Float32Array) => sliceLast(sliceAxis(d, [l.inFeatures, l.outFeatures], 0, rows), l.outFeatures, cols);
      out = new Linear(inF, outF, { bias: l.hasBias });
      put('weight', slice(own('weight').data), [inF, outF]);
      const mw = maskData('weight');
      if (mw) newMasks.set(`${i}.weight`, slice(mw));
      if (l.hasBias) {
        put('bias', sliceAxis(own('bias').data, [l.outFeatures], 0, cols), [outF]);
        const mb = maskData('bias');
        if (mb) newMasks.set(`${i}.bias`, sliceAxis(mb, [l.outFeatures], 0, cols));
      }
    } else if (l instanceof Conv2d) {
      const inC = keepIn.get(i);
      const outC = keepOut.get(i);
      const k = l.kernelSize;
      const ci = inC?.length ?? l.inChannels;
      const co = outC?.length ?? l.outChannels;
      const slice = (d: Float32Array) => sliceAxis(sliceAxis(d, [k, k, l.inChannels, l.outChannels], 2, inC), [k, k, ci, l.outChannels], 3, outC);
      out = new Conv2d(ci, co, k, { stride: l.stride, padding: l.padding, bias: l.hasBias });
      put('weight', slice(own('weight').data), [k, k, ci, co]);
      const mw = maskData('weight');
      if (mw) newMasks.set(`${i}.weight`, slice(mw));
      if (l.hasBias) {
        put('bias', sliceAxis(own('bias').data, [l.outChannels], 0, outC), [co]);
        const mb = maskData('bias');
        if (mb) newMasks.set(`${i}.bias`, sliceAxis(mb, [l.outChannels], 0, outC));
      }
    } else if (l instanceof BatchNorm && keepFeat.has(i)) {
      const f = keepFeat.get(i) as number[];
      out = new BatchNorm(f.length, { eps: l.eps, momentum: l.momentum });
      for (const name of ['weight', 'bias']) {
        put(name, sliceAxis(own(name).data, [l.numFeatures], 0, f), [f.length]);
        const m = maskData(name);
        if (m) newMasks.set(`${i}.${name}`, sliceAxis(m, [l.numFeatures], 0, f));
      }
      for (const name of ['running_mean', 'running_var']) put(name, sliceAxis(buffer(name), [l.numFeatures], 0, f), [f.length]);
    } else {
      out = l.clone();
      for (const [name, m] of masks) if (name.startsWith(`${i}.`)) newMasks.set(name, Float32Array.from(m.dataSync() as Float32Array));
      out.train(l.training);
      return out;
    }
    out.loadStateDict(state);
    out.train(l.training);
    return out;
  });
  const result = new Sequential(...built);
  result.training = model.training;
  if (newMasks.size > 0) {
    const params = result.namedParameters();
    const tensors = new Map([...newMasks].map(([n, d]) => [n, tf.tensor(d, [...(params.get(n) as tf.Variable).shape], 'float32')]));
    try {
      applyMasks(result, tensors);
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }
  return result;
}

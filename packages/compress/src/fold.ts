/**
 * Copies of a Sequential ready for quantization: pruning masks (parametrizations) baked into
 * the weights, and batch norm folded into the Linear / Conv2d before it.
 */
import { tf, BatchNorm, Conv2d, Linear, Module, Sequential, NonFiniteError, describe } from '@x/tensor';

function checkSequential(fn: string, model: unknown): Sequential {
  if (!(model instanceof Sequential)) throw new TypeError(`${fn}: argument 'model' must be a Sequential, got ${describe(model)}`);
  return model;
}

/**
 * A copy of `model` whose parameters hold the EFFECTIVE values (`parametrization(orig)`, e.g.
 * `orig · mask` for a pruned weight) and carry no parametrization. The live model is not changed.
 * @param model the model.
 * @returns a new Sequential (same structure and names, same training mode).
 * @throws TypeError if `model` is not a Sequential.
 */
export function bakeParametrizations(model: Sequential): Sequential {
  checkSequential('bakeParametrizations', model);
  const copy = model.clone();
  const mine = copy.namedParameters();
  for (const [name, v] of model.namedParameters()) {
    const p = model.getParametrization(name);
    if (!p) continue;
    tf.tidy(() => (mine.get(name) as tf.Variable).assign(p(v)));
    if (copy.getParametrization(name)) copy.setParametrization(name, null);
  }
  return copy;
}

/** Result of {@link foldBatchNormMapped}: the folded copy and where each old child went. */
export interface FoldResult {
  model: Sequential;
  /** `indexMap[i]` = index in the folded model whose output equals old child i's output. */
  indexMap: number[];
  /** Old indices of the BatchNorm layers that were folded away. */
  folded: number[];
}

function stateOf(m: Module): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, e] of Object.entries(m.stateDict())) out[k] = e.data as Float32Array;
  return out;
}

/**
 * Folds every BatchNorm that directly follows a Linear or Conv2d (with matching width) into
 * it, using the running statistics (evaluation semantics): with g = γ / √(var + ε),
 * W' = W · g per output channel and b' = (b − μ) · g + β, computed in float64. Parametrizations
 * (pruning masks) are baked first. Other layers, including a BatchNorm with nothing to fold
 * into, are copied unchanged. Removing the BatchNorm layers shifts the child indices after them.
 * @param model the model (not changed).
 * @returns the folded copy (in evaluation mode), the index map and the folded positions.
 * @throws NonFiniteError if a folded parameter comes out non-finite.
 */
export function foldBatchNormMapped(model: Sequential): FoldResult {
  checkSequential('foldBatchNorm', model);
  const baked = bakeParametrizations(model);
  const layers: Module[] = [];
  const indexMap: number[] = [];
  const folded: number[] = [];
  try {
    const src = baked.layers;
    for (let i = 0; i < src.length; i++) {
      const layer = src[i];
      const next = src[i + 1];
      const width = layer instanceof Linear ? layer.outFeatures : layer instanceof Conv2d ? layer.outChannels : -1;
      if (width > 0 && next instanceof BatchNorm && next.numFeatures === width) {
        layers.push(foldPair(layer as Linear | Conv2d, next, `${i}`));
        indexMap.push(layers.length - 1, layers.length - 1);
        folded.push(i + 1);
        i++;
        continue;
      }
      layers.push(layer.clone());
      indexMap.push(layers.length - 1);
    }
  } finally {
    baked.dispose();
  }
  const out = new Sequential(...layers);
  out.eval();
  return { model: out, indexMap, folded };
}

/**
 * Folds batch norm into the preceding Linear / Conv2d layers (see {@link foldBatchNormMapped}).
 * @param model the model (not changed).
 * @returns a new Sequential in evaluation mode whose output equals `model`'s in evaluation mode.
 * @example
 * const folded = foldBatchNorm(convNet({ channels: [8], outFeatures: 10 }));
 */
export function foldBatchNorm(model: Sequential): Sequential {
  return foldBatchNormMapped(model).model;
}

function foldPair(layer: Linear | Conv2d, bn: BatchNorm, where: string): Linear | Conv2d {
  const ls = stateOf(layer);
  const bs = stateOf(bn);
  const w = ls.weight;
  const c = bn.numFeatures;
  const g = new Float64Array(c);
  for (let j = 0; j < c; j++) g[j] = bs.weight[j] / Math.sqrt(bs.running_var[j] + bn.eps);
  // Output channel is the last axis in both layouts ([in, out] and HWIO).
  const w2 = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) w2[i] = w[i] * g[i % c] + 0; // + 0 turns a masked −0 into 0
  const b2 = new Float32Array(c);
  for (let j = 0; j < c; j++) b2[j] = ((ls.bias ? ls.bias[j] : 0) - bs.running_mean[j]) * g[j] + bs.bias[j];
  for (const [name, arr] of [['weight', w2], ['bias', b2]] as const) {
    for (let i = 0; i < arr.length; i++) {
      if (!Number.isFinite(arr[i])) {
        throw new NonFiniteError(`foldBatchNorm: folding layer ${where} (${layer.toString()}) with ${bn.toString()} gave ${arr[i]} in '${name}' at index ${i}`, 'model', i);
      }
    }
  }
  const out =
    layer instanceof Linear
      ? new Linear(layer.inFeatures, layer.outFeatures, { bias: true })
      : new Conv2d(layer.inChannels, layer.outChannels, layer.kernelSize, { stride: layer.stride, padding: layer.padding, bias: true });
  const shape = [...(layer.namedParameters().get('weight') as tf.Variable).shape];
  out.loadStateDict({
    weight: { shape, dtype: 'float32', data: w2 },
    bias: { shape: [c], dtype: 'float32', data: b2 },
  });
  return out;
}

/**
 * The diagonal empirical Fisher of EWC: the mean over samples of the SQUARED PER-SAMPLE
 * gradient of the negative log-likelihood, F = (1/N) Σ_i (∂ℓ_i/∂θ)². Squaring the gradient of
 * the batch mean instead (a common shortcut) is much smaller and wrong (fixtures/ewc.json:
 * 0.176 against 2.658 summed over the tiny model).
 *
 * Per-sample gradients are batched. For a Sequential of Linear layers and parameter-free
 * layers (activations, Flatten, Dropout in eval mode) the gradient of sample i for a Linear
 * weight is the outer product a_iᵀ δ_i of the layer's input and the gradient at its output,
 * so Σ_i (a_iᵀ δ_i)² = (a²)ᵀ (δ²) is one matrix product per layer ('vectorized'). Other
 * models take one gradient per sample in chunks ('loop').
 */
import { tf, Module, Sequential, Linear, ReLU, Tanh, Sigmoid, Flatten, Dropout, crossEntropy, ValueError, ShapeError, checkNumber, describe } from '@x/tensor';

type Tensor = tf.Tensor;

/** Options of `empiricalFisher`. */
export interface FisherOptions {
  /** `'vectorized'` (Sequential of Linear and parameter-free layers), `'loop'` (any model), or `'auto'` (default). */
  method?: 'auto' | 'vectorized' | 'loop';
  /** Rows per chunk (default 256). */
  batchSize?: number;
  /** Additive logit mask [n, C] row-major (0 = allowed class, large negative = masked), for task-incremental heads. */
  logitMask?: Float32Array;
}

const PARAM_FREE = [ReLU, Tanh, Sigmoid, Flatten, Dropout];

/** Whether the vectorised per-sample path applies to this model. */
export function supportsVectorizedFisher(model: Module): boolean {
  if (!(model instanceof Sequential)) return false;
  for (const l of model.layers) {
    if (l instanceof Linear) continue;
    if (!PARAM_FREE.some((C) => l instanceof C)) return false;
  }
  for (const n of model.namedParameters().keys()) if (model.getParametrization(n) !== undefined) return false;
  return true;
}

/**
 * Diagonal empirical Fisher: (1/n) Σ_i (∂ −log p(y_i | x_i) / ∂θ)², per parameter, computed in
 * evaluation mode (no dropout).
 * @param model the model (left unchanged).
 * @param x row-major inputs [n, d].
 * @param y n integer labels.
 * @param options method, chunk size, optional logit mask.
 * @returns a Map from parameter name to a tensor of its shape (the caller owns and disposes them).
 * @throws ValueError for mismatched sizes or a model the vectorized method cannot handle.
 * @example
 * const F = empiricalFisher(model, x, y);   // Map { '0.weight' => Tensor, ... }
 */
export function empiricalFisher(model: Module, x: Float32Array, y: Int32Array | ArrayLike<number>, options: FisherOptions = {}): Map<string, Tensor> {
  const fn = 'empiricalFisher';
  if (!(model instanceof Module)) throw new TypeError(`${fn}: argument 'model' must be a Module, got ${describe(model)}`);
  if (!(x instanceof Float32Array)) throw new TypeError(`${fn}: argument 'x' must be a Float32Array, got ${describe(x)}`);
  const n = y?.length;
  if (!n) throw new ValueError(`${fn}: argument 'y' must hold at least one label, got ${describe(y)}`, 'y');
  if (x.length % n !== 0) throw new ShapeError(`${fn}: argument 'x' must hold ${n} rows, got ${x.length} values`, { expected: `[${n}, d]`, received: [x.length] });
  const d = x.length / n;
  const chunk = checkNumber(fn, 'batchSize', options.batchSize ?? 256, { min: 1, integer: true });
  const method = options.method ?? 'auto';
  if (!['auto', 'vectorized', 'loop'].includes(method)) throw new ValueError(`${fn}: option 'method' must be 'auto', 'vectorized' or 'loop', got ${describe(method)}`, 'method');
  const vec = supportsVectorizedFisher(model);
  if (method === 'vectorized' && !vec) {
    throw new ValueError(`${fn}: option 'method' 'vectorized' needs a Sequential of Linear and parameter-free layers without parametrizations, got ${model.toString()}`, 'method');
  }
  const useVec = method === 'vectorized' || (method === 'auto' && vec);
  const labels = Int32Array.from(y as ArrayLike<number>);
  const names = [...model.namedParameters().keys()];
  const acc = new Map<string, Tensor>();
  for (const [k, v] of model.namedParameters()) acc.set(k, tf.zerosLike(v));
  const wasTraining = model.training;
  model.eval();
  try {
    for (let from = 0; from < n; from += chunk) {
      const to = Math.min(n, from + chunk);
      const add = tf.tidy(() => {
        const xb = tf.tensor2d(x.subarray(from * d, to * d), [to - from, d]);
        const yb = tf.tensor1d(labels.subarray(from, to), 'int32');
        const cols = lastWidth(model);
        const mask = options.logitMask ? tf.tensor2d(options.logitMask.subarray(from * cols, to * cols), [to - from, cols]) : undefined;
        return useVec ? vectorizedChunk(model as Sequential, xb, yb, mask) : loopChunk(model, names, xb, yb, mask);
      });
      for (const [k, t] of Object.entries(add)) {
        const prev = acc.get(k) as Tensor;
        acc.set(k, tf.add(prev, t));
        prev.dispose();
        t.dispose();
      }
    }
  } finally {
    model.train(wasTraining);
  }
  for (const [k, t] of acc) {
    acc.set(k, tf.div(t, n));
    t.dispose();
  }
  return acc;
}

function lastWidth(model: Module): number {
  const params = [...model.namedParameters().values()];
  const last = params[params.length - 1];
  return last.shape[last.shape.length - 1] as number;
}

function vectorizedChunk(model: Sequential, x: Tensor, y: Tensor, mask?: Tensor): Record<string, Tensor> {
  const params = model.namedParameters();
  const layers = model.layers;
  // Inputs of every Linear layer (the activations do not depend on the zero perturbations).
  const inputs: Tensor[] = [];
  const eps: Tensor[] = [];
  let h = x;
  layers.forEach((l, i) => {
    if (l instanceof Linear) {
      inputs.push(h);
      const b = params.get(`${i}.bias`);
      h = tf.matMul(h, params.get(`${i}.weight`) as Tensor);
      if (b) h = tf.add(h, b);
      eps.push(tf.zeros(h.shape));
    } else h = l.forward(h);
  });
  // With the SUM of per-sample losses, the gradient at a layer's output row i is sample i's own δ_i.
  const f = (...e: Tensor[]) => {
    let a = x;
    let k = 0;
    layers.forEach((l, i) => {
      if (l instanceof Linear) {
        const b = params.get(`${i}.bias`);
        a = tf.matMul(a, params.get(`${i}.weight`) as Tensor);
        if (b) a = tf.add(a, b);
        a = tf.add(a, e[k++]);
      } else a = l.forward(a);
    });
    return crossEntropy(mask ? tf.add(a, mask) : a, y, { reduction: 'sum' });
  };
  const deltas = tf.grads(f)(eps);
  const out: Record<string, Tensor> = {};
  let k = 0;
  layers.forEach((l, i) => {
    if (!(l instanceof Linear)) return;
    const d2 = tf.square(deltas[k]);
    out[`${i}.weight`] = tf.matMul(tf.transpose(tf.square(inputs[k])), d2);
    if (params.has(`${i}.bias`)) out[`${i}.bias`] = tf.sum(d2, 0);
    k++;
  });
  return out;
}

function loopChunk(model: Module, names: string[], x: Tensor, y: Tensor, mask?: Tensor): Record<string, Tensor> {
  const own = model.namedParameters();
  const sums = names.map((k) => tf.zerosLike(own.get(k) as Tensor));
  const rows = x.shape[0] as number;
  for (let i = 0; i < rows; i++) {
    const next = tf.tidy(() => {
      const xi = tf.slice(x, [i, 0], [1, -1]);
      const yi = tf.slice(y, [i], [1]);
      const mi = mask ? tf.slice(mask, [i, 0], [1, -1]) : undefined;
      const grads = tf.grads((...ps: Tensor[]) => {
        const out = model.apply(new Map(names.map((k, j) => [k, ps[j]])), xi);
        return crossEntropy(mi ? tf.add(out, mi) : out, yi, { reduction: 'sum' });
      })(names.map((k) => own.get(k) as Tensor));
      return names.map((_, j) => tf.add(sums[j], tf.square(grads[j])));
    });
    sums.forEach((s) => s.dispose());
    next.forEach((t, j) => (sums[j] = t));
  }
  return Object.fromEntries(names.map((k, j) => [k, sums[j]]));
}

/**
 * Test-only helpers (excluded from the build): an onnxruntime-node runner, trained MNIST
 * models, and simulators of the exported integer graphs written from the ONNX operator
 * definitions, independent of the exporter's code.
 */
import * as ort from 'onnxruntime-node';
import { tf, fit, mlp, convNet, Sequential, Linear, type Module } from '@x/tensor';
import { loadMnistSplit } from '@x/datasets';
import type { QuantizedModel, QuantParams, QuantizedTensor } from '@x/compress';

export async function runOrt(bytes: Uint8Array, x: Float32Array, n: number, d: number, opts: ort.InferenceSession.SessionOptions = {}): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, ...opts });
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [n, d]) });
    return Float32Array.from(out[session.outputNames[0]].data as Float32Array);
  } finally {
    await session.release();
  }
}

export function tsForward(model: Module, x: Float32Array, n: number, d: number): Float32Array {
  const was = model.training;
  model.eval();
  const out = tf.tidy(() => Float32Array.from(model.forward(tf.tensor2d(x, [n, d])).dataSync() as Float32Array));
  model.train(was);
  return out;
}

export function argmaxRows(v: ArrayLike<number>, cols: number): Int32Array {
  const n = v.length / cols;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < cols; j++) if (v[i * cols + j] > v[i * cols + best]) best = j;
    out[i] = best;
  }
  return out;
}

export function agreement(a: ArrayLike<number>, b: ArrayLike<number>, cols: number): number {
  const pa = argmaxRows(a, cols);
  const pb = argmaxRows(b, cols);
  let same = 0;
  for (let i = 0; i < pa.length; i++) if (pa[i] === pb[i]) same++;
  return same / pa.length;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

let data: ReturnType<typeof loadMnistSplit> | undefined;
export function mnist(): ReturnType<typeof loadMnistSplit> {
  data ??= loadMnistSplit();
  return data;
}

/** MLP 784-300-100-10 trained one epoch (seeded): enough for confident, realistic logits. */
export async function trainedMlp(sizes = [784, 300, 100, 10], epochs = 1): Promise<Sequential> {
  const { train } = mnist();
  const model = mlp(sizes, { seed: 1 });
  await fit(model, { x: train.images, y: train.labels }, { epochs, batchSize: 64, seed: 2 });
  model.eval();
  return model;
}

/** Small CNN (conv 8, BN, relu, pool, conv 16, BN, relu, pool, flatten, linear 10), trained briefly. */
export async function trainedCnn(): Promise<Sequential> {
  const { train } = mnist();
  const model = convNet({ channels: [8, 16], outFeatures: 10, seed: 3 });
  const n = 2000;
  await fit(model, { x: train.images.slice(0, n * 784), y: train.labels.slice(0, n) }, { epochs: 1, batchSize: 64, seed: 4 });
  model.eval();
  return model;
}

// ---------------------------------------------------------------- reference quantizer

export function rhe(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff < 0.5) return f;
  if (diff > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function fakeQuant(v: Float32Array, p: QuantParams): Float32Array {
  const s = p.scale[0];
  const z = p.zeroPoint[0];
  const [lo, hi] = p.dtype === 'uint8' ? [0, 255] : [-128, 127];
  return v.map((x) => (Math.max(lo, Math.min(hi, rhe(x / s) + z)) - z) * s);
}

function dequant(q: QuantizedTensor): Float32Array {
  const { axis, scale, zeroPoint } = q.params;
  const nc = axis === null ? 1 : q.shape[axis];
  const stride = axis === null ? 1 : q.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return Float32Array.from(q.codes, (c, i) => {
    const k = axis === null ? 0 : Math.floor(i / stride) % nc;
    return (c - zeroPoint[k]) * scale[k];
  });
}

/**
 * What a static/QAT QDQ graph computes, simulated with @x/tensor: weights dequantized, biases
 * rounded to int32 at scale (input scale × weight scale), activations fake-quantized at every
 * calibrated point.
 */
export function simulateStatic(qm: QuantizedModel, x: Float32Array, n: number): Float32Array {
  const model = qm.model.clone();
  model.eval();
  let scaleIn: number | undefined;
  const state = model.stateDict();
  const d = x.length / n;
  let h = x;
  if (qm.activations.has('input')) {
    h = fakeQuant(h, qm.activations.get('input')!);
    scaleIn = qm.activations.get('input')!.scale[0];
  }
  let shape = [n, d];
  model.layers.forEach((m, i) => {
    const wq = qm.weights.get(`${i}.weight`);
    if (wq) {
      const w = dequant(wq);
      const bias = state[`${i}.bias`];
      const upd: Record<string, { shape: number[]; dtype: 'float32'; data: Float32Array }> = { [`${i}.weight`]: { shape: wq.shape, dtype: 'float32', data: w } };
      if (bias && scaleIn !== undefined) {
        const ws = wq.params.scale;
        const b = Float32Array.from(bias.data as Float32Array, (v, c) => {
          const s = Math.fround(scaleIn! * ws[ws.length === 1 ? 0 : c]);
          return rhe(v / s) * s;
        });
        upd[`${i}.bias`] = { shape: bias.shape, dtype: 'float32', data: b };
      }
      model.loadStateDict(upd, { strict: false });
    }
    const out = tf.tidy(() => {
      const y = m.forward(tf.tensor(h, shape));
      shape = y.shape;
      return Float32Array.from(y.dataSync() as Float32Array);
    });
    const p = qm.activations.get(String(i));
    h = p ? fakeQuant(out, p) : out;
    scaleIn = p ? p.scale[0] : m.constructor.name === 'Dropout' ? scaleIn : undefined;
  });
  model.dispose();
  return h;
}

/** What the dynamic graph computes: per-batch uint8 activation quantization (DynamicQuantizeLinear) before each Linear. */
export function simulateDynamic(qm: QuantizedModel, x: Float32Array, n: number): Float32Array {
  let h = Float64Array.from(x);
  let cols = x.length / n;
  qm.model.layers.forEach((m, i) => {
    if (m instanceof Linear) {
      const q = qm.weights.get(`${i}.weight`)!;
      let lo = 0;
      let hi = 0;
      for (const v of h) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      const s = Math.fround((hi - lo) / 255);
      const z = Math.max(0, Math.min(255, rhe(-lo / s)));
      const xq = h.map((v) => Math.max(0, Math.min(255, rhe(v / s) + z)) - z);
      const out = m.outFeatures;
      const b = m.hasBias ? (qm.model.namedParameters().get(`${i}.bias`)!.dataSync() as Float32Array) : new Float32Array(out);
      const y = new Float64Array(n * out);
      for (let r = 0; r < n; r++)
        for (let o = 0; o < out; o++) {
          let acc = 0;
          for (let k = 0; k < cols; k++) acc += xq[r * cols + k] * q.codes[k * out + o];
          y[r * out + o] = acc * Math.fround(s * q.params.scale[q.params.scale.length === 1 ? 0 : o]) + b[o];
        }
      h = y;
      cols = out;
    } else {
      h = Float64Array.from(tsForward(m, Float32Array.from(h), n, cols));
      cols = h.length / n;
    }
  });
  return Float32Array.from(h);
}

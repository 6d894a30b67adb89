/**
 * Runs exported ONNX files in onnxruntime-node: logits on the held-out digits and latency.
 */
import * as ort from 'onnxruntime-node';

export interface OrtRun {
  logits: Float32Array;
  cols: number;
  /** Median latency in ms over repeated runs, batch 1 and batch 256. */
  latencyMs: { batch1: number; batch256: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Opens a session on `file` (2 intra-op threads, all graph optimisations). */
export async function openSession(file: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
}

async function runBatch(session: ort.InferenceSession, x: Float32Array, rows: number, d: number): Promise<ort.Tensor> {
  const input = new ort.Tensor('float32', x, [rows, d]);
  const out = await session.run({ [session.inputNames[0]]: input });
  return out[session.outputNames[0]];
}

/**
 * Runs the model on all `n` rows of `x` (in batches of 500) and times batch 1 and batch 256.
 * @param reps timed repetitions per batch size (after 3 warm-up runs).
 */
export async function runOnnx(file: string, x: Float32Array, n: number, d: number, reps: number): Promise<OrtRun> {
  const session = await openSession(file);
  try {
    const chunks: Float32Array[] = [];
    let cols = 0;
    for (let i = 0; i < n; i += 500) {
      const rows = Math.min(500, n - i);
      const t = await runBatch(session, x.subarray(i * d, (i + rows) * d), rows, d);
      cols = t.dims[1] as number;
      chunks.push(new Float32Array(t.data as Float32Array));
    }
    const logits = new Float32Array(n * cols);
    let off = 0;
    for (const c of chunks) {
      logits.set(c, off);
      off += c.length;
    }
    const time = async (rows: number): Promise<number> => {
      const xb = x.slice(0, rows * d);
      for (let w = 0; w < 3; w++) await runBatch(session, xb, rows, d);
      const ts: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = process.hrtime.bigint();
        await runBatch(session, xb, rows, d);
        ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return median(ts);
    };
    const batch1 = await time(1);
    const batch256 = await time(Math.min(256, n));
    return { logits, cols, latencyMs: { batch1, batch256 } };
  } finally {
    await session.release();
  }
}

/** Accuracy, agreement and largest absolute logit difference between TS and ORT outputs. */
export function compareLogits(
  ts: Float32Array,
  onnx: Float32Array,
  labels: Int32Array,
  cols: number,
): { tsAccuracy: number; ortAccuracy: number; agreement: number; maxAbsDiff: number } {
  const n = labels.length;
  let tsOk = 0;
  let ortOk = 0;
  let agree = 0;
  let maxAbsDiff = 0;
  for (let i = 0; i < n; i++) {
    let a = 0;
    let b = 0;
    for (let j = 0; j < cols; j++) {
      const u = ts[i * cols + j];
      const v = onnx[i * cols + j];
      if (u > ts[i * cols + a]) a = j;
      if (v > onnx[i * cols + b]) b = j;
      const diff = Math.abs(u - v);
      if (!(diff <= maxAbsDiff)) maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
    }
    if (a === labels[i]) tsOk++;
    if (b === labels[i]) ortOk++;
    if (a === b) agree++;
  }
  return { tsAccuracy: tsOk / n, ortAccuracy: ortOk / n, agreement: agree / n, maxAbsDiff };
}

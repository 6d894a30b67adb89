/**
 * Runs exported ONNX files in onnxruntime-node: logits on the held-out digits and latency.
 */
import * as ort from 'onnxruntime-node';

export interface OrtRun {
  logits: Float32Array;
  cols: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Opens a session on `file` (`threads` intra-op threads, default 2; all graph optimisations). */
export async function openSession(file: string, threads = 2): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
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
 * Runs the model on all `n` rows of `x` (in batches of 500) and returns its outputs.
 */
export async function runOnnx(file: string, x: Float32Array, n: number, d: number): Promise<OrtRun> {
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
    return { logits, cols };
  } finally {
    await session.release();
  }
}

/** How latency is measured (see {@link measureLatency}). */
export interface LatencyPlan {
  /** Rounds over all models. */
  rounds: number;
  /** Timed runs of each model per round and batch size. */
  repsPerRound: number;
  /** Untimed runs of each model before the first round. */
  warmup: number;
  /** Intra-op threads of each session. */
  threads: number;
}

/**
 * Median ORT latency of several models at batch 1 and batch 256, measured INTERLEAVED: every
 * session stays open and each round times every model in turn, so that the load of a shared
 * machine (which changes over seconds) falls on all models alike instead of on whichever ran
 * at a busy moment. Each value is the median of `rounds × repsPerRound` timed `session.run`
 * calls (input tensor creation included, as a caller would see it).
 * @param files the .onnx files, by name.
 * @param x inputs [≥256, d] row-major.
 * @returns the median milliseconds per name.
 */
export async function measureLatency(
  files: Map<string, string>,
  x: Float32Array,
  d: number,
  plan: LatencyPlan,
  onRound?: (round: number) => void,
): Promise<Map<string, { batch1: number; batch256: number }>> {
  const sessions = new Map<string, ort.InferenceSession>();
  try {
    for (const [name, file] of files) sessions.set(name, await openSession(file, plan.threads));
    const rows = Math.min(256, x.length / d);
    const inputs = { batch1: x.slice(0, d), batch256: x.slice(0, rows * d) };
    const times = new Map<string, { batch1: number[]; batch256: number[] }>();
    for (const name of sessions.keys()) times.set(name, { batch1: [], batch256: [] });
    for (const [, s] of sessions) {
      for (let w = 0; w < plan.warmup; w++) {
        await runBatch(s, inputs.batch1, 1, d);
        await runBatch(s, inputs.batch256, rows, d);
      }
    }
    const names = [...sessions.keys()];
    for (let r = 0; r < plan.rounds; r++) {
      // Rotate the order so that no model always runs right after the same neighbour.
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + r) % names.length];
        const s = sessions.get(name) as ort.InferenceSession;
        const t = times.get(name) as { batch1: number[]; batch256: number[] };
        for (const key of ['batch1', 'batch256'] as const) {
          const m = key === 'batch1' ? 1 : rows;
          for (let i = 0; i < plan.repsPerRound; i++) {
            const t0 = process.hrtime.bigint();
            await runBatch(s, inputs[key], m, d);
            t[key].push(Number(process.hrtime.bigint() - t0) / 1e6);
          }
        }
      }
      onRound?.(r + 1);
    }
    return new Map([...times].map(([name, t]) => [name, { batch1: median(t.batch1), batch256: median(t.batch256) }]));
  } finally {
    for (const s of sessions.values()) await s.release();
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

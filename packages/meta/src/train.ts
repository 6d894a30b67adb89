/**
 * The meta-training loop (progress, meta-validation on held-out classes, checkpoints of the
 * meta-parameters), evaluation with a 95 % confidence interval, and the pixel-space
 * nearest-neighbour baseline.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Module, ValueError, describe } from '@x/tensor';
import type { StateDict } from '@x/tensor';
import type { Episode } from './episodes.js';

/** Mean accuracy and the half-width of its normal 95 % confidence interval. */
export interface AccuracyCI {
  accuracy: number;
  ci95: number;
  episodes: number;
}

/**
 * Mean and 95 % confidence half-width (1.96 · sample std / √n) of per-episode accuracies,
 * as few-shot papers report them.
 * @param values per-episode accuracies (at least 2).
 * @returns `{ accuracy, ci95, episodes }`.
 * @throws ValueError for fewer than 2 values or a non-finite one.
 * @example
 * meanCI([0.2, 0.4, 0.6]); // { accuracy: 0.4, ci95: 0.2263, episodes: 3 }
 */
export function meanCI(values: ArrayLike<number>): AccuracyCI {
  const n = values?.length;
  if (typeof n !== 'number' || n < 2) throw new ValueError(`meanCI: argument 'values' must hold at least 2 numbers, got ${describe(values)}`, 'values');
  let s = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i])) throw new ValueError(`meanCI: argument 'values' must be finite, got ${values[i]} at index ${i}`, 'values');
    s += values[i];
  }
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return { accuracy: mean, ci95: (1.96 * Math.sqrt(ss / (n - 1))) / Math.sqrt(n), episodes: n };
}

/**
 * Evaluates a per-episode accuracy function on `episodes` episodes.
 * @param sample draws an episode (e.g. `() => sampler.sample()`).
 * @param accuracyOf accuracy on one episode.
 * @param episodes how many (≥ 2).
 * @param onProgress called after each episode with (done, total).
 * @returns mean accuracy with its 95 % interval.
 */
export function evaluateEpisodes(sample: () => Episode, accuracyOf: (ep: Episode) => number, episodes: number, onProgress?: (done: number, total: number) => void): AccuracyCI {
  if (!Number.isInteger(episodes) || episodes < 2) throw new ValueError(`evaluateEpisodes: argument 'episodes' must be an integer ≥ 2, got ${describe(episodes)}`, 'episodes');
  const acc = new Float64Array(episodes);
  for (let i = 0; i < episodes; i++) {
    acc[i] = accuracyOf(sample());
    onProgress?.(i + 1, episodes);
  }
  return meanCI(acc);
}

/**
 * Nearest neighbour in input space: each query row gets the label of the closest support row
 * (squared Euclidean distance; ties to the first).
 * @param ep an episode.
 * @returns the predicted label of every query row.
 */
export function nearestNeighbourPredict(ep: Episode): Int32Array {
  const { dim } = ep;
  const ns = ep.supportY.length;
  const nq = ep.queryY.length;
  const out = new Int32Array(nq);
  for (let q = 0; q < nq; q++) {
    let best = Infinity;
    let label = -1;
    for (let s = 0; s < ns; s++) {
      let d = 0;
      for (let j = 0; j < dim; j++) {
        const t = ep.queryX[q * dim + j] - ep.supportX[s * dim + j];
        d += t * t;
      }
      if (d < best) {
        best = d;
        label = ep.supportY[s];
      }
    }
    out[q] = label;
  }
  return out;
}

/** Fraction of an episode's query rows whose prediction equals the label. */
export function queryAccuracy(ep: Episode, predicted: ArrayLike<number>): number {
  if (predicted.length !== ep.queryY.length) throw new ValueError(`queryAccuracy: argument 'predicted' must have ${ep.queryY.length} labels, got ${predicted.length}`, 'predicted');
  let right = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === ep.queryY[i]) right++;
  return right / predicted.length;
}

// ---- checkpoints ------------------------------------------------------------------------

interface CheckpointFile {
  format: 'x-meta-checkpoint';
  version: 1;
  meta?: unknown;
  entries: Record<string, { shape: number[]; dtype: 'float32' | 'int32'; data: string }>;
}

/**
 * Writes a module's state dict (parameters and buffers, exact) to a JSON file, atomically
 * (a temporary file in the same folder, then renamed over `file`).
 * @param file destination path.
 * @param module the module (or a state dict) to save.
 * @param meta anything JSON-serialisable to keep beside it (iteration, accuracy).
 */
export function saveCheckpoint(file: string, module: Module | StateDict, meta?: unknown): void {
  if (typeof file !== 'string' || file === '') throw new TypeError(`saveCheckpoint: argument 'file' must be a path, got ${describe(file)}`);
  const state = module instanceof Module ? module.stateDict() : module;
  const entries: CheckpointFile['entries'] = {};
  for (const [k, e] of Object.entries(state)) {
    entries[k] = { shape: e.shape, dtype: e.dtype, data: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('base64') };
  }
  const body: CheckpointFile = { format: 'x-meta-checkpoint', version: 1, meta, entries };
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(body));
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Reads a checkpoint written by `saveCheckpoint`; with `module`, loads it into the module.
 * @param file the checkpoint path.
 * @param module optional module to load into (strict: names and shapes must match).
 * @returns the state dict and the saved `meta`.
 * @throws ValueError if the file is not a checkpoint.
 */
export function loadCheckpoint(file: string, module?: Module): { state: StateDict; meta: unknown } {
  const text = fs.readFileSync(file, 'utf8');
  let body: CheckpointFile;
  try {
    body = JSON.parse(text) as CheckpointFile;
  } catch (e) {
    throw new ValueError(`loadCheckpoint: '${file}' is not an @x/meta checkpoint (not JSON: ${(e as Error).message})`, 'file', { cause: e });
  }
  if (body?.format !== 'x-meta-checkpoint' || body.version !== 1 || body.entries === null || typeof body.entries !== 'object') {
    throw new ValueError(`loadCheckpoint: '${file}' is not an @x/meta checkpoint (format ${describe(body?.format)}, version ${describe(body?.version)})`, 'file');
  }
  const state: StateDict = {};
  for (const [k, e] of Object.entries(body.entries)) {
    if (e === null || typeof e !== 'object' || !Array.isArray(e.shape) || (e.dtype !== 'float32' && e.dtype !== 'int32') || typeof e.data !== 'string') {
      throw new ValueError(`loadCheckpoint: '${file}' is not an @x/meta checkpoint (entry '${k}' is not { shape, dtype, data })`, 'file');
    }
    const buf = Buffer.from(e.data, 'base64');
    const copy = new Uint8Array(buf.byteLength);
    copy.set(buf);
    state[k] = { shape: e.shape, dtype: e.dtype, data: e.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer) };
  }
  if (module) module.loadStateDict(state);
  return { state, meta: body.meta };
}

// ---- the loop ---------------------------------------------------------------------------

/** What `metaTrain` reports to `onProgress`. */
export interface MetaProgress {
  iteration: number;
  iterations: number;
  /** Mean training loss over the iterations since the last report. */
  loss: number;
  /** Latest meta-validation accuracy, if any. */
  validation?: number;
}

/** Options of `metaTrain`. */
export interface MetaTrainOptions {
  /** Number of meta-iterations. */
  iterations: number;
  /** One meta-update (e.g. `() => maml.step(opt, ...)`); returns the training loss. */
  step: (iteration: number) => number;
  /** Meta-validation: `run()` returns an accuracy on held-out classes, every `every` iterations and at the end. */
  validate?: { every: number; run: () => number };
  /** Saves `module` to `file` whenever meta-validation improves (or at the end without validation). */
  checkpoint?: { file: string; module: Module };
  /** Load the best checkpoint back into the module at the end (default true when both validate and checkpoint are given). */
  restoreBest?: boolean;
  onProgress?: (p: MetaProgress) => void;
}

/** What `metaTrain` returns. */
export interface MetaTrainResult {
  losses: number[];
  validation: { iteration: number; accuracy: number }[];
  best?: { iteration: number; accuracy: number };
}

/**
 * Runs meta-training: `iterations` calls of `step`, meta-validation at a fixed interval, a
 * checkpoint of the best meta-parameters so far, and progress reports.
 * @param options iterations, step, validate, checkpoint, restoreBest, onProgress.
 * @returns the training losses, the validation curve and the best validation point.
 * @throws ValueError for bad options, or when a step returns a non-finite loss.
 */
export function metaTrain(options: MetaTrainOptions): MetaTrainResult {
  if (options === null || typeof options !== 'object') throw new TypeError(`metaTrain: argument 'options' must be an object, got ${describe(options)}`);
  const { iterations, step, validate, checkpoint, onProgress } = options;
  if (!Number.isInteger(iterations) || iterations < 1) throw new ValueError(`metaTrain: option 'iterations' must be a positive integer, got ${describe(iterations)}`, 'iterations');
  if (typeof step !== 'function') throw new TypeError(`metaTrain: option 'step' must be a function, got ${describe(step)}`);
  if (validate && (!Number.isInteger(validate.every) || validate.every < 1 || typeof validate.run !== 'function')) {
    throw new ValueError(`metaTrain: option 'validate' must be { every: positive integer, run: function }, got ${describe(validate)}`, 'validate');
  }
  // Checked now: a checkpoint that cannot be written would otherwise fail only at the first validation.
  if (checkpoint !== undefined && (checkpoint === null || typeof checkpoint !== 'object' || typeof checkpoint.file !== 'string' || checkpoint.file === '' || !(checkpoint.module instanceof Module))) {
    throw new ValueError(`metaTrain: option 'checkpoint' must be { file: non-empty path, module: Module }, got ${describe(checkpoint)}`, 'checkpoint');
  }
  const losses: number[] = [];
  const validation: MetaTrainResult['validation'] = [];
  let best: MetaTrainResult['best'];
  let window: number[] = [];
  for (let it = 1; it <= iterations; it++) {
    const loss = step(it);
    if (!Number.isFinite(loss)) throw new ValueError(`metaTrain: meta-iteration ${it} returned a non-finite loss (${loss})`, 'step');
    losses.push(loss);
    window.push(loss);
    const validateNow = validate && (it % validate.every === 0 || it === iterations);
    if (validateNow) {
      const accuracy = validate.run();
      validation.push({ iteration: it, accuracy });
      if (!best || accuracy > best.accuracy) {
        best = { iteration: it, accuracy };
        if (checkpoint) saveCheckpoint(checkpoint.file, checkpoint.module, best);
      }
    }
    if (onProgress && (validateNow || it === iterations || it % Math.max(1, Math.floor(iterations / 50)) === 0)) {
      onProgress({ iteration: it, iterations, loss: window.reduce((a, b) => a + b, 0) / window.length, validation: validation.at(-1)?.accuracy });
      window = [];
    }
  }
  if (checkpoint && !validate) saveCheckpoint(checkpoint.file, checkpoint.module, { iteration: iterations });
  if (checkpoint && validate && (options.restoreBest ?? true)) loadCheckpoint(checkpoint.file, checkpoint.module);
  return { losses, validation, best };
}

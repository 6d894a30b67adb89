/**
 * Metrics of a continual-learning run from its accuracy matrix R, where `R[i][j]` is the
 * accuracy on task j after training task i (Lopez-Paz & Ranzato 2017, GEM; forgetting as in
 * Chaudhry et al. 2018, RWalk). A metric that the run cannot define (fewer than two tasks,
 * forward transfer without a baseline or in class-incremental learning) is `null` with the
 * reason, never 0.
 */
import { ValueError, describe } from '@x/tensor';

/** Accuracy on task j after training task i; `null` where it was not measured. */
export type AccuracyMatrix = (number | null)[][];

/** A metric value, or `null` with the reason it is undefined for this run. */
export interface Metric {
  value: number | null;
  /** Why `value` is null (absent when it is a number). */
  reason?: string;
}

/** Every metric of a run. */
export interface ContinualMetrics {
  /** Number of tasks trained (rows of R). */
  tasks: number;
  /** Mean over tasks of the accuracy after the last task: (1/T) Σ_j R[T-1][j]. */
  averageAccuracy: Metric;
  /** (1/(T-1)) Σ_{j<T-1} (R[T-1][j] − R[j][j]); negative means forgetting. */
  backwardTransfer: Metric;
  /** Mean over j < T-1 of max_{l<T-1} R[l][j] − R[T-1][j]. */
  forgetting: Metric;
  /** Forgetting of each task j < T-1 (the last task has none yet). */
  forgettingPerTask: number[];
  /** (1/(T-1)) Σ_{j≥1} (R[j-1][j] − b_j) with b_j the accuracy of a random-init model on task j. */
  forwardTransfer: Metric;
}

/** Options of `continualMetrics`. */
export interface MetricsOptions {
  /** Accuracy of the randomly initialised model on each task (needed for forward transfer). */
  baseline?: number[];
  /** Class-incremental run (one head, no task id): forward transfer is undefined there. */
  classIncremental?: boolean;
}

function checkMatrix(fn: string, R: unknown): AccuracyMatrix {
  if (!Array.isArray(R) || R.length === 0) {
    throw new ValueError(`${fn}: argument 'R' must be a non-empty array of rows (one per trained task), got ${describe(R)}`, 'R');
  }
  const T = R[0]?.length;
  R.forEach((row, i) => {
    if (!Array.isArray(row)) throw new ValueError(`${fn}: row ${i} of argument 'R' must be an array, got ${describe(row)}`, 'R');
    if (row.length !== T) throw new ValueError(`${fn}: every row of argument 'R' must have ${T} entries (one per task), row ${i} has ${row.length}`, 'R');
    row.forEach((v, j) => {
      if (v !== null && !(typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1)) {
        throw new ValueError(`${fn}: R[${i}][${j}] must be an accuracy in [0, 1] or null, got ${describe(v)}`, 'R');
      }
    });
  });
  if (R.length > T) throw new ValueError(`${fn}: argument 'R' has ${R.length} rows but only ${T} tasks`, 'R');
  return R as AccuracyMatrix;
}

function entry(fn: string, R: AccuracyMatrix, i: number, j: number): number {
  const v = R[i][j];
  if (v === null) throw new ValueError(`${fn}: R[${i}][${j}] (task ${j} after training task ${i}) is needed but was not measured`, 'R');
  return v;
}

/**
 * Average accuracy, backward transfer, forgetting and forward transfer of an accuracy matrix.
 * @param R rows = tasks trained so far (T rows), columns = every task of the scenario; `R[i][j]`
 * is the accuracy on task j after training task i, `null` where not measured.
 * @param options the random-init baseline per task (for forward transfer), and whether the run is class-incremental.
 * @returns each metric as `{ value }` or `{ value: null, reason }`.
 * @throws ValueError for a malformed matrix or a needed entry that is null.
 * @example
 * continualMetrics([[0.99, null], [0.6, 0.98]]).forgetting.value;   // 0.39
 */
export function continualMetrics(R: AccuracyMatrix, options: MetricsOptions = {}): ContinualMetrics {
  const fn = 'continualMetrics';
  checkMatrix(fn, R);
  const T = R.length;
  const last = T - 1;
  const cols = R[0].length;
  let acc = 0;
  for (let j = 0; j < T; j++) acc += entry(fn, R, last, j);
  const averageAccuracy: Metric = { value: acc / T };
  const fewer = `undefined with fewer than 2 tasks (got ${T})`;
  let backwardTransfer: Metric = { value: null, reason: fewer };
  let forgetting: Metric = { value: null, reason: fewer };
  const forgettingPerTask: number[] = [];
  if (T >= 2) {
    let bwt = 0;
    for (let j = 0; j < last; j++) {
      const final = entry(fn, R, last, j);
      bwt += final - entry(fn, R, j, j);
      let best = -Infinity;
      for (let l = j; l < last; l++) best = Math.max(best, entry(fn, R, l, j));
      forgettingPerTask.push(best - final);
    }
    backwardTransfer = { value: bwt / last };
    forgetting = { value: forgettingPerTask.reduce((s, f) => s + f, 0) / last };
  }
  let forwardTransfer: Metric;
  if (T < 2) forwardTransfer = { value: null, reason: fewer };
  else if (options.classIncremental) forwardTransfer = { value: null, reason: 'undefined in class-incremental learning: a task\'s classes have never been a target before it is trained' };
  else if (options.baseline === undefined) forwardTransfer = { value: null, reason: 'needs the random-init baseline accuracy of each task (option baseline)' };
  else {
    const b = options.baseline;
    if (!Array.isArray(b) || b.length !== cols || b.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
      throw new ValueError(`${fn}: option 'baseline' must hold ${cols} finite accuracies (one per task), got ${describe(b)}`, 'baseline');
    }
    let fwt = 0;
    for (let j = 1; j < T; j++) fwt += entry(fn, R, j - 1, j) - b[j];
    forwardTransfer = { value: fwt / last };
  }
  return { tasks: T, averageAccuracy, backwardTransfer, forgetting, forgettingPerTask, forwardTransfer };
}

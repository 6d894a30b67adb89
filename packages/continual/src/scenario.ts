/**
 * Scenarios: a stream of experiences (tasks) built from any labelled data set. Class-split
 * gives each task a subset of the classes (Split-MNIST: 5 tasks of 2 digits), evaluated
 * task-incrementally (the task id is given and the output is masked to the task's classes)
 * or class-incrementally (one head over all classes, no task id). Input-permuted gives every
 * task all classes under its own seeded pixel permutation (Permuted-MNIST; task 0 may keep
 * the identity).
 */
import { Rng, ValueError, ShapeError, describe } from '@x/tensor';

/** Labelled rows: `x` row-major [n, d], `y` labels, `task` the task id of every row. */
export interface TaskData {
  x: Float32Array;
  y: Int32Array;
  task: Int32Array;
  n: number;
  d: number;
}

/** One task of a scenario: its training and test data and the classes it may predict. */
export interface Experience {
  /** Task index, 0-based, in training order. */
  id: number;
  /** The classes of this task (the output mask in task-incremental evaluation). */
  classes: number[];
  train: TaskData;
  test: TaskData;
}

/** How a scenario is evaluated. */
export type ScenarioKind = 'task-incremental' | 'class-incremental' | 'domain-incremental';

/** A sequence of experiences. */
export interface Scenario {
  name: string;
  /** `task-incremental`: task id given, outputs masked per task; `class-incremental`: one head, no id; `domain-incremental`: same classes in every task (permuted). */
  kind: ScenarioKind;
  /** Width of the model's output. */
  numClasses: number;
  experiences: Experience[];
}

/** A labelled set as plain arrays. */
export interface LabelledSet {
  x: Float32Array;
  y: Int32Array | ArrayLike<number>;
}

function checkSet(fn: string, arg: string, s: LabelledSet): { n: number; d: number; y: Int32Array } {
  if (s === null || typeof s !== 'object' || !(s.x instanceof Float32Array)) {
    throw new TypeError(`${fn}: argument '${arg}' must be { x: Float32Array, y }, got ${describe(s)}`);
  }
  const n = s.y?.length;
  if (!n) throw new ValueError(`${fn}: argument '${arg}.y' must hold at least one label, got ${describe(s.y)}`, arg);
  if (s.x.length % n !== 0) {
    throw new ShapeError(`${fn}: argument '${arg}.x' must have a multiple of ${n} values (one row per label), got ${s.x.length}`, { expected: `[${n}, d]`, received: [s.x.length] });
  }
  const y = Int32Array.from(s.y as ArrayLike<number>);
  for (let i = 0; i < n; i++) if (!Number.isInteger(y[i]) || y[i] < 0) throw new ValueError(`${fn}: labels of '${arg}' must be non-negative integers, got ${s.y[i]} at ${i}`, arg);
  return { n, d: s.x.length / n, y };
}

function subset(x: Float32Array, y: Int32Array, d: number, idx: number[], task: number, perm?: Int32Array): TaskData {
  const n = idx.length;
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    const src = x.subarray(idx[r] * d, idx[r] * d + d);
    if (perm) for (let k = 0; k < d; k++) out[r * d + k] = src[perm[k]];
    else out.set(src, r * d);
  }
  return { x: out, y: Int32Array.from(idx, (i) => y[i]), task: new Int32Array(n).fill(task), n, d };
}

/** Options of `classSplitScenario`. */
export interface ClassSplitOptions {
  /** The classes of each task, e.g. [[0,1],[2,3],[4,5],[6,7],[8,9]] (the default for 10 classes: consecutive pairs). */
  tasks?: number[][];
  /** `'task-incremental'` (task id given, outputs masked to the task's classes) or `'class-incremental'`. */
  mode: 'task-incremental' | 'class-incremental';
  name?: string;
}

/**
 * Splits a labelled data set by class into tasks.
 * @param train training set.
 * @param test test set.
 * @param options the classes per task and the evaluation mode.
 * @returns the scenario; the model's output width is (largest class + 1).
 * @throws ValueError for overlapping or empty tasks, a class with no training rows, or a bad mode.
 * @example
 * const s = classSplitScenario(train, test, { mode: 'class-incremental' });   // 5 tasks of 2 digits
 */
export function classSplitScenario(train: LabelledSet, test: LabelledSet, options: ClassSplitOptions): Scenario {
  const fn = 'classSplitScenario';
  const a = checkSet(fn, 'train', train);
  const b = checkSet(fn, 'test', test);
  if (a.d !== b.d) throw new ShapeError(`${fn}: 'train' rows have ${a.d} values but 'test' rows ${b.d}`, { expected: `[n, ${a.d}]`, received: [b.d] });
  if (options?.mode !== 'task-incremental' && options?.mode !== 'class-incremental') {
    throw new ValueError(`${fn}: option 'mode' must be 'task-incremental' or 'class-incremental', got ${describe(options?.mode)}`, 'mode');
  }
  let maxClass = 0;
  for (const v of a.y) maxClass = Math.max(maxClass, v);
  const tasks = options.tasks ?? Array.from({ length: Math.ceil((maxClass + 1) / 2) }, (_, t) => [2 * t, 2 * t + 1].filter((c) => c <= maxClass));
  const seen = new Set<number>();
  tasks.forEach((cs, t) => {
    if (!Array.isArray(cs) || cs.length === 0) throw new ValueError(`${fn}: task ${t} of option 'tasks' must list at least one class, got ${describe(cs)}`, 'tasks');
    for (const c of cs) {
      if (!Number.isInteger(c) || c < 0) throw new ValueError(`${fn}: task ${t} of option 'tasks' has ${describe(c)}, expected a class id`, 'tasks');
      if (seen.has(c)) throw new ValueError(`${fn}: class ${c} is in more than one task of option 'tasks'`, 'tasks');
      seen.add(c);
    }
  });
  const numClasses = Math.max(...seen) + 1;
  const experiences = tasks.map((cs, t) => {
    const set = new Set(cs);
    const tr: number[] = [];
    const te: number[] = [];
    a.y.forEach((v, i) => set.has(v) && tr.push(i));
    b.y.forEach((v, i) => set.has(v) && te.push(i));
    if (tr.length === 0 || te.length === 0) throw new ValueError(`${fn}: task ${t} (classes ${cs.join(',')}) has no training or no test rows`, 'tasks');
    return { id: t, classes: [...cs], train: subset(train.x, a.y, a.d, tr, t), test: subset(test.x, b.y, b.d, te, t) };
  });
  return { name: options.name ?? `split-${options.mode}`, kind: options.mode, numClasses, experiences };
}

/** Options of `permutedScenario`. */
export interface PermutedOptions {
  /** Number of tasks (≥ 1). */
  tasks: number;
  /** Seed of the permutations. */
  seed: number;
  /** Keep task 0 unpermuted (default true, as is common for Permuted-MNIST). */
  identityFirst?: boolean;
  name?: string;
}

/**
 * Permuted inputs: every task has all the classes, under its own seeded permutation of the
 * input features (pixels).
 * @param train training set.
 * @param test test set.
 * @param options number of tasks, seed, whether task 0 keeps the identity.
 * @returns a domain-incremental scenario.
 * @throws ValueError for a non-positive task count.
 * @example
 * const s = permutedScenario(train, test, { tasks: 5, seed: 0 });
 */
export function permutedScenario(train: LabelledSet, test: LabelledSet, options: PermutedOptions): Scenario {
  const fn = 'permutedScenario';
  const a = checkSet(fn, 'train', train);
  const b = checkSet(fn, 'test', test);
  if (a.d !== b.d) throw new ShapeError(`${fn}: 'train' rows have ${a.d} values but 'test' rows ${b.d}`, { expected: `[n, ${a.d}]`, received: [b.d] });
  const T = options?.tasks;
  if (!Number.isInteger(T) || T < 1) throw new ValueError(`${fn}: option 'tasks' must be a positive integer, got ${describe(T)}`, 'tasks');
  if (!Number.isFinite(options.seed)) throw new ValueError(`${fn}: option 'seed' must be a number, got ${describe(options.seed)}`, 'seed');
  const rng = new Rng(options.seed);
  let maxClass = 0;
  for (const v of a.y) maxClass = Math.max(maxClass, v);
  const classes = Array.from({ length: maxClass + 1 }, (_, c) => c);
  const all = (n: number) => Array.from({ length: n }, (_, i) => i);
  const experiences = Array.from({ length: T }, (_, t) => {
    const perm = t === 0 && options.identityFirst !== false ? undefined : rng.permutation(a.d);
    return { id: t, classes, train: subset(train.x, a.y, a.d, all(a.n), t, perm), test: subset(test.x, b.y, b.d, all(b.n), t, perm) };
  });
  return { name: options.name ?? 'permuted', kind: 'domain-incremental', numClasses: maxClass + 1, experiences };
}

/** All rows of several experiences' data in one set (each row keeps its task id): joint training. */
export function concatTaskData(parts: TaskData[]): TaskData {
  if (parts.length === 0) throw new ValueError(`concatTaskData: argument 'parts' must hold at least one set, got 0`, 'parts');
  const d = parts[0].d;
  const n = parts.reduce((s, p) => s + p.n, 0);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const task = new Int32Array(n);
  let o = 0;
  for (const p of parts) {
    if (p.d !== d) throw new ShapeError(`concatTaskData: every part must have rows of ${d} values, got ${p.d}`, { expected: `[n, ${d}]`, received: [p.d] });
    x.set(p.x, o * d);
    y.set(p.y, o);
    task.set(p.task, o);
    o += p.n;
  }
  return { x, y, task, n, d };
}

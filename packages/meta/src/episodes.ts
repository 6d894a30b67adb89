/**
 * N-way K-shot Q-query episodes over any labelled data (flat rows of `dim` numbers). Each
 * episode draws N classes, gives them a fresh random order (episode label i is original class
 * `classes[i]`), and draws K support and Q query examples per class without replacement, so
 * support and query never share an example. A sampler only ever sees the classes it is given,
 * which is how meta-train and meta-test classes are kept apart (`classSplit`).
 */
import { Rng, ShapeError, ValueError, describe, tf, toSeed } from '@x/tensor';

type Tensor = tf.Tensor;

/** Labelled rows: `x` holds `n × dim` numbers, row i at `[i·dim, (i+1)·dim)`. */
export interface LabelledData {
  x: Float32Array;
  labels: ArrayLike<number>;
  /** Numbers per row. */
  dim: number;
}

/** One few-shot task. Support rows are grouped by episode label (K rows of label 0, then 1, ...); query rows are shuffled. */
export interface Episode {
  ways: number;
  shots: number;
  queries: number;
  dim: number;
  /** Original class of each episode label: label i is class `classes[i]`. */
  classes: number[];
  /** `ways·shots × dim` support rows. */
  supportX: Float32Array;
  /** Episode labels 0..ways-1 of the support rows. */
  supportY: Int32Array;
  /** `ways·queries × dim` query rows. */
  queryX: Float32Array;
  queryY: Int32Array;
  /** Row indices into the sampler's data (for checking disjointness). */
  supportIndex: Int32Array;
  queryIndex: Int32Array;
}

/** Options of `EpisodeSampler`. */
export interface EpisodeSamplerOptions {
  /** N: classes per episode. */
  ways: number;
  /** K: support examples per class. */
  shots: number;
  /** Q: query examples per class. */
  queries: number;
  /** Classes to draw from (default: every label present). */
  classes?: number[];
  seed?: number | Rng;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Validates rows and labels; returns the label list as plain integers. */
function checkData(fn: string, data: LabelledData): { labels: Int32Array; n: number } {
  if (data === null || typeof data !== 'object') throw new TypeError(`${fn}: argument 'data' must be { x, labels, dim }, got ${describe(data)}`);
  const { x, labels, dim } = data;
  if (!(x instanceof Float32Array)) throw new TypeError(`${fn}: argument 'data.x' must be a Float32Array, got ${describe(x)}`);
  if (!isInt(dim) || dim < 1) throw new ValueError(`${fn}: argument 'data.dim' must be a positive integer, got ${describe(dim)}`, 'dim');
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new TypeError(`${fn}: argument 'data.labels' must be an array of integers, got ${describe(labels)}`);
  }
  if (x.length % dim !== 0) {
    throw new ShapeError(`${fn}: argument 'data.x' must hold a whole number of rows of ${dim}, got ${x.length} values`, { expected: `multiple of ${dim}`, received: [x.length] });
  }
  const n = x.length / dim;
  if (labels.length !== n) {
    throw new ShapeError(`${fn}: argument 'data.labels' must have one label per row of 'data.x' (${n}), got ${labels.length}`, { expected: `[${n}]`, received: [labels.length] });
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (!isInt(l) || l < 0) throw new ValueError(`${fn}: argument 'data.labels' must hold non-negative integers, got ${describe(l)} at index ${i}`, 'labels');
    out[i] = l;
  }
  return { labels: out, n };
}

/**
 * Splits labelled data into groups of classes (e.g. meta-train 0–4, meta-test 5–9) and
 * checks that no class is in two groups.
 * @param data rows and labels.
 * @param groups class lists, e.g. `{ train: [0,1,2,3,4], test: [5,6,7,8,9] }`.
 * @returns per group, the rows of its classes (copies) with their original labels.
 * @throws ValueError if a class is in two groups or has no rows; ShapeError for mismatched labels.
 * @example
 * const { train, test } = classSplit({ x, labels, dim: 784 }, { train: [0, 1, 2, 3, 4], test: [5, 6, 7, 8, 9] });
 */
export function classSplit<G extends string>(data: LabelledData, groups: Record<G, number[]>): Record<G, LabelledData> {
  const fn = 'classSplit';
  const { labels, n } = checkData(fn, data);
  const owner = new Map<number, string>();
  for (const [g, cls] of Object.entries(groups) as [string, number[]][]) {
    if (!Array.isArray(cls) || cls.length === 0) throw new ValueError(`${fn}: group '${g}' must be a non-empty list of classes, got ${describe(cls)}`, 'groups');
    for (const c of cls) {
      if (owner.has(c)) throw new ValueError(`${fn}: class ${c} is in both group '${owner.get(c)}' and group '${g}'; groups must be disjoint`, 'groups');
      owner.set(c, g);
    }
  }
  const out = {} as Record<G, LabelledData>;
  for (const [g, cls] of Object.entries(groups) as [G, number[]][]) {
    const keep = new Set(cls);
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (keep.has(labels[i])) idx.push(i);
    for (const c of cls) {
      if (!idx.some((i) => labels[i] === c)) throw new ValueError(`${fn}: class ${c} of group '${g}' has no rows in 'data'`, 'groups');
    }
    const x = new Float32Array(idx.length * data.dim);
    idx.forEach((r, j) => x.set(data.x.subarray(r * data.dim, (r + 1) * data.dim), j * data.dim));
    out[g] = { x, labels: Int32Array.from(idx, (i) => labels[i]), dim: data.dim };
  }
  return out;
}

/**
 * Seeded sampler of N-way K-shot Q-query episodes, with a fresh random class → label
 * mapping in every episode.
 * @example
 * const sampler = new EpisodeSampler({ x, labels, dim: 784 }, { ways: 5, shots: 1, queries: 15, seed: 0 });
 * const ep = sampler.sample();   // ep.supportX: 5 × 784, ep.queryY: 75 labels in 0..4
 */
export class EpisodeSampler {
  readonly ways: number;
  readonly shots: number;
  readonly queries: number;
  readonly dim: number;
  /** The classes episodes are drawn from. */
  readonly classes: number[];
  private readonly data: Float32Array;
  private readonly byClass = new Map<number, Int32Array>();
  private readonly rng: Rng;

  /**
   * @param data rows and labels.
   * @param options ways, shots, queries, classes, seed.
   * @throws ValueError when there are fewer classes than ways, a class has fewer than
   *   shots + queries rows, or a requested class is absent; ShapeError when labels and rows disagree.
   */
  constructor(data: LabelledData, options: EpisodeSamplerOptions) {
    const fn = 'EpisodeSampler';
    const { labels, n } = checkData(fn, data);
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: argument 'options' must be an object, got ${describe(options)}`);
    for (const k of ['ways', 'shots', 'queries'] as const) {
      const v = options[k];
      if (!isInt(v) || v < (k === 'queries' ? 0 : 1)) {
        throw new ValueError(`${fn}: option '${k}' must be an integer ≥ ${k === 'queries' ? 0 : 1}, got ${describe(v)}`, k);
      }
    }
    this.ways = options.ways;
    this.shots = options.shots;
    this.queries = options.queries;
    this.dim = data.dim;
    this.data = data.x;
    const rows = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      let r = rows.get(labels[i]);
      if (!r) rows.set(labels[i], (r = []));
      r.push(i);
    }
    const classes = options.classes ?? [...rows.keys()].sort((a, b) => a - b);
    if (!Array.isArray(classes)) throw new TypeError(`${fn}: option 'classes' must be an array of labels, got ${describe(classes)}`);
    if (new Set(classes).size !== classes.length) throw new ValueError(`${fn}: option 'classes' must not repeat a class, got [${classes.join(', ')}]`, 'classes');
    if (classes.length < this.ways) {
      throw new ValueError(`${fn}: option 'ways' (${this.ways}) must not exceed the number of classes available (${classes.length}: [${classes.join(', ')}])`, 'ways');
    }
    const need = this.shots + this.queries;
    for (const c of classes) {
      const r = rows.get(c);
      if (!r) throw new ValueError(`${fn}: class ${c} of option 'classes' has no rows in 'data'`, 'classes');
      if (r.length < need) {
        throw new ValueError(`${fn}: class ${c} has ${r.length} examples, fewer than shots + queries = ${this.shots} + ${this.queries} = ${need}`, 'data');
      }
      this.byClass.set(c, Int32Array.from(r));
    }
    this.classes = [...classes];
    this.rng = toSeed(options.seed, 0);
  }

  /** Draws the next episode. */
  sample(): Episode {
    const { ways, shots, queries, dim } = this;
    // rng.choice returns distinct indices in random order: that order is this episode's labels.
    const pick = this.rng.choice(this.classes.length, ways);
    const classes = Array.from(pick, (i) => this.classes[i]);
    const supportIndex = new Int32Array(ways * shots);
    const queryRows: Array<[number, number]> = [];
    classes.forEach((c, label) => {
      const rows = this.byClass.get(c) as Int32Array;
      const take = this.rng.choice(rows.length, shots + queries);
      for (let j = 0; j < shots; j++) supportIndex[label * shots + j] = rows[take[j]];
      for (let j = shots; j < shots + queries; j++) queryRows.push([rows[take[j]], label]);
    });
    const order = this.rng.permutation(queryRows.length);
    const queryIndex = Int32Array.from(order, (o) => queryRows[o][0]);
    const queryY = Int32Array.from(order, (o) => queryRows[o][1]);
    const supportY = Int32Array.from({ length: ways * shots }, (_, i) => Math.floor(i / shots));
    return {
      ways,
      shots,
      queries,
      dim,
      classes,
      supportX: this.gather(supportIndex),
      supportY,
      queryX: this.gather(queryIndex),
      queryY,
      supportIndex,
      queryIndex,
    };
  }

  private gather(idx: Int32Array): Float32Array {
    const out = new Float32Array(idx.length * this.dim);
    idx.forEach((r, j) => out.set(this.data.subarray(r * this.dim, (r + 1) * this.dim), j * this.dim));
    return out;
  }
}

/** An episode's rows as tensors (`xs` [N·K, dim], `xq` [N·Q, dim]); the caller disposes them. */
export function episodeTensors(ep: Episode): { xs: Tensor; xq: Tensor } {
  return { xs: tf.tensor2d(ep.supportX, [ep.supportY.length, ep.dim]), xq: tf.tensor2d(ep.queryX, [ep.queryY.length, ep.dim]) };
}

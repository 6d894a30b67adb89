/**
 * Experience replay: a fixed-size memory of past samples, mixed into every training
 * mini-batch. Two storage policies: reservoir sampling over the whole stream (every sample
 * seen so far is in the memory with probability m/n, Vitter's algorithm R) and a
 * class-balanced memory (m/c slots per seen class, a reservoir within each class).
 */
import { Rng, ValueError, checkNumber, describe } from '@x/tensor';
import type { TaskData } from './scenario.js';
import type { Batch, ContinualPlugin, StrategyContext } from './template.js';

function checkSize(fn: string, m: unknown): number {
  if (typeof m !== 'number' || !Number.isInteger(m) || m <= 0) {
    throw new ValueError(`${fn}: argument 'size' must be a positive integer (the number of samples kept), got ${describe(m)}`, 'size');
  }
  return m;
}

/**
 * Reservoir sampling (algorithm R): after n items were offered, each is held with probability
 * min(1, m/n), whatever the order.
 * @example
 * const r = new Reservoir<number>(10, new Rng(0));
 * for (let i = 0; i < 100; i++) r.add(i);
 * r.items().length;   // 10
 */
export class Reservoir<T> {
  readonly size: number;
  private readonly rng: Rng;
  private readonly held: T[] = [];
  /** Items offered so far. */
  seen = 0;

  /** @throws ValueError for a size that is not a positive integer. */
  constructor(size: number, rng: Rng) {
    this.size = checkSize('Reservoir', size);
    if (!(rng instanceof Rng)) throw new TypeError(`Reservoir: argument 'rng' must be an Rng, got ${describe(rng)}`);
    this.rng = rng;
  }

  /** Offers one item. */
  add(item: T): void {
    this.seen++;
    if (this.held.length < this.size) this.held.push(item);
    else {
      const j = this.rng.int(this.seen);
      if (j < this.size) this.held[j] = item;
    }
  }

  /** The items held (a copy of the list). */
  items(): T[] {
    return [...this.held];
  }

  /** Keeps a uniformly random subset of `k` held items (class-balanced shrinking). */
  shrink(k: number): void {
    if (k >= this.held.length) return;
    const keep = this.rng.choice(this.held.length, k, { replace: false });
    const next = Array.from(keep, (i) => this.held[i]);
    this.held.length = 0;
    this.held.push(...next);
  }
}

/** One stored sample. */
export interface MemorySample {
  x: Float32Array;
  y: number;
  task: number;
}

/** A replay memory: `update` after each experience, `samples` to draw from. */
export interface ReplayMemory {
  readonly size: number;
  /** Adds an experience's training rows (offered in a seeded random order). */
  update(data: TaskData): void;
  samples(): MemorySample[];
}

/**
 * Reservoir memory over the stream of all training rows.
 * @example
 * const mem = new ReservoirMemory(500, 0);
 */
export class ReservoirMemory implements ReplayMemory {
  readonly size: number;
  private readonly rng: Rng;
  private readonly res: Reservoir<MemorySample>;
  /** @throws ValueError for a size that is not a positive integer. */
  constructor(size: number, seed = 0) {
    this.size = checkSize('ReservoirMemory', size);
    this.rng = new Rng(seed);
    this.res = new Reservoir(size, this.rng.fork());
  }
  update(data: TaskData): void {
    for (const i of this.rng.permutation(data.n)) this.res.add(row(data, i));
  }
  samples(): MemorySample[] {
    return this.res.items();
  }
}

/**
 * Class-balanced memory of fixed total size m: each of the c classes seen so far gets
 * ⌊m/c⌋ slots (the first m mod c classes in sorted order one more), filled by a reservoir
 * within the class; when new classes arrive the old ones shrink to their new quota by a
 * uniformly random subset.
 * @example
 * const mem = new ClassBalancedMemory(500, 0);
 */
export class ClassBalancedMemory implements ReplayMemory {
  readonly size: number;
  private readonly rng: Rng;
  private readonly perClass = new Map<number, Reservoir<MemorySample>>();
  /** @throws ValueError for a size that is not a positive integer. */
  constructor(size: number, seed = 0) {
    this.size = checkSize('ClassBalancedMemory', size);
    this.rng = new Rng(seed);
  }
  update(data: TaskData): void {
    const fresh = new Set<number>();
    for (const y of data.y) if (!this.perClass.has(y)) fresh.add(y);
    const classes = [...new Set([...this.perClass.keys(), ...fresh])].sort((a, b) => a - b);
    const base = Math.floor(this.size / classes.length);
    const extra = this.size % classes.length;
    const quota = new Map(classes.map((c, i) => [c, base + (i < extra ? 1 : 0)]));
    for (const [c, r] of this.perClass) r.shrink(quota.get(c) as number);
    // A class with no slot (more classes than memory) is not stored.
    for (const c of fresh) if ((quota.get(c) as number) > 0) this.perClass.set(c, new Reservoir(quota.get(c) as number, this.rng.fork()));
    for (const i of this.rng.permutation(data.n)) {
      const c = data.y[i];
      if (fresh.has(c)) this.perClass.get(c)?.add(row(data, i));
    }
  }
  samples(): MemorySample[] {
    return [...this.perClass.keys()].sort((a, b) => a - b).flatMap((c) => (this.perClass.get(c) as Reservoir<MemorySample>).items());
  }
  /** Samples held per class. */
  counts(): Map<number, number> {
    return new Map([...this.perClass].map(([c, r]) => [c, r.items().length]));
  }
}

function row(data: TaskData, i: number): MemorySample {
  return { x: data.x.slice(i * data.d, (i + 1) * data.d), y: data.y[i], task: data.task[i] };
}

/** Options of `ReplayPlugin`. */
export interface ReplayOptions {
  /** Memory size m (samples kept), a positive integer. */
  memorySize: number;
  /** `'class-balanced'` (default) or `'reservoir'`. */
  policy?: 'class-balanced' | 'reservoir';
  /** Memory samples appended to every mini-batch (default: the strategy's batch size). */
  batchSize?: number;
  seed?: number;
}

/**
 * Replay as a plugin: after each experience the memory is updated; while training the next
 * ones every mini-batch gets `batchSize` samples drawn uniformly from the memory.
 * @example
 * new ContinualStrategy({ model, kind, plugins: [new ReplayPlugin({ memorySize: 500 })] });
 */
export class ReplayPlugin implements ContinualPlugin {
  readonly name = 'replay';
  readonly memory: ReplayMemory;
  private readonly replayBatch?: number;
  private readonly rng: Rng;
  private cache: MemorySample[] = [];

  /** @throws ValueError for a memory size that is 0, negative or not an integer, or an unknown policy. */
  constructor(options: ReplayOptions) {
    const fn = 'ReplayPlugin';
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: argument 'options' must be { memorySize, policy? }, got ${describe(options)}`);
    const m = options.memorySize;
    if (typeof m !== 'number' || !Number.isInteger(m) || m <= 0) {
      throw new ValueError(`${fn}: option 'memorySize' must be a positive integer, got ${describe(m)}`, 'memorySize');
    }
    const policy = options.policy ?? 'class-balanced';
    const seed = options.seed ?? 0;
    if (policy === 'class-balanced') this.memory = new ClassBalancedMemory(m, seed);
    else if (policy === 'reservoir') this.memory = new ReservoirMemory(m, seed);
    else throw new ValueError(`${fn}: option 'policy' must be 'class-balanced' or 'reservoir', got ${describe(policy)}`, 'policy');
    if (options.batchSize !== undefined) this.replayBatch = checkNumber(fn, 'batchSize', options.batchSize, { min: 1, integer: true });
    this.rng = new Rng(seed + 1);
  }

  adaptBatch(ctx: StrategyContext, batch: Batch): Batch {
    const mem = this.cache;
    if (mem.length === 0) return batch;
    const k = this.replayBatch ?? ctx.strategy.batchSize;
    const d = batch.x.length / batch.n;
    const n = batch.n + k;
    const x = new Float32Array(n * d);
    const y = new Int32Array(n);
    const task = new Int32Array(n);
    x.set(batch.x);
    y.set(batch.y);
    task.set(batch.task);
    for (let r = 0; r < k; r++) {
      const s = mem[this.rng.int(mem.length)];
      x.set(s.x, (batch.n + r) * d);
      y[batch.n + r] = s.y;
      task[batch.n + r] = s.task;
    }
    return { x, y, task, n };
  }

  afterTrainingExp(ctx: StrategyContext): void {
    this.memory.update(ctx.experience.train);
    this.cache = this.memory.samples();
  }
}

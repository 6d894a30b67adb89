/**
 * Knowledge distillation (Hinton et al. 2015): a student learns from a teacher's softened
 * outputs (response-based) and optionally from an intermediate feature through a learned
 * adapter (feature-based, FitNets-style hints).
 */
import {
  tf,
  ready,
  Adam,
  Conv2d,
  Linear,
  Module,
  Sequential,
  Optimizer,
  ShapeError,
  ValueError,
  categoricalKl,
  checkNumber,
  crossEntropy,
  describe,
  evaluate,
  gatherRows,
  logSoftmax,
  mse,
  toSeed,
  trainStep,
  type Dataset,
  type Rng,
} from '@x/tensor';

type Tensor = tf.Tensor;

/** Temperatures accepted by {@link distillationLoss}: the loss is finite over this whole range. */
export const TEMPERATURE_RANGE: readonly [number, number] = [0.05, 20];

/** Options of {@link distillationLoss}. */
export interface DistillLossOptions {
  /** Softening temperature T in [0.05, 20] (default 4). */
  temperature?: number;
  /** Weight α of the distillation term in [0, 1] (default 0.5); the cross-entropy gets 1 − α. */
  alpha?: number;
}

function checkTemperature(fn: string, t: unknown): number {
  if (typeof t !== 'number' || !(t >= TEMPERATURE_RANGE[0] && t <= TEMPERATURE_RANGE[1])) {
    throw new ValueError(`${fn}: option 'temperature' must be a number in [${TEMPERATURE_RANGE[0]}, ${TEMPERATURE_RANGE[1]}], got ${describe(t)}`, 'temperature');
  }
  return t;
}

function checkLogits(fn: string, arg: string, t: unknown): Tensor {
  if (!(t instanceof tf.Tensor)) throw new TypeError(`${fn}: argument '${arg}' must be a Tensor, got ${describe(t)}`);
  if (t.rank !== 2) throw new ShapeError(`${fn}: argument '${arg}' must be rank 2 [N, C], got shape [${t.shape.join(',')}]`, { expected: 'rank 2', received: t.shape });
  return t;
}

/**
 * Response-based distillation loss:
 * α · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) · CE(s, y),
 * with the KL averaged over the batch (torch's `reduction='batchmean'`) and CE the mean
 * cross-entropy of the unsoftened student logits. Both terms are computed from log-softmax
 * (log-sum-exp shifted), so the loss and its gradient stay finite for T in [0.05, 20] and
 * logits of magnitude 1e4. The T² keeps the soft-target gradient's scale independent of T.
 * The teacher logits are treated as constants.
 * @param student student logits [N, C].
 * @param teacher teacher logits [N, C].
 * @param labels N integer labels.
 * @param opts temperature (4), alpha (0.5).
 * @returns the scalar loss.
 * @throws ValueError for T outside [0.05, 20] or α outside [0, 1]; ShapeError for mismatched logits.
 * @example
 * const loss = distillationLoss(studentLogits, teacherLogits, labels, { temperature: 4, alpha: 0.5 });
 */
export function distillationLoss(student: Tensor, teacher: Tensor, labels: Tensor | ArrayLike<number>, opts: DistillLossOptions = {}): Tensor {
  const fn = 'distillationLoss';
  checkLogits(fn, 'student', student);
  checkLogits(fn, 'teacher', teacher);
  if (student.shape[0] !== teacher.shape[0] || student.shape[1] !== teacher.shape[1]) {
    throw new ShapeError(`${fn}: arguments 'student' and 'teacher' must have the same shape, got [${student.shape.join(',')}] and [${teacher.shape.join(',')}]`, {
      expected: `[${student.shape.join(',')}]`,
      received: teacher.shape,
    });
  }
  const T = checkTemperature(fn, opts.temperature ?? 4);
  const alpha = checkNumber(fn, 'alpha', opts.alpha ?? 0.5, { min: 0, max: 1 });
  return tf.tidy(() => {
    const logPt = logSoftmax(tf.div(teacher, T), -1);
    const logPs = logSoftmax(tf.div(student, T), -1);
    const kl = categoricalKl(logPt, logPs, { reduction: 'mean' });
    const ce = crossEntropy(student, labels);
    return tf.add(tf.mul(kl, alpha * T * T), tf.mul(ce, 1 - alpha));
  });
}

/**
 * Feature-based distillation loss: mean squared error between the adapted student feature
 * and the teacher feature (the adapter maps the student's width to the teacher's).
 * @param studentFeature [N, d_s] or NHWC.
 * @param teacherFeature [N, d_t] or NHWC (treated as constant).
 * @param adapter a module mapping the student feature to the teacher's shape, or null when the shapes already agree.
 * @returns the scalar loss.
 * @throws ShapeError if the (adapted) shapes differ.
 */
export function featureDistillationLoss(studentFeature: Tensor, teacherFeature: Tensor, adapter: Module | null = null): Tensor {
  return tf.tidy(() => {
    const s = adapter ? adapter.forward(studentFeature) : studentFeature;
    if (s.rank !== teacherFeature.rank || s.shape.some((d, i) => d !== teacherFeature.shape[i])) {
      throw new ShapeError(
        `featureDistillationLoss: the ${adapter ? 'adapted ' : ''}student feature [${s.shape.join(',')}] must match the teacher feature [${teacherFeature.shape.join(',')}]${adapter ? '' : '; pass an adapter'}`,
        { expected: `[${teacherFeature.shape.join(',')}]`, received: s.shape },
      );
    }
    return mse(s, teacherFeature);
  });
}

/**
 * A learned adapter from a student feature shape to a teacher feature shape (per sample,
 * without the batch axis): a Linear for flat features ([d_s] → [d_t]), a 1x1 Conv2d for
 * NHWC maps with the same height and width; `null` when the shapes are equal.
 * @throws ShapeError when no such adapter exists (different ranks or spatial sizes).
 */
export function makeAdapter(studentShape: number[], teacherShape: number[], seed: number | Rng = 0): Module | null {
  const same = studentShape.length === teacherShape.length && studentShape.every((d, i) => d === teacherShape[i]);
  if (same) return null;
  if (studentShape.length === 1 && teacherShape.length === 1) return new Linear(studentShape[0], teacherShape[0], { init: 'glorot-uniform', seed });
  if (studentShape.length === 3 && teacherShape.length === 3 && studentShape[0] === teacherShape[0] && studentShape[1] === teacherShape[1]) {
    return new Conv2d(studentShape[2], teacherShape[2], 1, { init: 'glorot-uniform', seed });
  }
  throw new ShapeError(
    `makeAdapter: no adapter maps a student feature of shape [${studentShape.join(',')}] to a teacher feature of shape [${teacherShape.join(',')}] (flat features, or NHWC maps of equal height and width)`,
    { expected: `[${teacherShape.join(',')}]`, received: studentShape },
  );
}

/** Where to take the features for feature-based distillation. */
export interface FeatureHint {
  /** Child index of the student Sequential whose output is the student feature. */
  student: number;
  /** Child index of the teacher Sequential whose output is the teacher feature. */
  teacher: number;
  /** Weight β of the feature loss (default 1). */
  weight?: number;
}

/** Options of {@link distill}. */
export interface DistillOptions extends DistillLossOptions {
  epochs?: number;
  batchSize?: number;
  /** Learning rate of the default Adam optimizer (default 1e-3). */
  lr?: number;
  /** Builds the optimizer over the trainable module (student + adapter, names `student.*`, `adapter.*`). */
  optimizer?: (params: Module) => Optimizer;
  /** Seed or generator for shuffling and the adapter's initial weights (default 0). */
  seed?: number | Rng;
  /** Feature-based hint (student and teacher must be Sequential). */
  features?: FeatureHint;
  /** Evaluated after each epoch (student accuracy). */
  validation?: Dataset;
  /** Called after every batch. */
  onProgress?: (p: { epoch: number; epochs: number; batch: number; batches: number; loss: number }) => void;
}

/** Result of {@link distill}. */
export interface DistillResult {
  /** Mean training loss per epoch and validation accuracy per epoch (if validation was given). */
  history: { loss: number[]; valAccuracy: number[] };
  /** The learned feature adapter (the caller owns it), or null. */
  adapter: Module | null;
}

/** The trainable pair: student and optional adapter, with names `student.*` and `adapter.*`. */
class DistillTarget extends Module {
  constructor(
    readonly student: Module,
    readonly adapter: Module | null,
  ) {
    super();
    this.addChild('student', student);
    if (adapter) this.addChild('adapter', adapter);
  }
  toString(): string {
    return `DistillTarget(${this.student.toString()})`;
  }
  protected call(x: Tensor, get: (n: string) => Tensor, training: boolean): Tensor {
    return this.runChild('student', this.student, x, get, training);
  }
  clone(): DistillTarget {
    return new DistillTarget(this.student.clone(), this.adapter ? this.adapter.clone() : null);
  }
}

/** Output and the output of child `at` of a Sequential (run with the layers' own parameters). */
function forwardWithFeature(model: Sequential, x: Tensor, at: number): { out: Tensor; feature: Tensor } {
  let h = x;
  let feature: Tensor | undefined;
  model.layers.forEach((layer, i) => {
    h = layer.forward(h);
    if (i === at) feature = h;
  });
  return { out: h, feature: feature as Tensor };
}

function checkHint(fn: string, model: Module, which: 'student' | 'teacher', index: unknown): number {
  if (!(model instanceof Sequential)) throw new TypeError(`${fn}: feature distillation needs the ${which} to be a Sequential, got ${describe(model)}`);
  return checkNumber(fn, `features.${which}`, index, { min: 0, max: model.layers.length - 1, integer: true });
}

/**
 * Trains `student` to imitate `teacher` on labelled data with {@link distillationLoss}
 * (plus β · {@link featureDistillationLoss} through a learned adapter if `features` is given),
 * using @x/tensor's `trainStep`. The teacher runs in evaluation mode and is not changed.
 * @param student the model to train (updated in place).
 * @param teacher the trained model to imitate.
 * @param data `x` [n, d] row-major, `y` n integer labels.
 * @param opts epochs (1), batchSize (128), lr (1e-3), optimizer factory, temperature (4), alpha (0.5), seed, features, validation, onProgress.
 * @returns the history and the adapter (or null).
 * @throws ValueError/ShapeError/TypeError for bad options or data.
 * @example
 * const student = mlp([784, 64, 10], { seed: 1 });
 * const { history } = await distill(student, teacher, { x, y }, { epochs: 5, temperature: 4, alpha: 0.7 });
 */
export async function distill(student: Module, teacher: Module, data: Dataset, opts: DistillOptions = {}): Promise<DistillResult> {
  const fn = 'distill';
  if (!(student instanceof Module)) throw new TypeError(`${fn}: argument 'student' must be a Module, got ${describe(student)}`);
  if (!(teacher instanceof Module)) throw new TypeError(`${fn}: argument 'teacher' must be a Module, got ${describe(teacher)}`);
  if (data === null || typeof data !== 'object' || !(data.x instanceof Float32Array)) {
    throw new TypeError(`${fn}: argument 'data' must be { x: Float32Array, y }, got ${describe(data)}`);
  }
  const y = data.y;
  const n = y?.length ?? 0;
  if (n === 0 || data.x.length % n !== 0) {
    throw new ShapeError(`${fn}: argument 'data.x' must hold one row per label (${n} labels), got ${data.x.length} values`, { expected: `[${n}, d]`, received: [data.x.length] });
  }
  const d = data.x.length / n;
  const epochs = checkNumber(fn, 'epochs', opts.epochs ?? 1, { min: 1, integer: true });
  const batchSize = checkNumber(fn, 'batchSize', opts.batchSize ?? 128, { min: 1, integer: true });
  const lr = checkNumber(fn, 'lr', opts.lr ?? 1e-3, { min: 0, minExclusive: true });
  const lossOpts = { temperature: checkTemperature(fn, opts.temperature ?? 4), alpha: checkNumber(fn, 'alpha', opts.alpha ?? 0.5, { min: 0, max: 1 }) };
  const hint = opts.features;
  let beta = 0;
  if (hint) {
    checkHint(fn, student, 'student', hint.student);
    checkHint(fn, teacher, 'teacher', hint.teacher);
    beta = checkNumber(fn, 'features.weight', hint.weight ?? 1, { min: 0 });
  }
  await ready();
  const rng = toSeed(opts.seed, 0);

  const teacherWas = teacher.training;
  const studentWas = student.training;
  teacher.eval();
  let adapter: Module | null = null;
  if (hint) {
    // Feature shapes from one sample, in evaluation mode (no batch statistics touched).
    student.eval();
    const [ss, ts] = tf.tidy(() => {
      const x1 = tf.tensor2d(data.x.subarray(0, d), [1, d]);
      return [
        forwardWithFeature(student as Sequential, x1, hint.student).feature.shape.slice(1),
        forwardWithFeature(teacher as Sequential, x1, hint.teacher).feature.shape.slice(1),
      ] as [number[], number[]];
    });
    adapter = makeAdapter(ss, ts, rng.fork());
  }
  const target = new DistillTarget(student, adapter);
  const optimizer = opts.optimizer ? opts.optimizer(target) : new Adam(target, { lr });
  const labels = y instanceof Int32Array ? y : Int32Array.from(y as ArrayLike<number>);
  const history = { loss: [] as number[], valAccuracy: [] as number[] };
  const batches = Math.ceil(n / batchSize);
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      target.train(true);
      const order = rng.permutation(n);
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        const from = b * batchSize;
        const to = Math.min(n, from + batchSize);
        const xb = gatherRows(data.x, d, order, from, to);
        const yb = tf.tensor1d(Int32Array.from({ length: to - from }, (_, i) => labels[order[from + i]]), 'int32');
        const teacherOut = tf.tidy(() => {
          if (!hint) return { out: teacher.forward(xb) };
          return forwardWithFeature(teacher as Sequential, xb, hint.teacher);
        }) as { out: Tensor; feature?: Tensor };
        const tOut = teacherOut.out;
        const tFeat = teacherOut.feature ?? null;
        let loss: number;
        try {
          loss = trainStep(target, optimizer, () => {
            if (!hint) return distillationLoss(student.forward(xb), tOut, yb, lossOpts);
            const r = forwardWithFeature(student as Sequential, xb, hint.student);
            const kd = distillationLoss(r.out, tOut, yb, lossOpts);
            return tf.add(kd, tf.mul(featureDistillationLoss(r.feature, tFeat as Tensor, adapter), beta));
          });
        } finally {
          tf.dispose([xb, yb, tOut]);
          if (tFeat) tFeat.dispose();
        }
        sum += loss * (to - from);
        opts.onProgress?.({ epoch, epochs, batch: b, batches, loss });
      }
      history.loss.push(sum / n);
      if (opts.validation) history.valAccuracy.push(evaluate(student, opts.validation).accuracy);
    }
  } finally {
    teacher.train(teacherWas);
    student.train(studentWas);
    if (!opts.optimizer) optimizer.dispose();
  }
  return { history, adapter };
}

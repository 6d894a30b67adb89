import { tf, ready, Linear, ReLU, Sequential, Rng, mlp, evaluate, fit, ShapeError, ValueError } from '@x/tensor';
import { loadFixture, expectClose } from '@x/test-utils';
import { loadMnistSplit } from '@x/datasets';
import { distill, distillationLoss, featureDistillationLoss, makeAdapter } from './distill.js';

beforeAll(async () => {
  await ready();
});

const kd = loadFixture('kd.json');
const s = kd.inputs.student_logits as number[][];
const t = kd.inputs.teacher_logits as number[][];
const labels = kd.inputs.labels as number[];

function lossAndGrad(T: number, alpha: number): { loss: number; grad: Float32Array } {
  const st = tf.tensor2d(s);
  const tt = tf.tensor2d(t);
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => distillationLoss(x, tt, labels, { temperature: T, alpha }) as tf.Scalar)(st);
  const out = { loss: value.dataSync()[0], grad: grad.dataSync() as Float32Array };
  tf.dispose([st, tt, value, grad]);
  return out;
}

describe('distillationLoss against kd.json (torch float64)', () => {
  // float32 arithmetic on logits of size ~10 and a loss of ~6: relative error ~1e-6; 2e-5 absolute leaves margin.
  it('T=4, α=0.5, batchmean KL: loss and gradient w.r.t. the student logits', () => {
    const ref = kd['main_T4_alpha0.5_batchmean'];
    const { loss, grad } = lossAndGrad(4, 0.5);
    expect(Math.abs(loss - ref.loss)).toBeLessThan(2e-5);
    expectClose(grad, ref.grad_wrt_student_logits, 1e-6);
    // Not the common reduction bug (KL averaged over elements, 10x smaller here).
    expect(Math.abs(loss - kd['variant_reduction_mean_(bug_check)'].loss)).toBeGreaterThan(1);
  });

  it('T=1, α=0.5', () => {
    const ref = kd['variant_T1_alpha0.5'];
    const { loss, grad } = lossAndGrad(1, 0.5);
    expect(Math.abs(loss - ref.loss)).toBeLessThan(2e-5);
    expectClose(grad, ref.grad_wrt_student_logits, 1e-6);
  });

  it('α=1 is T²·KL alone and α=0 is the cross-entropy alone', () => {
    const ref = kd['main_T4_alpha0.5_batchmean'];
    expect(Math.abs(lossAndGrad(4, 1).loss - ref.kl_times_T2)).toBeLessThan(2e-5);
    expect(Math.abs(lossAndGrad(4, 0).loss - ref.ce)).toBeLessThan(2e-5);
  });
});

describe('distillationLoss stability and errors', () => {
  it('stays finite (value and gradient) for T in [0.05, 20] and logits up to 1e4', () => {
    const rng = new Rng(1);
    const big = (k: number) => Float32Array.from(rng.normalArray(4 * 10), (v) => Math.sign(v) * 1e4 * Math.min(1, Math.abs(v)) * k);
    const st = tf.tensor2d(big(1), [4, 10]);
    const tt = tf.tensor2d(big(-1), [4, 10]);
    for (const T of [0.05, 0.1, 1, 4, 20]) {
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => distillationLoss(x, tt, [0, 1, 2, 3], { temperature: T, alpha: 0.7 }) as tf.Scalar)(st);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      expect(Array.from(grad.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([value, grad]);
    }
    tf.dispose([st, tt]);
  });

  it('is α·T²·KL + (1−α)·CE ≥ (1−α)·CE and gives zero KL when student equals teacher', () => {
    const st = tf.tensor2d(s);
    const v = distillationLoss(st, st, labels, { temperature: 3, alpha: 0.4 });
    const ce = kd['main_T4_alpha0.5_batchmean'].ce;
    expect(Math.abs(v.dataSync()[0] - 0.6 * ce)).toBeLessThan(2e-5);
    tf.dispose([st, v]);
  });

  it('throws a named error for a temperature outside [0.05, 20], α outside [0, 1] and mismatched shapes', () => {
    const st = tf.tensor2d(s);
    expect(() => distillationLoss(st, st, labels, { temperature: 0.01 })).toThrow(ValueError);
    expect(() => distillationLoss(st, st, labels, { temperature: 25 })).toThrow(/option 'temperature' must be a number in \[0.05, 20\], got 25/);
    expect(() => distillationLoss(st, st, labels, { alpha: 1.5 })).toThrow(/'alpha'/);
    const other = tf.zeros([8, 5]);
    expect(() => distillationLoss(st, other, labels)).toThrow(ShapeError);
    tf.dispose([st, other]);
  });
});

describe('feature-based distillation', () => {
  it('makes a Linear adapter for flat features of different widths, a 1x1 Conv2d for NHWC maps, none for equal shapes', () => {
    const a = makeAdapter([16], [32]);
    expect(a).toBeInstanceOf(Linear);
    expect((a as Linear).inFeatures).toBe(16);
    expect((a as Linear).outFeatures).toBe(32);
    const c = makeAdapter([7, 7, 8], [7, 7, 16]);
    expect(c?.toString()).toBe('Conv2d(8→16, 1x1)');
    expect(makeAdapter([5], [5])).toBeNull();
    expect(() => makeAdapter([7, 7, 8], [14, 14, 8])).toThrow(ShapeError);
    a?.dispose();
    c?.dispose();
  });

  it('featureDistillationLoss is the MSE between adapter(student) and teacher (hand check)', () => {
    const adapter = new Linear(2, 3, { bias: false });
    adapter.loadStateDict({ weight: { shape: [2, 3], dtype: 'float32', data: Float32Array.of(1, 0, 2, 0, 1, -1) } });
    const sf = tf.tensor2d([[1, 2]]);
    const tfe = tf.tensor2d([[1, 1, 1]]);
    // adapter(sf) = [1, 2, 0]; diff [0, 1, -1]; mean square 2/3
    const l = featureDistillationLoss(sf, tfe, adapter);
    expect(l.dataSync()[0]).toBeCloseTo(2 / 3, 6);
    expect(() => featureDistillationLoss(sf, tfe)).toThrow(/pass an adapter/);
    tf.dispose([sf, tfe, l]);
    adapter.dispose();
  });
});

describe('distill on real MNIST digits', () => {
  const { train, test } = loadMnistSplit();
  const nTrain = 4000;
  const trainX = train.images.subarray(0, nTrain * 784);
  const trainY = train.labels.subarray(0, nTrain);
  let teacher: Sequential;

  beforeAll(async () => {
    teacher = mlp([784, 128, 10], { seed: 1 });
    await fit(teacher, { x: trainX, y: trainY }, { epochs: 3, batchSize: 64, seed: 1 });
  });
  afterAll(() => teacher.dispose());

  it('trains a small student from the teacher (response-based) to a useful accuracy; same seed, same weights', async () => {
    const run = async () => {
      const student = mlp([784, 32, 10], { seed: 2 });
      const r = await distill(student, teacher, { x: trainX, y: trainY }, { epochs: 3, batchSize: 128, lr: 3e-3, temperature: 4, alpha: 0.7, seed: 3, validation: { x: test.images, y: test.labels } });
      return { student, r };
    };
    const a = await run();
    const b = await run();
    const teacherAcc = evaluate(teacher, { x: test.images, y: test.labels }).accuracy;
    const studentAcc = a.r.history.valAccuracy[2];
    console.log(`distill: teacher 784-128-10 test accuracy ${teacherAcc.toFixed(4)}, student 784-32-10 after 3 epochs ${studentAcc.toFixed(4)}`);
    expect(a.r.history.loss[2]).toBeLessThan(a.r.history.loss[0]);
    // PyTorch's 784-256-128-10 reaches 0.92 on all 8000 digits; a 32-unit student on half of them is above 0.85.
    expect(studentAcc).toBeGreaterThan(0.85);
    expect(Array.from(a.student.stateDict()['0.weight'].data)).toEqual(Array.from(b.student.stateDict()['0.weight'].data));
    expect(a.r.adapter).toBeNull();
    a.student.dispose();
    b.student.dispose();
  });

  it('feature-based: learns a Linear adapter from the student hidden layer (32) to the teacher hidden layer (128) and lowers the feature loss', async () => {
    const student = mlp([784, 32, 10], { seed: 4 });
    const teacherBefore = teacher.stateDict()['0.weight'].data.slice();
    const r = await distill(student, teacher, { x: trainX.subarray(0, 1000 * 784), y: trainY.subarray(0, 1000) }, { epochs: 2, batchSize: 50, features: { student: 1, teacher: 1, weight: 1 }, seed: 5 });
    expect(r.adapter).toBeInstanceOf(Linear);
    expect([...(r.adapter as Linear).namedParameters().get('weight')!.shape]).toEqual([32, 128]);
    expect(r.history.loss[1]).toBeLessThan(r.history.loss[0]);
    // The teacher is never changed.
    expect(Array.from(teacher.stateDict()['0.weight'].data)).toEqual(Array.from(teacherBefore));
    r.adapter?.dispose();
    student.dispose();
  });

  it('rejects a feature hint on a non-Sequential student and an out-of-range layer index', async () => {
    const student = mlp([784, 8, 10], { seed: 1 });
    await expect(distill(new Linear(784, 10) as never, teacher, { x: trainX, y: trainY }, { features: { student: 0, teacher: 1 } })).rejects.toThrow(/needs the student to be a Sequential/);
    await expect(distill(student, teacher, { x: trainX, y: trainY }, { features: { student: 9, teacher: 1 } })).rejects.toThrow(/'features.student'/);
    await expect(distill(student, teacher, { x: trainX, y: trainY }, { temperature: 0 })).rejects.toThrow(ValueError);
    student.dispose();
  });

  it('frees every tensor it creates (repeated distill runs and losses)', async () => {
    const x = trainX.subarray(0, 200 * 784);
    const y = trainY.subarray(0, 200);
    const student = mlp([784, 8, 10], { seed: 1 });
    const small = new Sequential(new Linear(784, 16, { seed: 2 }), new ReLU(), new Linear(16, 10, { seed: 3 }));
    await distill(student, teacher, { x, y }, { epochs: 1, batchSize: 100 }); // warm-up (lazy kernels)
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await distill(student, teacher, { x, y }, { epochs: 1, batchSize: 64 });
      const r = await distill(small, teacher, { x, y }, { epochs: 1, batchSize: 64, features: { student: 1, teacher: 1 } });
      r.adapter?.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    student.dispose();
    small.dispose();
  });
});

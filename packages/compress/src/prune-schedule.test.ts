import { tf, ready, mlp, fit, Adam, ValueError } from '@x/tensor';
import { loadMnistSplit } from '@x/datasets';
import { polynomialSchedule, GradualPruner, getMasks, sparsity, prunableParameters } from './index.js';

beforeAll(async () => {
  await ready();
});

describe('polynomialSchedule (Zhu & Gupta 2017)', () => {
  it('matches s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³ at update steps and holds between them', () => {
    const s = polynomialSchedule({ initialSparsity: 0, finalSparsity: 0.9, beginStep: 0, endStep: 1000, frequency: 100 });
    const formula = (t: number) => 0.9 + (0 - 0.9) * Math.pow(1 - t / 1000, 3);
    for (let t = 0; t <= 1000; t += 100) expect(s(t)).toBeCloseTo(formula(t), 14);
    expect(s(100)).toBeCloseTo(0.9 * (1 - 0.729), 14); // 0.2439
    expect(s(500)).toBeCloseTo(0.7875, 14);
    expect(s(150)).toBe(s(100)); // held until the next update
    expect(s(999)).toBe(s(900));
    expect(s(900)).toBeCloseTo(0.8991, 14);
    expect(s(1000)).toBe(0.9);
    expect(s(123456)).toBe(0.9);
  });

  it('is 0 before beginStep and s_i at beginStep; power is configurable', () => {
    const s = polynomialSchedule({ initialSparsity: 0.2, finalSparsity: 0.8, beginStep: 100, endStep: 300, frequency: 50, power: 1 });
    expect(s(0)).toBe(0);
    expect(s(99)).toBe(0);
    expect(s(100)).toBeCloseTo(0.2, 15);
    expect(s(200)).toBeCloseTo(0.5, 15); // linear: halfway
    expect(s(250)).toBeCloseTo(0.8 - 0.6 * 0.25, 15);
    expect(s(300)).toBe(0.8);
  });

  it('rejects bad options with named errors', () => {
    expect(() => polynomialSchedule({ finalSparsity: 1, endStep: 10 })).toThrow("polynomialSchedule: argument 'finalSparsity' must be in [0, 1), got 1");
    expect(() => polynomialSchedule({ initialSparsity: 0.5, finalSparsity: 0.4, endStep: 10 })).toThrow(ValueError);
    expect(() => polynomialSchedule({ finalSparsity: 0.5, beginStep: 10, endStep: 10 })).toThrow(/'endStep' must be in \[11/);
    expect(() => polynomialSchedule({ finalSparsity: 0.5, endStep: 10, frequency: 3 })).toThrow(/must be a multiple of 'frequency' \(3\)/);
    expect(() => polynomialSchedule({ finalSparsity: 0.5, endStep: 10, power: 0 })).toThrow(ValueError);
    const s = polynomialSchedule({ finalSparsity: 0.5, endStep: 10 });
    expect(() => s(-1)).toThrow(ValueError);
    expect(() => s(1.5)).toThrow(ValueError);
  });
});

describe('GradualPruner during fit on real MNIST digits', () => {
  it('follows the schedule with exact counts, never un-prunes, and keeps tensors flat', async () => {
    const { train } = loadMnistSplit();
    const n = 640; // 10 steps of 64 per epoch
    const data = { x: train.images.subarray(0, n * 784), y: train.labels.subarray(0, n) };
    const model = mlp([784, 64, 10], { seed: 5 });
    const names = prunableParameters(model);
    const total = 784 * 64 + 64 * 10;
    const schedule = polynomialSchedule({ finalSparsity: 0.8, beginStep: 0, endStep: 40, frequency: 10 });
    const pruner = new GradualPruner(model, { schedule, scope: 'global' });
    const opt = new Adam(model, { lr: 1e-3 });
    let prevMask: Float32Array | undefined;
    let n0 = 0;
    for (let epoch = 0; epoch < 6; epoch++) {
      await fit(model, data, { optimizer: opt, batchSize: 64, seed: epoch, ...pruner.hooks(opt) });
      // Masks only grow.
      const m = Float32Array.from(getMasks(model).get('0.weight')?.dataSync() ?? []);
      if (prevMask) for (let i = 0; i < m.length; i++) if (prevMask[i] === 0 && m[i] !== 0) throw new Error(`un-pruned ${i}`);
      prevMask = m;
      if (epoch === 1) n0 = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(n0);
    expect(pruner.step).toBe(60);
    // Step 0 (target 0: all-ones masks are set) and the updates at 10, 20, 30, 40.
    expect(pruner.history.map((e) => e.step)).toEqual([0, 10, 20, 30, 40]);
    for (const e of pruner.history) {
      expect(e.target).toBeCloseTo(0.8 - 0.8 * Math.pow(1 - e.step / 40, 3), 14);
      // Exactly round(target · n) weights masked, measured on the effective weights.
      expect(e.sparsity).toBe(Math.round(e.target * total) / total);
    }
    expect(sparsity(model, { params: names }).zeros).toBe(Math.round(0.8 * total));
    opt.dispose();
    model.dispose();
  });

  it('rejects a missing schedule or bad scope', () => {
    const model = mlp([4, 2], { seed: 0 });
    expect(() => new GradualPruner(model, {} as never)).toThrow(TypeError);
    expect(() => new GradualPruner(model, { schedule: () => 0.5, scope: 'x' as 'global' })).toThrow(ValueError);
    model.dispose();
  });
});

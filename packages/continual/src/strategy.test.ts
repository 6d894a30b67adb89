import { tf, ready, mlp, ValueError } from '@x/tensor';
import { loadMnistSplit } from '@x/datasets';
import {
  classSplitScenario,
  permutedScenario,
  ContinualStrategy,
  EwcPlugin,
  ReplayPlugin,
  PackNetPlugin,
  SynapticIntelligencePlugin,
  UntrainedTaskError,
  accuracyOf,
  randomInitBaseline,
} from './index.js';
import type { ContinualPlugin, Scenario } from './index.js';

/** A small slice of the real digits: the first `nTrain` / `nTest` rows of the fixed split. */
function digits(nTrain: number, nTest: number) {
  const { train, test } = loadMnistSplit();
  return {
    train: { x: train.images.slice(0, nTrain * 784), y: train.labels.slice(0, nTrain) },
    test: { x: test.images.slice(0, nTest * 784), y: test.labels.slice(0, nTest) },
  };
}

let small: ReturnType<typeof digits>;
beforeAll(async () => {
  await ready();
  small = digits(2000, 600);
});

function firstTasks(s: Scenario, k: number): Scenario {
  return { ...s, experiences: s.experiences.slice(0, k) };
}

describe('scenarios', () => {
  it('class-split makes 5 tasks of 2 digits with only their rows', () => {
    const s = classSplitScenario(small.train, small.test, { mode: 'class-incremental' });
    expect(s.experiences.map((e) => e.classes)).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);
    expect(s.numClasses).toBe(10);
    let total = 0;
    for (const e of s.experiences) {
      expect([...new Set(e.train.y)].sort()).toEqual(e.classes);
      expect(e.train.task.every((t) => t === e.id)).toBe(true);
      total += e.train.n;
    }
    expect(total).toBe(2000);
  });

  it('permuted tasks are seeded pixel permutations of the same rows', () => {
    const a = permutedScenario(small.train, small.test, { tasks: 3, seed: 5 });
    const b = permutedScenario(small.train, small.test, { tasks: 3, seed: 5 });
    const same = (p: Float32Array, q: Float32Array) => p.length === q.length && p.every((v, i) => v === q[i]);
    expect(same(a.experiences[0].train.x, small.train.x)).toBe(true);
    expect(same(a.experiences[2].train.x, b.experiences[2].train.x)).toBe(true);
    expect(same(a.experiences[1].train.x, a.experiences[2].train.x)).toBe(false);
    // a permutation: same multiset of pixel values in every row
    const row = (x: Float32Array) => Array.from(x.subarray(0, 784)).sort((p, q) => p - q);
    expect(row(a.experiences[1].train.x)).toEqual(row(small.train.x));
  });

  it('rejects overlapping tasks and bad options with ValueError', () => {
    expect(() => classSplitScenario(small.train, small.test, { mode: 'task-incremental', tasks: [[0, 1], [1, 2]] })).toThrow(/class 1/);
    expect(() => classSplitScenario(small.train, small.test, { mode: 'x' as never })).toThrow(ValueError);
    expect(() => permutedScenario(small.train, small.test, { tasks: 0, seed: 0 })).toThrow(ValueError);
  });
});

describe('ContinualStrategy', () => {
  it('calls the hooks in Avalanche order and combines plugins', async () => {
    const s = firstTasks(classSplitScenario(small.train, small.test, { mode: 'class-incremental' }), 2);
    const log: string[] = [];
    const spy: ContinualPlugin = {
      name: 'spy',
      beforeTrainingExp: (c) => void log.push(`bte${c.experience.id}`),
      beforeTrainingEpoch: () => void log.push('bep'),
      adaptBatch: (_c, b) => (log.push(`batch${b.n}`), b),
      penalty: () => (log.push('pen'), undefined),
      afterBackward: () => void log.push('ab'),
      afterUpdate: () => void log.push('au'),
      afterTrainingEpoch: () => void log.push('aep'),
      afterTrainingExp: (c) => void log.push(`ate${c.experience.id}`),
      beforeEvalExp: (c) => void log.push(`bev${c.experience.id}`),
      afterEvalExp: () => void log.push('aev'),
    };
    const model = mlp([784, 16, 10], { seed: 1 });
    const ewc = new EwcPlugin({ lambda: 10 });
    // Replay runs before the spy, so the spy sees the enlarged batch in task 1.
    const strategy = new ContinualStrategy({ model, kind: s.kind, batchSize: 1000, plugins: [new ReplayPlugin({ memorySize: 20, batchSize: 7 }), ewc, spy] });
    await strategy.run(s);
    const n0 = s.experiences[0].train.n;
    const n1 = s.experiences[1].train.n;
    expect(log.slice(0, 8)).toEqual(['bte0', 'bep', `batch${Math.min(1000, n0)}`, 'pen', 'ab', 'au', ...(n0 > 1000 ? ['batch' + (n0 - 1000)] : ['aep', 'ate0'])].slice(0, 8));
    expect(log).toContain(`batch${Math.min(1000, n1) + 7}`);
    expect(log.filter((e) => e.startsWith('bev'))).toEqual(['bev0', 'bev1', 'bev0', 'bev1']);
    expect(ewc.anchors().length).toBe(2);
    strategy.dispose();
    model.dispose();
  });

  it('throws UntrainedTaskError when evaluating a task that was never trained', async () => {
    const s = classSplitScenario(small.train, small.test, { mode: 'task-incremental' });
    const model = mlp([784, 8, 10], { seed: 0 });
    const strategy = new ContinualStrategy({ model, kind: s.kind });
    expect(() => strategy.evaluate(s.experiences[0])).toThrow(UntrainedTaskError);
    await strategy.train(s.experiences[0]);
    // one epoch of a tiny MLP on 2 digits: well above the 0.5 of chance
    expect(strategy.evaluate(s.experiences[0])).toBeGreaterThan(0.7);
    expect(() => strategy.evaluate(s.experiences[3])).toThrow(/trained task \(trained: 0\), got task 3/);
    expect(() => strategy.evaluate(s.experiences[3], { allowUntrained: true })).not.toThrow();
    model.dispose();
  });

  it('task-incremental output masking: a random model scores about chance within a 2-class task', () => {
    const s = classSplitScenario(small.train, small.test, { mode: 'task-incremental' });
    const base = randomInitBaseline(mlp([784, 32, 10], { seed: 3 }), s);
    // The prediction is always one of the task's 2 classes, so accuracy is far above 1/10.
    for (const b of base) expect(b).toBeGreaterThan(0.15);
  });

  it('EWC keeps more of task 0 than naive fine-tuning on permuted digits', async () => {
    const s = permutedScenario(small.train, small.test, { tasks: 2, seed: 0 });
    const runOne = async (plugins: ContinualPlugin[]) => {
      const model = mlp([784, 64, 10], { seed: 0 });
      const st = new ContinualStrategy({ model, kind: s.kind, epochs: 2, seed: 0, plugins });
      const r = await st.run(s);
      st.dispose();
      model.dispose();
      return r.matrix[1][0];
    };
    const naive = await runOne([]);
    const ewc = await runOne([new EwcPlugin({ lambda: 1000 })]);
    expect(ewc as number).toBeGreaterThan((naive as number) + 0.03);
  });
});

describe('PackNetPlugin', () => {
  it('leaves task 1 accuracy (and its logits) exactly unchanged after training task 2; BWT is exactly 0', async () => {
    const s = firstTasks(classSplitScenario(small.train, small.test, { mode: 'task-incremental' }), 3);
    const model = mlp([784, 32, 10], { seed: 0 });
    const packnet = new PackNetPlugin({ totalTasks: 3, retrainEpochs: 1 });
    const strategy = new ContinualStrategy({ model, kind: s.kind, epochs: 1, plugins: [packnet] });
    await strategy.train(s.experiences[0]);
    const acc0 = strategy.evaluate(s.experiences[0]);
    const logits = () => {
      const masks = packnet.taskMasks(0);
      // same masks as beforeEvalExp; read the raw logits of task 0's first rows
      const [w0, w2] = ['0.weight', '2.weight'].map((k) => tf.mul(model.namedParameters().get(k) as tf.Tensor, masks.get(k) as tf.Tensor));
      const x = tf.tensor2d(s.experiences[0].test.x.subarray(0, 50 * 784), [50, 784]);
      const out = tf.tidy(() => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w0), model.namedParameters().get('0.bias') as tf.Tensor)), w2), model.namedParameters().get('2.bias') as tf.Tensor));
      const v = Array.from(out.dataSync());
      [w0, w2, x, out, ...masks.values()].forEach((t) => t.dispose());
      return v;
    };
    const before = logits();
    expect(acc0).toBeGreaterThan(0.95);
    await strategy.train(s.experiences[1]);
    expect(strategy.evaluate(s.experiences[0])).toBe(acc0);
    expect(logits()).toEqual(before);
    const acc1 = strategy.evaluate(s.experiences[1]);
    await strategy.train(s.experiences[2]);
    expect(strategy.evaluate(s.experiences[0])).toBe(acc0);
    expect(strategy.evaluate(s.experiences[1])).toBe(acc1);
    // each task owns a third of every layer's weights (exact counts from magnitudePrune's rounding)
    const own = packnet.ownership()['0.weight'];
    expect(own['task 0'] + own['task 1'] + own['task 2'] + own.free).toBe(784 * 32);
    expect(own.free).toBe(0);
    expect(own['task 0']).toBe(Math.round((784 * 32) / 3));
    expect(() => packnet.taskMasks(4)).toThrow(UntrainedTaskError);
    strategy.dispose();
    model.dispose();
  });

  it('rejects ambiguous options', () => {
    expect(() => new PackNetPlugin({})).toThrow(ValueError);
    expect(() => new PackNetPlugin({ totalTasks: 2, pruneAmount: 0.5 })).toThrow(/exactly one/);
    expect(() => new PackNetPlugin({ pruneAmount: 1 })).toThrow(ValueError);
  });
});

describe('tensor lifetime', () => {
  it('keeps tf.memory().numTensors flat over repeated runs of every plugin', async () => {
    const s = firstTasks(classSplitScenario(digits(400, 100).train, digits(400, 100).test, { mode: 'task-incremental' }), 2);
    const model = mlp([784, 8, 10], { seed: 0 });
    const once = async () => {
      const st = new ContinualStrategy({
        model,
        kind: s.kind,
        plugins: [new SynapticIntelligencePlugin({ c: 0.1 }), new EwcPlugin({ lambda: 1, mode: 'online', decay: 0.5 }), new ReplayPlugin({ memorySize: 30, policy: 'reservoir' }), new PackNetPlugin({ totalTasks: 2 })],
      });
      await st.run(s);
      accuracyOf(st, s.experiences[0].test);
      st.dispose();
    };
    await once();
    const n0 = tf.memory().numTensors;
    await once();
    await once();
    expect(tf.memory().numTensors).toBe(n0);
    model.dispose();
  });
});

import { tf, ready, mlp, fit, evaluate, Adam, ValueError } from '@x/tensor';
import type { Module, StateDict } from '@x/tensor';
import { loadMnistSplit } from '@x/datasets';
import { lotteryTicket, getMasks, prunableParameters } from './index.js';
import type { LotteryRoundContext } from './index.js';

beforeAll(async () => {
  await ready();
});

const { train, test } = loadMnistSplit();
const N = 640; // 10 steps of 64 per round
const data = { x: train.images.subarray(0, N * 784), y: train.labels.subarray(0, N) };
const held = { x: test.images.subarray(0, 500 * 784), y: test.labels.subarray(0, 500) };

/** Python-style round half to even, the rule magnitudePrune states. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

interface Snapshot {
  state: StateDict;
  masks: Map<string, Float32Array>;
}

function snapshot(model: Module): Snapshot {
  return { state: model.stateDict(), masks: new Map([...getMasks(model)].map(([k, m]) => [k, Float32Array.from(m.dataSync())])) };
}

/** Trains one round with Adam and records the weights the round started from. */
function trainer(starts: Snapshot[], afterSteps?: (step: number, model: Module) => void) {
  return async (model: Module, ctx: LotteryRoundContext) => {
    starts.push(snapshot(model));
    const opt = new Adam(model, { lr: 2e-3 });
    const hooks = ctx.hooks(opt);
    let step = 0;
    await fit(model, data, {
      optimizer: opt,
      batchSize: 64,
      seed: ctx.round,
      beforeStep: hooks.beforeStep,
      afterStep: () => {
        hooks.afterStep();
        afterSteps?.(++step, model);
      },
    });
    opt.dispose();
    return evaluate(model, held).accuracy;
  };
}

describe('lotteryTicket on real MNIST digits', () => {
  it('rewinds to the initial weights: every round starts from them exactly, masked at the pruned positions', async () => {
    const model = mlp([784, 32, 10], { seed: 11 });
    const init = model.stateDict();
    const starts: Snapshot[] = [];
    const n0 = tf.memory().numTensors;
    const result = await lotteryTicket(model, { rounds: 3, rate: 0.2, scope: 'global', train: trainer(starts) });
    // Two weight masks added to the model's tensors, nothing else left behind.
    expect(tf.memory().numTensors - n0).toBe(2);

    expect(starts.length).toBe(4); // dense round + 3 pruned rounds (finalTrain)
    for (const s of starts) expect(s.state).toEqual(init); // bit-for-bit: parameters and buffers
    // Exact cumulative counts: each round masks round(0.2 · remaining) more weights.
    const n = 784 * 32 + 32 * 10;
    let masked = 0;
    const expected = [0];
    for (let r = 0; r < 3; r++) {
      masked += roundHalfEven(0.2 * (n - masked));
      expected.push(masked);
    }
    expect(result.rounds.map((r) => r.zeros)).toEqual(expected);
    expect(result.rounds.map((r) => r.sparsity)).toEqual(expected.map((z) => z / n));
    expect(result.finalSparsity).toBe(expected[3] / n);
    // Ten Adam steps per round: well above chance (0.1), the metric is recorded per round.
    for (const r of result.rounds) expect(r.metric).toBeGreaterThan(0.3);
    console.log(`lottery (init rewind): ${result.rounds.map((r) => `sparsity ${r.sparsity.toFixed(3)} acc ${r.metric?.toFixed(3)}`).join('; ')}`);

    // Masks only grow, and the final masks are the ones returned.
    for (let r = 2; r < starts.length; r++) {
      for (const [name, m] of starts[r].masks) {
        const prev = starts[r - 1].masks.get(name) as Float32Array;
        for (let i = 0; i < m.length; i++) if (prev[i] === 0 && m[i] !== 0) throw new Error(`${name}[${i}] un-pruned in round ${r}`);
      }
    }
    expect([...result.masks.keys()]).toEqual(prunableParameters(model));
    expect(result.rewindState).toEqual(init);
    model.dispose();
  });

  it('rewinds to the weights after iteration k of round 0', async () => {
    const model = mlp([784, 32, 10], { seed: 12 });
    const init = model.stateDict();
    const starts: Snapshot[] = [];
    let atK: StateDict | undefined;
    const k = 4;
    const result = await lotteryTicket(model, {
      rounds: 2,
      rate: 0.5,
      scope: 'layer',
      rewind: { iteration: k },
      finalTrain: false,
      train: trainer(starts, (step, m) => {
        if (starts.length === 1 && step === k) atK = m.stateDict();
      }),
    });
    expect(atK).toBeDefined();
    expect(atK).not.toEqual(init);
    expect(result.rewindState).toEqual(atK);
    expect(starts.length).toBe(2);
    expect(starts[1].state).toEqual(atK);
    // Without a final training round the model is the rewound ticket: effective weights equal
    // the iteration-k weights at every unpruned position and 0 elsewhere.
    const w = model.namedParameters().get('0.weight') as tf.Variable;
    const eff = tf.tidy(() => (model.getParametrization('0.weight') as (t: tf.Tensor) => tf.Tensor)(w).dataSync());
    const m = getMasks(model).get('0.weight')?.dataSync() as Float32Array;
    const saved = (atK as StateDict)['0.weight'].data;
    let kept = 0;
    for (let i = 0; i < eff.length; i++) {
      if (m[i] === 1) {
        kept++;
        if (eff[i] !== saved[i]) throw new Error(`weight ${i}: ${eff[i]} ≠ saved ${saved[i]}`);
      } else if (!Object.is(eff[i], 0)) throw new Error(`pruned weight ${i} is ${eff[i]}`);
    }
    // Layer-wise: 50 % then 50 % of the rest of 0.weight's 25088 weights.
    expect(kept).toBe(25088 - 12544 - 6272);
    expect(result.rounds.map((r) => r.round)).toEqual([0, 1]);
    model.dispose();
  });

  it('throws named errors for bad options and an unreachable rewind iteration', async () => {
    const model = mlp([784, 8, 10], { seed: 0 });
    const noop = () => undefined;
    await expect(lotteryTicket(model, { rounds: 0, rate: 0.2, train: noop })).rejects.toThrow("lotteryTicket: argument 'rounds' must be in [1, ∞), got 0");
    await expect(lotteryTicket(model, { rounds: 1, rate: 1, train: noop })).rejects.toThrow("lotteryTicket: argument 'rate' must be in (0, 1), got 1");
    await expect(lotteryTicket(model, { rounds: 1, rate: 0.2, train: 5 as never })).rejects.toThrow(TypeError);
    await expect(lotteryTicket(model, { rounds: 1, rate: 0.2, rewind: 'late' as never, train: noop })).rejects.toThrow(ValueError);
    await expect(
      lotteryTicket(model, { rounds: 1, rate: 0.2, rewind: { iteration: 1000 }, train: trainer([]) }),
    ).rejects.toThrow("lotteryTicket: option 'rewind.iteration' is 1000, but round 0 took only 10 optimizer steps through ctx.hooks");
    model.dispose();
  });
});

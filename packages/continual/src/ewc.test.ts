import fs from 'node:fs';
import path from 'node:path';
import { tf, ready, Sequential, Linear, Tanh, ValueError } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { empiricalFisher, ewcPenalty, EwcPlugin, supportsVectorizedFisher } from './index.js';

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../fixtures/ewc.json'), 'utf8'));
const NAMES = ['0.weight', '0.bias', '2.weight', '2.bias'];

/** The fixture's torch model in @x/tensor layout (Linear weights are [in, out], torch's [out, in]). */
function fixtureModel(): Sequential {
  const model = new Sequential(new Linear(4, 8), new Tanh(), new Linear(8, 3));
  const state: Record<string, { shape: number[]; dtype: 'float32'; data: Float32Array }> = {};
  for (const n of NAMES) state[n] = toOurs(n, fixture.params[n]);
  model.loadStateDict(state);
  return model;
}

function toOurs(name: string, v: number[] | number[][]): { shape: number[]; dtype: 'float32'; data: Float32Array } {
  if (!name.endsWith('weight')) return { shape: [(v as number[]).length], dtype: 'float32', data: Float32Array.from(v as number[]) };
  const w = v as number[][];
  const out = w[0].length;
  const inp = w.length;
  // torch [out, in] -> ours [in, out]
  const data = new Float32Array(inp * out);
  for (let o = 0; o < inp; o++) for (let i = 0; i < out; i++) data[i * inp + o] = w[o][i];
  return { shape: [out, inp], dtype: 'float32', data };
}

const X = Float32Array.from((fixture.batch.X as number[][]).flat());
const Y = Int32Array.from(fixture.batch.y as number[]);

beforeAll(async () => {
  await ready();
});

describe('empiricalFisher', () => {
  // float32 forward/backward against torch float64: entries are O(0.01–1), 2e-6 absolute +
  // 1e-4 relative covers float32 rounding through two layers.
  const tol = { atol: 2e-6, rtol: 1e-4 };

  for (const method of ['vectorized', 'loop'] as const) {
    it(`matches fixtures/ewc.json empirical_fisher_diag (${method}, chunks of 3)`, () => {
      const model = fixtureModel();
      expect(supportsVectorizedFisher(model)).toBe(true);
      const F = empiricalFisher(model, X, Y, { method, batchSize: 3 });
      let sum = 0;
      for (const n of NAMES) {
        const expected = toOurs(n, fixture.empirical_fisher_diag[n]).data;
        const got = F.get(n)?.dataSync() as Float32Array;
        expectClose(got, expected, tol);
        sum += got.reduce((s, v) => s + v, 0);
      }
      expectClose(sum, fixture.sums.empirical_fisher, { rtol: 1e-5 });
      // and it is NOT the squared batch gradient (the shortcut is 15x smaller here).
      expect(sum / fixture.sums.squared_batch_gradient).toBeGreaterThan(10);
      F.forEach((t) => t.dispose());
      model.dispose();
    });
  }

  it('gives the EWC penalty of the fixture at θ* + 0.1·δ with λ = 1', () => {
    const model = fixtureModel();
    const fisher = empiricalFisher(model, X, Y);
    const theta = new Map([...model.namedParameters()].map(([k, v]) => [k, tf.clone(v) as tf.Tensor]));
    // δ is laid out in torch's named_parameters order, row-major in torch's [out, in] layout.
    const delta: number[] = fixture.delta;
    const moved = new Map<string, tf.Tensor>();
    let off = 0;
    for (const n of NAMES) {
      const shapeTorch = Array.isArray(fixture.params[n][0]) ? [fixture.params[n].length, fixture.params[n][0].length] : [fixture.params[n].length];
      const size = shapeTorch.reduce((a: number, b: number) => a * b, 1);
      const chunk = delta.slice(off, off + size);
      off += size;
      const d = shapeTorch.length === 2 ? toOurs(n, Array.from({ length: shapeTorch[0] }, (_, r) => chunk.slice(r * shapeTorch[1], (r + 1) * shapeTorch[1]))).data : Float32Array.from(chunk);
      moved.set(n, tf.tidy(() => tf.add(theta.get(n) as tf.Tensor, tf.mul(tf.tensor(d, (theta.get(n) as tf.Tensor).shape), 0.1))));
    }
    expect(off).toBe(delta.length);
    const pen = ewcPenalty(moved, [{ fisher, theta }], 1);
    // float32 Fisher and differences: relative 1e-5.
    expectClose(pen.dataSync()[0], fixture['ewc_penalty_lambda1_empirical_fisher_theta_plus_0.1delta'], { rtol: 1e-5 });
    const pen3 = ewcPenalty(moved, [{ fisher, theta }, { fisher, theta }], 2);
    expectClose(pen3.dataSync()[0], 4 * fixture['ewc_penalty_lambda1_empirical_fisher_theta_plus_0.1delta'], { rtol: 1e-5 });
    [pen, pen3, ...fisher.values(), ...theta.values(), ...moved.values()].forEach((t) => t.dispose());
    model.dispose();
  });

  it('trains with the gradient of λ/2 Σ_k F_k (θ − θ*_k)² over every anchor (separate), merged into one quadratic', () => {
    const model = fixtureModel();
    const plugin = new EwcPlugin({ lambda: 3 });
    const data = { x: X, y: Y, task: new Int32Array(Y.length), n: Y.length, d: 4 };
    const ctx = { model, strategy: { logitMask: () => undefined }, experience: { id: 0, classes: [0, 1, 2], train: data, test: data }, epoch: 0, iteration: 0 } as never;
    plugin.beforeTrainingExp(ctx);
    plugin.afterTrainingExp(ctx);
    // move the weights, take a second anchor on other rows, move again
    const params = model.namedParameters();
    const shift = (s: number) => tf.tidy(() => params.forEach((v) => v.assign(tf.add(v, tf.mul(tf.sin(tf.mul(tf.onesLike(v), s)), 0.05)))));
    shift(1);
    const data2 = { ...data, x: X.map((v) => -v) };
    plugin.afterTrainingExp({ ...(ctx as object), experience: { id: 1, classes: [0, 1, 2], train: data2, test: data2 } } as never);
    shift(2);
    expect(plugin.anchors().length).toBe(2);
    const zeros = new Map([...params].map(([k, v]) => [k, tf.zerosLike(v) as tf.Tensor]));
    const got = plugin.afterBackward(ctx, zeros) as Map<string, tf.Tensor>;
    const names = [...params.keys()];
    const want = tf.grads((...ps: tf.Tensor[]) => ewcPenalty(new Map(names.map((k, j) => [k, ps[j]])), plugin.anchors() as never, 3))(names.map((k) => params.get(k) as tf.Tensor));
    // float32: the merged form reorders sums; 1e-6 absolute on gradients of size ~1e-2.
    names.forEach((k, j) => expectClose(got.get(k)?.dataSync() as Float32Array, want[j].dataSync() as Float32Array, { atol: 1e-6, rtol: 1e-4 }));
    expect(plugin.penaltyValue(params)).toBeGreaterThan(0);
    [...zeros.values(), ...got.values(), ...want].forEach((t) => t.dispose());
    plugin.dispose();
    model.dispose();
  });

  it('rejects λ < 0, a decay outside (0, 1] and a vectorized request on an unsupported model', () => {
    expect(() => new EwcPlugin({ lambda: -1 })).toThrow(ValueError);
    expect(() => new EwcPlugin({ lambda: -1 })).toThrow(/lambda.*≥ 0.*-1/);
    expect(() => ewcPenalty(new Map(), [], -0.5)).toThrow(ValueError);
    expect(() => new EwcPlugin({ lambda: 1, mode: 'online', decay: 0 })).toThrow(/decay.*\(0, 1\]/);
    expect(() => new EwcPlugin({ lambda: 1, mode: 'online', decay: 1.5 })).toThrow(ValueError);
    expect(() => new EwcPlugin({ lambda: 1, mode: 'online', decay: -0.1 })).toThrow(ValueError);
    expect(() => new EwcPlugin({ lambda: 1, mode: 'online', decay: Number.NaN })).toThrow(ValueError);
    expect(() => new EwcPlugin({ lambda: 1, mode: 'online', decay: 1 })).not.toThrow();
    const model = fixtureModel();
    model.setParametrization('0.weight', (w) => tf.mul(w, 1));
    expect(supportsVectorizedFisher(model)).toBe(false);
    expect(() => empiricalFisher(model, X, Y, { method: 'vectorized' })).toThrow(/vectorized/);
    model.setParametrization('0.weight', null);
    model.dispose();
  });
});

import { tf, ready, Adam, Linear, Module, Rng, ShapeError, ValueError, convNet, trainStep } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { EpisodeSampler, MatchingNet, ProtoNet, episodeTensors, matchingLogProbs, prototypes, prototypicalLogits } from './index.js';
import type { Episode, LabelledData } from './index.js';

beforeAll(async () => {
  await ready('wasm');
});

const t2 = (rows: number[][]) => tf.tensor2d(rows);
const rows = (t: tf.Tensor) => t.arraySync() as number[][];

/** Reference in float64: log Σ_{i: y_i = k} softmax_i(scale · cos(q, s_i)) for every query and class. */
function matchingByHand(support: number[][], labels: number[], query: number[][], ways: number, scale = 1): number[][] {
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, a) => s + a * a, 0));
  return query.map((q) => {
    const cos = support.map((s) => s.reduce((acc, v, j) => acc + v * q[j], 0) / (norm(s) * norm(q)));
    const m = Math.max(...cos.map((c) => scale * c));
    const w = cos.map((c) => Math.exp(scale * c - m));
    const z = w.reduce((a, b) => a + b, 0);
    const mass = new Array<number>(ways).fill(0);
    w.forEach((wi, i) => (mass[labels[i]] += wi / z));
    return mass.map(Math.log);
  });
}

/** Reference in float64: −‖q − mean of class k‖². */
function protoByHand(support: number[][], labels: number[], query: number[][], ways: number): number[][] {
  const d = support[0].length;
  const c = Array.from({ length: ways }, () => new Array<number>(d).fill(0));
  const n = new Array<number>(ways).fill(0);
  support.forEach((s, i) => {
    n[labels[i]]++;
    s.forEach((v, j) => (c[labels[i]][j] += v));
  });
  c.forEach((ck, k) => ck.forEach((_, j) => (ck[j] /= n[k])));
  return query.map((q) => c.map((ck) => -ck.reduce((acc, v, j) => acc + (q[j] - v) ** 2, 0)));
}

describe('prototypes and prototypicalLogits', () => {
  it('prototypes are the class means of the support rows', () => {
    const s = t2([[1, 2], [3, 4], [10, 0], [0, 0], [5, 5]]);
    const p = prototypes(s, [0, 0, 1, 2, 1], 3);
    expect(p.shape).toEqual([3, 2]);
    // Means of a few small integers: exact in float32 up to one rounding of the division.
    expectClose(rows(p), [[2, 3], [7.5, 2.5], [0, 0]], 1e-6);
    tf.dispose([s, p]);
  });

  it('logits are minus the squared Euclidean distance to each prototype (the doc example)', () => {
    const s = t2([[0, 0], [2, 0]]);
    const q = t2([[1.5, 0]]);
    const l = prototypicalLogits(s, [0, 1], q, 2);
    expectClose(rows(l), [[-2.25, -0.25]], 1e-6);
    tf.dispose([s, q, l]);
  });

  it('matches a float64 hand computation on uneven classes', () => {
    const support = [[0.3, -1.2, 2.0], [1.1, 0.4, -0.7], [-0.5, 0.9, 0.2], [2.2, -0.3, 1.4], [0.0, 1.7, -1.1], [-1.3, -0.8, 0.6]];
    const labels = [2, 0, 1, 2, 0, 2];
    const query = [[0.5, 0.5, 0.5], [-1.0, 2.0, 0.3], [1.9, -0.6, 1.0], [0, 0, 0]];
    const s = t2(support);
    const q = t2(query);
    const l = prototypicalLogits(s, labels, q, 3);
    // float32 on values of size ~10 computed as q² − 2qc + c²: rounding ~1e-6 · 10, so 1e-5 absolute.
    expectClose(rows(l), protoByHand(support, labels, query, 3), { atol: 1e-5, rtol: 1e-6 });
    tf.dispose([s, q, l]);
  });

  it('throws a ValueError naming a class with no support examples', () => {
    const s = t2([[0, 0], [1, 1], [2, 2]]);
    const q = t2([[0, 1]]);
    for (const f of [() => prototypes(s, [0, 0, 2], 3), () => prototypicalLogits(s, [0, 0, 2], q, 3), () => matchingLogProbs(s, [0, 0, 2], q, 3)]) {
      expect(f).toThrow(ValueError);
      expect(f).toThrow(/class 1 has no support examples/);
    }
    tf.dispose([s, q]);
  });

  it('throws named errors for mismatched shapes and labels', () => {
    const s = t2([[0, 0], [1, 1]]);
    const q3 = t2([[0, 1, 2]]);
    const q = t2([[0, 1]]);
    expect(() => prototypicalLogits(s, [0, 1], q3, 2)).toThrow(ShapeError);
    expect(() => prototypicalLogits(s, [0, 1], q3, 2)).toThrow(/'support' and 'query' must have the same width/);
    expect(() => prototypicalLogits(s, [0, 1, 1], q, 2)).toThrow(/'supportLabels' must have one label per support row \(2\), got 3/);
    expect(() => prototypicalLogits(s, [0, 2], q, 2)).toThrow(/'supportLabels' must hold integers in \[0, 2\), got 2 at index 1/);
    expect(() => prototypicalLogits(tf.tensor1d([1, 2]), [0, 1], q, 2)).toThrow(/'support' must be rank 2/);
    expect(() => prototypicalLogits([[0, 0]] as unknown as tf.Tensor, [0], q, 1)).toThrow(TypeError);
    expect(() => matchingLogProbs(s, [0, 1], q, 2, 0)).toThrow(/'scale' must be a positive number/);
    tf.dispose([s, q3, q]);
  });
});

describe('matchingLogProbs', () => {
  const support = [[0.3, -1.2, 2.0], [1.1, 0.4, -0.7], [-0.5, 0.9, 0.2], [2.2, -0.3, 1.4], [0.0, 1.7, -1.1], [-1.3, -0.8, 0.6]];
  const labels = [2, 0, 1, 2, 0, 2];
  const query = [[0.5, 0.5, 0.5], [-1.0, 2.0, 0.3], [1.9, -0.6, 1.0]];

  it.each([1, 4])('equals log of the softmax-attention mass by cosine similarity (scale %d), computed by hand in float64', (scale) => {
    const s = t2(support);
    const q = t2(query);
    const l = matchingLogProbs(s, labels, q, 3, scale);
    const expected = matchingByHand(support, labels, query, 3, scale);
    // float32 cosines and softmax of O(1) values: ~1e-7 relative per op; log-probs down to ≈ −4
    // (scale 4), so 1e-5 absolute is a few hundred float32 ulps of slack.
    expectClose(rows(l), expected, 1e-5);
    // A distribution over classes: probabilities sum to 1.
    for (const r of rows(l)) expectClose(r.reduce((a, v) => a + Math.exp(v), 0), 1, 1e-5);
    tf.dispose([s, q, l]);
  });

  it('is differentiable: its gradient w.r.t. the embeddings equals float64 central differences', () => {
    // Loss = −Σ_q log p(y_q | q); gradient w.r.t. support and query rows by tf.grads, against
    // central differences of the float64 reference (h = 1e-5: truncation ~1e-10, rounding ~1e-11).
    const yq = [0, 2, 1];
    const f64 = (s: number[][], q: number[][]) => -matchingByHand(s, labels, q, 3, 2).reduce((acc, r, i) => acc + r[yq[i]], 0);
    const [gs, gq] = tf.grads((s: tf.Tensor, q: tf.Tensor) => tf.neg(tf.sum(tf.mul(matchingLogProbs(s, labels, q, 3, 2), tf.oneHot(tf.tensor1d(yq, 'int32'), 3)))) as tf.Scalar)([t2(support), t2(query)]);
    const fd = (which: 0 | 1) => {
      const base = which === 0 ? support : query;
      return base.map((r, i) =>
        r.map((_, j) => {
          const h = 1e-5;
          const plus = base.map((rr) => rr.slice());
          const minus = base.map((rr) => rr.slice());
          plus[i][j] += h;
          minus[i][j] -= h;
          return which === 0 ? (f64(plus, query) - f64(minus, query)) / (2 * h) : (f64(support, plus) - f64(support, minus)) / (2 * h);
        }),
      );
    };
    // Gradients are O(1); float32 forward and backward passes: 1e-4 absolute.
    expectClose(rows(gs), fd(0), 1e-4);
    expectClose(rows(gq), fd(1), 1e-4);
    tf.dispose([gs, gq]);
  });

  it('is invariant to the length of the embeddings (cosine, not dot product)', () => {
    const s = t2(support);
    const s3 = t2(support.map((r, i) => r.map((v) => v * (i + 1) * 3)));
    const q = t2(query);
    const a = matchingLogProbs(s, labels, q, 3);
    const b = matchingLogProbs(s3, labels, q, 3);
    expectClose(rows(b), rows(a), 1e-5);
    tf.dispose([s, s3, q, a, b]);
  });
});

// ---- classifiers over encoders ------------------------------------------------------------

/**
 * 8x8 one-channel images: class k has a 3x3 patch of +1 at its own place, plus Gaussian
 * noise (sd 0.7) everywhere. Learnable in a few steps, but a random encoder's loss is far
 * from its trained one (its episode loss drops 2–8× in 15 steps at these seeds).
 */
function images(classes: number, perClass: number, seed: number): LabelledData {
  const rng = new Rng(seed);
  const spots = [[1, 1], [1, 5], [5, 1], [5, 5], [3, 3]];
  const labels: number[] = [];
  const x = new Float32Array(classes * perClass * 64);
  let r = 0;
  for (let j = 0; j < perClass; j++) {
    for (let k = 0; k < classes; k++, r++) {
      labels.push(k);
      const [cy, cx] = spots[k];
      for (let p = 0; p < 64; p++) {
        const y = Math.floor(p / 8);
        const xx = p % 8;
        x[r * 64 + p] = (Math.abs(y - cy) <= 1 && Math.abs(xx - cx) <= 1 ? 1 : 0) + rng.normal(0, 0.7);
      }
    }
  }
  return { x, labels: Int32Array.from(labels), dim: 64 };
}

const data = images(4, 12, 0);
// Fresh rows of the same classes, for evaluating after training.
const heldOut = images(4, 12, 1);

/** Mean episode loss over fixed episodes (their tensors are made once, by the caller). */
function meanLoss(net: ProtoNet | MatchingNet, eps: Array<{ ep: Episode; xs: tf.Tensor; xq: tf.Tensor }>): number {
  let s = 0;
  for (const { ep, xs, xq } of eps) s += tf.tidy(() => net.loss(xs, ep.supportY, xq, ep.queryY, ep.ways).dataSync()[0]);
  return s / eps.length;
}

/** Trains the encoder of `net` for `steps` episodes with Adam; returns the held-out loss before and after. */
function train(net: ProtoNet | MatchingNet, steps: number, lr: number): { before: number; after: number } {
  const evalSampler = new EpisodeSampler(heldOut, { ways: 3, shots: 2, queries: 4, seed: 100 });
  const held = Array.from({ length: 4 }, () => {
    const ep = evalSampler.sample();
    return { ep, ...episodeTensors(ep) };
  });
  const before = meanLoss(net, held);
  const opt = new Adam(net.encoder, { lr });
  const sampler = new EpisodeSampler(data, { ways: 3, shots: 2, queries: 4, seed: 1 });
  for (let i = 0; i < steps; i++) {
    const ep = sampler.sample();
    const { xs, xq } = episodeTensors(ep);
    trainStep(net.encoder, opt, () => net.loss(xs, ep.supportY, xq, ep.queryY, ep.ways));
    tf.dispose([xs, xq]);
  }
  const after = meanLoss(net, held);
  for (const h of held) tf.dispose([h.xs, h.xq]);
  opt.dispose();
  return { before, after };
}

describe('ProtoNet and MatchingNet over an encoder', () => {
  it('ProtoNet.logits are prototypicalLogits of the encoder embeddings (Linear encoder)', () => {
    const enc = new Linear(64, 5, { seed: 0 });
    const net = new ProtoNet(enc);
    const ep = new EpisodeSampler(data, { ways: 3, shots: 2, queries: 3, seed: 4 }).sample();
    const { xs, xq } = episodeTensors(ep);
    const es = enc.forward(xs);
    const eq = enc.forward(xq);
    const l = net.logits(xs, ep.supportY, xq, 3);
    expect(l.shape).toEqual([9, 3]);
    expectClose(rows(l), protoByHand(rows(es), Array.from(ep.supportY), rows(eq), 3), { atol: 1e-4, rtol: 1e-5 });
    const m = new MatchingNet(enc, { scale: 5 }).logits(xs, ep.supportY, xq, 3);
    expectClose(rows(m), matchingByHand(rows(es), Array.from(ep.supportY), rows(eq), 3, 5), 1e-5);
    tf.dispose([xs, xq, es, eq, l, m]);
    enc.dispose();
  });

  it('ProtoNet with radius r: squared distances between embeddings scaled to norm r (by hand in float64)', () => {
    const enc = new Linear(64, 5, { seed: 1 });
    const r = 6;
    const net = new ProtoNet(enc, { radius: r });
    const ep = new EpisodeSampler(data, { ways: 3, shots: 2, queries: 3, seed: 6 }).sample();
    const { xs, xq } = episodeTensors(ep);
    const es = enc.forward(xs);
    const eq = enc.forward(xq);
    const onSphere = (m: number[][]) => m.map((row) => {
      const n = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
      return row.map((v) => (r * v) / n);
    });
    const l = net.logits(xs, ep.supportY, xq, 3);
    const want = protoByHand(onSphere(rows(es)), Array.from(ep.supportY), onSphere(rows(eq)), 3);
    // Distances are ≤ (2r)² = 144: float32 gives ~1e-5 relative.
    expectClose(rows(l), want, { atol: 1e-4, rtol: 1e-5 });
    // Every logit is within [−4r², 0].
    for (const v of rows(l).flat()) expect(v >= -4 * r * r - 1e-3 && v <= 1e-6).toBe(true);
    expect(() => new ProtoNet(enc, { radius: 0 })).toThrow(/ProtoNet: option 'radius' must be a finite positive number, got 0/);
    expect(() => new ProtoNet(enc, { radius: NaN })).toThrow(ValueError);
    tf.dispose([xs, xq, es, eq, l]);
    enc.dispose();
  });

  it('embeds support and query in one batch (batch norm sees both), with a convNet encoder', () => {
    const enc = convNet({ channels: [8, 8], inputShape: [8, 8, 1], seed: 0 });
    const net = new ProtoNet(enc);
    const ep = new EpisodeSampler(data, { ways: 3, shots: 1, queries: 2, seed: 5 }).sample();
    const { xs, xq } = episodeTensors(ep);
    const e = tf.tidy(() => enc.apply(enc.namedParameters(), tf.concat([xs, xq], 0), { training: true }));
    expect(e.shape).toEqual([9, 32]);
    const all = rows(e);
    const l = net.logits(xs, ep.supportY, xq, 3);
    // Embeddings are O(1) after batch norm and 32 wide: squared distances ~50, float32: 1e-4 absolute.
    expectClose(rows(l), protoByHand(all.slice(0, 3), Array.from(ep.supportY), all.slice(3), 3), { atol: 1e-4, rtol: 1e-5 });
    tf.dispose([xs, xq, e, l]);
    enc.dispose();
  });

  it.each([
    ['ProtoNet', 'convNet'],
    ['MatchingNet', 'convNet'],
    ['ProtoNet', 'Linear'],
    ['MatchingNet', 'Linear'],
  ] as const)('%s with a %s encoder: Adam lowers the held-out episode loss on a separable problem', (kind, encoder) => {
    const enc: Module = encoder === 'convNet' ? convNet({ channels: [8, 8], inputShape: [8, 8, 1], seed: 0 }) : new Linear(64, 8, { seed: 0 });
    // Matching nets attend by cosine in [−1, 1]; scale 5 lets the attention become confident.
    const net = kind === 'ProtoNet' ? new ProtoNet(enc) : new MatchingNet(enc, { scale: 5 });
    const { before, after } = train(net, 15, 0.01);
    expect(Number.isFinite(before) && Number.isFinite(after)).toBe(true);
    // Fixed seeds, so this is deterministic; a 20 % drop after 15 steps leaves a wide margin
    // against noise between episodes while still failing if training does nothing.
    expect(after).toBeLessThan(0.8 * before);
    // And the classifier is then right on most held-out queries (chance is 1/3).
    const ev = new EpisodeSampler(heldOut, { ways: 3, shots: 2, queries: 4, seed: 200 });
    let acc = 0;
    for (let i = 0; i < 5; i++) acc += net.episodeAccuracy(ev.sample()) / 5;
    expect(acc).toBeGreaterThan(0.6);
    enc.dispose();
  });

  it('episodeAccuracy is the fraction of query rows whose argmax logit is the label', () => {
    const enc = new Linear(64, 6, { seed: 2 });
    const net = new MatchingNet(enc);
    const ep = new EpisodeSampler(data, { ways: 4, shots: 2, queries: 3, seed: 9 }).sample();
    const { xs, xq } = episodeTensors(ep);
    const lt = net.logits(xs, ep.supportY, xq, 4);
    const l = rows(lt);
    lt.dispose();
    const right = l.filter((r, i) => r.indexOf(Math.max(...r)) === ep.queryY[i]).length;
    expect(net.episodeAccuracy(ep)).toBe(right / 12);
    tf.dispose([xs, xq]);
    enc.dispose();
  });

  it('throws named errors for a bad encoder or option', () => {
    expect(() => new ProtoNet({} as Module)).toThrow(TypeError);
    expect(() => new ProtoNet({} as Module)).toThrow(/ProtoNet: argument 'encoder' must be a Module/);
    const enc = new Linear(2, 2);
    expect(() => new MatchingNet(enc, { scale: -1 })).toThrow(ValueError);
    expect(() => new MatchingNet(enc, { scale: -1 })).toThrow(/option 'scale'/);
    enc.dispose();
  });
});

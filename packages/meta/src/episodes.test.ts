import { tf, ready, ValueError, ShapeError } from '@x/tensor';
import { EpisodeSampler, classSplit, episodeTensors } from './index.js';
import type { Episode, LabelledData } from './index.js';

beforeAll(async () => {
  await ready('wasm');
});

/**
 * `perClass` rows for each class in `classes`, interleaved (row order is not grouped by
 * class). Row r is [r, label, r + 0.5], so a row's values say which row and class it is.
 */
function makeData(classes: number[], perClass: number | ((c: number) => number)): LabelledData {
  const count = (c: number) => (typeof perClass === 'number' ? perClass : perClass(c));
  const labels: number[] = [];
  const max = Math.max(...classes.map(count));
  for (let j = 0; j < max; j++) for (const c of classes) if (j < count(c)) labels.push(c);
  const x = new Float32Array(labels.length * 3);
  labels.forEach((l, r) => x.set([r, l, r + 0.5], r * 3));
  return { x, labels: Int32Array.from(labels), dim: 3 };
}

const ten = makeData([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 20);

/** Asserts every structural promise of an episode against the data it came from. */
function checkEpisode(ep: Episode, data: LabelledData, ways: number, shots: number, queries: number): void {
  expect([ep.ways, ep.shots, ep.queries, ep.dim]).toEqual([ways, shots, queries, data.dim]);
  expect(ep.classes).toHaveLength(ways);
  expect(new Set(ep.classes).size).toBe(ways);
  expect(ep.supportX).toHaveLength(ways * shots * data.dim);
  expect(ep.queryX).toHaveLength(ways * queries * data.dim);
  expect(ep.supportIndex).toHaveLength(ways * shots);
  expect(ep.queryIndex).toHaveLength(ways * queries);
  // Support grouped by label: K rows of label 0, then K of label 1, ...
  expect(Array.from(ep.supportY)).toEqual(Array.from({ length: ways * shots }, (_, i) => Math.floor(i / shots)));
  // Q queries of every label.
  const qCount = new Array<number>(ways).fill(0);
  ep.queryY.forEach((l) => qCount[l]++);
  expect(qCount).toEqual(new Array<number>(ways).fill(queries));
  // Disjoint and without duplicates.
  const all = [...ep.supportIndex, ...ep.queryIndex];
  expect(new Set(all).size).toBe(all.length);
  // Episode label i is original class classes[i], for support and query rows alike, and the
  // rows are the data's rows at the reported indices.
  const wrong: string[] = [];
  const rowsMatch = (part: string, xs: Float32Array, idx: Int32Array, ys: Int32Array) => {
    idx.forEach((r, j) => {
      if (data.labels[r] !== ep.classes[ys[j]]) wrong.push(`${part} row ${j}: label ${ys[j]} but class ${data.labels[r]}, classes [${ep.classes.join(',')}]`);
      for (let k = 0; k < data.dim; k++) {
        if (xs[j * data.dim + k] !== data.x[r * data.dim + k]) wrong.push(`${part} row ${j} is not data row ${r}`);
      }
    });
  };
  rowsMatch('support', ep.supportX, ep.supportIndex, ep.supportY);
  rowsMatch('query', ep.queryX, ep.queryIndex, ep.queryY);
  expect(wrong).toEqual([]);
}

describe('EpisodeSampler', () => {
  it('draws N-way K-shot Q-query episodes: support grouped by label, Q queries per class, disjoint rows, labels mapped to classes[i]', () => {
    for (const [ways, shots, queries] of [
      [5, 1, 15],
      [3, 5, 2],
      [10, 2, 3],
      [2, 4, 0],
    ]) {
      const sampler = new EpisodeSampler(ten, { ways, shots, queries, seed: 1 });
      for (let e = 0; e < 50; e++) checkEpisode(sampler.sample(), ten, ways, shots, queries);
    }
  });

  it('repeats the same episodes for the same seed and different ones for another seed', () => {
    const opts = { ways: 5, shots: 2, queries: 3 };
    const a = new EpisodeSampler(ten, { ...opts, seed: 7 });
    const b = new EpisodeSampler(ten, { ...opts, seed: 7 });
    const c = new EpisodeSampler(ten, { ...opts, seed: 8 });
    let differ = 0;
    for (let e = 0; e < 20; e++) {
      const ea = a.sample();
      const eb = b.sample();
      const ec = c.sample();
      expect(eb.classes).toEqual(ea.classes);
      expect(Array.from(eb.supportIndex)).toEqual(Array.from(ea.supportIndex));
      expect(Array.from(eb.queryIndex)).toEqual(Array.from(ea.queryIndex));
      expect(Array.from(eb.queryY)).toEqual(Array.from(ea.queryY));
      if (ec.classes.join() !== ea.classes.join() || ec.supportIndex.join() !== ea.supportIndex.join()) differ++;
    }
    // Two independent streams agree on a whole 5-of-10 ordered class draw with probability 1/30240.
    expect(differ).toBeGreaterThanOrEqual(19);
    // Successive episodes of one sampler differ too (it does not restart).
    const s = new EpisodeSampler(ten, { ...opts, seed: 7 });
    const e1 = s.sample();
    const e2 = s.sample();
    expect(e1.supportIndex.join()).not.toBe(e2.supportIndex.join());
  });

  it('gives every episode a fresh random class-to-label mapping', () => {
    // 5-way over exactly 5 classes: every episode has the same classes, so only the mapping can vary.
    const five = makeData([3, 4, 5, 6, 7], 6);
    const sampler = new EpisodeSampler(five, { ways: 5, shots: 1, queries: 1, seed: 0 });
    const episodes = 600;
    const seen = new Set<string>();
    const at = new Map<string, number>(); // "label:class" → count
    for (let e = 0; e < episodes; e++) {
      const ep = sampler.sample();
      checkEpisode(ep, five, 5, 1, 1);
      seen.add(ep.classes.join());
      ep.classes.forEach((c, l) => at.set(`${l}:${c}`, (at.get(`${l}:${c}`) ?? 0) + 1));
    }
    // Uniform over the 120 orders: 600 draws miss a given order with probability (119/120)^600 ≈ 0.7 %,
    // so about 119 distinct orders are expected; 100 is far below any plausible outcome.
    expect(seen.size).toBeGreaterThanOrEqual(100);
    // Each class lands on each label 600/5 = 120 times on average (binomial sd ≈ 9.8):
    // [80, 160] is ±4 sd, a fixed mapping (0 or 600) or a strong bias fails it.
    for (let l = 0; l < 5; l++) {
      for (const c of [3, 4, 5, 6, 7]) {
        const n = at.get(`${l}:${c}`) ?? 0;
        expect(n).toBeGreaterThanOrEqual(80);
        expect(n).toBeLessThanOrEqual(160);
      }
    }
  });

  it('draws each class about equally often when ways < classes', () => {
    const sampler = new EpisodeSampler(ten, { ways: 2, shots: 1, queries: 1, seed: 3 });
    const count = new Array<number>(10).fill(0);
    for (let e = 0; e < 1000; e++) sampler.sample().classes.forEach((c) => count[c]++);
    // 2000 class slots over 10 classes: 200 each on average, sd ≈ 12.6.
    for (const n of count) {
      expect(n).toBeGreaterThanOrEqual(150);
      expect(n).toBeLessThanOrEqual(250);
    }
  });

  it('only uses the classes it is given', () => {
    const sampler = new EpisodeSampler(ten, { ways: 3, shots: 2, queries: 2, classes: [1, 4, 8, 9], seed: 0 });
    expect(sampler.classes).toEqual([1, 4, 8, 9]);
    for (let e = 0; e < 100; e++) {
      const ep = sampler.sample();
      checkEpisode(ep, ten, 3, 2, 2);
      for (const c of ep.classes) expect([1, 4, 8, 9]).toContain(c);
    }
  });

  it('throws a ValueError naming ways when there are fewer classes than ways', () => {
    const f = () => new EpisodeSampler(ten, { ways: 11, shots: 1, queries: 1 });
    expect(f).toThrow(ValueError);
    expect(f).toThrow(/option 'ways' \(11\).*number of classes available \(10/);
    const g = () => new EpisodeSampler(ten, { ways: 3, shots: 1, queries: 1, classes: [0, 1] });
    expect(g).toThrow(ValueError);
    expect(g).toThrow(/'ways'/);
  });

  it('throws a ValueError naming the class that has too few examples for K + Q', () => {
    const data = makeData([0, 1, 2, 3], (c) => (c === 2 ? 4 : 10));
    const f = () => new EpisodeSampler(data, { ways: 2, shots: 2, queries: 3 });
    expect(f).toThrow(ValueError);
    expect(f).toThrow(/class 2 has 4 examples, fewer than shots \+ queries = 2 \+ 3 = 5/);
    // A sampler that does not use that class does not care, and K + Q = 4 fits it.
    expect(() => new EpisodeSampler(data, { ways: 2, shots: 2, queries: 3, classes: [0, 1, 3] })).not.toThrow();
    expect(() => new EpisodeSampler(data, { ways: 2, shots: 2, queries: 2 })).not.toThrow();
  });

  it('throws a ShapeError naming data.labels when labels and rows disagree', () => {
    const bad = { x: ten.x, labels: Array.from(ten.labels).slice(0, 199), dim: 3 };
    const f = () => new EpisodeSampler(bad, { ways: 2, shots: 1, queries: 1 });
    expect(f).toThrow(ShapeError);
    expect(f).toThrow(/argument 'data.labels' must have one label per row of 'data.x' \(200\), got 199/);
    expect(() => classSplit(bad, { a: [0], b: [1] })).toThrow(ShapeError);
    // x not a whole number of rows
    expect(() => new EpisodeSampler({ x: new Float32Array(7), labels: [0, 1], dim: 3 }, { ways: 1, shots: 1, queries: 0 })).toThrow(/'data.x'.*whole number of rows/);
  });

  it('throws named errors for other bad input', () => {
    expect(() => new EpisodeSampler({ x: [1, 2] as unknown as Float32Array, labels: [0], dim: 2 }, { ways: 1, shots: 1, queries: 0 })).toThrow(TypeError);
    expect(() => new EpisodeSampler({ x: [1, 2] as unknown as Float32Array, labels: [0], dim: 2 }, { ways: 1, shots: 1, queries: 0 })).toThrow(/'data.x'/);
    expect(() => new EpisodeSampler(ten, { ways: 2, shots: 0, queries: 1 })).toThrow(ValueError);
    expect(() => new EpisodeSampler(ten, { ways: 2, shots: 0, queries: 1 })).toThrow(/option 'shots'/);
    expect(() => new EpisodeSampler(ten, { ways: 2, shots: 1, queries: -1 })).toThrow(/option 'queries'/);
    expect(() => new EpisodeSampler(ten, { ways: 2.5, shots: 1, queries: 1 })).toThrow(/option 'ways'/);
    expect(() => new EpisodeSampler(ten, { ways: 2, shots: 1, queries: 1, classes: [1, 1, 2] })).toThrow(/must not repeat/);
    expect(() => new EpisodeSampler(ten, { ways: 2, shots: 1, queries: 1, classes: [1, 42] })).toThrow(/class 42 .* no rows/);
    expect(() => new EpisodeSampler({ x: new Float32Array(4), labels: [0, -1], dim: 2 }, { ways: 1, shots: 1, queries: 0 })).toThrow(/'data.labels'.*non-negative integers/);
    expect(() => new EpisodeSampler({ x: new Float32Array(4), labels: [0, 1], dim: 0 }, { ways: 1, shots: 1, queries: 0 })).toThrow(/'data.dim'/);
  });
});

describe('classSplit', () => {
  it('keeps meta-train and meta-test classes apart: a sampler over the test split never yields a train class', () => {
    const { train, test } = classSplit(ten, { train: [0, 1, 2, 3, 4], test: [5, 6, 7, 8, 9] });
    expect(new Set(Array.from(train.labels))).toEqual(new Set([0, 1, 2, 3, 4]));
    expect(new Set(Array.from(test.labels))).toEqual(new Set([5, 6, 7, 8, 9]));
    expect(train.labels.length + test.labels.length).toBe(200);
    // Rows are copies of the original rows with their original labels (row r is [r, label, r + 0.5]).
    for (const part of [train, test]) {
      for (let i = 0; i < part.labels.length; i++) {
        const r = part.x[i * 3];
        expect(part.x[i * 3 + 1]).toBe(part.labels[i]);
        expect(ten.labels[r]).toBe(part.labels[i]);
        expect(part.x[i * 3 + 2]).toBe(r + 0.5);
      }
    }
    const sampler = new EpisodeSampler(test, { ways: 5, shots: 1, queries: 5, seed: 0 });
    const seen = new Set<number>();
    for (let e = 0; e < 300; e++) {
      const ep = sampler.sample();
      checkEpisode(ep, test, 5, 1, 5);
      // Row values carry the original label: check them too, not only the class list.
      for (let j = 0; j < ep.queryIndex.length; j++) seen.add(ep.queryX[j * 3 + 1]);
      for (const c of ep.classes) seen.add(c);
    }
    expect([...seen].sort()).toEqual([5, 6, 7, 8, 9]);
    // Asking the test sampler for a train class is an error, not silently empty.
    expect(() => new EpisodeSampler(test, { ways: 2, shots: 1, queries: 1, classes: [0, 5] })).toThrow(/class 0 of option 'classes' has no rows/);
  });

  it('throws a ValueError when a class is in two groups or has no rows', () => {
    expect(() => classSplit(ten, { train: [0, 1, 2], test: [2, 3] })).toThrow(ValueError);
    expect(() => classSplit(ten, { train: [0, 1, 2], test: [2, 3] })).toThrow(/class 2 is in both group 'train' and group 'test'/);
    expect(() => classSplit(ten, { train: [0, 1], test: [12] })).toThrow(/class 12 of group 'test' has no rows/);
    expect(() => classSplit(ten, { train: [0, 1], test: [] })).toThrow(/group 'test' must be a non-empty list/);
  });
});

describe('episodeTensors', () => {
  it('returns xs [N·K, dim] and xq [N·Q, dim] holding the episode rows', () => {
    const ep = new EpisodeSampler(ten, { ways: 4, shots: 3, queries: 5, seed: 2 }).sample();
    const before = tf.memory().numTensors;
    const { xs, xq } = episodeTensors(ep);
    expect(xs.shape).toEqual([12, 3]);
    expect(xq.shape).toEqual([20, 3]);
    expect(Array.from(xs.dataSync())).toEqual(Array.from(ep.supportX));
    expect(Array.from(xq.dataSync())).toEqual(Array.from(ep.queryX));
    xs.dispose();
    xq.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

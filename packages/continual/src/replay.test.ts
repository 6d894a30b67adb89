import { Rng, ValueError } from '@x/tensor';
import { Reservoir, ReservoirMemory, ClassBalancedMemory, ReplayPlugin } from './index.js';
import type { TaskData } from './index.js';

function stream(n: number, d: number, label: (i: number) => number, task = 0): TaskData {
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) x[i * d] = i;
  return { x, y: Int32Array.from({ length: n }, (_, i) => label(i)), task: new Int32Array(n).fill(task), n, d };
}

describe('Reservoir', () => {
  it('holds each of n items with probability m/n (2000 seeded runs, n = 50, m = 10)', () => {
    const n = 50;
    const m = 10;
    const runs = 2000;
    const counts = new Float64Array(n);
    const rng = new Rng(123);
    for (let r = 0; r < runs; r++) {
      const res = new Reservoir<number>(m, rng.fork());
      for (let i = 0; i < n; i++) res.add(i);
      const items = res.items();
      expect(items.length).toBe(m);
      expect(new Set(items).size).toBe(m);
      for (const i of items) counts[i]++;
    }
    const p = m / n;
    // Binomial std of a frequency over 2000 runs: sqrt(p(1-p)/runs) = 0.0089. Tolerance 4.5σ = 0.040
    // per item: with 50 items the chance that a correct sampler fails somewhere is ~3e-4.
    const sigma = Math.sqrt((p * (1 - p)) / runs);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(counts[i] / runs - p));
    expect(worst).toBeLessThan(4.5 * sigma);
    // Early and late items alike (a "keep the first m" or "keep the last m" bug gives 1 and 0 here).
    const early = counts.slice(0, 10).reduce((s, c) => s + c, 0) / (10 * runs);
    const late = counts.slice(40).reduce((s, c) => s + c, 0) / (10 * runs);
    expect(Math.abs(early - late)).toBeLessThan(4.5 * Math.sqrt((2 * p * (1 - p)) / (10 * runs)));
  });

  it('is reproducible from its seed', () => {
    const run = () => {
      const r = new Reservoir<number>(5, new Rng(7));
      for (let i = 0; i < 100; i++) r.add(i);
      return r.items();
    };
    expect(run()).toEqual(run());
  });

  it('rejects a size of 0, a negative or a fractional size with ValueError', () => {
    for (const bad of [0, -3, 2.5]) {
      expect(() => new Reservoir(bad, new Rng(0))).toThrow(ValueError);
      expect(() => new ReservoirMemory(bad)).toThrow(/positive integer/);
      expect(() => new ClassBalancedMemory(bad)).toThrow(ValueError);
      expect(() => new ReplayPlugin({ memorySize: bad })).toThrow(/memorySize.*positive integer/);
    }
  });
});

describe('ClassBalancedMemory', () => {
  it('keeps exactly m samples split evenly over the classes seen, shrinking old classes', () => {
    const mem = new ClassBalancedMemory(500, 0);
    for (let t = 0; t < 5; t++) {
      mem.update(stream(1600, 3, (i) => 2 * t + (i % 2), t));
      const counts = mem.counts();
      const seen = 2 * (t + 1);
      const total = [...counts.values()].reduce((s, c) => s + c, 0);
      expect(total).toBe(500);
      for (let c = 0; c < seen; c++) expect(counts.get(c)).toBe(Math.floor(500 / seen) + (c < 500 % seen ? 1 : 0));
      // every stored sample is a real row of its class and task
      for (const s of mem.samples()) expect(Math.floor(s.y / 2)).toBe(s.task);
    }
  });

  it('holds all rows of a class smaller than its quota', () => {
    const mem = new ClassBalancedMemory(100, 0);
    mem.update(stream(30, 2, (i) => (i < 10 ? 0 : 1)));
    expect(mem.counts().get(0)).toBe(10);
    expect(mem.counts().get(1)).toBe(20);
  });
});

describe('ReservoirMemory', () => {
  it('over two experiences keeps each row with probability m/n overall (400 seeded runs)', () => {
    // 100 rows of task 0 then 100 of task 1, m = 50: each task's share is Binomial-like around 25.
    let task0 = 0;
    const runs = 400;
    for (let r = 0; r < runs; r++) {
      const mem = new ReservoirMemory(50, r);
      mem.update(stream(100, 2, () => 0, 0));
      mem.update(stream(100, 2, () => 1, 1));
      const s = mem.samples();
      expect(s.length).toBe(50);
      task0 += s.filter((v) => v.task === 0).length;
    }
    // Hypergeometric: 50 of 200 drawn, 100 of task 0: mean 25, var = 50·0.5·0.5·150/199 = 9.42;
    // the mean over 400 runs has std sqrt(9.42/400) = 0.153; tolerance 4.5σ = 0.69.
    expect(Math.abs(task0 / runs - 25)).toBeLessThan(4.5 * Math.sqrt(9.42 / runs));
  });
});

import { expectClose } from '@x/test-utils';
import { NonFiniteError, ShapeError, ValueError } from './errors.js';
import { Rng, toSeed } from './rng.js';

/** Reads the private state words through the public checkpoint. */
function words(rng: Rng): number[] {
  return rng.state().slice(0, 4);
}

describe('Rng known answers (reference C code of splitmix64 and xoshiro128**)', () => {
  // Values printed by the reference C implementations (prng.di.unimi.it), compiled with gcc:
  // splitmix64 from x = 42 gives two 64-bit outputs whose low/high words are the state.
  it('seeds through splitmix64 exactly as the reference', () => {
    expect(words(new Rng(42))).toEqual([803958421, 3184996902, 2993090819, 686809907]);
    // splitmix64(0) = 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4
    expect(words(new Rng(0))).toEqual([0x7b1dcdaf, 0xe220a839, 0xa1b965f4, 0x6e789e6a]);
    // A negative seed is its 64-bit two's complement: splitmix64(2^64 − 1) = 0xe4d971771b652c20.
    expect(words(new Rng(-1)).slice(0, 2)).toEqual([0x1b652c20, 0xe4d97177]);
  });

  it('produces the reference xoshiro128** outputs', () => {
    const a = Rng.fromState([1, 2, 3, 4]);
    expect(Array.from({ length: 8 }, () => a.uint32())).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849,
    ]);
    const b = new Rng(42);
    expect(Array.from({ length: 6 }, () => b.uint32())).toEqual([
      1776835114, 4165204688, 17111135, 2317295270, 2792088233, 2554630222,
    ]);
  });
});

describe('Rng determinism', () => {
  it('gives the same stream for the same seed across every method', () => {
    const run = (seed: number) => {
      const r = new Rng(seed);
      return [
        r.uniform(),
        r.uniform(-3, 5),
        r.normal(),
        r.normal(2, 3),
        r.int(1000),
        ...r.permutation(10),
        ...r.choice(20, 5),
        ...r.choice(4, 6, { replace: true, p: [1, 2, 3, 4] }),
        ...r.uniformArray(3),
        ...r.normalArray64(3),
        r.seed32(),
        r.fork().uniform(),
      ];
    };
    expect(run(123)).toEqual(run(123));
    expect(run(123)).not.toEqual(run(124));
  });

  it('gives different streams for nearby and for large seeds', () => {
    const first = (seed: number) => new Rng(seed).uint32();
    const seeds = [0, 1, 2, -1, -2, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    const outs = new Set(seeds.map((s) => words(new Rng(s)).join(',')));
    expect(outs.size).toBe(seeds.length);
    expect(first(2 ** 40)).not.toBe(first(2 ** 40 + 1));
  });

  it('restores exactly from state(), including the cached normal, through JSON', () => {
    const r = new Rng(5);
    r.normal(); // leaves a spare behind
    const saved = JSON.parse(JSON.stringify(r.state())) as number[];
    expect(saved[4]).toBe(1);
    const expected = [r.normal(), r.normal(), r.uniform(), r.int(7)];
    const back = Rng.fromState(saved);
    expect([back.normal(), back.normal(), back.uniform(), back.int(7)]).toEqual(expected);
  });

  it('makes arrays equal to repeated scalar draws', () => {
    const a = new Rng(9);
    const b = new Rng(9);
    const arr = a.normalArray64(5, 1, 2);
    const scalars = Array.from({ length: 5 }, () => b.normal(1, 2));
    expect(Array.from(arr)).toEqual(scalars);
    // The odd count left a spare in both, so the streams stay in step.
    expect(a.normal()).toBe(b.normal());
    const u = new Rng(4).uniformArray64(4, -1, 1);
    const v = new Rng(4);
    expect(Array.from(u)).toEqual(Array.from({ length: 4 }, () => v.uniform(-1, 1)));
    const f = new Rng(6).normalArray(3);
    const g = new Rng(6);
    expect(Array.from(f)).toEqual(Array.from({ length: 3 }, () => Math.fround(g.normal())));
  });

  it('forks children that differ from each other and from the parent, deterministically', () => {
    const p = new Rng(11);
    const before = p.state();
    const c1 = p.fork();
    expect(p.state()).not.toEqual(before); // the parent advanced
    const c2 = p.fork();
    const s1 = Array.from(c1.uniformArray64(4));
    const s2 = Array.from(c2.uniformArray64(4));
    const sp = Array.from(p.uniformArray64(4));
    expect(s1).not.toEqual(s2);
    expect(s1).not.toEqual(sp);
    const q = new Rng(11);
    expect(Array.from(q.fork().uniformArray64(4))).toEqual(s1);
  });

  it('seed32 returns non-negative 31-bit integers', () => {
    const r = new Rng(3);
    for (let i = 0; i < 1000; i++) {
      const s = r.seed32();
      expect(Number.isInteger(s) && s >= 0 && s < 2 ** 31).toBe(true);
    }
  });
});

describe('Rng distributions', () => {
  const N = 100_000;

  it('uniform() is in [0,1) with mean 1/2 and variance 1/12 within 5 standard errors', () => {
    const r = new Rng(1);
    let sum = 0;
    let sq = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < N; i++) {
      const u = r.uniform();
      sum += u;
      sq += u * u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    const mean = sum / N;
    const variance = sq / N - mean * mean;
    // SE of the mean: sqrt(1/12/N); of the variance: sqrt((1/80 − 1/144)/N) (4th central moment 1/80).
    expectClose(mean, 0.5, 5 * Math.sqrt(1 / 12 / N));
    expectClose(variance, 1 / 12, 5 * Math.sqrt((1 / 80 - 1 / 144) / N));
  });

  it('uniform(low, high) and the arrays stay inside [low, high)', () => {
    const r = new Rng(2);
    for (let i = 0; i < 10_000; i++) {
      const u = r.uniform(-2, 3);
      expect(u >= -2 && u < 3).toBe(true);
    }
    const f = r.uniformArray(50_000, 0.1, 0.2);
    expect(Math.min(...f)).toBeGreaterThanOrEqual(0.1);
    expect(Math.max(...f)).toBeLessThan(0.2);
    const d = r.uniformArray64(50_000, 5, 6);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...d)).toBeLessThan(6);
    // An interval narrower than float32 spacing around 1 still yields values strictly below high.
    const narrow = r.uniformArray(1000, 1, 1 + 2 ** -22);
    for (const v of narrow) expect(v >= 1 && v < 1 + 2 ** -22).toBe(true);
  });

  it('normal(): mean, variance, skewness and kurtosis of 1e5 draws within 5 standard errors', () => {
    const z = new Rng(7).normalArray64(N);
    let m1 = 0;
    for (const v of z) m1 += v;
    m1 /= N;
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    for (const v of z) {
      const d = v - m1;
      m2 += d * d;
      m3 += d * d * d;
      m4 += d * d * d * d;
    }
    m2 /= N;
    m3 /= N;
    m4 /= N;
    // Standard errors for N(0,1): mean 1/sqrt(N), variance sqrt(2/N), skewness sqrt(6/N),
    // excess kurtosis sqrt(24/N).
    expectClose(m1, 0, 5 / Math.sqrt(N));
    expectClose(m2, 1, 5 * Math.sqrt(2 / N));
    expectClose(m3 / m2 ** 1.5, 0, 5 * Math.sqrt(6 / N));
    expectClose(m4 / (m2 * m2) - 3, 0, 5 * Math.sqrt(24 / N));
  });

  it('normal(mean, std) scales and shifts (float32 array too)', () => {
    const x = new Rng(8).normalArray(N, 10, 0.5);
    let s = 0;
    let q = 0;
    for (const v of x) {
      s += v;
      q += v * v;
    }
    const mean = s / N;
    const sd = Math.sqrt(q / N - mean * mean);
    expectClose(mean, 10, 5 * (0.5 / Math.sqrt(N)));
    // SE of a sample std is about std/sqrt(2N).
    expectClose(sd, 0.5, 5 * (0.5 / Math.sqrt(2 * N)));
  });

  it('int(n) has no modulo bias: frequencies of int(3) and of int(2^32 − 5) halves', () => {
    const r = new Rng(10);
    const counts = [0, 0, 0];
    for (let i = 0; i < 90_000; i++) counts[r.int(3)]++;
    // Binomial SE sqrt(N p (1 − p)) with p = 1/3.
    const se = Math.sqrt(90_000 * (1 / 3) * (2 / 3));
    for (const c of counts) expectClose(c, 30_000, 5 * se);
    // For n just below 2^32 a modulo draw would favour the low half; rejection keeps it 1/2.
    const n = 2 ** 32 - 5;
    let low = 0;
    for (let i = 0; i < 40_000; i++) if (r.int(n) < n / 2) low++;
    expectClose(low, 20_000, 5 * Math.sqrt(40_000 / 4));
  });

  it('int(n) handles n above 2^32 and n = 1', () => {
    const r = new Rng(12);
    const n = 2 ** 40 + 3;
    for (let i = 0; i < 1000; i++) {
      const k = r.int(n);
      expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
    }
    expect(r.int(1)).toBe(0);
  });

  it('permutation(n) is a permutation, and every position is uniform', () => {
    const r = new Rng(13);
    const p = r.permutation(1000);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(r.permutation(0).length).toBe(0);
    // Where does element 0 land among 4 positions over 40 000 permutations? 1/4 each.
    const pos = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) pos[r.permutation(4).indexOf(0)]++;
    const se = Math.sqrt(40_000 * 0.25 * 0.75);
    for (const c of pos) expectClose(c, 10_000, 5 * se);
  });

  it('shuffle works in place on arrays and typed arrays and returns the same object', () => {
    const r = new Rng(14);
    const xs = ['a', 'b', 'c', 'd', 'e'];
    expect(r.shuffle(xs)).toBe(xs);
    expect([...xs].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    const t = new Float32Array([1, 2, 3, 4, 5, 6]);
    expect(r.shuffle(t)).toBe(t);
    expect(Array.from(t).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('choice without replacement has no duplicates (sparse and dense paths)', () => {
    const r = new Rng(15);
    for (const [n, k] of [[1000, 10], [50, 50], [100, 60], [1, 1], [5, 0]] as const) {
      const c = r.choice(n, k);
      expect(c.length).toBe(k);
      expect(new Set(c).size).toBe(k);
      for (const v of c) expect(v >= 0 && v < n).toBe(true);
    }
  });

  it('choice without replacement includes each index with probability k/n', () => {
    const r = new Rng(16);
    const n = 100;
    const k = 5; // sparse path (k·16 < n)
    const trials = 20_000;
    const counts = new Float64Array(n);
    for (let t = 0; t < trials; t++) for (const v of r.choice(n, k)) counts[v]++;
    const p = k / n;
    const se = Math.sqrt(trials * p * (1 - p));
    for (const c of counts) expectClose(c, trials * p, 5 * se);
  });

  it('weighted choice with replacement matches p within 5 standard errors, zeros never drawn', () => {
    const p = [0.1, 0, 0.2, 0.3, 0.4];
    const k = 100_000;
    const draws = new Rng(17).choice(p.length, k, { replace: true, p });
    const counts = new Float64Array(p.length);
    for (const v of draws) counts[v]++;
    expect(counts[1]).toBe(0);
    p.forEach((pi, i) => expectClose(counts[i], k * pi, 5 * Math.sqrt(k * pi * (1 - pi)) + 1e-9));
    // Unnormalised weights mean the same thing.
    const again = new Rng(17).choice(p.length, k, { replace: true, p: p.map((v) => v * 7) });
    expect(Array.from(again)).toEqual(Array.from(draws));
  });

  it('weighted choice without replacement: first draw follows p, no duplicates, zeros excluded', () => {
    const r = new Rng(18);
    const p = [0.5, 0.25, 0.125, 0.125, 0];
    const trials = 40_000;
    const first = new Float64Array(p.length);
    let bad = 0;
    for (let t = 0; t < trials; t++) {
      const c = r.choice(p.length, 3, { p });
      if (new Set(c).size !== 3 || c.includes(4)) bad++;
      first[c[0]]++;
    }
    expect(bad).toBe(0);
    p.forEach((pi, i) => expectClose(first[i], trials * pi, 5 * Math.sqrt(trials * pi * (1 - pi)) + 1e-9));
    // Only four positive weights: a fifth distinct draw is impossible.
    expect(() => r.choice(5, 5, { p })).toThrow(ValueError);
  });
});

describe('Rng input validation', () => {
  it('rejects bad seeds with named errors', () => {
    expect(() => new Rng(1.5)).toThrow(ValueError);
    expect(() => new Rng(1.5)).toThrow(/Rng: argument 'seed'.*got 1.5/);
    expect(() => new Rng(Number.NaN)).toThrow(ValueError);
    expect(() => new Rng(Infinity)).toThrow(ValueError);
    expect(() => new Rng(2 ** 53)).toThrow(ValueError);
    expect(() => new Rng('1' as unknown as number)).toThrow(TypeError);
  });

  it('rejects bad arguments of the draw methods', () => {
    const r = new Rng(0);
    expect(() => r.uniform(1, 1)).toThrow(/Rng.uniform: arguments 'low' < 'high' required, got low 1 and high 1/);
    expect(() => r.uniform(0, Infinity)).toThrow(NonFiniteError);
    expect(() => r.normal(0, -1)).toThrow(/Rng.normal: argument 'std' must be >= 0, got -1/);
    expect(() => r.normal(Number.NaN)).toThrow(NonFiniteError);
    expect(() => r.int(0)).toThrow(/Rng.int: argument 'n' must be an integer in \[1, 2\^53\], got 0/);
    expect(() => r.int(2.5)).toThrow(ValueError);
    expect(() => r.permutation(-1)).toThrow(ValueError);
    expect(() => r.uniformArray(3, 2, 1)).toThrow(ValueError);
    expect(() => r.uniformArray(1, 1 + 1e-12, 1 + 2e-12)).toThrow(/no float32 value lies in/);
    expect(() => r.normalArray(2.5)).toThrow(ValueError);
    expect(() => r.shuffle('abc' as unknown as string[])).toThrow(TypeError);
  });

  it('rejects bad choice arguments', () => {
    const r = new Rng(0);
    expect(() => r.choice(3, 4)).toThrow(/Rng.choice: argument 'k' must be <= n \(3\) without replacement, got 4/);
    expect(() => r.choice(0, 1, { replace: true })).toThrow(ValueError);
    expect(() => r.choice(3, 1, { p: [1, 2] })).toThrow(ShapeError);
    expect(() => r.choice(3, 1, { p: [1, -1, 2] })).toThrow(/option 'p' must be non-negative, got -1 at index 1/);
    expect(() => r.choice(3, 1, { p: [1, Number.NaN, 2] })).toThrow(NonFiniteError);
    expect(() => r.choice(3, 1, { p: [0, 0, 0] })).toThrow(/positive, finite sum/);
    expect(r.choice(0, 0).length).toBe(0);
  });

  it('rejects malformed states', () => {
    expect(() => Rng.fromState([1, 2, 3])).toThrow(ShapeError);
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(ValueError);
    expect(() => Rng.fromState([1, 2, 3, 2 ** 32])).toThrow(ValueError);
    expect(() => Rng.fromState([1, 2, 3, 4, 2, 0])).toThrow(ValueError);
    expect(() => Rng.fromState([1, 2, 3, 4, 1, Number.NaN])).toThrow(ValueError);
  });
});

describe('toSeed', () => {
  it('passes an Rng through, seeds numbers, and defaults deterministically', () => {
    const r = new Rng(3);
    expect(toSeed(r)).toBe(r);
    expect(toSeed(5).state()).toEqual(new Rng(5).state());
    expect(toSeed(undefined).state()).toEqual(new Rng(0).state());
    expect(toSeed(undefined, 77).state()).toEqual(new Rng(77).state());
  });

  it('rejects non-seeds', () => {
    expect(() => toSeed(1.5)).toThrow(/toSeed: argument 'seedOrRng' must be a safe integer seed, got 1.5/);
    expect(() => toSeed('x' as unknown as number)).toThrow(TypeError);
    expect(() => toSeed(undefined, 0.5)).toThrow(ValueError);
  });
});

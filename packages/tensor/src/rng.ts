/**
 * Seeded pseudo-random numbers for every stochastic part of the toolkit.
 *
 * Generator choice: xoshiro128** (Blackman & Vigna, 2018) seeded through splitmix64.
 * - xoshiro128** needs only 32-bit xor, shift, rotate and `Math.imul`, which V8 compiles to
 *   single machine instructions on int32 values. PCG32 needs a 64×64-bit multiply per draw,
 *   which in JavaScript means BigInt or four 16-bit partial products: several times slower.
 * - It passes BigCrush and PractRand, has period 2^128 − 1 and 16 bytes of state, so a
 *   checkpoint is four integers.
 * - splitmix64 is the seeding its authors recommend: it maps every 64-bit seed to a well-mixed
 *   state (never the all-zero one), and its first output is a bijection of the seed, so
 *   different seeds give different states. Seeding runs once per generator, so it uses BigInt
 *   for an exact 64-bit implementation.
 *
 * The known-answer values in `rng.test.ts` come from the reference C code of both algorithms.
 */
import { NonFiniteError, ShapeError, ValueError, assert, describe } from './errors.js';

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;
const INV_TWO_53 = 1 / TWO_53;
const INV_TWO_24 = 1 / 16777216;
const TWO_PI = 2 * Math.PI;
/** Largest `n` for arrays returned as `Int32Array` (indices must fit). */
const MAX_INT32 = 2147483647;
const MASK64 = (1n << 64n) - 1n;
/** Domain separation between `new Rng(seed)` and the seed material of `fork()`. */
const FORK_TAG = 0xd1b54a32d192ed03n;

/** The four 32-bit state words produced by splitmix64 from a 64-bit seed. */
function splitmix64State(seed64: bigint): [number, number, number, number] {
  let x = seed64 & MASK64;
  const words: number[] = [];
  for (let i = 0; i < 2; i++) {
    x = (x + 0x9e3779b97f4a7c15n) & MASK64;
    let z = x;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    z ^= z >> 31n;
    words.push(Number(z & 0xffffffffn) | 0, Number(z >> 32n) | 0);
  }
  // All-zero is xoshiro's one fixed point; splitmix64 practically never yields it, but be exact.
  if ((words[0] | words[1] | words[2] | words[3]) === 0) words[3] = 1;
  return words as [number, number, number, number];
}

/** Any JavaScript array or typed array (not DataView): what `Rng.shuffle` accepts. */
export type ShuffleArray =
  | unknown[]
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** Options of {@link Rng.choice}. */
export interface ChoiceOptions {
  /** Draw with replacement (default false: every index at most once). */
  replace?: boolean;
  /** Weights of the `n` indices: non-negative, finite, positive sum; normalised internally. */
  p?: ArrayLike<number>;
}

function checkCount(fn: string, arg: string, value: unknown, max = MAX_INT32): number {
  if (typeof value !== 'number') throw new TypeError(`${fn}: argument '${arg}' must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new ValueError(`${fn}: argument '${arg}' must be an integer in [0, ${max}], got ${value}`, arg);
  }
  return value;
}

function checkFiniteNumber(fn: string, arg: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${fn}: argument '${arg}' must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value)) throw new NonFiniteError(`${fn}: argument '${arg}' must be finite, got ${value}`, arg, 0);
  return value;
}

function checkInterval(fn: string, low: unknown, high: unknown): number {
  const lo = checkFiniteNumber(fn, 'low', low);
  const hi = checkFiniteNumber(fn, 'high', high);
  assert(lo < hi, () => new ValueError(`${fn}: arguments 'low' < 'high' required, got low ${lo} and high ${hi}`, 'high'));
  const span = hi - lo;
  assert(Number.isFinite(span), () => new ValueError(`${fn}: 'high' − 'low' must be finite, got ${hi} − ${lo}`, 'high'));
  return span;
}

function checkStd(fn: string, mean: unknown, std: unknown): void {
  checkFiniteNumber(fn, 'mean', mean);
  const s = checkFiniteNumber(fn, 'std', std);
  assert(s >= 0, () => new ValueError(`${fn}: argument 'std' must be >= 0, got ${s}`, 'std'));
}

/** Validates choice weights; returns them as float64 (their sum is positive and finite). */
function checkWeights(fn: string, n: number, p: ArrayLike<number>): Float64Array {
  assert(
    p !== null && typeof p === 'object' && typeof p.length === 'number',
    () => new TypeError(`${fn}: option 'p' must be an array of numbers, got ${describe(p)}`),
  );
  assert(
    p.length === n,
    () => new ShapeError(`${fn}: option 'p' must have length n = ${n}, got length ${p.length}`, { expected: `[${n}]`, received: [p.length] }),
  );
  const w = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = p[i];
    if (typeof v !== 'number') throw new TypeError(`${fn}: option 'p' must hold numbers, got ${describe(v)} at index ${i}`);
    if (!Number.isFinite(v)) throw new NonFiniteError(`${fn}: option 'p' must hold finite numbers, got ${v} at index ${i}`, 'p', i);
    if (v < 0) throw new ValueError(`${fn}: option 'p' must be non-negative, got ${v} at index ${i}`, 'p');
    w[i] = v;
    total += v;
  }
  assert(
    n === 0 || (total > 0 && Number.isFinite(total)),
    () => new ValueError(`${fn}: option 'p' must have a positive, finite sum, got ${total}`, 'p'),
  );
  return w;
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
/** Smallest float32 value that is >= x (x finite and within float32 range). */
function float32AtLeast(x: number): number {
  const r = Math.fround(x);
  if (r >= x) return r;
  f32[0] = r;
  // Next float32 towards +∞: the bit pattern steps up for positives, down for negatives.
  if (r > 0) i32[0] += 1;
  else if (r < 0) i32[0] -= 1;
  else return 1.401298464324817e-45;
  return f32[0];
}

/**
 * A seeded xoshiro128** generator. Same seed, same stream, on every platform: the state is
 * four 32-bit integers and every draw is integer arithmetic, so results do not depend on the
 * JavaScript engine (normals use `Math.log`/`Math.cos`, which V8 computes with fdlibm and are
 * identical across platforms for a given Node major version).
 *
 * @example
 * const rng = new Rng(42);
 * rng.uniform();            // a number in [0, 1)
 * rng.normal(0, 2);         // a draw from N(0, 4)
 * rng.permutation(5);       // Int32Array [3, 0, 4, 1, 2] (some order)
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** Box–Muller makes normals in pairs; the second is kept here so the stream is exact. */
  private hasSpare = false;
  private spare = 0;

  /**
   * @param seed - Any integer with |seed| ≤ 2^53 − 1 (negative values are fine). Every distinct
   *   seed gives a distinct state.
   * @throws TypeError if `seed` is not a number.
   * @throws ValueError if `seed` is not a finite, safe integer.
   * @example
   * const a = new Rng(7), b = new Rng(7);
   * a.uniform() === b.uniform(); // true
   */
  constructor(seed: number) {
    if (typeof seed !== 'number') throw new TypeError(`Rng: argument 'seed' must be an integer, got ${describe(seed)}`);
    assert(
      Number.isSafeInteger(seed),
      () => new ValueError(`Rng: argument 'seed' must be an integer with |seed| <= 2^53 - 1, got ${seed}`, 'seed'),
    );
    this.setWords(splitmix64State(BigInt(seed)));
  }

  private setWords(w: readonly number[]): void {
    this.s0 = w[0] | 0;
    this.s1 = w[1] | 0;
    this.s2 = w[2] | 0;
    this.s3 = w[3] | 0;
  }

  /**
   * Next raw output: a uniform integer in [0, 2^32).
   *
   * @returns An unsigned 32-bit integer.
   * @example
   * new Rng(0).uint32(); // an integer in [0, 4294967295]
   */
  uint32(): number {
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const s2 = this.s2 ^ this.s0;
    const s3 = this.s3 ^ s1;
    this.s1 = s1 ^ s2;
    this.s0 = this.s0 ^ s3;
    this.s2 = s2 ^ t;
    this.s3 = (s3 << 11) | (s3 >>> 21);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits (two draws, as numpy's `random()`). */
  private next53(): number {
    const a = this.uint32() >>> 5;
    const b = this.uint32() >>> 6;
    return (a * 67108864 + b) * INV_TWO_53;
  }

  /**
   * Uniform double with 53 random bits: in [0, 1) with no arguments, in [low, high) with two.
   *
   * @param low - Lower bound, included (default 0).
   * @param high - Upper bound, excluded (default 1); must be > `low`.
   * @returns A number `u` with `low <= u < high`.
   * @throws ValueError if `low >= high` or either is not finite.
   * @example
   * const rng = new Rng(1);
   * rng.uniform();        // in [0, 1)
   * rng.uniform(-2, 2);   // in [-2, 2)
   */
  uniform(low?: number, high?: number): number {
    if (low === undefined && high === undefined) return this.next53();
    const lo = low ?? 0;
    const hi = high ?? 1;
    const span = checkInterval('Rng.uniform', lo, hi);
    for (;;) {
      const v = lo + span * this.next53();
      // Rounding can land exactly on `high`; redraw rather than clamp so the law stays uniform.
      if (v < hi) return v;
    }
  }

  /**
   * Standard normal draw by Box–Muller on 53-bit uniforms, scaled to `mean + std·z`. Draws
   * come in pairs; the second is cached (and included in {@link Rng.state}), so a stream of
   * `normal()` calls is reproducible from any checkpoint.
   *
   * @param mean - Mean (default 0).
   * @param std - Standard deviation, >= 0 (default 1).
   * @returns A draw from N(mean, std²).
   * @throws ValueError if `mean` or `std` is not finite or `std < 0`.
   * @example
   * const z = new Rng(3).normal();       // N(0, 1)
   * const y = new Rng(3).normal(10, 2);  // 10 + 2·z
   */
  normal(mean = 0, std = 1): number {
    if (mean !== 0 || std !== 1) checkStd('Rng.normal', mean, std);
    return mean + std * this.standardNormal();
  }

  private standardNormal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    // 1 − u is in (0, 1], so the log is finite; |z| ≤ sqrt(2·53·ln 2) ≈ 8.6.
    const r = Math.sqrt(-2 * Math.log(1 - this.next53()));
    const theta = TWO_PI * this.next53();
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  /**
   * Uniform integer in [0, n) with no modulo bias (rejection of the incomplete last block).
   *
   * @param n - Number of outcomes: an integer in [1, 2^53].
   * @returns An integer `k` with `0 <= k < n`.
   * @throws ValueError if `n` is not an integer in [1, 2^53].
   * @example
   * new Rng(0).int(6); // a fair die roll minus one
   */
  int(n: number): number {
    if (typeof n !== 'number') throw new TypeError(`Rng.int: argument 'n' must be a number, got ${describe(n)}`);
    assert(
      Number.isInteger(n) && n >= 1 && n <= TWO_53,
      () => new ValueError(`Rng.int: argument 'n' must be an integer in [1, 2^53], got ${n}`, 'n'),
    );
    if (n <= TWO_32) return this.below32(n);
    const limit = TWO_53 - (TWO_53 % n);
    for (;;) {
      const r = (this.uint32() >>> 0) * 2097152 + (this.uint32() >>> 11);
      if (r < limit) return r % n;
    }
  }

  /** Unbiased integer in [0, n) for 1 <= n <= 2^32 (no validation: internal). */
  private below32(n: number): number {
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const x = this.uint32();
      if (x < limit) return x % n;
    }
  }

  /**
   * A uniformly random permutation of 0..n−1 (Fisher–Yates).
   *
   * @param n - Length, an integer in [0, 2^31 − 1].
   * @returns A new `Int32Array` holding each of 0..n−1 once.
   * @throws ValueError if `n` is not a non-negative integer.
   * @example
   * new Rng(5).permutation(4); // e.g. Int32Array [2, 0, 3, 1]
   */
  permutation(n: number): Int32Array {
    checkCount('Rng.permutation', 'n', n);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }

  /**
   * Shuffles an array or typed array in place (Fisher–Yates), every order equally likely.
   *
   * @param array - The array to reorder; it is modified.
   * @returns The same `array`, for chaining.
   * @throws TypeError if `array` is not an array or a typed array.
   * @example
   * const xs = ['a', 'b', 'c'];
   * new Rng(9).shuffle(xs); // xs is now some order of a, b, c
   */
  shuffle<A extends ShuffleArray>(array: A): A {
    assert(
      Array.isArray(array) || (ArrayBuffer.isView(array) && !(array instanceof DataView)),
      () => new TypeError(`Rng.shuffle: argument 'array' must be an array or a typed array, got ${describe(array)}`),
    );
    const a = array as unknown as { [i: number]: unknown; length: number };
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below32(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return array;
  }

  /**
   * Draws `k` indices from 0..n−1: uniformly or by weights `p`, with or without replacement.
   * Without replacement the result is in draw order (a uniformly random ordered sample; with
   * weights, successive sampling as numpy's `choice(replace=False, p=...)`, done with the
   * Efraimidis–Spirakis keys).
   *
   * @param n - Population size, an integer in [0, 2^31 − 1].
   * @param k - Sample size; without replacement at most `n` (and at most the number of
   *   positive weights).
   * @param opts - `replace` (default false) and weights `p` of length `n`.
   * @returns An `Int32Array` of `k` indices.
   * @throws ValueError if `k > n` without replacement, if `n = 0 < k`, or if `p` has negative
   *   entries, a zero sum or too few positive entries.
   * @throws NonFiniteError if `p` holds NaN or ±Infinity.
   * @throws ShapeError if `p.length !== n`.
   * @example
   * const rng = new Rng(0);
   * rng.choice(10, 3);                                  // 3 distinct indices
   * rng.choice(3, 5, { replace: true, p: [0.2, 0.3, 0.5] });
   */
  choice(n: number, k: number, opts: ChoiceOptions = {}): Int32Array {
    const fn = 'Rng.choice';
    checkCount(fn, 'n', n);
    checkCount(fn, 'k', k);
    const replace = opts.replace ?? false;
    if (typeof replace !== 'boolean') {
      throw new TypeError(`${fn}: option 'replace' must be a boolean, got ${describe(replace)}`);
    }
    if (!replace) {
      assert(k <= n, () => new ValueError(`${fn}: argument 'k' must be <= n (${n}) without replacement, got ${k}`, 'k'));
    } else {
      assert(n > 0 || k === 0, () => new ValueError(`${fn}: argument 'n' must be >= 1 to draw k = ${k} samples, got 0`, 'n'));
    }
    const out = new Int32Array(k);
    if (opts.p !== undefined) {
      const w = checkWeights(fn, n, opts.p);
      if (replace) this.choiceWeighted(w, out);
      else this.choiceWeightedNoReplace(fn, w, out);
      return out;
    }
    if (replace) {
      for (let i = 0; i < k; i++) out[i] = this.below32(n);
    } else if (k * 16 < n) {
      // Sparse Fisher–Yates: only the swapped positions are stored, O(k) memory and time.
      const moved = new Map<number, number>();
      for (let i = 0; i < k; i++) {
        const j = i + this.below32(n - i);
        const vj = moved.get(j) ?? j;
        out[i] = vj;
        moved.set(j, moved.get(i) ?? i);
      }
    } else {
      const pool = new Int32Array(n);
      for (let i = 0; i < n; i++) pool[i] = i;
      for (let i = 0; i < k; i++) {
        const j = i + this.below32(n - i);
        const t = pool[j];
        pool[j] = pool[i];
        pool[i] = t;
        out[i] = t;
      }
    }
    return out;
  }

  private choiceWeighted(w: Float64Array, out: Int32Array): void {
    const n = w.length;
    const cdf = new Float64Array(n);
    let total = 0;
    let lastPositive = 0;
    for (let i = 0; i < n; i++) {
      total += w[i];
      cdf[i] = total;
      if (w[i] > 0) lastPositive = i;
    }
    for (let s = 0; s < out.length; s++) {
      const x = this.next53() * total;
      // First index with cdf > x; zero-weight indices (cdf equal to the previous) never qualify.
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cdf[mid] > x) hi = mid;
        else lo = mid + 1;
      }
      // x can round up to the total; then the last positive weight is the right outcome.
      out[s] = lo < n ? lo : lastPositive;
    }
  }

  private choiceWeightedNoReplace(fn: string, w: Float64Array, out: Int32Array): void {
    const k = out.length;
    const keys: number[] = [];
    const idx: number[] = [];
    for (let i = 0; i < w.length; i++) {
      if (w[i] > 0) {
        // Efraimidis–Spirakis: the k largest u^(1/w), here log(u)/w, in decreasing order are
        // distributed as k successive weighted draws without replacement.
        keys.push(Math.log(1 - this.next53()) / w[i]);
        idx.push(i);
      }
    }
    assert(
      k <= idx.length,
      () => new ValueError(`${fn}: argument 'k' must be <= the number of positive weights in 'p' (${idx.length}) without replacement, got ${k}`, 'k'),
    );
    const order = idx.map((_, j) => j).sort((a, b) => keys[b] - keys[a] || a - b);
    for (let s = 0; s < k; s++) out[s] = idx[order[s]];
  }

  /**
   * `n` uniform draws in [low, high) as float32 (24 random bits each, as numpy's float32
   * `random`). Values that round onto `high` in float32 are redrawn, so every value is < high.
   *
   * @param n - Length, an integer in [0, 2^31 − 1].
   * @param low - Lower bound, included (default 0).
   * @param high - Upper bound, excluded (default 1).
   * @returns A new `Float32Array` of length `n`.
   * @throws ValueError if `low >= high`, either is not finite, or no float32 lies in [low, high).
   * @example
   * new Rng(0).uniformArray(3, -1, 1); // Float32Array of 3 values in [-1, 1)
   */
  uniformArray(n: number, low = 0, high = 1): Float32Array {
    const fn = 'Rng.uniformArray';
    checkCount(fn, 'n', n);
    const span = checkInterval(fn, low, high);
    const out = new Float32Array(n);
    if (low === 0 && high === 1) {
      for (let i = 0; i < n; i++) out[i] = (this.uint32() >>> 8) * INV_TWO_24;
      return out;
    }
    const lo32 = float32AtLeast(low);
    assert(lo32 < high, () => new ValueError(`${fn}: no float32 value lies in [low, high) = [${low}, ${high})`, 'high'));
    for (let i = 0; i < n; i++) {
      let v: number;
      do v = Math.fround(low + span * ((this.uint32() >>> 8) * INV_TWO_24));
      while (v < low || v >= high);
      out[i] = v;
    }
    return out;
  }

  /**
   * `n` uniform draws in [low, high) as float64 with 53 random bits each; the same numbers as
   * `n` calls to `uniform(low, high)`.
   *
   * @param n - Length, an integer in [0, 2^31 − 1].
   * @param low - Lower bound, included (default 0).
   * @param high - Upper bound, excluded (default 1).
   * @returns A new `Float64Array` of length `n`.
   * @throws ValueError if `low >= high` or either is not finite.
   * @example
   * new Rng(0).uniformArray64(3); // Float64Array of 3 values in [0, 1)
   */
  uniformArray64(n: number, low = 0, high = 1): Float64Array {
    checkCount('Rng.uniformArray64', 'n', n);
    const span = checkInterval('Rng.uniformArray64', low, high);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let v: number;
      do v = low + span * this.next53();
      while (v >= high);
      out[i] = v;
    }
    return out;
  }

  /**
   * `n` normal draws N(mean, std²) rounded to float32; the same draws as `n` calls to
   * `normal(mean, std)` (including the cached spare).
   *
   * @param n - Length, an integer in [0, 2^31 − 1].
   * @param mean - Mean (default 0).
   * @param std - Standard deviation, >= 0 (default 1).
   * @returns A new `Float32Array` of length `n`.
   * @throws ValueError if `mean`/`std` is not finite or `std < 0`.
   * @example
   * new Rng(0).normalArray(1000, 0, 0.1); // e.g. initial weights
   */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    checkCount('Rng.normalArray', 'n', n);
    checkStd('Rng.normalArray', mean, std);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.standardNormal();
    return out;
  }

  /**
   * `n` normal draws N(mean, std²) as float64; the same numbers as `n` calls to
   * `normal(mean, std)`.
   *
   * @param n - Length, an integer in [0, 2^31 − 1].
   * @param mean - Mean (default 0).
   * @param std - Standard deviation, >= 0 (default 1).
   * @returns A new `Float64Array` of length `n`.
   * @throws ValueError if `mean`/`std` is not finite or `std < 0`.
   * @example
   * new Rng(0).normalArray64(4); // Float64Array of 4 standard normals
   */
  normalArray64(n: number, mean = 0, std = 1): Float64Array {
    checkCount('Rng.normalArray64', 'n', n);
    checkStd('Rng.normalArray64', mean, std);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.standardNormal();
    return out;
  }

  /**
   * A fresh non-negative 31-bit integer, to seed another generator (tfjs random ops take
   * integer seeds). Advances this generator by one draw.
   *
   * @returns An integer in [0, 2^31 − 1].
   * @example
   * const seed = new Rng(0).seed32(); // pass to tf.randomNormal(shape, 0, 1, 'float32', seed)
   */
  seed32(): number {
    return this.uint32() >>> 1;
  }

  /**
   * A child generator with its own stream, derived deterministically from this one: 64 bits
   * drawn from this generator (which advances it by two draws) seed the child through
   * splitmix64. Children of children are fine: streams start at unrelated points of the 2^128
   * period, so overlap within any practical run length has negligible probability.
   *
   * @returns A new `Rng`.
   * @example
   * const parent = new Rng(1);
   * const a = parent.fork(), b = parent.fork(); // independent of each other and of parent
   */
  fork(): Rng {
    const lo = BigInt(this.uint32() >>> 0);
    const hi = BigInt(this.uint32() >>> 0);
    const child = new Rng(0);
    child.setWords(splitmix64State(((hi << 32n) | lo) ^ FORK_TAG));
    return child;
  }

  /**
   * The whole generator state, for checkpointing: `[s0, s1, s2, s3, hasSpare, spare]` with the
   * four xoshiro words as unsigned 32-bit integers, `hasSpare` 0 or 1 and the cached normal.
   * Plain numbers, so it survives `JSON.stringify` exactly.
   *
   * @returns A new array of 6 numbers.
   * @example
   * const rng = new Rng(2);
   * const saved = rng.state();
   * const x = rng.uniform();
   * Rng.fromState(saved).uniform() === x; // true
   */
  state(): number[] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.hasSpare ? 1 : 0, this.hasSpare ? this.spare : 0];
  }

  /**
   * Rebuilds a generator from {@link Rng.state}. A 4-element state (words only) is accepted too.
   *
   * @param state - `[s0, s1, s2, s3]` or `[s0, s1, s2, s3, hasSpare, spare]`.
   * @returns A new `Rng` that continues exactly where the saved one was.
   * @throws TypeError if `state` is not an array of numbers.
   * @throws ShapeError if its length is not 4 or 6.
   * @throws ValueError if a word is not an integer in [0, 2^32), all words are zero, `hasSpare`
   *   is not 0/1 or `spare` is not finite.
   * @example
   * const copy = Rng.fromState(new Rng(3).state());
   */
  static fromState(state: ArrayLike<number>): Rng {
    const fn = 'Rng.fromState';
    assert(
      state !== null && typeof state === 'object' && typeof state.length === 'number',
      () => new TypeError(`${fn}: argument 'state' must be an array of numbers, got ${describe(state)}`),
    );
    assert(
      state.length === 4 || state.length === 6,
      () => new ShapeError(`${fn}: argument 'state' must have length 4 or 6, got ${state.length}`, { expected: '[4] or [6]', received: [state.length] }),
    );
    for (let i = 0; i < 4; i++) {
      const w = state[i];
      if (typeof w !== 'number') throw new TypeError(`${fn}: argument 'state' must hold numbers, got ${describe(w)} at index ${i}`);
      assert(
        Number.isInteger(w) && w >= 0 && w < TWO_32,
        () => new ValueError(`${fn}: argument 'state' word ${i} must be an integer in [0, 2^32), got ${w}`, 'state'),
      );
    }
    assert(
      (state[0] | state[1] | state[2] | state[3]) !== 0,
      () => new ValueError(`${fn}: argument 'state' must not have all four words zero (xoshiro's fixed point)`, 'state'),
    );
    const rng = new Rng(0);
    rng.setWords([state[0], state[1], state[2], state[3]]);
    if (state.length === 6) {
      const has = state[4];
      const spare = state[5];
      assert(has === 0 || has === 1, () => new ValueError(`${fn}: argument 'state' entry 4 (hasSpare) must be 0 or 1, got ${describe(has)}`, 'state'));
      assert(
        typeof spare === 'number' && Number.isFinite(spare),
        () => new ValueError(`${fn}: argument 'state' entry 5 (spare normal) must be finite, got ${describe(spare)}`, 'state'),
      );
      rng.hasSpare = has === 1;
      rng.spare = has === 1 ? spare : 0;
    }
    return rng;
  }
}

/**
 * Turns a `seed` option or an `rng` option into an `Rng`. An `Rng` is returned as is (the
 * caller shares and advances it); a number seeds a new generator; `undefined` seeds a new
 * generator with `fallback`, or with 0 when there is no fallback. There is deliberately no
 * time- or `Math.random`-based default: the project rule is same inputs, same results, so
 * leaving out the seed gives a fixed, documented one.
 *
 * @param seedOrRng - A seed (safe integer), an `Rng`, or `undefined`.
 * @param fallback - Seed used when `seedOrRng` is undefined (default 0).
 * @returns An `Rng`.
 * @throws TypeError if `seedOrRng` is neither a number, an `Rng` nor undefined.
 * @throws ValueError if a seed is not a safe integer.
 * @example
 * function init(opts: { seed?: number; rng?: Rng } = {}) {
 *   const rng = toSeed(opts.rng ?? opts.seed);  // deterministic even with no options
 *   return rng.normalArray(10);
 * }
 */
export function toSeed(seedOrRng: number | Rng | undefined, fallback?: number): Rng {
  if (seedOrRng instanceof Rng) return seedOrRng;
  if (seedOrRng === undefined) {
    if (fallback === undefined) return new Rng(0);
    if (typeof fallback !== 'number' || !Number.isSafeInteger(fallback)) {
      throw new ValueError(`toSeed: argument 'fallback' must be a safe integer seed, got ${describe(fallback)}`, 'fallback');
    }
    return new Rng(fallback);
  }
  if (typeof seedOrRng !== 'number') {
    throw new TypeError(`toSeed: argument 'seedOrRng' must be a seed (integer), an Rng or undefined, got ${describe(seedOrRng)}`);
  }
  if (!Number.isSafeInteger(seedOrRng)) {
    throw new ValueError(`toSeed: argument 'seedOrRng' must be a safe integer seed, got ${seedOrRng}`, 'seedOrRng');
  }
  return new Rng(seedOrRng);
}

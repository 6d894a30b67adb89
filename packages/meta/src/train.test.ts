import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, ready, BatchNorm, Linear, Module, Sequential, ValueError, mlp } from '@x/tensor';
import type { StateDict } from '@x/tensor';
import { expectClose } from '@x/test-utils';
import { evaluateEpisodes, loadCheckpoint, meanCI, metaTrain, nearestNeighbourPredict, queryAccuracy, saveCheckpoint } from './index.js';
import type { Episode, MetaProgress } from './index.js';

let dir: string;
beforeAll(async () => {
  await ready('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x-meta-train-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh empty folder inside the test's temp folder. */
let sub = 0;
const freshDir = () => {
  const d = path.join(dir, String(sub++));
  fs.mkdirSync(d);
  return d;
};

/** Raw bytes of every entry, for bitwise comparison. */
const bytes = (s: StateDict) => Object.fromEntries(Object.entries(s).map(([k, e]) => [k, { shape: e.shape, dtype: e.dtype, bytes: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('hex') }]));

describe('meanCI', () => {
  it('returns the mean and 1.96 · s / √n with the n − 1 standard deviation', () => {
    // [0.2, 0.4, 0.6]: mean 0.4, s² = (0.04 + 0 + 0.04) / 2 = 0.04, s = 0.2, ci = 1.96 · 0.2 / √3.
    const a = meanCI([0.2, 0.4, 0.6]);
    expectClose([a.accuracy, a.ci95], [0.4, (1.96 * 0.2) / Math.sqrt(3)], 1e-12);
    expect(a.episodes).toBe(3);
    // [0.5, 0.7, 0.6, 0.9]: mean 0.675, Σ(v − m)² = 0.030625 + 0.000625 + 0.005625 + 0.050625 = 0.0875,
    // s = √(0.0875 / 3), ci = 1.96 · s / 2.
    const b = meanCI(Float64Array.from([0.5, 0.7, 0.6, 0.9]));
    expectClose([b.accuracy, b.ci95], [0.675, 0.98 * Math.sqrt(0.0875 / 3)], 1e-12);
    // Five 0.6 and one 0.8: mean 19/30, Σ(v − m)² = 5/900 + 25/900 = 1/30, s² = 1/150, ci = 1.96 · √(1/900) = 1.96/30.
    const c = meanCI([0.6, 0.6, 0.6, 0.6, 0.6, 0.8]);
    expectClose([c.accuracy, c.ci95], [19 / 30, 1.96 / 30], 1e-12);
    // The population std (÷ n: s² = 1/180) would give 1.96/√1080 ≈ 0.0596, not 0.0653.
    expect(Math.abs(c.ci95 - 1.96 / Math.sqrt(1080))).toBeGreaterThan(0.005);
    // No spread, no interval.
    expect(meanCI([0.5, 0.5]).ci95).toBe(0);
  });

  it('throws a ValueError for fewer than 2 values or a non-finite one', () => {
    for (const bad of [[], [0.5], [0.5, NaN], [0.5, Infinity, 0.2], undefined]) {
      expect(() => meanCI(bad as number[])).toThrow(ValueError);
      expect(() => meanCI(bad as number[])).toThrow(/meanCI: argument 'values'/);
    }
  });
});

describe('evaluateEpisodes', () => {
  it('runs accuracyOf on `episodes` sampled episodes and reports progress; the result is meanCI of the accuracies', () => {
    const accs = [0.5, 0.7, 0.6, 0.9];
    let drawn = 0;
    const seen: number[] = [];
    const progress: Array<[number, number]> = [];
    const r = evaluateEpisodes(
      () => ({ ways: drawn++ }) as unknown as Episode,
      (ep) => {
        seen.push(ep.ways);
        return accs[ep.ways];
      },
      4,
      (done, total) => progress.push([done, total]),
    );
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(progress).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
    expectClose([r.accuracy, r.ci95], [0.675, 0.98 * Math.sqrt(0.0875 / 3)], 1e-12);
    expect(r.episodes).toBe(4);
  });

  it('throws a ValueError for fewer than 2 episodes', () => {
    expect(() => evaluateEpisodes(() => ({}) as Episode, () => 1, 1)).toThrow(ValueError);
    expect(() => evaluateEpisodes(() => ({}) as Episode, () => 1, 2.5)).toThrow(/argument 'episodes'/);
  });
});

describe('nearestNeighbourPredict and queryAccuracy', () => {
  /** A hand-made episode with 2-D rows. */
  const episode = (support: number[][], supportY: number[], query: number[][], queryY: number[], ways: number): Episode => ({
    ways,
    shots: supportY.length / ways,
    queries: queryY.length / ways,
    dim: 2,
    classes: Array.from({ length: ways }, (_, i) => i),
    supportX: Float32Array.from(support.flat()),
    supportY: Int32Array.from(supportY),
    queryX: Float32Array.from(query.flat()),
    queryY: Int32Array.from(queryY),
    supportIndex: Int32Array.from(supportY, (_, i) => i),
    queryIndex: Int32Array.from(queryY, (_, i) => 100 + i),
  });

  it('gives each query the label of the closest support row, ties to the first', () => {
    const ep = episode(
      [[0, 0], [10, 0], [0, 10]],
      [0, 1, 2],
      // (5, 5.1): 51.01 to (0,0) and (10,0), 49.01 to (0,10). (5, 0): 25 to both (0,0) and (10,0): the first wins.
      [[1, 1], [9, -1], [-1, 8], [5, 5.1], [5, 0], [0, 4.9]],
      [0, 1, 2, 2, 1, 2],
      3,
    );
    const p = nearestNeighbourPredict(ep);
    expect(Array.from(p)).toEqual([0, 1, 2, 2, 0, 0]);
    expect(queryAccuracy(ep, p)).toBe(4 / 6);
  });

  it('uses the nearest row, not the nearest class mean (2-shot)', () => {
    // Class 0 at (0,0) and (10,0) has its mean at (5,0); class 1 at (4,3) and (6,3) at (5,3).
    // (9.5, 0.5) is nearest to the row (10,0) → 0; (5, 0.5) is nearest the mean of class 0 but the row (4,3)/(6,3) (7.25) beats (0,0)/(10,0) (25.25) → 1.
    const ep = episode([[0, 0], [10, 0], [4, 3], [6, 3]], [0, 0, 1, 1], [[9.5, 0.5], [5, 0.5]], [0, 0], 2);
    expect(Array.from(nearestNeighbourPredict(ep))).toEqual([0, 1]);
  });

  it('queryAccuracy throws a ValueError for a wrong number of predictions', () => {
    const ep = episode([[0, 0], [1, 1]], [0, 1], [[0, 0], [1, 1]], [0, 1], 2);
    expect(queryAccuracy(ep, [0, 1])).toBe(1);
    expect(queryAccuracy(ep, [1, 0])).toBe(0);
    expect(() => queryAccuracy(ep, [0])).toThrow(ValueError);
    expect(() => queryAccuracy(ep, [0])).toThrow(/argument 'predicted' must have 2 labels, got 1/);
  });
});

describe('saveCheckpoint / loadCheckpoint', () => {
  /** An MLP with batch norm whose running statistics moved, and a few awkward float32 values. */
  function trainedLooking(seed: number): Module {
    const m = mlp([3, 4, 2], { seed, batchNorm: true });
    tf.tidy(() => {
      m.forward(tf.tensor2d([[1, 2, 3], [-1, 0.5, 2], [0, 0, 7]]));
    });
    const s = m.stateDict();
    const w = s['0.weight'].data as Float32Array;
    w[0] = -0; // sign of zero
    w[1] = 1e-45; // denormal
    w[2] = 1 / 3; // not exact in decimal
    w[3] = -3.4028234663852886e38; // −max float32
    m.loadStateDict(s);
    return m;
  }

  it('round-trips parameters and buffers bit for bit through a real file, with meta', () => {
    const d = freshDir();
    const file = path.join(d, 'ckpt.json');
    const a = trainedLooking(0);
    const meta = { iteration: 7, accuracy: 0.625, note: 'best' };
    saveCheckpoint(file, a, meta);
    expect(fs.readdirSync(d)).toEqual(['ckpt.json']);
    const b = trainedLooking(1);
    expect(bytes(b.stateDict())).not.toEqual(bytes(a.stateDict()));
    const r = loadCheckpoint(file, b);
    expect(r.meta).toEqual(meta);
    expect(bytes(r.state)).toEqual(bytes(a.stateDict()));
    expect(bytes(b.stateDict())).toEqual(bytes(a.stateDict()));
    expect(Object.is(b.stateDict()['0.weight'].data[0], -0)).toBe(true);
    // Running statistics (buffers) are in it too.
    expect(Object.keys(r.state).some((k) => k.includes('running_mean'))).toBe(true);
    // Without a module it only reads; a state dict can be saved directly.
    const file2 = path.join(d, 'nested', 'state.json');
    saveCheckpoint(file2, r.state);
    expect(bytes(loadCheckpoint(file2).state)).toEqual(bytes(a.stateDict()));
    a.dispose();
    b.dispose();
  });

  it('writes atomically: no temporary file is left, an existing checkpoint is replaced, a failed write leaves nothing behind', () => {
    const d = freshDir();
    const file = path.join(d, 'ckpt.json');
    const a = trainedLooking(0);
    const b = trainedLooking(1);
    saveCheckpoint(file, a, { which: 'a' });
    saveCheckpoint(file, b, { which: 'b' });
    expect(fs.readdirSync(d)).toEqual(['ckpt.json']);
    const r = loadCheckpoint(file);
    expect(r.meta).toEqual({ which: 'b' });
    expect(bytes(r.state)).toEqual(bytes(b.stateDict()));
    // The destination is a folder: the rename fails, and the temporary file is removed.
    const blocked = path.join(d, 'blocked');
    fs.mkdirSync(blocked);
    expect(() => saveCheckpoint(blocked, a)).toThrow();
    expect(fs.readdirSync(d).sort()).toEqual(['blocked', 'ckpt.json']);
    expect(() => saveCheckpoint('', a)).toThrow(TypeError);
    a.dispose();
    b.dispose();
  });

  it('throws a ValueError for a file that is not a checkpoint, and leaves the module unchanged', () => {
    const d = freshDir();
    const m = trainedLooking(0);
    const before = bytes(m.stateDict());
    const cases: Array<[string, string]> = [
      ['other.json', JSON.stringify({ format: 'something-else', entries: {} })],
      ['null.json', 'null'],
      ['text.txt', 'this is not JSON'],
      ['empty.json', ''],
      ['no-entries.json', JSON.stringify({ format: 'x-meta-checkpoint', version: 1 })],
      ['future.json', JSON.stringify({ format: 'x-meta-checkpoint', version: 2, entries: {} })],
    ];
    for (const [name, body] of cases) {
      const file = path.join(d, name);
      fs.writeFileSync(file, body);
      expect(() => loadCheckpoint(file, m)).toThrow(ValueError);
      expect(() => loadCheckpoint(file, m)).toThrow(/loadCheckpoint: .* is not an @x\/meta checkpoint/);
    }
    expect(bytes(m.stateDict())).toEqual(before);
    m.dispose();
  });
});

describe('metaTrain', () => {
  /** A module with parameters and batch-norm buffers; `setAll(v)` sets every parameter to v and every buffer to v + 0.5. */
  function probe() {
    const module = new Sequential(new Linear(2, 3, { seed: 0 }), new BatchNorm(3));
    const setAll = (v: number) =>
      tf.tidy(() => {
        for (const p of module.namedParameters().values()) p.assign(tf.fill(p.shape, v));
        for (const b of module.namedBuffers().values()) b.assign(tf.fill(b.shape, v + 0.5));
      });
    return { module, setAll };
  }

  it('calls step `iterations` times, validates every `every` and at the end, checkpoints each improvement and restores the best', () => {
    const d = freshDir();
    const file = path.join(d, 'best.json');
    const { module, setAll } = probe();
    // Validation at 3, 6, 9 and (the end) 10; the best is at 6.
    const accuracyAt: Record<number, number> = { 3: 0.5, 6: 0.8, 9: 0.7, 10: 0.6 };
    const calls: number[] = [];
    const onDisk: Array<number | null> = []; // iteration of the checkpoint on disk when step(it) starts
    const snapshots = new Map<number, ReturnType<typeof bytes>>();
    let current = 0;
    const validated: number[] = [];
    const r = metaTrain({
      iterations: 10,
      step: (it) => {
        calls.push(it);
        onDisk.push(fs.existsSync(file) ? (loadCheckpoint(file).meta as { iteration: number }).iteration : null);
        setAll(it);
        snapshots.set(it, bytes(module.stateDict()));
        current = it;
        return 1 / it;
      },
      validate: {
        every: 3,
        run: () => {
          validated.push(current);
          return accuracyAt[current];
        },
      },
      checkpoint: { file, module },
    });
    expect(calls).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(validated).toEqual([3, 6, 9, 10]);
    expect(r.losses).toEqual(calls.map((i) => 1 / i));
    expect(r.validation).toEqual([
      { iteration: 3, accuracy: 0.5 },
      { iteration: 6, accuracy: 0.8 },
      { iteration: 9, accuracy: 0.7 },
      { iteration: 10, accuracy: 0.6 },
    ]);
    expect(r.best).toEqual({ iteration: 6, accuracy: 0.8 });
    // Saved at 3 (first), at 6 (better), not at 9 or 10 (worse).
    expect(onDisk).toEqual([null, null, null, 3, 3, 3, 6, 6, 6, 6]);
    expect(loadCheckpoint(file).meta).toEqual({ iteration: 6, accuracy: 0.8 });
    // The module ends with iteration 6's parameters and buffers, bit for bit, not iteration 10's.
    expect(bytes(module.stateDict())).toEqual(snapshots.get(6));
    expect(fs.readdirSync(d)).toEqual(['best.json']);
    module.dispose();
  });

  it('keeps the last weights with restoreBest: false, and checkpoints at the end without validation', () => {
    const d = freshDir();
    const { module, setAll } = probe();
    const file = path.join(d, 'a.json');
    metaTrain({
      iterations: 4,
      step: (it) => (setAll(it), 1),
      validate: { every: 1, run: () => 1 / module.namedParameters().get('0.bias')!.dataSync()[0] },
      checkpoint: { file, module },
      restoreBest: false,
    });
    expect(Array.from(module.namedParameters().get('0.bias')!.dataSync())).toEqual([4, 4, 4]);
    expect(loadCheckpoint(file).meta).toEqual({ iteration: 1, accuracy: 1 });

    const file2 = path.join(d, 'b.json');
    const r = metaTrain({ iterations: 5, step: (it) => (setAll(it), 1), checkpoint: { file: file2, module } });
    expect(r.validation).toEqual([]);
    expect(r.best).toBeUndefined();
    const saved = loadCheckpoint(file2);
    expect(saved.meta).toEqual({ iteration: 5 });
    expect(Array.from(saved.state['1.running_mean'].data)).toEqual([5.5, 5.5, 5.5]);
    module.dispose();
  });

  it('reports progress: increasing iterations ending at the last, every validation, window-mean losses', () => {
    const reports: MetaProgress[] = [];
    const accuracyOf = (it: number) => it / 1000;
    let current = 0;
    metaTrain({
      iterations: 150,
      step: (it) => ((current = it), it),
      validate: { every: 35, run: () => accuracyOf(current) },
      onProgress: (p) => reports.push(p),
    });
    const its = reports.map((p) => p.iteration);
    expect(its.at(-1)).toBe(150);
    for (let i = 1; i < its.length; i++) expect(its[i]).toBeGreaterThan(its[i - 1]);
    for (const v of [35, 70, 105, 140, 150]) expect(its).toContain(v);
    // About 50 reports (every ⌊150/50⌋ = 3 iterations) plus the validations in between.
    expect(reports.length).toBeGreaterThanOrEqual(50);
    expect(reports.length).toBeLessThanOrEqual(60);
    reports.forEach((p, i) => {
      const prev = i === 0 ? 0 : its[i - 1];
      // step returns its iteration, so the mean over prev+1..it is (prev + 1 + it) / 2.
      expect(p.loss).toBe((prev + 1 + p.iteration) / 2);
      expect(p.iterations).toBe(150);
      const lastVal = Math.floor(p.iteration / 35) * 35;
      expect(p.validation).toBe(p.iteration === 150 ? 0.15 : lastVal === 0 ? undefined : accuracyOf(lastVal));
    });
  });

  it('throws a ValueError when a step returns a non-finite loss, naming the iteration', () => {
    for (const bad of [NaN, Infinity]) {
      let calls = 0;
      const f = () => metaTrain({ iterations: 10, step: (it) => (calls++, it === 3 ? bad : 1) });
      expect(f).toThrow(ValueError);
      expect(calls).toBe(3);
      expect(f).toThrow(/meta-iteration 3 returned a non-finite loss/);
    }
  });

  it('rejects bad options before running any step', () => {
    const { module } = probe();
    let calls = 0;
    const step = () => (calls++, 1);
    for (const iterations of [0, -1, 2.5, NaN, undefined]) {
      expect(() => metaTrain({ iterations: iterations as number, step })).toThrow(ValueError);
      expect(() => metaTrain({ iterations: iterations as number, step })).toThrow(/option 'iterations'/);
    }
    expect(() => metaTrain({ iterations: 3, step: undefined as unknown as () => number })).toThrow(TypeError);
    expect(() => metaTrain(null as never)).toThrow(TypeError);
    for (const validate of [{ every: 0, run: () => 1 }, { every: 1.5, run: () => 1 }, { every: 2 }]) {
      expect(() => metaTrain({ iterations: 3, step, validate: validate as never })).toThrow(ValueError);
      expect(() => metaTrain({ iterations: 3, step, validate: validate as never })).toThrow(/option 'validate'/);
    }
    // A checkpoint that cannot be written must fail now, not after the first validation.
    for (const checkpoint of [{ file: '', module }, { file: 42, module }, { file: path.join(dir, 'x.json'), module: {} }, { module }]) {
      expect(() => metaTrain({ iterations: 3, step, validate: { every: 1, run: () => 1 }, checkpoint: checkpoint as never })).toThrow(ValueError);
      expect(() => metaTrain({ iterations: 3, step, checkpoint: checkpoint as never })).toThrow(/option 'checkpoint'/);
    }
    expect(calls).toBe(0);
    module.dispose();
  });
});

import { tf, ready, fusedAdamUpdate } from './backend.js';
import { adamKernelBytes } from './adam-wasm.js';
import { kernelBytes, solveKernelBytes } from './linalg-wasm.js';
import { wasmApi } from './wasm-asm.js';
import { Rng } from './rng.js';

/** Adam's update written with tfjs ops, exactly as the op-by-op path of `Adam` in optim.ts. */
function opAdam(p: tf.Variable, m: tf.Variable, v: tf.Variable, g: tf.Tensor, b1: number, b2: number, eps: number, stepSize: number, c2: number): void {
  tf.tidy(() => {
    m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
    v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
    const denom = tf.add(tf.sqrt(tf.div(v, c2)), eps);
    p.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
  });
}

describe('hand-assembled WebAssembly kernels', () => {
  it('are valid WebAssembly modules', () => {
    const wasm = wasmApi();
    expect(wasm).toBeDefined();
    expect(wasm?.validate(kernelBytes())).toBe(true);
    expect(wasm?.validate(solveKernelBytes())).toBe(true);
    expect(wasm?.validate(adamKernelBytes())).toBe(true);
  });
});

describe('fusedAdamUpdate on the wasm backend', () => {
  beforeAll(async () => {
    await ready('wasm');
  });

  // 1003 is not a multiple of 4: the last three values take the JavaScript tail.
  it.each([1, 4, 7, 1003])('gives bit for bit the op-by-op Adam result over 5 steps (size %i)', (n) => {
    const rng = new Rng(n);
    const init = rng.normalArray(n);
    const fast = [tf.variable(tf.tensor1d(init)), tf.variable(tf.zeros([n])), tf.variable(tf.zeros([n]))] as const;
    const slow = [tf.variable(tf.tensor1d(init)), tf.variable(tf.zeros([n])), tf.variable(tf.zeros([n]))] as const;
    const [b1, b2, eps, lr] = [0.9, 0.999, 1e-8, 1e-2];
    for (let t = 1; t <= 5; t++) {
      const g = tf.tensor1d(rng.normalArray(n));
      const stepSize = lr / (1 - b1 ** t);
      const c2 = 1 - b2 ** t;
      expect(fusedAdamUpdate(fast[0], fast[1], fast[2], g, { beta1: b1, beta2: b2, eps, stepSize, c2, l2: 0, decay: 0 })).toBe(true);
      opAdam(slow[0], slow[1], slow[2], g, b1, b2, eps, stepSize, c2);
      g.dispose();
    }
    for (let k = 0; k < 3; k++) expect(Array.from(fast[k].dataSync())).toEqual(Array.from(slow[k].dataSync()));
    // And the update really moved the weights (a kernel that did nothing would fail here).
    expect(Array.from(fast[0].dataSync())).not.toEqual(Array.from(init));
    [...fast, ...slow].forEach((x) => x.dispose());
  });

  it('leaves matMul seeing the new weights (no stale packed copy) and leaks no tensor', () => {
    const w = tf.variable(tf.ones([8, 4]));
    const m = tf.variable(tf.zeros([8, 4]));
    const v = tf.variable(tf.zeros([8, 4]));
    const x = tf.ones([2, 8]);
    tf.tidy(() => tf.matMul(x, w)).dispose(); // let the backend cache w as matmul weights
    const before = tf.memory().numTensors;
    const g = tf.ones([8, 4]);
    for (let i = 0; i < 3; i++) fusedAdamUpdate(w, m, v, g, { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 0.5, c2: 0.001, l2: 0, decay: 0 });
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const y = tf.tidy(() => tf.matMul(x, w));
    const expected = tf.tidy(() => tf.matMul(x, tf.tensor2d(w.dataSync(), [8, 4])));
    expect(Array.from(y.dataSync())).toEqual(Array.from(expected.dataSync()));
    // By hand for g = 1, c2 = 0.001: m_t = 1 − 0.9^t, v_t = 1 − 0.999^t, p −= 0.5·m_t/(√(v_t/c2) + eps).
    let want = 1;
    for (let t = 1; t <= 3; t++) want -= (0.5 * (1 - 0.9 ** t)) / (Math.sqrt((1 - 0.999 ** t) / 0.001) + 1e-8);
    expect(Math.abs(w.dataSync()[0] - want)).toBeLessThan(1e-6); // ≈ 0.8045
    [w, m, v, x, y, expected].forEach((t) => t.dispose());
  });

  it('declines (returns false, changes nothing) for weight decay and on the cpu backend', async () => {
    const p = tf.variable(tf.ones([4]));
    const m = tf.variable(tf.zeros([4]));
    const v = tf.variable(tf.zeros([4]));
    const g = tf.ones([4]);
    const c = { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 0.1, c2: 0.001, l2: 0, decay: 0 };
    expect(fusedAdamUpdate(p, m, v, g, { ...c, l2: 0.1 })).toBe(false);
    expect(fusedAdamUpdate(p, m, v, g, { ...c, decay: 0.1 })).toBe(false);
    expect(Array.from(p.dataSync())).toEqual([1, 1, 1, 1]);
    [p, m, v, g].forEach((t) => t.dispose());
    await ready('cpu');
    try {
      const q = tf.variable(tf.ones([4]));
      const [mq, vq, gq] = [tf.variable(tf.zeros([4])), tf.variable(tf.zeros([4])), tf.ones([4])];
      expect(fusedAdamUpdate(q, mq, vq, gq, c)).toBe(false);
      [q, mq, vq, gq].forEach((t) => t.dispose());
    } finally {
      await ready('wasm');
    }
  });
});

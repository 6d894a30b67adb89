/**
 * One MAML meta-iteration on the sinusoid regression tasks of the MAML paper (Finn et al. 2017,
 * §5.1), second order and first order, vs PyTorch doing the same in the same run. Both sides do
 * the same work on the same numbers:
 *
 * - the paper's setup: MLP 1-40-40-1 with ReLU, K = 10 support and 10 query points per task,
 *   a meta-batch of 25 tasks, one inner SGD step with α = 0.01, Adam 1e-3 outer;
 * - the same tasks (drawn here with `SinusoidTasks`, seed 0, and handed to Python in the
 *   request) and the same initial weights (ours, `init: 'torch'`, seed 0, handed over too), so
 *   the meta-losses of both sides should agree iteration by iteration (kept in the details);
 * - the same timed unit: one meta-iteration = `maml.step(opt, () => mean over 25 tasks of
 *   { clone, adapt on the support loss, query loss })`, i.e. forward, inner gradients (taped for
 *   second order), meta-gradient and the Adam update, on task tensors made beforehand; median
 *   of 20 after 3 warm-up iterations, one continuing run (Adam's state carries over).
 *
 * Memory, on one more (untimed) meta-iteration: ours from `tf.profile` (peak of the tfjs
 * engine's tensor bytes, `tf.memory().numBytes`, after every kernel; the wasm backend's kernel
 * scratch space is not counted), reported as the peak above what was live before the iteration;
 * the reference from the PyTorch profiler's CPU allocator events (peak of allocated minus freed
 * bytes above the start). Tensor count growth over the timed iterations and over the profiled
 * one must be 0 (no leak).
 */
import { tf, ready, mlp, mse, Adam, type BackendName } from '@x/tensor';
import { MAML, SinusoidTasks } from '@x/meta';
import { registerCase, type Measured } from '../registry.js';
import { timeIt } from '../timing.js';

const SIZES = [1, 40, 40, 1];
const META_BATCH = 25;
const K_SUPPORT = 10;
const K_QUERY = 10;
const ALPHA = 0.01;
const OUTER_LR = 1e-3;
const WARMUP = 3;
const REPEATS = 20;
/** Meta-iterations run in all: warm-up, timed, and one profiled for memory. */
const ITERS = WARMUP + REPEATS + 1;

/** The tasks of every meta-iteration, flat [ITERS][META_BATCH][K] (deterministic: seed 0). */
export function mamlBenchData(): { xs: Float32Array; ys: Float32Array; xq: Float32Array; yq: Float32Array } {
  const tasks = new SinusoidTasks({ seed: 0 });
  const n = ITERS * META_BATCH;
  const xs = new Float32Array(n * K_SUPPORT);
  const ys = new Float32Array(n * K_SUPPORT);
  const xq = new Float32Array(n * K_QUERY);
  const yq = new Float32Array(n * K_QUERY);
  for (let i = 0; i < n; i++) {
    const task = tasks.next();
    const s = task.sample(K_SUPPORT);
    const q = task.sample(K_QUERY);
    xs.set(s.x, i * K_SUPPORT);
    ys.set(s.y, i * K_SUPPORT);
    xq.set(q.x, i * K_QUERY);
    yq.set(q.y, i * K_QUERY);
  }
  return { xs, ys, xq, yq };
}

function newModel() {
  return mlp(SIZES, { seed: 0, init: 'torch' });
}

/** The initial weights, in order (Linear weight [in, out], then bias [out], per layer). */
function initialParams(): Array<{ name: string; shape: number[]; values: number[] }> {
  const model = newModel();
  try {
    return [...model.namedParameters()].map(([name, v]) => ({ name, shape: v.shape, values: Array.from(v.dataSync()) }));
  } finally {
    model.dispose();
  }
}

async function runMaml(firstOrder: boolean, variant: string | undefined): Promise<Measured> {
  await ready(variant as BackendName);
  const data = mamlBenchData();
  const model = newModel();
  const maml = new MAML(model, { lr: ALPHA, firstOrder });
  const opt = new Adam(maml.parameters(), { lr: OUTER_LR });
  const slice = (a: Float32Array, task: number, k: number) => tf.tensor2d(a.subarray(task * k, (task + 1) * k), [k, 1]);
  const batches = Array.from({ length: ITERS }, (_, it) =>
    Array.from({ length: META_BATCH }, (_, t) => {
      const j = it * META_BATCH + t;
      return { xs: slice(data.xs, j, K_SUPPORT), ys: slice(data.ys, j, K_SUPPORT), xq: slice(data.xq, j, K_QUERY), yq: slice(data.yq, j, K_QUERY) };
    }),
  );
  const losses: number[] = [];
  let it = 0;
  let tensorsBeforeTimed = NaN;
  const metaIteration = () => {
    if (it === WARMUP) tensorsBeforeTimed = tf.memory().numTensors; // Adam's state exists by now
    const tasks = batches[it++];
    const loss = maml.step(opt, () => {
      const query = tasks.map((t) => {
        const learner = maml.clone();
        learner.adapt(() => mse(learner.forward(t.xs), t.ys));
        return mse(learner.forward(t.xq), t.yq);
      });
      return tf.div(tf.addN(query), META_BATCH);
    });
    losses.push(loss);
  };
  try {
    const t = await timeIt(metaIteration, { warmup: WARMUP, repeats: REPEATS });
    const tensorGrowthTimed = tf.memory().numTensors - tensorsBeforeTimed;
    // One more meta-iteration under the profiler, for memory (the profiler reads every kernel's output, so it is not timed).
    const before = tf.memory();
    const prof = await tf.profile(() => metaIteration());
    const after = tf.memory();
    const memory = {
      peakBytesAboveStart: prof.peakBytes - before.numBytes,
      bytesLiveBefore: before.numBytes,
      peakBytes: prof.peakBytes,
      newBytes: prof.newBytes,
      tensorGrowthTimed,
      tensorGrowthProfiled: after.numTensors - before.numTensors,
      kernels: prof.kernels.length,
      measuredWith: 'tf.profile: peak of tf.memory().numBytes after each kernel (tfjs engine tensor bytes; wasm kernel scratch not counted)',
    };
    process.stderr.write(
      `  ${firstOrder ? 'first' : 'second'} order: median ${(t.seconds * 1000).toFixed(1)} ms/meta-iteration, peak +${(memory.peakBytesAboveStart / 1024).toFixed(0)} KiB tfjs bytes (${memory.kernels} kernels), tensor growth ${tensorGrowthTimed} over ${REPEATS} iterations, ${memory.tensorGrowthProfiled} over the profiled one\n`,
    );
    return {
      ...t,
      details: {
        setup: { sizes: SIZES, metaBatch: META_BATCH, kSupport: K_SUPPORT, kQuery: K_QUERY, innerSteps: 1, alpha: ALPHA, outerLr: OUTER_LR, firstOrder },
        metaLosses: losses,
        tasksPerSecond: META_BATCH / t.seconds,
        memory,
      },
    };
  } finally {
    for (const b of batches) for (const task of b) for (const x of Object.values(task)) x.dispose();
    opt.dispose();
    maml.dispose();
    model.dispose();
  }
}

function referenceArgs(firstOrder: boolean): Record<string, unknown> {
  const d = mamlBenchData();
  return {
    firstOrder,
    iters: ITERS,
    warmup: WARMUP,
    repeats: REPEATS,
    metaBatch: META_BATCH,
    kSupport: K_SUPPORT,
    kQuery: K_QUERY,
    alpha: ALPHA,
    outerLr: OUTER_LR,
    params: initialParams(),
    xs: Array.from(d.xs),
    ys: Array.from(d.ys),
    xq: Array.from(d.xq),
    yq: Array.from(d.yq),
  };
}

for (const [order, firstOrder] of [['second-order', false], ['first-order', true]] as const) {
  registerCase({
    id: `maml-sinusoid-${order}`,
    title: `MAML ${order} meta-iteration, sinusoid 1-40-40-1, 25 tasks K=10`,
    variants: ['wasm'],
    reference: { key: `torch-maml-sinusoid-${order}`, label: 'PyTorch', args: () => referenceArgs(firstOrder) },
    run: (variant) => runMaml(firstOrder, variant),
  });
}

/**
 * The one place where tfjs-core and its backends are loaded and configured.
 *
 * Default backend: `wasm`. Measured on this 2-core machine (see `pnpm bench`), wasm (SIMD,
 * single thread) multiplies 1024² float32 matrices ~30x faster than the `cpu` backend and
 * trains MLPs ~10x faster. It lacks a few kernels (Conv2DBackpropFilter, UnsortedSegmentSum,
 * Einsum, FFT, ...): each missing one is registered on wasm as a fallback that runs the cpu
 * backend's kernel on copies of the data, so every op works forward and backward on either
 * backend; the conv weight gradient itself is rewritten from fast ops (gradients.ts).
 *
 * The `cpu` backend is active from import, so everything works synchronously at once;
 * `await ready()` switches to the fast default. `fit()` calls it for you.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type { KernelBackend, KernelConfig, TensorInfo, NamedAttrMap, DataId, Tensor, Variable } from '@tensorflow/tfjs-core';
import { registerGradients } from './gradients.js';
import { adamKernel } from './adam-wasm.js';
import type { WasmMemory } from './wasm-asm.js';
import { ValueError, describe } from './errors.js';

export type BackendName = 'wasm' | 'cpu';

const BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

let chosen: BackendName | undefined;
let pending: Promise<BackendName> | undefined;

type DataBackend = KernelBackend;

/**
 * Registers on `wasm`, for every kernel that only `cpu` has, a kernel that copies the
 * inputs to the cpu backend, runs the cpu kernel and copies the outputs back. Slow but
 * complete: nothing in the toolkit may fail because a backend lacks a kernel.
 */
function registerWasmFallbacks(): void {
  const onWasm = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  for (const cpuKernel of tf.getKernelsForBackend('cpu')) {
    if (onWasm.has(cpuKernel.kernelName)) continue;
    const fallback: KernelConfig = {
      kernelName: cpuKernel.kernelName,
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs, backend }) => {
        const wasm = backend as DataBackend;
        const cpu = tf.findBackend('cpu') as DataBackend;
        const moved: Record<string, TensorInfo> = {};
        const cpuIds: DataId[] = [];
        for (const [name, info] of Object.entries(inputs)) {
          if (info === undefined) continue;
          const id = cpu.write(wasm.readSync(info.dataId), info.shape, info.dtype);
          cpuIds.push(id);
          moved[name] = { dataId: id, shape: info.shape, dtype: info.dtype };
        }
        const result = cpuKernel.kernelFunc({ inputs: moved, attrs: attrs as NamedAttrMap, backend: cpu });
        const outs = Array.isArray(result) ? result : [result];
        const back = outs.map((o) => {
          const values = cpu.readSync(o.dataId);
          cpu.disposeData(o.dataId, true);
          return { dataId: wasm.write(values, o.shape, o.dtype), shape: o.shape, dtype: o.dtype };
        });
        for (const id of cpuIds) cpu.disposeData(id, true);
        return Array.isArray(result) ? back : back[0];
      },
    };
    tf.registerKernel(fallback);
  }
}

function initialise(): void {
  registerGradients();
  registerWasmFallbacks();
  // The cpu backend initialises synchronously: make it active now so that any op works at
  // once; the default (wasm) takes over at `ready()`.
  void tf.setBackend('cpu');
  // tfjs's cpu backend prints, on first use in Node, advice to install tfjs-node: this toolkit
  // does not use it on purpose (it downloads libtensorflow at install, TOOLCHAIN.md), and the
  // advice would send users to a package that fails to install here.
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

initialise();

/**
 * Selects the backend that all tensors of the toolkit run on, and waits until it is
 * initialised. Without an argument, keeps a backend chosen earlier, or else picks the
 * default, `wasm`. Idempotent; `fit()` calls it.
 *
 * @param backend `'wasm'` (default, fast) or `'cpu'` (pure JS, the reference).
 * @returns the active backend's name.
 * @throws ValueError for a name that is not a backend of this toolkit.
 * @example
 * await ready();          // wasm
 * await ready('cpu');     // force the pure-JS backend
 */
export async function ready(backend?: BackendName): Promise<BackendName> {
  if (backend !== undefined && !BACKENDS.includes(backend)) {
    throw new ValueError(`ready: argument 'backend' must be one of ${BACKENDS.join(', ')}, got ${describe(backend)}`, 'backend');
  }
  if (backend === undefined) {
    if (chosen !== undefined) return chosen;
    if (pending !== undefined) return pending;
    backend = envBackend() ?? 'wasm';
  }
  const target = backend;
  pending = (async () => {
    const ok = await tf.setBackend(target);
    if (!ok) throw new ValueError(`ready: backend '${target}' failed to initialise`, 'backend');
    await tf.ready();
    chosen = target;
    return target;
  })();
  try {
    return await pending;
  } finally {
    pending = undefined;
  }
}

/** `X_BACKEND=cpu` (or wasm) picks the default backend from the environment. */
function envBackend(): BackendName | undefined {
  const v = typeof process !== 'undefined' ? process.env.X_BACKEND : undefined;
  if (v === undefined || v === '') return undefined;
  if (!BACKENDS.includes(v as BackendName)) {
    throw new ValueError(`ready: environment variable X_BACKEND must be one of ${BACKENDS.join(', ')}, got '${v}'`, 'X_BACKEND');
  }
  return v as BackendName;
}

/** The name of the backend tensors currently run on. */
export function backendName(): string {
  return tf.getBackend();
}

/** What the fused Adam update needs besides the tensors (see {@link fusedAdamUpdate}). */
export interface FusedAdamCoefficients {
  beta1: number;
  beta2: number;
  eps: number;
  /** Learning rate over the first-moment bias correction, lr / (1 − β1ᵗ). */
  stepSize: number;
  /** Second-moment bias correction 1 − β2ᵗ. */
  c2: number;
  /** L2 penalty added to the gradient (Adam) — 0 for none. */
  l2: number;
  /** Decoupled weight decay factor lr·wd (AdamW) — 0 for none. */
  decay: number;
}

interface WasmInternals {
  dataIdMap: { get(id: DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  wasm: { HEAPF32: Float32Array; asm?: { memory?: WasmMemory } };
}

/**
 * One Adam update of a parameter and its moments, done by a WebAssembly SIMD kernel
 * (adam-wasm.ts) on the wasm backend's own memory: one pass, four floats per instruction,
 * no copies, bit-for-bit the result of the op-by-op path of `Adam` (same float32
 * operations in the same order). The op-by-op path runs ~10 kernels and makes ~10 tensors
 * per parameter per step, most of the optimizer's cost on small models.
 *
 * The new values go into NEW tensors that are then assigned, never into the old storage:
 * the wasm backend caches packed matmul weights per tensor, so a weight written in place
 * would leave matMul using the stale packed copy.
 *
 * @returns `true` if done; `false` (nothing changed) when the fast path does not apply —
 *   another backend, weight decay (`l2`/`decay` ≠ 0), a non-float32 tensor, mismatched sizes,
 *   no WebAssembly SIMD — and the caller must use ops.
 */
export function fusedAdamUpdate(p: Variable, m: Variable, v: Variable, grad: Tensor, c: FusedAdamCoefficients): boolean {
  if (c.l2 !== 0 || c.decay !== 0 || tf.getBackend() !== 'wasm') return false;
  const n = p.size;
  if (m.size !== n || v.size !== n || grad.size !== n) return false;
  if (p.dtype !== 'float32' || m.dtype !== 'float32' || v.dtype !== 'float32' || grad.dtype !== 'float32') return false;
  const be = tf.backend() as unknown as WasmInternals;
  const memory = be.wasm?.asm?.memory;
  if (memory === undefined || typeof be.makeOutput !== 'function') return false;
  const kernel = adamKernel(memory);
  if (kernel === undefined) return false;
  const ins = [p, m, v, grad].map((t) => be.dataIdMap.get(t.dataId)?.memoryOffset);
  if (ins.some((o) => typeof o !== 'number')) return false;
  const [op, om, ov, og] = ins as number[];
  const outs = [p, m, v].map((t) => be.makeOutput(t.shape, 'float32'));
  const [np, nm, nv] = outs.map((o) => (be.dataIdMap.get(o.dataId) as { memoryOffset: number }).memoryOffset);
  const { beta1, beta2, eps, stepSize, c2 } = c;
  const n4 = n & ~3;
  kernel(op, om, ov, og, np, nm, nv, n4 * 4, beta1, 1 - beta1, beta2, 1 - beta2, c2, eps, stepSize);
  if (n4 < n) {
    // The last 1-3 values: the same float32 operations in JavaScript (fround after each).
    const f = Math.fround;
    const H = be.wasm.HEAPF32; // taken after the allocations above
    const [sb1, so1, sb2, so2, sc2, se, ss] = [beta1, 1 - beta1, beta2, 1 - beta2, c2, eps, stepSize].map(f);
    for (let i = n4; i < n; i++) {
      const g = H[(og >> 2) + i];
      const mi = f(f(H[(om >> 2) + i] * sb1) + f(g * so1));
      const vi = f(f(H[(ov >> 2) + i] * sb2) + f(f(g * g) * so2));
      H[(nm >> 2) + i] = mi;
      H[(nv >> 2) + i] = vi;
      H[(np >> 2) + i] = f(H[(op >> 2) + i] - f(f(mi / f(f(Math.sqrt(f(vi / sc2))) + se)) * ss));
    }
  }
  const engine = tf.engine();
  const [tp, tm, tv] = outs.map((o) => engine.makeTensorFromTensorInfo(o));
  m.assign(tm);
  v.assign(tv);
  p.assign(tp);
  tm.dispose();
  tv.dispose();
  tp.dispose();
  return true;
}

/** The tfjs-core namespace this toolkit uses: the single copy loaded in the process. */
export { tf };

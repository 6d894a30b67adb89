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
import type { KernelBackend, KernelConfig, TensorInfo, NamedAttrMap, DataId } from '@tensorflow/tfjs-core';
import { registerGradients } from './gradients.js';
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

/** The tfjs-core namespace this toolkit uses: the single copy loaded in the process. */
export { tf };

/**
 * A hand-assembled WebAssembly SIMD kernel for one Adam step, run directly on the tensors of
 * the tfjs `wasm` backend: it imports that backend's own memory, so it reads p, m, v, g and
 * writes the new p, m, v where tfjs keeps them, four floats per instruction, with no copy.
 *
 * It performs, in float32 and in the same order as the op-by-op path of `Adam` (optim.ts), so
 * the results are the same bit for bit:
 *
 *   m' = m·β1 + g·(1−β1);  v' = v·β2 + (g·g)·(1−β2);  p' = p − (m' / (√(v'/c2) + eps))·stepSize
 *
 * Module, in WebAssembly text:
 *   (module (import "e" "m" (memory 1))
 *     (func (export "adam") (param $p $m $v $g $np $nm $nv $bytes i32)
 *                           (param $beta1 $omb1 $beta2 $omb2 $c2 $eps $step f32)
 *       ;; for i in [0, bytes) step 16: the update above on f32x4 lanes
 *     ))
 */
import {
  BLOCK, END, F32, F32X4_ADD, F32X4_DIV, F32X4_MUL, F32X4_SPLAT, F32X4_SQRT, F32X4_SUB, I32, I32_ADD, I32_GE_S, LOOP, V128,
  br, brIf, emitter, i32Const, localGet, localSet, module, v128Load, v128Store, wasmApi, type WasmMemory,
} from './wasm-asm.js';

// params
const P = 0, M = 1, V = 2, G = 3, NP = 4, NM = 5, NV = 6, BYTES = 7;
const BETA1 = 8, OMB1 = 9, BETA2 = 10, OMB2 = 11, C2 = 12, EPS = 13, STEP = 14;
// locals: i32 I; v128 splats of the seven scalars (S(k) for param k), then g, m, v
const I = 15;
const S = (param: number) => 16 + (param - BETA1);
const VG = 23, VM = 24, VV = 25;

function body(): number[] {
  const { code, push } = emitter();
  for (let k = BETA1; k <= STEP; k++) push(localGet(k), F32X4_SPLAT, localSet(S(k)));
  const at = (base: number): number[] => [...localGet(base), ...localGet(I), I32_ADD];
  push(i32Const(0), localSet(I));
  push(BLOCK, LOOP);
  push(localGet(I), localGet(BYTES), I32_GE_S, brIf(1));
  push(at(G), v128Load(0), localSet(VG));
  // m' = m·β1 + g·(1−β1)
  push(at(M), v128Load(0), localGet(S(BETA1)), F32X4_MUL, localGet(VG), localGet(S(OMB1)), F32X4_MUL, F32X4_ADD, localSet(VM));
  push(at(NM), localGet(VM), v128Store(0));
  // v' = v·β2 + (g·g)·(1−β2)
  push(at(V), v128Load(0), localGet(S(BETA2)), F32X4_MUL, localGet(VG), localGet(VG), F32X4_MUL, localGet(S(OMB2)), F32X4_MUL, F32X4_ADD, localSet(VV));
  push(at(NV), localGet(VV), v128Store(0));
  // p' = p − (m' / (√(v'/c2) + eps))·step
  push(at(NP));
  push(at(P), v128Load(0));
  push(localGet(VM), localGet(VV), localGet(S(C2)), F32X4_DIV, F32X4_SQRT, localGet(S(EPS)), F32X4_ADD, F32X4_DIV);
  push(localGet(S(STEP)), F32X4_MUL, F32X4_SUB, v128Store(0));
  push(localGet(I), i32Const(16), I32_ADD, localSet(I));
  push(br(0), END, END);
  return code;
}

/** The bytes of the module described at the top of this file. */
export function adamKernelBytes(): Uint8Array {
  return module('adam', [...new Array<number>(8).fill(I32), ...new Array<number>(7).fill(F32)], [[1, I32], [10, V128]], body());
}

export type AdamKernel = (
  p: number, m: number, v: number, g: number, np: number, nm: number, nv: number, bytes: number,
  beta1: number, omb1: number, beta2: number, omb2: number, c2: number, eps: number, step: number,
) => void;

const instances = new WeakMap<object, AdamKernel | null>();

/**
 * The kernel bound to `memory` (the tfjs wasm backend's), compiled once per memory;
 * `undefined` where WebAssembly SIMD is not available.
 */
export function adamKernel(memory: WasmMemory): AdamKernel | undefined {
  const known = instances.get(memory);
  if (known !== undefined) return known ?? undefined;
  let k: AdamKernel | null = null;
  try {
    const wasm = wasmApi();
    const bytes = adamKernelBytes();
    if (wasm !== undefined && wasm.validate(bytes)) {
      k = new wasm.Instance(new wasm.Module(bytes), { e: { m: memory } }).exports.adam as AdamKernel;
    }
  } catch {
    k = null;
  }
  instances.set(memory, k);
  return k ?? undefined;
}

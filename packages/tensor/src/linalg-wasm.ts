/**
 * A hand-assembled WebAssembly SIMD kernel for the O(n³) part of the Cholesky factorisation
 * (linalg.ts): the left-looking block-column update
 *
 *   w[i][j] −= Σ_{kb ≤ k < ke} w[i][k]·w[j][k]   for i in [i0, i1) step 2, j in [j0, j1) step 4,
 *
 * on a row-major float64 matrix in the kernel's own memory. Each pass keeps a 2×4 block of
 * f64x2 accumulators (8 registers) and does 16 multiply-adds per 6 vector loads. JavaScript
 * has no SIMD, so this is ~3x the speed of the best plain-JS loop.
 *
 * The module is tiny, so it is assembled here from its instructions (no toolchain, no binary
 * file): `kernelBytes()` returns exactly the bytes of the module below, in WebAssembly text:
 *
 *   (module
 *     (import "e" "m" (memory 1))
 *     (func (export "upd") (param $base i32) (param $n i32) (param $i0 i32) (param $i1 i32)
 *                          (param $j0 i32) (param $j1 i32) (param $kb i32) (param $ke i32)
 *       ;; for i in [i0,i1) by 2: for j in [j0,j1) by 4: 2×4 dot products over k in [kb,ke)
 *       ;; (ke − kb a multiple of 4), then w[i..i+1][j..j+3] −= the sums
 *     ))
 *
 * A second module (`solveKernelBytes`) solves the rows below each diagonal block against it,
 * two rows at a time with f64x2 dot products, in the same memory.
 *
 * If WebAssembly SIMD is unavailable, `simdKernel()` returns undefined and linalg.ts uses its
 * plain-JS loops.
 */

import {
  BLOCK, END, F64, F64X2_ADD, F64X2_MUL, F64_ADD, F64_MUL, F64_SUB, I32, I32_ADD, I32_AND, I32_GE_S, I32_MUL, I32_NE, I32_SHL, I32_SUB, IF, LOOP,
  V128, V128_ZERO,
  br, brIf, emitter, f64Load, f64Store, f64x2Lane, i32Const, localGet, localSet, module, v128Load, wasmApi,
} from './wasm-asm.js';

// ---- the kernel ------------------------------------------------------------------------------

// params
const BASE = 0, N = 1, I0 = 2, I1 = 3, J0 = 4, J1 = 5, KB = 6, KE = 7;
// i32 locals
const I = 8, J = 9, K = 10, KEND = 11, R0 = 12, R1 = 13, Q0 = 14, Q1 = 15, Q2 = 16, Q3 = 17, ROW = 18, DST = 19;
// v128 locals: accumulators C[r][c] at 20 + 4r + c, then A0, A1, B
const C = (r: number, c: number) => 20 + 4 * r + c;
const A0 = 28, A1 = 29, B = 30;

/** byte address of element (row, col) = base + (row·n + col)·8 */
function addr(row: number[], col: number[]): number[] {
  return [...localGet(BASE), ...row, ...localGet(N), I32_MUL, ...col, I32_ADD, ...i32Const(3), I32_SHL, I32_ADD];
}

function body(): number[] {
  const { code, push } = emitter();
  // ROW = n·8 (bytes per row); KEND = (ke − kb)·8
  push(localGet(N), i32Const(3), I32_SHL, localSet(ROW));
  push(localGet(KE), localGet(KB), I32_SUB, i32Const(3), I32_SHL, localSet(KEND));
  push(localGet(I0), localSet(I));
  push(BLOCK, LOOP); // i loop
  push(localGet(I), localGet(I1), I32_GE_S, brIf(1));
  push(addr(localGet(I), localGet(KB)), localSet(R0));
  push(localGet(R0), localGet(ROW), I32_ADD, localSet(R1));
  push(localGet(J0), localSet(J));
  push(BLOCK, LOOP); // j loop
  push(localGet(J), localGet(J1), I32_GE_S, brIf(1));
  push(addr(localGet(J), localGet(KB)), localSet(Q0));
  push(localGet(Q0), localGet(ROW), I32_ADD, localSet(Q1));
  push(localGet(Q1), localGet(ROW), I32_ADD, localSet(Q2));
  push(localGet(Q2), localGet(ROW), I32_ADD, localSet(Q3));
  for (let r = 0; r < 2; r++) for (let c = 0; c < 4; c++) push(V128_ZERO, localSet(C(r, c)));
  push(i32Const(0), localSet(K));
  push(BLOCK, LOOP); // k loop, four doubles per step
  push(localGet(K), localGet(KEND), I32_GE_S, brIf(1));
  const qs = [Q0, Q1, Q2, Q3];
  for (let u = 0; u < 2; u++) {
    // Unrolled twice (four doubles per pass); the second half reads at offset +16 bytes.
    push(localGet(R0), localGet(K), I32_ADD, v128Load(16 * u), localSet(A0));
    push(localGet(R1), localGet(K), I32_ADD, v128Load(16 * u), localSet(A1));
    for (let c = 0; c < 4; c++) {
      push(localGet(qs[c]), localGet(K), I32_ADD, v128Load(16 * u), localSet(B));
      push(localGet(C(0, c)), localGet(A0), localGet(B), F64X2_MUL, F64X2_ADD, localSet(C(0, c)));
      push(localGet(C(1, c)), localGet(A1), localGet(B), F64X2_MUL, F64X2_ADD, localSet(C(1, c)));
    }
  }
  push(localGet(K), i32Const(32), I32_ADD, localSet(K));
  push(br(0), END, END); // end k loop
  // w[i+r][j+c] −= lane0 + lane1
  for (let r = 0; r < 2; r++) {
    push(addr(localGet(I), localGet(J)), ...(r === 1 ? [localGet(ROW), I32_ADD] : []), localSet(DST));
    for (let c = 0; c < 4; c++) {
      push(localGet(DST)); // address for the store
      push(localGet(DST), f64Load(8 * c));
      push(localGet(C(r, c)), f64x2Lane(0), localGet(C(r, c)), f64x2Lane(1), F64_ADD);
      push(F64_SUB, f64Store(8 * c));
    }
  }
  push(localGet(J), i32Const(4), I32_ADD, localSet(J));
  push(br(0), END, END); // end j loop
  push(localGet(I), i32Const(2), I32_ADD, localSet(I));
  push(br(0), END, END); // end i loop
  return code;
}

// ---- the row solve: rows i in [i0, i1) by 2 against the factored diagonal block [k0, k1) ----
//
//   for j in [k0, k1): len = j − k0
//     w[i][j] = (w[i][j] − Σ_{t<len} w[i][k0+t]·w[j][k0+t]) · inv[len]   (two rows i, i+1 at once)
//
// with inv (1/diagonal of the block) at byte offset `inv`. The dot products run on f64x2
// lanes; an odd len leaves one scalar term.

// params
const TB = 0, TN = 1, TK0 = 2, TK1 = 3, TI0 = 4, TI1 = 5, TINV = 6;
// i32 locals, then f64, then v128
const TI = 7, TJ = 8, TT = 9, TLEN = 10, TLEN2 = 11, TR0 = 12, TR1 = 13, TQ = 14, TROW = 15;
const TS0 = 16, TS1 = 17, TL = 18, TIV = 19;
const TACC0 = 20, TACC1 = 21, TBV = 22;

function solveBody(): number[] {
  const { code, push } = emitter();
  push(localGet(TN), i32Const(3), I32_SHL, localSet(TROW));
  push(localGet(TI0), localSet(TI));
  push(BLOCK, LOOP); // i
  push(localGet(TI), localGet(TI1), I32_GE_S, brIf(1));
  push(localGet(TB), localGet(TI), localGet(TN), I32_MUL, localGet(TK0), I32_ADD, i32Const(3), I32_SHL, I32_ADD, localSet(TR0));
  push(localGet(TR0), localGet(TROW), I32_ADD, localSet(TR1));
  push(localGet(TK0), localSet(TJ));
  push(BLOCK, LOOP); // j
  push(localGet(TJ), localGet(TK1), I32_GE_S, brIf(1));
  push(localGet(TB), localGet(TJ), localGet(TN), I32_MUL, localGet(TK0), I32_ADD, i32Const(3), I32_SHL, I32_ADD, localSet(TQ));
  push(localGet(TJ), localGet(TK0), I32_SUB, i32Const(3), I32_SHL, localSet(TLEN)); // len in bytes
  push(localGet(TLEN), i32Const(-16), I32_AND, localSet(TLEN2)); // even part
  push(V128_ZERO, localSet(TACC0), V128_ZERO, localSet(TACC1), i32Const(0), localSet(TT));
  push(BLOCK, LOOP); // t
  push(localGet(TT), localGet(TLEN2), I32_GE_S, brIf(1));
  push(localGet(TQ), localGet(TT), I32_ADD, v128Load(0), localSet(TBV));
  push(localGet(TACC0), localGet(TR0), localGet(TT), I32_ADD, v128Load(0), localGet(TBV), F64X2_MUL, F64X2_ADD, localSet(TACC0));
  push(localGet(TACC1), localGet(TR1), localGet(TT), I32_ADD, v128Load(0), localGet(TBV), F64X2_MUL, F64X2_ADD, localSet(TACC1));
  push(localGet(TT), i32Const(16), I32_ADD, localSet(TT));
  push(br(0), END, END);
  // s = w[i][j] − (lane0 + lane1)
  push(localGet(TR0), localGet(TLEN), I32_ADD, f64Load(0), localGet(TACC0), f64x2Lane(0), localGet(TACC0), f64x2Lane(1), F64_ADD, F64_SUB, localSet(TS0));
  push(localGet(TR1), localGet(TLEN), I32_ADD, f64Load(0), localGet(TACC1), f64x2Lane(0), localGet(TACC1), f64x2Lane(1), F64_ADD, F64_SUB, localSet(TS1));
  // odd len: one more term at t = len2
  push(localGet(TLEN), localGet(TLEN2), I32_NE, IF);
  push(localGet(TQ), localGet(TLEN2), I32_ADD, f64Load(0), localSet(TL));
  push(localGet(TS0), localGet(TR0), localGet(TLEN2), I32_ADD, f64Load(0), localGet(TL), F64_MUL, F64_SUB, localSet(TS0));
  push(localGet(TS1), localGet(TR1), localGet(TLEN2), I32_ADD, f64Load(0), localGet(TL), F64_MUL, F64_SUB, localSet(TS1));
  push(END);
  push(localGet(TINV), localGet(TLEN), I32_ADD, f64Load(0), localSet(TIV));
  push(localGet(TR0), localGet(TLEN), I32_ADD, localGet(TS0), localGet(TIV), F64_MUL, f64Store(0));
  push(localGet(TR1), localGet(TLEN), I32_ADD, localGet(TS1), localGet(TIV), F64_MUL, f64Store(0));
  push(localGet(TJ), i32Const(1), I32_ADD, localSet(TJ));
  push(br(0), END, END); // end j
  push(localGet(TI), i32Const(2), I32_ADD, localSet(TI));
  push(br(0), END, END); // end i
  return code;
}

/** The bytes of the row-solve module: `solve(base, n, k0, k1, i0, i1, inv)`, all i32. */
export function solveKernelBytes(): Uint8Array {
  return module('solve', new Array<number>(7).fill(I32), [[9, I32], [4, F64], [3, V128]], solveBody());
}

/** The bytes of the module described at the top of this file. */
export function kernelBytes(): Uint8Array {
  return module('upd', new Array<number>(8).fill(I32), [[12, I32], [11, V128]], body());
}

/** The update kernel bound to its memory, and the memory's current float64 view. */
export interface SimdKernel {
  /** Runs the update on the matrix at byte offset 0 of `view()`. Indices as in the file comment. */
  upd: (base: number, n: number, i0: number, i1: number, j0: number, j1: number, kb: number, ke: number) => void;
  /** Solves rows [i0, i1) (an even count) against the diagonal block [k0, k1); `inv` is the byte offset of 1/diagonal. */
  solve: (base: number, n: number, k0: number, k1: number, i0: number, i1: number, inv: number) => void;
  /** A float64 view of at least `doubles` values of the kernel's memory (grows it if needed). */
  view: (doubles: number) => Float64Array;
}

let cached: SimdKernel | null | undefined;

/** The kernel, compiled once; `undefined` where WebAssembly SIMD is not available. */
export function simdKernel(): SimdKernel | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  try {
    const wasm = wasmApi();
    if (wasm === undefined) return undefined;
    const bytes = kernelBytes();
    const solveBytes = solveKernelBytes();
    if (!wasm.validate(bytes) || !wasm.validate(solveBytes)) return undefined;
    const memory = new wasm.Memory({ initial: 1 });
    const instance = new wasm.Instance(new wasm.Module(bytes), { e: { m: memory } });
    const solver = new wasm.Instance(new wasm.Module(solveBytes), { e: { m: memory } });
    cached = {
      upd: instance.exports.upd as SimdKernel['upd'],
      solve: solver.exports.solve as SimdKernel['solve'],
      view(doubles: number): Float64Array {
        const need = doubles * 8;
        const have = memory.buffer.byteLength;
        if (need > have) memory.grow(Math.ceil((need - have) / 65536));
        return new Float64Array(memory.buffer, 0, doubles);
      },
    };
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}

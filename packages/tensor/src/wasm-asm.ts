/**
 * A minimal WebAssembly assembler: just the instructions that the hand-written kernels of
 * this package need (linalg-wasm.ts, adam-wasm.ts). Each helper returns the bytes of one
 * instruction; `module()` wraps one exported function into a module that imports its memory
 * as "e"."m". Binary format: WebAssembly Core Specification 2.0, section 5.
 */

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export function str(s: string): number[] {
  return [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
}

export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

export const I32 = 0x7f;
export const V128 = 0x7b;

// opcodes
export const localGet = (i: number) => [0x20, ...uleb(i)];
export const localSet = (i: number) => [0x21, ...uleb(i)];
export const i32Const = (v: number) => [0x41, ...sleb(v)];
export const I32_ADD = 0x6a;
export const I32_MUL = 0x6c;
export const I32_SHL = 0x74;
export const I32_GE_S = 0x4e;
export const BLOCK = [0x02, 0x40];
export const LOOP = [0x03, 0x40];
export const END = 0x0b;
export const brIf = (d: number) => [0x0d, ...uleb(d)];
export const br = (d: number) => [0x0c, ...uleb(d)];
export const f64Load = (offset: number) => [0x2b, 0x03, ...uleb(offset)];
export const f64Store = (offset: number) => [0x39, 0x03, ...uleb(offset)];
export const F64_ADD = 0xa0;
export const F64_SUB = 0xa1;
export const simd = (op: number) => [0xfd, ...uleb(op)];
export const v128Load = (offset: number) => [...simd(0), 0x03, ...uleb(offset)];
export const V128_ZERO = [...simd(12), ...new Array<number>(16).fill(0)];
export const F64X2_ADD = simd(240);
export const F64X2_MUL = simd(242);
export const f64x2Lane = (lane: number) => [...simd(33), lane];

export const F32 = 0x7d;
export const v128Store = (offset: number) => [...simd(11), 0x03, ...uleb(offset)];
export const F32X4_SPLAT = simd(19);
export const F32X4_SQRT = simd(227);
export const F32X4_ADD = simd(228);
export const F32X4_SUB = simd(229);
export const F32X4_MUL = simd(230);
export const F32X4_DIV = simd(231);
export const I32_SUB = 0x6b;
export const I32_AND = 0x71;
export const I32_NE = 0x47;
export const F64 = 0x7c;
export const F64_MUL = 0xa2;
export const IF = [0x04, 0x40];

/** Appends instructions (numbers or arrays of numbers) to a code buffer. */
export function emitter(): { code: number[]; push: (...xs: Array<number | number[]>) => void } {
  const code: number[] = [];
  return {
    code,
    push: (...xs) => {
      for (const x of xs) Array.isArray(x) ? code.push(...x) : code.push(x);
    },
  };
}

/**
 * A module with one function `name` of the given parameter types (no result), local groups
 * `[count, type]`, and `body` (without the final `end`), importing its memory as "e"."m".
 */
export function module(name: string, params: number[], locals: Array<[number, number]>, body: number[]): Uint8Array {
  const type = section(1, [1, 0x60, ...uleb(params.length), ...params, 0]);
  const imports = section(2, [1, ...str('e'), ...str('m'), 0x02, 0x00, 1]);
  const funcs = section(3, [1, 0]);
  const exports = section(7, [1, ...str(name), 0x00, 0]);
  const code = [...uleb(locals.length), ...locals.flatMap(([n, t]) => [...uleb(n), t]), ...body, END];
  const codeSec = section(10, [1, ...uleb(code.length), ...code]);
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...imports, ...funcs, ...exports, ...codeSec]);
}

/** The part of the WebAssembly API used here (the package's `lib` has no DOM types). */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
export interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The global WebAssembly API, or undefined. */
export function wasmApi(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

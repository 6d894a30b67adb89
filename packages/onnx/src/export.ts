/**
 * Exporters: an @x/tensor Sequential (plain, pruned, structurally pruned) or a QuantizedModel
 * (static, dynamic, QAT) → ONNX ModelProto bytes, checked before they are written.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  tf,
  Module,
  Sequential,
  Linear,
  Conv2d,
  MaxPool2d,
  AvgPool2d,
  BatchNorm,
  Flatten,
  Reshape,
  Dropout,
  ReLU,
  Tanh,
  Sigmoid,
  Softmax,
  describe,
} from '@x/tensor';
import { OnnxExportError } from './errors.js';
import { GraphBuilder } from './graph.js';
import { DataType, encodeModelProto } from './proto.js';
import { IR_VERSION, MAX_OPSET, MIN_OPSET, validateGraph } from './check.js';
import type { QuantizedModel, QuantizedTensor, QuantParams } from './quant-types.js';
import { VERSION, sourceVersions } from './version.js';

/** Options of `toOnnx` / `exportOnnx`. */
export interface OnnxExportOptions {
  /** Default-domain opset, 13–17 (default 13: every op used exists there, per-channel QDQ included). */
  opset?: number;
  /** Per-sample input shape (default: inferred from the first layer, e.g. [784] for an MLP or a convNet). */
  inputShape?: number[];
  /** Graph input name (default `'input'`). */
  inputName?: string;
  /** Graph output name (default `'output'`). */
  outputName?: string;
  /** Graph name (default `'x-onnx'`). */
  graphName?: string;
  /** Free text stored as the model's doc_string. */
  docString?: string;
  /** Extra metadata_props entries. */
  metadata?: Record<string, string>;
}

/** What an export wrote. */
export interface ExportInfo {
  /** `fp32`, `pruned` (a parametrization was baked), `int8-static`, `int8-dynamic` or `int8-qat`. */
  variant: 'fp32' | 'pruned' | 'int8-static' | 'int8-dynamic' | 'int8-qat';
  irVersion: number;
  opset: number;
  /** Operator counts in the graph. */
  ops: Record<string, number>;
  /** Parameter entries of the exported model and how many are non-zero (effective values). */
  params: number;
  nonzeroParams: number;
  /** Fraction of zeros among Linear/Conv2d weights (effective values). */
  sparsity: number;
  /** Bits per weight: 32 or 8. */
  bits: number;
  /** Every metadata_props entry written. */
  metadata: Record<string, string>;
  inputShape: (number | string)[];
  outputShape: (number | string)[];
}

/** Result of `exportOnnx`. */
export interface ExportResult {
  path: string;
  /** File size in bytes. */
  size: number;
  info: ExportInfo;
}

type Layout = 'ts' | 'nchw';

/** A value in the graph: its name, whether it is in @x/tensor order or transposed to NCHW, its per-sample shape in @x/tensor order, and its quantization when it is the output of a DequantizeLinear. */
interface Val {
  name: string;
  layout: Layout;
  shape: number[];
  q?: { scale: number; zeroPoint: number };
  /** Set by `qdq`: the DequantizeLinear output this value is (while unchanged). */
  dq?: string;
}

const prod = (a: number[]) => a.reduce((p, d) => p * d, 1);

/** Whether `x` has the shape of a QuantizedModel. */
export function isQuantizedModel(x: unknown): x is QuantizedModel {
  return (
    typeof x === 'object' &&
    x !== null &&
    (x as QuantizedModel).model instanceof Module &&
    (x as QuantizedModel).weights instanceof Map &&
    typeof (x as QuantizedModel).method === 'string'
  );
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function layerLabel(key: string, m: Module): string {
  return `${key}: ${m.toString()}`;
}

/** Copies a parameter's effective value (parametrization applied) without touching the model. */
function effectiveParam(model: Module, name: string, layer: string): Float32Array {
  const v = model.namedParameters().get(name);
  if (!v) throw new OnnxExportError(`parameter '${name}' not found`, { layer, rule: 'argument' });
  const f = model.getParametrization(name);
  if (!f) return Float32Array.from(v.dataSync() as Float32Array);
  return tf.tidy(() => {
    const t = f(v);
    return Float32Array.from(t.dataSync() as Float32Array);
  });
}

function buffer(model: Module, name: string): Float32Array {
  const v = model.namedBuffers().get(name);
  if (!v) throw new Error(`buffer '${name}' not found`);
  return Float32Array.from(v.dataSync() as Float32Array);
}

function samePad(size: number, k: number, s: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function outSize(size: number, k: number, s: number, padBefore: number, padAfter: number): number {
  return Math.floor((size + padBefore + padAfter - k) / s) + 1;
}

/** HWIO → OIHW for a typed array. */
function hwioToOihw<T extends Float32Array | Int8Array | Uint8Array>(src: T, [kh, kw, ci, co]: number[]): T {
  const out = new (src.constructor as { new (n: number): T })(src.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + h) * kw + w] = src[((h * kw + w) * ci + i) * co + o];
  return out;
}

const QRANGE = { int8: [-128, 127], uint8: [0, 255] } as const;

function zeroPointArray(p: QuantParams, layer: string, what: string): Int8Array | Uint8Array {
  if (p.dtype !== 'int8' && p.dtype !== 'uint8') {
    throw new OnnxExportError(`${what}: dtype must be 'int8' or 'uint8', got ${describe(p.dtype)}`, { layer, rule: 'zero-point-type' });
  }
  const [lo, hi] = QRANGE[p.dtype];
  for (let i = 0; i < p.zeroPoint.length; i++) {
    const z = p.zeroPoint[i];
    if (!Number.isInteger(z) || z < lo || z > hi) {
      throw new OnnxExportError(`${what}: zero point [${i}] must be an integer in [${lo}, ${hi}] for ${p.dtype}, got ${z}`, { layer, rule: 'zero-point-range' });
    }
  }
  return p.dtype === 'int8' ? Int8Array.from(p.zeroPoint) : Uint8Array.from(p.zeroPoint);
}

function dtypeCode(a: Int8Array | Uint8Array): 2 | 3 {
  return a instanceof Int8Array ? DataType.INT8 : DataType.UINT8;
}

class Lowering {
  readonly g = new GraphBuilder();
  readonly quant: QuantizedModel | null;
  readonly model: Sequential;
  readonly mode: 'float' | 'static' | 'dynamic';
  zeros = 0;
  weightCount = 0;
  params = 0;
  nonzero = 0;

  constructor(src: Sequential | QuantizedModel) {
    this.quant = isQuantizedModel(src) ? src : null;
    this.model = this.quant ? this.quant.model : (src as Sequential);
    this.mode = this.quant ? (this.quant.method === 'dynamic' ? 'dynamic' : 'static') : 'float';
  }

  count(data: Float32Array, isWeight: boolean): void {
    let z = 0;
    for (let i = 0; i < data.length; i++) if (data[i] === 0) z++;
    this.params += data.length;
    this.nonzero += data.length - z;
    if (isWeight) {
      this.weightCount += data.length;
      this.zeros += z;
    }
  }

  countCodes(q: QuantizedTensor): void {
    let z = 0;
    const zp = q.params.zeroPoint;
    const per = q.params.axis === null ? 0 : q.shape[q.params.axis] ?? 1;
    const stride = q.params.axis === null ? 1 : prod(q.shape.slice(q.params.axis + 1));
    for (let i = 0; i < q.codes.length; i++) {
      const c = per ? Math.floor(i / stride) % per : 0;
      if (q.codes[i] === (zp[c] ?? zp[0])) z++;
    }
    this.params += q.codes.length;
    this.nonzero += q.codes.length - z;
    this.weightCount += q.codes.length;
    this.zeros += z;
  }

  param(name: string, layer: string, isWeight = false): Float32Array {
    const d = effectiveParam(this.model, name, layer);
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        throw new OnnxExportError(`parameter '${name}' holds ${d[i]} at flat index ${i}; every exported weight must be finite`, { layer, rule: 'finite-weights' });
      }
    }
    if (!(isWeight && this.quant)) this.count(d, isWeight);
    return d;
  }

  /** Whether the QuantizedModel keeps this Linear/Conv2d weight in float32 (`floatWeights`). */
  keepsFloat(name: string, layer: string): boolean {
    const list = this.quant?.floatWeights;
    if (list === undefined || list === null) return false;
    if (!Array.isArray(list)) throw new OnnxExportError(`QuantizedModel.floatWeights must be a list of weight names, got ${describe(list)}`, { layer, rule: 'argument' });
    if (!list.includes(name)) return false;
    if (this.quant?.weights.has(name)) {
      throw new OnnxExportError(`weight '${name}' is listed in QuantizedModel.floatWeights but also has quantized codes in 'weights'`, { layer, rule: 'argument' });
    }
    return true;
  }

  /** A float32 weight (counted as a weight even inside a quantized model). */
  floatWeight(name: string, layer: string): Float32Array {
    const d = this.param(name, layer, true);
    if (this.quant) this.count(d, true);
    return d;
  }

  qweight(name: string, shape: number[], layer: string): QuantizedTensor {
    const q = this.quant?.weights.get(name);
    if (!q) {
      throw new OnnxExportError(`the QuantizedModel has no quantized weight '${name}' (its weights map holds ${[...(this.quant?.weights.keys() ?? [])].join(', ') || 'nothing'})`, { layer, rule: 'argument' });
    }
    if (q.shape.length !== shape.length || q.shape.some((d, i) => d !== shape[i]) || q.codes.length !== prod(shape)) {
      throw new OnnxExportError(`quantized weight '${name}' must have shape [${shape.join(',')}], got [${q.shape.join(',')}] with ${q.codes.length} codes`, { layer, rule: 'shape' });
    }
    const p = q.params;
    const n = p.scale.length;
    if (p.axis === null && n !== 1) {
      throw new OnnxExportError(`quantized weight '${name}': ${n} scales (per-channel) need an axis, got axis null`, { layer, rule: 'per-channel-axis' });
    }
    if (p.axis !== null && (!Number.isInteger(p.axis) || p.axis < 0 || p.axis >= shape.length)) {
      throw new OnnxExportError(`quantized weight '${name}': axis must be in [0, ${shape.length - 1}] for shape [${shape.join(',')}], got ${p.axis}`, { layer, rule: 'per-channel-axis' });
    }
    if (p.axis !== null && n !== shape[p.axis] && n !== 1) {
      throw new OnnxExportError(`quantized weight '${name}': axis ${p.axis} has ${shape[p.axis]} channels but there are ${n} scales`, { layer, rule: 'per-channel-axis' });
    }
    if (p.zeroPoint.length !== n) {
      throw new OnnxExportError(`quantized weight '${name}': ${p.zeroPoint.length} zero points for ${n} scales`, { layer, rule: 'per-channel-axis' });
    }
    if ((p.dtype === 'int8') !== q.codes instanceof Int8Array) {
      throw new OnnxExportError(
        `quantized weight '${name}': zero-point dtype '${p.dtype}' must equal the codes' type (${q.codes instanceof Int8Array ? 'int8' : 'uint8'})`,
        { layer, rule: 'zero-point-type' },
      );
    }
    this.countCodes(q);
    return q;
  }

  /** Emits DequantizeLinear of a quantized weight; `onnxAxis` maps our axis to the ONNX layout. */
  dequantWeight(name: string, q: QuantizedTensor, codes: Int8Array | Uint8Array, dims: number[], onnxAxis: (a: number) => number, layer: string): string {
    const p = q.params;
    const perTensor = p.axis === null || p.scale.length === 1;
    const zp = zeroPointArray(p, layer, `quantized weight '${name}'`);
    const wq = this.g.init(`${name}_quantized`, dtypeCode(codes), dims, codes, name);
    const ws = this.g.floatInit(`${name}_scale`, perTensor ? [] : [p.scale.length], perTensor ? [p.scale[0]] : Float32Array.from(p.scale));
    const wz = this.g.init(`${name}_zero_point`, dtypeCode(zp), perTensor ? [] : [zp.length], perTensor ? zp.slice(0, 1) : zp);
    return this.g.node('DequantizeLinear', [wq, ws, wz], perTensor ? {} : { axis: onnxAxis(p.axis as number) });
  }

  /** Quantize→Dequantize of an activation with per-tensor params. */
  qdq(v: Val, key: string, p: QuantParams, layer: string): Val {
    const what = `activation '${key}'`;
    if (p.axis !== null || p.scale.length !== 1 || p.zeroPoint.length !== 1) {
      throw new OnnxExportError(`${what}: activation quantization must be per-tensor (axis null, one scale), got axis ${p.axis} with ${p.scale.length} scales`, {
        layer,
        rule: 'per-channel-axis',
      });
    }
    const zp = zeroPointArray(p, layer, what);
    // A value that is already the DequantizeLinear of the same parameters (e.g. after Dropout,
    // an identity at inference) is left alone: a second Q/DQ pair would change nothing.
    if (v.q && v.dq === v.name && v.q.scale === Math.fround(p.scale[0]) && v.q.zeroPoint === p.zeroPoint[0] && Number.isFinite(p.scale[0]) && p.scale[0] > 0) return v;
    const s = this.g.floatInit(`act.${key}.scale`, [], [p.scale[0]]);
    const z = this.g.init(`act.${key}.zero_point`, dtypeCode(zp), [], zp);
    const q = this.g.node('QuantizeLinear', [v.name, s, z], {}, 1, `act.${key}.quantized`);
    const dq = this.g.node('DequantizeLinear', [q, s, z], {}, 1, `act.${key}`);
    return { ...v, name: dq, dq, q: { scale: Math.fround(p.scale[0]), zeroPoint: p.zeroPoint[0] } };
  }

  /** Bias as int32 DequantizeLinear (scale = input scale × weight scale) when the input is quantized; float otherwise. */
  bias(name: string, b: Float32Array, x: Val, w: QuantizedTensor | null): string {
    if (this.mode === 'static' && w && x.q) {
      const n = b.length;
      const ws = w.params.scale;
      const scale = new Float32Array(n);
      const codes = new Int32Array(n);
      let ok = true;
      for (let c = 0; c < n; c++) {
        scale[c] = Math.fround(x.q.scale * (ws.length === 1 ? ws[0] : ws[c]));
        const v = roundHalfEven(b[c] / scale[c]);
        if (!(Math.abs(v) <= 2147483647) || !(scale[c] > 0)) ok = false;
        codes[c] = v;
      }
      if (ok) {
        const bq = this.g.init(`${name}_quantized`, DataType.INT32, [n], codes, name);
        const bs = this.g.floatInit(`${name}_scale`, [n], scale);
        const bz = this.g.init(`${name}_zero_point`, DataType.INT32, [n], new Int32Array(n));
        return this.g.node('DequantizeLinear', [bq, bs, bz], { axis: 0 });
      }
    }
    return this.g.floatInit(name, [b.length], b, name);
  }

  toNchw(v: Val): Val {
    if (v.layout === 'nchw') return v;
    return { ...v, name: this.g.node('Transpose', [v.name], { perm: [0, 3, 1, 2] }), layout: 'nchw' };
  }

  toTs(v: Val): Val {
    if (v.layout === 'ts') return v;
    return { ...v, name: this.g.node('Transpose', [v.name], { perm: [0, 2, 3, 1] }), layout: 'ts' };
  }

  need4d(v: Val, layer: string): void {
    if (v.shape.length !== 3) {
      throw new OnnxExportError(`needs NHWC images [N,H,W,C], but its input is [N,${v.shape.join(',')}]`, { layer, rule: 'shape' });
    }
  }

  linear(key: string, m: Linear, x: Val, layer: string): Val {
    if (x.shape.length !== 1 || x.shape[0] !== m.inFeatures) {
      throw new OnnxExportError(`needs input [N,${m.inFeatures}], got [N,${x.shape.join(',')}]`, { layer, rule: 'shape' });
    }
    const wname = `${key}.weight`;
    const dims = [m.inFeatures, m.outFeatures];
    const b = m.hasBias ? this.param(`${key}.bias`, layer) : null;
    let y: string;
    if (this.mode === 'float' || this.keepsFloat(wname, layer)) {
      const w = this.g.floatInit(wname, dims, this.floatWeight(wname, layer), wname);
      y = this.g.node('MatMul', [x.name, w]);
      if (b) y = this.g.node('Add', [y, this.bias(`${key}.bias`, b, x, null)]);
    } else {
      this.param(wname, layer, true); // finiteness of the fp32 source
      const q = this.qweight(wname, dims, layer);
      if (this.mode === 'static') {
        const w = this.dequantWeight(wname, q, q.codes, dims, (a) => a, layer);
        y = this.g.node('MatMul', [x.name, w]);
        if (b) y = this.g.node('Add', [y, this.bias(`${key}.bias`, b, x, q)]);
      } else {
        y = this.dynamicMatMul(wname, q, x, layer);
        if (b) y = this.g.node('Add', [y, this.g.floatInit(`${key}.bias`, [b.length], b, `${key}.bias`)]);
      }
    }
    return { name: y, layout: 'ts', shape: [m.outFeatures] };
  }

  /** DynamicQuantizeLinear → MatMulInteger → Cast → Mul(x_scale · w_scale): the pattern onnxruntime fuses into one int8 kernel. */
  dynamicMatMul(wname: string, q: QuantizedTensor, x: Val, layer: string): string {
    const p = q.params;
    const perTensor = p.axis === null || p.scale.length === 1;
    if (!perTensor && p.axis !== 1) {
      throw new OnnxExportError(`quantized weight '${wname}': the dynamic form needs per-tensor or per-output-channel (axis 1) weights, got axis ${p.axis}`, {
        layer,
        rule: 'per-channel-axis',
      });
    }
    const [xq, xs, xz] = this.g.nodeMulti('DynamicQuantizeLinear', [x.name], 3);
    const wq = this.g.init(`${wname}_quantized`, dtypeCode(q.codes), q.shape, q.codes, wname);
    const inputs = [xq, wq, xz];
    const zp = zeroPointArray(p, layer, `quantized weight '${wname}'`);
    if (zp.some((z) => z !== 0)) inputs.push(this.g.init(`${wname}_zero_point`, dtypeCode(zp), perTensor ? [] : [zp.length], perTensor ? zp.slice(0, 1) : zp));
    const acc = this.g.node('MatMulInteger', inputs);
    const f = this.g.node('Cast', [acc], { to: DataType.FLOAT });
    const ws = this.g.floatInit(`${wname}_scale`, perTensor ? [] : [p.scale.length], perTensor ? [p.scale[0]] : Float32Array.from(p.scale));
    const s = this.g.node('Mul', [xs, ws]);
    return this.g.node('Mul', [f, s]);
  }

  conv(key: string, m: Conv2d, x0: Val, layer: string): Val {
    this.need4d(x0, layer);
    const [h, w, c] = x0.shape;
    if (c !== m.inChannels) throw new OnnxExportError(`needs ${m.inChannels} input channels, got [N,${x0.shape.join(',')}]`, { layer, rule: 'shape' });
    const x = this.toNchw(x0);
    const k = m.kernelSize;
    const s = m.stride;
    const [pt, pb] = m.padding === 'same' ? samePad(h, k, s) : m.padding === 'valid' ? [0, 0] : [m.padding, m.padding];
    const [pl, pr] = m.padding === 'same' ? samePad(w, k, s) : m.padding === 'valid' ? [0, 0] : [m.padding, m.padding];
    const oh = outSize(h, k, s, pt, pb);
    const ow = outSize(w, k, s, pl, pr);
    const attrs = { kernel_shape: [k, k], strides: [s, s], pads: [pt, pl, pb, pr], dilations: [1, 1], group: 1 };
    const hwio = [k, k, m.inChannels, m.outChannels];
    const oihw = [m.outChannels, m.inChannels, k, k];
    const wname = `${key}.weight`;
    const b = m.hasBias ? this.param(`${key}.bias`, layer) : null;
    let y: string;
    if (this.mode === 'float' || this.keepsFloat(wname, layer)) {
      const wi = this.g.floatInit(wname, oihw, hwioToOihw(this.floatWeight(wname, layer), hwio), wname);
      y = this.g.node('Conv', b ? [x.name, wi, this.bias(`${key}.bias`, b, x, null)] : [x.name, wi], attrs);
    } else {
      this.param(wname, layer, true);
      const q = this.qweight(wname, hwio, layer);
      const axisMap = (a: number) => ([2, 3, 1, 0][a] ?? a);
      if (this.mode === 'static') {
        const wi = this.dequantWeight(wname, q, hwioToOihw(q.codes, hwio), oihw, axisMap, layer);
        y = this.g.node('Conv', b ? [x.name, wi, this.bias(`${key}.bias`, b, x, q)] : [x.name, wi], attrs);
      } else {
        y = this.dynamicConv(wname, q, x, oihw, attrs, b, layer);
      }
    }
    return { name: y, layout: 'nchw', shape: [oh, ow, m.outChannels] };
  }

  /** DynamicQuantizeLinear → ConvInteger (uint8 weights: int8 codes + 128, zero point 128) → Cast → Mul → Add. */
  dynamicConv(wname: string, q: QuantizedTensor, x: Val, oihw: number[], attrs: Record<string, number | number[]>, b: Float32Array | null, layer: string): string {
    const p = q.params;
    const perTensor = p.axis === null || p.scale.length === 1;
    if (!perTensor && p.axis !== 3) {
      throw new OnnxExportError(`quantized weight '${wname}': the dynamic form needs per-tensor or per-output-channel (axis 3) weights, got axis ${p.axis}`, {
        layer,
        rule: 'per-channel-axis',
      });
    }
    const zp = zeroPointArray(p, layer, `quantized weight '${wname}'`);
    const codes = hwioToOihw(q.codes, q.shape);
    // onnxruntime's ConvInteger kernel takes uint8 weights with one zero point: shift each
    // channel's codes so that its zero point becomes 128 (exact for symmetric int8).
    const u8 = new Uint8Array(codes.length);
    const per = codes.length / oihw[0];
    for (let o = 0; o < oihw[0]; o++) {
      const shift = 128 - (zp[perTensor ? 0 : o] ?? 0) - (codes instanceof Int8Array ? 0 : 128);
      for (let i = 0; i < per; i++) {
        const v = codes[o * per + i] + shift;
        if (v < 0 || v > 255) {
          throw new OnnxExportError(`quantized weight '${wname}': codes do not fit uint8 after moving the zero point to 128`, { layer, rule: 'zero-point-range' });
        }
        u8[o * per + i] = v;
      }
    }
    const [xq, xs, xz] = this.g.nodeMulti('DynamicQuantizeLinear', [x.name], 3);
    const wq = this.g.init(`${wname}_quantized`, DataType.UINT8, oihw, u8, wname);
    const wz = this.g.init(`${wname}_zero_point`, DataType.UINT8, [], Uint8Array.of(128));
    const acc = this.g.node('ConvInteger', [xq, wq, xz, wz], attrs);
    const f = this.g.node('Cast', [acc], { to: DataType.FLOAT });
    const ws = this.g.floatInit(`${wname}_scale`, perTensor ? [1] : [1, p.scale.length, 1, 1], perTensor ? [p.scale[0]] : Float32Array.from(p.scale));
    const s = this.g.node('Mul', [xs, ws]);
    let y = this.g.node('Mul', [f, s]);
    if (b) y = this.g.node('Add', [y, this.g.floatInit(`${wname.replace(/weight$/, 'bias')}`, [1, b.length, 1, 1], b, wname.replace(/weight$/, 'bias'))]);
    return y;
  }

  pool(m: MaxPool2d | AvgPool2d, x0: Val, layer: string): Val {
    this.need4d(x0, layer);
    const [h, w, c] = x0.shape;
    const x = this.toNchw(x0);
    const k = m.kernelSize;
    const s = m.stride;
    const [pt, pb] = m.padding === 'same' ? samePad(h, k, s) : [0, 0];
    const [pl, pr] = m.padding === 'same' ? samePad(w, k, s) : [0, 0];
    const attrs: Record<string, number | number[]> = { kernel_shape: [k, k], strides: [s, s], pads: [pt, pl, pb, pr] };
    if (m instanceof AvgPool2d) attrs.count_include_pad = 0; // tfjs averages over the window inside the image
    const y = this.g.node(m instanceof MaxPool2d ? 'MaxPool' : 'AveragePool', [x.name], attrs);
    return { name: y, layout: 'nchw', shape: [outSize(h, k, s, pt, pb), outSize(w, k, s, pl, pr), c] };
  }

  batchNorm(key: string, m: BatchNorm, x0: Val, layer: string): Val {
    if (x0.shape[x0.shape.length - 1] !== m.numFeatures || (x0.shape.length !== 1 && x0.shape.length !== 3)) {
      throw new OnnxExportError(`needs [N,${m.numFeatures}] or [N,H,W,${m.numFeatures}], got [N,${x0.shape.join(',')}]`, { layer, rule: 'shape' });
    }
    const x = x0.shape.length === 3 ? this.toNchw(x0) : x0;
    const n = m.numFeatures;
    const gamma = this.g.floatInit(`${key}.weight`, [n], this.param(`${key}.weight`, layer), `${key}.weight`);
    const beta = this.g.floatInit(`${key}.bias`, [n], this.param(`${key}.bias`, layer), `${key}.bias`);
    const mean = this.g.floatInit(`${key}.running_mean`, [n], buffer(this.model, `${key}.running_mean`), `${key}.running_mean`);
    const vr = this.g.floatInit(`${key}.running_var`, [n], buffer(this.model, `${key}.running_var`), `${key}.running_var`);
    const y = this.g.node('BatchNormalization', [x.name, gamma, beta, mean, vr], { epsilon: { float: m.eps } });
    return { name: y, layout: x.layout, shape: x0.shape };
  }

  layer(key: string, m: Module, x: Val): Val {
    const layer = layerLabel(key, m);
    this.g.layer = layer;
    if (m instanceof Linear) return this.linear(key, m, x, layer);
    if (m instanceof Conv2d) return this.conv(key, m, x, layer);
    if (m instanceof MaxPool2d || m instanceof AvgPool2d) return this.pool(m, x, layer);
    if (m instanceof BatchNorm) return this.batchNorm(key, m, x, layer);
    if (m instanceof ReLU) return { ...x, name: this.g.node('Relu', [x.name]), q: undefined };
    if (m instanceof Tanh) return { ...x, name: this.g.node('Tanh', [x.name]), q: undefined };
    if (m instanceof Sigmoid) return { ...x, name: this.g.node('Sigmoid', [x.name]), q: undefined };
    if (m instanceof Softmax) {
      // @x/tensor's softmax runs over the last axis of its (NHWC) layout: the channel axis.
      const axis = x.layout === 'nchw' ? 1 : -1;
      return { ...x, name: this.g.node('Softmax', [x.name], { axis }), q: undefined };
    }
    if (m instanceof Dropout) return x; // identity at inference
    if (m instanceof Flatten) {
      if (x.shape.length < 1) throw new OnnxExportError(`needs a rank ≥ 2 input`, { layer, rule: 'shape' });
      // @x/tensor flattens in NHWC order, so NCHW values go back to NHWC first.
      const t = this.toTs(x);
      return { ...t, name: this.g.node('Flatten', [t.name], { axis: 1 }), shape: [prod(x.shape)], layout: 'ts' };
    }
    if (m instanceof Reshape) {
      if (prod(m.shape) !== prod(x.shape)) {
        throw new OnnxExportError(`needs ${prod(m.shape)} values per sample, got [N,${x.shape.join(',')}]`, { layer, rule: 'shape' });
      }
      const t = this.toTs(x);
      const shape = this.g.int64Init(`${key}.shape`, [-1, ...m.shape]);
      return { ...t, name: this.g.node('Reshape', [t.name, shape]), shape: [...m.shape], layout: 'ts' };
    }
    throw new OnnxExportError(
      `layer ${m.toString()} (${m.constructor.name}) cannot be exported; supported: Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm, Flatten, Reshape, Dropout, ReLU, Tanh, Sigmoid, Softmax`,
      { layer, rule: 'unsupported-layer' },
    );
  }
}

function inferInputShape(model: Sequential): number[] {
  const first = model.layers[0];
  if (first instanceof Linear) return [first.inFeatures];
  if (first instanceof Reshape) return [prod(first.shape)];
  if (first instanceof BatchNorm) return [first.numFeatures];
  throw new OnnxExportError(`cannot infer the input shape from a first layer ${first ? first.toString() : '(none)'}; pass options.inputShape (per sample, e.g. [28, 28, 1])`, {
    layer: first ? layerLabel('0', first) : 'model',
    rule: 'argument',
  });
}

function checkOptions(options: OnnxExportOptions): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`toOnnx: argument 'options' must be an object, got ${describe(options)}`);
  if (options.inputShape !== undefined && (!Array.isArray(options.inputShape) || options.inputShape.length === 0 || options.inputShape.some((d) => !Number.isInteger(d) || d < 1))) {
    throw new OnnxExportError(`option 'inputShape' must be a non-empty list of positive integers (per sample), got ${describe(options.inputShape)}`, { layer: 'model', rule: 'argument' });
  }
  for (const k of ['inputName', 'outputName', 'graphName'] as const) {
    const v = options[k];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw new TypeError(`toOnnx: option '${k}' must be a non-empty string, got ${describe(v)}`);
  }
}

/**
 * Builds the ONNX model of a Sequential or a QuantizedModel and returns its bytes and what
 * was written. The live model is never changed (pruning masks are applied to copies).
 * @param model a Sequential (fp32, pruned via parametrizations, or structurally pruned) or a QuantizedModel from @x/compress.
 * @param options opset, input shape, names, extra metadata.
 * @returns `{ bytes, info }`.
 * @throws OnnxExportError naming the layer and the rule for anything it cannot write correctly.
 * @example
 * const { bytes, info } = buildOnnx(mlp([784, 300, 100, 10], { seed: 0 }));
 */
export function buildOnnx(model: Sequential | QuantizedModel, options: OnnxExportOptions = {}): { bytes: Uint8Array; info: ExportInfo } {
  checkOptions(options);
  const quantized = isQuantizedModel(model);
  const seq = quantized ? model.model : model;
  if (!(seq instanceof Sequential)) {
    throw new OnnxExportError(`argument 'model' must be a Sequential or a QuantizedModel, got ${describe(model)}`, { layer: 'model', rule: 'unsupported-layer' });
  }
  if (quantized && !['static', 'dynamic', 'qat'].includes(model.method)) {
    throw new OnnxExportError(`QuantizedModel.method must be 'static', 'dynamic' or 'qat', got ${describe(model.method)}`, { layer: 'model', rule: 'argument' });
  }
  if (quantized && model.bits !== 8) {
    throw new OnnxExportError(`QuantizedModel.bits must be 8 (ONNX QuantizeLinear writes 8-bit codes), got ${describe(model.bits)}`, { layer: 'model', rule: 'argument' });
  }
  const opset = options.opset ?? MIN_OPSET;
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'output';
  const inputShape = options.inputShape ?? inferInputShape(seq);

  const L = new Lowering(model);
  const g = L.g;
  g.fresh(inputName);
  g.fresh(outputName);
  let v: Val = { name: inputName, layout: 'ts', shape: [...inputShape] };
  const acts = quantized && model.method !== 'dynamic' ? model.activations : null;
  if (acts?.has('input')) {
    g.layer = 'input';
    v = L.qdq(v, 'input', acts.get('input') as QuantParams, 'input');
  }
  seq.layers.forEach((m, i) => {
    const key = String(i);
    v = L.layer(key, m, v);
    const p = acts?.get(key);
    if (p) v = L.qdq(v, key, p, layerLabel(key, m));
  });
  g.layer = 'output';
  v = L.toTs(v);
  g.nodes.push({ opType: 'Identity', inputs: [v.name], outputs: [outputName], attrs: {}, name: g.fresh('node.output'), layer: 'output' });

  validateGraph(g, opset);

  const variant: ExportInfo['variant'] = quantized
    ? (`int8-${model.method}` as ExportInfo['variant'])
    : [...seq.namedParameters().keys()].some((n) => seq.getParametrization(n) !== undefined)
      ? 'pruned'
      : 'fp32';
  const sparsity = L.weightCount ? L.zeros / L.weightCount : 0;
  const metadata: Record<string, string> = {
    'x.variant': variant,
    'x.bits': quantized ? '8' : '32',
    'x.quantization': quantized ? model.method : 'none',
    'x.sparsity': sparsity.toFixed(6),
    'x.params': String(L.params),
    'x.nonzero_params': String(L.nonzero),
    'x.model': seq.toString(),
    'x.producer': `@x/onnx@${VERSION}`,
    ...Object.fromEntries(Object.entries(sourceVersions()).map(([k, ver]) => [`x.source.${k}`, ver])),
    ...(options.metadata ?? {}),
  };
  const inDims = ['N', ...inputShape];
  const outDims = ['N', ...v.shape];
  const proto = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: opset }],
    producer_name: '@x/onnx',
    producer_version: VERSION,
    domain: 'x',
    model_version: 1,
    doc_string: options.docString ?? `${variant} export of ${seq.toString()}`,
    graph: g.toProto({ name: options.graphName ?? 'x-onnx', input: { name: inputName, dims: inDims }, output: { name: outputName, dims: outDims } }),
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  const bytes = encodeModelProto(proto);
  const ops: Record<string, number> = {};
  for (const n of g.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  return {
    bytes,
    info: { variant, irVersion: IR_VERSION, opset, ops, params: L.params, nonzeroParams: L.nonzero, sparsity, bits: quantized ? 8 : 32, metadata, inputShape: inDims, outputShape: outDims },
  };
}

/**
 * The ONNX bytes of a model (see `buildOnnx`).
 * @param model a Sequential or a QuantizedModel.
 * @param options opset, input shape, names, metadata.
 * @returns the serialized ModelProto.
 * @throws OnnxExportError naming the layer and the rule.
 * @example
 * const bytes = toOnnx(mlp([784, 10], { seed: 0 }));
 */
export function toOnnx(model: Sequential | QuantizedModel, options: OnnxExportOptions = {}): Uint8Array {
  return buildOnnx(model, options).bytes;
}

/**
 * Writes bytes atomically: to a temporary file in the same folder, then renamed over `file`,
 * so a reader never sees a half-written model. The folder is created if needed.
 * @param bytes the content.
 * @param file destination path.
 * @throws TypeError for a non-Uint8Array or an empty path; the fs error if writing fails (the temporary file is removed).
 * @example
 * await saveOnnx(toOnnx(model), 'models/fp32.onnx');
 */
export async function saveOnnx(bytes: Uint8Array, file: string): Promise<void> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`saveOnnx: argument 'bytes' must be a Uint8Array, got ${describe(bytes)}`);
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(`saveOnnx: argument 'path' must be a non-empty string, got ${describe(file)}`);
  const dir = path.dirname(path.resolve(file));
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await fs.promises.writeFile(tmp, bytes);
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Exports a model to an .onnx file (atomically).
 * @param model a Sequential or a QuantizedModel.
 * @param target the file path, or options with `path`.
 * @returns the path, the file size and what was written.
 * @throws OnnxExportError (nothing is written then); fs errors.
 * @example
 * const { size } = await exportOnnx(model, 'models/fp32.onnx');
 */
export async function exportOnnx(model: Sequential | QuantizedModel, target: string | (OnnxExportOptions & { path: string })): Promise<ExportResult> {
  const opts: OnnxExportOptions & { path: string } = typeof target === 'string' ? { path: target } : target;
  if (opts === null || typeof opts !== 'object' || typeof opts.path !== 'string') {
    throw new TypeError(`exportOnnx: argument 'target' must be a path or options with a 'path', got ${describe(target)}`);
  }
  const { bytes, info } = buildOnnx(model, opts);
  await saveOnnx(bytes, opts.path);
  return { path: opts.path, size: bytes.length, info };
}

export { MIN_OPSET, MAX_OPSET, IR_VERSION };

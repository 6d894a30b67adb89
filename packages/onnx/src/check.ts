/**
 * Checks run on every graph before it is serialized. Each failure is an OnnxExportError
 * naming the layer the offending node or initializer came from, and the rule.
 */
import { OnnxExportError } from './errors.js';
import type { GraphBuilder, GraphNode, Initializer } from './graph.js';
import { DataType } from './proto.js';

/** Lowest and highest default-domain opset the exporter writes (IR 8 ↔ opset ≤ 17; onnxruntime-node 1.30 reads ≥ 13). */
export const MIN_OPSET = 13;
export const MAX_OPSET = 17;
/** ONNX IR version written: 8, the version of the onnx.proto kept in the repo (ONNX 1.12). */
export const IR_VERSION = 8;

/**
 * Operators the exporter may emit — all run by onnxruntime-node's CPU provider — with the
 * lowest opset at which the form used here exists.
 */
const ALLOWED: Record<string, (n: GraphNode) => number> = {
  MatMul: () => 9,
  Gemm: () => 11,
  Add: () => 7,
  Mul: () => 7,
  Relu: () => 6,
  Tanh: () => 6,
  Sigmoid: () => 6,
  Softmax: () => 13, // axis semantics (one axis, not "flatten from axis") since 13
  Conv: () => 11,
  MaxPool: () => 12,
  AveragePool: () => 11,
  BatchNormalization: () => 9,
  Flatten: () => 11,
  Reshape: () => 5,
  Transpose: () => 1,
  Identity: () => 1,
  Cast: () => 9,
  // per-axis scales (attribute `axis`) exist from opset 13
  QuantizeLinear: (n) => ('axis' in n.attrs ? 13 : 10),
  DequantizeLinear: (n) => ('axis' in n.attrs ? 13 : 10),
  DynamicQuantizeLinear: () => 11,
  MatMulInteger: () => 10,
  ConvInteger: () => 10,
};

export function allowedOps(): string[] {
  return Object.keys(ALLOWED);
}

const DTYPE_NAME: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64' };

function fail(message: string, layer: string, rule: ConstructorParameters<typeof OnnxExportError>[1]['rule']): never {
  throw new OnnxExportError(message, { layer, rule });
}

/** The element type of a value: from its initializer, or from the node producing it. */
function valueType(g: GraphBuilder, name: string): number | undefined {
  const init = g.initializer(name);
  if (init) return init.dataType;
  const p = g.producer(name);
  if (!p) return undefined;
  if (p.opType === 'QuantizeLinear') {
    const zp = p.inputs[2] ? g.initializer(p.inputs[2]) : undefined;
    return zp ? zp.dataType : DataType.UINT8;
  }
  if (p.opType === 'DynamicQuantizeLinear') return p.outputs[0] === name ? DataType.UINT8 : p.outputs[1] === name ? DataType.FLOAT : DataType.UINT8;
  if (p.opType === 'MatMulInteger' || p.opType === 'ConvInteger') return DataType.INT32;
  return DataType.FLOAT;
}

function checkQdq(g: GraphBuilder, n: GraphNode): void {
  const what = `${n.opType} '${n.name}'`;
  const scale = g.initializer(n.inputs[1]);
  if (!scale || scale.dataType !== DataType.FLOAT) {
    fail(`${what}: the scale must be a float32 initializer, got ${scale ? DTYPE_NAME[scale.dataType] : 'a computed value'}`, n.layer, 'scale-positive-finite');
  }
  const s = scale.data as Float32Array;
  for (let i = 0; i < s.length; i++) {
    if (!(Number.isFinite(s[i]) && s[i] > 0)) {
      fail(`${what}: scale '${scale.name}'[${i}] must be finite and > 0, got ${s[i]}`, n.layer, 'scale-positive-finite');
    }
  }
  const zp = n.inputs[2] ? g.initializer(n.inputs[2]) : undefined;
  const quantType = n.opType === 'QuantizeLinear' ? zp?.dataType ?? DataType.UINT8 : valueType(g, n.inputs[0]);
  if (zp) {
    const okTypes: number[] = n.opType === 'QuantizeLinear' ? [DataType.UINT8, DataType.INT8] : [DataType.UINT8, DataType.INT8, DataType.INT32];
    if (!okTypes.includes(zp.dataType)) {
      fail(`${what}: zero point '${zp.name}' must be ${okTypes.map((t) => DTYPE_NAME[t]).join(' or ')}, got ${DTYPE_NAME[zp.dataType]}`, n.layer, 'zero-point-type');
    }
    if (quantType !== undefined && zp.dataType !== quantType) {
      fail(`${what}: zero point '${zp.name}' is ${DTYPE_NAME[zp.dataType]} but the quantized tensor is ${DTYPE_NAME[quantType]}; they must be the same type`, n.layer, 'zero-point-type');
    }
    if (zp.data.length !== s.length) {
      fail(`${what}: zero point '${zp.name}' has ${zp.data.length} entries but the scale has ${s.length}`, n.layer, 'per-channel-axis');
    }
  }
  const x = n.opType === 'DequantizeLinear' ? g.initializer(n.inputs[0]) : undefined;
  if (s.length > 1 || scale.dims.length > 0) {
    const axis = n.attrs.axis;
    if (s.length > 1 && typeof axis !== 'number') {
      fail(`${what}: ${s.length} scales (per-channel) need the attribute 'axis', got none`, n.layer, 'per-channel-axis');
    }
    if (x && typeof axis === 'number') {
      const r = x.dims.length;
      if (!Number.isInteger(axis) || axis < -r || axis >= r) {
        fail(`${what}: axis must be in [${-r}, ${r - 1}] for the rank-${r} tensor '${x.name}', got ${axis}`, n.layer, 'per-channel-axis');
      }
      const dim = x.dims[axis < 0 ? axis + r : axis];
      if (s.length > 1 && dim !== s.length) {
        fail(`${what}: axis ${axis} of '${x.name}' [${x.dims.join(',')}] has ${dim} channels but there are ${s.length} scales`, n.layer, 'per-channel-axis');
      }
    }
  }
}

function checkIntegerOp(g: GraphBuilder, n: GraphNode): void {
  // inputs: a, b, a_zero_point?, b_zero_point?  (x, w, x_zero_point?, w_zero_point? for ConvInteger)
  for (const [k, zi] of [[0, 2], [1, 3]] as const) {
    const zname = n.inputs[zi];
    if (!zname) continue;
    const zt = valueType(g, zname);
    const xt = valueType(g, n.inputs[k]);
    if (zt !== undefined && xt !== undefined && zt !== xt) {
      fail(`${n.opType} '${n.name}': zero point of input ${k} is ${DTYPE_NAME[zt]} but the input is ${DTYPE_NAME[xt]}`, n.layer, 'zero-point-type');
    }
  }
}

function checkInitializer(t: Initializer): void {
  if (t.dataType !== DataType.FLOAT) return;
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      const what = t.param ? `parameter '${t.param}'` : `initializer '${t.name}'`;
      fail(`${what} holds ${d[i]} at flat index ${i}; every exported weight must be finite`, t.layer, 'finite-weights');
    }
  }
}

/**
 * Validates a built graph for the given opset.
 * @throws OnnxExportError on the first rule broken.
 */
export function validateGraph(g: GraphBuilder, opset: number): void {
  for (const n of g.nodes) {
    const need = ALLOWED[n.opType];
    if (!need) {
      fail(`operator '${n.opType}' is not in the allow-list of operators onnxruntime-node runs (${allowedOps().join(', ')})`, n.layer, 'op-allow-list');
    }
    const min = need(n);
    if (opset < min) fail(`operator '${n.opType}' as used here needs opset ≥ ${min}, but the model declares opset ${opset}`, n.layer, 'opset');
    if (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') checkQdq(g, n);
    if (n.opType === 'MatMulInteger' || n.opType === 'ConvInteger') checkIntegerOp(g, n);
  }
  // after the node rules, so that a bad scale is reported as a scale, not as a weight
  for (const t of g.initializers) checkInitializer(t);
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    fail(
      `opset must be an integer in [${MIN_OPSET}, ${MAX_OPSET}] (IR version ${IR_VERSION} allows ≤ 17; onnxruntime-node 1.30 reads ≥ 13), got ${opset}`,
      'model',
      'opset',
    );
  }
}

/**
 * A small ONNX graph builder: initializers, nodes (each tagged with the layer it came from,
 * for error messages) and value infos, turned into a plain ModelProto object.
 */
import { AttributeType, DataType, type DataTypeCode } from './proto.js';

export type AttrValue = number | number[] | string | { floats: number[] } | { float: number };

/** An initializer as the checks see it. */
export interface Initializer {
  name: string;
  dataType: DataTypeCode;
  dims: number[];
  data: Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;
  /** The model parameter it came from (`"0.weight"`), for error messages. */
  param?: string;
  layer: string;
}

/** A node as the checks see it. */
export interface GraphNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  name: string;
  layer: string;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function rawBytes(data: Initializer['data']): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  // ONNX raw_data is little-endian whatever the host.
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  const w = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(i * w, data[i], true);
    else if (data instanceof Int32Array) view.setInt32(i * w, data[i], true);
    else if (data instanceof BigInt64Array) view.setBigInt64(i * w, data[i], true);
    else out[i] = (data as Uint8Array)[i] & 0xff;
  }
  return out;
}

export class GraphBuilder {
  readonly initializers: Initializer[] = [];
  readonly nodes: GraphNode[] = [];
  private readonly names = new Set<string>();
  /** The layer label that new nodes and initializers are tagged with. */
  layer = 'graph';

  /** A name not used yet, from a readable stem. */
  fresh(stem: string): string {
    let name = stem;
    for (let k = 1; this.names.has(name); k++) name = `${stem}_${k}`;
    this.names.add(name);
    return name;
  }

  init(stem: string, dataType: DataTypeCode, dims: number[], data: Initializer['data'], param?: string): string {
    const name = this.fresh(stem);
    this.initializers.push({ name, dataType, dims: [...dims], data, param, layer: this.layer });
    return name;
  }

  floatInit(stem: string, dims: number[], data: Float32Array | number[], param?: string): string {
    return this.init(stem, DataType.FLOAT, dims, data instanceof Float32Array ? data : Float32Array.from(data), param);
  }

  int64Init(stem: string, values: number[]): string {
    return this.init(stem, DataType.INT64, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /** Adds a node; returns its (first) output name. */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, nOutputs = 1, stem?: string): string {
    const base = stem ?? `${this.layer.split(':')[0]}.${opType}`;
    const outputs = Array.from({ length: nOutputs }, (_, k) => this.fresh(nOutputs === 1 ? base : `${base}.out${k}`));
    this.nodes.push({ opType, inputs, outputs, attrs, name: this.fresh(`node.${base}`), layer: this.layer });
    return outputs[0];
  }

  /** Adds a node with several outputs; returns all output names. */
  nodeMulti(opType: string, inputs: string[], nOutputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    this.node(opType, inputs, attrs, nOutputs);
    return this.nodes[this.nodes.length - 1].outputs;
  }

  initializer(name: string): Initializer | undefined {
    return this.initializers.find((i) => i.name === name);
  }

  producer(name: string): GraphNode | undefined {
    return this.nodes.find((n) => n.outputs.includes(name));
  }

  toProto(io: {
    name: string;
    input: { name: string; dims: (number | string)[] };
    output: { name: string; dims: (number | string)[] };
  }): Record<string, unknown> {
    const valueInfo = (v: { name: string; dims: (number | string)[] }) => ({
      name: v.name,
      type: {
        tensor_type: {
          elem_type: DataType.FLOAT,
          shape: { dim: v.dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) },
        },
      },
    });
    return {
      name: io.name,
      node: this.nodes.map((n) => ({
        name: n.name,
        op_type: n.opType,
        domain: '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([name, v]) => attribute(name, v)),
      })),
      initializer: this.initializers.map((t) => ({ name: t.name, data_type: t.dataType, dims: t.dims, raw_data: rawBytes(t.data) })),
      input: [valueInfo(io.input)],
      output: [valueInfo(io.output)],
    };
  }
}

function attribute(name: string, v: AttrValue): Record<string, unknown> {
  if (typeof v === 'number') return { name, type: AttributeType.INT, i: v };
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v };
  if ('floats' in v) return { name, type: AttributeType.FLOATS, floats: v.floats };
  return { name, type: AttributeType.FLOAT, f: v.float };
}

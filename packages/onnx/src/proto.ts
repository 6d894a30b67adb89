/**
 * The ONNX protobuf codec, built by protobufjs/light from the JSON descriptor generated from
 * the official onnx.proto (ONNX 1.12.0, see src/generated/README.md).
 */
import protobuf from 'protobufjs/light.js';
import { onnxProtoJson } from './generated/onnx-proto.js';

const root = protobuf.Root.fromJSON(onnxProtoJson as protobuf.INamespace);
const ModelProto = root.lookupType('onnx.ModelProto');

/** ONNX TensorProto.DataType codes used by the exporters. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** ONNX AttributeProto.AttributeType codes. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** Serializes a plain ModelProto object (snake_case field names as in onnx.proto). */
export function encodeModelProto(model: Record<string, unknown>): Uint8Array {
  const err = ModelProto.verify(model);
  if (err) throw new Error(`encodeModelProto: invalid ModelProto: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/**
 * Parses ONNX bytes into a plain object (snake_case names; int64 as numbers, bytes as
 * Uint8Array). Useful to inspect an exported file.
 * @param bytes a serialized ModelProto.
 * @returns the decoded ModelProto as a plain object.
 */
export function decodeOnnx(bytes: Uint8Array): Record<string, any> {
  const msg = ModelProto.decode(bytes);
  return ModelProto.toObject(msg, { longs: Number, enums: Number, bytes: Uint8Array, defaults: false, arrays: true }) as Record<string, any>;
}

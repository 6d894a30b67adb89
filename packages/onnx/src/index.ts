/**
 * @x/onnx — export @x/tensor models (fp32, pruned, structurally pruned) and @x/compress
 * quantized models (int8 static QDQ, dynamic, QAT) to ONNX that onnxruntime runs.
 */
export { toOnnx, buildOnnx, exportOnnx, saveOnnx, isQuantizedModel, MIN_OPSET, MAX_OPSET, IR_VERSION } from './export.js';
export type { OnnxExportOptions, ExportInfo, ExportResult } from './export.js';
export { OnnxExportError } from './errors.js';
export type { OnnxRule } from './errors.js';
export { decodeOnnx } from './proto.js';
export { allowedOps } from './check.js';
export { VERSION } from './version.js';
export type { QuantizedModel, QuantizedTensor, QuantParams, QuantDtype, QuantScheme } from './quant-types.js';

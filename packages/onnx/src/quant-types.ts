/**
 * The quantized-model types of the @x/compress ↔ @x/onnx contract (`quantizeModel`,
 * `convertQat` return a `QuantizedModel`). Type-only: @x/onnx does not load @x/compress at
 * run time, and the exporter checks every field it reads, so a hand-built object works too.
 */
export type { QuantizedModel, QuantizedTensor, QuantParams, QuantDtype, QuantScheme } from '@x/compress';

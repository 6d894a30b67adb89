export {};
// Quantization (post-training arrays)
export { roundHalfToEven, computeQuantParams, quantize, dequantize, quantizeTensor, quantParamsFromRange, scaleAndZeroPoint, codeRange, MIN_SCALE, ZERO_RANGE_SCALE } from './quant.js';
export type { QuantDtype, QuantScheme, QuantParams, QuantizedTensor, QuantOptions } from './quant.js';

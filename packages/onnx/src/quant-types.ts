/**
 * The quantized-model types of the @x/compress ↔ @x/onnx contract (see @x/compress's
 * `quantizeModel`, `convertQat`). Declared structurally here so that the exporter accepts any
 * object of this shape — @x/compress's `QuantizedModel` is one.
 */
import type { Sequential } from '@x/tensor';

export type QuantDtype = 'int8' | 'uint8';
export type QuantScheme = 'symmetric' | 'asymmetric';

export interface QuantParams {
  dtype: QuantDtype;
  scheme: QuantScheme;
  /** null = per-tensor (scale/zeroPoint of length 1); else the channel axis in @x/tensor's layout. */
  axis: number | null;
  scale: Float32Array;
  zeroPoint: Int32Array;
}

export interface QuantizedTensor {
  shape: number[];
  codes: Int8Array | Uint8Array;
  params: QuantParams;
}

export interface QuantizedModel {
  /** fp32 model the quantized weights came from (batch norm folded, masks baked). */
  model: Sequential;
  /** Every Linear/Conv2d weight by parameter name. */
  weights: Map<string, QuantizedTensor>;
  /** static/qat: per-tensor activation params; 'input' = the model input, String(i) = output of child i. */
  activations: Map<string, QuantParams>;
  bits: 8;
  method: 'static' | 'dynamic' | 'qat';
}

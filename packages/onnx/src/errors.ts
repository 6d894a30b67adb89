import { XError } from '@x/tensor';

/** Which check an export failed. */
export type OnnxRule =
  | 'unsupported-layer'
  | 'finite-weights'
  | 'scale-positive-finite'
  | 'zero-point-type'
  | 'zero-point-range'
  | 'per-channel-axis'
  | 'opset'
  | 'op-allow-list'
  | 'shape'
  | 'argument';

/**
 * An export refused to write a model. `layer` names the layer (`"2: Linear(300→100)"`, or
 * `"model"` / `"graph"` for whole-model rules) and `rule` the check that failed.
 */
export class OnnxExportError extends XError {
  readonly layer: string;
  readonly rule: OnnxRule;
  constructor(message: string, fields: { layer: string; rule: OnnxRule }, options?: { cause?: unknown }) {
    super(`${message} [layer ${fields.layer}, rule ${fields.rule}]`, options);
    this.name = 'OnnxExportError';
    this.layer = fields.layer;
    this.rule = fields.rule;
  }
}

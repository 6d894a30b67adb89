/** Errors of @x/continual (besides the shared ones of @x/tensor). */
import { XError } from '@x/tensor';

/** A task was evaluated (or its mask asked for) before it was ever trained. */
export class UntrainedTaskError extends XError {
  /** The task id asked for. */
  readonly task: number;
  /** The tasks trained so far. */
  readonly trained: readonly number[];
  constructor(message: string, task: number, trained: readonly number[]) {
    super(message);
    this.name = 'UntrainedTaskError';
    this.task = task;
    this.trained = [...trained];
  }
}

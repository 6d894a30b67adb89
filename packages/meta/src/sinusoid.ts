/**
 * The sinusoid regression tasks of the MAML paper (Finn et al. 2017, §5.1): y = A·sin(x − φ)
 * with amplitude A ~ U[0.1, 5], phase φ ~ U[0, π], inputs x ~ U[−5, 5].
 */
import { Rng, ValueError, describe, toSeed } from '@x/tensor';

/** One sinusoid task. */
export interface SinusoidTask {
  amplitude: number;
  phase: number;
  /** Values of the task's function at `x`. */
  at(x: ArrayLike<number>): Float32Array;
  /** `n` points with x ~ U[−5, 5]. */
  sample(n: number): { x: Float32Array; y: Float32Array };
}

/**
 * Seeded source of sinusoid tasks.
 * @example
 * const tasks = new SinusoidTasks({ seed: 0 });
 * const { x, y } = tasks.next().sample(10);
 */
export class SinusoidTasks {
  private readonly rng: Rng;
  /** @param options seed. */
  constructor(options: { seed?: number | Rng } = {}) {
    this.rng = toSeed(options.seed, 0);
  }
  /** Draws the next task. */
  next(): SinusoidTask {
    const rng = this.rng;
    const amplitude = rng.uniform(0.1, 5);
    const phase = rng.uniform(0, Math.PI);
    const at = (x: ArrayLike<number>) => Float32Array.from(x, (v) => amplitude * Math.sin(v - phase));
    return {
      amplitude,
      phase,
      at,
      sample: (n: number) => {
        if (!Number.isInteger(n) || n < 1) throw new ValueError(`SinusoidTask.sample: argument 'n' must be a positive integer, got ${describe(n)}`, 'n');
        const x = rng.uniformArray(n, -5, 5);
        return { x, y: at(x) };
      },
    };
  }
}

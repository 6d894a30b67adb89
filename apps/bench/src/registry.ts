/**
 * The registry of benchmark cases. A case measures one piece of our work (per variant, e.g.
 * per backend) and names the Python reference that does the same work with a mature library;
 * `main.ts` runs every registered case, then all the references in one Python process, and
 * prints them side by side.
 *
 * Adding a row for another package: write `src/cases/<name>.ts` that calls `registerCase`,
 * import it from `src/cases/index.ts`, and (for a reference) add a function under the same
 * key to `REFERENCES` in `python/reference.py`.
 */

/** Wall times of one measured piece of work. */
export interface Timing {
  /** Median wall time of the timed runs, in seconds. */
  seconds: number;
  /** Every timed run, in seconds. */
  runs: number[];
  /** Mean number of cores that OTHER processes kept busy during the timed runs (the machine is shared). */
  othersCores?: number;
}

/** What a case returns for one variant. */
export interface Measured extends Timing {
  /** Extra facts worth keeping in bench.json (e.g. a loss, GFLOP/s). */
  details?: Record<string, unknown>;
}

/** The Python reference of a case: a key of `REFERENCES` in python/reference.py. */
export interface Reference {
  key: string;
  /** Short label for the table, e.g. "numpy f32 (2 BLAS threads)". */
  label: string;
  /** Arguments handed to the Python function (JSON). May write input files into `dir`. */
  args?: (dir: string) => Promise<Record<string, unknown>> | Record<string, unknown>;
}

export interface BenchCase {
  /** Unique id, e.g. "matmul-f32-1024". */
  id: string;
  /** What the table shows, e.g. "float32 matmul 1024²". */
  title: string;
  /** Variants measured separately against the same reference (e.g. backends); default one unnamed variant. */
  variants?: string[];
  run: (variant: string | undefined) => Promise<Measured>;
  reference?: Reference;
  /** Largest acceptable ratio ours / reference (a goal of the project), shown as pass/fail. */
  maxRatio?: number;
}

const cases: BenchCase[] = [];

/**
 * Adds a case to the registry.
 * @throws Error if a case with the same id exists, or the id is empty.
 */
export function registerCase(c: BenchCase): void {
  if (typeof c.id !== 'string' || c.id === '') throw new TypeError(`registerCase: argument 'c.id' must be a non-empty string, got ${String(c.id)}`);
  if (cases.some((x) => x.id === c.id)) throw new Error(`registerCase: a case with id '${c.id}' is already registered`);
  cases.push(c);
}

/** Every registered case, in registration order. */
export function registeredCases(): readonly BenchCase[] {
  return cases;
}

/** One line of the result table. */
export interface Row {
  id: string;
  title: string;
  variant?: string;
  ours?: Measured;
  oursError?: string;
  reference?: { key: string; label: string; seconds?: number; error?: string; timing?: Timing; details?: Record<string, unknown> };
  /** ours / reference, when both exist. */
  ratio?: number;
  maxRatio?: number;
  /** `true`/`false` when there is a ratio and a limit; undefined otherwise. */
  withinLimit?: boolean;
}

/** Fills in ratio and limit check of a row. */
export function finishRow(row: Row): Row {
  const o = row.ours?.seconds;
  const r = row.reference?.seconds;
  if (o !== undefined && r !== undefined && r > 0 && Number.isFinite(o)) {
    row.ratio = o / r;
    if (row.maxRatio !== undefined) row.withinLimit = row.ratio <= row.maxRatio;
  }
  return row;
}

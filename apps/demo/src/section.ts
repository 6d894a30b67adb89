/**
 * One part of the demo (compression, Bayesian, meta-learning, continual learning). Each part
 * lives in its own file, runs on the shared data, and returns its piece of `results.json`
 * (under `key`) and its section of `report.html`. `sections.ts` lists them in order.
 */
import type { MnistSplit } from '@x/datasets';
import type { Section } from './report.js';

export interface DemoContext {
  /** The fixed 8000/2000 MNIST split. */
  data: MnistSplit;
  /** Output folder (results.json, report.html, models/). */
  out: string;
  /** Less training, same steps (CI). */
  quick: boolean;
  seed: number;
}

export interface SectionOutput {
  /** Goes to `results.json` under the section's key. */
  results: unknown;
  /** Rows for the summary printed at the end: [what, value]. */
  summary: [string, string][];
  section: Section;
}

export interface DemoSection {
  /** Key in results.json (`compress`, `bayes`, `meta`, `continual`). */
  key: string;
  title: string;
  run(ctx: DemoContext): Promise<SectionOutput>;
}

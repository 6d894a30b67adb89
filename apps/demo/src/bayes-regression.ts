/**
 * The demo's Bayesian regression and Gaussian processes part. Placeholder: filled in by the work on its package.
 */
import type { DemoSection } from './section.js';

export const bayesRegressionSection: DemoSection = {
  key: 'bayes',
  title: 'Bayesian regression and Gaussian processes',
  async run() {
    return { results: {}, summary: [], section: { id: 'bayes-regression', title: 'Bayesian regression and Gaussian processes', blocks: [{ kind: 'text', html: 'Not built yet.' }] } };
  },
};

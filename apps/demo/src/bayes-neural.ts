/**
 * The demo's Variational autoencoder and Bayesian neural network part. Placeholder: filled in by the work on its package.
 */
import type { DemoSection } from './section.js';

export const bayesNeuralSection: DemoSection = {
  key: 'bayes',
  title: 'Variational autoencoder and Bayesian neural network',
  async run() {
    return { results: {}, summary: [], section: { id: 'bayes-neural', title: 'Variational autoencoder and Bayesian neural network', blocks: [{ kind: 'text', html: 'Not built yet.' }] } };
  },
};

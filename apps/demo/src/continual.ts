/**
 * The demo's Continual learning on Split and Permuted MNIST part. Placeholder: filled in by the work on its package.
 */
import type { DemoSection } from './section.js';

export const continualSection: DemoSection = {
  key: 'continual',
  title: 'Continual learning on Split and Permuted MNIST',
  async run() {
    return { results: {}, summary: [], section: { id: 'continual', title: 'Continual learning on Split and Permuted MNIST', blocks: [{ kind: 'text', html: 'Not built yet.' }] } };
  },
};

/**
 * The demo's Meta-learning on unseen digits part. Placeholder: filled in by the work on its package.
 */
import type { DemoSection } from './section.js';

export const metaSection: DemoSection = {
  key: 'meta',
  title: 'Meta-learning on unseen digits',
  async run() {
    return { results: {}, summary: [], section: { id: 'meta', title: 'Meta-learning on unseen digits', blocks: [{ kind: 'text', html: 'Not built yet.' }] } };
  },
};

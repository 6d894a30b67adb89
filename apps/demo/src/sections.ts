/**
 * The demo's parts, in the order they run. A new part is one file exporting a
 * {@link DemoSection} and one line here.
 */
import type { DemoSection } from './section.js';
import { runCompress } from './compress.js';
import { bayesRegressionSection } from './bayes-regression.js';
import { bayesNeuralSection } from './bayes-neural.js';
import { metaSection } from './meta.js';
import { continualSection } from './continual.js';

const compressSection: DemoSection = {
  key: 'compress',
  title: 'Compression and ONNX export',
  async run(ctx) {
    const { results, blocks } = await runCompress(ctx.data, ctx.out, ctx.quick, ctx.seed);
    const summary: [string, string][] = results.variants.map((v) => [
      `compress ${v.name}`,
      `ORT acc ${v.ortAccuracy.toFixed(4)}, agree ${v.agreement.toFixed(4)}, ${(v.bytes / 1024).toFixed(1)} KiB, ${v.latencyMs.batch256.toFixed(2)} ms/256`,
    ]);
    return { results, summary, section: { id: 'compress', title: 'Compression and ONNX export', blocks } };
  },
};

export const SECTIONS: DemoSection[] = [
  compressSection,
  bayesRegressionSection,
  bayesNeuralSection,
  metaSection,
  continualSection,
];

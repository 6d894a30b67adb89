/**
 * Checks the VAE / Bayesian neural network part of the one `demo --quick` run: its fields of
 * results.json (`bayes.vae`, `bayes.bnn`, `bayes.mlp`) and its section of report.html.
 */
import { demoRun } from './demo-run.js';

let results: any;
let html = '';

beforeAll(() => {
  const run = demoRun();
  results = run.results.bayes;
  html = run.reportHtml;
});

const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

describe('demo --quick: VAE and Bayesian neural network', () => {
  test('reports the held-out VAE bound in nats per digit, tighter with importance weighting', () => {
    const v = results.vae;
    expect(finite(v.testNegElbo)).toBe(true);
    // Below a decoder that says 0.5 for every pixel (784·log 2 ≈ 543 nats), above 0.
    expect(v.testNegElbo).toBeGreaterThan(0);
    expect(v.testNegElbo).toBeLessThan(543);
    expect(v.testNegElbo).toBeCloseTo(v.testReconstruction + v.testKl, 6);
    expect(v.testIwNegLogLikelihood).toBeLessThan(v.testNegElbo);
    expect(v.logVarClampedFraction).toBeGreaterThanOrEqual(0);
    expect(v.logVarClampedFraction).toBeLessThanOrEqual(1);
    expect(finite(v.latent2d.testNegElbo)).toBe(true);
  });

  test('reports BNN and MLP accuracy, NLL and ECE', () => {
    const { bnn, mlp } = results;
    for (const m of [bnn, mlp]) {
      expect(m.accuracy).toBeGreaterThan(0.85); // quick training, far above chance (0.1)
      expect(m.accuracy).toBeLessThanOrEqual(1);
      expect(finite(m.nll) && m.nll > 0).toBe(true);
      expect(finite(m.ece) && m.ece >= 0 && m.ece <= 1).toBe(true);
      expect(m.eceBins).toBe(15);
    }
  });

  test('the BNN is less certain on noise images and on held-out digit classes than on test digits', () => {
    const { bnn } = results;
    expect(finite(bnn.entropyTest)).toBe(true);
    expect(bnn.entropyOod.noise).toBeGreaterThan(bnn.entropyTest);
    expect(bnn.entropyOod.heldOutClasses).toBeGreaterThan(bnn.heldOutClasses.entropyDigits0to4);
    expect(bnn.entropyOod.heldOutClasses).toBeLessThanOrEqual(Math.log(5) + 1e-9);
    expect(bnn.entropyOod.noise).toBeLessThanOrEqual(Math.log(10) + 1e-9);
  });

  test('has its section in report.html with image grids and plots', () => {
    const start = html.indexOf('<section id="bayes-neural">');
    expect(start).toBeGreaterThanOrEqual(0);
    const section = html.slice(start, html.indexOf('</section>', start));
    for (const title of ['VAE reconstructions', 'Samples from the VAE', 'VAE latent space (2-D)', 'Reliability diagram', 'Mean predictive entropy by input kind', 'Histogram of predictive entropies']) {
      expect(section).toContain(title);
    }
    expect((section.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(7);
  });
});

/**
 * Checks the Bayesian regression / GP part of the shared `demo --quick` run: results.json
 * `bayes.gpCo2`, `bayes.blrCars`, `bayes.sparseGp` (present, finite, sane) and the report section.
 */
import { demoRun } from './demo-run.js';

const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

describe('demo --quick: Bayesian regression and Gaussian processes', () => {
  it('reports the CO2 GP: LML of the standardised targets and a 2030 forecast above the last observation', () => {
    const g = demoRun().results.bayes.gpCo2;
    expect(g.n).toBe(741);
    // Quick mode fits on every third month; the LML on all months must still beat kernel ii at
    // its initial values (1642.1) and scikit-learn's fitted kernel ii (2025.06).
    expect(finite(g.logMarginalLikelihood)).toBe(true);
    expect(g.logMarginalLikelihood).toBeGreaterThan(2025.06);
    expect(g.kernelIi.logMarginalLikelihoodAtInit).toBeCloseTo(1642.11, 1);
    const f = g.forecast2030;
    expect(finite(f.mean) && finite(f.std)).toBe(true);
    // The record ends at 414 ppm (2020) rising ~2.4 ppm a year: 2030 must be higher, and uncertain but not absurdly.
    expect(f.mean).toBeGreaterThan(414);
    expect(f.mean).toBeLessThan(470);
    expect(f.std).toBeGreaterThan(0);
    expect(f.std).toBeLessThan(20);
    expect(f.lo95).toBeLessThan(f.mean);
    expect(f.hi95).toBeGreaterThan(f.mean);
  });

  it('reports the cars regression: MPG falls with horsepower and weight', () => {
    const c = demoRun().results.bayes.blrCars;
    expect(c.n).toBe(392);
    expect(c.coef).toHaveLength(2);
    for (const v of [...c.coef, c.intercept, c.alpha, c.beta, c.logEvidence]) expect(finite(v)).toBe(true);
    expect(c.coef[0]).toBeLessThan(0);
    expect(c.coef[1]).toBeLessThan(0);
    expect(c.converged).toBe(true);
    // About 4.2 mpg of residual noise on this table (numpy least squares gives 4.22).
    expect(c.noiseStd).toBeGreaterThan(3.5);
    expect(c.noiseStd).toBeLessThan(5);
  });

  it('reports the sparse GP: timing, and its error against the exact GP at N = 2000', () => {
    const s = demoRun().results.bayes.sparseGp;
    expect(s.n).toBe(10000); // quick mode
    for (const v of [s.seconds, s.fitSeconds, s.predictSeconds, s.elbo, s.rmseVsExact.mean, s.rmseVsExact.std]) expect(finite(v)).toBe(true);
    expect(s.seconds).toBeGreaterThan(0);
    expect(s.rmseVsExact.n).toBe(2000);
    // 300 inducing points for a smooth 2-D function: the approximation error is far below the
    // predictive std itself (~0.1).
    expect(s.rmseVsExact.mean).toBeLessThan(0.01);
    expect(s.rmseVsExact.std).toBeLessThan(0.01);
    expect(s.coverage95).toBeGreaterThan(0.9);
  });

  it('has its section with the three band plots and the sparse-GP table in report.html', () => {
    const html = demoRun().reportHtml;
    const start = html.indexOf('<section id="bayes-regression">');
    expect(start).toBeGreaterThanOrEqual(0);
    const sec = html.slice(start, html.indexOf('</section>', start));
    expect(sec).toContain('extrapolated to 2030');
    expect(sec).toContain('95 % band');
    expect((sec.match(/<figure class="plot"/g) ?? []).length).toBe(3);
    expect((sec.match(/<svg/g) ?? []).length).toBe(3);
    expect(sec).toContain('Sparse GP');
  });
});

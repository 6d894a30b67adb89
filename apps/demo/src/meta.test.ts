/**
 * Checks the meta-learning part of the one `demo --quick` run: `meta.results` has every
 * method at 5-way 1-shot and 5-shot with a mean and a 95 % interval consistent with the
 * number of episodes, the pre-adaptation accuracy and the sinusoid errors are there, the pixel
 * nearest-neighbour baseline is far above chance (it needs no training, so even the quick run
 * shows it), and the report has the section with its plots. Quick runs train for a few
 * iterations only, so learned methods get sanity bounds, not the full run's claims.
 */
import { demoRun } from './demo-run.js';

let m: any;
let html = '';

beforeAll(() => {
  const run = demoRun();
  m = run.results.meta;
  html = run.reportHtml;
});

const METHODS = ['maml', 'fomaml', 'protonet', 'matching', 'pixel-nn', 'scratch'];

describe('demo meta-learning part (quick run)', () => {
  it('has one result per method and shot count, each a mean with its 95 % interval', () => {
    for (const method of METHODS) {
      for (const shots of [1, 5]) {
        const r = m.results.filter((x: any) => x.method === method && x.shots === shots);
        expect({ method, shots, n: r.length }).toEqual({ method, shots, n: 1 });
        const [row] = r;
        expect(row.ways).toBe(5);
        expect(row.accuracy).toBeGreaterThanOrEqual(0);
        expect(row.accuracy).toBeLessThanOrEqual(1);
        // 1.96 · s/√n with s ≤ 0.5 for values in [0, 1] (s of n values is at most √(n/(n−1))/2).
        expect(row.ci95).toBeGreaterThan(0);
        expect(row.ci95).toBeLessThanOrEqual((1.96 * 0.5 * Math.sqrt(row.episodes / (row.episodes - 1))) / Math.sqrt(row.episodes) + 1e-12);
        expect(row.episodes).toBe(m.setup.budget.testEpisodes);
      }
    }
  });

  it('meta-trains on digits 0-4 and tests on digits 5-9 only', () => {
    expect(m.setup.metaTrainClasses).toEqual([0, 1, 2, 3, 4]);
    expect(m.setup.metaTestClasses).toEqual([5, 6, 7, 8, 9]);
    expect(m.setup.metaTrainRows).toBeGreaterThan(3000);
    expect(m.setup.metaTestRows).toBeGreaterThan(800);
  });

  it('pixel nearest neighbour needs no training: far above chance (0.2) already, more with 5 shots', () => {
    const nn1 = m.results.find((x: any) => x.method === 'pixel-nn' && x.shots === 1);
    const nn5 = m.results.find((x: any) => x.method === 'pixel-nn' && x.shots === 5);
    expect(nn1.accuracy).toBeGreaterThan(0.35);
    expect(nn5.accuracy).toBeGreaterThan(nn1.accuracy);
  });

  it('reports accuracy before adaptation with its interval, and the sinusoid errors', () => {
    const p = m.preAdaptationAccuracy;
    expect(p.accuracy).toBeGreaterThanOrEqual(0);
    expect(p.accuracy).toBeLessThanOrEqual(1);
    expect(p.ci95).toBeGreaterThan(0);
    for (const k of ['mamlMse', 'fomamlMse', 'pretrainedMse', 'mamlMse10', 'pretrainedMse10']) {
      expect({ k, ok: Number.isFinite(m.sinusoid[k]) && m.sinusoid[k] > 0 }).toEqual({ k, ok: true });
    }
    expect(m.sinusoid.K).toBe(10);
  });

  it('has its section in report.html with the table, accuracy bars, validation curves and sinusoid plot', () => {
    const start = html.indexOf('<section id="meta">');
    expect(start).toBeGreaterThanOrEqual(0);
    const section = html.slice(start, html.indexOf('</section>', start));
    for (const title of ['Few-shot accuracy on unseen digits', 'Meta-validation during meta-training', 'Sinusoid: prediction before and after adaptation']) {
      expect(section).toContain(title);
    }
    expect((section.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(section).toContain('pixel-nn');
  });
});

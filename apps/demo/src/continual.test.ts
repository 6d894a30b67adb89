/**
 * Checks the continual-learning part of the shared `demo --quick` run: every scenario ×
 * strategy is in results.json with a full accuracy matrix and finite (or explained null)
 * metrics, PackNet's backward transfer is exactly 0, and the report has the section with its
 * table and heatmaps (rect marks). Quick numbers are 1 epoch per task, so only sanity bounds.
 */
import { demoRun } from './demo-run.js';

const SCENARIOS = ['permuted-mnist', 'split-mnist-task-il', 'split-mnist-class-il'];

let c: any;
let html = '';
beforeAll(() => {
  const run = demoRun();
  c = run.results.continual;
  html = run.reportHtml;
});

describe('demo continual part (quick run)', () => {
  it('has every scenario with naive, joint and ewc, and the method of each scenario', () => {
    const have = (sc: string, st: string) => c.runs.some((r: any) => r.scenario === sc && r.strategy === st);
    for (const sc of SCENARIOS) for (const st of ['naive', 'joint', 'ewc', 'online-ewc']) expect({ sc, st, ok: have(sc, st) }).toEqual({ sc, st, ok: true });
    expect(have('split-mnist-task-il', 'packnet')).toBe(true);
    expect(have('permuted-mnist', 'si') && have('split-mnist-task-il', 'si')).toBe(true);
    expect(have('split-mnist-class-il', 'replay')).toBe(true);
  });

  it('stores a 5 × 5 accuracy matrix per sequential run (1 × 5 for joint) and metrics consistent with it', () => {
    for (const r of c.runs) {
      const T = 5;
      expect(r.matrix.length).toBe(r.strategy === 'joint' ? 1 : T);
      for (const row of r.matrix) {
        expect(row.length).toBe(T);
        for (const a of row) expect(a >= 0 && a <= 1).toBe(true);
      }
      const last = r.matrix[r.matrix.length - 1];
      expect(Math.abs(r.averageAccuracy - last.reduce((s: number, v: number) => s + v, 0) / T)).toBeLessThan(1e-12);
      for (const k of ['backwardTransfer', 'forgetting', 'forwardTransfer']) {
        if (r[k] === null) expect(typeof r.undefinedMetrics[k]).toBe('string');
        else expect(Number.isFinite(r[k])).toBe(true);
      }
      if (r.strategy !== 'joint') {
        let bwt = 0;
        for (let j = 0; j < T - 1; j++) bwt += last[j] - r.matrix[j][j];
        expect(Math.abs(r.backwardTransfer - bwt / (T - 1))).toBeLessThan(1e-12);
      }
      if (r.scenario === 'split-mnist-class-il') expect(r.forwardTransfer).toBeNull();
    }
  });

  it('PackNet never changes an earlier task: BWT exactly 0 and every column constant below its diagonal', () => {
    const p = c.runs.find((r: any) => r.strategy === 'packnet');
    expect(p.backwardTransfer).toBe(0);
    for (let j = 0; j < 5; j++) for (let i = j; i < 5; i++) expect(p.matrix[i][j]).toBe(p.matrix[j][j]);
  });

  it('shows forgetting in class-incremental naive fine-tuning and less with replay, even in the quick run', () => {
    const naive = c.runs.find((r: any) => r.scenario === 'split-mnist-class-il' && r.strategy === 'naive');
    const replay = c.runs.find((r: any) => r.scenario === 'split-mnist-class-il' && r.strategy === 'replay');
    // naive: the first task is forgotten almost completely (its digits are never predicted again)
    expect(naive.matrix[4][0]).toBeLessThan(0.2);
    expect(replay.averageAccuracy).toBeGreaterThan(naive.averageAccuracy + 0.1);
  });

  it('adds the section, its table and the heatmaps to report.html', () => {
    const start = html.indexOf('<section id="continual">');
    expect(start).toBeGreaterThan(-1);
    const sec = html.slice(start, html.indexOf('</section>', start));
    expect(sec).toContain('<table>');
    for (const sc of SCENARIOS) {
      expect(sec).toContain(`Accuracy matrices, ${sc}`);
      expect(sec).toContain(`First task over time, ${sc}`);
    }
    // Vega renders rect marks as paths with role "mark" inside a group of class mark-rect.
    expect((sec.match(/mark-rect/g) ?? []).length).toBeGreaterThanOrEqual(3);
  });
});

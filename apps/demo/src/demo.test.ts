/**
 * Checks what the one real `demo --quick` run (jest.global-setup.cjs, a subprocess on the built
 * app, as a user would run it) wrote: results.json, the ONNX files, and
 * report.html opened in a real browser (Debian's Chromium through playwright-core).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoRun } from './demo-run.js';
import type { VariantResult as Variant } from './compress.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const VARIANTS = [
  'fp32',
  'pruned-90',
  'structured-50',
  'lottery',
  'distilled',
  'int8-static',
  'int8-dynamic',
  'int8-qat',
  'pruned-90-int8',
  'cnn-fp32',
  'cnn-int8-static',
];

let results: any;
let stderr = '';
let out = '';

beforeAll(() => {
  const run = demoRun();
  results = run.results;
  stderr = run.stderr;
  out = run.out;
});

describe('pnpm demo --quick', () => {
  test('makes every named compression variant, with all the fields of results.json', () => {
    const variants: Variant[] = results.compress.variants;
    expect(variants.map((v) => v.name)).toEqual(VARIANTS);
    for (const v of variants) {
      const file = path.join(out, v.onnxFile);
      expect(v.onnxFile).toBe(`models/${v.name}.onnx`);
      expect(fs.statSync(file).size).toBe(v.bytes);
      expect(v.gzipBytes).toBeGreaterThan(0);
      expect(v.gzipBytes).toBeLessThan(v.bytes);
      expect(Number.isInteger(v.params) && v.params > 0).toBe(true);
      expect(v.nonzeroParams).toBeLessThanOrEqual(v.params);
      for (const k of ['tsAccuracy', 'ortAccuracy', 'agreement'] as const) {
        expect(v[k]).toBeGreaterThanOrEqual(0);
        expect(v[k]).toBeLessThanOrEqual(1);
      }
      expect(Number.isFinite(v.maxAbsDiff)).toBe(true);
      expect(v.latencyMs.batch1).toBeGreaterThan(0);
      expect(v.latencyMs.batch256).toBeGreaterThan(0);
    }
  });

  test('every exported model agrees with its TypeScript model in onnxruntime-node', () => {
    const variants: Variant[] = results.compress.variants;
    for (const v of variants) {
      // Quick mode trains less, but export and inference are the same code as the full run.
      expect({ name: v.name, agreement: v.agreement >= 0.995 }).toEqual({ name: v.name, agreement: true });
      // The ORT accuracy is the TS accuracy up to the digits where they disagree.
      expect(Math.abs(v.ortAccuracy - v.tsAccuracy)).toBeLessThanOrEqual(1 - v.agreement + 1e-12);
    }
    const byName = new Map(variants.map((v) => [v.name, v]));
    for (const n of ['fp32', 'cnn-fp32', 'pruned-90', 'structured-50', 'lottery', 'distilled']) {
      // float graphs: the same arithmetic up to summation order
      expect({ n, agreement: byName.get(n)!.agreement >= 0.999, diff: byName.get(n)!.maxAbsDiff <= 1e-4 }).toEqual({ n, agreement: true, diff: true });
    }
    // Even with quick training the digits are learned: far above chance (0.1).
    expect(byName.get('fp32')!.ortAccuracy).toBeGreaterThan(0.85);
    expect(byName.get('cnn-fp32')!.ortAccuracy).toBeGreaterThan(0.85);
  });

  test('the size claims hold even in quick mode (they do not depend on how long it trained)', () => {
    const byName = new Map((results.compress.variants as Variant[]).map((v) => [v.name, v]));
    const fp = byName.get('fp32')!;
    // every variant of the MLP counts the same parameter entries as the fp32 model, except the smaller ones
    for (const n of ['pruned-90', 'lottery', 'int8-static', 'int8-dynamic', 'int8-qat', 'pruned-90-int8']) expect({ n, params: byName.get(n)!.params }).toEqual({ n, params: fp.params });
    // 784-150-50-10 after removing half of each hidden layer
    expect(byName.get('structured-50')!.params).toBe(784 * 150 + 150 + 150 * 50 + 50 + 50 * 10 + 10);
    expect(byName.get('structured-50')!.bytes).toBeLessThanOrEqual(0.55 * fp.bytes);
    for (const n of ['int8-static', 'int8-dynamic', 'int8-qat']) expect({ n, ratio: byName.get(n)!.bytes / fp.bytes <= 0.3 }).toEqual({ n, ratio: true });
    expect(byName.get('cnn-int8-static')!.bytes).toBeLessThanOrEqual(0.3 * byName.get('cnn-fp32')!.bytes);
    const pruned = byName.get('pruned-90')!;
    expect(pruned.nonzeroParams / pruned.params).toBeLessThanOrEqual(0.105);
    // symmetric int8 keeps the pruned zeros exact zeros
    expect(byName.get('pruned-90-int8')!.nonzeroParams).toBeLessThanOrEqual(pruned.nonzeroParams);
    expect(byName.get('pruned-90-int8')!.gzipBytes).toBeLessThanOrEqual(0.1 * fp.bytes);
    // quantization costs little accuracy even after short training (the full run asks 0.5 point)
    for (const n of ['int8-static', 'int8-dynamic', 'int8-qat']) {
      expect({ n, drop: fp.ortAccuracy - byName.get(n)!.ortAccuracy <= 0.01 }).toEqual({ n, drop: true });
    }
  });

  test('records the pruning curves, per-layer sparsity, the latency plan and the claim checks', () => {
    const c = results.compress;
    const series = new Set(c.accuracyVsSparsity.map((p: { series: string }) => p.series));
    expect([...series].sort()).toEqual(
      ['gradual: end of each fine-tuning epoch', 'gradual: right after each pruning step', 'lottery ticket rounds (rewound, retrained)', 'one-shot, no fine-tuning'].sort(),
    );
    for (const p of c.accuracyVsSparsity) {
      expect(p.sparsity).toBeGreaterThanOrEqual(0);
      expect(p.sparsity).toBeLessThan(1);
      expect(p.accuracy).toBeGreaterThan(0);
      expect(p.accuracy).toBeLessThanOrEqual(1);
    }
    // global pruning: the per-layer fractions average (weighted by size) to the overall 90 %
    for (const variant of ['pruned-90', 'lottery']) {
      const rows = c.layerSparsity.filter((r: { variant: string }) => r.variant === variant);
      // the three Linear weights of 784-300-100-10
      expect(rows.map((r: { weights: number }) => r.weights)).toEqual([784 * 300, 300 * 100, 100 * 10]);
      for (const r of rows) expect(r.sparsity > 0 && r.sparsity < 1).toBe(true);
    }
    const p90 = c.layerSparsity.filter((r: { variant: string }) => r.variant === 'pruned-90');
    const zeros = p90.reduce((a: number, r: { weights: number; sparsity: number }) => a + r.weights * r.sparsity, 0);
    const weights = p90.reduce((a: number, r: { weights: number }) => a + r.weights, 0);
    expect(weights).toBe(784 * 300 + 300 * 100 + 100 * 10);
    expect(Math.abs(zeros - Math.round(0.9 * weights))).toBeLessThan(1e-6 * weights);
    expect(c.gradualPruning.length).toBeGreaterThan(0);
    expect(c.latency).toMatchObject({ rounds: expect.any(Number), repsPerRound: expect.any(Number), threads: expect.any(Number) });
    expect(c.checks.length).toBeGreaterThanOrEqual(17);
    for (const k of c.checks) expect(typeof k.pass === 'boolean' && typeof k.claim === 'string' && typeof k.value === 'string').toBe(true);
  });

  test('shows progress while it works', () => {
    expect(stderr).toMatch(/train mlp/);
  });

  test('report.html renders in a real browser with its plots and no errors', async () => {
    const html = path.join(out, 'report.html');
    expect(fs.existsSync(html)).toBe(true);
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (.ci/run installs Debian's chromium)`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { chromium } = require('playwright-core') as typeof import('playwright-core');
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'x-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`file://${html}`);
      const figures = await page.$$eval('figure.plot', (fs) =>
        fs.map((f) => {
          const svg = f.querySelector('svg');
          const box = svg?.getBoundingClientRect();
          return { title: f.getAttribute('data-title'), w: box?.width ?? 0, h: box?.height ?? 0, marks: svg?.querySelectorAll('path,rect,circle,line,text').length ?? 0 };
        }),
      );
      expect(figures.length).toBeGreaterThanOrEqual(3);
      for (const f of figures) {
        expect({ title: f.title, drawn: f.w > 50 && f.h > 50 && f.marks > 5 }).toEqual({ title: f.title, drawn: true });
      }
      const titles = figures.map((f) => f.title);
      for (const t of ['Accuracy against file size', 'Accuracy against sparsity', 'Per-layer sparsity']) expect(titles).toContain(t);
      // every point / bar is drawn: one symbol per variant, one per measured (sparsity, accuracy), one bar per layer and variant
      const marks = async (title: string, selector: string) =>
        page.$eval(`figure.plot[data-title="${title}"]`, (f, sel) => f.querySelectorAll(sel).length, selector);
      const c = results.compress;
      expect(await marks('Accuracy against file size', 'g.mark-symbol.role-mark path')).toBe(VARIANTS.length);
      expect(await marks('Accuracy against sparsity', 'g.mark-symbol.role-mark path')).toBe(c.accuracyVsSparsity.length);
      expect(await marks('Per-layer sparsity', 'g.mark-rect.role-mark path')).toBe(c.layerSparsity.length);
      // Latency: two dots per variant, each drawn with a real size (log-scale bars once rendered with width 0).
      const dots = await page.$eval('figure.plot[data-title="Latency in onnxruntime-node"]', (f) =>
        [...f.querySelectorAll('g.mark-symbol.role-mark path')].map((p) => {
          const b = p.getBoundingClientRect();
          return b.width > 2 && b.height > 2;
        }),
      );
      expect(dots).toEqual(new Array(2 * VARIANTS.length).fill(true));
      const rows = await page.$$eval('#compress table:first-of-type tbody tr', (rs) => rs.length);
      expect(rows).toBe(VARIANTS.length);
      const checkRows = await page.$$eval('#compress table:nth-of-type(2) tbody tr', (rs) => rs.length);
      expect(checkRows).toBe(c.checks.length);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    }
  });
});

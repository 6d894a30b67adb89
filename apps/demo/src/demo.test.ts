/**
 * Checks what the one real `demo --quick` run (jest.global-setup.cjs, a subprocess on the built
 * app, as a user would run it) wrote: results.json, the ONNX files, and
 * report.html opened in a real browser (Debian's Chromium through playwright-core).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoRun } from './demo-run.js';

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

interface Variant {
  name: string;
  onnxFile: string;
  bytes: number;
  gzipBytes: number;
  params: number;
  nonzeroParams: number;
  tsAccuracy: number;
  ortAccuracy: number;
  agreement: number;
  maxAbsDiff: number;
  latencyMs: { batch1: number; batch256: number };
}

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
    }
    const byName = new Map(variants.map((v) => [v.name, v]));
    expect(byName.get('fp32')!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(byName.get('cnn-fp32')!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    // Even with quick training the digits are learned: far above chance (0.1).
    expect(byName.get('fp32')!.ortAccuracy).toBeGreaterThan(0.85);
    const pruned = byName.get('pruned-90')!;
    expect(pruned.nonzeroParams / pruned.params).toBeLessThanOrEqual(0.105);
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
      const rows = await page.$$eval('#compress table:first-of-type tbody tr', (rs) => rs.length);
      expect(rows).toBe(VARIANTS.length);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    }
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { finishRow, registerCase, registeredCases, type Row } from './registry.js';
import { formatTable } from './table.js';
import { median } from './timing.js';
import { writeFileAtomic } from './files.js';

describe('bench registry and table', () => {
  it('computes ratio = ours / reference and checks it against the goal', () => {
    const row = finishRow({ id: 'x', title: 'x', maxRatio: 5, ours: { seconds: 0.6, runs: [0.6] }, reference: { key: 'k', label: 'ref', seconds: 0.2 } });
    expect(row.ratio).toBeCloseTo(3, 12);
    expect(row.withinLimit).toBe(true);
    const slow = finishRow({ id: 'y', title: 'y', maxRatio: 5, ours: { seconds: 1.2, runs: [1.2] }, reference: { key: 'k', label: 'ref', seconds: 0.2 } });
    expect(slow.withinLimit).toBe(false);
    // No reference figure (Python missing): no ratio, no verdict, our figure still shown.
    const alone: Row = finishRow({ id: 'z', title: 'alone', maxRatio: 5, ours: { seconds: 0.5, runs: [0.5] }, reference: { key: 'k', label: 'PyTorch', error: 'missing' } });
    expect(alone.ratio).toBeUndefined();
    const text = formatTable([row, slow, alone]);
    expect(text).toMatch(/3\.00x\s+≤ 5x ok/);
    expect(text).toMatch(/6\.00x\s+≤ 5x MISSED/);
    expect(text).toMatch(/alone\s+500 ms\s+PyTorch: n\/a/);
  });

  it('rejects a duplicate case id', () => {
    registerCase({ id: 'dup-test', title: 't', run: async () => ({ seconds: 1, runs: [1] }) });
    expect(() => registerCase({ id: 'dup-test', title: 't', run: async () => ({ seconds: 1, runs: [1] }) })).toThrow(/already registered/);
    expect(registeredCases().filter((c) => c.id === 'dup-test')).toHaveLength(1);
  });

  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('writes files atomically (no temporary file left)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-test-'));
    const file = path.join(dir, 'sub', 'bench.json');
    writeFileAtomic(file, '{"a":1}');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ a: 1 });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['bench.json']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

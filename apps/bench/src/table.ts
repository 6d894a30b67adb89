/** The side-by-side table printed by `pnpm bench`. */
import type { Row } from './registry.js';

function secs(s: number | undefined): string {
  if (s === undefined) return '—';
  if (s >= 10) return `${s.toFixed(1)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  return `${(s * 1000).toPrecision(3)} ms`;
}

/** Formats rows as an aligned text table: case, ours, reference, ratio, goal. */
export function formatTable(rows: Row[]): string {
  const header = ['benchmark', 'ours', 'reference', 'ratio', 'goal'];
  const body = rows.map((r) => {
    const name = r.variant ? `${r.title} [${r.variant}]` : r.title;
    const ours = r.ours ? secs(r.ours.seconds) : `failed: ${r.oursError ?? '?'}`;
    const ref = r.reference === undefined ? '(none)' : r.reference.seconds !== undefined ? `${r.reference.label} ${secs(r.reference.seconds)}` : `${r.reference.label}: n/a`;
    const ratio = r.ratio === undefined ? '—' : `${r.ratio < 10 ? r.ratio.toFixed(2) : r.ratio.toFixed(0)}x`;
    const goal = r.maxRatio === undefined ? '' : `≤ ${r.maxRatio}x ${r.withinLimit === undefined ? '' : r.withinLimit ? 'ok' : 'MISSED'}`.trim();
    return [name, ours, ref, ratio, goal];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

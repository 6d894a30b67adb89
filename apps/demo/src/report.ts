/**
 * The HTML report: sections of text, tables and plots. Plots are Vega-Lite specifications
 * compiled to Vega and rendered to static SVG in Node (no browser, no network, no script in
 * the page), so `report.html` is one self-contained file that opens anywhere.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A block of a report section. */
export type Block =
  | { kind: 'text'; html: string }
  | { kind: 'table'; caption?: string; columns: string[]; rows: (string | number)[][] }
  | { kind: 'plot'; title: string; spec: TopLevelSpec; svg?: string }
  | { kind: 'image'; title: string; svg: string };

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

/** Renders a Vega-Lite specification to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vgSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function cell(v: string | number): string {
  if (typeof v === 'number') {
    const s = Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2);
    return `<td class="num">${s}</td>`;
  }
  return `<td>${escapeHtml(v)}</td>`;
}

/** Builds the whole report page; every plot is rendered to inline SVG. */
export async function buildReport(title: string, subtitle: string, sections: Section[]): Promise<string> {
  const parts: string[] = [];
  for (const s of sections) {
    parts.push(`<section id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.title)}</h2>`);
    for (const b of s.blocks) {
      if (b.kind === 'text') parts.push(`<p>${b.html}</p>`);
      else if (b.kind === 'table') {
        parts.push('<table>');
        if (b.caption) parts.push(`<caption>${escapeHtml(b.caption)}</caption>`);
        parts.push(`<thead><tr>${b.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>`);
        for (const r of b.rows) parts.push(`<tr>${r.map(cell).join('')}</tr>`);
        parts.push('</tbody></table>');
      } else if (b.kind === 'plot') {
        const svg = b.svg ?? (await renderSvg(b.spec));
        parts.push(`<figure class="plot" data-title="${escapeHtml(b.title)}">${svg}<figcaption>${escapeHtml(b.title)}</figcaption></figure>`);
      } else {
        parts.push(`<figure class="plot" data-title="${escapeHtml(b.title)}">${b.svg}<figcaption>${escapeHtml(b.title)}</figcaption></figure>`);
      }
    }
    parts.push('</section>');
  }
  const nav = sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>`).join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1b1f24}
h1{margin-bottom:.2rem} .sub{color:#57606a;margin-top:0} nav{margin:1rem 0 2rem}
table{border-collapse:collapse;margin:1rem 0;font-size:13px} caption{text-align:left;font-weight:600;margin-bottom:.3rem}
th,td{border-bottom:1px solid #d0d7de;padding:.25rem .6rem;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
figure.plot{display:inline-block;margin:.5rem 1rem 1rem 0;vertical-align:top} figcaption{color:#57606a;font-size:13px}
section{margin-bottom:2.5rem}
</style></head><body>
<h1>${escapeHtml(title)}</h1><p class="sub">${escapeHtml(subtitle)}</p>
<nav>${nav}</nav>
${parts.join('\n')}
</body></html>
`;
}

/** An SVG grid of 28x28 grey-scale images (rows of `cols`), e.g. digits or VAE samples. */
export function imageGridSvg(images: Float32Array[], cols: number, scale = 2, labels?: string[]): string {
  const side = 28 * scale;
  const gap = 4;
  const labelH = labels ? 14 : 0;
  const rows = Math.ceil(images.length / cols);
  const w = cols * (side + gap);
  const h = rows * (side + gap + labelH);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`];
  images.forEach((img, k) => {
    const ox = (k % cols) * (side + gap);
    const oy = Math.floor(k / cols) * (side + gap + labelH);
    out.push(`<rect x="${ox}" y="${oy}" width="${side}" height="${side}" fill="#000"/>`);
    for (let i = 0; i < 28; i++) {
      for (let j = 0; j < 28; j++) {
        const v = Math.max(0, Math.min(1, img[i * 28 + j]));
        if (v < 0.04) continue;
        const g = Math.round(v * 255);
        out.push(`<rect x="${ox + j * scale}" y="${oy + i * scale}" width="${scale}" height="${scale}" fill="rgb(${g},${g},${g})"/>`);
      }
    }
    if (labels) out.push(`<text x="${ox + side / 2}" y="${oy + side + 11}" font-size="11" text-anchor="middle" font-family="sans-serif">${escapeHtml(labels[k] ?? '')}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

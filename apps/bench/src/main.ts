/**
 * `pnpm bench`: runs every registered case (ours), then the Python references in the same
 * run, prints one side-by-side table with ratios and writes out/bench.json (atomically).
 *
 * Options: --only=id1,id2 (run some cases), --out=FILE (default <repo>/out/bench.json),
 * --no-reference (skip Python).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '@x/tensor';
import './cases/index.js';
import { registeredCases, finishRow, type Row } from './registry.js';
import { runReferences, tempDir } from './python.js';
import { formatTable } from './table.js';
import { machine } from './timing.js';
import { writeFileAtomic } from './files.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function parseArgs(argv: string[]): { only?: string[]; out: string; reference: boolean } {
  let only: string[] | undefined;
  let out = path.join(REPO, 'out', 'bench.json');
  let reference = true;
  for (const a of argv) {
    if (a.startsWith('--only=')) only = a.slice(7).split(',').filter(Boolean);
    else if (a.startsWith('--out=')) out = path.resolve(a.slice(6));
    else if (a === '--no-reference') reference = false;
    else if (a === '--') continue;
    else throw new Error(`bench: unknown argument '${a}' (expected --only=ids, --out=FILE, --no-reference)`);
  }
  return { only, out, reference };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const known = registeredCases().map((c) => c.id);
  for (const id of opts.only ?? []) {
    if (!known.includes(id)) throw new Error(`bench: --only names '${id}', not one of ${known.join(', ')}`);
  }
  const cases = registeredCases().filter((c) => opts.only === undefined || opts.only.includes(c.id));
  const dir = tempDir();
  const rows: Row[] = [];
  try {
    for (const c of cases) {
      for (const variant of c.variants ?? [undefined]) {
        const row: Row = { id: c.id, title: c.title, variant, maxRatio: c.maxRatio };
        process.stderr.write(`running ${c.id}${variant ? ` [${variant}]` : ''} ...\n`);
        try {
          row.ours = await c.run(variant);
        } catch (e) {
          row.oursError = e instanceof Error ? e.message : String(e);
        }
        rows.push(row);
      }
    }
    const withRef = opts.reference ? cases.filter((c) => c.reference) : [];
    const requests = [];
    for (const c of withRef) {
      const ref = c.reference as NonNullable<typeof c.reference>;
      requests.push({ key: ref.key, args: ref.args ? await ref.args(dir) : {} });
    }
    if (requests.length > 0) process.stderr.write(`running the Python references (${requests.map((r) => r.key).join(', ')}) ...\n`);
    const py = runReferences(requests, dir);
    for (const row of rows) {
      const c = cases.find((x) => x.id === row.id);
      if (!c?.reference) continue;
      const r = py.results[c.reference.key];
      row.reference = {
        key: c.reference.key,
        label: c.reference.label,
        seconds: r?.error === undefined ? r?.seconds : undefined,
        error: !opts.reference ? 'skipped (--no-reference)' : (r?.error ?? py.error ?? (r ? undefined : 'no result')),
        timing: r && r.seconds !== undefined ? { seconds: r.seconds, runs: r.runs ?? [], othersCores: r.othersCores } : undefined,
        details: r?.details,
      };
      finishRow(row);
    }
    console.log(formatTable(rows));
    const problems = rows.filter((r) => r.reference?.error).map((r) => `${r.id}: ${r.reference?.error}`);
    if (py.error) console.log(`\nNo Python reference: ${py.error}. Our figures are shown alone.`);
    else if (problems.length > 0) console.log(`\nMissing references (our figures shown alone):\n  ${[...new Set(problems)].join('\n  ')}`);
    const busy = rows.flatMap((r) => [r.ours?.othersCores ?? 0, r.reference?.timing?.othersCores ?? 0]);
    if (Math.max(0, ...busy) > 0.25) console.log(`\nNote: other processes used up to ${Math.max(...busy).toFixed(2)} cores during some runs (see othersCores in the JSON); ratios are noisier then.`);
    console.log(`\nours: tfjs-core ${tf.version_core} (wasm: single-threaded SIMD); references: ${py.python ?? 'none'} ${JSON.stringify(py.versions ?? {})}`);
    writeFileAtomic(
      opts.out,
      JSON.stringify({ date: new Date().toISOString(), machine: machine(), python: { executable: py.python, versions: py.versions, error: py.error }, rows }, null, 1) + '\n',
    );
    console.log(`wrote ${path.relative(process.cwd(), opts.out) || opts.out}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});

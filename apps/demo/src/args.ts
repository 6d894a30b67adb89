import path from 'node:path';

/** Command-line options of the demo. */
export interface DemoArgs {
  /** Output folder for results.json, report.html and models/. */
  out: string;
  /** Less training, for CI. */
  quick: boolean;
  seed: number;
  /** Run only these parts (keys of results.json), e.g. `--only compress,bayes`. */
  only?: string[];
}

const USAGE = `usage: pnpm demo [--quick] [--out DIR] [--seed N]
  --quick     less training (CI: a few minutes)
  --out DIR   output folder (default: out/ at the repository root)
  --seed N    seed of every random choice (default 0)
  --only A,B  run only these parts: compress, bayes, meta, continual`;

/** Parses argv; throws with the usage text on anything unknown. */
export function parseArgs(argv: string[], repoRoot: string): DemoArgs {
  const args: DemoArgs = { out: path.join(repoRoot, 'out'), quick: false, seed: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') continue;
    if (a === '--quick') args.quick = true;
    else if (a === '--only') {
      const v = argv[++i];
      if (v === undefined || v === '') throw new Error(`demo: option '--only' needs a comma-separated list of parts\n${USAGE}`);
      args.only = v.split(',').map((x) => x.trim());
    } else if (a === '--out' || a === '--seed') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`demo: option '${a}' needs a value\n${USAGE}`);
      if (a === '--out') args.out = path.resolve(v);
      else {
        const s = Number(v);
        if (!Number.isSafeInteger(s)) throw new Error(`demo: option '--seed' must be an integer, got '${v}'\n${USAGE}`);
        args.seed = s;
      }
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`demo: unknown argument '${a}'\n${USAGE}`);
  }
  return args;
}

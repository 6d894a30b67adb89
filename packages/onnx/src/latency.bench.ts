/**
 * ORT latency of the export forms (not a unit test: timings live outside the test suite).
 * Run: npx jest --testMatch '**\/latency.bench.ts' --testTimeout 600000
 */
import * as ort from 'onnxruntime-node';
import { ready, Sequential } from '@x/tensor';
import { buildOnnx } from './index.js';
import { quantizeModel } from '@x/compress';
import { trainedMlp, mnist } from './test-support.js';

async function median(bytes: Uint8Array, x: Float32Array, n: number, threads: number, reps = 60): Promise<number> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads });
  const feed = { [s.inputNames[0]]: new ort.Tensor('float32', x, [n, 784]) };
  for (let i = 0; i < 10; i++) await s.run(feed);
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await s.run(feed);
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await s.release();
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

test('latency of fp32 / int8 static / int8 dynamic, MLP 784-300-100-10, batch 256 and 1', async () => {
  await ready();
  const model: Sequential = await trainedMlp();
  const calib = { x: mnist().train.images.slice(0, 500 * 784), n: 500 };
  const variants = {
    fp32: buildOnnx(model).bytes,
    'int8-static': buildOnnx(quantizeModel(model, { method: 'static', calibration: calib })).bytes,
    'int8-dynamic': buildOnnx(quantizeModel(model, { method: 'dynamic' })).bytes,
  };
  const rows: string[] = [];
  for (const threads of [1, 2]) {
    for (const n of [256, 1]) {
      const x = mnist().test.images.slice(0, n * 784);
      for (const [name, bytes] of Object.entries(variants)) {
        rows.push(`${name.padEnd(13)} threads ${threads} batch ${String(n).padStart(3)}: ${(await median(bytes, x, n, threads)).toFixed(3)} ms  (${bytes.length} bytes)`);
      }
    }
  }
  console.log(rows.join('\n'));
  model.dispose();
});

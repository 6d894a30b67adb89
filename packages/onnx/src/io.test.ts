import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ready, mlp, tf, Sequential } from '@x/tensor';
import { quantizeModel, disposeQuantizedModel, magnitudePrune } from '@x/compress';
import { exportOnnx, saveOnnx, toOnnx, OnnxExportError } from './index.js';
import { runOrt, tsForward, mnist, maxAbsDiff } from './test-support.js';

let dir: string;
beforeAll(async () => {
  await ready();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x-onnx-io-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('atomic writes', () => {
  test('exportOnnx writes the exact bytes, creates folders, leaves no temporary file', async () => {
    const model = mlp([784, 16, 10], { seed: 3 });
    model.eval();
    const file = path.join(dir, 'a', 'b', 'fp32.onnx');
    const r = await exportOnnx(model, file);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['fp32.onnx']);
    const bytes = fs.readFileSync(file);
    expect(r.size).toBe(bytes.length);
    expect(Buffer.compare(bytes, Buffer.from(toOnnx(model)))).toBe(0);
    const x = mnist().test.images.slice(0, 10 * 784);
    expect(maxAbsDiff(await runOrt(new Uint8Array(bytes), x, 10, 784), tsForward(model, x, 10, 784))).toBeLessThanOrEqual(1e-5);
    // overwrite in place
    await exportOnnx(model, { path: file, metadata: { run: '2' } });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['fp32.onnx']);
    model.dispose();
  });

  test('a failed rename removes the temporary file and keeps the old content', async () => {
    const target = path.join(dir, 'is-a-dir.onnx');
    fs.mkdirSync(path.join(target, 'child'), { recursive: true });
    await expect(saveOnnx(new Uint8Array([1, 2, 3]), target)).rejects.toThrow();
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(fs.statSync(target).isDirectory()).toBe(true);
  });

  test('an export that fails its checks writes nothing', async () => {
    const model = mlp([784, 4, 10], { seed: 3 });
    const file = path.join(dir, 'bad.onnx');
    await expect(exportOnnx(model, { path: file, opset: 9 })).rejects.toBeInstanceOf(OnnxExportError);
    expect(fs.existsSync(file)).toBe(false);
    model.dispose();
  });

  test('bad arguments are named', async () => {
    await expect(saveOnnx([1, 2] as unknown as Uint8Array, path.join(dir, 'x.onnx'))).rejects.toThrow(/saveOnnx: argument 'bytes' must be a Uint8Array/);
    await expect(saveOnnx(new Uint8Array(1), '')).rejects.toThrow(/argument 'path'/);
    await expect(exportOnnx(mlp([2, 2]), {} as { path: string })).rejects.toThrow(/exportOnnx: argument 'target'/);
  });
});

describe('leaks', () => {
  test('tf.memory().numTensors is flat over repeated fp32, pruned and quantized exports', () => {
    const model: Sequential = mlp([784, 32, 10], { seed: 0 });
    model.eval();
    const masks = magnitudePrune(model, { amount: 0.8, scope: 'global' });
    const qs = quantizeModel(model, { method: 'static', calibration: { x: mnist().train.images.slice(0, 50 * 784), n: 50 } });
    const qd = quantizeModel(model, { method: 'dynamic' });
    const once = () => {
      toOnnx(model);
      toOnnx(qs);
      toOnnx(qd);
    };
    once();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) once();
    expect(tf.memory().numTensors).toBe(before);
    disposeQuantizedModel(qs);
    disposeQuantizedModel(qd);
    for (const m of masks.values()) m.dispose();
    model.dispose();
  });
});

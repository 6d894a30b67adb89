import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { ONNX_PROTO_SHA256 } from './generated/onnx-proto.js';
import { decodeOnnx } from './index.js';
import { encodeModelProto } from './proto.js';

const pkg = path.resolve(__dirname, '..');

test('the generated descriptor is up to date with proto/onnx.proto (ONNX 1.12.0)', () => {
  const text = fs.readFileSync(path.join(pkg, 'proto', 'onnx.proto'), 'utf8');
  expect(crypto.createHash('sha256').update(text).digest('hex')).toBe(ONNX_PROTO_SHA256);
  expect(text).toMatch(/IR_VERSION = 0x0000000000000008;/);
  const r = spawnSync(process.execPath, [path.join(pkg, 'scripts', 'generate-proto.mjs'), '--check'], { cwd: pkg, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

test('ModelProto round-trips through the codec, int64 dims and raw bytes intact', () => {
  const bytes = encodeModelProto({
    ir_version: 8,
    opset_import: [{ domain: '', version: 13 }],
    graph: { name: 'g', initializer: [{ name: 'w', data_type: 7, dims: [3], raw_data: new Uint8Array(24).fill(7) }] },
    metadata_props: [{ key: 'k', value: 'v' }],
  });
  const m = decodeOnnx(bytes);
  expect(m.ir_version).toBe(8);
  expect(m.graph.initializer[0].dims).toEqual([3]);
  expect(Array.from(m.graph.initializer[0].raw_data)).toEqual(new Array(24).fill(7));
  expect(m.metadata_props).toEqual([{ key: 'k', value: 'v' }]);
});

// jest runs each test file in a vm context with its own Float32Array, ArrayBuffer, ...
// Native addons such as onnxruntime-node check `data instanceof Float32Array` against the
// host realm's constructors and reject the sandbox's ("A float32 tensor's data must be
// type of function Float32Array()"). Handing the sandbox the host's constructors makes
// typed arrays created in tests the same kind that the addon expects.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class XTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) {
      if (globalThis[name] !== undefined) this.global[name] = globalThis[name];
    }
  }
}

module.exports = XTestEnvironment;

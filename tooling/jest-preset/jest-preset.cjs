// Shared jest preset: TypeScript through swc (no type-checking here; `tsc --noEmit`
// is its own turbo task), CommonJS output so that tfjs-core and onnxruntime-node
// load as they do in Node, and workspace packages mapped to their sources so that
// a test never runs against a stale build.
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

module.exports = {
  testEnvironment: path.join(__dirname, 'environment.cjs'),
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      require.resolve('@swc/jest'),
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: {
    '^@x/test-utils$': path.join(root, 'tooling', 'test-utils', 'src', 'index.ts'),
    '^@x/(tensor|datasets|compress|onnx|bayes|meta|continual)$': path.join(root, 'packages', '$1', 'src', 'index.ts'),
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  moduleFileExtensions: ['ts', 'js', 'cjs', 'mjs', 'json', 'node'],
  testTimeout: 120000,
};


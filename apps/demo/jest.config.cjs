const path = require('node:path');
module.exports = {
  preset: '@x/jest-preset',
  rootDir: __dirname,
  globalSetup: path.join(__dirname, 'jest.global-setup.cjs'),
  globalTeardown: path.join(__dirname, 'jest.global-teardown.cjs'),
};

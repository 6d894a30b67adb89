module.exports = { preset: '@x/jest-preset', rootDir: __dirname };

const fs = require('node:fs');
module.exports = async function globalTeardown() {
  if (process.env.X_DEMO_OUT && !process.env.X_DEMO_KEEP) fs.rmSync(process.env.X_DEMO_OUT, { recursive: true, force: true });
};

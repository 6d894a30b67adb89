// Runs the built demo once (`--quick`), as a user would, before any test file; every
// *.test.ts of the app reads what it wrote (results.json, report.html, models/) from the
// folder named in X_DEMO_OUT. The run's exit status and stderr are kept for the tests.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async function globalSetup() {
  const appDir = __dirname;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'x-demo-'));
  const t0 = Date.now();
  const run = spawnSync(process.execPath, [path.join(appDir, 'dist', 'main.js'), '--quick', '--out', out], {
    encoding: 'utf8',
    timeout: 12 * 60 * 1000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  fs.writeFileSync(path.join(out, 'run.json'), JSON.stringify({ status: run.status, signal: run.signal, seconds: (Date.now() - t0) / 1000, stderr: run.stderr ?? '', stdout: run.stdout ?? '' }));
  process.env.X_DEMO_OUT = out;
  process.stderr.write(`\ndemo --quick ran in ${((Date.now() - t0) / 1000).toFixed(1)} s (exit ${run.status ?? run.signal}), output in ${out}\n`);
};

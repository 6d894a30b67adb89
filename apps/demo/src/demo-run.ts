/**
 * For the app's tests: what the one `demo --quick` run of jest.global-setup.cjs wrote.
 * Throws (failing the test file) if the run did not exit 0, with the tail of its stderr.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface DemoRun {
  out: string;
  seconds: number;
  stderr: string;
  stdout: string;
  results: any;
  reportHtml: string;
}

let cached: DemoRun | undefined;

export function demoRun(): DemoRun {
  if (cached) return cached;
  const out = process.env.X_DEMO_OUT;
  if (!out) throw new Error('X_DEMO_OUT is not set: run the tests through jest.config.cjs (globalSetup runs the demo)');
  const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
  if (run.status !== 0) throw new Error(`demo --quick exited with ${run.status ?? run.signal}:\n${String(run.stderr).slice(-4000)}\n${String(run.stdout).slice(-2000)}`);
  cached = {
    out,
    seconds: run.seconds,
    stderr: run.stderr,
    stdout: run.stdout,
    results: JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')),
    reportHtml: fs.readFileSync(path.join(out, 'report.html'), 'utf8'),
  };
  return cached;
}

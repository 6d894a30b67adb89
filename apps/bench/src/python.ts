/**
 * Runs the Python references (python/reference.py) in one child process, after our cases,
 * so that both sides are measured on the same machine in the same run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Timing } from './registry.js';

export interface ReferenceResult extends Partial<Timing> {
  error?: string;
  details?: Record<string, unknown>;
}

export interface PythonRun {
  /** The interpreter used, or undefined if none was found. */
  python?: string;
  versions?: Record<string, unknown>;
  results: Record<string, ReferenceResult>;
  /** Why nothing could be run at all (no Python, crash). */
  error?: string;
}

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'python', 'reference.py');

/** Debian's python3 (where its numpy/torch packages are), else python3 on PATH; `X_BENCH_PYTHON` overrides. */
export function findPython(): string | undefined {
  const candidates = [process.env.X_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  for (const p of candidates) {
    const r = spawnSync(p, ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8' });
    if (r.status === 0) return p;
  }
  return undefined;
}

function spawnReferences(python: string, cases: Array<{ key: string; args: Record<string, unknown> }>, dir: string, env: NodeJS.ProcessEnv, tag: string): PythonRun {
  const request = path.join(dir, `request-${tag}.json`);
  fs.writeFileSync(request, JSON.stringify({ cases }));
  const r = spawnSync(python, [SCRIPT, request], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    return { python, results: {}, error: `${python} ${path.basename(SCRIPT)} failed (exit ${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}` };
  }
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(last) as { versions: Record<string, unknown>; results: Record<string, ReferenceResult & { others_cores?: number }> };
    for (const v of Object.values(parsed.results)) {
      if (v.others_cores !== undefined) v.othersCores = v.others_cores ?? undefined;
      delete v.others_cores;
    }
    return { python, versions: parsed.versions, results: parsed.results };
  } catch {
    return { python, results: {}, error: `could not parse the output of ${path.basename(SCRIPT)}: ${last.slice(0, 200)}` };
  }
}

/**
 * Runs the references `cases` (key + JSON args) and returns their timings by key.
 * PyTorch references (keys starting "torch-") run twice, with OMP_WAIT_POLICY=PASSIVE (its
 * OpenMP threads sleep: robust when other processes load the CPUs) and with the default
 * (they spin: faster on a quiet machine); the faster median is kept, so PyTorch is compared
 * at its best. Never throws for a missing Python or package: the result says what is missing.
 */
export function runReferences(cases: Array<{ key: string; args: Record<string, unknown> }>, dir: string): PythonRun {
  if (cases.length === 0) return { results: {} };
  const python = findPython();
  if (python === undefined) return { results: {}, error: 'python3 not found (set X_BENCH_PYTHON, or apt-get install python3 python3-numpy python3-torch)' };
  const passive = spawnReferences(python, cases, dir, { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' }, 'passive');
  const torch = cases.filter((c) => c.key.startsWith('torch-'));
  if (passive.error !== undefined || torch.length === 0) return passive;
  const { OMP_WAIT_POLICY: _drop, ...rest } = process.env;
  void _drop;
  const spinning = spawnReferences(python, torch, dir, rest, 'spin');
  for (const c of torch) {
    const a = passive.results[c.key];
    const b = spinning.results[c.key];
    if (a?.seconds === undefined || b?.seconds === undefined) continue;
    const best = b.seconds < a.seconds ? b : a;
    best.details = { ...(best.details ?? {}), ompWaitPolicy: best === a ? 'PASSIVE' : 'default', medianPassive: a.seconds, medianDefault: b.seconds };
    passive.results[c.key] = best;
  }
  return passive;
}

/** A fresh temporary folder for files handed to Python. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'x-bench-'));
}

/**
 * Wall-clock timing with a record of how busy the rest of the (shared) machine was.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Timing } from './registry.js';

/** Busy CPU seconds of the whole machine so far (everything except idle and iowait), or undefined off Linux. */
function machineBusySeconds(): number | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const hz = 100; // USER_HZ is 100 on every Linux that Node supports
    return (v.reduce((a, b) => a + b, 0) - v[3] - v[4]) / hz;
  } catch {
    return undefined;
  }
}

function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface TimeOptions {
  warmup?: number;
  repeats?: number;
}

/**
 * Runs `fn` `warmup` times untimed, then `repeats` times timed.
 * @returns the median, every run, and the mean cores other processes used meanwhile.
 */
export async function timeIt(fn: () => unknown | Promise<unknown>, opts: TimeOptions = {}): Promise<Timing> {
  const warmup = opts.warmup ?? 1;
  const repeats = opts.repeats ?? 5;
  for (let i = 0; i < warmup; i++) await fn();
  const runs: number[] = [];
  const b0 = machineBusySeconds();
  const s0 = ownCpuSeconds();
  const w0 = performance.now();
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    runs.push((performance.now() - t0) / 1000);
  }
  const wall = (performance.now() - w0) / 1000;
  const b1 = machineBusySeconds();
  const othersCores = b0 !== undefined && b1 !== undefined ? Math.max(0, b1 - b0 - (ownCpuSeconds() - s0)) / Math.max(wall, 1e-9) : undefined;
  return { seconds: median(runs), runs, othersCores: othersCores === undefined ? undefined : Math.round(othersCores * 1000) / 1000 };
}

/** Short machine description for bench.json. */
export function machine(): Record<string, unknown> {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}` };
}

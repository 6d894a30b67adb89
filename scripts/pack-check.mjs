#!/usr/bin/env node
// Packaging check: does every published package work when a stranger installs it?
//
// For each packages/*/package.json that is not "private": true:
//   1. `pnpm pack` it (pnpm rewrites `workspace:^` into real version ranges);
//   2. check the tarball holds only dist/, package.json, README.md (and LICENSE /
//      CHANGELOG.md), that nothing still says `workspace:`, and that every file
//      named by `exports` / `main` / `types` is inside it;
//   3. in a fresh npm project outside the repo, `npm install` that tarball plus the
//      tarballs of its internal @x/* dependencies (transitively: they stand in for
//      the registry, where they are not published yet); everything else comes from
//      the npm registry;
//   4. import every `exports` entry from that project;
//   5. run the first ```js / ```ts block of the package's README.md as example.mjs
//      (a ```ts block is stripped of its types with the repo's own typescript).
//
// Usage: node scripts/pack-check.mjs [--root DIR] [--keep] [@x/name ...]
//   --root DIR  workspace root (default: the folder above this script)
//   --keep      keep the temporary folders (their path is printed)
//   names       check only these packages (default: all published ones)
//
// Node built-ins only. Packages are installed one after another (CI has 2 cores).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// PACK_CHECK_EXAMPLE_TIMEOUT (seconds) exists to test the timeout path quickly.
const EXAMPLE_TIMEOUT_MS = Number(process.env.PACK_CHECK_EXAMPLE_TIMEOUT || 300) * 1000;
const INSTALL_TIMEOUT_MS = 15 * 60 * 1000;
const TAIL_LINES = 15;
const EXAMPLE_TAGS = new Set(['js', 'javascript', 'mjs', 'ts', 'typescript', 'mts']);
const TS_TAGS = new Set(['ts', 'typescript', 'mts']);
const DEP_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];
// Libraries that keep global state, of which a user's install must hold exactly
// one copy (DESIGN.md: one tfjs-core engine and kernel registry).
const SINGLETONS = ['@tensorflow/tfjs-core'];

// ---------------------------------------------------------------- arguments

const args = process.argv.slice(2);
let root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let keep = false;
const only = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--root') root = path.resolve(args[++i] ?? '.');
  else if (a === '--keep') keep = true;
  else if (a === '-h' || a === '--help') {
    console.log('usage: node scripts/pack-check.mjs [--root DIR] [--keep] [@x/name ...]');
    process.exit(0);
  } else if (a.startsWith('-')) die(`unknown option ${a}`);
  else only.push(a);
}

function die(msg) {
  console.error(`pack-check: ${msg}`);
  process.exit(2);
}

// ---------------------------------------------------------------- helpers

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const kb = (n) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MB` : `${(n / 1024).toFixed(1)} kB`);
const tail = (text, n = TAIL_LINES) => text.replace(/\s+$/, '').split('\n').slice(-n);

// Child environment: pnpm-run injects lowercase npm_* variables (npm_config_*,
// npm_package_*, npm_lifecycle_*) that would leak pnpm's settings into npm.
function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_')) env[k] = v;
  return { ...env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_update_notifier: 'false', ...extra };
}

/** Runs a command, returns { status, out, ms }; out is stdout+stderr interleaved. */
function run(cmd, argv, { cwd, timeout, env } = {}) {
  const logFile = path.join(workDir, `log-${process.hrtime.bigint()}.txt`);
  const fd = fs.openSync(logFile, 'w');
  const t0 = Date.now();
  const r = spawnSync(cmd, argv, {
    cwd,
    env: env ?? childEnv(),
    stdio: ['ignore', fd, fd],
    timeout,
    killSignal: 'SIGKILL',
  });
  fs.closeSync(fd);
  const out = fs.readFileSync(logFile, 'utf8');
  fs.rmSync(logFile, { force: true });
  let status = r.status;
  let note = '';
  if (r.error) {
    status = status ?? 1;
    note = r.error.code === 'ETIMEDOUT' ? `timed out after ${secs(timeout)}` : String(r.error.message);
  } else if (r.signal) {
    status = 1;
    note = `killed by ${r.signal}`;
  }
  return { status, note, out: note ? `${out}\n[${note}]` : out, ms: Date.now() - t0 };
}

// Minimal reader for the gzipped ustar archives that `pnpm pack` writes.
function readTarball(file) {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  const entries = [];
  let off = 0;
  let nextPath = null;
  const field = (h, a, b) => {
    const s = h.subarray(a, b);
    const z = s.indexOf(0);
    return s.subarray(0, z < 0 ? s.length : z).toString('utf8');
  };
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const name = field(h, 0, 100);
    const prefix = field(h, 345, 500);
    const size = parseInt(field(h, 124, 136).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const body = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      // pax header: "len key=value\n" records; only `path` matters here
      for (const rec of body.toString('utf8').split('\n')) {
        const m = /^\d+ path=(.*)$/.exec(rec);
        if (m) nextPath = m[1];
      }
      continue;
    }
    if (type === 'g') continue;
    if (type === 'L') {
      nextPath = field(body, 0, body.length);
      continue;
    }
    const full = nextPath ?? (prefix ? `${prefix}/${name}` : name);
    nextPath = null;
    if (type === '5') continue; // directories
    entries.push({ path: full.replace(/^package\//, ''), size, data: body });
  }
  return entries;
}

// Workspace packages: every folder matched by pnpm-workspace.yaml's `packages:` list.
function workspacePackages(rootDir) {
  const yamlFile = path.join(rootDir, 'pnpm-workspace.yaml');
  let patterns = ['packages/*'];
  if (fs.existsSync(yamlFile)) {
    const lines = fs.readFileSync(yamlFile, 'utf8').split('\n');
    const start = lines.findIndex((l) => /^packages:\s*$/.test(l));
    if (start >= 0) {
      patterns = [];
      for (const l of lines.slice(start + 1)) {
        const m = /^\s+-\s+['"]?([^'"#]+?)['"]?\s*(#.*)?$/.exec(l);
        if (m) patterns.push(m[1]);
        else if (/^\S/.test(l)) break;
      }
    }
  }
  const dirs = new Set();
  for (const p of patterns) {
    if (p.startsWith('!')) continue;
    const m = /^(.*?)\/\*\*?$/.exec(p);
    if (m) {
      const base = path.join(rootDir, m[1]);
      if (!fs.existsSync(base)) continue;
      for (const d of fs.readdirSync(base, { withFileTypes: true })) if (d.isDirectory()) dirs.add(path.join(base, d.name));
    } else dirs.add(path.join(rootDir, p));
  }
  const byName = new Map();
  for (const dir of [...dirs].sort()) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const json = readJson(file);
    if (json.name) byName.set(json.name, { name: json.name, dir, json });
  }
  return byName;
}

/** Internal (workspace) dependencies of a package, transitively, excluding itself. */
function internalClosure(pkg, byName) {
  const seen = new Map();
  const visit = (p) => {
    for (const field of DEP_FIELDS) {
      for (const dep of Object.keys(p.json[field] ?? {})) {
        const w = byName.get(dep);
        if (!w || seen.has(dep) || dep === pkg.name) continue;
        seen.set(dep, w);
        visit(w);
      }
    }
  };
  visit(pkg);
  return [...seen.values()];
}

const tarballs = new Map(); // name -> { file, size } ; each package is packed once
function pack(pkg) {
  if (tarballs.has(pkg.name)) return tarballs.get(pkg.name);
  const dest = fs.mkdtempSync(path.join(workDir, 'pack-'));
  const r = run('pnpm', ['pack', '--pack-destination', dest], { cwd: pkg.dir, timeout: INSTALL_TIMEOUT_MS, env: childEnv() });
  const files = fs.existsSync(dest) ? fs.readdirSync(dest).filter((f) => f.endsWith('.tgz')) : [];
  if (r.status !== 0 || files.length !== 1) {
    throw new Error(`pnpm pack failed in ${path.relative(root, pkg.dir)} (exit ${r.status}):\n${tail(r.out).map((l) => `            ${l}`).join('\n')}`);
  }
  const file = path.join(dest, files[0]);
  const result = { file, size: fs.statSync(file).size };
  tarballs.set(pkg.name, result);
  return result;
}

function collectTargets(node, out) {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const n of node) collectTargets(n, out);
  else if (node && typeof node === 'object') for (const v of Object.values(node)) collectTargets(v, out);
  return out;
}

function exportSubpaths(exp) {
  if (exp === undefined) return ['.'];
  if (typeof exp === 'string' || Array.isArray(exp)) return ['.'];
  const keys = Object.keys(exp);
  return keys.some((k) => k.startsWith('.')) ? keys : ['.'];
}

function hasCondition(node, cond) {
  if (!node || typeof node !== 'object') return false;
  if (Array.isArray(node)) return node.some((n) => hasCondition(n, cond));
  return Object.entries(node).some(([k, v]) => k === cond || hasCondition(v, cond));
}

function firstExample(readme) {
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]);
    if (!open) continue;
    const fence = open[1];
    const tag = open[2].toLowerCase();
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      if (new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(lines[j])) break;
      body.push(lines[j]);
    }
    if (EXAMPLE_TAGS.has(tag)) return { tag, line: i + 1, code: body.join('\n') + '\n' };
    i = j; // skip the body of a block in another language
  }
  return null;
}

function stripTypes(code) {
  let ts;
  try {
    ts = createRequire(path.join(root, 'package.json'))('typescript');
  } catch {
    throw new Error('the README example is ```ts but `typescript` cannot be resolved from the repo root (run pnpm install)');
  }
  const out = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
    reportDiagnostics: true,
  });
  const errs = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errs.length) throw new Error(`cannot transpile the README example: ${ts.flattenDiagnosticMessageText(errs[0].messageText, ' ')}`);
  return out.outputText;
}

// ---------------------------------------------------------------- one package

function checkPackage(pkg, byName) {
  const problems = [];
  const warnings = [];
  const say = (label, text) => console.log(`  ${label.padEnd(9)} ${text}`);
  const fail = (msg) => {
    problems.push(msg);
    console.log(`  FAIL      ${msg}`);
  };

  // -- internal dependencies
  const internal = internalClosure(pkg, byName);
  say('internal', internal.length ? internal.map((d) => d.name).join(', ') : '(none)');
  for (const d of internal.filter((x) => x.json.private)) {
    fail(`depends (transitively) on the private workspace package ${d.name}, which users cannot install`);
  }

  // -- tarball
  const own = pack(pkg);
  const entries = readTarball(own.file);
  const unpacked = entries.reduce((s, e) => s + e.size, 0);
  say('tarball', `${path.basename(own.file)}  ${kb(own.size)} packed, ${kb(unpacked)} unpacked, ${entries.length} files`);

  const allowed = (p) =>
    p === 'package.json' || /^readme\.md$/i.test(p) || /^(licen[cs]e)(\.md|\.txt)?$/i.test(p) || p === 'CHANGELOG.md' || p.startsWith('dist/');
  const stray = entries.map((e) => e.path).filter((p) => !allowed(p));
  if (stray.length) fail(`tarball holds files outside dist/: ${stray.slice(0, 10).join(', ')}${stray.length > 10 ? ', ...' : ''}`);
  const distFiles = entries.filter((e) => e.path.startsWith('dist/'));
  if (!distFiles.length) fail('tarball has no dist/ files (was the package built?)');
  if (!entries.some((e) => /^readme\.md$/i.test(e.path))) fail('tarball has no README.md');
  const tests = distFiles.filter((e) => /\.(test|spec)\.[cm]?[jt]s$|\.(test|spec)\.d\.[cm]?ts$/.test(e.path));
  if (tests.length) warnings.push(`dist/ ships ${tests.length} compiled test file(s), e.g. ${tests[0].path}`);

  const pj = entries.find((e) => e.path === 'package.json');
  const packed = pj ? JSON.parse(pj.data.toString('utf8')) : {};
  for (const field of [...DEP_FIELDS, 'devDependencies']) {
    for (const [dep, spec] of Object.entries(packed[field] ?? {})) {
      if (/^(workspace|catalog|link|file):/.test(spec)) fail(`packed package.json ${field}.${dep} is still "${spec}"`);
    }
  }
  const names = new Set(entries.map((e) => e.path));
  const targets = [
    ...collectTargets(packed.exports, []),
    ...['main', 'module', 'types', 'typings'].map((k) => packed[k]).filter((v) => typeof v === 'string'),
  ].filter((t) => !t.includes('*'));
  const missing = [...new Set(targets)].filter((t) => !names.has(path.posix.normalize(t).replace(/^\.\//, '')));
  if (missing.length) fail(`exports/main/types name files missing from the tarball: ${missing.join(', ')}`);
  if (packed.exports && typeof packed.exports === 'object') {
    for (const [sub, cond] of Object.entries(packed.exports)) {
      if (cond && typeof cond === 'object' && !Array.isArray(cond) && 'types' in cond && Object.keys(cond)[0] !== 'types') {
        warnings.push(`exports["${sub}"]: "types" should be the first condition`);
      }
    }
  }
  say('contents', `${distFiles.length} dist/ files + ${entries.filter((e) => !e.path.startsWith('dist/')).map((e) => e.path).join(', ')}`);

  // -- README example (read before installing, so a missing one fails fast)
  const readmeFile = path.join(pkg.dir, 'README.md');
  const example = fs.existsSync(readmeFile) ? firstExample(fs.readFileSync(readmeFile, 'utf8')) : null;
  if (!fs.existsSync(readmeFile)) fail('no README.md');
  else if (!example) fail('README.md has no ```js or ```ts example block');

  if (problems.length) return { problems, warnings };

  // -- fresh project outside the repo
  const deps = internal.map((d) => ({ name: d.name, ...pack(d) }));
  const proj = path.join(fs.mkdtempSync(path.join(workDir, 'proj-')), 'app');
  fs.mkdirSync(proj);
  const init = run('npm', ['init', '-y'], { cwd: proj, timeout: 60_000 });
  if (init.status !== 0) {
    fail(`npm init -y failed:\n${tail(init.out).join('\n')}`);
    return { problems, warnings };
  }
  const projPj = readJson(path.join(proj, 'package.json'));
  projPj.type = 'module';
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify(projPj, null, 2) + '\n');

  const inst = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', own.file, ...deps.map((d) => d.file)],
    { cwd: proj, timeout: INSTALL_TIMEOUT_MS },
  );
  say('install', `${secs(inst.ms)} (npm install ${1 + deps.length} tarball(s) + registry deps) in ${proj}`);
  if (inst.status !== 0) {
    fail(`npm install ${inst.note || `exited ${inst.status}`}:\n${tail(inst.out, 30).map((l) => `            ${l}`).join('\n')}`);
    return { problems, warnings };
  }

  // Every internal package must come from our tarballs, once, at the top level;
  // singletons (tfjs-core) must be installed exactly once.
  const lock = readJson(path.join(proj, 'package-lock.json'));
  const lockPkgs = Object.entries(lock.packages ?? {});
  for (const n of [pkg.name, ...internal.map((d) => d.name)]) {
    const at = lockPkgs.filter(([k]) => k === `node_modules/${n}` || k.endsWith(`/node_modules/${n}`));
    const top = at.find(([k]) => k === `node_modules/${n}`);
    if (!top) fail(`${n} is not installed at the top level of the test project`);
    else if (!String(top[1].resolved ?? '').startsWith('file:')) fail(`${n} was resolved from ${top[1].resolved}, not from its tarball`);
    if (at.length > 1) fail(`${n} is installed ${at.length} times: ${at.map(([k]) => k).join(', ')}`);
  }
  for (const n of SINGLETONS) {
    const at = lockPkgs.filter(([k]) => k === `node_modules/${n}` || k.endsWith(`/node_modules/${n}`));
    if (at.length > 1) fail(`${n} must be installed once but is installed ${at.length} times: ${at.map(([k, v]) => `${k}@${v.version}`).join(', ')}`);
  }
  const third = lockPkgs.filter(([k]) => k !== '').length - 1 - internal.length;
  say('deps', `${third} third-party package(s) from the registry`);

  // -- every export entry resolves and loads
  const specs = exportSubpaths(packed.exports)
    .filter((s) => !s.includes('*'))
    .map((s) => ({ sub: s, spec: s === '.' ? pkg.name : `${pkg.name}/${s.replace(/^\.\//, '')}` }));
  const withRequire = hasCondition(packed.exports, 'require');
  const probe = [
    "import { createRequire } from 'node:module';",
    'const require = createRequire(import.meta.url);',
    `const specs = ${JSON.stringify(specs)};`,
    'for (const { sub, spec } of specs) {',
    "  if (sub.endsWith('.json')) { require.resolve(spec); console.log(`${spec}: resolves`); continue; }",
    '  const m = await import(spec);',
    '  console.log(`${spec}: import ok, ${Object.keys(m).length} named export(s)`);',
    `  if (${withRequire}) { const c = require(spec); console.log(\`\${spec}: require ok, \${Object.keys(c).length} key(s)\`); }`,
    '}',
  ].join('\n');
  fs.writeFileSync(path.join(proj, 'exports-probe.mjs'), probe + '\n');
  const pr = run(process.execPath, ['exports-probe.mjs'], { cwd: proj, timeout: EXAMPLE_TIMEOUT_MS });
  if (pr.status !== 0) {
    fail(`an exports entry does not load:\n${tail(pr.out).map((l) => `            ${l}`).join('\n')}`);
  } else {
    for (const l of tail(pr.out, 20)) say('exports', l);
  }

  // -- the README example
  let code = example.code;
  let how = `README.md:${example.line} \`\`\`${example.tag}`;
  if (TS_TAGS.has(example.tag)) {
    try {
      code = stripTypes(code);
      how += ' (types stripped by typescript.transpileModule)';
    } catch (e) {
      fail(e.message);
      return { problems, warnings };
    }
  }
  fs.writeFileSync(path.join(proj, 'example.mjs'), code);
  const ex = run(process.execPath, ['example.mjs'], { cwd: proj, timeout: EXAMPLE_TIMEOUT_MS });
  say('example', `${how}: node example.mjs exited ${ex.status} in ${secs(ex.ms)}; last lines:`);
  for (const l of tail(ex.out)) console.log(`            | ${l}`);
  if (ex.status !== 0) fail(`the README example ${ex.note || `exited ${ex.status}`}`);

  return { problems, warnings, installMs: inst.ms, size: own.size };
}

// ---------------------------------------------------------------- main

if (!fs.existsSync(path.join(root, 'package.json'))) die(`no package.json in ${root}`);
const byName = workspacePackages(root);
const packagesDir = path.join(root, 'packages');
let published = [...byName.values()].filter(
  (p) => path.dirname(p.dir) === packagesDir && !p.json.private,
);
if (only.length) {
  const unknown = only.filter((n) => !published.some((p) => p.name === n));
  if (unknown.length) die(`not a published package under packages/: ${unknown.join(', ')}`);
  published = published.filter((p) => only.includes(p.name));
}

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'x-pack-check-'));
console.log(`pack-check: ${published.length} published package(s) in ${root}`);
console.log(`pack-check: work folder ${workDir}${keep ? ' (kept)' : ''}`);
const npmV = spawnSync('npm', ['--version'], { encoding: 'utf8', env: childEnv() }).stdout?.trim();
const pnpmV = spawnSync('pnpm', ['--version'], { encoding: 'utf8', env: childEnv() }).stdout?.trim();
console.log(`pack-check: node ${process.version}, npm ${npmV ?? '?'}, pnpm ${pnpmV ?? '?'}`);

const results = [];
const t0 = Date.now();
for (const pkg of published) {
  console.log(`\n── ${pkg.name} (${path.relative(root, pkg.dir)}) ${'─'.repeat(Math.max(3, 60 - pkg.name.length))}`);
  const t = Date.now();
  let r;
  try {
    r = checkPackage(pkg, byName);
  } catch (e) {
    console.log(`  FAIL      ${e.message}`);
    r = { problems: [e.message], warnings: [] };
  }
  for (const w of r.warnings) console.log(`  warning   ${w}`);
  const ok = r.problems.length === 0;
  console.log(`  ${ok ? 'PASS' : 'FAIL'} ${pkg.name} (${secs(Date.now() - t)})`);
  results.push({ name: pkg.name, ok, ...r });
}

console.log(`\n── summary ${'─'.repeat(60)}`);
for (const r of results) {
  const extra = r.ok ? `tarball ${kb(r.size)}, install ${secs(r.installMs)}` : r.problems[0].split('\n')[0];
  console.log(`  ${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(16)} ${extra}`);
}
if (!keep) fs.rmSync(workDir, { recursive: true, force: true });
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`  total ${secs(Date.now() - t0)}`);
if (!results.length) {
  console.log('pack-check: found no published package under packages/');
  process.exit(1);
}
console.log(`pack-check: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

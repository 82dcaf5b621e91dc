#!/usr/bin/env node
// `npm run build`: compiles src/ and machines/ to dist/ with tsc (JavaScript, declarations, source
// maps) and copies the files the code reads at run time beside their modules: the dashboard's
// page, script, style and icon, and the migrations. `--if-stale` builds (incrementally) only when a
// source is newer than the last build: tests, `npm start`, chaos and the benchmarks run it first,
// and an up-to-date dist/ costs about 0.1 s to check.
/* global process, console, URL */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
/** STAMP is written after a complete build; its mtime is the build's time. */
const STAMP = join(DIST, '.built');
/** SOURCES are compiled (their .ts files) or copied (everything else) to dist/ at the same relative path. */
const SOURCES = ['src', 'machines', 'migrations'];
/** INPUTS change the output when they change. */
const INPUTS = [...SOURCES, 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

/** walk lists every file and folder under dir (folders too: a deleted file changes its folder's mtime). */
function walk(dir) {
  const out = [dir];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

function newestInput() {
  let newest = 0;
  for (const input of INPUTS) {
    const path = join(ROOT, input);
    const paths = statSync(path).isDirectory() ? walk(path) : [path];
    for (const p of paths) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** isStale says whether dist/ is missing or older than any source. */
export function isStale() {
  return !existsSync(STAMP) || statSync(STAMP).mtimeMs < newestInput();
}

/** sourceOf maps a file under dist/ to the source it came from. */
function sourceOf(distFile) {
  const rel = relative(DIST, distFile);
  const ts = rel.replace(/(\.d\.ts\.map|\.d\.ts|\.js\.map|\.js)$/, '.ts');
  return [join(ROOT, ts), join(ROOT, rel)];
}

/**
 * build compiles and copies. A clean build starts from an empty dist/; an incremental one reuses
 * tsc's build info and then removes the files whose source is gone, so dist/ holds nothing stale.
 */
export function build({ clean = true } = {}) {
  if (clean) rmSync(DIST, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  for (const dir of SOURCES) {
    for (const file of walk(join(ROOT, dir))) {
      if (file.endsWith('.ts') || statSync(file).isDirectory()) continue;
      const target = join(DIST, relative(ROOT, file));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(file, target);
    }
  }
  for (const file of walk(DIST)) {
    if (file === DIST || file === STAMP || file.endsWith('.tsbuildinfo') || statSync(file).isDirectory()) continue;
    if (!sourceOf(file).some((s) => existsSync(s))) rmSync(file);
  }
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && !isStale()) process.exit(0);
  const started = Date.now();
  build({ clean: !ifStale });
  console.log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

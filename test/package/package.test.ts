// The package as a user gets it: `npm pack`, the tarball installed into a fresh project, imported
// and run by plain node (no TypeScript loader), and its `spawnkeeper` command run from node_modules/.bin.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  engines: Record<string, string>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};

interface LockEntry {
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly link?: boolean;
}

/**
 * npmEnv is this process's environment without the npm_* variables an enclosing `npm test` sets
 * (its prefix among them), so the nested npm works on the temporary project; the cache is kept.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || /^npm_config_cache$/i.test(k)));
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

/**
 * consumerLock is a lockfile for a project that depends on the tarball alone: the tarball, and the
 * checkout's own locked entries for everything it needs at run time (none of the development
 * tools), so `npm ci --offline` installs from the cache `npm ci` of the checkout filled, with no
 * registry lookups and the exact versions the tests ran against.
 */
function consumerLock(tarball: string, integrity: string): unknown {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const runtime = Object.entries(lock.packages).filter(
    ([path, entry]) => path.startsWith('node_modules/') && entry.dev !== true && entry.devOptional !== true && entry.link !== true,
  );
  return {
    name: 'consumer',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'consumer', dependencies: { [manifest.name]: `file:${tarball}` } },
      [`node_modules/${manifest.name}`]: {
        version: manifest.version,
        resolved: `file:${tarball}`,
        integrity,
        license: manifest.license,
        dependencies: manifest.dependencies,
        bin: manifest.bin,
        engines: manifest.engines,
      },
      ...Object.fromEntries(runtime),
    },
  };
}

describe('the packed package', () => {
  let tmp: { dir: string; cleanup: () => void };
  let app: string;
  let files: string[];

  beforeAll(() => {
    tmp = tempDir('spawnkeeper-pack-');
    app = join(tmp.dir, 'consumer');
    mkdirSync(app);
    // dist/ is built by the tests' global setup; `prepare` (a clean rebuild) would pull it from under the other tests.
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', app], {
        cwd: ROOT,
        env: npmEnv(),
        encoding: 'utf8',
      }),
    ) as { filename: string; files: { path: string }[] }[];
    if (packed === undefined) throw new Error('npm pack reported no tarball');
    files = packed.files.map((f) => f.path);
    const tarball = packed.filename;
    const integrity = `sha512-${createHash('sha512')
      .update(readFileSync(join(app, tarball)))
      .digest('base64')}`;
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { [manifest.name]: `file:${tarball}` } }),
    );
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(consumerLock(tarball, integrity)));
    // --ignore-scripts: better-sqlite3's install would download or compile its native module; the
    // checkout's, built for this very node, is copied in instead.
    execFileSync('npm', ['ci', '--offline', '--ignore-scripts'], { cwd: app, env: npmEnv(), stdio: 'pipe' });
    const native = 'node_modules/better-sqlite3/build/Release';
    mkdirSync(join(app, native), { recursive: true });
    copyFileSync(join(ROOT, native, 'better_sqlite3.node'), join(app, native, 'better_sqlite3.node'));
    copyFileSync(fileURLToPath(new URL('./consumer.mjs', import.meta.url)), join(app, 'consumer.mjs'));
    copyFileSync(fileURLToPath(new URL('./consumer-types.ts', import.meta.url)), join(app, 'consumer-types.ts'));
  }, 180_000);
  afterAll(() => tmp?.cleanup());

  it('ships the compiled code, its declarations and the files it reads at run time, and no TypeScript sources or tests', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'bin/spawnkeeper.mjs', 'dist/src/index.js', 'dist/src/index.d.ts']));
    expect(files).toEqual(
      expect.arrayContaining(['dist/src/sim/index.js', 'dist/src/hub/cli/main.js', 'dist/migrations/001_event_log.sql']),
    );
    expect(files).toEqual(
      expect.arrayContaining(['dist/src/hub/dashboard/page.html', 'dist/src/hub/dashboard/app.js', 'dist/src/hub/dashboard/app.css']),
    );
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /^(test|bench|examples|src|machines|scripts)\//.test(f))).toEqual([]);
  });

  it('is imported by plain node, which runs createSpawnkeeper against the simulator through a start and a stop', () => {
    const out = execFileSync(process.execPath, ['consumer.mjs', join(app, 'consumer.db')], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    const seen = JSON.parse(out.trim().split('\n').at(-1) ?? '') as { version: string; running: string; stopped: string; steps: string[] };
    expect(seen).toMatchObject({ version: manifest.version, running: 'running', stopped: 'stopped' });
    expect(seen.steps[0]).toBe('server.start');
    expect(seen.steps).toContain('server.stop');
  });

  it('gives a TypeScript project declarations that typecheck strictly with skipLibCheck off', () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['consumer-types.ts'],
      }),
    );
    // The checkout's compiler, run on the consumer: the installed project has only what the package depends on.
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8' });
    const errors = (result.stdout + result.stderr).split('\n').filter((line) => /error TS\d+/.test(line));
    // Our declarations and the consumer must be clean; a dependency's own (client-node's isomorphic-ws
    // wants @types/ws) is that library's to fix, and shows with client-node alone.
    expect(errors.filter((line) => line.startsWith('consumer-types.ts') || line.includes('node_modules/spawnkeeper/'))).toEqual([]);
    expect(errors.every((line) => line.startsWith('node_modules/'))).toBe(true);
  });

  it('installs a spawnkeeper command that prints its usage', () => {
    const out = execFileSync(join(app, 'node_modules/.bin/spawnkeeper'), ['--help'], { cwd: app, encoding: 'utf8' });
    expect(out).toMatch(/usage/i);
    expect(out).toContain('serve');
  });

  it('serves the hub with `spawnkeeper serve` from the installed package: healthy, its version, its dashboard', async () => {
    const child = spawn(join(app, 'node_modules/.bin/spawnkeeper'), ['serve', '--port', '0', '--db', join(app, 'hub.db')], {
      cwd: app,
      env: { ...process.env, SPAWNKEEPER_ADMIN_TOKEN: 'package-test-admin-token-0123456789abcdef', SPAWNKEEPER_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no API URL within 30 s:\n${out}`)), 30_000);
        const look = (): void => {
          const m = /JupyterHub REST API at (http:\/\/127\.0\.0\.1:\d+)\/hub\/api/.exec(out);
          if (m?.[1] !== undefined) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        };
        child.stdout.on('data', look);
        child.once('exit', () => reject(new Error(`spawnkeeper serve exited:\n${out}`)));
      });
      const res = await fetch(`${url}/hub/health`);
      expect(res.status).toBe(200);
      // The version comes from the package's own package.json, the dashboard from files copied beside the compiled modules.
      expect(await (await fetch(`${url}/hub/api`)).json()).toMatchObject({ spawnkeeper: manifest.version });
      const page = await fetch(`${url}/hub/dashboard`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>spawnkeeper dashboard</title>');
      const script = await fetch(`${url}/hub/dashboard/app.js`);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect((await script.text()).length).toBeGreaterThan(0);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/schema.js';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { createSpawnkeeper, kubeConfigFor } from '../../src/spawnkeeper.js';
import { tempDir } from '../support/harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/spawnkeeper.mjs`;

/** Each bad engine setting, as the hub's config file and as createSpawnkeeper's option, and the problem both must report. */
const CASES = [
  {
    what: 'a string where a delay belongs (the reflector then sent a thousand watch requests a second)',
    engine: { reflector: { resyncMs: 'x' } },
    path: 'reflector.resyncMs',
    problem: 'expected milliseconds from 1 to 2147483647, got "x"',
  },
  {
    what: 'a misspelled key',
    engine: { reflector: { resynMs: 5_000 } },
    path: 'reflector.resynMs',
    problem: 'unknown key (known: resyncMs, watchTimeoutSeconds, silenceMs, unhealthyAfterMs, backoffMaxMs)',
  },
  {
    what: 'a delay out of range',
    engine: { delays: { startTimeout: 0 } },
    path: 'delays.startTimeout',
    problem: 'expected milliseconds from 1 to 2147483647, got 0',
  },
  {
    what: 'a durability that is neither full nor normal',
    engine: { durability: 'bogus' },
    path: 'durability',
    problem: 'expected one of full, normal, got "bogus"',
  },
] as const;

function exec(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    proc.once('close', (code) => resolve({ code, out, err }));
  });
}

describe('bad configuration is refused at start, naming its path, and touches nothing', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sim: Simulator;
  beforeAll(async () => {
    tmp = tempDir('spawnkeeper-refused-');
    sim = await startSimulator({ seed: 3 });
  });
  afterAll(async () => {
    await sim.close();
    tmp.cleanup();
  });

  for (const [i, c] of CASES.entries()) {
    it(`\`spawnkeeper serve\` exits 2 on ${c.what}, and creates no data folder or database`, async () => {
      const file = `${tmp.dir}/serve-${i}.json`;
      writeFileSync(file, JSON.stringify({ spawnkeeper: c.engine }));
      const data = `${tmp.dir}/serve-${i}`;
      const r = await exec([BIN, 'serve', '--config', file, '--db', `${data}/hub.db`, '--port', '0']);
      expect(r.code).toBe(2);
      expect(r.err.trim()).toBe(`spawnkeeper serve: spawnkeeper.${c.path}: ${c.problem} (in ${file})`);
      expect(r.out).toBe('');
      expect(existsSync(data)).toBe(false);
    });

    it(`createSpawnkeeper throws a ConfigError naming ${c.path} on ${c.what}, before it opens the database`, async () => {
      const db = `${tmp.dir}/engine-${i}.db`;
      const made = createSpawnkeeper({ db, cluster: kubeConfigFor(sim.url), config: c.engine as never });
      await expect(made).rejects.toThrow(ConfigError);
      await expect(made).rejects.toMatchObject({ path: c.path, message: `${c.path}: ${c.problem}` });
      expect(existsSync(db)).toBe(false);
    });
  }

  it('createSpawnkeeper refuses a database or cluster option of the wrong kind, naming it', async () => {
    await expect(createSpawnkeeper({ db: '', cluster: kubeConfigFor(sim.url) })).rejects.toMatchObject({
      name: 'ConfigError',
      path: 'db',
      message: 'db: expected a file path or an open better-sqlite3 database, got ""',
    });
    const db = `${tmp.dir}/cluster.db`;
    await expect(createSpawnkeeper({ db, cluster: { server: sim.url } as never })).rejects.toMatchObject({
      name: 'ConfigError',
      path: 'cluster',
      message: `cluster: expected a KubeConfig, got {"server":"${sim.url}"}`,
    });
    expect(existsSync(db)).toBe(false);
  });

  it('`npm start` (the compiled bin with the process kubelet) refuses the config file named by SPAWNKEEPER_CONFIG the same way', async () => {
    const file = `${tmp.dir}/start.json`;
    writeFileSync(file, '{"spawnkeeper":{"reflector":{"resyncMs":"x"}}}');
    const r = await exec([BIN, '--sim-kubelet', 'process'], {
      SPAWNKEEPER_CONFIG: file,
      SPAWNKEEPER_DB: `${tmp.dir}/start/hub.db`,
      SPAWNKEEPER_PORT: '0',
    });
    expect(r.code).toBe(2);
    expect(r.err).toContain(`spawnkeeper.reflector.resyncMs: expected milliseconds from 1 to 2147483647, got "x" (in ${file})`);
    expect(existsSync(`${tmp.dir}/start`)).toBe(false);
  });

  it('a hub setting from the environment or a flag out of range is refused with the variable or flag named', async () => {
    const env = await exec([BIN, 'serve', '--db', `${tmp.dir}/env/hub.db`], { SPAWNKEEPER_LEASE_RETRY_PERIOD: '-1' });
    expect(env.code).toBe(2);
    expect(env.err.trim()).toMatch(/^spawnkeeper serve: SPAWNKEEPER_LEASE_RETRY_PERIOD: expected seconds from 0\.001 to \d+, got -1$/);
    const flag = await exec([BIN, 'serve', '--db', `${tmp.dir}/flag/hub.db`, '--lease-duration', '2.5']);
    expect(flag.code).toBe(2);
    expect(flag.err.trim()).toBe(
      'spawnkeeper serve: spawnkeeper.lease: lease durationMs must be whole seconds (the Lease stores seconds), got 2500',
    );
    expect(existsSync(`${tmp.dir}/env`) || existsSync(`${tmp.dir}/flag`)).toBe(false);
  });
});

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { HubProcess, freePort } from '../chaos/hub-process.js';
import { kubeconfigFor } from '../support/api-proxy.js';
import { tempDir } from '../support/harness.js';
import { FAST_KUBELET, TEST_ENGINE, waitFor } from './hub-helpers.js';

const BIN = new URL('../../bin/spawnkeeper.mjs', import.meta.url).pathname;
const TOKEN = 'one-writer-admin-token-0123456789abcdef';

/** digest of the database and its WAL: what a refused writer must leave exactly as it was. */
function digest(db: string): string {
  const hash = createHash('sha256');
  for (const file of [db, `${db}-wal`]) if (existsSync(file)) hash.update(readFileSync(file));
  return hash.digest('hex');
}

/** cli runs one spawnkeeper command as its own process and waits for it, the event loop free meanwhile. */
function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, SPAWNKEEPER_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err })));
}

describe('one database, one writer: two real hub processes on one SQLite file', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: string;
  let config: string;
  let kubeconfig: string;
  let sim: Simulator;
  let first: HubProcess;
  const api = (hub: HubProcess, method: string, path: string) =>
    fetch(`${hub.url}/hub/api${path}`, { method, headers: { Authorization: `token ${TOKEN}` } });

  beforeAll(async () => {
    tmp = tempDir('spawnkeeper-one-db-');
    db = `${tmp.dir}/hub.db`;
    config = `${tmp.dir}/hub.json`;
    writeFileSync(config, JSON.stringify({ spawnkeeper: TEST_ENGINE, slow_spawn_timeout: 5, slow_stop_timeout: 5 }));
    // The cluster lives in this process, so the pods outlive a hub's SIGKILL, as in a real cluster.
    sim = await startSimulator({ seed: 4, kubelet: FAST_KUBELET });
    kubeconfig = `${tmp.dir}/kubeconfig.json`;
    writeFileSync(kubeconfig, kubeconfigFor(sim.url));
    first = new HubProcess({ port: await freePort(), db, kubeconfig, config, token: TOKEN, logFile: `${tmp.dir}/first.log` });
    await first.start();
    expect((await api(first, 'POST', '/users/ada')).status).toBe(201);
    expect((await api(first, 'POST', '/users/ada/server')).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await first.kill();
    first.close();
    await sim.close();
    tmp.cleanup();
  });

  it('refuses a second hub at once with the holder’s pid, host and start, and leaves the file untouched', async () => {
    const before = digest(db);
    const began = Date.now();
    const second = spawn(
      process.execPath,
      [BIN, 'serve', '--port', String(await freePort()), '--db', db, '--kubeconfig', kubeconfig, '--config', config],
      {
        env: { ...process.env, SPAWNKEEPER_ADMIN_TOKEN: TOKEN },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    second.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    second.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
    expect(code).toBe(1);
    const m = /held by spawnkeeper pid (\d+) on host (\S+), since (\S+)\./.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m?.[1])).toBe(first.pid);
    expect(m?.[2]).toBe(hostname());
    expect(Date.parse(m?.[3] ?? '')).toBeLessThan(began);
    expect(out).not.toContain('JupyterHub REST API at');
    expect(digest(db)).toBe(before);
  }, 60_000);

  it('keeps the first hub working, and its file readable by history, replay --check, export and status meanwhile', async () => {
    expect((await fetch(`${first.url}/hub/health`)).status).toBe(200);
    expect([202, 204]).toContain((await api(first, 'DELETE', '/users/ada/server')).status);
    expect((await api(first, 'POST', '/users/ada/servers/lab')).status).toBe(201);
    const history = await cli(['history', 'ada', '--db', db]);
    expect(history.code, history.err).toBe(0);
    expect(history.out).toMatch(/server\.stop\s+running\S* → stop_pending/);
    const replay = await cli(['replay', '--check', '--db', db]);
    expect(replay.code, replay.err).toBe(0);
    expect(replay.out).toMatch(/2 servers replayed, 0 differ/);
    const exported = await cli(['export', '--db', db]);
    expect(exported.code, exported.err).toBe(0);
    const lines = exported.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; events: unknown[] });
    expect(lines.map((l) => l.key).sort()).toEqual(['ada/', 'ada/lab']);
    expect(lines.every((l) => l.events.length > 0)).toBe(true);
    const status = await cli(['status', '--url', first.url, '--token', TOKEN]);
    expect(status.code, status.err).toBe(0);
    expect(status.out).toMatch(/ada\s+lab\s+running\S*\s+yes/);
    // Writing commands take the lock like a hub and are refused the same way.
    const token = await cli(['token', '--admin', '--db', db]);
    expect(token.code).toBe(1);
    expect(token.err).toContain(`held by spawnkeeper pid ${first.pid}`);
    expect((await fetch(`${first.url}/hub/health`)).status).toBe(200);
  }, 60_000);

  it('frees the file when the holder is SIGKILLed: the next hub starts on it at once and finds its servers', async () => {
    await first.kill();
    const next = new HubProcess({ port: await freePort(), db, kubeconfig, config, token: TOKEN, logFile: `${tmp.dir}/next.log` });
    try {
      await next.start();
      const user = await waitFor('ada with her servers', async () => {
        const res = await api(next, 'GET', '/users/ada');
        return res.status === 200 ? ((await res.json()) as { servers: Record<string, { ready: boolean }> }) : undefined;
      });
      expect(user.servers['lab']?.ready).toBe(true);
      expect((await fetch(`${next.url}/hub/health`)).status).toBe(200); // its own Lease: same host, same file
    } finally {
      await next.kill();
      next.close();
    }
  }, 60_000);
});

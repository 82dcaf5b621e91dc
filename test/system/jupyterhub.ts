import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestHub } from '../integration/hub-helpers.js';
import { startTestHub } from '../integration/hub-helpers.js';
import type { Pod, Simulator } from '../../src/sim/index.js';
import { tempDir } from '../support/harness.js';
import { JUPYTERHUB, need, SINGLEUSER } from './tools.js';

/**
 * The end-to-end rig: spawnkeeper (a real hub over the embedded simulator with the process kubelet)
 * and Debian's JupyterHub 3.0 configured with SpawnkeeperSpawner and the DummyAuthenticator, its
 * configurable-http-proxy in front. Everything listens on loopback ports picked here.
 */

const INTEGRATION = fileURLToPath(new URL('../../integrations/jupyterhub/', import.meta.url));
export const E2E_TOKEN = 'e2e0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab';
const SPAWNER_TOKEN = 'spawner0123456789abcdef0123456789abcdef0123456789abcdef012345';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

export interface Answer {
  status: number;
  body: unknown;
  text: string;
}

/** call is one HTTP request with a token, its JSON body parsed when there is one. */
export async function call(url: string, method = 'GET', token?: string, body?: unknown): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { ...(token === undefined ? {} : { Authorization: `token ${token}` }), 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    redirect: 'manual',
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  deadlineMs = 60_000,
  everyMs = 250,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** startSpawnkeeper runs spawnkeeper with the process kubelet and a service JupyterHub's spawner uses. */
export async function startSpawnkeeper(command?: string[]): Promise<TestHub> {
  return startTestHub({
    slowSpawnTimeout: 5,
    slowStopTimeout: 5,
    services: [{ name: 'jupyterhub', api_token: SPAWNER_TOKEN }],
    loadRoles: [{ name: 'jupyterhub', scopes: ['admin:servers', 'admin:users', 'list:users'], services: ['jupyterhub'] }],
    simKubelet: 'process',
    sim: { seed: 16, kubelet: { scheduleMs: 20, createMs: 20, readyMs: 20, ...(command === undefined ? {} : { command }) } },
    spawnkeeper: { durability: 'normal' },
  });
}

export interface JupyterHub {
  /** The public URL (the proxy). */
  readonly url: string;
  readonly dir: string;
  /** api calls JupyterHub's REST API with the test's admin service token. */
  api(method: string, path: string, body?: unknown): Promise<Answer>;
  /** restart stops JupyterHub (its servers keep running, cleanup_servers is off) and starts it again. */
  restart(): Promise<void>;
  /** log is what JupyterHub wrote so far. */
  log(): string;
  close(): Promise<void>;
}

/**
 * startJupyterHub writes a jupyterhub_config.py (three SpawnkeeperSpawner lines and the test's
 * ports, authenticator and admin service) and runs Debian's JupyterHub with it.
 */
export async function startJupyterHub(sk: TestHub, options: { singleuser: boolean; startTimeout?: number }): Promise<JupyterHub> {
  const jupyterhub = need(JUPYTERHUB);
  const dir = tempDir('spawnkeeper-jupyterhub-').dir;
  const [publicPort, hubPort, proxyApiPort] = [await freePort(), await freePort(), await freePort()];
  const config = `# written by test/system/jupyterhub.ts
c = get_config()  # noqa
c.JupyterHub.spawner_class = "spawnkeeper_spawner.SpawnkeeperSpawner"
c.SpawnkeeperSpawner.spawnkeeper_url = ${JSON.stringify(sk.url)}
c.SpawnkeeperSpawner.spawnkeeper_poll_interval = 0.5
${options.singleuser ? `c.SpawnkeeperSpawner.cmd = ["${need(SINGLEUSER)}"]` : "# the image's command: the simulator's built-in server"}
import os
if os.getuid() == 0:  # a CI container runs as root; the notebook server refuses that unless told
    c.Spawner.args = ["--allow-root"]
c.Spawner.start_timeout = ${options.startTimeout ?? 120}
c.Spawner.http_timeout = 60
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = ${publicPort}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = ${hubPort}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:${proxyApiPort}"
c.ConfigurableHTTPProxy.auth_token = "proxy-${E2E_TOKEN.slice(0, 16)}"
c.JupyterHub.db_url = "sqlite:///${join(dir, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = "${join(dir, 'cookie_secret')}"
c.JupyterHub.pid_file = "${join(dir, 'jupyterhub.pid')}"
c.JupyterHub.cleanup_servers = False
c.JupyterHub.last_activity_interval = 3600
c.JupyterHub.services = [{"name": "e2e", "api_token": "${E2E_TOKEN}"}]
c.JupyterHub.load_roles = [{"name": "e2e", "scopes": ["admin:users", "admin:servers", "list:users", "access:servers"], "services": ["e2e"]}]
`;
  writeFileSync(join(dir, 'jupyterhub_config.py'), config);
  const logFile = join(dir, 'jupyterhub.log');
  const url = `http://127.0.0.1:${publicPort}`;
  let child: ChildProcess | undefined;
  const run = async (): Promise<void> => {
    const out = createWriteStream(logFile, { flags: 'a' });
    child = spawn(jupyterhub, ['-f', join(dir, 'jupyterhub_config.py')], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        // Debian's configurable-http-proxy finds its modules there under any Node.
        NODE_PATH: '/usr/share/nodejs',
        PYTHONPATH: INTEGRATION,
        SPAWNKEEPER_API_TOKEN: SPAWNER_TOKEN,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    const started = child;
    await until(
      'JupyterHub to answer',
      async () => {
        if (started.exitCode !== null)
          throw new Error(`JupyterHub exited with ${started.exitCode}:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
        try {
          return (await call(`${url}/hub/api/`)).status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      60_000,
    );
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  await run();
  return {
    url,
    dir,
    api: (method, path, body) => call(`${url}/hub/api${path}`, method, E2E_TOKEN, body),
    restart: async () => {
      await stop();
      await run();
    },
    log: () => readFileSync(logFile, 'utf8'),
    close: stop,
  };
}

/** podProcesses lists the processes this test process started for pods (the process kubelet's children). */
export function podProcesses(): string[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /single-user-server|jupyterhub-singleuser/.test(l));
}

/** running pods: the pods of the cluster that are not being deleted, by their JupyterHub user. */
export function clusterPods(sim: Simulator): Pod[] {
  return sim.pods().filter((p) => p.metadata.deletionTimestamp === undefined);
}

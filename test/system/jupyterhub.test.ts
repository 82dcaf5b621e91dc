import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../integration/hub-helpers.js';
import type { JupyterHub } from './jupyterhub.js';
import { E2E_TOKEN, call, clusterPods, podProcesses, startJupyterHub, startSpawnkeeper, until } from './jupyterhub.js';
import { CHROMIUM, need } from './tools.js';

interface ServerModel {
  ready?: boolean;
  pending?: string | null;
  url?: string;
}
interface UserModel {
  servers?: Record<string, ServerModel>;
}

// A real JupyterHub 3.0 (Debian's) with SpawnkeeperSpawner in front of spawnkeeper, whose simulated
// cluster runs each server as a real jupyterhub-singleuser process.
describe('JupyterHub with SpawnkeeperSpawner, end to end', () => {
  let sk: TestHub;
  let jh: JupyterHub;
  let browser: Browser | undefined;

  beforeAll(async () => {
    sk = await startSpawnkeeper();
    jh = await startJupyterHub(sk, { singleuser: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    for (const name of ['alice', 'browser-user']) await jh?.api('DELETE', `/users/${name}/server`).catch(() => undefined);
    await jh?.close();
    await sk?.close();
  });

  const jhServer = async (name: string): Promise<ServerModel | undefined> =>
    ((await jh.api('GET', `/users/${name}`)).body as UserModel).servers?.[''];
  const skState = async (name: string): Promise<string | undefined> => {
    const model = (await sk.call('GET', `/hub/api/users/${name}`)).json as {
      servers?: Record<string, { spawnkeeper?: { state?: string } }>;
    };
    return model.servers?.['']?.spawnkeeper?.state;
  };
  const status = (name: string): Promise<{ status: number; body: unknown }> => call(`${jh.url}/user/${name}/api/status`, 'GET', E2E_TOKEN);

  it('starts a server through JupyterHub, proxies to the real single-user server, survives a JupyterHub restart, and stops it', async () => {
    const began = Date.now();
    expect((await jh.api('POST', '/users/alice')).status).toBe(201);
    const start = await jh.api('POST', '/users/alice/server');
    expect([201, 202]).toContain(start.status);
    await until('alice ready in JupyterHub', async () => ((await jhServer('alice'))?.ready === true ? true : undefined), 90_000);
    const startedMs = Date.now() - began;

    const answer = await status('alice');
    expect(answer.status).toBe(200);
    // jupyterhub-singleuser's own answer: the notebook server's status, not the built-in server's.
    expect(answer.body).toMatchObject({ connections: expect.any(Number), kernels: expect.any(Number) });
    expect(answer.body).not.toHaveProperty('server', 'spawnkeeper built-in');
    expect(await skState('alice')).toBe('running');
    const pods = clusterPods(sk.running.sim!).map((p) => p.metadata.name);
    expect(pods).toEqual(['jupyter-alice']);
    expect(podProcesses()).toHaveLength(1);

    const restartBegan = Date.now();
    await jh.restart();
    const restartMs = Date.now() - restartBegan;
    expect((await jhServer('alice'))?.ready).toBe(true);
    expect((await status('alice')).status).toBe(200);
    expect(await skState('alice')).toBe('running');
    expect(podProcesses()).toHaveLength(1);

    const stopBegan = Date.now();
    const stop = await jh.api('DELETE', '/users/alice/server');
    expect([202, 204]).toContain(stop.status);
    await until('alice stopped in JupyterHub', async () => ((await jhServer('alice')) === undefined ? true : undefined), 60_000);
    await until('alice stopped in spawnkeeper', async () => ((await skState('alice')) === undefined ? true : undefined), 30_000);
    await until(
      'the pod gone',
      () => (clusterPods(sk.running.sim!).length === 0 && sk.running.sim!.pods().length === 0 ? true : undefined),
      30_000,
    );
    await until('the process gone', () => (podProcesses().length === 0 ? true : undefined), 30_000);
    expect((await status('alice')).status).not.toBe(200);
    process.stdout.write(
      `jupyterhub e2e: start ${startedMs} ms, JupyterHub restart ${restartMs} ms, stop ${Date.now() - stopBegan} ms (process and pod gone)\n`,
    );
  });

  it('logs in through JupyterHub’s login page in headless Chromium and reaches the user’s server', async () => {
    browser = await chromium.launch({ executablePath: need(CHROMIUM), args: ['--headless=new', '--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage();
    await page.goto(`${jh.url}/hub/login`);
    await page.fill('input[name=username]', 'browser-user');
    await page.fill('input[name=password]', 'any password: the DummyAuthenticator');
    const began = Date.now();
    await page.click('#login_submit');
    // JupyterHub spawns on login, shows its progress page, then redirects to the server (OAuth with the server).
    await page.waitForURL(/\/user\/browser-user\/(tree|lab)/, { timeout: 90_000 });
    await page.waitForLoadState('domcontentloaded');
    expect(await page.title()).toMatch(/Home|Jupyter/);
    expect(page.url()).toContain(`${jh.url}/user/browser-user/`);
    expect(await skState('browser-user')).toBe('running');
    process.stdout.write(`jupyterhub e2e: browser login to the server page ${Date.now() - began} ms\n`);
    expect((await jh.api('DELETE', '/users/browser-user/server')).status).toBeLessThan(300);
    await until('browser-user stopped', async () => ((await skState('browser-user')) === undefined ? true : undefined), 60_000);
    await until('the process gone', () => (podProcesses().length === 0 ? true : undefined), 30_000);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CullerHub } from './culler-hub.js';
import { USERS, startCullerHub } from './culler-hub.js';
import type { CullOptions, Sent } from './idle-culler.js';
import { cullIdle } from './idle-culler.js';

/**
 * jupyterhub-idle-culler's own test suite (tests/test_idle_culler.py with its conftest.py and
 * jupyterhub_config.py), scenario by scenario, against spawnkeeper: the same users, services,
 * roles and tokens, the same requests from the suite's fixtures, and the culler's requests as its
 * cull_idle makes them (./idle-culler.ts). Then what the suite does not cover but the culler does in
 * production: --cull-users, paging, named servers, a slow stop.
 */

type UserModel = { name: string; servers: Record<string, { ready: boolean }>; last_activity?: string | null; admin?: boolean };
const PAGINATION = 'application/jupyterhub-pagination+json';
const inFuture = (seconds: number) => () => new Date(Date.now() + seconds * 1000);

/** suite is the fixtures of the culler's conftest.py over one hub: start_users with its teardown, count_active_users, cull_idle. */
function suite(get: () => CullerHub) {
  const started: number[] = [];
  const teardown: number[] = [];
  return {
    /** startUsers is the start_users fixture: POST each server with an empty body, then read each progress stream to its end. */
    async startUsers(n: number): Promise<void> {
      const h = get();
      for (let i = 0; i < n; i++) {
        await h.adminRequest(`/users/test-${i}/server`, { method: 'POST', body: '' });
        started.push(i);
      }
      for (let i = 0; i < n; i++) await h.adminRequest(`/users/test-${i}/server/progress`, { parseJson: false });
    },
    /** cleanup is the fixture's teardown: DELETE every started server; any non-2xx fails, as tornado raises. */
    async cleanup(): Promise<void> {
      const h = get();
      for (const i of started.splice(0)) {
        await h.adminRequest(`/users/test-${i}/server`, { method: 'DELETE' });
        teardown.push(i);
      }
    },
    teardown,
    /** forget drops the started servers from the teardown: their users were culled, there is nothing left to stop. */
    forget(): void {
      started.splice(0);
    },
    async countActiveUsers(): Promise<number> {
      const users = (await get().adminRequest('/users')) as UserModel[];
      return users.filter((u) => Object.values(u.servers).some((s) => s.ready)).length;
    },
    cull(options: Partial<CullOptions> & { inactiveLimit: number }) {
      const h = get();
      return cullIdle({ url: h.apiUrl, apiToken: h.cullToken, ...options });
    },
  };
}

/** expectClean: no request of a run was refused and no user's handling failed. */
function expectClean(run: { sent: Sent[]; errors: unknown[] }): void {
  expect(run.errors).toEqual([]);
  expect(run.sent.filter((r) => r.status >= 300)).toEqual([]);
}

describe('jupyterhub-idle-culler test suite, against spawnkeeper', () => {
  let h: CullerHub;
  const s = suite(() => h);
  beforeAll(async () => {
    h = await startCullerHub();
  });
  afterEach(() => s.cleanup());
  afterAll(() => h.close());

  it('test_alive: the hub answers /info to the pytest service', async () => {
    const info = (await h.adminRequest('/info')) as { version: string };
    expect(info.version).toMatch(/^5\./);
  });

  it('test_cull_idle: nothing is culled at first, everyone after time travels 600 s ahead, and the teardown stops nothing twice', async () => {
    expect(await s.countActiveUsers()).toBe(0);
    await s.startUsers(3);
    expect(await s.countActiveUsers()).toBe(3);
    const first = await s.cull({ inactiveLimit: 300 });
    expectClean(first);
    expect(await s.countActiveUsers()).toBe(3);
    // The culler's own requests, in order: the version, then one page of users with ready servers.
    const auth = { Authorization: `token ${h.cullToken}` };
    expect(first.sent.map((r) => [r.method, r.url.slice(h.apiUrl.length), r.headers])).toEqual([
      ['GET', '/', auth],
      ['GET', '/users?state=ready', { ...auth, Accept: PAGINATION }],
    ]);
    const later = await s.cull({ inactiveLimit: 300, now: inFuture(600) });
    expectClean(later);
    expect(later.sent.filter((r) => r.method === 'DELETE').map((r) => [r.url.slice(h.apiUrl.length), r.status, r.body])).toEqual([
      ['/users/test-0/server', 204, undefined],
      ['/users/test-1/server', 204, undefined],
      ['/users/test-2/server', 204, undefined],
    ]);
    expect(await s.countActiveUsers()).toBe(0);
    await s.cleanup(); // DELETE of the three culled servers: 204 each, where JupyterHub < 1.0 answered 400
    expect(s.teardown.slice(-3)).toEqual([0, 1, 2]);
  });

  it('test_custom_cull_arbiter: an arbiter that always says cull culls everyone at once', async () => {
    await s.startUsers(3);
    expect(await s.countActiveUsers()).toBe(3);
    expectClean(await s.cull({ inactiveLimit: 300, cullArbiter: () => true }));
    expect(await s.countActiveUsers()).toBe(0);
  });

  it('test_async_custom_cull_arbiter: so does an async one', async () => {
    await s.startUsers(3);
    expectClean(await s.cull({ inactiveLimit: 300, cullArbiter: () => Promise.resolve(true) }));
    expect(await s.countActiveUsers()).toBe(0);
  });

  it('shows the culler the fields it reads: last_activity and started of each server, set when it was spawned', async () => {
    await s.startUsers(1);
    const res = await fetch(`${h.apiUrl}/users?state=ready`, { headers: { Authorization: `token ${h.cullToken}`, Accept: PAGINATION } });
    const page = (await res.json()) as { items: Array<Record<string, unknown>> };
    const user = page.items[0] ?? {};
    expect(Object.keys(user).sort()).toEqual(['admin', 'kind', 'last_activity', 'name', 'servers']);
    const server = (user['servers'] as Record<string, Record<string, unknown>>)[''] ?? {};
    expect(server['last_activity']).toEqual(server['started']);
    expect(typeof server['started']).toBe('string');
    expect(server).not.toHaveProperty('state');
  });
});

describe('jupyterhub-idle-culler with --cull-users, against spawnkeeper', () => {
  let h: CullerHub;
  const s = suite(() => h);
  beforeAll(async () => {
    h = await startCullerHub({ cullUsers: true });
  });
  afterAll(() => h.close());

  const names = async () => ((await h.adminRequest('/users')) as UserModel[]).map((u) => u.name);

  it('culls idle servers and then their users, reading last_activity and admin without a KeyError', async () => {
    await s.startUsers(3);
    expectClean(await s.cull({ inactiveLimit: 300, cullUsers: true }));
    expect(await names()).toEqual(USERS);
    const run = await s.cull({ inactiveLimit: 300, cullUsers: true, now: inFuture(600) });
    expectClean(run);
    const lines = run.sent.map((r) => `${r.method} ${r.url.slice(h.apiUrl.length)} ${r.status}`);
    // First every page of users with no active server, then every page of users with a ready one ...
    expect(lines.slice(0, 3)).toEqual(['GET / 200', 'GET /users?state=inactive 200', 'GET /users?state=ready 200']);
    // ... then user after user: test-3 and test-4 never started and were created 600 s ago by the
    // culler's clock; test-0 to test-2 lose their idle server first, then themselves.
    expect(lines.slice(3)).toEqual([
      'DELETE /users/test-3 204',
      'DELETE /users/test-4 204',
      'DELETE /users/test-0/server 204',
      'DELETE /users/test-0 204',
      'DELETE /users/test-1/server 204',
      'DELETE /users/test-1 204',
      'DELETE /users/test-2/server 204',
      'DELETE /users/test-2 204',
    ]);
    expect(await names()).toEqual([]);
    s.forget();
  });

  it('keeps a user whose server just stopped for a full timeout, as JupyterHub does by setting last_activity at the stop', async () => {
    await h.adminRequest('/users', { method: 'POST', body: JSON.stringify({ usernames: ['test-0'] }) });
    // A user created an hour ago, as on a hub that has run for a while.
    h.hub.running.db.prepare("UPDATE users SET created = created - 3600000 WHERE name = 'test-0'").run();
    await s.startUsers(1);
    await s.cleanup(); // the server stops, by the user or another culler
    const now = await s.cull({ inactiveLimit: 300, cullUsers: true });
    expectClean(now);
    expect(await names()).toEqual(['test-0']);
    const inactive = (await (
      await fetch(`${h.apiUrl}/users?state=inactive`, { headers: { Authorization: `token ${h.cullToken}` } })
    ).json()) as UserModel[];
    expect(Date.parse(String(inactive[0]?.last_activity))).toBeGreaterThan(Date.now() - 60_000);
    expectClean(await s.cull({ inactiveLimit: 300, cullUsers: true, now: inFuture(600) }));
    expect(await names()).toEqual([]);
  });
});

describe('jupyterhub-idle-culler paging, named servers and slow stops, against spawnkeeper', () => {
  let h: CullerHub;
  const s = suite(() => h);
  beforeAll(async () => {
    h = await startCullerHub({ config: { slowStopTimeout: 1 } });
  });
  afterEach(() => s.cleanup());
  afterAll(() => h.close());

  it('follows next.url page by page with --api-page-size and culls on every page', async () => {
    await s.startUsers(5);
    const run = await s.cull({ inactiveLimit: 300, apiPageSize: 2, now: inFuture(600) });
    expectClean(run);
    const pages = run.sent.filter((r) => r.method === 'GET' && r.url.includes('/users')).map((r) => r.url.slice(h.apiUrl.length));
    expect(pages).toEqual(['/users?limit=2&state=ready', '/users?limit=2&state=ready&offset=2', '/users?limit=2&state=ready&offset=4']);
    expect(run.sent.filter((r) => r.method === 'DELETE')).toHaveLength(5);
    expect(await s.countActiveUsers()).toBe(0);
  });

  it('stops and removes an idle named server with --remove-named-servers', async () => {
    await h.adminRequest('/users/test-1/servers/lab', { method: 'POST', body: '' });
    await h.adminRequest('/users/test-1/servers/lab/progress', { parseJson: false });
    expect(((await h.adminRequest('/users/test-1')) as UserModel).servers).toHaveProperty('lab');
    const run = await s.cull({ inactiveLimit: 300, removeNamedServers: true, now: inFuture(600) });
    expectClean(run);
    expect(run.sent.filter((r) => r.method === 'DELETE').map((r) => [r.url.slice(h.apiUrl.length), r.body, r.status])).toEqual([
      ['/users/test-1/servers/lab', '{"remove": true}', 204],
    ]);
    const user = (await h.adminRequest('/users/test-1?include_stopped_servers')) as UserModel;
    expect(user.servers).not.toHaveProperty('lab');
  });

  it('gets 202 for a server slow to stop, leaves it alone while it stops, and never a 400', async () => {
    await s.startUsers(1);
    const kubelet = h.hub.running.sim?.kubelet;
    kubelet?.setDelays({ stopMs: 4_000 });
    try {
      const run = await s.cull({ inactiveLimit: 300, now: inFuture(600) });
      expectClean(run);
      expect(run.sent.filter((r) => r.method === 'DELETE').map((r) => r.status)).toEqual([202]);
      const again = await s.cull({ inactiveLimit: 300, now: inFuture(600) });
      expectClean(again);
      expect(again.sent.filter((r) => r.method === 'DELETE')).toEqual([]);
    } finally {
      kubelet?.setDelays({ stopMs: 5 });
    }
  }, 30_000);
});

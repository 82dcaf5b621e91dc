import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from './hub-helpers.js';
import { FAST_KUBELET, startTestHub, waitFor } from './hub-helpers.js';

type Json = Record<string, unknown>;
const api = '/hub/api';

describe('hub REST API: users', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it('answers the API version without a token', async () => {
    const r = await hub.call('GET', api, { token: null });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/), spawnkeeper: '0.1.0' });
  });

  it('creates a user with 201, refuses a second with 409 and reads it back with JupyterHub fields', async () => {
    const created = await hub.call('POST', `${api}/users/ann`, { body: { admin: false } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ kind: 'user', name: 'ann', admin: false, server: null, pending: null, servers: {} });
    expect((await hub.call('POST', `${api}/users/ann`)).status).toBe(409);
    const read = await hub.call('GET', `${api}/users/ann`);
    expect(read.status).toBe(200);
    expect(Object.keys(read.json as Json)).toEqual(
      expect.arrayContaining(['name', 'admin', 'roles', 'groups', 'server', 'pending', 'created', 'last_activity', 'servers']),
    );
  });

  it('answers 404 for an unknown user', async () => {
    const r = await hub.call('GET', `${api}/users/nobody-here`);
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ status: 404, message: 'No such user: nobody-here' });
  });

  it('creates several users at once and answers 409 when all exist', async () => {
    const r = await hub.call('POST', `${api}/users`, { body: { usernames: ['bulk1', 'bulk2'] } });
    expect(r.status).toBe(201);
    expect((r.json as Json[]).map((u) => u['name'])).toEqual(['bulk1', 'bulk2']);
    expect((await hub.call('POST', `${api}/users`, { body: { usernames: ['bulk1', 'bulk2'] } })).status).toBe(409);
  });

  it('lists users by state and pages them, in the plain and the paginated form', async () => {
    await hub.call('POST', `${api}/users`, { body: { usernames: ['page1', 'page2', 'page3'] } });
    expect((await hub.call('POST', `${api}/users/page2/server`)).status).toBe(201);
    const ready = (await hub.call('GET', `${api}/users?state=ready`)).json as Json[];
    expect(ready.map((u) => u['name'])).toEqual(['page2']);
    const active = (await hub.call('GET', `${api}/users?state=active`)).json as Json[];
    expect(active.map((u) => u['name'])).toEqual(['page2']);
    const inactive = (await hub.call('GET', `${api}/users?state=inactive`)).json as Json[];
    expect(inactive.map((u) => u['name'])).toEqual(expect.arrayContaining(['ann', 'page1', 'page3']));
    expect(inactive.map((u) => u['name'])).not.toContain('page2');
    const all = (await hub.call('GET', `${api}/users`)).json as Json[];
    const page = (await hub.call('GET', `${api}/users?offset=1&limit=2`)).json as Json[];
    expect(page.map((u) => u['name'])).toEqual(all.slice(1, 3).map((u) => u['name']));
    const paged = await hub.call('GET', `${api}/users?offset=0&limit=2`, { headers: { Accept: 'application/jupyterhub-pagination+json' } });
    const body = paged.json as {
      items: Json[];
      _pagination: { offset: number; limit: number; total: number; next: { offset: number; limit: number; url: string } | null };
    };
    expect(body.items).toHaveLength(2);
    expect(body._pagination).toMatchObject({ offset: 0, limit: 2, total: all.length, next: { offset: 2, limit: 2 } });
    expect(body._pagination.next?.url).toContain('offset=2');
    const last = await hub.call('GET', `${api}/users?offset=${all.length - 1}&limit=2`, {
      headers: { Accept: 'application/jupyterhub-pagination+json' },
    });
    expect((last.json as { _pagination: { next: unknown } })._pagination.next).toBeNull();
  });

  it('refuses an unknown state filter and a non-integer offset or limit with 400, and reads signed ones as JupyterHub does', async () => {
    expect((await hub.call('GET', `${api}/users?state=sleepy`)).status).toBe(400);
    expect((await hub.call('GET', `${api}/users?limit=ten`)).status).toBe(400);
    expect((await hub.call('GET', `${api}/users?offset=1.5`)).status).toBe(400);
    const paged = { Accept: 'application/jupyterhub-pagination+json' };
    const page = (await hub.call('GET', `${api}/users?offset=-1&limit=0`, { headers: paged })).json as {
      _pagination: { offset: number; limit: number };
    };
    expect(page._pagination).toMatchObject({ offset: 1, limit: 1 });
  });

  it('records activity, moving last_activity forward only; a time without a zone is UTC, one far ahead is refused', async () => {
    await hub.call('POST', `${api}/users/active1`);
    await hub.call('POST', `${api}/users/active1/server`);
    const soon = new Date(Date.now() + 30 * 60_000);
    soon.setUTCMilliseconds(123);
    const ok = await hub.call('POST', `${api}/users/active1/activity`, {
      body: { last_activity: soon.toISOString(), servers: { '': { last_activity: soon.toISOString().replace('Z', '456+00:00') } } },
    });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('');
    await hub.call('POST', `${api}/users/active1/activity`, { body: { last_activity: '2020-01-01T00:00:00Z' } });
    const user = (await hub.call('GET', `${api}/users/active1`)).json as { last_activity: string; servers: Record<string, Json> };
    const iso = soon.toISOString().replace('Z', '000Z');
    expect(user.last_activity).toBe(iso);
    expect(user.servers['']?.['last_activity']).toBe(iso);
    const naive = soon.toISOString().slice(0, 19);
    expect((await hub.call('POST', `${api}/users/active1/activity`, { body: { last_activity: naive } })).status).toBe(200);
    const far = new Date(Date.now() + 61 * 60_000).toISOString();
    const refused = await hub.call('POST', `${api}/users/active1/activity`, { body: { last_activity: far } });
    expect(refused.status).toBe(400);
    expect((refused.json as Json)['message']).toMatch(/^Rejecting activity from more than an hour in the future: /);
    expect((await hub.call('POST', `${api}/users/active1/activity`, { body: { last_activity: 'yesterday' } })).status).toBe(400);
    const unknown = await hub.call('POST', `${api}/users/active1/activity`, {
      body: { servers: { nope: { last_activity: '2030-01-01T00:00:00Z' } } },
    });
    expect(unknown.status).toBe(400);
    expect((unknown.json as Json)['message']).toBe("No such server 'nope' for user active1");
    expect(((await hub.call('GET', `${api}/users/active1`)).json as Json)['last_activity']).toBe(iso);
  });

  it('deletes a user without servers with 204 and keeps nothing of it but server histories', async () => {
    await hub.call('POST', `${api}/users/gone1`);
    await hub.call('POST', `${api}/users/gone1/server`);
    await hub.call('DELETE', `${api}/users/gone1/server`);
    const r = await hub.call('DELETE', `${api}/users/gone1`);
    expect(r.status).toBe(204);
    expect((await hub.call('GET', `${api}/users/gone1`)).status).toBe(404);
    expect(hub.running.sk.history('gone1').map((e) => e.type)).toEqual(expect.arrayContaining(['server.start', 'server.stop']));
  });

  it('shows hub information to a token with read:hub', async () => {
    const r = await hub.call('GET', `${api}/info`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ spawner: { class: 'spawnkeeper' }, cluster: 'simulated', limits: { concurrent_spawn_limit: 100 } });
  });

  it('answers 404 for unknown routes and 405 with Allow for wrong methods', async () => {
    expect((await hub.call('GET', `${api}/nothing/here`)).status).toBe(404);
    expect((await hub.call('GET', '/')).status).toBe(404);
    const wrong = await hub.call('PUT', `${api}/users/ann/server`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('DELETE, POST');
    expect(wrong.json).toMatchObject({ status: 405 });
  });
});

describe('hub REST API: servers', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({
      slowSpawnTimeout: 0.3,
      slowStopTimeout: 0.3,
      spawnkeeper: { delays: { pollInterval: 200 }, durability: 'normal', deleteGraceSeconds: 2 },
    });
    for (const name of ['sam', 'sue', 'sid', 'sal', 'sol', 'dee', 'nan']) await hub.call('POST', `${api}/users/${name}`);
  });
  afterAll(() => hub.close());
  const kubelet = () => hub.running.sim!.kubelet;

  it('starts with 201 when ready in time, refuses a second start with 400, and stops with 204, also when already stopped', async () => {
    const start = await hub.call('POST', `${api}/users/sam/server`);
    expect(start.status).toBe(201);
    expect(start.json).toMatchObject({
      name: '',
      ready: true,
      pending: null,
      stopped: false,
      url: '/user/sam/',
      progress_url: '/hub/api/users/sam/server/progress',
    });
    const again = await hub.call('POST', `${api}/users/sam/server`);
    expect(again.status).toBe(400);
    expect(again.json).toEqual({ status: 400, message: 'sam is already running' });
    expect((await hub.call('DELETE', `${api}/users/sam/server`)).status).toBe(204);
    const stopped = await hub.call('DELETE', `${api}/users/sam/server`);
    expect(stopped.status).toBe(204);
    expect(stopped.text).toBe('');
    // Each acknowledged stop is in the history; the second changed nothing.
    const top = (state: string) => state.split('.')[0];
    expect(
      hub.running.sk
        .history('sam')
        .filter((e) => e.type === 'server.stop')
        .map((e) => `${top(e.from)} → ${top(e.to)}`),
    ).toEqual(['running → stop_pending', 'stopped → stopped']);
  });

  it('answers 202 for a slow start and 202 again for a start while the spawn is pending', async () => {
    kubelet().setDelays({ readyMs: 1_500 });
    try {
      const first = await hub.call('POST', `${api}/users/sue/server`);
      expect(first.status).toBe(202);
      expect(first.json).toMatchObject({ pending: 'spawn', ready: false });
      expect((await hub.call('POST', `${api}/users/sue/server`)).status).toBe(202);
      const user = (await hub.call('GET', `${api}/users/sue`)).json as Json;
      expect(user['pending']).toBe('spawn');
      await waitFor('sue running', () => (hub.running.sk.get('sue')?.ready === true ? true : undefined));
    } finally {
      kubelet().setDelays({ readyMs: FAST_KUBELET.readyMs });
    }
    const types = hub.running.sk.history('sue').filter((e) => e.type === 'server.start');
    expect(types).toHaveLength(2);
  });

  it('cancels a pending spawn on DELETE, and the server ends stopped', async () => {
    kubelet().setDelays({ readyMs: 5_000 });
    try {
      expect((await hub.call('POST', `${api}/users/sid/server`)).status).toBe(202);
      const stop = await hub.call('DELETE', `${api}/users/sid/server`);
      expect([202, 204]).toContain(stop.status);
      await waitFor('sid stopped', () => (hub.running.sk.get('sid')?.state === 'stopped' ? true : undefined));
    } finally {
      kubelet().setDelays({ readyMs: FAST_KUBELET.readyMs });
    }
    expect(hub.running.sim!.pods().some((p) => p.metadata.name === 'jupyter-sid')).toBe(false);
  });

  it('answers 202 (not 400) to DELETE and POST while a stop is pending, and runs the queued start after it', async () => {
    expect((await hub.call('POST', `${api}/users/sal/server`)).status).toBe(201);
    kubelet().setDelays({ stopMs: 1_500 });
    try {
      expect((await hub.call('DELETE', `${api}/users/sal/server`)).status).toBe(202);
      expect(hub.running.sk.get('sal')?.pending).toBe('stop');
      const again = await hub.call('DELETE', `${api}/users/sal/server`);
      expect(again.status).toBe(202);
      const queued = await hub.call('POST', `${api}/users/sal/server`);
      expect(queued.status).toBe(202);
      expect(hub.running.sk.get('sal')?.startQueued).toBe(true);
    } finally {
      kubelet().setDelays({ stopMs: FAST_KUBELET.stopMs });
    }
    await waitFor('sal running again', () => (hub.running.sk.get('sal')?.ready === true ? true : undefined));
    const states = hub.running.sk.history('sal').map((e) => e.to.split('.')[0]);
    expect(states.lastIndexOf('spawn_pending')).toBeGreaterThan(states.indexOf('stop_pending'));
  });

  it('starts, lists and removes a named server', async () => {
    const start = await hub.call('POST', `${api}/users/sol/servers/lab`, { body: { profile: 'small' } });
    expect(start.status).toBe(201);
    expect(start.json).toMatchObject({
      name: 'lab',
      full_name: 'sol/lab',
      url: '/user/sol/lab/',
      user_options: { profile: 'small' },
      progress_url: '/hub/api/users/sol/servers/lab/progress',
    });
    const user = (await hub.call('GET', `${api}/users/sol`)).json as { servers: Record<string, Json> };
    expect(Object.keys(user.servers)).toEqual(['lab']);
    const removed = await hub.call('DELETE', `${api}/users/sol/servers/lab`, { body: { remove: true } });
    expect(removed.status).toBe(204);
    const after = (await hub.call('GET', `${api}/users/sol?include_stopped_servers=1`)).json as { servers: Record<string, Json> };
    expect(after.servers['lab']).toBeUndefined();
    expect((await hub.call('DELETE', `${api}/users/sol/servers/lab`)).status).toBe(404);
    expect((await hub.call('DELETE', `${api}/users/sol/servers/never`)).status).toBe(404);
  });

  it('keeps a stopped named server in the model with include_stopped_servers until it is removed', async () => {
    expect((await hub.call('POST', `${api}/users/sol/servers/keep`)).status).toBe(201);
    expect((await hub.call('DELETE', `${api}/users/sol/servers/keep`)).status).toBe(204);
    const plain = (await hub.call('GET', `${api}/users/sol`)).json as { servers: Record<string, Json> };
    expect(plain.servers['keep']).toBeUndefined();
    const all = (await hub.call('GET', `${api}/users/sol?include_stopped_servers`)).json as { servers: Record<string, Json> };
    expect(all.servers['keep']).toMatchObject({ stopped: true, ready: false, pending: null });
    expect((await hub.call('DELETE', `${api}/users/sol/servers/keep`, { body: { remove: true } })).status).toBe(204);
  });

  it('deletes a user whose servers take long to stop with 202, and removes it once they have', async () => {
    expect((await hub.call('POST', `${api}/users/dee/server`)).status).toBe(201);
    expect((await hub.call('POST', `${api}/users/dee/servers/two`)).status).toBe(201);
    kubelet().setDelays({ stopMs: 1_500 });
    try {
      const r = await hub.call('DELETE', `${api}/users/dee`);
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({ name: 'dee', deleting: true });
      expect((await hub.call('DELETE', `${api}/users/dee`)).status).toBe(202);
      expect((await hub.call('POST', `${api}/users/dee/server`)).status).toBe(400);
    } finally {
      kubelet().setDelays({ stopMs: FAST_KUBELET.stopMs });
    }
    await waitFor('dee removed', async () => ((await hub.call('GET', `${api}/users/dee`)).status === 404 ? true : undefined));
    expect(hub.running.sk.get('dee')?.state).toBe('stopped');
    expect(hub.running.sk.history('dee', 'two').length).toBeGreaterThan(0);
  });

  it('answers 500 with the reason when a spawn fails before slow_spawn_timeout', async () => {
    const slow = await startTestHub({ slowSpawnTimeout: 5 });
    try {
      await slow.call('POST', `${api}/users/nan`);
      slow.running.sim!.kubelet.failPod('jupyter-nan', { kind: 'imagePull' });
      const r = await slow.call('POST', `${api}/users/nan/server`);
      expect(r.status).toBe(500);
      expect((r.json as Json)['message']).toMatch(/^Spawn failed: /);
      await waitFor('nan failed', () => (slow.running.sk.get('nan')?.state === 'failed' ? true : undefined));
      const model = (await slow.call('GET', `${api}/users/nan?include_stopped_servers`)).json as { servers: Record<string, Json> };
      expect(model.servers['']).toMatchObject({ stopped: true, ready: false, spawnkeeper: { state: 'failed' } });
    } finally {
      await slow.close();
    }
  });
});

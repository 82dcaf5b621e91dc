import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from './hub-helpers.js';
import { ADMIN, startTestHub } from './hub-helpers.js';

type Json = Record<string, unknown>;
type Page = {
  items: Json[];
  _pagination: { offset: number; limit: number; total: number; next: { offset: number; limit: number; url: string } | null };
};
const api = '/hub/api';
const PAGED = { Accept: 'application/jupyterhub-pagination+json' };

/** rawGet sends a GET with headers fetch would not let through (Host), as a proxy in front of the hub does. */
function rawGet(url: string, path: string, headers: Record<string, string>): Promise<{ status: number; json: unknown }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('JupyterHub 5 behaviour of the users API', () => {
  let hub: TestHub;
  const names = (r: { json: unknown }) => ((Array.isArray(r.json) ? r.json : (r.json as Page).items) as Json[]).map((u) => u['name']);
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it("lower-cases user names, as JupyterHub's default authenticator, wherever a name comes in", async () => {
    const one = await hub.call('POST', `${api}/users/Alice`);
    expect(one.status).toBe(201);
    expect((one.json as Json)['name']).toBe('alice');
    expect((await hub.call('GET', `${api}/users/ALICE`)).json).toMatchObject({ name: 'alice' });
    const bulk = await hub.call('POST', `${api}/users`, { body: { usernames: ['Bob', 'bob', 'CAROL'] } });
    expect(names(bulk)).toEqual(['bob', 'carol']);
    const invalid = await hub.call('POST', `${api}/users`, { body: { usernames: ['dave', 'has space'] } });
    expect(invalid.status).toBe(400);
    expect((invalid.json as Json)['message']).toBe('Invalid username: "has space"');
    expect((await hub.call('GET', `${api}/users/dave`)).status).toBe(404);
  });

  it('renames a user with PATCH, its tokens and stopped servers with it, and refuses a taken name or an active server', async () => {
    await hub.call('POST', `${api}/users/ren`);
    const token = ((await hub.call('POST', `${api}/users/ren/tokens`, { body: {} })).json as { token: string }).token;
    expect((await hub.call('POST', `${api}/users/ren/servers/keep`)).status).toBe(201);
    const busy = await hub.call('PATCH', `${api}/users/ren`, { body: { name: 'renamed' } });
    expect(busy.status).toBe(400);
    expect((busy.json as Json)['message']).toBe('Cannot rename ren while a server is active: stop its servers first');
    expect((await hub.call('DELETE', `${api}/users/ren/servers/keep`)).status).toBe(204);
    expect((await hub.call('PATCH', `${api}/users/ren`, { body: { name: 'alice' } })).status).toBe(400);
    const r = await hub.call('PATCH', `${api}/users/ren`, { body: { name: 'Renamed', admin: true } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: 'renamed', admin: true, roles: ['admin', 'user'] });
    expect((await hub.call('GET', `${api}/users/ren`)).status).toBe(404);
    expect(((await hub.call('GET', `${api}/user`, { token })).json as Json)['name']).toBe('renamed');
    expect(((await hub.call('GET', `${api}/users/renamed?include_stopped_servers`)).json as { servers: Json }).servers).toHaveProperty(
      'keep',
    );
    expect((await hub.call('PATCH', `${api}/users/renamed`, { body: {} })).status).toBe(400);
    expect((await hub.call('PATCH', `${api}/users/renamed`, { body: { colour: 'red' } })).status).toBe(400);
    expect((await hub.call('PATCH', `${api}/users/renamed`, { body: { admin: 'yes' } })).status).toBe(400);
  });

  it('sorts by id, name and last_activity in both directions (no activity first ascending), filters by name, and refuses another sort', async () => {
    await hub.call('POST', `${api}/users`, { body: { usernames: ['s-c', 's-a', 's-b'] } });
    await hub.call('POST', `${api}/users/s-c/activity`, { body: { last_activity: '2024-01-02T00:00:00Z' } });
    await hub.call('POST', `${api}/users/s-a/activity`, { body: { last_activity: '2024-01-01T00:00:00Z' } });
    const get = (q: string) => hub.call('GET', `${api}/users?name_filter=S-&${q}`);
    expect(names(await get(''))).toEqual(['s-c', 's-a', 's-b']);
    expect(names(await get('sort=name'))).toEqual(['s-a', 's-b', 's-c']);
    expect(names(await get('sort=-name'))).toEqual(['s-c', 's-b', 's-a']);
    expect(names(await get('sort=last_activity'))).toEqual(['s-b', 's-a', 's-c']);
    expect(names(await get('sort=-last_activity'))).toEqual(['s-c', 's-a', 's-b']);
    const bogus = await get('sort=bogus');
    expect(bogus.status).toBe(400);
    expect((bogus.json as Json)['message']).toBe("sort must be 'id', 'name', or 'last_activity', not 'bogus'");
  });

  it('pages 50 at a time for a client that accepts pages and up to 200 for one that does not, with next.url behind a TLS proxy', async () => {
    const many = Array.from({ length: 55 }, (_, i) => `p-${String(i).padStart(2, '0')}`);
    await hub.call('POST', `${api}/users`, { body: { usernames: many } });
    const first = (await hub.call('GET', `${api}/users?name_filter=p-`, { headers: PAGED })).json as Page;
    expect(first.items).toHaveLength(50);
    expect(first._pagination).toMatchObject({ offset: 0, limit: 50, total: 55, next: { offset: 50, limit: 50 } });
    expect(names(await hub.call('GET', `${api}/users?name_filter=p-`))).toHaveLength(55);
    expect(((await hub.call('GET', `${api}/users?limit=0`, { headers: PAGED })).json as Page)._pagination.limit).toBe(1);
    expect(((await hub.call('GET', `${api}/users?limit=5000`, { headers: PAGED })).json as Page)._pagination.limit).toBe(200);
    const proxied = await rawGet(hub.url, `${api}/users?name_filter=p-&limit=20`, {
      ...PAGED,
      Authorization: `token ${ADMIN}`,
      Host: 'hub.example.org',
      'X-Forwarded-Proto': 'https',
    });
    expect((proxied.json as Page)._pagination.next?.url).toBe('https://hub.example.org/hub/api/users?name_filter=p-&limit=20&offset=20');
    const plain = (await hub.call('GET', `${api}/users?name_filter=p-&limit=20&offset=20`, { headers: PAGED })).json as Page;
    expect(plain._pagination.next?.url).toBe(`${hub.url}/hub/api/users?name_filter=p-&limit=20&offset=40`);
  });

  it('answers 403 for tokens of an unknown user, and fills the note as JupyterHub does', async () => {
    const r = await hub.call('POST', `${api}/users/nobody/tokens`, { body: {} });
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ status: 403, message: 'User nobody not found or no permissions to generate tokens' });
    const own = (await hub.call('POST', `${api}/users/alice/tokens`, { body: {} })).json as { token: string; note: string };
    expect(own.note).toBe('Requested via api');
    const byUser = await hub.call('POST', `${api}/users/alice/tokens`, { token: own.token, body: { scopes: ['read:users!user'] } });
    expect((byUser.json as Json)['note']).toBe('Requested via api');
  });

  it('sets last_activity of the user and the server when a spawn begins and when a stop ends', async () => {
    await hub.call('POST', `${api}/users/act`);
    const t0 = Date.now();
    expect((await hub.call('POST', `${api}/users/act/server`)).status).toBe(201);
    const running = (await hub.call('GET', `${api}/users/act`)).json as { last_activity: string; servers: Record<string, Json> };
    const spawned = Date.parse(running.last_activity);
    expect(spawned).toBeGreaterThanOrEqual(t0 - 5);
    expect(running.servers['']?.['last_activity']).toBe(running.last_activity);
    expect(running.servers['']?.['started']).toBe(running.last_activity);
    expect((await hub.call('DELETE', `${api}/users/act/server`)).status).toBe(204);
    const stopped = (await hub.call('GET', `${api}/users/act?include_stopped_servers`)).json as {
      last_activity: string;
      servers: Record<string, Json>;
    };
    expect(Date.parse(stopped.last_activity)).toBeGreaterThan(spawned);
    expect(stopped.servers['']?.['last_activity']).toBe(stopped.last_activity);
    expect(stopped.servers['']?.['started']).toBeNull();
  });

  it('checks the whole activity body before writing any of it, and answers 200 with an empty body', async () => {
    await hub.call('POST', `${api}/users/act/servers/two`);
    const before = ((await hub.call('GET', `${api}/users/act?include_stopped_servers`)).json as Json)['last_activity'];
    const cases: Array<[unknown, number, string]> = [
      [undefined, 400, 'body must be a json dict'],
      [{}, 400, 'body must contain at least one of `last_activity` or `servers`'],
      [{ servers: [] }, 400, 'body must contain at least one of `last_activity` or `servers`'],
      [{ servers: { '': 'soon' } }, 400, 'servers must be a dict of the form {server_name: {last_activity: timestamp}}'],
      [{ last_activity: '2020-01-01T00:00:00Z', servers: { two: { last_activity: 'later' } } }, 400, 'Not a valid timestamp: "later"'],
      [{ last_activity: 12 }, 400, 'Not a valid timestamp: 12'],
    ];
    for (const [body, status, message] of cases) {
      const r = await hub.call('POST', `${api}/users/act/activity`, body === undefined ? {} : { body });
      expect(`${JSON.stringify(body)}: ${r.status} ${String((r.json as Json | undefined)?.['message'])}`).toBe(
        `${JSON.stringify(body)}: ${status} ${message}`,
      );
    }
    expect(((await hub.call('GET', `${api}/users/act?include_stopped_servers`)).json as Json)['last_activity']).toBe(before);
    expect((await hub.call('POST', `${api}/users/nobody/activity`, { body: { last_activity: '2020-01-01T00:00:00Z' } })).json).toEqual({
      status: 404,
      message: "No such user: 'nobody'",
    });
    const zoned = await hub.call('POST', `${api}/users/act/activity`, {
      body: { servers: { two: { last_activity: '2099-01-01T02:00:00+02:00'.replace('2099', String(new Date().getUTCFullYear() + 1)) } } },
    });
    expect(zoned.status).toBe(400); // a year ahead: refused
    const ok = await hub.call('POST', `${api}/users/act/activity`, {
      body: { servers: { two: { last_activity: '2024-06-01 12:00:00+02:00' } } },
    });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('');
    const two = ((await hub.call('GET', `${api}/users/act?include_stopped_servers`)).json as { servers: Record<string, Json> }).servers[
      'two'
    ];
    expect(String(two?.['last_activity']) >= '2024-06-01T10:00:00.000000Z').toBe(true);
    expect(((await hub.call('GET', `${api}/users/act?include_stopped_servers`)).json as Json)['last_activity']).toBe(before); // servers alone do not move the user's
  });

  it("shows a server's state only with admin:server_state, and whoami what the token may read of its owner", async () => {
    const reader = (
      (await hub.call('POST', `${api}/users/act/tokens`, { body: { scopes: ['read:servers!user'] } })).json as { token: string }
    ).token;
    const asReader = (await hub.call('GET', `${api}/users/act`, { token: reader })).json as Json;
    expect(Object.keys(asReader).sort()).toEqual(['admin', 'kind', 'name', 'servers']); // read:servers implies read:users:name
    expect((asReader['servers'] as Record<string, Json>)['two']).not.toHaveProperty('state');
    expect(((await hub.call('GET', `${api}/users/act`)).json as { servers: Record<string, Json> }).servers['two']?.['state']).toEqual({
      pod_name: 'jupyter-act--two',
      namespace: 'default',
    });
    const me = (await hub.call('GET', `${api}/user`, { token: reader })).json as Json;
    expect(Object.keys(me).sort()).toEqual(['admin', 'groups', 'kind', 'name', 'scopes', 'servers', 'session_id', 'token_id']);
    expect(me['scopes']).toEqual(['read:servers!user=act', 'read:users:name!user=act']);
  });

  it('answers OPTIONS on every known path without a token, and DELETE of a named server never started with 404', async () => {
    for (const path of [`${api}/users`, `${api}/users/alice/server`, `${api}/groups/x/users`, `${api}/user`]) {
      const r = await hub.call('OPTIONS', path, { token: null });
      expect(`${path} ${r.status} ${r.text}`).toBe(`${path} 200 `);
      expect(r.headers.get('allow')).toContain('OPTIONS');
    }
    expect((await hub.call('OPTIONS', `${api}/nothing`, { token: null })).status).toBe(404);
    const never = await hub.call('DELETE', `${api}/users/alice/servers/never`);
    expect(never.json).toEqual({ status: 404, message: "alice has no server named 'never'" });
    expect((await hub.call('DELETE', `${api}/users/alice/server`, { body: { remove: true } })).json).toEqual({
      status: 400,
      message: 'Cannot delete the default server',
    });
  });
});

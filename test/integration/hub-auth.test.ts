import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from './hub-helpers.js';
import { ADMIN, sinkLogger, startTestHub } from './hub-helpers.js';

type Json = Record<string, unknown>;
const api = '/hub/api';

describe('hub tokens and scopes', () => {
  let hub: TestHub;
  const minted: string[] = [];
  const revoked = new Set<string>();
  const mint = async (user: string, scopes: string[] | undefined, by = ADMIN): Promise<string> => {
    const r = await hub.call('POST', `${api}/users/${user}/tokens`, {
      token: by,
      body: scopes === undefined ? {} : { scopes, note: 'test' },
    });
    expect(r.status).toBe(201);
    const token = (r.json as { token: string }).token;
    minted.push(token);
    return token;
  };
  beforeAll(async () => {
    hub = await startTestHub();
    for (const name of ['alice', 'bob']) expect((await hub.call('POST', `${api}/users/${name}`)).status).toBe(201);
  });
  afterAll(() => hub.close());

  it('answers 401 without a token, with a wrong one, and with a malformed header', async () => {
    expect((await hub.call('GET', `${api}/users`, { token: null })).status).toBe(401);
    const wrong = await hub.call('GET', `${api}/users`, { token: 'not-a-real-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({ status: 401, message: 'Missing or invalid credentials.' });
    expect((await hub.call('GET', `${api}/users`, { token: null, headers: { Authorization: `Basic ${ADMIN}` } })).status).toBe(401);
    expect((await hub.call('GET', `${api}/users`, { token: null, headers: { Authorization: 'token' } })).status).toBe(401);
  });

  it('accepts both `token T` and `Bearer T`', async () => {
    expect((await hub.call('GET', `${api}/users`, { token: null, headers: { Authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
    expect((await hub.call('GET', `${api}/users`, { token: null, headers: { Authorization: `token ${ADMIN}` } })).status).toBe(200);
  });

  it('answers 403 on DELETE for a token without delete:servers, and lets one with it stop', async () => {
    const reader = await mint('alice', ['read:servers', 'servers!server=alice/']);
    expect((await hub.call('POST', `${api}/users/alice/server`, { token: reader })).status).toBe(201);
    const readOnly = await mint('alice', ['read:servers', 'read:users']);
    const denied = await hub.call('DELETE', `${api}/users/alice/server`, { token: readOnly });
    expect(denied.status).toBe(403);
    expect(denied.json).toEqual({ status: 403, message: 'Action is not authorized with current scopes; requires any of [delete:servers]' });
    const deleter = await mint('alice', ['delete:servers!user']);
    expect((await hub.call('DELETE', `${api}/users/alice/server`, { token: deleter })).status).toBe(204);
  });

  it('walks the scope matrix: each endpoint needs its JupyterHub scope, for the right user', async () => {
    const none = await mint('alice', ['read:groups:name']);
    const own = await mint('alice', undefined); // `self`
    const cases: Array<[string, string, string, unknown, number, number]> = [
      // method, path, what, body, status for `self` of alice, status for a token with no such scope;
      // a scope held only for other users is 404, as JupyterHub answers, so a token learns nothing of who exists
      ['GET', `${api}/users`, 'list:users', undefined, 403, 403],
      ['GET', `${api}/users/alice`, 'read:users', undefined, 200, 403],
      ['GET', `${api}/users/bob`, 'read:users (other user)', undefined, 404, 403],
      ['POST', `${api}/users/carol`, 'admin:users', undefined, 403, 403],
      ['DELETE', `${api}/users/bob`, 'delete:users', undefined, 403, 403],
      ['POST', `${api}/users/alice/activity`, 'users:activity', { last_activity: '2020-01-01T00:00:00Z' }, 200, 403],
      ['POST', `${api}/users/bob/server`, 'servers (other user)', undefined, 404, 403],
      ['POST', `${api}/users/alice/servers/matrix`, 'servers', undefined, 201, 403],
      ['GET', `${api}/users/alice/servers/matrix/progress`, 'read:servers', undefined, 200, 403],
      ['DELETE', `${api}/users/alice/servers/matrix`, 'delete:servers', undefined, 204, 403],
      ['GET', `${api}/users/alice/tokens`, 'read:tokens', undefined, 200, 403],
      ['GET', `${api}/users/bob/tokens`, 'read:tokens (other user)', undefined, 404, 403],
      ['GET', '/hub/metrics', 'read:metrics', undefined, 403, 403],
      ['GET', `${api}/info`, 'read:hub', undefined, 403, 403],
    ];
    const seen: string[] = [];
    for (const [method, path, what, body, forSelf, forNone] of cases) {
      const a = await hub.call(method, path, { token: own, body });
      const b = await hub.call(method, path, { token: none, body });
      seen.push(`${what}: self ${a.status}, none ${b.status}`);
      expect(`${what}: self ${a.status}, none ${b.status}`).toBe(`${what}: self ${forSelf}, none ${forNone}`);
    }
    expect(seen).toHaveLength(cases.length);
  });

  it('lists only the users a filtered list:users token may see', async () => {
    const token = await mint('alice', ['list:users!user=bob', 'read:users!user=bob']);
    const r = await hub.call('GET', `${api}/users`, { token });
    expect(r.status).toBe(200);
    expect((r.json as Json[]).map((u) => u['name'])).toEqual(['bob']);
  });

  it('never lets a token mint scopes it does not hold', async () => {
    const own = await mint('alice', undefined);
    const narrower = await hub.call('POST', `${api}/users/alice/tokens`, { token: own, body: { scopes: ['read:servers!user'] } });
    expect(narrower.status).toBe(201);
    minted.push((narrower.json as { token: string }).token);
    expect((await hub.call('POST', `${api}/users/alice/tokens`, { token: own, body: { scopes: ['admin:users'] } })).status).toBe(403);
    expect((await hub.call('POST', `${api}/users/bob/tokens`, { token: own, body: {} })).status).toBe(403);
    const unknown = await hub.call('POST', `${api}/users/alice/tokens`, { body: { scopes: ['be:root'] } });
    expect(unknown.status).toBe(400);
    expect((unknown.json as Json)['message']).toBe('Unknown scope(s): be:root');
  });

  it('lists tokens without their secrets, revokes one, and rejects it afterwards', async () => {
    const token = await mint('bob', ['read:users!user']);
    expect((await hub.call('GET', `${api}/users/bob`, { token })).status).toBe(200);
    const list = (await hub.call('GET', `${api}/users/bob/tokens`)).json as { api_tokens: Json[] };
    expect(JSON.stringify(list)).not.toContain(token);
    const id = String(list.api_tokens.at(-1)?.['id']);
    expect((await hub.call('GET', `${api}/users/bob/tokens/${id}`)).status).toBe(200);
    expect((await hub.call('DELETE', `${api}/users/bob/tokens/${id}`)).status).toBe(204);
    revoked.add(token);
    expect((await hub.call('DELETE', `${api}/users/bob/tokens/${id}`)).status).toBe(404);
    expect((await hub.call('GET', `${api}/users/bob`, { token })).status).toBe(401);
  });

  it('rejects an expired token', async () => {
    const r = await hub.call('POST', `${api}/users/bob/tokens`, { body: { scopes: ['read:users!user'], expires_in: 1 } });
    expect(r.status).toBe(201);
    const token = (r.json as { token: string; expires_at: string }).token;
    expect((await hub.call('GET', `${api}/users/bob`, { token })).status).toBe(200);
    await new Promise((done) => setTimeout(done, 1_050));
    expect((await hub.call('GET', `${api}/users/bob`, { token })).status).toBe(401);
  });

  it('stores tokens only as sha256 digests and never writes a token to the logs', () => {
    const rows = hub.running.db.prepare('SELECT hash, prefix FROM tokens').all() as Array<{ hash: string; prefix: string }>;
    const hashes = new Set(rows.map((r) => r.hash));
    const dump = JSON.stringify(rows);
    for (const t of [ADMIN, ...minted]) {
      expect(hashes.has(createHash('sha256').update(t).digest('hex'))).toBe(!revoked.has(t));
      expect(dump).not.toContain(t);
    }
    const logs = hub.logs.join('\n');
    expect(hub.logs.length).toBeGreaterThan(0);
    for (const t of [ADMIN, ...minted]) expect(logs).not.toContain(t);
  });

  it('redacts tokens and Authorization headers that reach the logger', () => {
    const lines: string[] = [];
    const log = sinkLogger(lines);
    log.info({ token: 'secret-1', req: { headers: { authorization: 'token secret-2' } }, adminToken: 'secret-3' }, 'oops');
    log.child({ server: 'a/' }).info({ authorization: 'Bearer secret-4' }, 'child');
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toMatch(/secret-\d/);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ token: '[redacted]', req: { headers: { authorization: '[redacted]' } } });
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({ server: 'a/', authorization: '[redacted]' });
  });
});

import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from './hub-helpers.js';
import { ADMIN, startTestHub } from './hub-helpers.js';

const api = '/hub/api';

/** rawRequest sends exactly the bytes given (fetch would normalise the path), and reads the answer. */
function rawRequest(url: string, method: string, path: string, body?: Buffer, chunked = false): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string> = { Authorization: `token ${ADMIN}` };
    if (body !== undefined && !chunked) headers['Content-Length'] = String(body.length);
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) {
      if (chunked) for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
      else req.write(body);
    }
    req.end();
  });
}

describe('hub input validation', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ maxBodyBytes: 16 * 1024 });
    await hub.call('POST', `${api}/users/val`);
  });
  afterAll(() => hub.close());

  it('refuses bad user and server names with 400', async () => {
    for (const path of [
      `${api}/users/a%20b`,
      `${api}/users/%2F`,
      `${api}/users/ctl%00x`,
      `${api}/users/${'x'.repeat(300)}`,
      `${api}/users/val/servers/a%09b`,
    ]) {
      const r = await rawRequest(hub.url, 'POST', path);
      expect(`${path.slice(0, 40)} ${r.status}`).toBe(`${path.slice(0, 40)} 400`);
      expect(r.json).toMatchObject({ status: 400, message: expect.stringMatching(/invalid (user|server) name/) });
    }
  });

  it('refuses a path that is not valid percent-encoding with 400', async () => {
    const r = await rawRequest(hub.url, 'GET', `${api}/users/%E0%A4%A`);
    expect(r.status).toBe(400);
  });

  it('refuses bad JSON, a body that is not an object and fields of the wrong type with 400', async () => {
    const bad = await hub.call('POST', `${api}/users/val/server`, { raw: '{"profile": ' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ status: 400, message: 'Invalid JSON in body' });
    expect((await hub.call('POST', `${api}/users/val/server`, { raw: '[1,2]' })).status).toBe(400);
    expect((await hub.call('POST', `${api}/users/another`, { body: { admin: 'yes' } })).status).toBe(400);
    expect((await hub.call('DELETE', `${api}/users/val/servers/x`, { body: { remove: 'yes' } })).status).toBe(400);
    expect((await hub.call('POST', `${api}/users`, { body: { usernames: 'val' } })).status).toBe(400);
    expect((await hub.call('POST', `${api}/users/val/activity`, { body: { servers: [] } })).status).toBe(400);
    expect((await hub.call('POST', `${api}/users/val/tokens`, { body: { scopes: 'servers' } })).status).toBe(400);
    expect((await hub.call('POST', `${api}/users/val/tokens`, { body: { expires_in: -5 } })).status).toBe(400);
  });

  it('refuses oversized bodies with 413, whether their length is declared or chunked', async () => {
    const big = Buffer.from(JSON.stringify({ pad: 'x'.repeat(64 * 1024) }));
    const declared = await rawRequest(hub.url, 'POST', `${api}/users/val/server`, big);
    expect(declared.status).toBe(413);
    expect(declared.json).toMatchObject({ status: 413 });
    const chunked = await rawRequest(hub.url, 'POST', `${api}/users/val/server`, big, true);
    expect(chunked.status).toBe(413);
    expect(hub.running.sk.get('val')).toBeUndefined();
  });

  it('answers 431 to request headers larger than Node accepts', async () => {
    const res = await fetch(`${hub.url}${api}/users`, { headers: { Authorization: `token ${ADMIN}`, 'X-Pad': 'x'.repeat(20_000) } });
    expect(res.status).toBe(431);
    expect((await hub.call('GET', '/hub/health', { token: null })).status).toBe(200);
  });

  it('never answers 5xx to malformed requests', async () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const methods = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS'];
    const paths = [
      `${api}/users/val`,
      `${api}/users/val/server`,
      `${api}/users/val/servers/%ff`,
      `${api}/users/val/activity`,
      `${api}/users`,
      `${api}/users/val/tokens`,
      `${api}/users/val/tokens/zz`,
      `${api}/users/val/server/progress`,
      '/hub/health',
      '/hub/metrics',
      `${api}/users/%`,
      '/x/../hub/api',
      `${api}/users/val/servers/`,
    ];
    const bodies = [
      '',
      '{',
      'null',
      '"s"',
      '{"remove":1}',
      '{"last_activity":5}',
      '{"servers":{"":{}}}',
      '{"usernames":[1]}',
      '{"scopes":["x!y"]}',
      '\u0000\u0001',
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const method = methods[rnd(methods.length)] ?? 'GET';
      const path = paths[rnd(paths.length)] ?? '/';
      const body = method === 'GET' || method === 'HEAD' ? undefined : Buffer.from(bodies[rnd(bodies.length)] ?? '');
      const r = await rawRequest(hub.url, method, path, body);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      expect(`${method} ${path} → ${r.status}`).not.toMatch(/→ 5\d\d$/);
    }
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
    expect((await hub.call('GET', '/hub/health')).status).toBe(200);
  });
});

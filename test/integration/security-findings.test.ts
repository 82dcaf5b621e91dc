import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig, parseArgs } from '../../src/hub/config.js';
import { startHub } from '../../src/hub/serve.js';
import { tempDir } from '../support/harness.js';
import type { TestHub } from './hub-helpers.js';
import { ADMIN, FAST_KUBELET, TEST_ENGINE, sinkLogger, startTestHub, waitFor } from './hub-helpers.js';

/**
 * One test per finding of the security review (docs/security.md lists them). Each was run against
 * the code before its fix and failed there; each now holds. The deeper tests of every defence live
 * beside the code they test; these are the attacks as an attacker would send them.
 */

type Json = Record<string, unknown>;
const api = '/hub/api';
const BIN = fileURLToPath(new URL('../../bin/spawnkeeper.mjs', import.meta.url));

/** raw sends exactly the given path and body bytes (fetch would normalise `..` and encodings). */
function raw(
  url: string,
  method: string,
  path: string,
  options: { token?: string | null; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const token = options.token === undefined ? ADMIN : options.token;
    const headers: Record<string, string> = token === null ? {} : { Authorization: `token ${token}` };
    if (options.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
    const req = request({ host: u.hostname, port: u.port, method, path, headers, timeout: options.timeoutMs ?? 10_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`no complete answer to ${method} ${path} within ${options.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** nested is a JSON text `depth` arrays deep. */
function nested(depth: number): string {
  return `{"profile": ${'['.repeat(depth)}1${']'.repeat(depth)}}`;
}

/** streamEnds opens a server-sent-event stream and resolves to whether it ended within `ms`. */
async function streamEnds(url: string, token: string, ms: number, after: () => Promise<void>): Promise<boolean> {
  const res = await fetch(url, { headers: { Authorization: `token ${token}` } });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  await reader.read(); // the stream is open and has sent its first frame
  await after();
  const ended = (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true }));
      if (chunk.done) return true;
    }
  })();
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref());
  const result = await Promise.race([ended, timeout]);
  await reader.cancel().catch(() => undefined);
  return result;
}

describe('security review findings', () => {
  let hub: TestHub;
  const mint = async (user: string, body: Json = {}, by = ADMIN): Promise<{ token: string; model: Json }> => {
    const r = await hub.call('POST', `${api}/users/${user}/tokens`, { token: by, body });
    expect(r.status).toBe(201);
    return { token: (r.json as { token: string }).token, model: r.json as Json };
  };
  beforeAll(async () => {
    hub = await startTestHub({ slowSpawnTimeout: 0.05, slowStopTimeout: 0.05 });
    for (const name of ['alice', 'bob']) expect((await hub.call('POST', `${api}/users/${name}`)).status).toBe(201);
  });
  afterAll(() => hub.close());

  it('finding 1: user_options nested thousands deep are refused, and the user list keeps answering for everyone', async () => {
    const { token } = await mint('alice');
    const attack = await raw(hub.url, 'POST', `${api}/users/alice/servers/deep`, { token, body: nested(4_000) });
    expect(attack.status).toBe(400);
    expect(attack.text).toMatch(/nested/);
    for (const path of [
      `${api}/users`,
      `${api}/users?state=active`,
      `${api}/users/alice`,
      `${api}/users/alice?include_stopped_servers=1`,
    ]) {
      expect(`${path} ${(await hub.call('GET', path)).status}`).toBe(`${path} 200`);
    }
    expect(hub.running.db.prepare("SELECT COUNT(*) AS n FROM user_servers WHERE name = 'deep'").get()).toEqual({ n: 0 });
  });

  it('finding 2: expires_in must be a positive whole number within the maximum, and a child token never outlives its parent', async () => {
    for (const expires of [1e13, 0.5, -1, 0, true, '60', 1e308]) {
      const r = await hub.call('POST', `${api}/users/bob/tokens`, { body: { expires_in: expires } });
      expect(`${JSON.stringify(expires)} → ${r.status}`).toBe(`${JSON.stringify(expires)} → 400`);
    }
    expect((await hub.call('GET', `${api}/users/bob/tokens`)).status).toBe(200);
    const parent = await mint('bob', { expires_in: 60 });
    const parentEnd = Date.parse(String(parent.model['expires_at']));
    const child = await mint('bob', { scopes: ['read:users!user'] }, parent.token);
    const longer = await mint('bob', { scopes: ['read:users!user'], expires_in: 86_400 }, parent.token);
    for (const t of [child, longer]) {
      expect(t.model['expires_at']).not.toBeNull();
      expect(Date.parse(String(t.model['expires_at']))).toBeLessThanOrEqual(parentEnd);
    }
  });

  it('finding 3: the generated admin token goes to a 0600 file, never to the logs; admin tokens are listed, expire, are revoked, and a configured one replaces it', async () => {
    const tmp = tempDir('spawnkeeper-sec-');
    const logs: string[] = [];
    const config = { db: `${tmp.dir}/data/hub.db`, port: 0, sim: { kubelet: FAST_KUBELET }, spawnkeeper: TEST_ENGINE };
    try {
      let running = await startHub(config, { logger: sinkLogger(logs) });
      const file = `${tmp.dir}/data/admin-token`;
      let generated = '';
      try {
        expect(existsSync(file)).toBe(true);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        generated = readFileSync(file, 'utf8').trim();
        expect(generated).toMatch(/^[0-9a-f]{64}$/);
        expect(logs.join('\n')).not.toContain(generated);
        const as = (token: string) => ({ Authorization: `token ${token}` });
        const list = await fetch(`${running.url}${api}/spawnkeeper/tokens`, { headers: as(generated) });
        expect(list.status).toBe(200);
        const tokens = ((await list.json()) as { tokens: Json[] }).tokens;
        expect(tokens.filter((t) => t['user'] === null && t['source'] === 'generated')).toHaveLength(1);
        expect(JSON.stringify(tokens)).not.toContain(generated);
        const minted = await fetch(`${running.url}${api}/spawnkeeper/tokens`, {
          method: 'POST',
          headers: as(generated),
          body: JSON.stringify({ expires_in: 1, note: 'short' }),
        });
        expect(minted.status).toBe(201);
        const short = (await minted.json()) as { token: string; id: string; expires_at: string | null };
        expect(short.expires_at).not.toBeNull();
        expect((await fetch(`${running.url}${api}/users`, { headers: as(short.token) })).status).toBe(200);
        await new Promise((r) => setTimeout(r, 1_100));
        expect((await fetch(`${running.url}${api}/users`, { headers: as(short.token) })).status).toBe(401);
        const second = (await (
          await fetch(`${running.url}${api}/spawnkeeper/tokens`, { method: 'POST', headers: as(generated), body: '{}' })
        ).json()) as { token: string; id: string };
        expect(
          (await fetch(`${running.url}${api}/spawnkeeper/tokens/${second.id}`, { method: 'DELETE', headers: as(generated) })).status,
        ).toBe(204);
        expect((await fetch(`${running.url}${api}/users`, { headers: as(second.token) })).status).toBe(401);
      } finally {
        await running.close();
      }
      running = await startHub({ ...config, adminToken: ADMIN }, { logger: sinkLogger(logs) });
      try {
        expect((await fetch(`${running.url}${api}/users`, { headers: { Authorization: `token ${generated}` } })).status).toBe(401);
        expect((await fetch(`${running.url}${api}/users`, { headers: { Authorization: `token ${ADMIN}` } })).status).toBe(200);
      } finally {
        await running.close();
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('finding 4: activity from further ahead than the allowed skew is refused, so the server stays cullable', async () => {
    const before = (await hub.call('GET', `${api}/users/alice`)).json as Json;
    const r = await hub.call('POST', `${api}/users/alice/activity`, { body: { last_activity: '9999-12-31T00:00:00Z' } });
    expect(r.status).toBe(400);
    expect(((await hub.call('GET', `${api}/users/alice`)).json as Json)['last_activity']).toBe(before['last_activity']);
    const now = new Date().toISOString();
    expect((await hub.call('POST', `${api}/users/alice/activity`, { body: { last_activity: now } })).status).toBe(200);
  });

  it('finding 5a: a token with admin:users for some users creates neither admins nor users outside its filter', async () => {
    const { token } = await mint('alice', { scopes: ['admin:users!user=alice', 'admin:users!user=newbie'] });
    const one = await hub.call('POST', `${api}/users/newbie`, { token, body: { admin: true } });
    expect(one.status).toBe(403);
    expect(one.json).toEqual({ status: 403, message: 'Only admins can grant admin permissions' });
    expect((await hub.call('POST', `${api}/users`, { token, body: { usernames: ['newbie'], admin: true } })).status).toBe(403);
    expect((await hub.call('POST', `${api}/users`, { token, body: { usernames: ['mallory'] } })).status).toBe(403);
    expect((await hub.call('POST', `${api}/users`, { token, body: { usernames: ['mallory'], admin: true } })).status).toBe(403);
    for (const name of ['newbie', 'mallory']) expect(hub.running.hub.users.get(name)).toBeUndefined();
    expect((await hub.call('POST', `${api}/users/newbie`, { token })).status).toBe(201);
    expect(hub.running.hub.users.get('newbie')?.admin).toBe(false);
  });

  it('finding 5b: creating 3,000 users in one request is one commit', async () => {
    const db = hub.running.db;
    db.pragma('wal_autocheckpoint = 0');
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
      const usernames = Array.from({ length: 3_000 }, (_, i) => `bulk-${i}`);
      expect((await hub.call('POST', `${api}/users`, { body: { usernames } })).status).toBe(201);
      // Every commit appends at least one frame to the write-ahead log: fewer frames than users means fewer commits.
      const [wal] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
      expect(wal?.log).toBeLessThan(usernames.length / 10);
      expect(hub.running.hub.users.count()).toBeGreaterThanOrEqual(3_000);
    } finally {
      db.pragma('wal_autocheckpoint = 1000');
    }
  });

  it('finding 6: a live stream ends when its token is revoked, when it expires, and when its user is deleted', async () => {
    const stream = `${hub.url}${api}/spawnkeeper/stream`;
    const revoked = await mint('bob', { scopes: ['read:servers!user'] });
    const id = String(revoked.model['id']);
    expect(
      await streamEnds(stream, revoked.token, 4_000, async () => void (await hub.call('DELETE', `${api}/users/bob/tokens/${id}`))),
    ).toBe(true);
    const expiring = await mint('bob', { scopes: ['read:servers!user'], expires_in: 1 });
    expect(await streamEnds(stream, expiring.token, 4_000, async () => undefined)).toBe(true);
    expect((await hub.call('POST', `${api}/users/carol`)).status).toBe(201);
    const carol = await mint('carol', { scopes: ['read:servers!user'] });
    expect(await streamEnds(stream, carol.token, 4_000, async () => void (await hub.call('DELETE', `${api}/users/carol`)))).toBe(true);
  });

  it('finding 7: progress streams share one events watch, and HEAD on a progress URL answers at once', async () => {
    const sim = hub.running.sim!;
    const users = Array.from({ length: 12 }, (_, i) => `prog-${i}`);
    sim.kubelet.setDelays({ readyMs: 60_000 });
    const readers: Array<ReadableStreamDefaultReader<Uint8Array>> = [];
    try {
      expect((await hub.call('POST', `${api}/users`, { body: { usernames: users } })).status).toBe(201);
      for (const u of users) expect((await hub.call('POST', `${api}/users/${u}/server`)).status).toBe(202);
      const baseline = sim.cluster.openWatches();
      for (const u of users) {
        const res = await fetch(`${hub.url}${api}/users/${u}/server/progress`, { headers: { Authorization: `token ${ADMIN}` } });
        expect(res.status).toBe(200);
        const reader = res.body!.getReader();
        await reader.read();
        readers.push(reader);
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(sim.cluster.openWatches() - baseline).toBeLessThanOrEqual(1);
      const head = await raw(hub.url, 'HEAD', `${api}/users/prog-0/server/progress`, { timeoutMs: 3_000 });
      expect(head.status).toBe(200);
      expect(hub.running.sk.get('prog-0')?.state).toBe('spawn_pending');
    } finally {
      for (const r of readers) await r.cancel().catch(() => undefined);
      sim.kubelet.setDelays({ readyMs: FAST_KUBELET.readyMs });
    }
  });

  it('finding 8: names with lone surrogates, dot segments, bidi or zero-width controls, or mixed look-alike scripts are refused; names are NFC', async () => {
    for (const path of ['%2E%2E', '%2E', '%E2%80%AEnimda', '%E2%80%8Balice', '%D0%B0dmin', 'ali%E2%80%8Dce']) {
      const r = await raw(hub.url, 'POST', `${api}/users/${path}`);
      expect(`${path} → ${r.status}`).toBe(`${path} → 400`);
    }
    const lone = await raw(hub.url, 'POST', `${api}/users`, { body: '{"usernames": ["a\\ud800b"]}' });
    expect(lone.status).toBe(400);
    const users = (await hub.call('GET', `${api}/users`)).json as Json[];
    expect(users.map((u) => String(u['name'])).filter((n) => /\p{Cs}/u.test(n) || n === '..' || n === '.')).toEqual([]);
    const decomposed = await raw(hub.url, 'POST', `${api}/users/A%CC%8Asa`);
    expect(decomposed.status).toBe(201);
    expect((JSON.parse(decomposed.text) as Json)['name']).toBe('\u00e5sa'); // composed, then lower-cased as JupyterHub's authenticator does
    expect((await raw(hub.url, 'GET', `${api}/users/%C3%85sa`)).status).toBe(200);
  });

  it('finding 9: the data folder is 0700, the database files 0600, and a chosen admin token must have at least 32 characters', async () => {
    const tmp = tempDir('spawnkeeper-sec-');
    try {
      const running = await startHub(
        { db: `${tmp.dir}/data/hub.db`, port: 0, adminToken: ADMIN, sim: { kubelet: FAST_KUBELET }, spawnkeeper: TEST_ENGINE },
        { logger: sinkLogger([]) },
      );
      try {
        expect((statSync(`${tmp.dir}/data`).mode & 0o777).toString(8)).toBe('700');
        for (const f of ['hub.db', 'hub.db-wal', 'hub.db-shm'])
          expect(`${f} ${(statSync(`${tmp.dir}/data/${f}`).mode & 0o777).toString(8)}`).toBe(`${f} 600`);
      } finally {
        await running.close();
      }
    } finally {
      tmp.cleanup();
    }
    expect(() => resolveConfig({ args: parseArgs([]), env: { SPAWNKEEPER_ADMIN_TOKEN: 'abcd1234' } })).toThrow(/at least 32 characters/);
    expect(() => resolveConfig({ args: parseArgs([]), env: { SPAWNKEEPER_ADMIN_TOKEN: 'x'.repeat(31) } })).toThrow(
      /at least 32 characters/,
    );
    expect(resolveConfig({ args: parseArgs([]), env: { SPAWNKEEPER_ADMIN_TOKEN: ADMIN } }).adminToken).toBe(ADMIN);
    const row = hub.running.db.prepare("SELECT prefix FROM tokens WHERE source = 'env'").get() as { prefix: string };
    expect(ADMIN.startsWith(row.prefix) && row.prefix.length > 0).toBe(false);
  });

  it('finding 10: the inspector relay listens on 127.0.0.1, refuses other origins and viewers without its key, and a taken port leaves the hub serving', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as AddressInfo).port;
    const tmp = tempDir('spawnkeeper-sec-');
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--port', '0', '--db', `${tmp.dir}/hub.db`, '--inspect', '--inspect-port', String(taken)],
      {
        env: { ...process.env, SPAWNKEEPER_ADMIN_TOKEN: ADMIN, SPAWNKEEPER_LOG_LEVEL: 'warn', SPAWNKEEPER_LOG_FORMAT: 'json' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const url = await waitFor(
        'the hub and the inspector report',
        () => {
          if (child.exitCode !== null) throw new Error(`the hub exited ${child.exitCode}:\n${out}`);
          const m = /JupyterHub REST API at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          return m !== null && out.includes('inspector:') ? m[1] : undefined;
        },
        20_000,
      );
      expect(out).toMatch(new RegExp(`inspector: cannot listen on 127\\.0\\.0\\.1:${taken} .*the hub goes on without it`));
      expect((await fetch(`${url}/hub/health`)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      blocker.close();
      tmp.cleanup();
    }
    const { startInspection } = await import('../../src/hub/dashboard/inspection.js');
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), env: {} };
    const relay = await startInspection(hub.running.sk, { port: 0 }, io);
    try {
      expect(relay.address?.address).toBe('127.0.0.1');
      const page = new URL(relay.pageUrl ?? '');
      const key = page.searchParams.get('key') ?? '';
      expect(key.length).toBeGreaterThanOrEqual(32);
      expect((await fetch(`${page.origin}/`)).status).toBe(403);
      expect((await fetch(page)).status).toBe(200);
      const open = (url: string, origin: string) =>
        new Promise<number>((resolve) => {
          const ws = new WebSocket(url, { headers: { Origin: origin } });
          ws.once('open', () => {
            ws.close();
            resolve(101);
          });
          ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.once('error', () => resolve(0));
        });
      const viewer = `ws://127.0.0.1:${relay.address?.port}/view?key=${key}`;
      expect(await open(viewer, 'https://evil.example')).toBe(403);
      expect(await open(`ws://127.0.0.1:${relay.address?.port}/view?key=wrong`, page.origin)).toBe(403);
      expect(await open(viewer, page.origin)).toBe(101);
    } finally {
      relay.stop();
    }
  });

  it('finding 11a: logs redact Authorization in any case, nested request headers, token lists and ?token= in URLs', () => {
    const lines: string[] = [];
    const log = sinkLogger(lines);
    const err = Object.assign(new Error('call failed'), {
      config: { url: 'https://k8s/api?token=s-url-1&watch=1', headers: { Authorization: 'Bearer s-hdr-1' } },
    });
    log.warn({ err }, 'nested');
    log.info({ headers: { Authorization: 'token s-hdr-2', accept: 'x/y' } }, 'capital');
    log.info({ req: { headers: { authorization: 'token s-hdr-3' }, url: '/hub/api/users?token=s-url-2' } }, 'request');
    log.info({ tokens: ['s-list-1', 's-list-2'], items: [{ token: 's-list-3' }] }, 'arrays');
    log.info({ url: 'http://h/x?a=1&token=s-url-3' }, 'url');
    const text = lines.join('\n');
    expect(lines).toHaveLength(5);
    expect(text).not.toMatch(/s-(hdr|url|list)-\d/);
    expect(text).toContain('x/y');
    expect(text).toContain('watch=1');
    expect(text).toContain('a=1');
  });

  it('finding 11b: a request that is not complete within request_timeout gets 408', async () => {
    const slow = await startTestHub({ requestTimeout: 1 });
    try {
      const u = new URL(slow.url);
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        const socket = connect(Number(u.port), u.hostname, () =>
          socket.write(`POST ${api}/users/slow HTTP/1.1\r\nHost: x\r\nAuthorization: token ${ADMIN}\r\nContent-Length: 100\r\n\r\n{`),
        );
        socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
        socket.on('close', () => resolve(text));
        socket.on('error', () => resolve(text));
        setTimeout(() => socket.destroy(), 6_000).unref();
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      await slow.close();
    }
  });

  it('finding 11c: the public health body carries no error text; a read:hub token sees the details', async () => {
    const sick = await startTestHub({ unhealthyAfter: 0.2, spawnkeeper: { ...TEST_ENGINE, reflector: { backoffMaxMs: 100 } } });
    try {
      await sick.running.sim!.faults.refuseConnections();
      const down = await waitFor('503', async () => {
        const r = await sick.call('GET', '/hub/health', { token: null });
        return r.status === 503 ? r : undefined;
      });
      const lastError = sick.running.sk.health().reflector.lastError ?? 'no error recorded';
      expect(lastError).not.toBe('no error recorded');
      expect(down.text).not.toContain(lastError);
      expect(down.text).not.toMatch(/last error|ECONNREFUSED/i);
      expect(down.json).toMatchObject({ status: 'unhealthy' });
      const detailed = await sick.call('GET', '/hub/health');
      expect(detailed.status).toBe(503);
      expect(detailed.json).toMatchObject({ status: 'unhealthy', reason: expect.stringContaining('pod reflector') });
      expect(detailed.text).toContain('last error');
      // A user's dashboard view says the reflector is unhealthy, without the cluster's error text either.
      expect((await sick.call('POST', `${api}/users/dora`)).status).toBe(201);
      const own = ((await sick.call('POST', `${api}/users/dora/tokens`, { body: {} })).json as { token: string }).token;
      const view = await sick.call('GET', `${api}/spawnkeeper/servers`, { token: own });
      expect(view.status).toBe(200);
      expect(view.json).toMatchObject({ health: { reflector: { healthy: false } } });
      expect(view.text).not.toContain(lastError);
    } finally {
      await sick.running.sim!.faults.acceptConnections();
      await sick.close();
    }
  });
});

import { request } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TestHub } from '../integration/hub-helpers.js';
import { ADMIN, startTestHub } from '../integration/hub-helpers.js';

/**
 * REST fuzzing: random and mutated requests (methods, paths, names with odd characters, queries,
 * headers, tokens, bodies huge and malformed) against the real hub on loopback. No request may
 * crash it or get a 5xx, and a rejected request (4xx) must change nothing the hub keeps.
 */

const SERVICE_TOKEN = 'fuzz-service-token-0123';
const INPUTS = Number(process.env['FUZZ_REST_INPUTS'] ?? 10_000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20171229);
const BATCH = 25;

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

const odd = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('fz-a', 'fz-b', 'fz-c', 'named-1', 'fz-g', 'FZ-A') },
  fc.constantFrom('fz-a', 'fz-b', 'fz-c', 'admin', '', '.', '..', '%2F', '%2e%2e', 'a%00b', '%ff%fe', 'x'.repeat(300), 'name with space', 'ünïcødé', '😀', 'a/b', '%', '%zz'),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 8 }).map((s) => encodeURIComponent(s)),
);

const paths = fc.oneof(
  fc.constantFrom('/hub/api', '/hub/api/', '/hub/api/users', '/hub/api/info', '/hub/health', '/hub/api/health', '/hub/metrics', '/hub/api/spawnkeeper/servers', '/hub/api/spawnkeeper/machine', '/hub/dashboard', '/', '/hub', '/hub/api/users/'),
  fc.constantFrom('/hub/api/user', '/hub/api/groups', '/hub/api/services', '/hub/api/groups/fz-g', '/hub/api/services/fz-svc'),
  fc.tuple(odd).map(([g]) => `/hub/api/groups/${g}`),
  fc.tuple(odd).map(([g]) => `/hub/api/groups/${g}/users`),
  fc.tuple(odd).map(([g]) => `/hub/api/groups/${g}/properties`),
  fc.tuple(odd).map(([s]) => `/hub/api/services/${s}`),
  fc.tuple(odd).map(([u]) => `/hub/api/users/${u}`),
  fc.tuple(odd).map(([u]) => `/hub/api/users/${u}/server`),
  fc.tuple(odd, odd).map(([u, s]) => `/hub/api/users/${u}/servers/${s}`),
  fc.tuple(odd).map(([u]) => `/hub/api/users/${u}/server/progress`),
  fc.tuple(odd).map(([u]) => `/hub/api/users/${u}/activity`),
  fc.tuple(odd).map(([u]) => `/hub/api/users/${u}/tokens`),
  fc.tuple(odd, odd).map(([u, s]) => `/hub/api/spawnkeeper/history/${u}/${s}`),
  fc.array(odd, { maxLength: 6 }).map((segs) => `/${segs.join('/')}`),
);

const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?state=ready', '?state=active', '?state=inactive', '?state=nonsense', '?offset=-1', '?limit=0', '?limit=abc', '?offset=99999999999999999999', '?limit=1&offset=1', '?include_stopped_servers', '?%zz=1'),
  fc.constantFrom('?sort=name', '?sort=-last_activity', '?sort=bogus', '?sort=', '?name_filter=fz', '?limit=+1_0', '?offset= 2', '?limit=-5&offset=-0', '?state='),
  fc.string({ maxLength: 30 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
);

const auth = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Record<string, string>>({ Authorization: `token ${ADMIN}` }) },
  fc.constant<Record<string, string>>({ Authorization: `Bearer ${ADMIN}` }),
  fc.constant<Record<string, string>>({}),
  fc.constantFrom('token', 'token ', 'Bearer', 'Basic YWRtaW46YWRtaW4=', `token ${ADMIN}x`, `token ${ADMIN.slice(1)}`, 'token \u00e9', `tokens ${ADMIN}`).map((v) => ({ Authorization: v })),
  { weight: 2, arbitrary: fc.constant<Record<string, string>>({ Authorization: `token ${SERVICE_TOKEN}` }) },
  fc.string({ maxLength: 40 }).filter((v) => /^[\x20-\x7e]*$/.test(v)).map((v) => ({ Authorization: `token ${v}` })),
);

const body = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Buffer | undefined>(undefined) },
  { weight: 10, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))) },
  { weight: 10, arbitrary: fc.record({ remove: fc.anything({ maxDepth: 1 }), usernames: fc.anything({ maxDepth: 1 }), admin: fc.anything({ maxDepth: 1 }), scopes: fc.anything({ maxDepth: 1 }), last_activity: fc.anything({ maxDepth: 1 }), servers: fc.anything({ maxDepth: 2 }) }, { requiredKeys: [] }).map((v) => Buffer.from(JSON.stringify(v))) },
  { weight: 8, arbitrary: fc.record({ name: fc.oneof(fc.constantFrom('fz-a', 'fz-b', 'FZ-New', ''), fc.anything({ maxDepth: 1 })), groups: fc.oneof(fc.constant(['fz-g']), fc.anything({ maxDepth: 1 })), users: fc.oneof(fc.constant(['fz-a', 'nobody']), fc.anything({ maxDepth: 1 })), roles: fc.anything({ maxDepth: 1 }), admin: fc.anything({ maxDepth: 1 }) }, { requiredKeys: [] }).map((v) => Buffer.from(JSON.stringify(v))) },
  { weight: 3, arbitrary: fc.constantFrom('{"last_activity": "2020-01-01T00:00:00"}', '{"last_activity": "9999-12-31T23:59:59Z"}', '{"last_activity": "2020-02-31T00:00:00Z"}', '{"servers": {"": {"last_activity": "2020-01-01"}}}', '{"last_activity": 0}', '{"servers": []}').map((v) => Buffer.from(v)) },
  { weight: 5, arbitrary: fc.string({ maxLength: 100 }).map((s) => Buffer.from(`{${s}`)) },
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.integer({ min: 1_100_000, max: 1_500_000 }).map((n) => Buffer.alloc(n, 0x61)) },
);

const reqArb: fc.Arbitrary<Req> = fc
  .record({
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS', 'PATCH', 'PUT'), fc.stringMatching(/^[A-Z]{1,8}$/)),
    path: paths,
    query,
    headers: auth,
    contentType: fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'garbage/\u0001'.replace('\u0001', 'x')),
    accept: fc.constantFrom(undefined, 'application/jupyterhub-pagination+json', 'text/event-stream', '*/*'),
    body,
  })
  .map((r) => ({
    method: r.method,
    path: `${r.path}${r.query}`,
    headers: { ...r.headers, ...(r.contentType === undefined ? {} : { 'Content-Type': r.contentType }), ...(r.accept === undefined ? {} : { Accept: r.accept }) },
    body: r.body,
  }));

interface Answer {
  status: number;
  text: string;
}

function send(url: URL, r: Req): Promise<Answer> {
  return new Promise((resolve) => {
    let req;
    try {
      // A body always goes with its Content-Length: without it Node sends DELETE and GET bodies unframed,
      // the hub would read them as a second, malformed request and its 400 would answer for both.
      const headers = r.body === undefined ? r.headers : { ...r.headers, 'Content-Length': String(r.body.length) };
      req = request({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers, timeout: 60_000 }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text = (text + d.toString()).slice(0, 400)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, text }));
      });
    } catch {
      resolve({ status: -1, text: '' }); // Node refused to send it (an invalid header or path): nothing reached the hub
      return;
    }
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, text: '' }));
    req.end(r.body);
  });
}

/**
 * fingerprint is what a rejected request must not change: users, server records, tokens, groups,
 * commands. (Not last_activity: a spawn or stop that an earlier request began moves it when it
 * ends, at any moment; test/integration/hub-compat.test.ts checks that refused activity writes none.)
 */
function fingerprint(hub: TestHub, commands: number): string {
  const db = hub.running.db;
  const users = db.prepare('SELECT name, admin FROM users WHERE deleting = 0 ORDER BY name').all();
  const servers = db.prepare('SELECT u.name, s.name AS server FROM user_servers s JOIN users u ON u.id = s.user_id WHERE s.remove_pending = 0 AND u.deleting = 0 ORDER BY 1, 2').all();
  const tokens = db.prepare('SELECT hash, owner, service, scopes FROM tokens ORDER BY hash').all();
  const groups = db.prepare('SELECT g.name, g.properties, (SELECT group_concat(user_id) FROM group_members m WHERE m.group_id = g.id) AS members FROM groups g ORDER BY g.name').all();
  return JSON.stringify({ users, servers, tokens, groups, commands });
}

/** difference shows where two fingerprints part, briefly. */
function difference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `…${a.slice(Math.max(0, i - 60), i + 60)} → …${b.slice(Math.max(0, i - 60), i + 60)}`;
}

describe('fuzz: REST API', () => {
  it(`no request crashes the hub or gets a 5xx, and a rejected one changes nothing (${INPUTS} requests, seed ${SEED})`, async () => {
    const hub = await startTestHub({
      slowSpawnTimeout: 0.05,
      slowStopTimeout: 0.05,
      allowNamedServers: true,
      services: [{ name: 'fz-svc', api_token: SERVICE_TOKEN }],
      loadRoles: [{ name: 'fz-role', scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers', 'groups'], services: ['fz-svc'] }],
    });
    try {
      for (const u of ['fz-a', 'fz-b']) expect((await hub.call('POST', `/hub/api/users/${u}`)).status).toBe(201);
      expect((await hub.call('POST', '/hub/api/groups/fz-g', { body: { users: ['fz-a'] } })).status).toBe(201);
      const url = new URL(hub.url);
      let commands = 0; // server.start and server.stop events committed, counted as they commit
      hub.running.sk.runtime.subscribe((c) => {
        if (c.event.type === 'server.start' || c.event.type === 'server.stop') commands++;
      });
      const statuses = new Map<number, number>();
      let sent = 0;
      const details = await fc.check(
        fc.asyncProperty(fc.array(reqArb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          for (const r of batch) {
            const before = fingerprint(hub, commands);
            const { status, text } = await send(url, r);
            sent++;
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (status >= 500) throw new Error(`${r.method} ${r.path.slice(0, 120)} answered ${status}`);
            if (status === 0) {
              // The hub answered early and closed while a large body was still being sent (as servers do): it must still serve.
              const health = await hub.call('GET', '/hub/health', { token: null });
              if (health.status !== 200) throw new Error(`the hub stopped serving after ${r.method} ${r.path.slice(0, 120)} (${r.body?.length ?? 0} body bytes)`);
            }
            const after = fingerprint(hub, commands);
            if (status >= 400 && after !== before) {
              throw new Error(`${r.method} ${r.path.slice(0, 120)} was refused (${status} ${text}) but changed state: ${difference(before, after)}`);
            }
          }
        }),
        { numRuns: Math.ceil(INPUTS / BATCH), seed: SEED },
      );
      if (details.failed) {
        const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        throw new Error(`property failed (seed ${details.seed}, path ${details.counterexamplePath}): ${error.slice(0, 800)}`);
      }
      console.log(`fuzz: ${sent} REST requests; statuses ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
      expect(sent).toBeGreaterThanOrEqual(INPUTS);
      // Still serving: a real start and stop go through.
      await hub.call('POST', '/hub/api/users/fz-after');
      expect([201, 202]).toContain((await hub.call('POST', '/hub/api/users/fz-after/server')).status);
      await hub.running.sk.waitFor('fz-after', '', (s) => s.state === 'running', 60_000);
      expect((await hub.call('GET', '/hub/health', { token: null })).status).toBe(200);
    } finally {
      await hub.close();
    }
  }, 600_000);
});

import { Agent, request } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TestHub } from '../integration/hub-helpers.js';
import { ADMIN, startTestHub } from '../integration/hub-helpers.js';
import { internals } from '../../src/spawnkeeper.js';

/**
 * REST fuzzing: random and mutated requests (methods, paths, names with odd characters, queries,
 * headers, tokens of several strengths, bodies huge, deeply nested and malformed, numbers huge and
 * fractional, names with lone surrogates, invisible and control characters) against the real hub on
 * loopback. No request may crash it or get a 5xx, a rejected request (4xx) must change nothing the
 * hub keeps, and after every request `GET /users` as admin still answers 200 with a whole list.
 */

const SERVICE_TOKEN = 'fuzz-service-token-0123456789abcdef';
const INPUTS = Number(process.env['FUZZ_REST_INPUTS'] ?? 10_000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20171229);
const BATCH = 25;

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

/** ODD_SEGMENTS are path segments that have broken hubs: dot segments, invalid UTF-8 (a lone surrogate), bidi and zero-width controls, look-alikes, decomposed forms, control bytes. */
const ODD_SEGMENTS = [
  '%2E%2E',
  '%2E',
  '%ED%A0%80',
  'a%ED%B0%80b',
  '%E2%80%AEnimda',
  '%E2%80%8Bfz-a',
  'fz-%E2%80%8Da',
  '%D0%B0dmin',
  'A%CC%8Asa',
  '%C3%85sa',
  '%01',
  '%7F',
  'a%C2%A0b',
  '%EF%BB%BFfz-a',
];

const odd = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('fz-a', 'fz-b', 'fz-c', 'named-1', 'fz-g', 'FZ-A') },
  fc.constantFrom(
    'fz-a',
    'fz-b',
    'fz-c',
    'admin',
    '',
    '.',
    '..',
    '%2F',
    '%2e%2e',
    'a%00b',
    '%ff%fe',
    'x'.repeat(300),
    'name with space',
    'ünïcødé',
    '😀',
    'a/b',
    '%',
    '%zz',
  ),
  fc.constantFrom(...ODD_SEGMENTS),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 8 }).map((s) => encodeURIComponent(s)),
);

const paths = fc.oneof(
  fc.constantFrom(
    '/hub/api',
    '/hub/api/',
    '/hub/api/users',
    '/hub/api/info',
    '/hub/health',
    '/hub/api/health',
    '/hub/metrics',
    '/hub/api/spawnkeeper/servers',
    '/hub/api/spawnkeeper/machine',
    '/hub/dashboard',
    '/',
    '/hub',
    '/hub/api/users/',
  ),
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
  fc
    .tuple(odd, fc.constantFrom('a2', 'a3', 'a4', 'a5', '3', 'a999999', 'b1', '-1', 'a1e3'))
    .map(([u, id]) => `/hub/api/users/${u}/tokens/${id}`),
  fc.constantFrom(
    '/hub/api/spawnkeeper/tokens',
    '/hub/api/spawnkeeper/tokens/a999999',
    '/hub/api/spawnkeeper/tokens/zz',
    '/hub/api/spawnkeeper/stream',
  ),
  fc.tuple(odd, odd).map(([u, s]) => `/hub/api/spawnkeeper/history/${u}/${s}`),
  fc.array(odd, { maxLength: 6 }).map((segs) => `/${segs.join('/')}`),
);

const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    '?state=ready',
    '?state=active',
    '?state=inactive',
    '?state=nonsense',
    '?offset=-1',
    '?limit=0',
    '?limit=abc',
    '?offset=99999999999999999999',
    '?limit=1&offset=1',
    '?include_stopped_servers',
    '?%zz=1',
  ),
  fc.constantFrom(
    '?sort=name',
    '?sort=-last_activity',
    '?sort=bogus',
    '?sort=',
    '?name_filter=fz',
    '?limit=+1_0',
    '?offset= 2',
    '?limit=-5&offset=-0',
    '?state=',
  ),
  fc.string({ maxLength: 30 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
);

/** TOKENS are the fuzzer's credentials besides ADMIN: a user's own, a filtered admin:users one, one that expires during the run, a revoked one. */
const TOKENS: Record<'user' | 'filtered' | 'expiring' | 'revoked', string> = { user: '', filtered: '', expiring: '', revoked: '' };

const auth = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Record<string, string>>({ Authorization: `token ${ADMIN}` }) },
  fc.constant<Record<string, string>>({ Authorization: `Bearer ${ADMIN}` }),
  fc.constant<Record<string, string>>({}),
  {
    weight: 3,
    arbitrary: fc
      .constantFrom<keyof typeof TOKENS>('user', 'filtered', 'expiring', 'revoked')
      .map((k) => ({ Authorization: `token ${TOKENS[k]}` })),
  },
  fc
    .constantFrom(
      'token',
      'token ',
      'Bearer',
      'Basic YWRtaW46YWRtaW4=',
      `token ${ADMIN}x`,
      `token ${ADMIN.slice(1)}`,
      'token \u00e9',
      `tokens ${ADMIN}`,
    )
    .map((v) => ({ Authorization: v })),
  { weight: 2, arbitrary: fc.constant<Record<string, string>>({ Authorization: `token ${SERVICE_TOKEN}` }) },
  fc
    .string({ maxLength: 40 })
    .filter((v) => /^[\x20-\x7e]*$/.test(v))
    .map((v) => ({ Authorization: `token ${v}` })),
);

/** nested is a JSON value `depth` levels deep under `key`, as text (JSON.stringify itself would give up on the deepest). */
const nested = fc
  .tuple(
    fc.constantFrom('profile', 'usernames', 'scopes', 'servers', 'expires_in', 'last_activity', 'admin'),
    fc.integer({ min: 15, max: 6_000 }),
    fc.boolean(),
  )
  .map(([key, depth, objects]) =>
    Buffer.from(`{"${key}": ${(objects ? '{"a":' : '[').repeat(depth)}1${(objects ? '}' : ']').repeat(depth)}}`),
  );

/** numbers are the values that broke expires_in and friends: huge, fractional, negative zero, beyond a double, as JSON text. */
const numbers = fc
  .tuple(
    fc.constantFrom('expires_in', 'offset', 'limit', 'admin', 'remove', 'last_activity'),
    fc.oneof(
      fc.constantFrom(
        '1e13',
        '1e308',
        '1e400',
        '-1e400',
        '-0',
        '0.5',
        '1.0',
        '9007199254740993',
        '123456789012345678901234567890',
        '1e-400',
        '315360001',
        '315360000',
        '59',
        '3600',
      ),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc.integer().map(String),
    ),
  )
  .map(([key, n]) => Buffer.from(`{"${key}": ${n}}`));

/** names are bodies naming users and servers with lone surrogates, controls, invisible and look-alike characters. */
const nameChars = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.constantFrom(
    'a\ud800b',
    '\udfff',
    'fz-\u200ba',
    '\u202efz',
    '\u0430dmin',
    'A\u030asa',
    '..',
    '.',
    'x\u0000y',
    'tab\tbed',
    '\u007f',
    'ok-name',
  ),
);
const names = fc
  .oneof(
    fc.record({ usernames: fc.array(nameChars, { minLength: 1, maxLength: 5 }), admin: fc.boolean() }),
    fc.record({
      servers: fc.dictionary(
        nameChars,
        fc.record({
          last_activity: fc.constantFrom('2024-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', 'not a time'),
        }),
      ),
    }),
    fc.record({
      scopes: fc.array(
        fc.oneof(
          nameChars.map((n) => `servers!user=${n}`),
          fc.constantFrom('self', 'admin:users', 'read:users!user', 'servers!server=fz-a/\ud800'),
        ),
        { maxLength: 5 },
      ),
      expires_in: fc.oneof(fc.integer({ min: -5, max: 400_000_000 }), fc.constant(null)),
    }),
  )
  .map((v) => Buffer.from(JSON.stringify(v)));

/**
 * large are big values within and beyond the stored-value limit and the body limit (a long string,
 * or a long list of scopes); long lists of new user names stay out, as each would add thousands of
 * users and slow every later request without finding anything new.
 */
const large = fc.tuple(fc.integer({ min: 60_000, max: 300_000 }), fc.constantFrom('profile', 'note', 'scopes')).map(([size, key]) =>
  Buffer.from(
    JSON.stringify({
      [key]: key === 'scopes' ? Array.from({ length: Math.floor(size / 24) }, (_, i) => `servers!user=fz-${i}`) : 'x'.repeat(size),
    }),
  ),
);

const body = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Buffer | undefined>(undefined) },
  { weight: 10, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))) },
  {
    weight: 10,
    arbitrary: fc
      .record(
        {
          remove: fc.anything({ maxDepth: 1 }),
          usernames: fc.anything({ maxDepth: 1 }),
          admin: fc.anything({ maxDepth: 1 }),
          scopes: fc.anything({ maxDepth: 1 }),
          last_activity: fc.anything({ maxDepth: 1 }),
          servers: fc.anything({ maxDepth: 2 }),
          expires_in: fc.anything({ maxDepth: 1 }),
          note: fc.anything({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      )
      .map((v) => Buffer.from(JSON.stringify(v))),
  },
  { weight: 4, arbitrary: nested },
  { weight: 6, arbitrary: numbers },
  { weight: 8, arbitrary: names },
  { weight: 1, arbitrary: large },
  {
    weight: 8,
    arbitrary: fc
      .record(
        {
          name: fc.oneof(fc.constantFrom('fz-a', 'fz-b', 'FZ-New', ''), fc.anything({ maxDepth: 1 })),
          groups: fc.oneof(fc.constant(['fz-g']), fc.anything({ maxDepth: 1 })),
          users: fc.oneof(fc.constant(['fz-a', 'nobody']), fc.anything({ maxDepth: 1 })),
          roles: fc.anything({ maxDepth: 1 }),
          admin: fc.anything({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      )
      .map((v) => Buffer.from(JSON.stringify(v))),
  },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(
        '{"last_activity": "2020-01-01T00:00:00"}',
        '{"last_activity": "9999-12-31T23:59:59Z"}',
        '{"last_activity": "2020-02-31T00:00:00Z"}',
        '{"servers": {"": {"last_activity": "2020-01-01"}}}',
        '{"last_activity": 0}',
        '{"servers": []}',
      )
      .map((v) => Buffer.from(v)),
  },
  { weight: 5, arbitrary: fc.string({ maxLength: 100 }).map((s) => Buffer.from(`{${s}`)) },
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.integer({ min: 1_100_000, max: 1_500_000 }).map((n) => Buffer.alloc(n, 0x61)) },
);

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const user = fc.constantFrom('fz-a', 'fz-b', 'fz-new');
const strongAuth = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Record<string, string>>({ Authorization: `token ${ADMIN}` }) },
  fc.constantFrom<keyof typeof TOKENS>('user', 'filtered', 'expiring').map((k) => ({ Authorization: `token ${TOKENS[k]}` })),
);
const activityTime = fc.oneof(
  fc
    .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom(
    '9999-12-31T23:59:59Z',
    '+275760-09-13T00:00:00Z',
    '2024-13-45T00:00:00Z',
    '2024-01-01T00:00:00.123456789Z',
    '2024-01-01T00:00:00+14:00',
    '2024-01-01T00:00:00',
  ),
);

/** odds are values of every JSON type and the edges of numbers, for the fields of the `spawnkeeper` key. */
const odds = fc.oneof(
  fc.constantFrom(0, -1, 0.5, 1e-9, 1e308, -0, 65535, 65536, 2 ** 53, '1', '', null, true, [], {}),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.anything({ maxDepth: 2 }),
);

/**
 * spawnBody is a start body with the reserved `spawnkeeper` key (env, resources, port, args) and a
 * profile, each field well formed or not: only an admin:servers token may send it, a bad field is
 * 400, and nothing about the server changes unless the start is accepted.
 */
const envName = fc.oneof(
  fc.constantFrom('A', 'JUPYTERHUB_API_TOKEN', '.', '..', '..x', '_a.b-c', '1X', 'A B', 'A=B', '-x'),
  fc.string({ maxLength: 8 }),
);
const wellFormed = fc.record(
  {
    env: fc.dictionary(envName, fc.string({ maxLength: 40 }), { maxKeys: 4 }),
    resources: fc.record(
      {
        cpu_limit: fc.double({ min: 0.001, max: 64, noNaN: true }),
        cpu_guarantee: fc.double({ min: 0.001, max: 64, noNaN: true }),
        mem_limit: fc.integer({ min: 1, max: 2 ** 40 }),
        mem_guarantee: fc.integer({ min: 1, max: 2 ** 40 }),
      },
      { requiredKeys: [] },
    ),
    port: fc.integer({ min: 1, max: 65535 }),
    args: fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }),
  },
  { requiredKeys: [] },
);
const wild = fc.record(
  {
    env: fc.oneof(fc.dictionary(envName, fc.oneof(fc.string({ maxLength: 40 }), odds), { maxKeys: 4 }), odds),
    resources: fc.oneof(
      fc.record({ cpu_limit: odds, cpu_guarantee: odds, mem_limit: odds, mem_guarantee: odds }, { requiredKeys: [] }),
      fc.dictionary(fc.string({ maxLength: 12 }), odds, { maxKeys: 2 }),
      odds,
    ),
    port: fc.oneof(fc.integer({ min: -2, max: 70_000 }), odds),
    args: fc.oneof(fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }), fc.array(odds, { maxLength: 3 }), odds),
    other: odds,
  },
  { requiredKeys: [] },
);
const spawnBody = fc
  .record(
    {
      profile: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('fz-small', 'fz-big') }, fc.constantFrom('fz-none', ''), odds),
      spawnkeeper: fc.oneof({ weight: 5, arbitrary: wellFormed }, { weight: 3, arbitrary: wild }, odds),
    },
    { requiredKeys: ['spawnkeeper'] },
  )
  .map((v) => json(v));

/**
 * targeted are well-aimed requests: the right method and path of each endpoint that stores
 * something, with a strong token and a hostile body, so the rare combinations that broke the hub
 * (deep user_options, huge expires_in, far-future activity, admin grants, odd names) come up often.
 */
const targeted: fc.Arbitrary<Req> = fc.oneof(
  fc
    .record({
      u: user,
      s: fc.constantFrom('', 'named-1', 'named-2'),
      body: fc.oneof(
        nested,
        large,
        fc.jsonValue({ maxDepth: 4 }).map((v) => json({ profile: v })),
        { weight: 3, arbitrary: spawnBody },
      ),
      headers: strongAuth,
    })
    .map(({ u, s, body: b, headers }) => ({
      method: 'POST',
      path: s === '' ? `/hub/api/users/${u}/server` : `/hub/api/users/${u}/servers/${s}`,
      headers,
      body: b,
    })),
  fc
    .record({
      u: user,
      body: fc.oneof(
        numbers,
        names,
        fc
          .record(
            { expires_in: fc.oneof(fc.double(), fc.integer(), fc.constant(1e13)), scopes: fc.constantFrom(undefined, ['read:users!user']) },
            { requiredKeys: ['expires_in'] },
          )
          .map(json),
      ),
      headers: strongAuth,
    })
    .map(({ u, body: b, headers }) => ({ method: 'POST', path: `/hub/api/users/${u}/tokens`, headers, body: b })),
  fc
    .record({
      u: user,
      own: fc.option(activityTime, { nil: undefined }),
      server: fc.option(activityTime, { nil: undefined }),
      headers: strongAuth,
    })
    .map(({ u, own, server, headers }) => ({
      method: 'POST',
      path: `/hub/api/users/${u}/activity`,
      headers,
      body: json({
        ...(own === undefined ? {} : { last_activity: own }),
        ...(server === undefined ? {} : { servers: { '': { last_activity: server } } }),
      }),
    })),
  fc
    .record({ body: names, headers: strongAuth })
    .map(({ body: b, headers }) => ({ method: 'POST', path: '/hub/api/users', headers, body: b })),
  fc
    .record({
      name: fc.oneof(fc.constantFrom(...ODD_SEGMENTS), nameChars.map((n) => n.replace(/[\ud800-\udfff]/g, '')).map(encodeURIComponent)),
      admin: fc.boolean(),
      headers: strongAuth,
    })
    .map(({ name, admin, headers }) => ({
      method: 'POST',
      path: `/hub/api/users/${name}`,
      headers,
      body: json({ admin }),
    })),
  fc
    .record({ body: fc.oneof(numbers, fc.constant(json({ note: 'fz' }))), headers: strongAuth })
    .map(({ body: b, headers }) => ({ method: 'POST', path: '/hub/api/spawnkeeper/tokens', headers, body: b })),
  fc
    .record({ u: user, method: fc.constantFrom('GET', 'HEAD'), headers: strongAuth })
    .map(({ u, method, headers }) => ({ method, path: `/hub/api/users/${u}/server/progress`, headers, body: undefined })),
  fc
    .record({ u: user, path: fc.constantFrom('', '?state=active', '?state=ready', '?include_stopped_servers=1'), headers: strongAuth })
    .map(({ u, path, headers }) => ({ method: 'GET', path: `/hub/api/users/${u}${path}`, headers, body: undefined })),
);

const randomReq: fc.Arbitrary<Req> = fc
  .record({
    method: fc.oneof(
      fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS', 'PATCH', 'PUT'),
      fc.stringMatching(/^[A-Z]{1,8}$/),
    ),
    path: paths,
    query,
    headers: auth,
    contentType: fc.constantFrom(
      undefined,
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'garbage/\u0001'.replace('\u0001', 'x'),
    ),
    accept: fc.constantFrom(undefined, 'application/jupyterhub-pagination+json', 'text/event-stream', '*/*'),
    body,
  })
  .map((r) => ({
    method: r.method,
    path: `${r.path}${r.query}`,
    headers: {
      ...r.headers,
      ...(r.contentType === undefined ? {} : { 'Content-Type': r.contentType }),
      ...(r.accept === undefined ? {} : { Accept: r.accept }),
    },
    body: r.body,
  }));

const reqArb: fc.Arbitrary<Req> = fc.oneof(randomReq, targeted);

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
        if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          // A live stream runs until its server settles or its token goes: its status is the answer.
          resolve({ status: res.statusCode ?? 0, text: '' });
          res.destroy();
          return;
        }
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
 * fingerprint is what a rejected request must not change: users, server records and their options,
 * tokens, groups, commands. (Not last_activity: a spawn or stop that an earlier request began moves
 * it when it ends, at any moment; test/integration/hub-compat.test.ts checks that refused activity
 * writes none.)
 */
function fingerprint(hub: TestHub, commands: number): string {
  const db = hub.running.db;
  const users = db.prepare('SELECT name, admin FROM users WHERE deleting = 0 ORDER BY name').all();
  const servers = db
    .prepare(
      'SELECT u.name, s.name AS server, s.user_options FROM user_servers s JOIN users u ON u.id = s.user_id WHERE s.remove_pending = 0 AND u.deleting = 0 ORDER BY 1, 2',
    )
    .all();
  // A user being deleted loses its tokens when its servers have stopped, in the background: those are left out.
  const tokens = db
    .prepare(
      'SELECT t.hash, t.owner, t.service, t.scopes, t.expires_at FROM tokens t LEFT JOIN users u ON u.name = t.owner WHERE t.owner IS NULL OR u.deleting = 0 ORDER BY t.hash',
    )
    .all();
  // A spawn's spec (and its environment) is written only with an accepted start.
  const specs = db.prepare('SELECT key, spec, env FROM server_specs ORDER BY key').all();
  const groups = db
    .prepare(
      'SELECT g.name, g.properties, (SELECT group_concat(user_id) FROM group_members m WHERE m.group_id = g.id) AS members FROM groups g ORDER BY g.name',
    )
    .all();
  return JSON.stringify({ users, servers, tokens, groups, specs, commands });
}

const listAgent = new Agent({ keepAlive: true, maxSockets: 1 });

/** listAnswers checks the invariant every request must leave: the admin's user list answers 200 with a whole JSON list. */
function listAnswers(url: URL, state: boolean): Promise<string | undefined> {
  return new Promise((resolve) => {
    const path = `/hub/api/users${state ? '?state=active' : ''}`;
    const req = request(
      { host: url.hostname, port: url.port, path, agent: listAgent, headers: { Authorization: `token ${ADMIN}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return resolve(`GET ${path} answered ${res.statusCode ?? 0}: ${text.slice(0, 200)}`);
          try {
            resolve(Array.isArray(JSON.parse(text)) ? undefined : `GET ${path} did not answer a list`);
          } catch {
            resolve(`GET ${path} did not answer JSON`);
          }
        });
      },
    );
    req.on('error', (err) => resolve(`GET ${path} failed: ${err.message}`));
    req.end();
  });
}

/** difference shows where two fingerprints part, briefly. */
function difference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `…${a.slice(Math.max(0, i - 60), i + 60)} → …${b.slice(Math.max(0, i - 60), i + 60)}`;
}

describe('fuzz: REST API', () => {
  it(`no request crashes the hub or gets a 5xx, a rejected one changes nothing, none makes the cluster refuse a call as invalid, and GET /users answers 200 after each (${INPUTS} requests, seed ${SEED})`, async () => {
    const hub = await startTestHub({
      slowSpawnTimeout: 0.05,
      slowStopTimeout: 0.05,
      allowNamedServers: true,
      services: [{ name: 'fz-svc', api_token: SERVICE_TOKEN }],
      profiles: [
        { slug: 'fz-small', default: true, overrides: { image: 'example.org/fz-small:1' } },
        { slug: 'fz-big', overrides: { resources: { limits: { memory: '2Gi' } }, nodeSelector: { big: 'yes' } } },
      ],
      loadRoles: [
        {
          name: 'fz-role',
          scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers', 'groups'],
          services: ['fz-svc'],
        },
      ],
    });
    try {
      for (const u of ['fz-a', 'fz-b']) expect((await hub.call('POST', `/hub/api/users/${u}`)).status).toBe(201);
      expect((await hub.call('POST', '/hub/api/groups/fz-g', { body: { users: ['fz-a'] } })).status).toBe(201);
      const mint = async (user: string, body: unknown) => {
        const r = await hub.call('POST', `/hub/api/users/${user}/tokens`, { body });
        expect(r.status).toBe(201);
        return r.json as { token: string; id: string };
      };
      TOKENS.user = (await mint('fz-a', {})).token;
      TOKENS.filtered = (await mint('fz-a', { scopes: ['admin:users!user=fz-a', 'admin:users!user=fz-new', 'list:users'] })).token;
      TOKENS.expiring = (await mint('fz-b', { expires_in: 30 })).token;
      const revoked = await mint('fz-b', { scopes: ['read:users!user'] });
      expect((await hub.call('DELETE', `/hub/api/users/fz-b/tokens/${revoked.id}`)).status).toBe(204);
      TOKENS.revoked = revoked.token;
      const url = new URL(hub.url);
      let commands = 0; // server.start and server.stop events committed, counted as they commit
      // A cluster call the API server refuses as invalid (400, 422) means the hub let bad input through to a pod, Secret or claim.
      const invalid: string[] = [];
      internals(hub.running.sk).runtime.subscribe((c) => {
        if (c.event.type === 'server.start' || c.event.type === 'server.stop') commands++;
        const error = (c.event as { error?: { code?: number; message: string } }).error;
        if (error !== undefined && (error.code === 400 || error.code === 422)) invalid.push(`${c.key}: ${error.message}`);
      });
      const statuses = new Map<number, number>();
      let sent = 0;
      let rejected = 0;
      let last: string | undefined;
      let listChecks = 0;
      const details = await fc.check(
        fc.asyncProperty(fc.array(reqArb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          for (const r of batch) {
            // Only requests change what the fingerprint covers (background work touches other columns), so
            // the state after one request is the state before the next.
            const before = last ?? fingerprint(hub, commands);
            const { status, text } = await send(url, r);
            sent++;
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (status >= 500) throw new Error(`${r.method} ${r.path.slice(0, 120)} answered ${status}`);
            if (status === 0) {
              // The hub answered early and closed while a large body was still being sent (as servers do): it must still serve.
              const health = await hub.call('GET', '/hub/health', { token: null });
              if (health.status !== 200)
                throw new Error(`the hub stopped serving after ${r.method} ${r.path.slice(0, 120)} (${r.body?.length ?? 0} body bytes)`);
            }
            const after = fingerprint(hub, commands);
            last = after;
            if (status >= 400) rejected++;
            if (status >= 400 && after !== before) {
              throw new Error(
                `${r.method} ${r.path.slice(0, 120)} was refused (${status} ${text}) but changed state: ${difference(before, after)}`,
              );
            }
            if (invalid.length > 0) throw new Error(`after ${r.method} ${r.path.slice(0, 120)} a cluster call was refused: ${invalid[0]}`);
            const broken = await listAnswers(url, sent % 2 === 0);
            listChecks++;
            if (broken !== undefined) throw new Error(`after ${r.method} ${r.path.slice(0, 120)} (${status}): ${broken}`);
          }
        }),
        { numRuns: Math.ceil(INPUTS / BATCH), seed: SEED },
      );
      if (details.failed) {
        const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        throw new Error(`property failed (seed ${details.seed}, path ${details.counterexamplePath}): ${error.slice(0, 800)}`);
      }
      console.log(
        `fuzz: ${sent} REST requests (${rejected} rejected, none changed state; GET /users answered 200 after each of ${listChecks}); statuses ${[
          ...statuses,
        ]
          .sort((a, b) => a[0] - b[0])
          .map(([s, n]) => `${s}×${n}`)
          .join(' ')}`,
      );
      expect(sent).toBeGreaterThanOrEqual(INPUTS);
      expect(listChecks).toBe(sent);
      // Still serving: a real start and stop go through.
      await hub.call('POST', '/hub/api/users/fz-after');
      expect([201, 202]).toContain((await hub.call('POST', '/hub/api/users/fz-after/server')).status);
      await hub.running.sk.waitFor('fz-after', '', (s) => s.state === 'running', 60_000);
      expect((await hub.call('GET', '/hub/health', { token: null })).status).toBe(200);
    } finally {
      listAgent.destroy();
      await hub.close();
    }
  }, 1_800_000);
});

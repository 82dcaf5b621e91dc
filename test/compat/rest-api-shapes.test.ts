import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reply, TestHub } from '../integration/hub-helpers.js';
import { ADMIN, readEvents, startTestHub } from '../integration/hub-helpers.js';
import type { Shape } from './rest-api-shapes.js';
import {
  ERROR,
  GROUP,
  INFO,
  NEW_TOKEN,
  SERVER,
  SERVICE,
  SERVICE_IDENTITY,
  TOKEN,
  TOKEN_LIST,
  USER,
  USER_IDENTITY,
  VERSION,
  paginatedList,
  problems,
} from './rest-api-shapes.js';

/**
 * Every endpoint spawnkeeper implements, called as a client would, and its answer checked against
 * JupyterHub 5's REST API models: status, and every field's name and type.
 */

const api = '/hub/api';
const CULLER = 'culler-token-0123456789abcdef0123456789';
const PAGED = { Accept: 'application/jupyterhub-pagination+json' };

/** conforms asserts a reply's status and that its JSON body fits the shape (a list: each item does). */
function conforms(reply: Reply, status: number, shape: Shape | { listOf: Shape } | { mapOf: Shape }): void {
  expect(reply.status, reply.text.slice(0, 300)).toBe(status);
  const found =
    'listOf' in shape
      ? Array.isArray(reply.json)
        ? reply.json.flatMap((v, i) => problems(v, shape.listOf, `${shape.listOf.name}[${i}]`))
        : ['not a list']
      : 'mapOf' in shape
        ? Object.entries((reply.json ?? {}) as Record<string, unknown>).flatMap(([k, v]) =>
            problems(v, shape.mapOf, `${shape.mapOf.name}[${k}]`),
          )
        : problems(reply.json, shape);
  expect(found).toEqual([]);
}

/** empty asserts a reply with no body, as JupyterHub's 204s and its activity answer. */
function empty(reply: Reply, status: number): void {
  expect(reply.status, reply.text.slice(0, 300)).toBe(status);
  expect(reply.text).toBe('');
}

describe('the shape checker', () => {
  it('finds unknown fields, wrong types and missing required fields', () => {
    expect(problems({ kind: 'user', name: 'a' }, USER)).toEqual([]);
    expect(problems({ kind: 'user', name: 1, colour: 'red' }, USER)).toEqual([
      'User.name: 1 is not string',
      'User.colour: not a field of User',
    ]);
    expect(problems({ kind: 'service' }, USER)).toEqual(['User.kind: "service" is not "user"', 'User.name: missing']);
    expect(problems({ kind: 'user', name: 'a', last_activity: '2020-01-01 00:00' }, USER)).toHaveLength(1);
    expect(problems({ kind: 'user', name: 'a', servers: { '': { name: '', ready: 'yes' } } }, USER).length).toBeGreaterThan(0);
  });
});

describe('REST API answers fit JupyterHub 5 models', () => {
  let hub: TestHub;
  let userToken = '';
  beforeAll(async () => {
    hub = await startTestHub({
      services: [{ name: 'culler', api_token: CULLER, url: 'http://culler:8000', info: { purpose: 'culling' } }],
      loadRoles: [
        {
          name: 'culler',
          scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers', 'read:services', 'read:roles:services'],
          services: ['culler'],
        },
      ],
    });
  });
  afterAll(() => hub.close());

  it('GET / and GET /info', async () => {
    conforms(await hub.call('GET', `${api}/`, { token: null }), 200, VERSION);
    conforms(await hub.call('GET', `${api}/info`), 200, INFO);
  });

  it('POST /users/{name}, POST /users, GET /users/{name}, PATCH /users/{name}', async () => {
    conforms(await hub.call('POST', `${api}/users/alice`), 201, USER);
    conforms(await hub.call('POST', `${api}/users`, { body: { usernames: ['bob', 'carol'] } }), 201, { listOf: USER });
    const alice = await hub.call('GET', `${api}/users/alice`);
    conforms(alice, 200, USER);
    expect(Object.keys(alice.json as object)).toEqual(
      expect.arrayContaining([
        'kind',
        'name',
        'admin',
        'roles',
        'groups',
        'server',
        'pending',
        'created',
        'last_activity',
        'servers',
        'auth_state',
      ]),
    );
    conforms(await hub.call('PATCH', `${api}/users/carol`, { body: { name: 'caroline', admin: false } }), 200, USER);
  });

  it('POST and DELETE /users/{name}/server and /servers/{name}, with the progress stream and activity', async () => {
    conforms(await hub.call('POST', `${api}/users/alice/server`), 201, SERVER);
    conforms(await hub.call('POST', `${api}/users/alice/servers/lab`, { body: { profile: 'small' } }), 201, SERVER);
    const progress = await fetch(`${hub.url}${api}/users/alice/server/progress`, { headers: { Authorization: `token ${ADMIN}` } });
    expect(progress.status).toBe(200);
    expect(progress.headers.get('content-type')).toBe('text/event-stream');
    const { frames } = await readEvents(progress);
    expect(frames.at(-1)).toMatchObject({ progress: 100, ready: true, url: '/user/alice/' });
    for (const f of frames) expect(typeof f['progress'] === 'number' && typeof f['message'] === 'string').toBe(true);
    empty(
      await hub.call('POST', `${api}/users/alice/activity`, {
        body: { last_activity: new Date().toISOString(), servers: { lab: { last_activity: new Date().toISOString() } } },
      }),
      200,
    );
    const user = await hub.call('GET', `${api}/users/alice`);
    conforms(user, 200, USER);
    const lab = (user.json as { servers: Record<string, Record<string, unknown>> }).servers['lab'];
    expect(lab?.['state']).toEqual({ pod_name: 'jupyter-alice--lab', namespace: 'default' }); // admin:server_state
    empty(await hub.call('DELETE', `${api}/users/alice/servers/lab`, { body: { remove: true } }), 204);
    empty(await hub.call('DELETE', `${api}/users/alice/server`), 204);
    empty(await hub.call('DELETE', `${api}/users/alice/server`), 204);
  });

  it('GET /users in the plain and the paginated form, to an admin and to a service with few scopes', async () => {
    await hub.call('POST', `${api}/users/bob/server`);
    conforms(await hub.call('GET', `${api}/users?include_stopped_servers`), 200, { listOf: USER });
    conforms(await hub.call('GET', `${api}/users?limit=1&sort=-last_activity`, { headers: PAGED }), 200, paginatedList(USER));
    const culled = await hub.call('GET', `${api}/users?state=ready`, { token: CULLER, headers: PAGED });
    conforms(culled, 200, paginatedList(USER));
    expect((culled.json as { items: unknown[] }).items).toEqual([
      expect.objectContaining({
        name: 'bob',
        kind: 'user',
        admin: false,
        last_activity: expect.any(String),
        servers: { '': expect.objectContaining({ ready: true }) },
      }),
    ]);
  });

  it('POST, GET and DELETE /users/{name}/tokens', async () => {
    const minted = await hub.call('POST', `${api}/users/alice/tokens`, {
      body: { scopes: ['read:users!user', 'read:servers!user'], note: 'shape' },
    });
    conforms(minted, 201, NEW_TOKEN);
    userToken = (minted.json as { token: string }).token;
    const listed = await hub.call('GET', `${api}/users/alice/tokens`);
    conforms(listed, 200, TOKEN_LIST);
    const id = String((minted.json as { id: string }).id);
    conforms(await hub.call('GET', `${api}/users/alice/tokens/${id}`), 200, TOKEN);
    const spare = await hub.call('POST', `${api}/users/alice/tokens`, { body: {} });
    empty(await hub.call('DELETE', `${api}/users/alice/tokens/${String((spare.json as { id: string }).id)}`), 204);
  });

  it('GET /user for a user token, a service token and the hub admin token', async () => {
    const me = await hub.call('GET', `${api}/user`, { token: userToken });
    conforms(me, 200, USER_IDENTITY);
    expect(me.json).toMatchObject({ kind: 'user', name: 'alice', session_id: null, token_id: expect.stringMatching(/^a\d+$/) });
    const culler = await hub.call('GET', `${api}/user`, { token: CULLER });
    conforms(culler, 200, SERVICE_IDENTITY);
    expect(culler.json).toMatchObject({ kind: 'service', name: 'culler', roles: ['culler'], url: 'http://culler:8000' });
    conforms(await hub.call('GET', `${api}/user`), 200, SERVICE_IDENTITY);
  });

  it('the groups API', async () => {
    conforms(await hub.call('POST', `${api}/groups`, { body: { groups: ['staff', 'students'], users: ['alice'] } }), 201, {
      listOf: GROUP,
    });
    conforms(await hub.call('POST', `${api}/groups/tas`, { body: { users: ['bob'] } }), 201, GROUP);
    conforms(await hub.call('GET', `${api}/groups`), 200, { listOf: GROUP });
    conforms(await hub.call('GET', `${api}/groups?limit=2`, { headers: PAGED }), 200, paginatedList(GROUP));
    conforms(await hub.call('GET', `${api}/groups/staff`), 200, GROUP);
    conforms(await hub.call('POST', `${api}/groups/staff/users`, { body: { users: ['bob'] } }), 200, GROUP);
    conforms(await hub.call('DELETE', `${api}/groups/staff/users`, { body: { users: ['alice'] } }), 200, GROUP);
    conforms(await hub.call('PUT', `${api}/groups/staff/properties`, { body: { course: 'cs101' } }), 200, GROUP);
    empty(await hub.call('DELETE', `${api}/groups/tas`), 204);
  });

  it('the services API: an object keyed by name, as JupyterHub 5 answers, and one service', async () => {
    conforms(await hub.call('GET', `${api}/services`), 200, { mapOf: SERVICE });
    conforms(await hub.call('GET', `${api}/services/culler`, { token: CULLER }), 200, SERVICE);
  });

  it('DELETE /users/{name}, OPTIONS, and errors', async () => {
    await hub.call('DELETE', `${api}/users/bob/server`);
    empty(await hub.call('DELETE', `${api}/users/bob`), 204);
    const options = await hub.call('OPTIONS', `${api}/users/alice`, { token: null });
    empty(options, 200);
    expect(options.headers.get('allow')).toBe('DELETE, GET, HEAD, OPTIONS, PATCH, POST');
    conforms(await hub.call('GET', `${api}/users/nobody`), 404, ERROR);
    conforms(await hub.call('GET', `${api}/users`, { token: null }), 401, ERROR);
    conforms(await hub.call('POST', `${api}/users/x`, { token: CULLER }), 403, ERROR);
    conforms(await hub.call('GET', `${api}/users?sort=bogus`), 400, ERROR);
  });
});

import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/hub/cli/cli.js';
import { ConfigError, parseArgs, resolveConfig } from '../../src/hub/config.js';
import type { RunningHub } from '../../src/hub/serve.js';
import { startHub } from '../../src/hub/serve.js';
import type { HubConfig } from '../../src/hub/settings.js';
import { tempDir } from '../support/harness.js';
import { ADMIN, FAST_KUBELET, TEST_ENGINE, sinkLogger } from './hub-helpers.js';
import { internals } from '../../src/spawnkeeper.js';

type Json = Record<string, unknown>;
const api = '/hub/api';
const CULLER = 'culler-service-token-0123456789abcdef';
const OPS = 'ops-service-token-0123456789abcdef';

const SERVICES = [{ name: 'culler', api_token: CULLER }, { name: 'ops', api_token: OPS, admin: true }, { name: 'tokenless' }];
const ROLES = [
  { name: 'culler', scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'], services: ['culler', 'tokenless'] },
];

const file = (json: unknown) => () => JSON.stringify(json);

describe('services in the configuration file', () => {
  it('accepts JupyterHub-style services and load_roles, and refuses what spawnkeeper cannot honour, naming it', () => {
    const ok = resolveConfig({ args: parseArgs(['--config', 'c']), env: {}, readFile: file({ services: SERVICES, load_roles: ROLES }) });
    expect(ok.services).toEqual(SERVICES);
    const bad: Array<[unknown, unknown, RegExp]> = [
      [
        [{ name: 'c', command: ['python3', '-m', 'jupyterhub_idle_culler'] }],
        [],
        /service c: "command" is not supported: spawnkeeper does not start service processes/,
      ],
      [[{ name: 'c' }], [{ name: 'r', scopes: ['servers'], users: ['alice'] }], /role r: spawnkeeper gives roles to services only/],
      [[{ name: 'c' }], [{ name: 'r', scopes: ['servers'], services: ['d'] }], /role r names service d, which is not in services/],
      [[{ name: 'c' }, { name: 'c' }], [], /two services are named c/],
      [[{ name: 'c', api_token: 'short' }], [], /api_token must be a string of at least 32 characters/],
      [
        [
          { name: 'c', api_token: 'same-token-0123456789abcdef-0123456789' },
          { name: 'd', api_token: 'same-token-0123456789abcdef-0123456789' },
        ],
        [],
        /already another service's or the admin token/,
      ],
      [[{ name: 'spawnkeeper' }], [], /service name "spawnkeeper" is reserved/],
      [[{ name: 'c', colour: 'red' }], [], /service c: unknown key "colour"/],
      [[{ name: 'c' }], [{ name: 'r', scopes: ['be:root'], services: ['c'] }], /role r: Unknown scope\(s\): be:root/],
      [{ name: 'c' }, [], /^services: expected a list, got {"name":"c"} \(in c\)$/],
    ];
    for (const [services, roles, message] of bad) {
      const fn = () => resolveConfig({ args: parseArgs(['--config', 'c']), env: {}, readFile: file({ services, load_roles: roles }) });
      expect(fn).toThrow(ConfigError);
      expect(fn).toThrow(message);
    }
  });
});

describe('services and their tokens', () => {
  let tmp: ReturnType<typeof tempDir>;
  let running: RunningHub | undefined;
  const db = () => `${tmp.dir}/hub.db`;
  const open = async (config: Partial<HubConfig> = {}) => {
    await running?.close();
    running = await startHub(
      {
        db: db(),
        port: 0,
        adminToken: ADMIN,
        sim: { seed: 3, kubelet: FAST_KUBELET },
        spawnkeeper: TEST_ENGINE,
        services: SERVICES,
        loadRoles: ROLES,
        ...config,
      },
      { logger: sinkLogger([]) },
    );
    await internals(running.sk).reflector.synced();
  };
  const call = async (method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const res = await fetch(`${running?.url ?? ''}${api}${path}`, {
      method,
      headers: { Authorization: `token ${token}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  const cli = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await main(args, { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`), env: {} });
    return { code, out: out.trim(), err };
  };
  beforeAll(async () => {
    tmp = tempDir('spawnkeeper-services-');
    await open();
    for (const u of ['alice', 'bob']) expect((await call('POST', `/users/${u}`, ADMIN)).status).toBe(201);
  });
  afterAll(async () => {
    await running?.close();
    tmp.cleanup();
  });

  it("authenticates a service's token as the service, with its roles' scopes and nothing more", async () => {
    const me = await call('GET', '/user', CULLER);
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ kind: 'service', name: 'culler', admin: false, session_id: null });
    expect((me.json as { scopes: string[] }).scopes).toEqual([
      'delete:servers',
      'list:users',
      'read:servers',
      'read:users:activity',
      'read:users:name',
    ]);
    expect((await call('GET', '/users', CULLER)).status).toBe(200);
    expect((await call('POST', '/users/carol', CULLER)).status).toBe(403);
    expect((await call('GET', '/info', CULLER)).status).toBe(403);
  });

  it('keeps services out of every user list', async () => {
    const names = ((await call('GET', '/users', ADMIN)).json as Json[]).map((u) => u['name']);
    expect(names).toEqual(['alice', 'bob']);
    expect((await call('GET', '/users/culler', ADMIN)).status).toBe(404);
    const services = (await call('GET', '/services', ADMIN)).json as Record<string, Json>;
    expect(Object.keys(services)).toEqual(['culler', 'ops', 'tokenless']);
    expect(services['ops']).toMatchObject({ kind: 'service', name: 'ops', admin: true, roles: ['admin'] });
  });

  it('lets only an admin service grant admin, as JupyterHub lets only admins', async () => {
    const grant = await call('POST', '/users/root', OPS, { admin: true });
    expect(grant.status).toBe(201);
    expect(grant.json).toMatchObject({ name: 'root', admin: true });
    expect((await call('POST', '/users/mallory', CULLER, { admin: true })).status).toBe(403);
  });

  it('mints a token for a service with `spawnkeeper token --service`, within its roles only, and never silently more', async () => {
    await running?.close();
    running = undefined;
    writeFileSync(`${tmp.dir}/hub.json`, JSON.stringify({ services: SERVICES, load_roles: ROLES }));
    const config = ['--config', `${tmp.dir}/hub.json`, '--db', db()];
    const inherit = await cli(['token', '--service', 'tokenless', ...config]);
    expect(inherit.code).toBe(0);
    const narrow = await cli(['token', '--service', 'tokenless', '--scopes', 'list:users', ...config]);
    expect(narrow.code).toBe(0);
    const beyond = await cli(['token', '--service', 'tokenless', '--scopes', 'list:users,admin:users', ...config]);
    expect(beyond.code).toBe(2);
    expect(beyond.err).toMatch(/service tokenless does not hold admin:users through its roles/);
    const both = await cli(['token', '--admin', '--scopes', 'read:hub', ...config]);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--admin mints every admin scope; for a token with fewer, give --scopes without --admin/);
    expect((await cli(['token', '--service', 'nobody', ...config])).code).toBe(2);
    expect((await cli(['token', '--scopes', 'inherit', ...config])).code).toBe(2);
    const exact = await cli(['token', '--scopes', 'read:hub', ...config]);
    expect(exact.code).toBe(0);
    await open();
    expect(((await call('GET', '/user', inherit.out)).json as Json)['name']).toBe('tokenless');
    expect((await call('DELETE', '/users/alice/server', inherit.out)).status).toBe(204);
    expect((await call('GET', '/users', narrow.out)).status).toBe(200);
    expect((await call('DELETE', '/users/alice/server', narrow.out)).status).toBe(403);
    const hubs = (await call('GET', '/user', exact.out)).json as Json;
    expect(hubs).toMatchObject({ kind: 'service', name: 'spawnkeeper', admin: false, scopes: ['read:hub'] });
    expect((await call('GET', '/info', exact.out)).status).toBe(200);
    expect((await call('GET', '/users', exact.out)).status).toBe(403);
  });

  it("cuts a service's tokens to its roles as they are now, and refuses them once the service is gone", async () => {
    await running?.close();
    const config = ['--config', `${tmp.dir}/hub.json`, '--db', db()];
    const minted = await cli(['token', '--service', 'culler', '--scopes', 'list:users,delete:servers', ...config]);
    expect(minted.code).toBe(0);
    await open({ loadRoles: [{ name: 'culler', scopes: ['list:users'], services: ['culler', 'tokenless'] }] });
    expect((await call('GET', '/users', minted.out)).status).toBe(200);
    expect((await call('DELETE', '/users/alice/server', minted.out)).status).toBe(403);
    expect((await call('DELETE', '/users/alice/server', CULLER)).status).toBe(403);
    await open({ services: [{ name: 'ops', api_token: OPS, admin: true }], loadRoles: [] });
    expect((await call('GET', '/users', minted.out)).status).toBe(401);
    expect((await call('GET', '/users', CULLER)).status).toBe(401);
    expect((await call('GET', '/users', OPS)).status).toBe(200);
  });
});

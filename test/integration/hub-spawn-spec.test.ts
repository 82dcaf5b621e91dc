import { readFileSync, existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/hub/cli/cli.js';
import { ConfigError, parseArgs, resolveConfig } from '../../src/hub/config.js';
import { CoreV1Api } from '@kubernetes/client-node';
import { ANNOTATION_KEY, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_SERVER, MANAGED_BY, keyHash } from '../../src/kube/names.js';
import type { Pod } from '../../src/sim/cluster/types.js';
import { internals, kubeConfigFor } from '../../src/spawnkeeper.js';
import type { TestHub } from './hub-helpers.js';
import { TEST_ENGINE, startTestHub, waitFor } from './hub-helpers.js';

const api = '/hub/api';
/** SECRET is an environment value that must reach the pod's Secret and nowhere else. */
const SECRET = 'tok-7f3a9c1e5b2d48e6a0c4f8b1d3e5a7c9';

const SPAWNER_TOKEN = 'spawner-token-0123456789abcdef0123456789';
const LAUNCHER_TOKEN = 'launcher-token-0123456789abcdef012345678';

const PROFILES = [
  { slug: 'small', display_name: 'Small', default: true, overrides: { image: 'example.org/small:1' } },
  {
    slug: 'gpu',
    display_name: 'GPU',
    overrides: {
      image: 'example.org/gpu:2',
      nodeSelector: { 'example.org/gpu': 'true' },
      tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }],
      resources: { limits: { 'nvidia.com/gpu': '1' } },
      volumes: [{ name: 'shared', emptyDir: {} }],
      volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
    },
  },
];

type Json = Record<string, unknown>;

function pod(hub: TestHub, user: string): Pod | undefined {
  return hub.running.sim?.pods().find((p) => p.metadata.annotations?.['hub.jupyter.org/username'] === user);
}

function objects(hub: TestHub, resource: string): Json[] {
  return (hub.running.sim?.objects(resource) ?? []) as unknown as Json[];
}

function secretOf(hub: TestHub, user: string): { name: string; data: Record<string, string> } | undefined {
  const found = objects(hub, 'secrets').find(
    (s) => ((s['metadata'] as Json)['annotations'] as Record<string, string> | undefined)?.['spawnkeeper.io/key'] === `${user}/`,
  );
  if (found === undefined) return undefined;
  const data = Object.fromEntries(
    Object.entries((found['data'] ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );
  return { name: String((found['metadata'] as Json)['name']), data };
}

/** fileBytes is the database and its write-ahead log as stored, after a checkpoint folds the log in. */
function fileBytes(hub: TestHub): Buffer {
  hub.running.db.pragma('wal_checkpoint(TRUNCATE)');
  const path = `${hub.dir}/hub.db`;
  return Buffer.concat([readFileSync(path), existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0)]);
}

async function historyText(hub: TestHub, user: string): Promise<string> {
  let out = '';
  // The CLI reads the database the running hub holds, read-only.
  const code = await main(['history', user, '--db', `${hub.dir}/hub.db`, '--json'], {
    out: (l) => (out += `${l}\n`),
    err: () => undefined,
    env: {},
  });
  expect(code).toBe(0);
  return out;
}

describe('starting a server for JupyterHub: the spawnkeeper key, profiles, storage', () => {
  let hub: TestHub;

  beforeAll(async () => {
    hub = await startTestHub({
      profiles: PROFILES,
      services: [
        { name: 'jupyterhub', api_token: SPAWNER_TOKEN },
        { name: 'launcher', api_token: LAUNCHER_TOKEN },
      ],
      loadRoles: [
        { name: 'spawner', scopes: ['admin:servers', 'admin:users'], services: ['jupyterhub'] },
        { name: 'launch', scopes: ['servers'], services: ['launcher'] },
      ],
      spawnkeeper: {
        ...TEST_ENGINE,
        template: { storage: { capacity: '1Gi', storageClass: 'standard' } },
      },
    });
    for (const user of ['ana', 'ben', 'cy', 'dee', 'fay']) expect((await hub.call('POST', `${api}/users/${user}`)).status).toBe(201);
  });
  afterAll(async () => {
    await hub.close();
  });

  it('puts the env into a Secret the pod reads through envFrom, shows the pod address once running, keeps the values out of the log and the file, and deletes the Secret on stop', async () => {
    const before = await hub.call('GET', `${api}/users/ana`);
    expect(before.status).toBe(200);
    const start = await hub.call('POST', `${api}/users/ana/server`, {
      body: {
        profile: 'small',
        spawnkeeper: {
          env: { JUPYTERHUB_API_TOKEN: SECRET, JUPYTERHUB_SERVICE_PREFIX: '/user/ana/' },
          resources: { cpu_limit: 0.5, cpu_guarantee: 0.25, mem_limit: 1073741824, mem_guarantee: 536870912 },
          port: 8899,
          args: ['--ServerApp.base_url=/user/ana/'],
        },
      },
    });
    expect(start.status).toBe(201);
    expect((start.json as Json)['user_options']).toEqual({ profile: 'small' });

    const secret = secretOf(hub, 'ana');
    expect(secret?.data).toEqual({ JUPYTERHUB_API_TOKEN: SECRET, JUPYTERHUB_SERVICE_PREFIX: '/user/ana/' });
    const p = pod(hub, 'ana') as Pod;
    const container = p.spec.containers[0] as Json;
    expect(secret?.name).toBe(`${p.metadata.name}-env`);
    expect(container['envFrom']).toEqual([{ secretRef: { name: secret?.name } }]);
    expect(JSON.stringify(p)).not.toContain(SECRET);
    expect(container['image']).toBe('example.org/small:1');
    expect(container['args']).toEqual(['--ServerApp.base_url=/user/ana/']);
    expect(container['ports']).toEqual([{ name: 'notebook-port', containerPort: 8899 }]);
    expect(container['resources']).toEqual({
      requests: { cpu: '250m', memory: '536870912' },
      limits: { cpu: '500m', memory: '1073741824' },
    });

    const model = ((await hub.call('GET', `${api}/users/ana`)).json as { servers: Record<string, Json> }).servers[''] as Json;
    const view = model['spawnkeeper'] as Json;
    expect(view['ip']).toBe(p.status.podIP);
    expect(view['ip']).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(view['port']).toBe(8899);

    const payloads = hub.running.db.prepare('SELECT payload FROM events').all() as Array<{ payload: string }>;
    const startEvent = payloads.map((r) => JSON.parse(r.payload) as Json).find((e) => e['type'] === 'server.start');
    expect(startEvent?.['spec']).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(payloads.some((r) => r.payload.includes(SECRET))).toBe(false);
    const history = await historyText(hub, 'ana');
    expect(history).toContain('server.start');
    expect(history).not.toContain(SECRET);

    // While the server is active its spec row holds the env (so a restart can make the Secret again): the check can see it.
    expect(fileBytes(hub).includes(Buffer.from(SECRET))).toBe(true);

    expect((await hub.call('DELETE', `${api}/users/ana/server`)).status).toBe(204);
    await waitFor('the Secret to be deleted', () => (secretOf(hub, 'ana') === undefined ? true : undefined));
    const stopped = ((await hub.call('GET', `${api}/users/ana?include_stopped_servers=1`)).json as { servers: Record<string, Json> })
      .servers[''] as Json;
    expect((stopped['spawnkeeper'] as Json)['ip']).toBeNull();
    expect((stopped['spawnkeeper'] as Json)['port']).toBeNull();
    expect(hub.running.db.prepare('SELECT COUNT(*) AS n FROM server_specs').get()).toEqual({ n: 0 });
    expect(fileBytes(hub).includes(Buffer.from(SECRET))).toBe(false);
  });

  it('lays the chosen profile over the template, applies the default profile when none is named, and answers 400 listing the slugs for an unknown one', async () => {
    expect((await hub.call('POST', `${api}/users/ben/server`, { body: { profile: 'gpu' } })).status).toBe(201);
    const gpu = pod(hub, 'ben') as Pod;
    const c = gpu.spec.containers[0] as Json;
    expect(c['image']).toBe('example.org/gpu:2');
    expect(gpu.spec['nodeSelector']).toEqual({ 'example.org/gpu': 'true' });
    expect(gpu.spec['tolerations']).toEqual([{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(c['resources']).toEqual({ limits: { 'nvidia.com/gpu': '1' } });
    expect((gpu.spec['volumes'] as Json[]).map((v) => v['name'])).toEqual(['shared', 'home']);
    expect(c['volumeMounts']).toEqual([
      { name: 'shared', mountPath: '/shared' },
      { name: 'home', mountPath: '/home/jovyan' },
    ]);
    expect(c['envFrom']).toBeUndefined(); // no env given: no Secret
    expect((await hub.call('DELETE', `${api}/users/ben/server`)).status).toBe(204);

    expect((await hub.call('POST', `${api}/users/ben/server`)).status).toBe(201);
    expect((pod(hub, 'ben')?.spec.containers[0] as Json)['image']).toBe('example.org/small:1');
    expect((await hub.call('DELETE', `${api}/users/ben/server`)).status).toBe(204);

    const seq = hub.running.sk.get('ben')?.seq;
    const unknown = await hub.call('POST', `${api}/users/ben/server`, { body: { profile: 'huge' } });
    expect(unknown.status).toBe(400);
    expect((unknown.json as Json)['message']).toBe('unknown profile "huge"; valid profiles: small, gpu');
    const notString = await hub.call('POST', `${api}/users/ben/server`, { body: { profile: 7 } });
    expect(notString.status).toBe(400);
    expect(hub.running.sk.get('ben')?.seq).toBe(seq);
  });

  it('lets only a token with admin:servers (the admin, a service given it by a role) send the spawnkeeper key, 403 for a user or a service with servers only, and answers 400 naming the field of a malformed one, changing nothing', async () => {
    const minted = await hub.call('POST', `${api}/users/cy/tokens`, { body: { note: 'own' } });
    expect(minted.status).toBe(201);
    const own = String((minted.json as Json)['token']);
    for (const token of [own, LAUNCHER_TOKEN]) {
      const refused = await hub.call('POST', `${api}/users/cy/server`, { token, body: { spawnkeeper: { env: { A: 'b' } } } });
      expect(refused.status).toBe(403);
      expect((refused.json as Json)['message']).toMatch(/admin:servers.*"spawnkeeper"/);
    }
    const bad: Array<[unknown, RegExp]> = [
      [[], /"spawnkeeper" must be an object/],
      [{ env: { A: 1 } }, /"spawnkeeper\.env\.A" must be a string/],
      [{ env: { 'A B': 'x' } }, /invalid name "A B"/],
      [{ env: { '.': 'x' } }, /invalid name "\."/], // a Secret cannot hold the key `.` or `..`
      [{ env: { '..x': 'x' } }, /invalid name "\.\.x"/],
      [{ env: 'A=b' }, /"spawnkeeper\.env" must be an object/],
      [{ resources: { cpu_limit: -1 } }, /"spawnkeeper\.resources\.cpu_limit" must be a number/],
      [{ resources: { mem_limit: 1.5 } }, /"spawnkeeper\.resources\.mem_limit" must be a whole number/],
      [{ resources: { gpu: 1 } }, /"spawnkeeper\.resources\.gpu" is not known/],
      [{ port: 0 }, /"spawnkeeper\.port" must be a port/],
      [{ args: ['ok', 3] }, /"spawnkeeper\.args" must be a list/],
      [{ volumes: [] }, /"spawnkeeper\.volumes" is not known/],
    ];
    for (const [value, message] of bad) {
      const r = await hub.call('POST', `${api}/users/cy/server`, { body: { spawnkeeper: value } });
      expect(`${JSON.stringify(value)}: ${r.status}`).toBe(`${JSON.stringify(value)}: 400`);
      expect((r.json as Json)['message']).toMatch(message);
    }
    expect(hub.running.sk.get('cy')).toBeUndefined();
    expect(pod(hub, 'cy')).toBeUndefined();
    expect(hub.running.db.prepare('SELECT COUNT(*) AS n FROM server_specs').get()).toEqual({ n: 0 });
    // A service given admin:servers by a role (as JupyterHub's SpawnkeeperSpawner is) may.
    const allowed = await hub.call('POST', `${api}/users/cy/server`, { token: SPAWNER_TOKEN, body: { spawnkeeper: { env: { A: 'b' } } } });
    expect(allowed.status).toBe(201);
    expect(secretOf(hub, 'cy')?.data).toEqual({ A: 'b' });
    expect((await hub.call('DELETE', `${api}/users/cy/server`, { token: SPAWNER_TOKEN })).status).toBe(204);
  });

  it('ensures the storage claim once and keeps it across stops and starts of the server', async () => {
    expect((await hub.call('POST', `${api}/users/dee/server`)).status).toBe(201);
    const claims = () => objects(hub, 'persistentvolumeclaims').filter((c) => (c['metadata'] as Json)['name'] === 'claim-dee');
    expect(claims()).toHaveLength(1);
    const first = claims()[0] as Json;
    expect(first['spec']).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: 'standard',
    });
    const volumes = (pod(hub, 'dee')?.spec['volumes'] ?? []) as Json[];
    expect(volumes).toEqual([{ name: 'home', persistentVolumeClaim: { claimName: 'claim-dee' } }]);
    for (let round = 0; round < 2; round++) {
      expect((await hub.call('DELETE', `${api}/users/dee/server`)).status).toBe(204);
      expect(claims()).toHaveLength(1);
      expect((await hub.call('POST', `${api}/users/dee/server`)).status).toBe(201);
    }
    expect(claims().map((c) => (c['metadata'] as Json)['uid'])).toEqual([(first['metadata'] as Json)['uid']]);
    expect((await hub.call('DELETE', `${api}/users/dee/server`)).status).toBe(204);
  });

  it('sweeps a Secret left behind by a server that is not active, and leaves those of active servers and foreign ones alone', async () => {
    const core = kubeConfigFor(String(hub.running.sim?.url)).makeApiClient(CoreV1Api);
    const ours = (key: string) => ({
      name: `left-${keyHash(key).slice(0, 8)}`,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_INSTANCE]: 'hub', [LABEL_SERVER]: keyHash(key) },
      annotations: { [ANNOTATION_KEY]: key },
    });
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: ours('zed/'), stringData: { A: 'b' } } });
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: ours('ben/'), stringData: { A: 'b' } } });
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'foreign' }, stringData: { A: 'b' } } });
    expect((await hub.call('POST', `${api}/users/fay/server`, { body: { spawnkeeper: { env: { A: 'b' } } } })).status).toBe(201);
    expect(await internals(hub.running.sk).sweeper.sweepSecrets()).toBe(2);
    const names = objects(hub, 'secrets').map((x) => (x['metadata'] as Json)['name']);
    expect(names).toContain('foreign');
    expect(names).toContain(secretOf(hub, 'fay')?.name);
    expect(names).not.toContain(ours('zed/').name);
    expect(names).not.toContain(ours('ben/').name);
    expect((await hub.call('DELETE', `${api}/users/fay/server`)).status).toBe(204);
  });
});

describe('the profiles setting', () => {
  const resolve = (profiles: unknown): unknown => {
    try {
      return resolveConfig({ args: parseArgs(['--config', 'hub.json']), env: {}, readFile: () => JSON.stringify({ profiles }) }).profiles;
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
  };

  it('accepts KubeSpawner-like profiles and refuses a bad one at start, naming the field', () => {
    expect(resolve(PROFILES)).toEqual(PROFILES);
    const cases: Array<[unknown, string]> = [
      [{ slug: 'a' }, 'profiles: expected a list, got {"slug":"a"} (in hub.json)'],
      [[{ display_name: 'x' }], "profiles[0].slug must be 1–63 letters, digits, '-', '_' or '.', starting with a letter or digit"],
      [[{ slug: 'a' }, { slug: 'a' }], 'profiles: the slug "a" is used twice'],
      [
        [
          { slug: 'a', default: true },
          { slug: 'b', default: true },
        ],
        'profiles: at most one profile may be the default',
      ],
      [
        [{ slug: 'a', kubespawner_override: {} }],
        'profiles[0].kubespawner_override is not a profile field (known: slug, display_name, description, default, overrides)',
      ],
      [[{ slug: 'a', overrides: { image: '' } }], 'profiles[0].overrides.image must be a non-empty string'],
      [
        [{ slug: 'a', overrides: { resources: { limits: { cpu: 'lots' } } } }],
        'profiles[0].overrides.resources.limits.cpu must be a Kubernetes quantity',
      ],
      [
        [{ slug: 'a', overrides: { storage: { capacity: '1Gi', claimName: 'Claim_{user}' } } }],
        'profiles[0].overrides.storage.claimName must be lowercase letters, digits, "-", "." and the placeholders {username} and {servername}',
      ],
      [[{ slug: 'a', overrides: { volumes: [{ emptyDir: {} }] } }], 'profiles[0].overrides.volumes[0].name must be a string'],
      [
        [{ slug: 'a', overrides: { podNamePrefix: 'x' } }],
        expect.stringContaining('profiles[0].overrides.podNamePrefix must be absent') as unknown as string,
      ],
    ];
    for (const [profiles, message] of cases) expect(resolve(profiles)).toEqual(message);
  });
});

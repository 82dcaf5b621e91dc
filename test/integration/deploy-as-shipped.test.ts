import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { CoreV1Api, loadAllYaml } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATE, podManifest } from '../../src/kube/manifest.js';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { kubeConfigFor } from '../../src/spawnkeeper.js';
import { freePort } from '../chaos/hub-process.js';
import { ApiProxy, kubeconfigFor } from '../support/api-proxy.js';
import type { Seen } from '../support/api-proxy.js';
import { tempDir } from '../support/harness.js';
import { FAST_KUBELET, waitFor } from './hub-helpers.js';
import { leases } from './sim-helpers.js';

const BIN = new URL('../../bin/spawnkeeper.mjs', import.meta.url).pathname;
const TOKEN = 'deploy-as-shipped-token-0123456789abcdef';

interface Container {
  args: string[];
  env: Array<{
    name: string;
    value?: string;
    valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
  }>;
  readinessProbe: { httpGet: { path: string } };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const load = <T>(file: string): T[] => loadAllYaml(readFileSync(new URL(`../../deploy/${file}`, import.meta.url), 'utf8')) as T[];
const container = load<{ kind: string; spec: { template: { spec: { containers: Container[] } } } }>('deployment.yaml')[0]?.spec.template
  .spec.containers[0] as Container;
const rules = load<{ kind: string; rules?: Rule[] }>('rbac.yaml').find((d) => d.kind === 'Role')?.rules ?? [];

/** Access is one call in RBAC's terms: API group, resource, verb and object name. */
interface Access {
  group: string;
  resource: string;
  verb: string;
  name: string | undefined;
}

/** access translates a request as the API server's authorizer does, or undefined for a path outside the resource API. */
function access(s: Seen): Access | undefined {
  const parts = s.path.split('/').filter((p) => p !== '');
  const [root] = parts;
  const rest = root === 'api' ? parts.slice(2) : root === 'apis' ? parts.slice(3) : undefined;
  if (rest === undefined || rest[0] !== 'namespaces' || rest.length < 3) return undefined;
  const group = root === 'api' ? '' : (parts[1] ?? '');
  const [, , resource = '', name] = rest;
  const watch = new URLSearchParams(s.query).get('watch') === 'true';
  const verb =
    s.method === 'GET'
      ? name !== undefined
        ? 'get'
        : watch
          ? 'watch'
          : 'list'
      : (({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[s.method] ?? s.method);
  return { group, resource, verb, name };
}

function allowed(a: Access): boolean {
  return rules.some(
    (r) =>
      r.apiGroups.includes(a.group) &&
      r.resources.includes(a.resource) &&
      r.verbs.includes(a.verb) &&
      (r.resourceNames === undefined || (a.name !== undefined && r.resourceNames.includes(a.name))),
  );
}

/**
 * The Deployment's hub container run as it ships (its args and environment, the volume mounted at a
 * temp folder), against the simulator through a recording proxy. Two changes only, since this
 * machine is not a cluster: `--in-cluster` becomes `--kubeconfig` for the proxy, and it listens on
 * 127.0.0.1 instead of 0.0.0.0.
 */
describe('deploy/ as shipped: the hub container, its Recreate overlap and its Role', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sim: Simulator;
  let proxy: ApiProxy;
  let kubeconfig: string;
  const pods: ChildProcess[] = [];

  function runPod(port: number): { child: ChildProcess; url: string; output: () => string; exited: Promise<number | null> } {
    const mount = container.volumeMounts.find((m) => m.name === 'db')?.mountPath ?? '/data';
    const args = container.args.flatMap((a, i, all) => {
      if (a === '--in-cluster') return ['--kubeconfig', kubeconfig];
      if (all[i - 1] === '--host') return ['127.0.0.1'];
      if (all[i - 1] === '--port') return [String(port)];
      return [a.startsWith(`${mount}/`) ? `${tmp.dir}/volume/${a.slice(mount.length + 1)}` : a];
    });
    const env: Record<string, string> = {};
    for (const e of container.env) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = 'default';
      else if (e.valueFrom?.secretKeyRef !== undefined) env[e.name] = TOKEN;
    }
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    pods.push(child);
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, url: `http://127.0.0.1:${port}`, output: () => output, exited };
  }
  const probe = (url: string) =>
    fetch(`${url}${container.readinessProbe.httpGet.path}`).then(
      (r) => r.status,
      () => 0,
    );
  const call = (url: string, method: string, path: string) =>
    fetch(`${url}/hub/api${path}`, { method, headers: { Authorization: `token ${TOKEN}` } }).then((r) => r.status);

  beforeAll(async () => {
    tmp = tempDir('spawnkeeper-deploy-');
    sim = await startSimulator({ seed: 12, kubelet: FAST_KUBELET });
    proxy = await ApiProxy.start(sim.url);
    kubeconfig = `${tmp.dir}/kubeconfig.json`;
    writeFileSync(kubeconfig, kubeconfigFor(proxy.url));
  });
  afterAll(async () => {
    for (const p of pods) p.kill('SIGKILL');
    await proxy.close();
    await sim.close();
    tmp.cleanup();
  });

  it('refuses the replacement pod while the old one runs, and lets it act at once after the old one’s SIGTERM; the Role allows every call made and exactly the Lease verbs used', async () => {
    const old = runPod(await freePort());
    await waitFor('the old pod ready', async () => ((await probe(old.url)) === 200 ? true : undefined), 30_000);
    // Work that needs every verb: a start that adopts a pod already there (patch), a start (create), a stop (delete).
    await kubeConfigFor(sim.url)
      .makeApiClient(CoreV1Api)
      .createNamespacedPod({ namespace: 'default', body: podManifest('kept/', 'hub', DEFAULT_TEMPLATE) });
    for (const user of ['kept', 'fresh']) {
      expect(await call(old.url, 'POST', `/users/${user}`)).toBe(201);
      expect([201, 202]).toContain(await call(old.url, 'POST', `/users/${user}/server`));
    }
    await waitFor(
      'both running',
      async () => {
        const res = await fetch(`${old.url}/hub/api/users?state=ready`, { headers: { Authorization: `token ${TOKEN}` } });
        return ((await res.json()) as unknown[]).length === 2 ? true : undefined;
      },
      30_000,
    );
    expect([202, 204]).toContain(await call(old.url, 'DELETE', '/users/fresh/server'));

    // Kubernetes starts the replacement while the old pod still runs: it exits, naming the holder, and the kubelet retries it.
    const early = runPod(await freePort());
    expect(await early.exited).toBe(1);
    expect(early.output()).toContain(`held by spawnkeeper pid ${old.child.pid}`);
    expect(await probe(old.url)).toBe(200);

    old.child.kill('SIGTERM');
    expect(await old.exited).toBe(0);
    expect(leases(sim)[0]?.spec.holderIdentity).toBe('');
    const started = Date.now();
    const next = runPod(await freePort());
    await waitFor('the replacement ready', async () => ((await probe(next.url)) === 200 ? true : undefined), 30_000);
    const readyMs = Date.now() - started;
    expect(readyMs).toBeLessThan(15_000); // no wait for the old Lease to expire: it was released
    expect(await call(next.url, 'GET', '/users/kept')).toBe(200);
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
    console.log(`deploy: the replacement pod served ready ${readyMs} ms after it started (process start included)`);

    const calls = proxy.seen.map((s) => ({ s, a: access(s) }));
    expect(calls.filter((c) => c.a === undefined).map((c) => c.s.path)).toEqual([]);
    const denied = calls.filter((c) => c.a !== undefined && !allowed(c.a)).map((c) => `${c.s.method} ${c.s.path}?${c.s.query}`);
    expect(denied).toEqual([]);
    const leaseVerbs = new Set(calls.filter((c) => c.a?.resource === 'leases').map((c) => c.a?.verb));
    const granted = new Set(rules.filter((r) => r.resources.includes('leases')).flatMap((r) => r.verbs));
    expect([...leaseVerbs].sort()).toEqual([...granted].sort());
    expect(calls.some((c) => c.a?.resource === 'pods' && c.a.verb === 'patch')).toBe(true);
  }, 120_000);
});

import { readFileSync } from 'node:fs';
import { loadAllYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseArgs, resolveConfig } from '../../src/hub/config.js';
import { parseServices } from '../../src/hub/auth/services.js';

type Doc = { kind: string; metadata: { name: string }; [k: string]: unknown };
interface DeploymentSpec {
  replicas: number;
  strategy: { type: string };
  template: {
    spec: {
      serviceAccountName: string;
      containers: Array<{ args: string[]; livenessProbe: { httpGet: { path: string } }; readinessProbe: { httpGet: { path: string } } }>;
      volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>;
    };
  };
}
const load = (file: string): Doc[] => loadAllYaml(readFileSync(new URL(`../../deploy/${file}`, import.meta.url), 'utf8')) as Doc[];

describe('deploy manifests', () => {
  it('probe /hub/health for liveness and readiness and run one hub with Recreate on a PVC', () => {
    const [deployment] = load('deployment.yaml') as Array<Doc & { spec: DeploymentSpec }>;
    expect(deployment?.kind).toBe('Deployment');
    const spec = deployment!.spec;
    expect(spec.replicas).toBe(1);
    expect(spec.strategy.type).toBe('Recreate');
    const pod = spec.template.spec;
    expect(pod.serviceAccountName).toBe('spawnkeeper');
    const hub = pod.containers[0]!;
    expect(hub.livenessProbe.httpGet.path).toBe('/hub/health');
    expect(hub.readinessProbe.httpGet.path).toBe('/hub/health');
    expect(hub.args).toEqual(expect.arrayContaining(['serve', '--in-cluster', '--db', '/data/spawnkeeper.db']));
    expect(pod.volumes.find((v) => v.name === 'db')?.persistentVolumeClaim?.claimName).toBe(load('pvc.yaml')[0]?.metadata.name);
  });

  it('grant a Role on pods, events, server Secrets, storage claims and the one Lease only, in the namespace', () => {
    const docs = load('rbac.yaml') as Array<
      Doc & { rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }> }
    >;
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    const rules = docs[1]?.rules ?? [];
    expect(rules.flatMap((r) => r.resources).sort()).toEqual(['events', 'leases', 'leases', 'persistentvolumeclaims', 'pods', 'secrets']);
    for (const r of rules) expect(r.apiGroups).toEqual([r.resources[0] === 'leases' ? 'coordination.k8s.io' : '']);
    expect(rules.find((r) => r.resources.includes('events'))?.verbs.sort()).toEqual(['get', 'list', 'watch']);
    // Secrets: made or replaced before a pod, deleted when it stops, listed by the sweeper. Claims are never deleted.
    expect(rules.find((r) => r.resources.includes('secrets'))?.verbs.sort()).toEqual([
      'create',
      'delete',
      'get',
      'list',
      'update',
      'watch',
    ]);
    expect(rules.find((r) => r.resources.includes('persistentvolumeclaims'))?.verbs.sort()).toEqual(['create', 'get', 'list', 'watch']);
    // Leases: create (a name cannot limit it), then only get and update, of spawnkeeper-<instance>.
    const leases = rules.filter((r) => r.resources.includes('leases'));
    expect(leases.map((r) => [r.verbs.sort(), r.resourceNames ?? null])).toEqual([
      [['create'], null],
      [['get', 'update'], ['spawnkeeper-hub']],
    ]);
    const kustomize = loadAllYaml(readFileSync(new URL('../../deploy/kustomization.yaml', import.meta.url), 'utf8'))[0] as {
      resources: string[];
    };
    expect(kustomize.resources.sort()).toEqual(['deployment.yaml', 'pvc.yaml', 'rbac.yaml', 'service.yaml']);
  });

  it('run beside JupyterHub from deploy/jupyterhub/: the base with a config the hub accepts, mounted from a Secret, giving JupyterHub’s service admin:servers', () => {
    const overlay = load('jupyterhub/kustomization.yaml')[0] as unknown as {
      resources: string[];
      secretGenerator: Array<{ name: string; files: string[] }>;
      patches: Array<{ path: string }>;
    };
    expect(overlay.resources).toEqual(['../']);
    expect(overlay.secretGenerator).toEqual([{ name: 'spawnkeeper-config', files: ['config.json=spawnkeeper-config.json'] }]);
    const [patch] = load(`jupyterhub/${overlay.patches[0]?.path}`) as Array<Doc & { spec: DeploymentSpec }>;
    const [base] = load('deployment.yaml') as Array<Doc & { spec: DeploymentSpec }>;
    const args = patch?.spec.template.spec.containers[0]?.args ?? [];
    expect(args).toEqual([...(base?.spec.template.spec.containers[0]?.args ?? []), '--config', '/etc/spawnkeeper/config.json']);
    const path = new URL('../../deploy/jupyterhub/spawnkeeper-config.json', import.meta.url).pathname;
    const config = resolveConfig({ args: parseArgs(['--config', path]), env: {} });
    const services = parseServices(config.services, config.loadRoles, '');
    expect(services.find((s) => s.name === 'jupyterhub')?.scopes).toEqual(expect.arrayContaining(['admin:servers']));
    expect(config.profiles).toHaveLength(2);
  });
});

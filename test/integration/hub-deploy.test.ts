import { readFileSync } from 'node:fs';
import { loadAllYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';

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

  it('grant a Role on pods and events only, in the namespace', () => {
    const docs = load('rbac.yaml') as Array<Doc & { rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }>;
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    const rules = docs[1]?.rules ?? [];
    expect(rules.flatMap((r) => r.resources).sort()).toEqual(['events', 'pods']);
    expect(rules.every((r) => r.apiGroups.length === 1 && r.apiGroups[0] === '')).toBe(true);
    expect(rules.find((r) => r.resources.includes('events'))?.verbs.sort()).toEqual(['get', 'list', 'watch']);
    const kustomize = loadAllYaml(readFileSync(new URL('../../deploy/kustomization.yaml', import.meta.url), 'utf8'))[0] as { resources: string[] };
    expect(kustomize.resources.sort()).toEqual(['deployment.yaml', 'pvc.yaml', 'rbac.yaml', 'service.yaml']);
  });
});

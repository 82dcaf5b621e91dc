/**
 * The discovery documents let standard tools (kubectl, client generators) find the pod, event and
 * lease resources; only what the simulator serves is listed, so no tool is led to a 404.
 */

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

const COORDINATION = { groupVersion: 'coordination.k8s.io/v1', version: 'v1' };

export function apiGroupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: 'coordination.k8s.io', versions: [COORDINATION], preferredVersion: COORDINATION }] };
}

export function coordinationGroup(): object {
  return { kind: 'APIGroup', apiVersion: 'v1', name: 'coordination.k8s.io', versions: [COORDINATION], preferredVersion: COORDINATION };
}

export function coordinationResources(): object {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: 'coordination.k8s.io/v1',
    resources: [{ name: 'leases', singularName: 'lease', namespaced: true, kind: 'Lease', verbs: ['create', 'delete', 'get', 'list', 'update', 'watch'] }],
  };
}

export function coreResources(): object {
  return {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      { name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['get', 'list', 'watch'], shortNames: ['ev'] },
      { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get', 'list'], shortNames: ['ns'] },
      {
        name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod',
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'], shortNames: ['po'], categories: ['all'],
      },
      { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    ],
  };
}

export function version(): object {
  return {
    major: '1',
    minor: '30',
    gitVersion: 'v1.30.0-spawnkeeper-sim',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2024-01-01T00:00:00Z',
    goVersion: 'go1.22.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function namespaceObject(name: string, creationTimestamp: string): object {
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: { name, uid: `00000000-0000-4000-8000-${name.padEnd(12, '0').slice(0, 12).replace(/[^0-9a-f]/g, '0')}`, resourceVersion: '1', creationTimestamp, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

import type { KindTable } from '../cluster/kinds.js';
import { apiVersionOf } from '../cluster/kinds.js';

/**
 * The discovery documents let standard tools (kubectl, client generators) find the resources;
 * only what the simulator serves is listed, so no tool is led to a 404.
 */

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(kinds: KindTable): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: kinds.groups().map(groupEntry) };
}

function groupEntry(group: { name: string; versions: string[] }): object {
  const versions = group.versions.map((v) => ({ groupVersion: `${group.name}/${v}`, version: v }));
  return { name: group.name, versions, preferredVersion: versions[versions.length - 1] };
}

export function apiGroup(group: { name: string; versions: string[] }): object {
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) };
}

/** CORE_OWN are the core resources served by handlers of their own rather than by the kinds table. */
const CORE_OWN = [
  { name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['get', 'list', 'watch'], shortNames: ['ev'] },
  { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get', 'list'], shortNames: ['ns'] },
  {
    name: 'pods',
    singularName: 'pod',
    namespaced: true,
    kind: 'Pod',
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'],
    shortNames: ['po'],
    categories: ['all'],
  },
  { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
];

/** groupResources is the APIResourceList of one group version: for the core group its own resources and the table's. */
export function groupResources(kinds: KindTable, group: string, version: string): object {
  const table = kinds.inGroup(group, version).map((k) => ({
    name: k.resource,
    singularName: k.singular,
    namespaced: true,
    kind: k.kind,
    verbs: [...k.verbs].sort(),
    ...(k.shortNames === undefined ? {} : { shortNames: [...k.shortNames] }),
    ...(k.categories === undefined ? {} : { categories: [...k.categories] }),
  }));
  const all = [...(group === '' ? CORE_OWN : []), ...table].sort((a, b) => (a.name < b.name ? -1 : 1));
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources: all };
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
    metadata: {
      name,
      uid: `00000000-0000-4000-8000-${name
        .padEnd(12, '0')
        .slice(0, 12)
        .replace(/[^0-9a-f]/g, '0')}`,
      resourceVersion: '1',
      creationTimestamp,
      labels: { 'kubernetes.io/metadata.name': name },
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

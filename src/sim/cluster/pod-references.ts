import type { ClusterStore } from './store.js';
import type { Pod } from './types.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

/**
 * missingSecret names the first Secret a pod's containers take environment from (envFrom's
 * secretRef, env's secretKeyRef) that does not exist and is not optional: the kubelet then cannot
 * make the container's configuration (CreateContainerConfigError) and tries again later.
 */
export function missingSecret(store: ClusterStore, pod: Pod): string | undefined {
  const ns = pod.metadata.namespace;
  for (const c of pod.spec.containers) {
    const refs = [
      ...list(c['envFrom']).map((e) => e['secretRef']),
      ...list(c['env']).map((e) => (isObject(e['valueFrom']) ? e['valueFrom']['secretKeyRef'] : undefined)),
    ];
    for (const ref of refs) {
      if (!isObject(ref) || typeof ref['name'] !== 'string' || ref['optional'] === true) continue;
      if (store.get('secrets', ns, ref['name']) === undefined) return ref['name'];
    }
  }
  return undefined;
}

/** missingClaim names the first PersistentVolumeClaim a pod's volumes use that does not exist: the scheduler cannot place the pod. */
export function missingClaim(store: ClusterStore, pod: Pod): string | undefined {
  for (const v of list(pod.spec['volumes'])) {
    const claim = v['persistentVolumeClaim'];
    if (
      isObject(claim) &&
      typeof claim['claimName'] === 'string' &&
      store.get('persistentvolumeclaims', pod.metadata.namespace, claim['claimName']) === undefined
    )
      return claim['claimName'];
  }
  return undefined;
}

import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { selector } from './manifest.js';

/** ANNOTATION_LEASE_TRANSITIONS is the fencing stamp: the Lease's leaseTransitions when the pod was created. */
export const ANNOTATION_LEASE_TRANSITIONS = 'spawnkeeper.io/lease-transitions';
/** ANNOTATION_LEASE_HOLDER names the hub that created the pod, for people reading the pod. */
export const ANNOTATION_LEASE_HOLDER = 'spawnkeeper.io/lease-holder';

/**
 * PodFence is what the pod client asks before it writes: the stamp to put on a new pod, and whether
 * an existing pod may be adopted or deleted. A pod stamped by a newer holder of the Lease is never
 * touched: the hub that reads such a stamp is stale, whatever it believes.
 */
export interface PodFence {
  stamp(): Record<string, string>;
  permits(pod: V1Pod): boolean;
  /**
   * adopt answers the stamp to write on a permitted pod this hub takes over (one an older holder
   * made), so a stale hub cannot delete it afterwards; undefined when it already carries this tenure's.
   */
  adopt(pod: V1Pod): Record<string, string> | undefined;
}

/** stampOf reads a pod's fencing stamp; undefined for a pod without one (or with a malformed one). */
export function stampOf(pod: V1Pod): number | undefined {
  const raw = pod.metadata?.annotations?.[ANNOTATION_LEASE_TRANSITIONS];
  if (raw === undefined || !/^\d{1,15}$/.test(raw)) return undefined;
  return Number(raw);
}

/** EpochSource is the lease elector, seen from the fence: its identity and the transitions of its tenure. */
export interface EpochSource {
  readonly identity: string;
  /** epoch: leaseTransitions of this hub's current or last tenure, undefined before it ever held the lease. */
  readonly epoch: number | undefined;
}

/**
 * leaseFence stamps new pods with the elector's epoch and permits a pod when it carries no stamp
 * (made before fencing, or by hand with our labels) or a stamp no newer than the epoch; a pod it
 * adopts is stamped again with the epoch.
 */
export function leaseFence(source: EpochSource): PodFence {
  return {
    stamp(): Record<string, string> {
      const epoch = source.epoch;
      return epoch === undefined ? {} : { [ANNOTATION_LEASE_TRANSITIONS]: String(epoch), [ANNOTATION_LEASE_HOLDER]: source.identity };
    },
    permits(pod) {
      const stamp = stampOf(pod);
      if (stamp === undefined) return true;
      const epoch = source.epoch;
      return epoch !== undefined && stamp <= epoch;
    },
    adopt(pod) {
      const epoch = source.epoch;
      return epoch === undefined || stampOf(pod) === epoch ? undefined : this.stamp();
    },
  };
}

/**
 * highestStamp lists this instance's pods and answers the highest stamp among them (-1 when none):
 * a Lease created anew (deleted by someone, a new cluster from a backup) starts above it, so the
 * stamps stay ordered by tenure.
 */
export async function highestStamp(api: CoreV1Api, namespace: string, instance: string): Promise<number> {
  let highest = -1;
  let cont: string | undefined;
  do {
    const page = await api.listNamespacedPod({ namespace, labelSelector: selector(instance), limit: 500, _continue: cont });
    for (const pod of page.items) highest = Math.max(highest, stampOf(pod) ?? -1);
    cont = page.metadata?._continue || undefined;
  } while (cont !== undefined);
  return highest;
}

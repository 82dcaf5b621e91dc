import { ApiException, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { PodFact } from '../../machines/pod-fact.js';
import type { PodClient } from '../runtime/pod-client.js';
import { PodApiError } from '../runtime/pod-client.js';
import type { PodFence } from './fence.js';
import type { PodTemplate } from './manifest.js';
import { podManifest } from './manifest.js';
import { podName } from './names.js';
import { ownerKey, podFact } from './pod-mapper.js';

export interface KubePodClientOptions {
  namespace: string;
  instance: string;
  template: PodTemplate;
  /** deleteGraceSeconds for a first, graceful delete (KubeSpawner's default is 1); retries use 0. */
  deleteGraceSeconds: number;
  /** fence stamps each new pod with the Lease's transitions and keeps this hub off pods of a newer holder. */
  fence?: PodFence;
}

/**
 * KubePodClient runs the machine's effects on a real API server through client-node. Every call is
 * idempotent and touches only pods that carry our labels for this server: a 409 on create adopts our
 * pod, a 404 on delete is success, and a pod of the same name that is not ours (or that a newer
 * holder of the Lease created) reads as absent.
 */
export class KubePodClient implements PodClient {
  constructor(
    private readonly api: CoreV1Api,
    private readonly options: KubePodClientOptions,
  ) {}

  name(key: string): string {
    return podName(key, this.options.template.podNamePrefix);
  }

  /** mine: the pod carries our labels for `key` and no fencing stamp of a newer Lease holder. */
  private mine(pod: V1Pod, key: string): boolean {
    return ownerKey(pod, this.options.instance) === key && this.options.fence?.permits(pod) !== false;
  }

  async create(key: string): Promise<PodFact> {
    const { namespace, instance, template, fence } = this.options;
    const body = podManifest(key, instance, template);
    if (fence !== undefined) body.metadata = { ...body.metadata, annotations: { ...body.metadata?.annotations, ...fence.stamp() } };
    try {
      return podFact(await this.api.createNamespacedPod({ namespace, body }));
    } catch (err) {
      if (statusOf(err) !== 409) throw toPodApiError(err, 'create');
    }
    for (let attempt = 1; ; attempt++) {
      const existing = await this.get(key);
      if (existing === undefined) throw new PodApiError(`pod ${this.name(key)} vanished while being adopted`, { code: 409, reason: 'Conflict' });
      if (ownerKey(existing, instance) !== key) {
        throw new PodApiError(`pod ${this.name(key)} exists and is not spawnkeeper's; it is left alone`, { code: 409, reason: 'Foreign' });
      }
      if (!this.mine(existing, key)) {
        throw new PodApiError(`pod ${this.name(key)} was created by a newer holder of the lease; this hub is stale and leaves it alone`, { code: 409, reason: 'Fenced' });
      }
      const fact = podFact(existing);
      if (fact.deleting) throw new PodApiError(`pod ${this.name(key)} is still terminating`, { code: 409, reason: 'AlreadyExists' });
      const stamp = this.options.fence?.adopt(existing);
      if (stamp === undefined) return fact;
      const stamped = await this.restamp(key, existing, stamp, attempt < 3);
      if (stamped !== undefined) return podFact(stamped);
    }
  }

  /**
   * restamp writes this tenure's fencing stamp on an adopted pod if it has not changed since it was
   * read; undefined (read again) when it has and `retry` allows.
   */
  private async restamp(key: string, pod: V1Pod, annotations: Record<string, string>, retry: boolean): Promise<V1Pod | undefined> {
    try {
      return await this.api.patchNamespacedPod(
        { name: this.name(key), namespace: this.options.namespace, body: { metadata: { resourceVersion: pod.metadata?.resourceVersion, annotations } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      if (retry && statusOf(err) === 409) return undefined;
      throw toPodApiError(err, 'adopt');
    }
  }

  async read(key: string): Promise<PodFact> {
    const pod = await this.get(key);
    return pod === undefined || !this.mine(pod, key) ? { exists: false } : podFact(pod);
  }

  async delete(key: string, options: { force: boolean }): Promise<PodFact> {
    const { namespace, deleteGraceSeconds } = this.options;
    let pod = await this.get(key);
    for (let attempt = 1; ; attempt++) {
      if (pod === undefined || !this.mine(pod, key)) return { exists: false };
      const uid = pod.metadata?.uid;
      try {
        const answer = await this.api.deleteNamespacedPod({
          name: this.name(key),
          namespace,
          gracePeriodSeconds: options.force ? 0 : deleteGraceSeconds,
          // The uid precondition: never delete a pod that replaced the one we read; the resourceVersion
          // one: nor one that changed since, such as a pod a newer Lease holder adopted and stamped.
          body: { preconditions: { uid, resourceVersion: pod.metadata?.resourceVersion } },
        });
        return isPod(answer) ? podFact(answer) : this.read(key);
      } catch (err) {
        const code = statusOf(err);
        if (code === 404) return { exists: false };
        if (code !== 409) throw toPodApiError(err, 'delete');
      }
      // It changed since we read it: the same pod (a status update) is judged and deleted again; another one is left alone.
      const now = await this.get(key);
      if (attempt >= 3 || now === undefined || now.metadata?.uid !== uid) return now === undefined || !this.mine(now, key) ? { exists: false } : podFact(now);
      pod = now;
    }
  }

  /**
   * deleteExact deletes the pod of `key` only if it is ours and, when `uid` is given, that very pod
   * (the sweeper's call: a newer pod of the same server is never touched). Grace 0: it was tried gently.
   */
  async deleteExact(key: string, uid: string | null): Promise<'gone' | 'deleting' | 'replaced'> {
    const { namespace } = this.options;
    const pod = await this.get(key);
    if (pod === undefined || !this.mine(pod, key)) return 'gone';
    if (uid !== null && pod.metadata?.uid !== uid) return 'replaced';
    try {
      await this.api.deleteNamespacedPod({
        name: this.name(key),
        namespace,
        gracePeriodSeconds: 0,
        body: { preconditions: { uid: pod.metadata?.uid, resourceVersion: pod.metadata?.resourceVersion } },
      });
    } catch (err) {
      const code = statusOf(err);
      if (code === 404) return 'gone';
      if (code !== 409) throw toPodApiError(err, 'delete');
      // The pod changed since it was read: look again rather than guess which precondition failed.
      const now = await this.get(key);
      if (now === undefined || !this.mine(now, key)) return 'gone';
      return uid !== null && now.metadata?.uid !== uid ? 'replaced' : 'deleting';
    }
    return (await this.get(key)) === undefined ? 'gone' : 'deleting';
  }

  private async get(key: string): Promise<V1Pod | undefined> {
    try {
      return await this.api.readNamespacedPod({ name: this.name(key), namespace: this.options.namespace });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw toPodApiError(err, 'read');
    }
  }
}

function isPod(v: unknown): v is V1Pod {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Pod';
}

/** statusOf is the HTTP status of a client-node failure, if it got that far. */
export function statusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** toPodApiError keeps the status and the Status reason of a failed call, and a short message. */
export function toPodApiError(err: unknown, op: string): PodApiError {
  if (err instanceof PodApiError) return err;
  const code = statusOf(err);
  let reason: string | undefined;
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof ApiException) {
    try {
      const status = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as { reason?: string; message?: string };
      reason = status.reason;
      message = status.message ?? message;
    } catch {
      // a body that is not a Status: keep the exception's message
    }
  }
  return new PodApiError(`${op} failed${code === undefined ? '' : ` (${code})`}: ${message.slice(0, 200)}`, { code, reason, cause: err });
}

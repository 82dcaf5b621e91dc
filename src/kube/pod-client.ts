import { ApiException, Observable } from '@kubernetes/client-node';
import type { ConfigurationOptions, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { PodFact } from '../../machines/pod-fact.js';
import type { PodClient } from '../runtime/pod-client.js';
import { PodApiError } from '../runtime/pod-client.js';
import type { PodTemplate } from './manifest.js';
import { podManifest } from './manifest.js';
import { podName, podNameCandidates } from './names.js';
import { ownerKey, podFact } from './pod-mapper.js';

export interface KubePodClientOptions {
  namespace: string;
  instance: string;
  template: PodTemplate;
  /** deleteGraceSeconds for a first, graceful delete (KubeSpawner's default is 1); retries use 0. */
  deleteGraceSeconds: number;
}

/**
 * KubePodClient runs the machine's effects on a real API server through client-node. Every call is
 * idempotent and touches only pods that carry our labels for this server: a 409 on create adopts our
 * pod, a 404 on delete is success, and a pod of the same name that is not ours reads as absent.
 * Every HTTP request carries the call's AbortSignal, so a call that timed out ends its request
 * instead of landing later; and a delete names the uid it read, so a late one cannot remove a newer pod.
 */
export class KubePodClient implements PodClient {
  constructor(
    private readonly api: CoreV1Api,
    private readonly options: KubePodClientOptions,
  ) {}

  name(key: string): string {
    return podName(key, this.options.template.podNamePrefix);
  }

  async create(key: string, signal?: AbortSignal): Promise<PodFact> {
    const { namespace, instance, template } = this.options;
    // A pod made under the earlier naming scheme is this server's pod still: adopt it, never make a second one.
    const earlier = await this.find(key, null, 1, signal);
    if (earlier !== undefined) return adopt(key, earlier);
    try {
      return podFact(await this.api.createNamespacedPod({ namespace, body: podManifest(key, instance, template) }, withSignal(signal)));
    } catch (err) {
      if (statusOf(err) !== 409) throw toPodApiError(err, 'create');
    }
    const existing = await this.getAt(this.name(key), signal);
    if (existing === undefined) throw new PodApiError(`pod ${this.name(key)} vanished while being adopted`, { code: 409, reason: 'Conflict' });
    if (ownerKey(existing, instance) !== key) {
      throw new PodApiError(`pod ${this.name(key)} exists and is not spawnkeeper's; it is left alone`, { code: 409, reason: 'Foreign' });
    }
    return adopt(key, existing);
  }

  async read(key: string, signal?: AbortSignal): Promise<PodFact> {
    const pod = await this.find(key, null, 0, signal);
    return pod === undefined ? { exists: false } : podFact(pod);
  }

  async delete(key: string, options: { force: boolean }, signal?: AbortSignal): Promise<PodFact> {
    const pod = await this.find(key, null, 0, signal);
    if (pod === undefined) return { exists: false };
    try {
      const answer = await this.deleteRead(key, pod, options.force ? 0 : this.options.deleteGraceSeconds, signal);
      return isPod(answer) ? podFact(answer) : this.read(key, signal);
    } catch (err) {
      const code = statusOf(err);
      if (code === 404) return { exists: false };
      if (code === 409) return this.read(key, signal);
      throw toPodApiError(err, 'delete');
    }
  }

  /**
   * deleteExact deletes the pod of `key` only if it is ours and, when `uid` is given, that very pod
   * (the sweeper's call: a newer pod of the same server is never touched). Grace 0: it was tried gently.
   */
  async deleteExact(key: string, uid: string | null, signal?: AbortSignal): Promise<'gone' | 'deleting' | 'replaced'> {
    const pod = await this.find(key, uid, 0, signal);
    if (pod === undefined) return 'gone';
    if (uid !== null && pod.metadata?.uid !== uid) return 'replaced';
    try {
      await this.deleteRead(key, pod, 0, signal);
    } catch (err) {
      const code = statusOf(err);
      if (code === 404) return 'gone';
      if (code === 409) return 'replaced';
      throw toPodApiError(err, 'delete');
    }
    return (await this.getAt(String(pod.metadata?.name), signal))?.metadata?.uid === pod.metadata?.uid ? 'deleting' : 'gone';
  }

  /**
   * deleteRead deletes exactly the pod that was read, by its name and uid (a precondition the API
   * server checks: a pod that replaced it under the same name answers 409 and is left alone). Every delete goes here.
   */
  private deleteRead(key: string, pod: V1Pod, gracePeriodSeconds: number, signal: AbortSignal | undefined): Promise<V1Pod> {
    const uid = pod.metadata?.uid;
    if (uid === undefined || uid === '') throw new PodApiError(`pod ${this.name(key)} has no uid; it is not deleted blind`, { reason: 'NoUid' });
    return this.api.deleteNamespacedPod(
      { name: String(pod.metadata?.name), namespace: this.options.namespace, gracePeriodSeconds, body: { preconditions: { uid } } },
      withSignal(signal),
    );
  }

  /**
   * find reads the pod of `key` under each name it may have (the current scheme's, then the earlier
   * one's) and returns the first that is ours for `key`, preferring the pod with `uid` when one is given.
   * `from` skips candidates: create asks only for earlier names, as its own call answers for the current one.
   */
  private async find(key: string, uid: string | null = null, from = 0, signal?: AbortSignal): Promise<V1Pod | undefined> {
    let fallback: V1Pod | undefined;
    for (const name of podNameCandidates(key, this.options.template.podNamePrefix).slice(from)) {
      const pod = await this.getAt(name, signal);
      if (pod === undefined || ownerKey(pod, this.options.instance) !== key) continue;
      if (uid === null || pod.metadata?.uid === uid) return pod;
      fallback ??= pod;
    }
    return fallback;
  }

  private async getAt(name: string, signal?: AbortSignal): Promise<V1Pod | undefined> {
    try {
      return await this.api.readNamespacedPod({ name, namespace: this.options.namespace }, withSignal(signal));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw toPodApiError(err, 'read');
    }
  }
}

/** adopt takes an existing pod of ours as the result of a create, unless it is on its way out. */
function adopt(key: string, pod: V1Pod): PodFact {
  const fact = podFact(pod);
  if (fact.deleting) throw new PodApiError(`pod ${String(pod.metadata?.name)} of ${key} is still terminating`, { code: 409, reason: 'AlreadyExists' });
  return fact;
}

/**
 * withSignal gives one client-node call the AbortSignal its request must carry. client-node 1.4 takes
 * no signal argument, but each call accepts configuration options, and its request context has
 * `setSignal`: a middleware appended for this call sets it before the request is sent, and the fetch
 * underneath aborts the HTTP request (and the wait for its answer) when the signal fires.
 */
export function withSignal(signal: AbortSignal | undefined): ConfigurationOptions | undefined {
  if (signal === undefined) return undefined;
  signal.throwIfAborted();
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
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

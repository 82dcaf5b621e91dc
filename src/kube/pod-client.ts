import { setTimeout as pause } from 'node:timers/promises';
import { ApiException, Observable, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ConfigurationOptions, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { PodFact } from '../../machines/pod-fact.js';
import type { PodClient } from '../runtime/pod-client.js';
import { PodApiError } from '../runtime/pod-client.js';
import type { PodFence } from './fence.js';
import type { PodTemplate } from './manifest.js';
import { podManifest } from './manifest.js';
import { podName, podNameCandidates } from './names.js';
import { ownerKey, podFact } from './pod-mapper.js';
import type { ServerObjects } from './server-objects.js';
import type { ServerSpec } from './spec.js';
import { mergeOverrides, secretNameOf } from './spec.js';

/** SpecSource gives the spec row of a server's current spawn (the spec JSON and its environment JSON), if any. */
export interface SpecSource {
  get(key: string): { spec: string; env: string | null } | undefined;
}

export interface KubePodClientOptions {
  namespace: string;
  instance: string;
  template: PodTemplate;
  /** deleteGraceSeconds for a first, graceful delete (KubeSpawner's default is 1); retries use 0. */
  deleteGraceSeconds: number;
  /** fence stamps each new pod with the Lease's transitions and keeps this hub off pods of a newer holder. */
  fence?: PodFence;
  /** specs: what each spawn asked for beyond the template; objects: its Secret and claim (both or neither). */
  specs?: SpecSource;
  objects?: ServerObjects;
}

/**
 * KubePodClient runs the machine's effects on a real API server through client-node. Every call is
 * idempotent and touches only pods that carry our labels for this server: a 409 on create adopts our
 * pod, a 404 on delete is success, and a pod of the same name that is not ours reads as absent.
 * Every HTTP request carries the call's AbortSignal, so a call that timed out ends its request
 * instead of landing later; and a delete names the uid and resourceVersion it read, so a late one
 * cannot remove a newer pod, nor one a newer holder of the Lease has adopted since. A pod stamped by
 * a newer Lease holder is not ours.
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

  async create(key: string, signal?: AbortSignal): Promise<PodFact> {
    const { namespace, instance, template, fence } = this.options;
    // A pod made under the earlier naming scheme is this server's pod still: adopt it, never make a second one.
    const earlier = await this.find(key, null, 1, signal);
    if (earlier !== undefined) return this.adopt(key, earlier, signal);
    const body = await this.prepare(key, template, signal);
    if (fence !== undefined) body.metadata = { ...body.metadata, annotations: { ...body.metadata?.annotations, ...fence.stamp() } };
    try {
      return podFact(await this.api.createNamespacedPod({ namespace, body }, withSignal(signal)));
    } catch (err) {
      if (statusOf(err) !== 409) throw toPodApiError(err, 'create');
    }
    const existing = await this.getAt(this.name(key), signal);
    if (existing === undefined)
      throw new PodApiError(`pod ${this.name(key)} vanished while being adopted`, { code: 409, reason: 'Conflict' });
    if (ownerKey(existing, instance) !== key) {
      throw new PodApiError(`pod ${this.name(key)} exists and is not spawnkeeper's; it is left alone`, { code: 409, reason: 'Foreign' });
    }
    return this.adopt(key, existing, signal);
  }

  /**
   * prepare makes the pod of a spawn: its spec laid over the template, and first what the pod needs
   * (the Secret of its environment, created or replaced, and its claim, created if missing), so the
   * pod never waits for them.
   */
  private async prepare(key: string, template: PodTemplate, signal: AbortSignal | undefined): Promise<V1Pod> {
    const { specs, objects, instance } = this.options;
    const row = specs?.get(key);
    if (row === undefined || objects === undefined) {
      if (template.storage != null) await objects?.ensureClaim(key, template.storage, signal);
      return podManifest(key, instance, template);
    }
    const spec = JSON.parse(row.spec) as ServerSpec;
    const merged = mergeOverrides(template, spec.overrides);
    let secretName: string | undefined;
    if (row.env !== null) {
      secretName = secretNameOf(this.name(key));
      await objects.putSecret(key, secretName, JSON.parse(row.env) as Record<string, string>, signal);
    }
    if (merged.storage != null) await objects.ensureClaim(key, merged.storage, signal);
    return podManifest(key, instance, merged, secretName);
  }

  /**
   * adopt takes an existing pod of ours as the result of a create, unless it is on its way out or a
   * newer Lease holder's; a pod an older holder made is stamped with this hub's tenure first (if it
   * has not changed since it was read), so that holder, if it still runs, cannot delete it any more.
   */
  private async adopt(key: string, found: V1Pod, signal: AbortSignal | undefined): Promise<PodFact> {
    let pod = found;
    for (let attempt = 1; ; attempt++) {
      const name = String(pod.metadata?.name);
      if (!this.mine(pod, key))
        throw new PodApiError(`pod ${name} was created by a newer holder of the lease; this hub is stale and leaves it alone`, {
          code: 409,
          reason: 'Fenced',
        });
      const fact = podFact(pod);
      if (fact.deleting) throw new PodApiError(`pod ${name} of ${key} is still terminating`, { code: 409, reason: 'AlreadyExists' });
      if (fact.exists && (fact.phase === 'Failed' || fact.phase === 'Succeeded')) {
        // An ended pod is an earlier life of the server: clear it (exactly it, as read) and let the start create anew.
        await this.deleteRead(key, pod, 0, signal).catch((err: unknown) => {
          if (statusOf(err) !== 404 && statusOf(err) !== 409) throw toPodApiError(err, 'delete');
        });
        throw new PodApiError(`pod ${name} of ${key} had ended (${fact.phase}); it was deleted for a fresh one`, {
          code: 409,
          reason: 'AlreadyExists',
        });
      }
      const stamp = this.options.fence?.adopt(pod);
      if (stamp === undefined) return fact;
      try {
        const body = { metadata: { resourceVersion: pod.metadata?.resourceVersion, annotations: stamp } };
        return podFact(
          await this.api.patchNamespacedPod(
            { name, namespace: this.options.namespace, body },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch, withSignal(signal)),
          ),
        );
      } catch (err) {
        if (statusOf(err) !== 409 || attempt >= CONFLICT_ATTEMPTS) throw toPodApiError(err, 'adopt');
      }
      await conflictPause(attempt, signal);
      const again = await this.getAt(name, signal);
      if (again === undefined || ownerKey(again, this.options.instance) !== key)
        throw new PodApiError(`pod ${name} vanished while being adopted`, { code: 409, reason: 'Conflict' });
      pod = again;
    }
  }

  async read(key: string, signal?: AbortSignal): Promise<PodFact> {
    const pod = await this.find(key, null, 0, signal);
    return pod === undefined ? { exists: false } : podFact(pod);
  }

  /**
   * delete deletes the server's pod, then its Secret: the environment is needed no more once the pod
   * is going. Deleting the Secret is best effort; one left behind is the sweeper's.
   */
  async delete(key: string, options: { force: boolean }, signal?: AbortSignal): Promise<PodFact> {
    const fact = await this.deletePod(key, options, signal);
    await this.options.objects?.dropSecret(key, secretNameOf(this.name(key)), signal).catch(() => undefined);
    return fact;
  }

  private async deletePod(key: string, options: { force: boolean }, signal?: AbortSignal): Promise<PodFact> {
    let pod = await this.find(key, null, 0, signal);
    for (let attempt = 1; ; attempt++) {
      if (pod === undefined) return { exists: false };
      try {
        const answer = await this.deleteRead(key, pod, options.force ? 0 : this.options.deleteGraceSeconds, signal);
        return isPod(answer) ? podFact(answer) : this.read(key, signal);
      } catch (err) {
        const code = statusOf(err);
        if (code === 404) return { exists: false };
        if (code !== 409) throw toPodApiError(err, 'delete');
      }
      // It changed since it was read: the same pod (a status update) is judged and deleted again; another is left alone.
      await conflictPause(attempt, signal);
      const now = await this.find(key, null, 0, signal);
      if (attempt >= CONFLICT_ATTEMPTS || now === undefined || now.metadata?.uid !== pod.metadata?.uid)
        return now === undefined ? { exists: false } : podFact(now);
      pod = now;
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
      if (code !== 409) throw toPodApiError(err, 'delete');
      // It changed since it was read: look again rather than guess which precondition failed.
      const now = await this.find(key, uid, 0, signal);
      if (now === undefined) return 'gone';
      return uid !== null && now.metadata?.uid !== uid ? 'replaced' : 'deleting';
    }
    return (await this.getAt(String(pod.metadata?.name), signal))?.metadata?.uid === pod.metadata?.uid ? 'deleting' : 'gone';
  }

  /**
   * deleteRead deletes exactly the pod that was read, as it was read, by its name, uid and
   * resourceVersion (preconditions the API server checks: a pod that replaced it under the same name,
   * or that changed since, such as one a newer Lease holder adopted and stamped, answers 409 and is
   * left alone). Every delete goes here.
   */
  private deleteRead(key: string, pod: V1Pod, gracePeriodSeconds: number, signal: AbortSignal | undefined): Promise<V1Pod> {
    const uid = pod.metadata?.uid;
    if (uid === undefined || uid === '')
      throw new PodApiError(`pod ${this.name(key)} has no uid; it is not deleted blind`, { reason: 'NoUid' });
    const resourceVersion = pod.metadata?.resourceVersion;
    return this.api.deleteNamespacedPod(
      {
        name: String(pod.metadata?.name),
        namespace: this.options.namespace,
        gracePeriodSeconds,
        body: { preconditions: { uid, ...(resourceVersion === undefined ? {} : { resourceVersion }) } },
      },
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
      if (pod === undefined || !this.mine(pod, key)) continue;
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

/**
 * A write conditioned on the resourceVersion it read answers 409 when anything changed the pod in
 * between, most often the kubelet writing its status while the pod starts. Like client-go's
 * RetryOnConflict, such a write is read and judged again up to CONFLICT_ATTEMPTS times, with a short
 * growing pause so a burst of status updates can pass.
 */
const CONFLICT_ATTEMPTS = 5;

function conflictPause(attempt: number, signal: AbortSignal | undefined): Promise<void> {
  return pause(10 * attempt, undefined, signal === undefined ? undefined : { signal });
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

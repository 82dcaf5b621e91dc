import type { PatchType } from '../api/merge-patch.js';
import { applyPatch } from '../api/merge-patch.js';
import type { ObjectRegistryOptions } from './object-registry.js';
import { newPod } from './pod-validation.js';
import { alreadyExists, badRequest, conflict, invalid, notFound } from '../api/status.js';
import type { Pod } from './types.js';
import { rfc3339 } from './types.js';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** checkPreconditions refuses a delete whose preconditions (uid, resourceVersion) the object does not meet, with the API server's 409. */
export function checkPreconditions(
  options: DeleteOptions,
  meta: { uid?: string | undefined; resourceVersion?: string | undefined },
  resource: string,
  name: string,
  group = '',
): void {
  for (const [field, label] of [
    ['uid', 'UID'],
    ['resourceVersion', 'ResourceVersion'],
  ] as const) {
    const wanted = options.preconditions?.[field];
    if (wanted !== undefined && wanted !== meta[field]) {
      throw conflict(
        resource,
        name,
        `Precondition failed: ${label} in precondition: ${wanted}, ${label} in object meta: ${meta[field]}`,
        group,
      );
    }
  }
}

export interface PodRegistryOptions extends ObjectRegistryOptions {
  /** admit may amend a valid new pod before it is stored, as an admission webhook would. */
  admit?: (pod: Pod) => void;
}

/**
 * PodRegistry holds the API server's rules for pods (create, read, patch, graceful delete,
 * finalizers) in one place, so the HTTP handlers, the kubelet and the control API cannot disagree
 * on when a pod is really gone.
 */
export class PodRegistry {
  constructor(private readonly options: PodRegistryOptions) {}

  /** create validates and defaults the pod, lets admission amend it, then stores it (201 or 409). */
  create(namespace: string, body: unknown): Pod {
    const { store, clock, namespaces, uid, suffix, admit } = this.options;
    if (!namespaces.has(namespace)) throw notFound('namespaces', namespace);
    const pod = newPod(body, { namespace, now: clock.now(), uid, suffix });
    if (store.get('pods', namespace, pod.metadata.name) !== undefined) throw alreadyExists('pods', pod.metadata.name);
    admit?.(pod);
    return store.create('pods', pod) as Pod;
  }

  find(namespace: string, name: string): Pod | undefined {
    return this.options.store.get('pods', namespace, name) as Pod | undefined;
  }

  get(namespace: string, name: string): Pod {
    const pod = this.find(namespace, name);
    if (pod === undefined) throw notFound('pods', name);
    return pod;
  }

  list(namespace?: string): Pod[] {
    return this.options.store.list('pods', namespace) as Pod[];
  }

  /**
   * delete follows the API server: an unscheduled or finished pod, or grace 0, goes at once (unless
   * finalizers hold it); otherwise the pod gets deletionTimestamp = now + grace and waits for its
   * kubelet. A second delete may only shorten the grace.
   */
  delete(namespace: string, name: string, options: DeleteOptions = {}): Pod {
    const pod = this.get(namespace, name);
    checkPreconditions(options, pod.metadata, 'pods', name);
    const requested = options.gracePeriodSeconds;
    if (requested !== undefined && (!Number.isInteger(requested) || requested < 0))
      throw badRequest(`invalid gracePeriodSeconds: ${requested}`);
    const finished = pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
    let grace = requested ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    if (pod.spec.nodeName === undefined || finished) grace = 0;

    const current = pod.metadata.deletionGracePeriodSeconds;
    if (pod.metadata.deletionTimestamp !== undefined && current !== undefined && grace >= current) return pod;
    if (grace === 0) return this.finishDeletion(namespace, name) ?? pod;
    return this.edit(namespace, name, (draft) => {
      draft.metadata.deletionTimestamp = rfc3339(this.options.clock.now() + grace * 1000);
      draft.metadata.deletionGracePeriodSeconds = grace;
    });
  }

  /**
   * finishDeletion is the final, grace-0 delete (the kubelet's confirmation, or a force delete): the
   * pod goes now, or, while finalizers remain, stays terminating with a zero grace.
   */
  finishDeletion(namespace: string, name: string): Pod | undefined {
    const pod = this.find(namespace, name);
    if (pod === undefined) return undefined;
    const stamp = (draft: Pod): void => {
      draft.metadata.deletionTimestamp ??= rfc3339(this.options.clock.now());
      draft.metadata.deletionGracePeriodSeconds = 0;
    };
    if ((pod.metadata.finalizers ?? []).length > 0) {
      if (pod.metadata.deletionGracePeriodSeconds === 0) return pod;
      return this.edit(namespace, name, stamp);
    }
    return this.options.store.remove('pods', namespace, name, (last) => stamp(last as Pod)) as Pod;
  }

  /** edit commits a change made by the cluster itself (scheduler, kubelet, controllers). */
  edit(namespace: string, name: string, change: (draft: Pod) => void): Pod {
    return this.options.store.modify('pods', namespace, name, (draft) => change(draft as Pod)) as Pod;
  }

  /** removeFinalizers drops finalizers (all, or the named one) and completes a deletion they held up. */
  removeFinalizers(namespace: string, name: string, finalizer?: string): Pod | undefined {
    const pod = this.find(namespace, name);
    if (pod === undefined || (pod.metadata.finalizers ?? []).length === 0) return pod;
    const updated = this.edit(namespace, name, (draft) => {
      const left = finalizer === undefined ? [] : (draft.metadata.finalizers ?? []).filter((f) => f !== finalizer);
      if (left.length > 0) draft.metadata.finalizers = left;
      else delete draft.metadata.finalizers;
    });
    return this.settleIfReleased(updated);
  }

  /**
   * patch applies a JSON or merge patch a client sent; pods let clients change only labels, annotations and
   * finalizers this way, and a resourceVersion in the patch must match (optimistic concurrency).
   */
  patch(namespace: string, name: string, body: unknown, type: PatchType = 'application/merge-patch+json'): Pod {
    const pod = this.get(namespace, name);
    const patched = applyPatch(type, pod, body) as Pod;
    if (typeof patched !== 'object' || patched === null || typeof patched.metadata !== 'object' || patched.metadata === null) {
      throw badRequest('the patch does not produce an object with metadata');
    }
    const wantRv = patched.metadata.resourceVersion;
    if (wantRv !== pod.metadata.resourceVersion)
      throw conflict('pods', name, 'the object has been modified; please apply your changes to the latest version and try again');
    const frozen = (p: Pod): string => {
      const { labels: _l, annotations: _a, finalizers: _f, resourceVersion: _r, ...meta } = p.metadata;
      return JSON.stringify([p.apiVersion, p.kind, meta, p.spec, p.status]);
    };
    if (frozen(patched) !== frozen(pod)) {
      throw invalid('Pod', name, [
        {
          field: 'spec',
          message: 'Forbidden: the simulator lets a patch change only metadata.labels, metadata.annotations and metadata.finalizers',
        },
      ]);
    }
    const check = newPod(
      {
        metadata: {
          name,
          labels: patched.metadata.labels,
          annotations: patched.metadata.annotations,
          finalizers: patched.metadata.finalizers,
        },
        spec: pod.spec,
      },
      {
        namespace,
        now: 0,
        uid: () => '',
        suffix: () => '',
      },
    );
    const updated = this.edit(namespace, name, (draft) => {
      for (const field of ['labels', 'annotations', 'finalizers'] as const) {
        const value = check.metadata[field];
        if (value === undefined) delete draft.metadata[field];
        else (draft.metadata as Record<string, unknown>)[field] = value;
      }
    });
    return this.settleIfReleased(updated);
  }

  private settleIfReleased(pod: Pod): Pod {
    const released =
      pod.metadata.deletionTimestamp !== undefined &&
      pod.metadata.deletionGracePeriodSeconds === 0 &&
      (pod.metadata.finalizers ?? []).length === 0;
    if (!released) return pod;
    return this.finishDeletion(pod.metadata.namespace, pod.metadata.name) ?? pod;
  }
}

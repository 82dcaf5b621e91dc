import type { SimClock } from './clock.js';
import type { KindContext, KindSpec } from './kinds.js';
import { apiVersionOf } from './kinds.js';
import type { PatchType } from '../api/merge-patch.js';
import { applyPatch } from '../api/merge-patch.js';
import type { Cause } from './object-meta.js';
import { checkEnvelope, isRecord, newObjectMeta, revisedObjectMeta, sameJson } from './object-meta.js';
import type { DeleteOptions } from './pod-registry.js';
import { checkPreconditions } from './pod-registry.js';
import { alreadyExists, badRequest, conflict, deleted, invalid, notFound } from '../api/status.js';
import type { ClusterStore } from './store.js';
import type { KubeObject } from './types.js';
import { rfc3339 } from './types.js';

export interface ObjectRegistryOptions {
  store: ClusterStore;
  clock: SimClock;
  namespaces: Set<string>;
  uid: () => string;
  suffix: () => string;
}

const MODIFIED_ELSEWHERE = 'the object has been modified; please apply your changes to the latest version and try again';

/**
 * ObjectRegistry holds the API server's generic rules for the kinds of the kinds table: create
 * (422 for an invalid object, 409 for a taken name), read, full replacement and merge patch with
 * optimistic concurrency (409 on a stale resourceVersion), and deletion, which is immediate unless
 * a client's finalizers hold the object.
 */
export class ObjectRegistry {
  constructor(private readonly options: ObjectRegistryOptions) {}

  create(kind: KindSpec, namespace: string, body: unknown): KubeObject {
    const { store, namespaces } = this.options;
    if (!namespaces.has(namespace)) throw notFound('namespaces', namespace);
    const checked = checkEnvelope(body, { kind: kind.kind, apiVersion: apiVersionOf(kind), namespace });
    const ctx = this.context(namespace);
    const causes: Cause[] = [];
    const metadata = newObjectMeta(checked, ctx, causes, kind.nameRule);
    const object = kind.validate(checked, metadata, ctx, causes);
    if (causes.length > 0) throw invalid(kind.kind, metadata.name, causes, kind.group);
    if (store.get(kind.resource, namespace, metadata.name) !== undefined) throw alreadyExists(kind.resource, metadata.name, kind.group);
    return store.create(kind.resource, object);
  }

  get(kind: KindSpec, namespace: string, name: string): KubeObject {
    const object = this.options.store.get(kind.resource, namespace, name);
    if (object === undefined) throw notFound(kind.resource, name, kind.group);
    return object;
  }

  /**
   * replace is PUT: the body is the whole new object; a resourceVersion in it must be the stored
   * one (absent means unconditional), and an update that changes nothing writes nothing.
   */
  replace(kind: KindSpec, namespace: string, name: string, body: unknown): KubeObject {
    const previous = this.get(kind, namespace, name);
    const checked = checkEnvelope(body, { kind: kind.kind, apiVersion: apiVersionOf(kind), namespace });
    const meta = isRecord(checked['metadata']) ? checked['metadata'] : {};
    if (meta['name'] !== undefined && meta['name'] !== name)
      throw badRequest(`the name of the object (${String(meta['name'])}) does not match the name on the URL (${name})`);
    const rv = meta['resourceVersion'];
    if (rv !== undefined && rv !== '' && rv !== previous.metadata.resourceVersion)
      throw conflict(kind.resource, name, MODIFIED_ELSEWHERE, kind.group);
    const uid = meta['uid'];
    if (typeof uid === 'string' && uid !== '' && uid !== previous.metadata.uid) {
      throw conflict(
        kind.resource,
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${previous.metadata.uid}`,
        kind.group,
      );
    }
    const causes: Cause[] = [];
    const metadata = revisedObjectMeta(checked, previous.metadata, causes);
    const next = kind.validate(checked, metadata, this.context(namespace), causes, previous);
    if (causes.length > 0) throw invalid(kind.kind, name, causes, kind.group);
    if (sameJson(next, previous)) return previous;
    const stored = this.options.store.modify(kind.resource, namespace, name, (draft) => {
      for (const key of Object.keys(draft)) delete (draft as Record<string, unknown>)[key];
      Object.assign(draft, structuredClone(next));
    });
    return this.settleIfReleased(kind, stored);
  }

  /** patch applies a JSON or merge patch to the stored object and stores the result as a replacement would. */
  patch(kind: KindSpec, namespace: string, name: string, body: unknown, type: PatchType = 'application/merge-patch+json'): KubeObject {
    if (type !== 'application/json-patch+json' && !isRecord(body)) throw badRequest('the patch must be a JSON object');
    const previous = this.get(kind, namespace, name);
    return this.replace(kind, namespace, name, applyPatch(type, previous, body));
  }

  /**
   * delete removes the object at once (no kubelet stands behind these kinds) unless finalizers hold
   * it: then it gets its deletionTimestamp and goes when the last finalizer is removed.
   */
  delete(kind: KindSpec, namespace: string, name: string, options: DeleteOptions = {}): object {
    const previous = this.get(kind, namespace, name);
    checkPreconditions(options, previous.metadata, kind.resource, name, kind.group);
    const stamp = (meta: KubeObject['metadata']): void => {
      meta.deletionTimestamp ??= rfc3339(this.options.clock.now());
      meta.deletionGracePeriodSeconds = 0;
    };
    let last: KubeObject;
    if ((previous.metadata.finalizers ?? []).length > 0) {
      last =
        previous.metadata.deletionTimestamp === undefined
          ? this.options.store.modify(kind.resource, namespace, name, (draft) => stamp(draft.metadata))
          : previous;
    } else {
      last = this.options.store.remove(kind.resource, namespace, name, (draft) => stamp(draft.metadata));
    }
    return kind.returnDeletedObject ? last : deleted(kind.resource, name, previous.metadata.uid, kind.group);
  }

  private settleIfReleased(kind: KindSpec, object: KubeObject): KubeObject {
    if (object.metadata.deletionTimestamp === undefined || (object.metadata.finalizers ?? []).length > 0) return object;
    return this.options.store.remove(kind.resource, object.metadata.namespace, object.metadata.name);
  }

  private context(namespace: string): KindContext {
    const { store, clock, uid, suffix } = this.options;
    return { namespace, now: clock.now(), uid, suffix, objects: (resource) => store.list(resource) };
  }
}

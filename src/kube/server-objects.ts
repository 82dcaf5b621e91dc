import type { CoreV1Api, V1ObjectMeta, V1Secret } from '@kubernetes/client-node';
import { PodApiError } from '../runtime/pod-client.js';
import { selector } from './manifest.js';
import { ANNOTATION_KEY, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_SERVER, MANAGED_BY, keyHash } from './names.js';
import { ownerKey } from './pod-mapper.js';
import type { StorageTemplate } from './spec.js';
import { claimNameOf, storageOf } from './spec.js';
import { statusOf, toPodApiError, withSignal } from './pod-client.js';

/** OurSecret is a Secret with our labels, as listed: enough to delete exactly it. */
export interface OurSecret {
  readonly key: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
}

/** ourMeta is the metadata that makes an object one of this instance's for a server (as its pod's). */
function ourMeta(name: string, key: string, instance: string): V1ObjectMeta {
  return {
    name,
    labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_INSTANCE]: instance, [LABEL_SERVER]: keyHash(key) },
    annotations: { [ANNOTATION_KEY]: key },
  };
}

/**
 * ServerObjects are the objects a server's pod needs besides itself: the Secret of its environment
 * and its storage claim. Like the pod client, it only ever changes objects that carry our labels for
 * the server; one of the same name that is not ours is left alone and the call fails.
 */
export class ServerObjects {
  constructor(
    private readonly api: CoreV1Api,
    private readonly namespace: string,
    private readonly instance: string,
  ) {}

  /** putSecret creates the server's Secret with `env`, or replaces the data of the one there (ours only). */
  async putSecret(key: string, name: string, env: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const { namespace } = this;
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: ourMeta(name, key, this.instance),
      type: 'Opaque',
      stringData: env,
    };
    try {
      await this.api.createNamespacedSecret({ namespace, body }, withSignal(signal));
      return;
    } catch (err) {
      if (statusOf(err) !== 409) throw toPodApiError(err, 'create secret');
    }
    const existing = await this.readSecret(name, signal);
    if (existing === undefined) throw new PodApiError(`secret ${name} vanished while being replaced`, { code: 409, reason: 'Conflict' });
    if (ownerKey(existing, this.instance) !== key)
      throw new PodApiError(`secret ${name} exists and is not spawnkeeper's; it is left alone`, { code: 409, reason: 'Foreign' });
    // A replace names the version it read: a concurrent change answers 409, and the create is retried.
    const replacement: V1Secret = { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } };
    try {
      await this.api.replaceNamespacedSecret({ name, namespace, body: replacement }, withSignal(signal));
    } catch (err) {
      throw toPodApiError(err, 'replace secret');
    }
  }

  /** dropSecret deletes the server's Secret if it is there and ours; gone already is success. */
  async dropSecret(key: string, name: string, signal?: AbortSignal): Promise<void> {
    const existing = await this.readSecret(name, signal);
    if (existing === undefined || ownerKey(existing, this.instance) !== key) return;
    await this.deleteSecret(
      { key, name, uid: String(existing.metadata?.uid), resourceVersion: String(existing.metadata?.resourceVersion) },
      signal,
    );
  }

  /** listSecrets lists this instance's Secrets. */
  async listSecrets(signal?: AbortSignal): Promise<OurSecret[]> {
    let list;
    try {
      list = await this.api.listNamespacedSecret({ namespace: this.namespace, labelSelector: selector(this.instance) }, withSignal(signal));
    } catch (err) {
      throw toPodApiError(err, 'list secrets');
    }
    return list.items.flatMap((s) => {
      const key = ownerKey(s, this.instance);
      const { name, uid, resourceVersion } = s.metadata ?? {};
      return key === undefined || name === undefined || uid === undefined || resourceVersion === undefined
        ? []
        : [{ key, name, uid, resourceVersion }];
    });
  }

  /** deleteSecret deletes exactly the Secret that was read (uid and resourceVersion): a newer one is left alone. */
  async deleteSecret(secret: OurSecret, signal?: AbortSignal): Promise<'gone' | 'changed'> {
    try {
      await this.api.deleteNamespacedSecret(
        {
          name: secret.name,
          namespace: this.namespace,
          body: { preconditions: { uid: secret.uid, resourceVersion: secret.resourceVersion } },
        },
        withSignal(signal),
      );
      return 'gone';
    } catch (err) {
      const code = statusOf(err);
      if (code === 404) return 'gone';
      if (code === 409) return 'changed';
      throw toPodApiError(err, 'delete secret');
    }
  }

  /** ensureClaim creates the server's storage claim if it is missing (KubeSpawner's storage_pvc_ensure); an existing one is kept as it is. */
  async ensureClaim(key: string, setting: StorageTemplate, signal?: AbortSignal): Promise<string> {
    const storage = storageOf(setting);
    const name = claimNameOf(storage.claimName, key);
    const body = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: ourMeta(name, key, this.instance),
      spec: {
        accessModes: storage.accessModes,
        resources: { requests: { storage: storage.capacity } },
        ...(storage.storageClass === undefined ? {} : { storageClassName: storage.storageClass }),
      },
    };
    try {
      await this.api.createNamespacedPersistentVolumeClaim({ namespace: this.namespace, body }, withSignal(signal));
    } catch (err) {
      // A claim of that name is there: the user's storage, kept across restarts (also one made before spawnkeeper).
      if (statusOf(err) !== 409) throw toPodApiError(err, 'create claim');
    }
    return name;
  }

  private async readSecret(name: string, signal?: AbortSignal): Promise<V1Secret | undefined> {
    try {
      return await this.api.readNamespacedSecret({ name, namespace: this.namespace }, withSignal(signal));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw toPodApiError(err, 'read secret');
    }
  }
}

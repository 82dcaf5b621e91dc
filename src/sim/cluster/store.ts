import { alreadyExists, expired, notFound } from '../api/status.js';
import type { KubeObject, Resource, WatchEventType } from './types.js';

/** Change is one committed write, kept in the history so a watch can resume after any retained version. */
export interface Change {
  readonly rv: number;
  readonly resource: Resource;
  readonly type: WatchEventType;
  /** The object after the write; for DELETED the last state, stamped with the deletion's version. */
  readonly object: KubeObject;
  /** The object before the write; absent for ADDED. */
  readonly previous?: KubeObject;
}

export type ChangeListener = (change: Change) => void;

/** StoreSnapshot is a backup of the store: the objects (never mutated in place, so shared safely) and the version. */
export interface StoreSnapshot {
  readonly rv: number;
  readonly objects: ReadonlyMap<Resource, ReadonlyMap<string, KubeObject>>;
}

export interface StoreOptions {
  /** How many changes the history keeps; a watch from an older version gets 410 Expired. */
  historyLimit: number;
  /** The version the empty cluster starts at; real clusters never start from 1. */
  startResourceVersion?: number;
  /** Told when a listener throws, so one broken watcher cannot stop the others from hearing a change. */
  onListenerError?: (err: unknown) => void;
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * ClusterStore is the simulator's etcd: objects, one cluster-wide integer resourceVersion bumped by
 * every write, and a bounded history of changes; listeners are told of each change strictly in
 * version order, even when a listener writes while being told.
 */
export class ClusterStore {
  private rv: number;
  private compacted: number;
  private historyLimit: number;
  private readonly objects = new Map<Resource, Map<string, KubeObject>>();
  private history: Change[] = [];
  private readonly listeners = new Set<ChangeListener>();
  private readonly queue: Change[] = [];
  private notifying = false;
  private readonly onListenerError: (err: unknown) => void;

  constructor(options: StoreOptions) {
    this.rv = options.startResourceVersion ?? 1000;
    this.compacted = this.rv;
    this.historyLimit = Math.max(1, options.historyLimit);
    this.onListenerError = options.onListenerError ?? (() => undefined);
  }

  /** resourceVersion is the version of the latest write. */
  resourceVersion(): number {
    return this.rv;
  }

  /** oldestResourceVersion is the oldest version a watch may still resume from. */
  oldestResourceVersion(): number {
    return this.compacted;
  }

  get(resource: Resource, namespace: string, name: string): KubeObject | undefined {
    return this.collection(resource).get(keyOf(namespace, name));
  }

  /** list returns current objects, in namespace then name order, optionally of one namespace. */
  list(resource: Resource, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const obj of this.collection(resource).values()) {
      if (namespace !== undefined && obj.metadata.namespace !== namespace) continue;
      out.push(obj);
    }
    return out.sort(byKey);
  }

  /**
   * listAt rebuilds the objects as they were at `rv` by undoing newer changes, which gives paginated
   * and Exact lists the consistent snapshot Kubernetes promises; a compacted `rv` is 410 with `tooOld`.
   */
  listAt(resource: Resource, namespace: string | undefined, rv: number, tooOld: string): KubeObject[] {
    if (rv < this.compacted) throw expired(tooOld);
    const state = new Map<string, KubeObject>();
    for (const obj of this.list(resource, namespace)) state.set(keyOf(obj.metadata.namespace, obj.metadata.name), obj);
    for (let i = this.history.length - 1; i >= 0; i--) {
      const change = this.history[i];
      if (change === undefined || change.rv <= rv) break;
      if (change.resource !== resource) continue;
      const meta = change.object.metadata;
      if (namespace !== undefined && meta.namespace !== namespace) continue;
      const key = keyOf(meta.namespace, meta.name);
      if (change.type === 'ADDED' || change.previous === undefined) state.delete(key);
      else state.set(key, change.previous);
    }
    return [...state.values()].sort(byKey);
  }

  /** changesSince returns retained changes newer than `rv`, or throws 410 Expired when some are gone. */
  changesSince(rv: number): Change[] {
    if (rv < this.compacted) throw expired(`too old resource version: ${rv} (${this.compacted})`);
    const out: Change[] = [];
    for (let i = this.history.length - 1; i >= 0; i--) {
      const change = this.history[i];
      if (change === undefined || change.rv <= rv) break;
      out.push(change);
    }
    return out.reverse();
  }

  create(resource: Resource, object: KubeObject): KubeObject {
    const { namespace, name } = object.metadata;
    const objects = this.collection(resource);
    const key = keyOf(namespace, name);
    if (objects.has(key)) throw alreadyExists(resource, name);
    const stored = this.stamp(object);
    objects.set(key, stored);
    this.commit({ rv: this.rv, resource, type: 'ADDED', object: stored });
    return stored;
  }

  /** modify applies `edit` to a copy of the current object and commits it as MODIFIED. */
  modify(resource: Resource, namespace: string, name: string, edit: (draft: KubeObject) => void): KubeObject {
    const objects = this.collection(resource);
    const key = keyOf(namespace, name);
    const previous = objects.get(key);
    if (previous === undefined) throw notFound(resource, name);
    const draft = structuredClone(previous);
    edit(draft);
    draft.metadata.name = name;
    draft.metadata.namespace = namespace;
    const stored = this.stamp(draft);
    objects.set(key, stored);
    this.commit({ rv: this.rv, resource, type: 'MODIFIED', object: stored, previous });
    return stored;
  }

  /**
   * remove deletes the object; the DELETED change carries its last state at the deletion's version,
   * after `edit` (which may stamp deletion metadata on that last state).
   */
  remove(resource: Resource, namespace: string, name: string, edit?: (last: KubeObject) => void): KubeObject {
    const objects = this.collection(resource);
    const key = keyOf(namespace, name);
    const previous = objects.get(key);
    if (previous === undefined) throw notFound(resource, name);
    objects.delete(key);
    const last = structuredClone(previous);
    edit?.(last);
    const stored = this.stamp(last);
    this.commit({ rv: this.rv, resource, type: 'DELETED', object: stored, previous });
    return stored;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** snapshot copies every object and the current version, as an etcd backup does. */
  snapshot(): StoreSnapshot {
    return { rv: this.rv, objects: new Map([...this.objects].map(([resource, objects]) => [resource, new Map(objects)])) };
  }

  /**
   * restore puts a snapshot back, as an etcd restore does: objects and the version counter go back
   * to the backup's (so versions clients saw are reused for other writes) and the history is gone.
   * Listeners hear nothing: an API server in front of a restored etcd is restarted, not notified.
   */
  restore(snapshot: StoreSnapshot): void {
    this.objects.clear();
    for (const [resource, objects] of snapshot.objects) this.objects.set(resource, new Map(objects));
    this.rv = snapshot.rv;
    this.history = [];
    this.compacted = snapshot.rv;
  }

  /** compact forgets all history, so any watch from an earlier version gets 410 (etcd compaction). */
  compact(): void {
    this.history = [];
    this.compacted = this.rv;
  }

  setHistoryLimit(limit: number): void {
    this.historyLimit = Math.max(1, limit);
    this.trim();
  }

  /** collection is the map of one resource's objects, made on first use so any kind can be stored. */
  private collection(resource: Resource): Map<string, KubeObject> {
    let objects = this.objects.get(resource);
    if (objects === undefined) {
      objects = new Map();
      this.objects.set(resource, objects);
    }
    return objects;
  }

  private stamp(object: KubeObject): KubeObject {
    this.rv += 1;
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(this.rv);
    return stored;
  }

  private commit(change: Change): void {
    this.history.push(change);
    this.trim();
    this.queue.push(change);
    if (this.notifying) return;
    this.notifying = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        for (const listener of [...this.listeners]) {
          try {
            listener(next);
          } catch (err) {
            this.onListenerError(err);
          }
        }
      }
    } finally {
      this.notifying = false;
    }
  }

  private trim(): void {
    const excess = this.history.length - this.historyLimit;
    if (excess <= 0) return;
    const dropped = this.history.splice(0, excess);
    const last = dropped[dropped.length - 1];
    if (last !== undefined) this.compacted = last.rv;
  }
}

function byKey(a: KubeObject, b: KubeObject): number {
  const x = `${a.metadata.namespace}/${a.metadata.name}`;
  const y = `${b.metadata.namespace}/${b.metadata.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

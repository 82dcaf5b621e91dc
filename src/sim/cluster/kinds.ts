import type { Cause, NameRule, NewMetaContext } from './object-meta.js';
import type { KubeObject, ObjectMeta } from './types.js';

/**
 * The kinds table: every resource the simulator serves through its generic object handlers is one
 * row here (group, version, names, verbs and a validator); routes, discovery, lists, watches and
 * the 404/409/422 answers all read the row, so a new kind is a new row, not new plumbing. Pods and
 * Events keep their own handlers (the kubelet drives them) but share the collection side.
 */

export type KindVerb = 'create' | 'delete' | 'get' | 'list' | 'patch' | 'update' | 'watch';

/** Collection is what lists and watches need to know of a resource: its names and selectable fields. */
export interface Collection {
  readonly group: string;
  readonly version: string;
  /** The plural URL segment, which is also the store's key. */
  readonly resource: string;
  readonly kind: string;
  /** Fields a field selector may name besides metadata.name and metadata.namespace. */
  readonly fieldLabels: readonly string[];
}

export interface KindContext extends NewMetaContext {
  /** objects returns the current objects of a resource in every namespace (to find a free cluster IP, say). */
  objects(resource: string): readonly KubeObject[];
}

export interface KindSpec extends Collection {
  readonly singular: string;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  readonly verbs: readonly KindVerb[];
  /** The rule names must follow; a DNS-1123 subdomain when absent. */
  readonly nameRule?: NameRule;
  /** The answer to a delete: the deleted object (Services, PVCs) or a Success Status (Secrets, Leases). */
  readonly returnDeletedObject: boolean;
  /**
   * validate checks the kind's own fields of a create body (previous undefined) or of a full
   * replacement (previous is the stored object), pushing one cause per bad field, and returns the
   * object to store with its defaults; on update it keeps what clients may not change (status,
   * allocated addresses) and reports changes to immutable fields.
   */
  validate(body: Record<string, unknown>, metadata: ObjectMeta, ctx: KindContext, causes: Cause[], previous?: KubeObject): KubeObject;
}

/** apiVersionOf is `v1` for the core group and `group/version` elsewhere, as objects carry it. */
export function apiVersionOf(c: Pick<Collection, 'group' | 'version'>): string {
  return c.group === '' ? c.version : `${c.group}/${c.version}`;
}

/** POD_COLLECTION is the pods' side of lists and watches; their writes go through the pod registry. */
export const POD_COLLECTION: Collection = {
  group: '',
  version: 'v1',
  resource: 'pods',
  kind: 'Pod',
  fieldLabels: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
};

/** EVENT_COLLECTION is the read-only Events the simulated scheduler and kubelet write. */
export const EVENT_COLLECTION: Collection = {
  group: '',
  version: 'v1',
  resource: 'events',
  kind: 'Event',
  fieldLabels: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
};

/** KindTable looks rows up by the URL's group, version and resource, and lists them for discovery. */
export class KindTable {
  private readonly byPath = new Map<string, KindSpec>();

  constructor(readonly kinds: readonly KindSpec[]) {
    for (const k of kinds) {
      const key = `${k.group}/${k.version}/${k.resource}`;
      if (this.byPath.has(key) || (k.group === '' && (k.resource === 'pods' || k.resource === 'events')))
        throw new Error(`the kinds table serves ${key} twice`);
      this.byPath.set(key, k);
    }
  }

  find(group: string, version: string, resource: string): KindSpec | undefined {
    return this.byPath.get(`${group}/${version}/${resource}`);
  }

  /** groups lists the named API groups (not the core group) with their versions, for `GET /apis`. */
  groups(): { name: string; versions: string[] }[] {
    const out = new Map<string, Set<string>>();
    for (const k of this.kinds) if (k.group !== '') (out.get(k.group) ?? out.set(k.group, new Set()).get(k.group))?.add(k.version);
    return [...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, versions]) => ({ name, versions: [...versions].sort() }));
  }

  /** inGroup lists the rows of one group and version. */
  inGroup(group: string, version: string): KindSpec[] {
    return this.kinds.filter((k) => k.group === group && k.version === version);
  }
}

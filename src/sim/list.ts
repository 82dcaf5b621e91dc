import type { Selector } from './selectors.js';
import { badRequest } from './status.js';
import type { ClusterStore } from './store.js';
import type { KubeObject, Resource } from './types.js';
import { RESOURCE_TYPES } from './types.js';

export interface ListSpec {
  resource: Resource;
  namespace?: string;
  selector: Selector;
  limit?: number;
  continueToken?: string;
  /** An exact version to list at (resourceVersionMatch=Exact); otherwise the latest. */
  exactResourceVersion?: number;
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeToken(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(text: string): ContinueToken {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    if (typeof value.rv === 'number' && Number.isInteger(value.rv) && typeof value.start === 'string') return { rv: value.rv, start: value.start };
  } catch {
    // fall through to the error below
  }
  throw badRequest('continue key is not valid: the token is malformed');
}

/**
 * listObjects answers a LIST: selector-filtered objects in key order, cut into pages by `limit`;
 * every page of one listing comes from the same snapshot (its continue token carries the version),
 * and a token older than the retained history gets 410 Expired, as in Kubernetes.
 */
export function listObjects(store: ClusterStore, spec: ListSpec): object {
  const token = spec.continueToken === undefined || spec.continueToken === '' ? undefined : decodeToken(spec.continueToken);
  const rv = token?.rv ?? spec.exactResourceVersion ?? store.resourceVersion();
  const all = rv === store.resourceVersion() ? store.list(spec.resource, spec.namespace) : store.listAt(spec.resource, spec.namespace, rv);
  const matching = all.filter((obj) => spec.selector(obj) && (token === undefined || keyOf(obj) > token.start));
  const limit = spec.limit !== undefined && spec.limit > 0 ? spec.limit : undefined;
  const page = limit === undefined ? matching : matching.slice(0, limit);
  const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
  const last = page[page.length - 1];
  if (limit !== undefined && matching.length > limit && last !== undefined) {
    metadata['continue'] = encodeToken({ rv, start: keyOf(last) });
    metadata['remainingItemCount'] = matching.length - page.length;
  }
  const type = RESOURCE_TYPES[spec.resource];
  return { kind: `${type.kind}List`, apiVersion: type.apiVersion, metadata, items: page.map(asItem) };
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace}/${obj.metadata.name}`;
}

/** asItem leaves out kind and apiVersion, as the real server does inside a list. */
function asItem(obj: KubeObject): object {
  const { kind: _k, apiVersion: _a, ...rest } = obj;
  return rest;
}

import type { TimerSet } from '../cluster/clock.js';
import type { Collection } from '../cluster/kinds.js';
import { apiVersionOf } from '../cluster/kinds.js';
import type { ListOptions } from './query.js';
import type { Selector } from './selectors.js';
import { badRequest, CONTINUE_TOO_OLD, LIST_TOO_OLD, tooLargeResourceVersion } from './status.js';
import type { ClusterStore } from '../cluster/store.js';
import type { KubeObject } from '../cluster/types.js';

export interface ListSpec {
  collection: Collection;
  namespace?: string;
  selector: Selector;
  options: ListOptions;
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
    if (typeof value.rv === 'number' && Number.isInteger(value.rv) && typeof value.start === 'string')
      return { rv: value.rv, start: value.start };
  } catch {
    // fall through to the error below
  }
  throw badRequest('continue key is not valid: the token is malformed');
}

/** WAIT_FOR_VERSION_MS is how long the API server waits for a resourceVersion it has not reached before answering 504. */
export const WAIT_FOR_VERSION_MS = 3000;

/**
 * awaitVersion resolves once the store has reached `rv`, or rejects after the wait with the 504
 * "Too large resource version" the API server sends a client that is ahead of it.
 */
export async function awaitVersion(store: ClusterStore, timers: TimerSet, rv: number): Promise<void> {
  if (store.resourceVersion() >= rv) return;
  await new Promise<void>((resolve, reject) => {
    let cancel: () => void = () => undefined;
    const unsubscribe = store.subscribe(() => {
      if (store.resourceVersion() < rv) return;
      unsubscribe();
      cancel();
      resolve();
    });
    cancel = timers.after(WAIT_FOR_VERSION_MS, () => {
      unsubscribe();
      reject(tooLargeResourceVersion(rv, store.resourceVersion()));
    });
  });
}

/**
 * listVersion decides which version a list reads, by the API server's rules for resourceVersion
 * and resourceVersionMatch: a continue token's own version; Exact (or, for a paged list, any
 * version but 0 without a match) reads that very version; otherwise the latest, after waiting
 * for a version the store has not reached.
 */
async function listVersion(
  store: ClusterStore,
  timers: TimerSet,
  o: ListOptions,
  token: ContinueToken | undefined,
): Promise<{ rv: number; tooOld: string }> {
  if (token !== undefined) {
    if (o.resourceVersion !== '' && o.resourceVersion !== '0')
      throw badRequest('specifying resource version is not allowed when using continue');
    return { rv: token.rv, tooOld: CONTINUE_TOO_OLD };
  }
  const asked = o.resourceVersion === '' ? 0 : Number(o.resourceVersion);
  const exact = asked !== 0 && (o.resourceVersionMatch === 'Exact' || (o.resourceVersionMatch === '' && o.limit > 0));
  if (asked !== 0) await awaitVersion(store, timers, asked);
  return { rv: exact ? asked : store.resourceVersion(), tooOld: LIST_TOO_OLD };
}

/**
 * listObjects answers a LIST: selector-filtered objects in key order, cut into pages by `limit`;
 * every page of one listing comes from the same snapshot (its continue token carries the version),
 * and a version older than the retained history gets 410 Expired, as in Kubernetes.
 */
export async function listObjects(store: ClusterStore, timers: TimerSet, spec: ListSpec): Promise<object> {
  const o = spec.options;
  const token = o.continueToken === '' ? undefined : decodeToken(o.continueToken);
  const { rv, tooOld } = await listVersion(store, timers, o, token);
  const { resource, kind } = spec.collection;
  const all = rv === store.resourceVersion() ? store.list(resource, spec.namespace) : store.listAt(resource, spec.namespace, rv, tooOld);
  const matching = all.filter((obj) => spec.selector(obj) && (token === undefined || keyOf(obj) > token.start));
  const page = o.limit > 0 ? matching.slice(0, o.limit) : matching;
  const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
  const last = page[page.length - 1];
  if (o.limit > 0 && matching.length > o.limit && last !== undefined) {
    metadata['continue'] = encodeToken({ rv, start: keyOf(last) });
    metadata['remainingItemCount'] = matching.length - page.length;
  }
  return { kind: `${kind}List`, apiVersion: apiVersionOf(spec.collection), metadata, items: page.map(asItem) };
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace}/${obj.metadata.name}`;
}

/** asItem leaves out kind and apiVersion, as the real server does inside a list. */
function asItem(obj: KubeObject): object {
  const { kind: _k, apiVersion: _a, ...rest } = obj;
  return rest;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiGroupList, apiVersions, coordinationGroup, coordinationResources, coreResources, namespaceObject, version } from './discovery.js';
import type { Verb } from './faults.js';
import type { HandlerContext } from './handlers.js';
import { collection, createPod, deletePod, getObject, patchPod } from './handlers.js';
import { sendJson } from './http-util.js';
import type { LeaseContext } from './leases.js';
import { LEASE_GROUP, createLease, deleteLease, getLease, updateLease } from './leases.js';
import { flag } from './query.js';
import { badRequest, methodNotAllowed, notFound, pathNotFound } from './status.js';
import type { Resource } from './types.js';
import { rfc3339 } from './types.js';

/** Route is a resolved request: the verb the fault rules see and the work to do. */
export interface Route {
  verb: Verb | 'health';
  run(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void | Promise<void>;
}

export interface RouteContext extends HandlerContext, LeaseContext {
  namespaces: Set<string>;
  serverAddress(): string;
  startedAt: number;
}

type Methods = Partial<Record<string, Route>>;

function pick(methods: Methods, method: string): Route {
  const route = methods[method] ?? (method === 'HEAD' ? methods['GET'] : undefined);
  if (route === undefined) throw methodNotAllowed(method);
  return route;
}

function json(body: () => object): Route {
  return { verb: 'discovery', run: (_req, res) => sendJson(res, 200, body()) };
}

function readCollection(ctx: RouteContext, resource: Resource, namespace: string | undefined, query: URLSearchParams): Route {
  return { verb: flag(query, 'watch') ? 'watch' : 'list', run: (req, res, q) => collection(ctx, resource, namespace, req, res, q) };
}

function segments(path: string): string[] {
  try {
    return path.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
  } catch {
    throw badRequest(`the request path is not valid: ${path}`);
  }
}

/** oneObject reads one object, or watches just that object when asked to (the legacy watch path does). */
function oneObject(ctx: RouteContext, resource: Resource, namespace: string, name: string, query: URLSearchParams): Route {
  if (!flag(query, 'watch')) return { verb: 'get', run: (_req, res) => getObject(ctx, resource, namespace, name, res) };
  const fields = query.get('fieldSelector');
  query.set('fieldSelector', fields === null || fields === '' ? `metadata.name=${name}` : `${fields},metadata.name=${name}`);
  return readCollection(ctx, resource, namespace, query);
}

function namespaceList(ctx: RouteContext): object {
  const items = [...ctx.namespaces].sort().map((n) => namespaceObject(n, rfc3339(ctx.startedAt)));
  return { kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: String(ctx.store.resourceVersion()) }, items };
}

/**
 * resolve maps a method and path to a route, answering 404 for paths the simulator does not serve
 * and 405 for methods a served path does not allow; it never touches the store.
 */
export function resolve(ctx: RouteContext, method: string, path: string, query: URLSearchParams): Route {
  const parts = segments(path);
  const [a, b, c, ns, kind, name, sub, ...extra] = parts;
  if (parts.length === 0) return pick({ GET: json(() => ({ paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/version'] })) }, method);
  if (a === 'version' && parts.length === 1) return pick({ GET: json(version) }, method);
  if ((a === 'healthz' || a === 'livez' || a === 'readyz') && parts.length === 1) {
    return pick({ GET: { verb: 'health', run: (_req, res) => void res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok') } }, method);
  }
  if (a === 'apis' && parts.length === 1) return pick({ GET: json(apiGroupList) }, method);
  if (a === 'apis') return leaseRoute(ctx, method, parts.slice(1), query);
  if (a !== 'api') throw pathNotFound();
  if (parts.length === 1) return pick({ GET: json(() => apiVersions(ctx.serverAddress())) }, method);
  if (b !== 'v1') throw pathNotFound();
  if (parts.length === 2) return pick({ GET: json(coreResources) }, method);

  // Cluster-wide collections, and the legacy /api/v1/watch/... paths.
  if (parts.length === 3 && (c === 'pods' || c === 'events')) return pick({ GET: readCollection(ctx, c, undefined, query) }, method);
  if (c === 'watch') {
    query.set('watch', 'true');
    return resolve(ctx, method, `/api/v1/${parts.slice(3).map(encodeURIComponent).join('/')}`, query);
  }
  if (c !== 'namespaces') throw pathNotFound();
  if (parts.length === 3) return pick({ GET: { verb: 'list', run: (_req, res) => sendJson(res, 200, namespaceList(ctx)) } }, method);
  if (ns === undefined) throw pathNotFound();
  if (parts.length === 4) {
    return pick({ GET: { verb: 'get', run: (_req, res) => {
      if (!ctx.namespaces.has(ns)) throw notFound('namespaces', ns);
      sendJson(res, 200, namespaceObject(ns, rfc3339(ctx.startedAt)));
    } } }, method);
  }
  if (kind !== 'pods' && kind !== 'events') throw pathNotFound();
  if (name === undefined) {
    const list = readCollection(ctx, kind, ns, query);
    if (kind === 'events') return pick({ GET: list }, method);
    return pick({ GET: list, POST: { verb: 'create', run: (req, res) => createPod(ctx, ns, req, res) } }, method);
  }
  if (extra.length > 0) throw pathNotFound();
  if (sub !== undefined) {
    if (kind !== 'pods' || sub !== 'status') throw pathNotFound();
    return pick({ GET: { verb: 'get', run: (_req, res) => getObject(ctx, 'pods', ns, name, res) } }, method);
  }
  const one = oneObject(ctx, kind, ns, name, query);
  if (kind === 'events') return pick({ GET: one }, method);
  return pick({
    GET: one,
    DELETE: { verb: 'delete', run: (req, res, q) => deletePod(ctx, ns, name, req, res, q) },
    PATCH: { verb: 'patch', run: (req, res) => patchPod(ctx, ns, name, req, res) },
  }, method);
}

/** leaseRoute serves /apis/coordination.k8s.io/v1: discovery, and Leases by namespace or across them. */
function leaseRoute(ctx: RouteContext, method: string, parts: string[], query: URLSearchParams): Route {
  const [group, v, c, ns, kind, name, ...extra] = parts;
  if (group !== LEASE_GROUP) throw pathNotFound();
  if (parts.length === 1) return pick({ GET: json(coordinationGroup) }, method);
  if (v !== 'v1') throw pathNotFound();
  if (parts.length === 2) return pick({ GET: json(coordinationResources) }, method);
  if (parts.length === 3 && c === 'leases') return pick({ GET: readCollection(ctx, 'leases', undefined, query) }, method);
  if (c === 'watch') {
    query.set('watch', 'true');
    return leaseRoute(ctx, method, [group, v, ...parts.slice(3)], query);
  }
  if (c !== 'namespaces' || ns === undefined || kind !== 'leases' || extra.length > 0) throw pathNotFound();
  if (name === undefined) {
    return pick({ GET: readCollection(ctx, 'leases', ns, query), POST: { verb: 'create', run: (req, res) => createLease(ctx, ns, req, res) } }, method);
  }
  const one: Route = flag(query, 'watch') ? oneObject(ctx, 'leases', ns, name, query) : { verb: 'get', run: (_req, res) => getLease(ctx, ns, name, res) };
  return pick({
    GET: one,
    PUT: { verb: 'update', run: (req, res) => updateLease(ctx, ns, name, req, res) },
    DELETE: { verb: 'delete', run: (_req, res) => deleteLease(ctx, ns, name, res) },
  }, method);
}

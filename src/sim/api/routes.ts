import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiGroup, apiGroupList, apiVersions, groupResources, namespaceObject, version } from './discovery.js';
import type { Verb } from '../faults/faults.js';
import type { HandlerContext } from './handlers.js';
import { collection, getObject, withBody, withDeleteOptions } from './handlers.js';
import { isJsonType, sendJson } from './http-util.js';
import type { Collection, KindSpec, KindVerb } from '../cluster/kinds.js';
import { EVENT_COLLECTION, POD_COLLECTION } from '../cluster/kinds.js';
import { isPatchType } from './merge-patch.js';
import { flag } from './query.js';
import { badRequest, methodNotAllowed, notFound, pathNotFound } from './status.js';
import { rfc3339 } from '../cluster/types.js';

/** Route is a resolved request: the verb the fault rules see and the work to do. */
export interface Route {
  verb: Verb | 'health';
  run(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void | Promise<void>;
}

export interface RouteContext extends HandlerContext {
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

function readCollection(ctx: RouteContext, kind: Collection, namespace: string | undefined, query: URLSearchParams): Route {
  return { verb: flag(query, 'watch') ? 'watch' : 'list', run: (req, res, q) => collection(ctx, kind, namespace, req, res, q) };
}

function segments(path: string): string[] {
  try {
    return path
      .split('/')
      .filter((p) => p !== '')
      .map((p) => decodeURIComponent(p));
  } catch {
    throw badRequest(`the request path is not valid: ${path}`);
  }
}

/** oneObject reads one object, or watches just that object when asked to (the legacy watch path does). */
function oneObject(ctx: RouteContext, kind: Collection, namespace: string, name: string, query: URLSearchParams): Route {
  if (!flag(query, 'watch')) return { verb: 'get', run: (_req, res) => getObject(ctx, kind, namespace, name, res) };
  const fields = query.get('fieldSelector');
  query.set('fieldSelector', fields === null || fields === '' ? `metadata.name=${name}` : `${fields},metadata.name=${name}`);
  return readCollection(ctx, kind, namespace, query);
}

function namespaceList(ctx: RouteContext): object {
  const items = [...ctx.namespaces].sort().map((n) => namespaceObject(n, rfc3339(ctx.startedAt)));
  return { kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: String(ctx.store.resourceVersion()) }, items };
}

/** allowed keeps the methods whose verb the kind serves, so an unserved verb is 405, as on a real server. */
function allowed(kind: KindSpec, methods: Partial<Record<string, [KindVerb, Route]>>): Methods {
  const out: Methods = {};
  for (const [method, entry] of Object.entries(methods)) if (entry !== undefined && kind.verbs.includes(entry[0])) out[method] = entry[1];
  return out;
}

/** tableKind routes a kind of the kinds table: its collection (list, watch, create) or one object (get, update, patch, delete). */
function tableKind(ctx: RouteContext, kind: KindSpec, ns: string, name: string | undefined, query: URLSearchParams, method: string): Route {
  if (name === undefined) {
    return pick(
      allowed(kind, {
        GET: [flag(query, 'watch') ? 'watch' : 'list', readCollection(ctx, kind, ns, query)],
        POST: ['create', { verb: 'create', run: withBody(ctx, isJsonType, 201, (body) => ctx.objects.create(kind, ns, body)) }],
      }),
      method,
    );
  }
  return pick(
    allowed(kind, {
      GET: [flag(query, 'watch') ? 'watch' : 'get', oneObject(ctx, kind, ns, name, query)],
      PUT: ['update', { verb: 'update', run: withBody(ctx, isJsonType, 200, (body) => ctx.objects.replace(kind, ns, name, body)) }],
      // JSON patches and merge patches; a strategic merge patch is applied as a merge patch (lists are replaced whole).
      PATCH: [
        'patch',
        { verb: 'patch', run: withBody(ctx, isPatchType, 200, (body, type) => ctx.objects.patch(kind, ns, name, body, type)) },
      ],
      DELETE: ['delete', { verb: 'delete', run: withDeleteOptions(ctx, (options) => ctx.objects.delete(kind, ns, name, options)) }],
    }),
    method,
  );
}

/** podsOrEvents routes the two resources with handlers of their own: pods (driven by the kubelet) and read-only events. */
function podsOrEvents(
  ctx: RouteContext,
  resource: 'pods' | 'events',
  ns: string,
  name: string | undefined,
  sub: string | undefined,
  query: URLSearchParams,
  method: string,
): Route {
  const kind = resource === 'pods' ? POD_COLLECTION : EVENT_COLLECTION;
  if (name === undefined) {
    const list = readCollection(ctx, kind, ns, query);
    if (resource === 'events') return pick({ GET: list }, method);
    return pick(
      { GET: list, POST: { verb: 'create', run: withBody(ctx, isJsonType, 201, (body) => ctx.registry.create(ns, body)) } },
      method,
    );
  }
  if (sub !== undefined) {
    if (resource !== 'pods' || sub !== 'status') throw pathNotFound();
    return pick({ GET: { verb: 'get', run: (_req, res) => getObject(ctx, POD_COLLECTION, ns, name, res) } }, method);
  }
  const one = oneObject(ctx, kind, ns, name, query);
  if (resource === 'events') return pick({ GET: one }, method);
  return pick(
    {
      GET: one,
      DELETE: { verb: 'delete', run: withDeleteOptions(ctx, (options) => ctx.registry.delete(ns, name, options)) },
      PATCH: { verb: 'patch', run: withBody(ctx, isPatchType, 200, (body, type) => ctx.registry.patch(ns, name, body, type)) },
    },
    method,
  );
}

/**
 * resources routes what follows `/api/v1` or `/apis/{group}/{version}`: cluster-wide collections,
 * the legacy `watch/` prefix, namespaces (core only) and namespaced collections and objects.
 */
function resources(ctx: RouteContext, group: string, ver: string, rest: string[], method: string, query: URLSearchParams): Route {
  const [c, ns, resource, name, sub, ...extra] = rest;
  if (c === undefined) throw pathNotFound();
  const core = group === '';
  if (c === 'watch') {
    query.set('watch', 'true');
    return resources(ctx, group, ver, rest.slice(1), method, query);
  }
  if (rest.length === 1) {
    if (core && (c === 'pods' || c === 'events'))
      return pick({ GET: readCollection(ctx, c === 'pods' ? POD_COLLECTION : EVENT_COLLECTION, undefined, query) }, method);
    const kind = ctx.kinds.find(group, ver, c);
    if (kind === undefined) throw pathNotFound();
    return pick(allowed(kind, { GET: [flag(query, 'watch') ? 'watch' : 'list', readCollection(ctx, kind, undefined, query)] }), method);
  }
  if (c !== 'namespaces' || (!core && rest.length < 3)) throw pathNotFound();
  if (ns === undefined) throw pathNotFound();
  if (rest.length === 2) {
    return pick(
      {
        GET: {
          verb: 'get',
          run: (_req, res) => {
            if (!ctx.namespaces.has(ns)) throw notFound('namespaces', ns);
            sendJson(res, 200, namespaceObject(ns, rfc3339(ctx.startedAt)));
          },
        },
      },
      method,
    );
  }
  if (resource === undefined || extra.length > 0) throw pathNotFound();
  if (core && (resource === 'pods' || resource === 'events')) return podsOrEvents(ctx, resource, ns, name, sub, query, method);
  const kind = ctx.kinds.find(group, ver, resource);
  if (kind === undefined || sub !== undefined) throw pathNotFound();
  return tableKind(ctx, kind, ns, name, query, method);
}

/**
 * resolve maps a method and path to a route, answering 404 for paths the simulator does not serve
 * and 405 for methods a served path does not allow; it never touches the store.
 */
export function resolve(ctx: RouteContext, method: string, path: string, query: URLSearchParams): Route {
  const parts = segments(path);
  const [a, b, c] = parts;
  if (parts.length === 0) {
    const groups = ctx.kinds.groups().flatMap((g) => [`/apis/${g.name}`, ...g.versions.map((v) => `/apis/${g.name}/${v}`)]);
    return pick(
      { GET: json(() => ({ paths: ['/api', '/api/v1', '/apis', ...groups, '/healthz', '/livez', '/readyz', '/version'] })) },
      method,
    );
  }
  if (a === 'version' && parts.length === 1) return pick({ GET: json(version) }, method);
  if ((a === 'healthz' || a === 'livez' || a === 'readyz') && parts.length === 1) {
    return pick(
      { GET: { verb: 'health', run: (_req, res) => void res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok') } },
      method,
    );
  }
  if (a === 'apis') {
    if (parts.length === 1) return pick({ GET: json(() => apiGroupList(ctx.kinds)) }, method);
    const group = ctx.kinds.groups().find((g) => g.name === b);
    if (group === undefined || b === undefined) throw pathNotFound();
    if (parts.length === 2) return pick({ GET: json(() => apiGroup(group)) }, method);
    if (c === undefined || !group.versions.includes(c)) throw pathNotFound();
    if (parts.length === 3) return pick({ GET: json(() => groupResources(ctx.kinds, b, c)) }, method);
    return resources(ctx, b, c, parts.slice(3), method, query);
  }
  if (a !== 'api') throw pathNotFound();
  if (parts.length === 1) return pick({ GET: json(() => apiVersions(ctx.serverAddress())) }, method);
  if (b !== 'v1') throw pathNotFound();
  if (parts.length === 2) return pick({ GET: json(() => groupResources(ctx.kinds, '', 'v1')) }, method);
  if (c === 'namespaces' && parts.length === 3)
    return pick({ GET: { verb: 'list', run: (_req, res) => sendJson(res, 200, namespaceList(ctx)) } }, method);
  return resources(ctx, '', 'v1', parts.slice(2), method, query);
}

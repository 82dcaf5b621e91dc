import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TimerSet } from './clock.js';
import type { FaultInjector } from './faults.js';
import { mediaType, parseJson, readBody, sendJson } from './http-util.js';
import { listObjects } from './list.js';
import type { DeleteOptions, PodRegistry } from './pod-registry.js';
import { flag, integer, resourceVersion } from './query.js';
import { both, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { badRequest, notFound, unsupportedMediaType } from './status.js';
import type { ClusterStore } from './store.js';
import type { Resource } from './types.js';
import type { WatchRegistry } from './watch-stream.js';
import { WatchStream } from './watch-stream.js';

export interface HandlerContext {
  store: ClusterStore;
  registry: PodRegistry;
  watches: WatchRegistry;
  faults: FaultInjector;
  timers: TimerSet;
  maxBodyBytes: number;
  bookmarkIntervalMs: number;
  defaultWatchTimeoutMs: number;
  /** monotonic is the clock's monotonic reading: waits (delayed watch events) are measured on it. */
  monotonic: () => number;
}

const PATCH_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];

/**
 * The handlers serve collections (list or watch) and single pods (read, create, patch, delete);
 * they only translate HTTP to registry and store calls, so the rules live in one place.
 */
export function collection(ctx: HandlerContext, resource: Resource, namespace: string | undefined, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
  const selector = both(parseLabelSelector(query.get('labelSelector')), parseFieldSelector(resource, query.get('fieldSelector')));
  const rv = resourceVersion(query);
  if (flag(query, 'watch')) {
    const timeoutSeconds = integer(query, 'timeoutSeconds');
    const stream = new WatchStream(
      res,
      {
        resource, selector, bookmarks: flag(query, 'allowWatchBookmarks'),
        timeoutMs: timeoutSeconds !== undefined && timeoutSeconds > 0 ? timeoutSeconds * 1000 : ctx.defaultWatchTimeoutMs,
        ...(namespace === undefined ? {} : { namespace }),
        ...(rv === undefined ? {} : { resourceVersion: rv }),
      },
      {
        store: ctx.store, timers: ctx.timers, bookmarkIntervalMs: ctx.bookmarkIntervalMs, monotonic: ctx.monotonic,
        shouldDrop: () => ctx.faults.shouldDrop(), eventDelayMs: () => ctx.faults.watchEventDelayMs(),
      },
      (s) => ctx.watches.remove(s),
    );
    ctx.watches.add(stream);
    stream.start(ctx.faults.stallsNewWatch());
    return;
  }
  const continueToken = query.get('continue') ?? '';
  if (continueToken !== '' && rv !== undefined) throw badRequest('specifying resource version is not allowed when using continue');
  const exact = query.get('resourceVersionMatch') === 'Exact' && rv !== undefined && rv !== 0 ? rv : undefined;
  const limit = integer(query, 'limit');
  const list = listObjects(ctx.store, {
    resource, selector, continueToken,
    ...(namespace === undefined ? {} : { namespace }),
    ...(limit === undefined ? {} : { limit }),
    ...(exact === undefined ? {} : { exactResourceVersion: exact }),
  });
  sendJson(res, 200, list);
}

export async function createPod(ctx: HandlerContext, namespace: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const type = mediaType(req);
  if (type !== '' && type !== 'application/json') throw unsupportedMediaType(type);
  const body = parseJson(await readBody(req, ctx.maxBodyBytes));
  sendJson(res, 201, ctx.registry.create(namespace, body));
}

export function getObject(ctx: HandlerContext, resource: Resource, namespace: string, name: string, res: ServerResponse): void {
  const obj = ctx.store.get(resource, namespace, name);
  if (obj === undefined) throw notFound(resource, name);
  sendJson(res, 200, obj);
}

export async function patchPod(ctx: HandlerContext, namespace: string, name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const type = mediaType(req);
  if (!PATCH_TYPES.includes(type)) throw unsupportedMediaType(type);
  const body = parseJson(await readBody(req, ctx.maxBodyBytes));
  sendJson(res, 200, ctx.registry.patch(namespace, name, body));
}

/** deletePod reads DeleteOptions from the body, falling back to the query for what the body leaves out. */
export async function deletePod(ctx: HandlerContext, namespace: string, name: string, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const raw = await readBody(req, ctx.maxBodyBytes);
  const options: DeleteOptions = {};
  if (raw.toString('utf8').trim() !== '') {
    const body = parseJson(raw);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body of a delete must be a DeleteOptions object');
    const b = body as Record<string, unknown>;
    const grace = b['gracePeriodSeconds'];
    if (grace !== undefined && grace !== null) {
      if (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0) throw badRequest('gracePeriodSeconds must be a non-negative integer');
      options.gracePeriodSeconds = grace;
    }
    const pre = b['preconditions'];
    if (typeof pre === 'object' && pre !== null) {
      const p = pre as Record<string, unknown>;
      options.preconditions = {
        ...(typeof p['uid'] === 'string' ? { uid: p['uid'] } : {}),
        ...(typeof p['resourceVersion'] === 'string' ? { resourceVersion: p['resourceVersion'] } : {}),
      };
    }
  }
  const queryGrace = integer(query, 'gracePeriodSeconds');
  if (options.gracePeriodSeconds === undefined && queryGrace !== undefined) options.gracePeriodSeconds = queryGrace;
  sendJson(res, 200, ctx.registry.delete(namespace, name, options));
}

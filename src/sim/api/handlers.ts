import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TimerSet } from '../cluster/clock.js';
import type { FaultInjector } from '../faults/faults.js';
import { parseJson, readBody, readTypedJson, sendJson } from './http-util.js';
import type { Collection, KindTable } from '../cluster/kinds.js';
import { awaitVersion, listObjects } from './list.js';
import type { ObjectRegistry } from '../cluster/object-registry.js';
import type { DeleteOptions, PodRegistry } from '../cluster/pod-registry.js';
import type { ListOptions } from './query.js';
import { integer, readListOptions } from './query.js';
import { both, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { badRequest, notFound } from './status.js';
import type { ClusterStore } from '../cluster/store.js';
import type { WatchRegistry } from './watch-stream.js';
import type { WatchStart } from './watch-stream.js';
import { WatchStream } from './watch-stream.js';

export interface HandlerContext {
  store: ClusterStore;
  registry: PodRegistry;
  objects: ObjectRegistry;
  kinds: KindTable;
  watches: WatchRegistry;
  faults: FaultInjector;
  timers: TimerSet;
  maxBodyBytes: number;
  bookmarkIntervalMs: number;
  defaultWatchTimeoutMs: number;
  /** monotonic is the clock's monotonic reading: waits (delayed watch events) are measured on it. */
  monotonic: () => number;
}

/**
 * The handlers serve collections (list or watch), single objects (read) and the writes of pods and of
 * the kinds of the kinds table (create, update, patch, delete, through withBody and
 * withDeleteOptions); they only translate HTTP to registry and store calls, so the rules live in one place.
 */
export async function collection(
  ctx: HandlerContext,
  kind: Collection,
  namespace: string | undefined,
  _req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
  const selector = both(parseLabelSelector(query.get('labelSelector')), parseFieldSelector(kind, query.get('fieldSelector')));
  const options = readListOptions(query);
  if (!options.watch) {
    sendJson(
      res,
      200,
      await listObjects(ctx.store, ctx.timers, { collection: kind, selector, options, ...(namespace === undefined ? {} : { namespace }) }),
    );
    return;
  }
  const timeoutSeconds = options.timeoutSeconds;
  const stream = new WatchStream(
    res,
    {
      collection: kind,
      selector,
      bookmarks: options.allowWatchBookmarks,
      start: await watchStart(ctx, options),
      timeoutMs: timeoutSeconds !== undefined && timeoutSeconds > 0 ? timeoutSeconds * 1000 : ctx.defaultWatchTimeoutMs,
      ...(namespace === undefined ? {} : { namespace }),
    },
    {
      store: ctx.store,
      timers: ctx.timers,
      bookmarkIntervalMs: ctx.bookmarkIntervalMs,
      monotonic: ctx.monotonic,
      shouldDrop: () => ctx.faults.shouldDrop(),
      eventDelayMs: () => ctx.faults.watchEventDelayMs(),
    },
    (s) => ctx.watches.remove(s),
  );
  ctx.watches.add(stream);
  stream.start(ctx.faults.stallsNewWatch());
}

/**
 * watchStart applies the API server's watch semantics: without sendInitialEvents, version unset or
 * 0 starts with the current objects and any other version resumes after it; sendInitialEvents=true
 * sends the state (at least as new as the version, waiting for it) and, when bookmarks are allowed,
 * the initial-events-end bookmark; sendInitialEvents=false never sends the state.
 */
async function watchStart(ctx: HandlerContext, o: ListOptions): Promise<WatchStart> {
  const asked = o.resourceVersion === '' ? 0 : Number(o.resourceVersion);
  if (o.sendInitialEvents === true) {
    if (asked !== 0) await awaitVersion(ctx.store, ctx.timers, asked);
    return { current: true, initialEvents: true, endBookmark: o.allowWatchBookmarks };
  }
  if (asked !== 0) return { after: asked };
  return { current: true, initialEvents: o.sendInitialEvents === undefined, endBookmark: false };
}

export function getObject(ctx: HandlerContext, kind: Collection, namespace: string, name: string, res: ServerResponse): void {
  const obj = ctx.store.get(kind.resource, namespace, name);
  if (obj === undefined) throw notFound(kind.resource, name, kind.group);
  sendJson(res, 200, obj);
}

/** Run is the work of a route: what it does with a request. */
export type Run = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>;

/**
 * withBody answers `status` with what `call` makes of the request's JSON body, sent with a media type
 * `accepts` takes (else 415): the create, update and patch of pods and of the kinds of the kinds table.
 */
export function withBody<T extends string>(
  ctx: HandlerContext,
  accepts: (type: string) => type is T,
  status: number,
  call: (body: unknown, type: T) => unknown,
): Run {
  return async (req, res) => {
    const { type, body } = await readTypedJson(req, ctx.maxBodyBytes, accepts);
    sendJson(res, status, call(body, type));
  };
}

/** withDeleteOptions answers 200 with what `call` makes of the request's DeleteOptions: a graceful delete. */
export function withDeleteOptions(ctx: HandlerContext, call: (options: DeleteOptions) => unknown): Run {
  return async (req, res, query) => sendJson(res, 200, call(await readDeleteOptions(req, query, ctx.maxBodyBytes)));
}

/** readDeleteOptions reads DeleteOptions from the body, falling back to the query for what the body leaves out. */
export async function readDeleteOptions(req: IncomingMessage, query: URLSearchParams, maxBodyBytes: number): Promise<DeleteOptions> {
  const raw = await readBody(req, maxBodyBytes);
  const options: DeleteOptions = {};
  if (raw.toString('utf8').trim() !== '') {
    const body = parseJson(raw);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest('the body of a delete must be a DeleteOptions object');
    const b = body as Record<string, unknown>;
    const grace = b['gracePeriodSeconds'];
    if (grace !== undefined && grace !== null) {
      if (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0)
        throw badRequest('gracePeriodSeconds must be a non-negative integer');
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
  return options;
}

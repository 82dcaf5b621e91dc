import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { RuntimeClosedError } from '../runtime/errors.js';
import { RuntimeFailedError } from '../runtime/runtime.js';
import type { Spawnkeeper } from '../spawnkeeper.js';
import { recordActivity } from './api/activity.js';
import { createAdminToken, listAllTokens, revokeAnyToken } from './api/admin-tokens.js';
import { health, info, metrics, version } from './api/hub.js';
import { startServer, stopServer } from './api/servers.js';
import { createToken, getToken, listTokens, revokeToken } from './api/tokens.js';
import {
  addGroupUsers,
  createGroup,
  createGroups,
  deleteGroup,
  getGroup,
  listGroups,
  removeGroupUsers,
  setGroupProperties,
} from './api/groups.js';
import { getService, listServices } from './api/services.js';
import { createUser, createUsers, deleteUser, finishDeletions, getUser, listUsers, patchUser } from './api/users.js';
import { whoami } from './api/whoami.js';
import { Authenticator } from './auth/auth.js';
import type { HubContext } from './context.js';
import { GroupStore } from './groups.js';
import type { HealthReport } from './api/health.js';
import { HealthMonitor } from './api/health.js';
import { HttpError, sendError } from './api/http.js';
import { SpawnLimiter } from './api/limits.js';
import { HubMetrics } from './api/metrics.js';
import { PodEventFeed } from './api/pod-event-feed.js';
import { progress } from './api/progress.js';
import { RecordKeeper } from './records.js';
import { Router } from './api/router.js';
import { ServerIndex } from './server-index.js';
import { ServiceRegistry, parseServices } from './auth/services.js';
import { parseProfiles } from './spawn-options.js';
import type { HubConfig } from './settings.js';
import { DEFAULT_HUB_CONFIG } from './settings.js';
import { scopeResolver } from './auth/token-scopes.js';
import { TokenStore } from './auth/tokens.js';
import { KeyedLock } from './user-locks.js';
import { UserStore } from './users.js';

/**
 * VERSION is spawnkeeper's own version, from its package.json, found by the package's name (a
 * self-reference) so that the sources and the compiled dist/ read the same file.
 */
export const VERSION = (createRequire(import.meta.url)('spawnkeeper/package.json') as { version: string }).version;

/** HubOptions take an engine the caller made, so an embedder keeps control of its database and cluster. */
export interface HubOptions {
  /** sk: the engine, already created over `db`. */
  sk: Spawnkeeper;
  /** db: the same database the engine uses; the hub keeps users and tokens in it (migration 002). */
  db: Database;
  /** cluster: used to watch the pods' Kubernetes Events for progress streams. */
  cluster: KubeConfig;
  config?: Partial<HubConfig>;
  logger?: Logger;
  clock?: Clock;
  /** onUnhealthyExit is called when exit_on_unhealthy is set and the hub stayed unhealthy that long. */
  onUnhealthyExit?: (reason: string) => void;
  /** extend adds routes of an embedder's own (a dashboard, say) to the hub's router, with the handlers' context. */
  extend?: (router: Router, context: HubContext) => void;
}

/** Hub is the HTTP face of a Spawnkeeper: JupyterHub's REST API, progress, metrics and health. */
export interface Hub {
  readonly server: Server;
  readonly users: UserStore;
  readonly tokens: TokenStore;
  readonly metrics: HubMetrics;
  /** listen starts serving and resolves to the base URL (`http://127.0.0.1:8081`). */
  listen(port?: number, host?: string): Promise<string>;
  health(): HealthReport;
  /** close stops accepting, ends waits and progress streams, lets open requests finish; the engine and database stay open. */
  close(): Promise<void>;
}

/** createHub builds the hub over an engine; it serves once `listen` is called. */
export function createHub(options: HubOptions): Hub {
  const config: HubConfig = { ...DEFAULT_HUB_CONFIG, ...options.config };
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? pino({ level: 'silent' });
  const { sk } = options;
  const users = new UserStore(options.db);
  const groups = new GroupStore(options.db);
  const services = new ServiceRegistry(parseServices(config.services, config.loadRoles, config.adminToken));
  const tokens = new TokenStore(options.db, () => clock.now(), scopeResolver(services, users, logger));
  tokens.ensureServiceTokens(services.list().flatMap((s) => (s.apiToken === undefined ? [] : [{ service: s.name, token: s.apiToken }])));
  const index = new ServerIndex(sk, logger);
  // A server whose user was deleted is retired: retention drops its history once all of it is older than the age.
  sk.retireWhen((user) => users.get(user) === undefined);
  const records = new RecordKeeper(users, index, logger);
  const shutdown = new AbortController();
  const health = new HealthMonitor(sk, {
    clock,
    exitAfterMs: config.exitOnUnhealthy * 1000,
    onExit: options.onUnhealthyExit ?? (() => undefined),
    logger,
  });
  const hub: HubContext = {
    sk,
    users,
    groups,
    services,
    profiles: parseProfiles(config.profiles),
    tokens,
    auth: new Authenticator(tokens),
    index,
    records,
    userLocks: new KeyedLock(),
    limiter: new SpawnLimiter(index, config),
    metrics: new HubMetrics({ sk, index, totalUsers: () => users.count() }),
    health,
    config,
    clock,
    logger,
    cluster: options.cluster,
    podEvents: new PodEventFeed({ kc: options.cluster, namespace: sk.config.namespace, logger, clock }),
    shutdown: shutdown.signal,
    version: VERSION,
  };
  const router = routes(hub);
  options.extend?.(router, hub);
  records.sweep();
  finishDeletions(hub);
  health.start();

  const requestTimeout = config.requestTimeout * 1000;
  const server = createServer(
    // Node checks these timeouts every connectionsCheckingInterval: a fraction of the timeout, so a slow request is answered close to it.
    { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(30_000, Math.max(100, requestTimeout / 4)) },
    (req, res) => void handle(hub, router, req, res),
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable) socket.end(`HTTP/1.1 ${clientErrorStatus(err)}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });
  let closed: Promise<void> | undefined;
  return {
    server,
    users,
    tokens,
    metrics: hub.metrics,
    health: () => health.check(),
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const addr = server.address() as AddressInfo;
          resolve(`http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`);
        });
      });
    },
    close() {
      closed ??= (async () => {
        shutdown.abort();
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), 5_000);
        force.unref();
        if (server.listening) await done;
        clearTimeout(force);
        health.close();
        hub.podEvents.close();
        records.close();
        hub.metrics.close();
        index.close();
      })();
      return closed;
    },
  };
}

/** routes is the hub's whole URL space in one table. */
function routes(hub: HubContext): Router {
  const api = '/hub/api';
  return new Router()
    .add('GET', api, version(hub))
    .add('GET', `${api}/info`, info(hub))
    .add('GET', `${api}/health`, health(hub))
    .add('GET', '/hub/health', health(hub))
    .add('GET', '/hub/metrics', metrics(hub))
    .add('GET', `${api}/metrics`, metrics(hub))
    .add('GET', `${api}/user`, whoami(hub))
    .add('GET', `${api}/users`, listUsers(hub))
    .add('POST', `${api}/users`, createUsers(hub))
    .add('GET', `${api}/users/:name`, getUser(hub))
    .add('POST', `${api}/users/:name`, createUser(hub))
    .add('DELETE', `${api}/users/:name`, deleteUser(hub))
    .add('PATCH', `${api}/users/:name`, patchUser(hub))
    .add('POST', `${api}/users/:name/activity`, recordActivity(hub))
    .add('POST', `${api}/users/:name/server`, startServer(hub))
    .add('DELETE', `${api}/users/:name/server`, stopServer(hub))
    .add('GET', `${api}/users/:name/server/progress`, progress(hub))
    .add('POST', `${api}/users/:name/servers/:server`, startServer(hub))
    .add('DELETE', `${api}/users/:name/servers/:server`, stopServer(hub))
    .add('GET', `${api}/users/:name/servers/:server/progress`, progress(hub))
    .add('GET', `${api}/users/:name/tokens`, listTokens(hub))
    .add('POST', `${api}/users/:name/tokens`, createToken(hub))
    .add('GET', `${api}/users/:name/tokens/:id`, getToken(hub))
    .add('DELETE', `${api}/users/:name/tokens/:id`, revokeToken(hub))
    .add('GET', `${api}/groups`, listGroups(hub))
    .add('POST', `${api}/groups`, createGroups(hub))
    .add('GET', `${api}/groups/:name`, getGroup(hub))
    .add('POST', `${api}/groups/:name`, createGroup(hub))
    .add('DELETE', `${api}/groups/:name`, deleteGroup(hub))
    .add('POST', `${api}/groups/:name/users`, addGroupUsers(hub))
    .add('DELETE', `${api}/groups/:name/users`, removeGroupUsers(hub))
    .add('PUT', `${api}/groups/:name/properties`, setGroupProperties(hub))
    .add('GET', `${api}/services`, listServices(hub))
    .add('GET', `${api}/services/:name`, getService(hub))
    .add('GET', `${api}/spawnkeeper/tokens`, listAllTokens(hub))
    .add('POST', `${api}/spawnkeeper/tokens`, createAdminToken(hub))
    .add('DELETE', `${api}/spawnkeeper/tokens/:id`, revokeAnyToken(hub));
}

/** handle runs one request: route, handler, and an error answer that is never a 5xx for bad input. */
async function handle(hub: HubContext, router: Router, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const began = process.hrtime.bigint();
  const method = req.method ?? 'GET';
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  let handler = 'unmatched';
  res.once('close', () => {
    const seconds = Number(process.hrtime.bigint() - began) / 1e9;
    hub.metrics.requestDuration.observe({ method, handler, code: String(res.statusCode) }, seconds);
    const quiet = handler.endsWith('/health') || handler.endsWith('/metrics');
    hub.logger[quiet ? 'debug' : 'info'](
      { method, path: path.slice(0, 300), status: res.statusCode, ms: Math.round(seconds * 1000) },
      'request',
    );
  });
  try {
    if (hub.shutdown.aborted) throw new HttpError(503, 'The hub is shutting down', { Connection: 'close' });
    if (!path.startsWith('/')) throw new HttpError(400, 'The request path must start with /');
    const match = router.match(method, path);
    handler = match.name;
    await match.handler({ req, res, params: match.params, query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)) });
  } catch (err) {
    sendError(req, res, asHttpError(hub, err));
  }
}

/** clientErrorStatus is the status line for a request Node could not take in: 408 when it came too slowly, 431 for oversized headers, else 400. */
function clientErrorStatus(err: NodeJS.ErrnoException): string {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return '408 Request Timeout';
  if (err.code === 'HPE_HEADER_OVERFLOW') return '431 Request Header Fields Too Large';
  return '400 Bad Request';
}

function asHttpError(hub: HubContext, err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof RuntimeFailedError) return new HttpError(503, 'The hub cannot record commands: its database failed. See /hub/health.');
  if (err instanceof RuntimeClosedError) return new HttpError(503, 'The hub is shutting down', { Connection: 'close' });
  hub.logger.error({ err }, 'request failed');
  return new HttpError(500, 'Unhandled error');
}

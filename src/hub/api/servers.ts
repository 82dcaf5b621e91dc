import type { ServerStatus } from '../../spawnkeeper.js';
import type { HubContext } from '../context.js';
import { findUser, serverName, spawnFailure, userName, userTarget, waitUntil } from '../context.js';
import { HttpError, readJson, sendJson } from './http.js';
import { MAX_STORED_JSON_BYTES, jsonBytes } from './json-limits.js';
import { LimitError } from './limits.js';
import { isActive, logName, serverModel } from './models.js';
import type { Handler, RequestContext } from './router.js';
import type { Grants } from '../auth/scopes.js';
import type { StartOptions } from '../spawn-options.js';
import { SpawnOptionsError, readStartOptions } from '../spawn-options.js';

/** spawnOver: the spawn this request waits for has ended, one way or the other. */
const spawnOver = (s: ServerStatus) => s.state !== 'spawn_pending';
/** stopOver: the stop this request sent has finished (stopped, failed, or a start queued behind it took over). */
const stopOver = (s: ServerStatus) => s.state !== 'stop_pending';

function names(ctx: RequestContext): { user: string; server: string } {
  return { user: userName(ctx.params['name']), server: ctx.params['server'] === undefined ? '' : serverName(ctx.params['server']) };
}

function answer(hub: HubContext, ctx: RequestContext, status: number, user: string, server: string, grants: Grants): void {
  const record = hub.users.get(user);
  const s = hub.sk.get(user, server);
  const state = { grants, target: userTarget(hub, user, server), namespace: hub.sk.config.namespace };
  const body = record === undefined ? undefined : serverModel(user, server, s, hub.users.server(record.id, server), state);
  sendJson(ctx.req, ctx.res, status, status === 204 ? undefined : body);
}

/**
 * startServer is `POST /users/{name}/server` and `/servers/{server}`: 201 when ready within
 * slow_spawn_timeout, else 202; 202 at once when a spawn is already pending or a stop is (the start is
 * queued and runs after it); 400 when already running; 429 at a limit. Every accepted request is a
 * committed `server.start` event before it is answered.
 */
export function startServer(hub: HubContext): Handler {
  return async (ctx) => {
    const began = hub.clock.monotonic();
    const { user, server } = names(ctx);
    const target = userTarget(hub, user, server);
    const { grants } = hub.auth.require(ctx.req, 'servers', target);
    const { userOptions: options, request } = startOptions(
      hub,
      await readJson(ctx.req, hub.config.maxBodyBytes),
      grants.has('admin:servers', target),
    );
    if (jsonBytes(options) > MAX_STORED_JSON_BYTES)
      throw new HttpError(400, `user_options may be at most ${MAX_STORED_JSON_BYTES} bytes of JSON`);
    // The user's lock: a deletion sees this start committed, or this start sees the user marked for deletion.
    const waits = await hub.userLocks.run(user, async () => {
      const record = findUser(hub, user);
      if (record.deleting) throw new HttpError(400, `${user} is being deleted`);
      if (server !== '' && !hub.config.allowNamedServers) throw new HttpError(400, 'Named servers are not enabled.');
      const limit = hub.config.namedServerLimitPerUser;
      if (
        server !== '' &&
        limit > 0 &&
        hub.users.server(record.id, server) === undefined &&
        hub.users.namedServerCount(record.id) >= limit
      ) {
        throw new HttpError(
          400,
          `User ${user} already has the maximum of ${limit} named servers.  One must be deleted before a new server can be created`,
        );
      }
      const before = hub.sk.get(user, server);
      if (before?.state === 'running') throw new HttpError(400, `${logName(user, server)} is already running`);
      const spawns =
        before === undefined ||
        before.state === 'stopped' ||
        before.state === 'failed' ||
        (before.state === 'stop_pending' && !before.startQueued);
      let release: (() => void) | undefined;
      if (spawns) {
        try {
          release = hub.limiter.admit();
        } catch (err) {
          if (err instanceof LimitError)
            hub.metrics.spawnDuration.observe({ status: 'failure', reason: err.reason }, (hub.clock.monotonic() - began) / 1000);
          throw err;
        }
      }
      try {
        hub.users.ensureServer(record.id, server, hub.clock.now(), Object.keys(options).length === 0 ? undefined : options);
        const ack = await hub.sk.start(user, server, request);
        hub.logger.child({ server: `${user}/${server}` }).info({ state: ack.detail }, 'start requested');
        return spawns && ack.state === 'spawn_pending';
      } finally {
        release?.();
      }
    });
    if (!waits) return answer(hub, ctx, 202, user, server, grants);
    await waitUntil(hub, user, server, spawnOver, hub.config.slowSpawnTimeout * 1000);
    if (hub.sk.get(user, server)?.ready === true) return answer(hub, ctx, 201, user, server, grants);
    const failure = spawnFailure(hub, user, server);
    if (failure !== null) throw new HttpError(500, `Spawn failed: ${failure}`);
    answer(hub, ctx, 202, user, server, grants);
  };
}

/** startOptions takes a start body apart (user options, the `spawnkeeper` key, the profile): 400 or 403 naming the field. */
function startOptions(hub: HubContext, body: Record<string, unknown>, mayConfigure: boolean): StartOptions {
  try {
    return readStartOptions(body, hub.profiles, mayConfigure);
  } catch (err) {
    if (err instanceof SpawnOptionsError) throw new HttpError(err.forbidden ? 403 : 400, err.message);
    throw err;
  }
}

/**
 * stopServer is `DELETE /users/{name}/server` and `/servers/{server}`, as JupyterHub 5: 204 when
 * stopped within slow_stop_timeout, else 202; 202 at once while a stop is pending; 204 for a server
 * that is not running (nothing to do); a stop during a spawn cancels it. `{"remove": true}` deletes
 * a named server's record once it is stopped; a named server never started is 404.
 */
export function stopServer(hub: HubContext): Handler {
  return async (ctx) => {
    const { user, server } = names(ctx);
    const { grants } = hub.auth.require(ctx.req, 'delete:servers', userTarget(hub, user, server));
    const body = await readJson(ctx.req, hub.config.maxBodyBytes);
    const remove = body['remove'] ?? false;
    if (typeof remove !== 'boolean') throw new HttpError(400, '"remove" must be true or false');
    const record = findUser(hub, user);
    if (server !== '' && !hub.config.allowNamedServers) throw new HttpError(400, 'Named servers are not enabled.');
    if (remove && server === '') throw new HttpError(400, 'Cannot delete the default server');
    const before = hub.sk.get(user, server);
    const known = hub.users.server(record.id, server) !== undefined || isActive(before);
    if (server !== '' && !known) throw new HttpError(404, `${user} has no server named '${server}'`);
    if (before === undefined || !isActive(before)) {
      // Not running: nothing to stop, 204 as JupyterHub. The command is still recorded for a server
      // that exists (every acknowledged stop is in its history; a failed one is cleared by it).
      if (before !== undefined) await hub.sk.stop(user, server);
      if (remove) hub.users.removeServer(record.id, server);
      return answer(hub, ctx, 204, user, server, grants);
    }
    const ack = await hub.sk.stop(user, server);
    hub.logger.child({ server: `${user}/${server}` }).info({ state: ack.detail }, 'stop requested');
    if (remove) hub.users.markRemovePending(record.id, server);
    const over = before.state !== 'stop_pending' && (await waitUntil(hub, user, server, stopOver, hub.config.slowStopTimeout * 1000));
    const state = hub.sk.get(user, server)?.state;
    const done = over && (state === 'stopped' || state === 'failed');
    if (done && remove) hub.records.tryRemoveServer(user, server);
    answer(hub, ctx, done ? 204 : 202, user, server, grants);
  };
}

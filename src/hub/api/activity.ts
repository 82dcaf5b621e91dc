import { activityTime } from '../activity-time.js';
import type { HubContext } from '../context.js';
import { serverName, userName, userTarget } from '../context.js';
import { HttpError, readJsonOrNothing, sendJson } from './http.js';
import type { Handler } from './router.js';

/** falsy is Python's falsiness, which JupyterHub's checks of the body use: null, false, 0, '', [] and {}. */
function falsy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

const SERVERS_SHAPE = 'servers must be a dict of the form {server_name: {last_activity: timestamp}}';

/**
 * recordActivity is `POST /users/{name}/activity`, what jupyterhub-singleuser and the idle culler
 * report, as JupyterHub 5: `{"last_activity": T, "servers": {"name": {"last_activity": T}}}`, at
 * least one of them. `last_activity` moves the user's, each server's entry that server's; times
 * only move forward, a time without a zone is UTC, one more than 59 minutes ahead is refused.
 * The whole body is checked before anything is written; the answer is 200 with an empty body.
 */
export function recordActivity(hub: HubContext): Handler {
  return async (ctx) => {
    const name = userName(ctx.params['name']);
    hub.auth.require(ctx.req, 'users:activity', userTarget(hub, name));
    const body = await readJsonOrNothing(ctx.req, hub.config.maxBodyBytes);
    const user = hub.users.get(name);
    if (user === undefined) throw new HttpError(404, `No such user: '${name.slice(0, 255)}'`);
    if (body === undefined) throw new HttpError(400, 'body must be a json dict');
    const { last_activity: own, servers } = body;
    if (falsy(own) && falsy(servers)) throw new HttpError(400, 'body must contain at least one of `last_activity` or `servers`');
    const now = hub.clock.now();
    const updates: Array<{ server: string; at: number }> = [];
    if (!falsy(servers)) {
      if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) throw new HttpError(400, SERVERS_SHAPE);
      for (const [raw, info] of Object.entries(servers as Record<string, unknown>)) {
        const server = serverName(raw);
        if (hub.users.server(user.id, server) === undefined && hub.sk.get(name, server) === undefined) {
          throw new HttpError(400, `No such server '${server}' for user ${name}`);
        }
        if (typeof info !== 'object' || info === null || Array.isArray(info) || !('last_activity' in info))
          throw new HttpError(400, SERVERS_SHAPE);
        updates.push({ server, at: activityTime((info as { last_activity: unknown }).last_activity, now) });
      }
    }
    const at = falsy(own) ? undefined : activityTime(own, now);
    hub.users.touchActivity(user.id, at, updates);
    sendJson(ctx.req, ctx.res, 200, undefined);
  };
}

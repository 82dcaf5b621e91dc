import { boundedActivity } from './activity-time.js';
import type { HubContext } from './context.js';
import { findUser, serverName, userName } from './context.js';
import { HttpError, parseTime, readJson, sendJson } from './http.js';
import type { Handler } from './router.js';

/**
 * recordActivity is `POST /users/{name}/activity`, what jupyterhub-singleuser and the idle culler
 * report: `{"last_activity": T, "servers": {"name": {"last_activity": T}}}`. Times only move forward.
 */
export function recordActivity(hub: HubContext): Handler {
  return async (ctx) => {
    const name = userName(ctx.params['name']);
    hub.auth.require(ctx.req, 'users:activity', { user: name });
    const body = await readJson(ctx.req, hub.config.maxBodyBytes);
    const user = findUser(hub, name);
    const updates: Array<{ server: string; at: number }> = [];
    const servers = body['servers'] ?? {};
    if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) throw new HttpError(400, '"servers" must be an object of server names');
    for (const [raw, value] of Object.entries(servers as Record<string, unknown>)) {
      const server = serverName(raw);
      if (hub.users.server(user.id, server) === undefined && hub.sk.get(name, server) === undefined) {
        throw new HttpError(400, `No such server '${server}' for user ${name}`);
      }
      const at = (value as { last_activity?: unknown } | null)?.last_activity;
      if (at === undefined) throw new HttpError(400, `servers.${server}.last_activity is required`);
      updates.push({ server, at: boundedActivity(parseTime(at, `servers.${server}.last_activity`), hub.clock.now()) });
    }
    const own = body['last_activity'] === undefined ? undefined : boundedActivity(parseTime(body['last_activity'], 'last_activity'), hub.clock.now());
    if (own === undefined && updates.length === 0) throw new HttpError(400, 'give last_activity or servers');
    for (const u of updates) hub.users.touchServer(user.id, u.server, u.at);
    const newest = Math.max(own ?? 0, ...updates.map((u) => u.at));
    hub.users.touchUser(user.id, newest);
    sendJson(ctx.req, ctx.res, 200, {});
  };
}

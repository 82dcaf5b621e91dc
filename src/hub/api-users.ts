import { parseServerKey } from '../kube/names.js';
import { isHubAdmin } from './admin.js';
import type { HubContext } from './context.js';
import { findUser, userName, waitUntil } from './context.js';
import { HttpError, readJson, sendJson } from './http.js';
import { isActive, userModel } from './models.js';
import type { Handler, RequestContext } from './router.js';
import type { Caller } from './tokens.js';
import type { UserRecord } from './users.js';

const PAGINATION = 'application/jupyterhub-pagination+json';
const STATE_FILTERS = ['ready', 'active', 'inactive'] as const;

function flag(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  return v !== null && v !== '0' && v.toLowerCase() !== 'false';
}

function pageArg(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,9}$/.test(raw)) throw new HttpError(400, 'Invalid argument type, offset and limit must be integers');
  return Number(raw);
}

/** matchesState is JupyterHub's `state` filter: `ready` (a server ready), `active` (one pending or ready), `inactive` (none). */
function matchesState(hub: HubContext, user: UserRecord, state: (typeof STATE_FILTERS)[number]): boolean {
  const statuses = hub.index.keysOf(user.name).map((k) => hub.sk.get(user.name, parseServerKey(k).name));
  if (state === 'ready') return statuses.some((s) => s?.ready === true);
  const active = statuses.some(isActive);
  return state === 'active' ? active : !active;
}

/**
 * listUsers is `GET /users`: the users the token may list, filtered by `state`, cut by `offset` and
 * `limit`, and wrapped in `{items, _pagination}` when the client accepts JupyterHub's paginated form.
 */
export function listUsers(hub: HubContext): Handler {
  return (ctx) => {
    const caller = hub.auth.require(ctx.req, 'list:users');
    const state = ctx.query.get('state');
    if (state !== null && !(STATE_FILTERS as readonly string[]).includes(state)) {
      throw new HttpError(400, `Unrecognized state filter: ${JSON.stringify(state.slice(0, 40))}; use one of ${STATE_FILTERS.join(', ')}`);
    }
    const offset = pageArg(ctx.query, 'offset') ?? 0;
    const requested = pageArg(ctx.query, 'limit');
    const limit = Math.min(requested === undefined || requested === 0 ? hub.config.apiPageDefaultLimit : requested, hub.config.apiPageMaxLimit);
    const all = hub.users
      .list()
      .filter((u) => caller.grants.has('list:users', { user: u.name }))
      .filter((u) => state === null || matchesState(hub, u, state as (typeof STATE_FILTERS)[number]));
    const includeStopped = flag(ctx.query, 'include_stopped_servers');
    const items = all.slice(offset, offset + limit).map((u) => userModel(hub, u, caller.grants, includeStopped));
    if (!(ctx.req.headers.accept ?? '').includes(PAGINATION)) return sendJson(ctx.req, ctx.res, 200, items);
    const nextOffset = offset + limit;
    let next: Record<string, unknown> | null = null;
    if (nextOffset < all.length) {
      const q = new URLSearchParams(ctx.query);
      q.set('offset', String(nextOffset));
      q.set('limit', String(limit));
      next = { offset: nextOffset, limit, url: `http://${ctx.req.headers.host ?? 'localhost'}/hub/api/users?${q.toString()}` };
    }
    sendJson(ctx.req, ctx.res, 200, { items, _pagination: { offset, limit, total: all.length, next } });
  };
}

/** getUser is `GET /users/{name}`. */
export function getUser(hub: HubContext): Handler {
  return (ctx) => {
    const name = userName(ctx.params['name']);
    const caller = hub.auth.require(ctx.req, ['read:users', 'read:users:name', 'read:servers', 'admin:users'], { user: name });
    const user = findUser(hub, name);
    sendJson(ctx.req, ctx.res, 200, userModel(hub, user, caller.grants, flag(ctx.query, 'include_stopped_servers')));
  };
}

/** adminFlag reads `"admin"`; true is refused (403) unless the caller is a hub admin, as JupyterHub does. */
function adminFlag(hub: HubContext, caller: Caller, body: Record<string, unknown>): boolean {
  const admin = body['admin'] ?? false;
  if (typeof admin !== 'boolean') throw new HttpError(400, '"admin" must be true or false');
  if (admin && !isHubAdmin(hub.users, caller)) throw new HttpError(403, 'Only admins can grant admin permissions');
  return admin;
}

/** createUser is `POST /users/{name}`: 201, or 409 when the user exists. */
export function createUser(hub: HubContext): Handler {
  return async (ctx) => {
    const name = userName(ctx.params['name']);
    const caller = hub.auth.require(ctx.req, 'admin:users', { user: name });
    const admin = adminFlag(hub, caller, await readJson(ctx.req, hub.config.maxBodyBytes));
    const user = hub.users.create(name, admin, hub.clock.now());
    if (user === undefined) throw new HttpError(409, `User ${name} already exists`);
    hub.logger.info({ user: name, admin }, 'user created');
    sendJson(ctx.req, ctx.res, 201, userModel(hub, user, caller.grants));
  };
}

/**
 * createUsers is `POST /users` with `{"usernames": [...], "admin": bool}`: existing names are skipped,
 * all existing is 409. The new users are one commit, however many there are.
 */
export function createUsers(hub: HubContext): Handler {
  return async (ctx) => {
    const caller = hub.auth.require(ctx.req, 'admin:users');
    const body = await readJson(ctx.req, hub.config.maxBodyBytes);
    const names = body['usernames'];
    if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string')) throw new HttpError(400, '"usernames" must be a non-empty list of names');
    const admin = adminFlag(hub, caller, body);
    const valid = (names as string[]).map((n) => userName(n));
    // The route's scope check has no user to filter on: a token whose admin:users is filtered may create only the users it names.
    const outside = valid.filter((n) => !caller.grants.has('admin:users', { user: n }));
    if (outside.length > 0) throw new HttpError(403, `Action is not authorized with current scopes; requires any of [admin:users] for ${outside.slice(0, 5).join(', ')}`);
    const created = hub.users.createMany(valid, admin, hub.clock.now());
    if (created.length === 0) throw new HttpError(409, `All ${valid.length} users already exist`);
    hub.logger.info({ users: created.length, admin }, 'users created');
    sendJson(ctx.req, ctx.res, 201, created.map((u) => userModel(hub, u, caller.grants)));
  };
}

/** stopServersOf sends a stop to every active server of a user and resolves, once they are committed, with their names. */
async function stopServersOf(hub: HubContext, user: string): Promise<string[]> {
  const active = hub.index.keysOf(user).map((k) => parseServerKey(k).name).filter((n) => isActive(hub.sk.get(user, n)));
  await Promise.all(active.map((n) => hub.sk.stop(user, n)));
  return active;
}

/**
 * deleteUser is `DELETE /users/{name}`: as JupyterHub does, it stops the user's servers first. 204 when
 * none was active or they all stopped within slow_stop_timeout; otherwise 202 (JupyterHub answers 400
 * while a server stops) and the RecordKeeper removes the user once its servers are stopped. Under the
 * user's lock the user is marked for deletion and the stops are committed, so a start either came
 * before (and is stopped here) or comes after (and is refused): no server of a deleted user runs.
 * Server histories stay in the event log.
 */
export function deleteUser(hub: HubContext): Handler {
  return async (ctx: RequestContext) => {
    const name = userName(ctx.params['name']);
    const caller = hub.auth.require(ctx.req, ['delete:users', 'admin:users'], { user: name });
    const active = await hub.userLocks.run(name, () => {
      const user = findUser(hub, name);
      if (caller.owner === name) throw new HttpError(400, 'Cannot delete yourself!');
      hub.users.markDeleting(user.id);
      return stopServersOf(hub, name);
    });
    hub.logger.info({ user: name, stopping: active.length }, 'user deletion requested');
    const stopped = (s: { state: string }) => s.state === 'stopped' || s.state === 'failed';
    await Promise.all(active.map((n) => waitUntil(hub, name, n, stopped, hub.config.slowStopTimeout * 1000)));
    hub.records.tryRemoveUser(name);
    const left = hub.users.get(name);
    sendJson(ctx.req, ctx.res, left === undefined ? 204 : 202, left === undefined ? undefined : userModel(hub, left, caller.grants));
  };
}

/**
 * finishDeletions runs at the hub's start: it stops the active servers of users marked for deletion
 * (a hub that stopped between marking and stopping) and of users that no longer exist (a database
 * from before starts and deletions took turns), so that no server of a deleted user runs.
 */
export function finishDeletions(hub: HubContext): void {
  for (const s of hub.sk.list()) {
    if (!isActive(s)) continue;
    const user = hub.users.get(s.user);
    if (user !== undefined && !user.deleting) continue;
    hub.logger.warn({ server: s.key, user: user === undefined ? 'removed' : 'deleting' }, 'stopping a server whose user is deleted');
    hub.sk.stop(s.user, s.name).catch((err: unknown) => hub.logger.error({ err, server: s.key }, 'could not stop a server of a deleted user'));
  }
}

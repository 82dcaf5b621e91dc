import { parseServerKey } from '../../kube/names.js';
import { isHubAdmin } from '../auth/admin.js';
import type { HubContext } from '../context.js';
import { findUser, userName, userTarget, waitUntil } from '../context.js';
import { HttpError, readJson, sendJson } from './http.js';
import { isActive, userModel } from './models.js';
import { acceptsPagination, pageOf, paginated } from './pagination.js';
import type { Handler, RequestContext } from './router.js';
import type { Caller } from '../auth/tokens.js';
import type { UserRecord } from '../users.js';

const STATE_FILTERS = ['ready', 'active', 'inactive'] as const;
const SORT_KEYS = ['id', 'name', 'last_activity'] as const;

function flag(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  return v !== null && v !== '0' && v.toLowerCase() !== 'false';
}

/** matchesState is JupyterHub's `state` filter: `ready` (a server ready), `active` (one pending or ready), `inactive` (none). */
function matchesState(hub: HubContext, user: UserRecord, state: (typeof STATE_FILTERS)[number]): boolean {
  const statuses = hub.index.keysOf(user.name).map((k) => hub.sk.get(user.name, parseServerKey(k).name));
  if (state === 'ready') return statuses.some((s) => s?.ready === true);
  const active = statuses.some(isActive);
  return state === 'active' ? active : !active;
}

/**
 * sorter is JupyterHub 5's `sort`: `id` (the default), `name` or `last_activity`, a `-` prefix for
 * descending; users without activity come first ascending and last descending. Ties keep id order.
 */
function sorter(raw: string): (a: UserRecord, b: UserRecord) => number {
  const desc = raw.startsWith('-');
  const key = desc ? raw.slice(1) : raw;
  if (!(SORT_KEYS as readonly string[]).includes(key))
    throw new HttpError(400, `sort must be 'id', 'name', or 'last_activity', not '${raw.slice(0, 80)}'`);
  const sign = desc ? -1 : 1;
  return (a, b) => {
    let c = 0;
    if (key === 'name') c = a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    else if (key === 'last_activity') {
      if (a.lastActivity === null || b.lastActivity === null) {
        if (a.lastActivity !== b.lastActivity) return (a.lastActivity === null ? -1 : 1) * sign;
      } else c = a.lastActivity - b.lastActivity;
    } else c = a.id - b.id;
    return c === 0 ? a.id - b.id : c * sign;
  };
}

/**
 * listUsers is `GET /users`: the users the token may list (a `list:users` filter by user or group
 * narrows them), filtered by `state` and `name_filter`, sorted by `sort`, cut by `offset` and
 * `limit`, and wrapped in `{items, _pagination}` when the client accepts JupyterHub's paginated
 * form. A user of whom the token may read nothing is left out.
 */
export function listUsers(hub: HubContext): Handler {
  return (ctx) => {
    const caller = hub.auth.require(ctx.req, 'list:users');
    const state = ctx.query.get('state');
    if (state !== null && state !== '' && !(STATE_FILTERS as readonly string[]).includes(state)) {
      throw new HttpError(400, `Unrecognized state filter: ${JSON.stringify(state.slice(0, 40))}`);
    }
    const nameFilter = (ctx.query.get('name_filter') ?? '').toLowerCase();
    const order = sorter(ctx.query.get('sort') ?? 'id');
    const { offset, limit } = pageOf(ctx, hub.config);
    const everyone = caller.grants.unfiltered('list:users');
    const all = hub.users
      .list()
      .filter((u) => everyone || caller.grants.has('list:users', userTarget(hub, u)))
      .filter((u) => state === null || state === '' || matchesState(hub, u, state as (typeof STATE_FILTERS)[number]))
      .filter((u) => nameFilter === '' || u.name.toLowerCase().includes(nameFilter))
      .sort(order);
    const includeStopped = flag(ctx.query, 'include_stopped_servers');
    const items = all
      .slice(offset, offset + limit)
      .map((u) => userModel(hub, u, caller.grants, includeStopped))
      .filter((m) => Object.keys(m).length > 0);
    sendJson(ctx.req, ctx.res, 200, acceptsPagination(ctx.req) ? paginated(ctx, items, offset, limit, all.length) : items);
  };
}

/** USER_READ are the scopes any of which lets a token read (part of) a user model, as JupyterHub's GET /users/{name}. */
const USER_READ = [
  'read:users',
  'read:users:name',
  'read:servers',
  'read:users:groups',
  'read:users:activity',
  'read:roles:users',
  'admin:auth_state',
] as const;

/** getUser is `GET /users/{name}`. */
export function getUser(hub: HubContext): Handler {
  return (ctx) => {
    const name = userName(ctx.params['name']);
    const caller = hub.auth.require(ctx.req, USER_READ, userTarget(hub, name));
    const user = findUser(hub, name);
    sendJson(ctx.req, ctx.res, 200, userModel(hub, user, caller.grants, flag(ctx.query, 'include_stopped_servers')));
  };
}

/** checkUserBody is JupyterHub's _check_user_model: known keys only, each of its type. */
function checkUserBody(body: Record<string, unknown>, allowed: readonly string[]): void {
  const types: Record<string, (v: unknown) => boolean> = {
    name: (v) => typeof v === 'string',
    admin: (v) => typeof v === 'boolean',
    groups: (v) => Array.isArray(v) && v.every((g) => typeof g === 'string'),
    usernames: (v) => Array.isArray(v),
  };
  for (const [key, value] of Object.entries(body)) {
    if (!allowed.includes(key)) throw new HttpError(400, `Invalid JSON keys: ${JSON.stringify(Object.keys(body)).slice(0, 200)}`);
    if (!(types[key]?.(value) ?? false))
      throw new HttpError(400, `user.${key} has the wrong type: ${JSON.stringify(value)?.slice(0, 60) ?? 'nothing'}`);
  }
}

/** grantsAdmin refuses `admin: true` from a caller that is no admin itself, as JupyterHub does. */
function grantsAdmin(hub: HubContext, caller: Caller, admin: boolean): void {
  if (admin && !isHubAdmin(hub.users, caller)) throw new HttpError(403, 'Only admins can grant admin permissions');
}

/** createUser is `POST /users/{name}` with an optional `{"admin": bool}`: 201, or 409 when the user exists. */
export function createUser(hub: HubContext): Handler {
  return async (ctx) => {
    const name = userName(ctx.params['name']);
    const caller = hub.auth.require(ctx.req, 'admin:users', userTarget(hub, name));
    const body = await readJson(ctx.req, hub.config.maxBodyBytes);
    checkUserBody(body, ['name', 'admin']);
    if (hub.users.get(name) !== undefined) throw new HttpError(409, `User ${name} already exists`);
    const admin = body['admin'] === true;
    grantsAdmin(hub, caller, admin);
    const user = hub.users.create(name, admin, hub.clock.now());
    if (user === undefined) throw new HttpError(409, `User ${name} already exists`);
    hub.logger.info({ user: name, admin }, 'user created');
    sendJson(ctx.req, ctx.res, 201, userModel(hub, user, caller.grants));
  };
}

/**
 * createUsers is `POST /users` with `{"usernames": [...], "admin": bool}`: names are normalized
 * (lower case); any invalid name is 400 and nothing is created; existing names are skipped; all
 * existing is 409. The new users are one commit, however many there are.
 */
export function createUsers(hub: HubContext): Handler {
  return async (ctx) => {
    const caller = hub.auth.require(ctx.req, 'admin:users');
    const body = await readJson(ctx.req, hub.config.maxBodyBytes);
    const names = body['usernames'];
    if (!Array.isArray(names) || names.length === 0) throw new HttpError(400, 'Must specify at least one user to create');
    checkUserBody(body, ['usernames', 'admin']);
    const invalid: string[] = [];
    const valid: string[] = [];
    for (const n of names) {
      try {
        if (typeof n !== 'string') throw new HttpError(400, 'not a string');
        valid.push(userName(n));
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        invalid.push(JSON.stringify(n)?.slice(0, 60) ?? String(n));
      }
    }
    if (invalid.length > 0)
      throw new HttpError(400, `Invalid username${invalid.length === 1 ? '' : 's'}: ${invalid.slice(0, 10).join(', ')}`);
    const admin = body['admin'] === true;
    grantsAdmin(hub, caller, admin);
    // The route's scope check has no user to filter on: a token whose admin:users is filtered may create only the users it names.
    const outside = valid.filter((n) => !caller.grants.has('admin:users', userTarget(hub, n)));
    if (outside.length > 0)
      throw new HttpError(
        403,
        `Action is not authorized with current scopes; requires any of [admin:users] for ${outside.slice(0, 5).join(', ')}`,
      );
    const created = hub.users.createMany([...new Set(valid)], admin, hub.clock.now());
    if (created.length === 0) throw new HttpError(409, `All ${names.length} users already exist`);
    hub.logger.info({ users: created.length, admin }, 'users created');
    sendJson(
      ctx.req,
      ctx.res,
      201,
      created.map((u) => userModel(hub, u, caller.grants)),
    );
  };
}

/** stopServersOf sends a stop to every active server of a user and resolves, once they are committed, with their names. */
async function stopServersOf(hub: HubContext, user: string): Promise<string[]> {
  const active = hub.index
    .keysOf(user)
    .map((k) => parseServerKey(k).name)
    .filter((n) => isActive(hub.sk.get(user, n)));
  await Promise.all(active.map((n) => hub.sk.stop(user, n)));
  return active;
}

/**
 * patchUser is `PATCH /users/{name}` with `{"name": new, "admin": bool, "groups": [...]}`: 200 with
 * the user model. A rename to a taken name is 400; a rename while a server is active is 400 (its
 * pod and event log are named for the user: stop it first); only an admin may make an admin.
 */
export function patchUser(hub: HubContext): Handler {
  return async (ctx) => {
    const name = userName(ctx.params['name']);
    const caller = hub.auth.require(ctx.req, 'admin:users', userTarget(hub, name));
    const body = await readJson(ctx.req, hub.config.maxBodyBytes);
    // The user's lock: a start or a deletion sees the user before or after the change, never half of it.
    const after = await hub.userLocks.run(name, () => patch(hub, caller, name, body));
    sendJson(ctx.req, ctx.res, 200, userModel(hub, after, caller.grants));
  };
}

/** patch checks a PATCH body against the user as it is, then applies it: all of it, or nothing with a 4xx. */
function patch(hub: HubContext, caller: Caller, name: string, body: Record<string, unknown>): UserRecord {
  const user = findUser(hub, name);
  if (Object.keys(body).length === 0) throw new HttpError(400, 'Give at least one of name, admin or groups to change');
  checkUserBody(body, ['name', 'admin', 'groups']);
  const newName = body['name'] === undefined ? name : userName(body['name'] as string);
  if (newName !== name) {
    if (hub.users.get(newName) !== undefined) throw new HttpError(400, `User ${newName} already exists, username must be unique`);
    if (user.deleting) throw new HttpError(400, `${name} is being deleted`);
    if (hub.index.keysOf(name).some((k) => isActive(hub.sk.get(name, parseServerKey(k).name)))) {
      throw new HttpError(400, `Cannot rename ${name} while a server is active: stop its servers first`);
    }
  }
  if (!isHubAdmin(hub.users, caller)) {
    if (user.admin) throw new HttpError(403, 'Only admins can modify other admins');
    if (body['admin'] === true) throw new HttpError(403, 'Only admins can grant admin permissions');
  }
  const groupIds = (body['groups'] as string[] | undefined)?.map((g) => {
    const group = hub.groups.get(g);
    if (group === undefined) throw new HttpError(400, `No such group: ${g.slice(0, 255)}`);
    return group.id;
  });
  if (newName !== name && !hub.users.rename(user.id, name, newName))
    throw new HttpError(400, `User ${newName} already exists, username must be unique`);
  if (typeof body['admin'] === 'boolean') hub.users.setAdmin(user.id, body['admin']);
  if (groupIds !== undefined) hub.groups.setGroupsOf(user.id, groupIds);
  hub.logger.info({ user: name, changes: Object.keys(body) }, 'user modified');
  return findUser(hub, newName);
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
    const caller = hub.auth.require(ctx.req, ['delete:users', 'admin:users'], userTarget(hub, name));
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
    hub.sk
      .stop(s.user, s.name)
      .catch((err: unknown) => hub.logger.error({ err, server: s.key }, 'could not stop a server of a deleted user'));
  }
}

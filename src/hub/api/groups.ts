import type { HubContext } from '../context.js';
import { userName } from '../context.js';
import type { GroupRecord } from '../groups.js';
import { HttpError, readJson, readJsonOrNothing, sendJson } from './http.js';
import { groupModel } from './models.js';
import { acceptsPagination, pageOf, paginated } from './pagination.js';
import type { Handler, RequestContext } from './router.js';

const GROUP_NAME = /^[^/\s\p{Cc}]{1,255}$/u;

/** groupName validates a group name from the path or a body: 400 for a bad one. */
function groupName(raw: unknown): string {
  if (typeof raw !== 'string' || !GROUP_NAME.test(raw)) {
    throw new HttpError(
      400,
      `invalid group name ${JSON.stringify(raw)?.slice(0, 80) ?? 'nothing'}: 1–255 characters, no '/', white space or control characters`,
    );
  }
  return raw;
}

function findGroup(hub: HubContext, name: string): GroupRecord {
  const group = hub.groups.get(name);
  if (group === undefined) throw new HttpError(404, `No such group: ${name}`);
  return group;
}

/** userIds turns user names into ids (normalized as JupyterHub does); an unknown name is 400 and nothing changes. */
function userIds(hub: HubContext, names: unknown): number[] {
  if (names === undefined) return [];
  if (!Array.isArray(names)) throw new HttpError(400, 'group.users must be a list of user names');
  return names.map((n) => {
    if (typeof n !== 'string') throw new HttpError(400, 'usernames must be strings');
    const name = userName(n);
    const user = hub.users.get(name);
    if (user === undefined) throw new HttpError(400, `No such user: ${name}`);
    return user.id;
  });
}

/** checkGroupBody is JupyterHub's _check_group_model: keys name, users, roles only; spawnkeeper groups hold no roles. */
function checkGroupBody(body: Record<string, unknown>): void {
  for (const key of Object.keys(body)) {
    if (!['name', 'users', 'roles'].includes(key))
      throw new HttpError(400, `Invalid JSON keys: ${JSON.stringify(Object.keys(body)).slice(0, 200)}`);
  }
  const roles = body['roles'];
  if (roles !== undefined && !(Array.isArray(roles) && roles.length === 0))
    throw new HttpError(400, 'groups hold no roles in spawnkeeper; give scopes to tokens and services instead');
}

/** listGroups is `GET /groups` (`list:groups`): the groups the token may list, paged as GET /users. */
export function listGroups(hub: HubContext): Handler {
  return (ctx) => {
    const caller = hub.auth.require(ctx.req, 'list:groups');
    const { offset, limit } = pageOf(ctx, hub.config);
    const all = hub.groups.list().filter((g) => caller.grants.has('list:groups', { group: g.name }));
    const items = all
      .slice(offset, offset + limit)
      .map((g) => groupModel(hub, g, caller.grants))
      .filter((m) => Object.keys(m).length > 0);
    sendJson(ctx.req, ctx.res, 200, acceptsPagination(ctx.req) ? paginated(ctx, items, offset, limit, all.length) : items);
  };
}

/** create makes groups with their first members in one transaction: all or nothing. */
function create(hub: HubContext, names: readonly string[], members: readonly number[]): GroupRecord[] {
  for (const n of names) if (hub.groups.get(n) !== undefined) throw new HttpError(409, `Group ${n} already exists`);
  const now = hub.clock.now();
  return names.map((n) => {
    const group = hub.groups.create(n, members, now);
    if (group === undefined) throw new HttpError(409, `Group ${n} already exists`);
    hub.logger.info({ group: n, users: members.length }, 'group created');
    return group;
  });
}

/** createGroups is `POST /groups` with `{"groups": [...], "users": [...]}` (`admin:groups`): 201 with the groups; 409 if one exists. */
export function createGroups(hub: HubContext): Handler {
  return async (ctx) => {
    const caller = hub.auth.require(ctx.req, 'admin:groups');
    const { groups, ...rest } = await readJson(ctx.req, hub.config.maxBodyBytes);
    if (!Array.isArray(groups) || groups.length === 0) throw new HttpError(400, 'Must specify at least one group to create');
    checkGroupBody(rest);
    const names = [...new Set(groups.map(groupName))];
    const members = userIds(hub, rest['users']);
    sendJson(
      ctx.req,
      ctx.res,
      201,
      create(hub, names, members).map((g) => groupModel(hub, g, caller.grants)),
    );
  };
}

/** getGroup is `GET /groups/{name}`. */
export function getGroup(hub: HubContext): Handler {
  return (ctx) => {
    const name = groupName(ctx.params['name']);
    const caller = hub.auth.require(ctx.req, ['read:groups', 'read:groups:name', 'read:roles:groups'], { group: name });
    sendJson(ctx.req, ctx.res, 200, groupModel(hub, findGroup(hub, name), caller.grants));
  };
}

/** createGroup is `POST /groups/{name}` with an optional `{"users": [...]}` (`admin:groups`): 201, or 409. */
export function createGroup(hub: HubContext): Handler {
  return async (ctx) => {
    const name = groupName(ctx.params['name']);
    const caller = hub.auth.require(ctx.req, 'admin:groups', { group: name });
    const body = await readJson(ctx.req, hub.config.maxBodyBytes);
    checkGroupBody(body);
    const [group] = create(hub, [name], userIds(hub, body['users']));
    sendJson(ctx.req, ctx.res, 201, group === undefined ? undefined : groupModel(hub, group, caller.grants));
  };
}

/** deleteGroup is `DELETE /groups/{name}` (`delete:groups`): 204; the users stay. */
export function deleteGroup(hub: HubContext): Handler {
  return (ctx) => {
    const name = groupName(ctx.params['name']);
    hub.auth.require(ctx.req, 'delete:groups', { group: name });
    hub.groups.remove(findGroup(hub, name).id);
    hub.logger.info({ group: name }, 'group deleted');
    sendJson(ctx.req, ctx.res, 204, undefined);
  };
}

/**
 * membership answers the routes that change who is in a group: `{"users": [...]}`, each name an
 * existing user (else 400 and no change), then 200 with the group.
 */
function membership(hub: HubContext, verb: 'add' | 'delete', change: (groupId: number, userIds: number[]) => void): Handler {
  return async (ctx: RequestContext) => {
    const name = groupName(ctx.params['name']);
    const caller = hub.auth.require(ctx.req, 'groups', { group: name });
    const group = findGroup(hub, name);
    const body = await readJson(ctx.req, hub.config.maxBodyBytes);
    checkGroupBody(body);
    if (!('users' in body)) throw new HttpError(400, `Must specify users to ${verb}`);
    change(group.id, userIds(hub, body['users']));
    sendJson(ctx.req, ctx.res, 200, groupModel(hub, group, caller.grants));
  };
}

/** addGroupUsers is `POST /groups/{name}/users` (`groups`): members already in stay. */
export function addGroupUsers(hub: HubContext): Handler {
  return membership(hub, 'add', (id, users) => hub.groups.add(id, users));
}

/** removeGroupUsers is `DELETE /groups/{name}/users` (`groups`): names not in the group are no change. */
export function removeGroupUsers(hub: HubContext): Handler {
  return membership(hub, 'delete', (id, users) => hub.groups.drop(id, users));
}

/** setGroupProperties is `PUT /groups/{name}/properties` with a JSON object (`groups`): it replaces the properties; 200 with the group. */
export function setGroupProperties(hub: HubContext): Handler {
  return async (ctx) => {
    const name = groupName(ctx.params['name']);
    const caller = hub.auth.require(ctx.req, 'groups', { group: name });
    const group = findGroup(hub, name);
    const properties = await readJsonOrNothing(ctx.req, hub.config.maxBodyBytes);
    if (properties === undefined) throw new HttpError(400, 'Must specify properties: a JSON object');
    hub.groups.setProperties(group.id, properties);
    sendJson(ctx.req, ctx.res, 200, groupModel(hub, findGroup(hub, name), caller.grants));
  };
}

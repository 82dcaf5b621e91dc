import { parseServerKey } from '../../kube/names.js';
import type { ServerStatus, Spawnkeeper } from '../../spawnkeeper.js';
import type { GroupRecord, GroupStore } from '../groups.js';
import { isoTime } from './http.js';
import type { Grants, Target } from '../auth/scopes.js';
import type { ServerIndex } from '../server-index.js';
import type { ServiceSpec } from '../auth/services.js';
import type { ServerRecord, UserRecord, UserStore } from '../users.js';

/** ModelSources are what the models are read from: the engine, the index and the hub's records. */
export interface ModelSources {
  readonly sk: Spawnkeeper;
  readonly index: ServerIndex;
  readonly users: UserStore;
  readonly groups: GroupStore;
}

const enc = encodeURIComponent;

/** serverUrl is where JupyterHub's proxy would route a server: `/user/alice/` or `/user/alice/lab/`. */
export function serverUrl(user: string, name: string): string {
  return `/user/${enc(user)}/${name === '' ? '' : `${enc(name)}/`}`;
}

/** progressUrl is the server's progress stream, as JupyterHub's server model links it. */
export function progressUrl(user: string, name: string): string {
  return `/hub/api/users/${enc(user)}/${name === '' ? 'server' : `servers/${enc(name)}`}/progress`;
}

/** logName is how JupyterHub names a server in messages: `alice`, or `alice:lab` for a named one. */
export function logName(user: string, name: string): string {
  return name === '' ? user : `${user}:${name}`;
}

/** isActive is JupyterHub's `active`: pending or ready. */
export function isActive(s: ServerStatus | undefined): boolean {
  return s !== undefined && (s.pending !== null || s.ready);
}

/** pick is JupyterHub's `_filter_model`: the model cut to the allowed keys, in its own order. */
function pick(model: Record<string, unknown>, allowed: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(model).filter(([key]) => allowed.has(key)));
}

/** allowedKeys is the union of the keys each scope the caller holds for the target shows. */
function allowedKeys(access: Readonly<Record<string, readonly string[]>>, grants: Grants, target: Target): Set<string> {
  return new Set(Object.entries(access).flatMap(([scope, keys]) => (grants.has(scope, target) ? keys : [])));
}

/** serverState is what `get_state` of KubeSpawner would store for a server: its pod while active, nothing once stopped. */
function serverState(s: ServerStatus | undefined, namespace: string): Record<string, unknown> {
  return isActive(s) && s?.podName !== undefined && s.podName !== null ? { pod_name: s.podName, namespace } : {};
}

/**
 * serverModel is JupyterHub 5's server model (name, full_name, last_activity, started, pending,
 * ready, stopped, url, user_options, progress_url, full_url, full_progress_url, and `state` for
 * `admin:server_state`) plus a `spawnkeeper` object with the machine's own view: the full state,
 * the reason, the deadline.
 */
export function serverModel(
  user: string,
  name: string,
  s: ServerStatus | undefined,
  record: ServerRecord | undefined,
  state?: { grants: Grants; target: Target; namespace: string },
): Record<string, unknown> {
  const model: Record<string, unknown> = {
    name,
    full_name: `${user}/${name}`,
    last_activity: isoTime(record?.lastActivity),
    started: isoTime(isActive(s) ? (record?.started ?? s?.since) : null),
    pending: s?.pending ?? null,
    ready: s?.ready === true,
    stopped: !isActive(s),
    url: serverUrl(user, name),
    user_options: record?.userOptions ?? {},
    progress_url: progressUrl(user, name),
    full_url: null,
    full_progress_url: null,
  };
  if (state !== undefined && state.grants.has('admin:server_state', state.target)) model['state'] = serverState(s, state.namespace);
  model['spawnkeeper'] = {
    state: s?.state ?? 'stopped',
    detail: s?.detail ?? 'stopped',
    reason: s?.reason ?? null,
    start_queued: s?.startQueued ?? false,
    deadline: isoTime(s?.deadline),
    since: isoTime(s?.since),
    pod_name: s?.podName ?? null,
    seq: s?.seq ?? 0,
    ip: s?.ip ?? null,
    port: s?.port ?? null,
  };
  return model;
}

/** userServers merges the servers the runtime knows with the hub's records, by server name. */
export function userServers(
  src: ModelSources,
  user: UserRecord,
): Map<string, { status: ServerStatus | undefined; record: ServerRecord | undefined }> {
  const out = new Map<string, { status: ServerStatus | undefined; record: ServerRecord | undefined }>();
  for (const record of src.users.servers(user.id)) out.set(record.name, { status: src.sk.get(user.name, record.name), record });
  for (const key of src.index.keysOf(user.name)) {
    // A server the hub has no record of (removed, or from before the user was re-created) shows only while active.
    const { name } = parseServerKey(key);
    const status = src.sk.get(user.name, name);
    if (!out.has(name) && isActive(status)) out.set(name, { status, record: undefined });
  }
  return out;
}

/** USER_ACCESS is which user-model keys each scope shows, as JupyterHub's user_model. */
const USER_ACCESS: Readonly<Record<string, readonly string[]>> = {
  'read:users': ['kind', 'name', 'admin', 'roles', 'groups', 'server', 'pending', 'created', 'last_activity', 'deleting'],
  'read:users:name': ['kind', 'name', 'admin'],
  'read:users:groups': ['kind', 'name', 'groups'],
  'read:users:activity': ['kind', 'name', 'last_activity'],
  'read:servers': ['kind', 'name', 'servers'],
  'read:roles:users': ['kind', 'name', 'roles', 'admin'],
  'admin:auth_state': ['kind', 'name', 'auth_state'],
};

/**
 * userModel is JupyterHub's user model cut to what the caller's scopes allow for this user (an
 * empty object when nothing), e.g. `list:users` alone shows kind, name and admin. `servers` holds
 * each server the caller may read (active ones unless `includeStopped`, JupyterHub's
 * `include_stopped_servers`), present and empty when it may read servers in general.
 */
export function userModel(src: ModelSources, user: UserRecord, grants: Grants, includeStopped = false): Record<string, unknown> {
  const groups = src.groups.groupsOf(user.id);
  const target: Target = { user: user.name, groups };
  const servers = userServers(src, user);
  const own = servers.get('');
  const full: Record<string, unknown> = {
    kind: 'user',
    name: user.name,
    admin: user.admin,
    roles: user.admin ? ['admin', 'user'] : ['user'],
    groups,
    server: own?.status?.ready === true ? serverUrl(user.name, '') : null,
    pending: own?.status?.pending ?? null,
    created: isoTime(user.created),
    last_activity: isoTime(user.lastActivity),
    auth_state: null,
    deleting: user.deleting,
  };
  const allowed = allowedKeys(USER_ACCESS, grants, target);
  const model = pick(full, allowed);
  if (Object.keys(model).length === 0) return model;
  const shown: Record<string, unknown> = {};
  for (const [name, { status, record }] of servers) {
    const serverTarget = { ...target, server: name };
    if ((includeStopped || isActive(status)) && grants.has('read:servers', serverTarget)) {
      shown[name] = serverModel(user.name, name, status, record, { grants, target: serverTarget, namespace: src.sk.config.namespace });
    }
  }
  if (allowed.has('servers') || Object.keys(shown).length > 0) model['servers'] = shown;
  return model;
}

/** GROUP_ACCESS is which group-model keys each scope shows, as JupyterHub's group_model. */
const GROUP_ACCESS: Readonly<Record<string, readonly string[]>> = {
  'read:groups': ['kind', 'name', 'properties', 'users'],
  'read:groups:name': ['kind', 'name'],
  'read:roles:groups': ['kind', 'name', 'roles'],
};

/** groupModel is JupyterHub's group model cut to the caller's scopes; groups hold no roles here. */
export function groupModel(src: ModelSources, group: GroupRecord, grants: Grants): Record<string, unknown> {
  const full = { kind: 'group', name: group.name, roles: [], users: src.groups.members(group.id), properties: group.properties };
  return pick(full, allowedKeys(GROUP_ACCESS, grants, { group: group.name }));
}

/** SERVICE_ACCESS is which service-model keys each scope shows, as JupyterHub's service_model. */
const SERVICE_ACCESS: Readonly<Record<string, readonly string[]>> = {
  'read:services': ['kind', 'name', 'admin', 'url', 'prefix', 'command', 'pid', 'info', 'display'],
  'read:services:name': ['kind', 'name', 'admin'],
  'read:roles:services': ['kind', 'name', 'roles', 'admin'],
};

/**
 * serviceModel is JupyterHub's service model cut to the caller's scopes. Services here are never
 * run by the hub nor proxied, so `command` is empty, `pid` 0 and `prefix` ''.
 */
export function serviceModel(
  service: Pick<ServiceSpec, 'name' | 'admin' | 'roles' | 'url' | 'info' | 'display'>,
  grants: Grants,
): Record<string, unknown> {
  const full = {
    kind: 'service',
    name: service.name,
    roles: [...service.roles],
    admin: service.admin,
    url: service.url,
    prefix: '',
    command: [],
    pid: 0,
    info: service.info,
    display: service.display,
  };
  return pick(full, allowedKeys(SERVICE_ACCESS, grants, { service: service.name }));
}

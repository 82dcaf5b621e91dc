import { parseServerKey } from '../kube/names.js';
import type { ServerStatus, Spawnkeeper } from '../spawnkeeper.js';
import { isoTime } from './http.js';
import type { Grants } from './scopes.js';
import type { ServerIndex } from './server-index.js';
import type { ServerRecord, UserRecord, UserStore } from './users.js';

/** ModelSources are what the models are read from: the engine, the index and the hub's records. */
export interface ModelSources {
  readonly sk: Spawnkeeper;
  readonly index: ServerIndex;
  readonly users: UserStore;
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

/**
 * serverModel is JupyterHub's server model (name, ready, pending, stopped, url, progress_url …) plus a
 * `spawnkeeper` object with the machine's own view: the full state, the reason, the deadline.
 */
export function serverModel(user: string, name: string, s: ServerStatus | undefined, record: ServerRecord | undefined): Record<string, unknown> {
  const ready = s?.ready === true;
  return {
    name,
    full_name: `${user}/${name}`,
    last_activity: isoTime(record?.lastActivity),
    started: isoTime(isActive(s) ? (record?.started ?? s?.since) : null),
    pending: s?.pending ?? null,
    ready,
    stopped: !isActive(s),
    url: serverUrl(user, name),
    user_options: record?.userOptions ?? {},
    progress_url: progressUrl(user, name),
    full_url: null,
    full_progress_url: null,
    spawnkeeper: {
      state: s?.state ?? 'stopped',
      detail: s?.detail ?? 'stopped',
      reason: s?.reason ?? null,
      start_queued: s?.startQueued ?? false,
      deadline: isoTime(s?.deadline),
      since: isoTime(s?.since),
      pod_name: s?.podName ?? null,
      seq: s?.seq ?? 0,
    },
  };
}

/** userServers merges the servers the runtime knows with the hub's records, by server name. */
export function userServers(src: ModelSources, user: UserRecord): Map<string, { status: ServerStatus | undefined; record: ServerRecord | undefined }> {
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

/**
 * userModel is JupyterHub's user model, cut to what the caller's scopes allow: `list:users` alone
 * shows the name, `read:users` the fields, `read:servers` the servers (active ones unless
 * `includeStopped`, as JupyterHub's `include_stopped_servers`).
 */
export function userModel(src: ModelSources, user: UserRecord, grants: Grants, includeStopped = false): Record<string, unknown> {
  const target = { user: user.name };
  const model: Record<string, unknown> = { kind: 'user', name: user.name };
  const servers = userServers(src, user);
  const own = servers.get('');
  if (grants.has('read:users', target)) Object.assign(model, {
    admin: user.admin,
    roles: user.admin ? ['admin', 'user'] : ['user'],
    groups: [],
    server: own?.status?.ready === true ? serverUrl(user.name, '') : null,
    pending: own?.status?.pending ?? null,
    created: isoTime(user.created),
    last_activity: isoTime(user.lastActivity),
    deleting: user.deleting,
  });
  if (grants.has('read:servers', target)) {
    const shown: Record<string, unknown> = {};
    for (const [name, { status, record }] of servers) {
      if (includeStopped || isActive(status)) shown[name] = serverModel(user.name, name, status, record);
    }
    model['servers'] = shown;
  }
  return model;
}

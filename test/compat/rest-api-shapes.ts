/**
 * The response models of JupyterHub 5's REST API (its published rest-api.yml), restated here as
 * field names and types, and a checker. A response conforms when every field is one the model
 * names (or one listed as an addition, with its reason) and every field has its type; `required`
 * lists what spawnkeeper always sends of a model.
 */

/** FieldType is a JSON type: a scalar name, a literal, a list of alternatives, a nested shape, a map or list of shapes. */
export type FieldType =
  | 'string'
  | 'boolean'
  | 'number'
  | 'null'
  | 'object'
  | 'date'
  | 'string[]'
  | { readonly literal: string }
  | { readonly oneOf: readonly string[] }
  | readonly FieldType[]
  | Shape
  | { readonly mapOf: Shape }
  | { readonly listOf: Shape };

/** Shape is a model: its fields, the ones always present, and additions beyond JupyterHub's spec. */
export interface Shape {
  readonly name: string;
  readonly fields: Readonly<Record<string, FieldType>>;
  readonly required?: readonly string[];
  /** extra: fields the spec does not name, each with its type; JupyterHub's own code sends some of them too. */
  readonly extra?: Readonly<Record<string, FieldType>>;
}

const date: FieldType = 'date';
const dateOrNull: FieldType = ['date', 'null'];
const strOrNull: FieldType = ['string', 'null'];

/** SPAWNKEEPER_SERVER is the `spawnkeeper` object spawnkeeper adds to a server model: the machine's own view. */
const SPAWNKEEPER_SERVER: Shape = {
  name: 'spawnkeeper server view',
  fields: {
    state: 'string',
    detail: 'string',
    reason: strOrNull,
    start_queued: 'boolean',
    deadline: dateOrNull,
    since: dateOrNull,
    pod_name: strOrNull,
    seq: 'number',
    ip: strOrNull,
    port: ['number', 'null'],
  },
  required: ['state', 'detail', 'reason', 'start_queued', 'deadline', 'since', 'pod_name', 'seq', 'ip', 'port'],
};

/** SERVER is the spec's Server: `pending` is spawn, stop or null; `state` only for admin:server_state. */
export const SERVER: Shape = {
  name: 'Server',
  fields: {
    name: 'string',
    ready: 'boolean',
    stopped: 'boolean',
    pending: [{ oneOf: ['spawn', 'stop'] }, 'null'],
    url: 'string',
    progress_url: 'string',
    full_url: strOrNull,
    full_progress_url: strOrNull,
    started: dateOrNull,
    last_activity: dateOrNull,
    state: 'object',
    user_options: 'object',
  },
  required: [
    'name',
    'ready',
    'stopped',
    'pending',
    'url',
    'progress_url',
    'full_url',
    'full_progress_url',
    'started',
    'last_activity',
    'user_options',
  ],
  // full_name: JupyterHub 5's server_model sends it; spawnkeeper: the machine's state, reason and deadline.
  extra: { full_name: 'string', spawnkeeper: SPAWNKEEPER_SERVER },
};

/** USER is the spec's User, every field of which depends on the caller's scopes. */
export const USER: Shape = {
  name: 'User',
  fields: {
    name: 'string',
    kind: { literal: 'user' },
    admin: 'boolean',
    roles: 'string[]',
    groups: 'string[]',
    server: strOrNull,
    pending: [{ oneOf: ['spawn', 'stop'] }, 'null'],
    last_activity: dateOrNull,
    servers: { mapOf: SERVER },
    auth_state: ['object', 'null'],
  },
  required: ['name', 'kind'],
  // created: JupyterHub's user_model sends it; deleting: a DELETE waits for the user's servers to stop.
  extra: { created: date, deleting: 'boolean' },
};

/** SERVICE is the spec's Service. */
export const SERVICE: Shape = {
  name: 'Service',
  fields: {
    name: 'string',
    kind: { literal: 'service' },
    admin: 'boolean',
    roles: 'string[]',
    url: 'string',
    prefix: 'string',
    pid: 'number',
    command: 'string[]',
    info: 'object',
  },
  required: ['name', 'kind', 'admin'],
  // display: JupyterHub's service_model sends it.
  extra: { display: 'boolean' },
};

/** identity adds RequestIdentity's fields (session_id, scopes, token_id) to the User or Service model. */
function identity(base: Shape): Shape {
  return {
    name: `RequestIdentity (${base.name})`,
    fields: { ...base.fields, session_id: strOrNull, scopes: 'string[]', token_id: strOrNull },
    required: [...(base.required ?? []), 'session_id', 'scopes', 'token_id'],
    ...(base.extra === undefined ? {} : { extra: base.extra }),
  };
}

export const USER_IDENTITY = identity(USER);
export const SERVICE_IDENTITY = identity(SERVICE);

/** GROUP is the spec's Group. */
export const GROUP: Shape = {
  name: 'Group',
  fields: { name: 'string', kind: { literal: 'group' }, users: 'string[]', properties: 'object', roles: 'string[]' },
  required: ['name', 'kind'],
};

/** TOKEN is the spec's Token: `user` or `service` names the owner. */
export const TOKEN: Shape = {
  name: 'Token',
  fields: {
    id: 'string',
    user: 'string',
    service: 'string',
    roles: 'string[]',
    scopes: 'string[]',
    note: 'string',
    created: date,
    expires_at: dateOrNull,
    last_activity: dateOrNull,
    session_id: strOrNull,
  },
  required: ['id', 'roles', 'scopes', 'note', 'created', 'expires_at', 'last_activity', 'session_id'],
  // kind and oauth_client: JupyterHub's token_model sends them; prefix: the token's first characters, to recognise it by.
  extra: { kind: { literal: 'api_token' }, oauth_client: 'string', prefix: 'string' },
};

/** NEW_TOKEN is the spec's NewToken: a Token and, this once, the token itself. */
export const NEW_TOKEN: Shape = {
  ...TOKEN,
  name: 'NewToken',
  fields: { ...TOKEN.fields, token: 'string' },
  required: [...(TOKEN.required ?? []), 'token'],
};

/** PAGINATION is the spec's Pagination. */
export const PAGINATION: Shape = {
  name: 'Pagination',
  fields: {
    total: 'number',
    limit: 'number',
    offset: 'number',
    next: [
      { name: 'next page', fields: { offset: 'number', limit: 'number', url: 'string' }, required: ['offset', 'limit', 'url'] },
      'null',
    ],
  },
  required: ['total', 'limit', 'offset', 'next'],
};

/** paginatedList is the spec's PaginatedList of one kind of item. */
export function paginatedList(item: Shape): Shape {
  return {
    name: `PaginatedList of ${item.name}`,
    fields: { items: { listOf: item }, _pagination: PAGINATION },
    required: ['items', '_pagination'],
  };
}

/** VERSION is the answer of `GET /`. */
export const VERSION: Shape = { name: 'version', fields: { version: 'string' }, required: ['version'], extra: { spawnkeeper: 'string' } };

/** INFO is the answer of `GET /info`: spawnkeeper runs no Python, so `python` is absent; the rest is its own. */
export const INFO: Shape = {
  name: 'info',
  fields: {
    version: 'string',
    python: 'string',
    sys_executable: 'string',
    authenticator: { name: 'authenticator', fields: { class: 'string', version: 'string' }, required: ['class', 'version'] },
    spawner: {
      name: 'spawner',
      fields: { class: 'string', version: 'string' },
      required: ['class', 'version'],
      extra: { namespace: 'string', instance: 'string' },
    },
  },
  required: ['version', 'sys_executable', 'authenticator', 'spawner'],
  extra: { spawnkeeper: 'string', node: 'string', cluster: 'string', limits: 'object', timeouts: 'object', health: 'object' },
};

/** TOKEN_LIST is the answer of `GET /users/{name}/tokens`. */
export const TOKEN_LIST: Shape = { name: 'token list', fields: { api_tokens: { listOf: TOKEN } }, required: ['api_tokens'] };

/** ERROR is every error answer: `{"status": N, "message": "…"}`, as JupyterHub's write_error. */
export const ERROR: Shape = { name: 'error', fields: { status: 'number', message: 'string' }, required: ['status', 'message'] };

function isShape(t: FieldType): t is Shape {
  return typeof t === 'object' && !Array.isArray(t) && 'fields' in t;
}

/** typeProblems lists why `value` is not of type `t` (empty: it is). */
function typeProblems(value: unknown, t: FieldType, at: string): string[] {
  if (Array.isArray(t)) {
    const each = t.map((alt) => typeProblems(value, alt, at));
    return each.some((p) => p.length === 0)
      ? []
      : [`${at}: ${JSON.stringify(value)?.slice(0, 60)} is none of its types (${each.map((p) => p[0]).join('; ')})`];
  }
  if (typeof t === 'string') {
    const ok =
      t === 'string'
        ? typeof value === 'string'
        : t === 'boolean'
          ? typeof value === 'boolean'
          : t === 'number'
            ? typeof value === 'number' && Number.isFinite(value)
            : t === 'null'
              ? value === null
              : t === 'object'
                ? typeof value === 'object' && value !== null && !Array.isArray(value)
                : t === 'date'
                  ? typeof value === 'string' &&
                    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(value) &&
                    Number.isFinite(Date.parse(value))
                  : Array.isArray(value) && value.every((v) => typeof v === 'string');
    return ok ? [] : [`${at}: ${JSON.stringify(value)?.slice(0, 60)} is not ${t}`];
  }
  if ('literal' in t) return value === t.literal ? [] : [`${at}: ${JSON.stringify(value)} is not "${t.literal}"`];
  if ('oneOf' in t)
    return typeof value === 'string' && t.oneOf.includes(value)
      ? []
      : [`${at}: ${JSON.stringify(value)} is not one of ${t.oneOf.join(', ')}`];
  if ('mapOf' in t) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: not an object`];
    return Object.entries(value).flatMap(([k, v]) => problems(v, t.mapOf, `${at}.${k}`));
  }
  if ('listOf' in t) return Array.isArray(value) ? value.flatMap((v, i) => problems(v, t.listOf, `${at}[${i}]`)) : [`${at}: not a list`];
  return isShape(t) ? problems(value, t, at) : [`${at}: unknown type`];
}

/** problems lists every way `value` differs from `shape`: unknown fields, wrong types, missing required fields. */
export function problems(value: unknown, shape: Shape, at = shape.name): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [`${at}: not an object but ${JSON.stringify(value)?.slice(0, 60)}`];
  const out: string[] = [];
  for (const [field, v] of Object.entries(value)) {
    const t = shape.fields[field] ?? shape.extra?.[field];
    if (t === undefined) out.push(`${at}.${field}: not a field of ${shape.name}`);
    else out.push(...typeProblems(v, t, `${at}.${field}`));
  }
  for (const field of shape.required ?? []) if (!(field in value)) out.push(`${at}.${field}: missing`);
  return out;
}

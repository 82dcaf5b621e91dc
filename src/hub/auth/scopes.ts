/**
 * SCOPE_TREE holds JupyterHub 5's scope names and what each implies, so a token minted for
 * JupyterHub's API means the same here. Scopes for features spawnkeeper does not have (shares, the
 * proxy, the admin page) are known, so such tokens are accepted, and grant nothing more.
 */
export const SCOPE_TREE: Readonly<Record<string, readonly string[]>> = {
  '(no_scope)': [],
  'admin-ui': [],
  'admin:users': ['admin:auth_state', 'users', 'read:roles:users', 'delete:users'],
  'admin:auth_state': [],
  users: ['read:users', 'list:users', 'users:activity'],
  'delete:users': [],
  'list:users': ['read:users:name'],
  'read:users': ['read:users:name', 'read:users:groups', 'read:users:activity'],
  'read:users:name': [],
  'read:users:groups': [],
  'read:users:activity': [],
  'read:roles': ['read:roles:users', 'read:roles:services', 'read:roles:groups'],
  'read:roles:users': [],
  'read:roles:services': [],
  'read:roles:groups': [],
  'users:activity': ['read:users:activity'],
  'admin:servers': ['admin:server_state', 'servers'],
  'admin:server_state': [],
  servers: ['read:servers', 'delete:servers'],
  'read:servers': ['read:users:name'],
  'delete:servers': [],
  tokens: ['read:tokens'],
  'read:tokens': [],
  'admin:groups': ['groups', 'read:roles:groups', 'delete:groups'],
  groups: ['read:groups', 'list:groups'],
  'list:groups': ['read:groups:name'],
  'read:groups': ['read:groups:name'],
  'read:groups:name': [],
  'delete:groups': [],
  'admin:services': ['list:services', 'read:services', 'read:roles:services'],
  'list:services': ['read:services:name'],
  'read:services': ['read:services:name'],
  'read:services:name': [],
  'read:hub': [],
  'access:servers': [],
  'access:services': [],
  'users:shares': ['read:users:shares'],
  'read:users:shares': [],
  'groups:shares': ['read:groups:shares'],
  'read:groups:shares': [],
  shares: ['read:shares', 'users:shares', 'groups:shares'],
  'read:shares': [],
  proxy: [],
  shutdown: [],
  'read:metrics': [],
};

/** SELF_SCOPES is what JupyterHub's `self` means for a user: the owner's own user, servers and tokens. */
export const SELF_SCOPES = ['read:users', 'users:activity', 'servers', 'tokens'] as const;

/** ADMIN_SCOPES are the scopes of JupyterHub's `admin` role: the hub admin token's, and an admin service's. */
export const ADMIN_SCOPES = [
  'admin-ui',
  'admin:users',
  'admin:servers',
  'tokens',
  'admin:groups',
  'list:services',
  'read:services',
  'read:hub',
  'proxy',
  'shutdown',
  'access:services',
  'access:servers',
  'read:roles',
  'read:metrics',
  'shares',
] as const;

/**
 * Target is what a request acts on: a user (with the groups it is in, for `!group=` filters), a
 * server of that user, a group, or a service. Give only the fields that apply.
 */
export interface Target {
  readonly user?: string;
  readonly server?: string;
  readonly groups?: readonly string[];
  readonly group?: string;
  readonly service?: string;
}

/** Owner is who a token belongs to: a user, a service, or nobody (the hub's own tokens). */
export type Owner = { readonly kind: 'user'; readonly name: string } | { readonly kind: 'service'; readonly name: string } | null;

type FilterKind = 'user' | 'server' | 'group' | 'service';

interface Grant {
  readonly scope: string;
  readonly kind?: FilterKind;
  readonly value?: string;
}

/** UnknownScopeError names scopes that do not exist or filters that cannot be parsed. */
export class UnknownScopeError extends Error {
  constructor(readonly scopes: readonly string[]) {
    super(`Unknown scope(s): ${scopes.join(', ')}`);
    this.name = 'UnknownScopeError';
  }
}

/**
 * parseScopes checks a list of scope strings, the metascopes `self` and `inherit`, and JupyterHub's
 * filters (`servers!user=alice`, `servers!user` for the owner, `servers!server=alice/lab`,
 * `servers!group=staff`, `read:services!service=culler`); unknown ones throw.
 */
export function parseScopes(scopes: readonly unknown[]): string[] {
  const bad = scopes.filter((s) => typeof s !== 'string' || !isValid(s));
  if (bad.length > 0) throw new UnknownScopeError(bad.map((s) => String(s).slice(0, 80)));
  return [...new Set(scopes as string[])];
}

function isValid(scope: string): boolean {
  if (scope === 'self' || scope === 'inherit') return true;
  const [name = '', filter] = splitFilter(scope);
  if (!(name in SCOPE_TREE)) return false;
  return (
    filter === undefined ||
    filter === 'user' ||
    filter === 'service' ||
    /^(user|group|service)=[^/\s]+$/.test(filter) ||
    /^server=[^/\s]+\/[^/\s]*$/.test(filter)
  );
}

function splitFilter(scope: string): [string, string | undefined] {
  const bang = scope.indexOf('!');
  return bang === -1 ? [scope, undefined] : [scope.slice(0, bang), scope.slice(bang + 1)];
}

/**
 * Grants are a token's scopes, expanded through SCOPE_TREE and with `!user` and `!service` bound to
 * the owner, so a check is one pass over a short list. `inherit` must be resolved before.
 */
export class Grants {
  private readonly grants: Grant[] = [];

  constructor(
    scopes: readonly string[],
    readonly owner: string | null,
    readonly service: string | null = null,
  ) {
    const expanded = scopes.flatMap((s) => (s === 'self' ? (owner === null ? [] : SELF_SCOPES.map((x) => `${x}!user`)) : [s]));
    for (const s of expanded) {
      const [name = '', filter] = splitFilter(s);
      const bound = this.bind(filter);
      if (bound === null) continue; // `!user` on a token of no user grants nothing, as `!service` on one of no service
      for (const implied of closure(name)) {
        if (!this.grants.some((g) => g.scope === implied && g.kind === bound.kind && g.value === bound.value))
          this.grants.push({ scope: implied, ...bound });
      }
    }
  }

  /** has tells whether the token holds `scope` for the target, or at all (with any filter) when no target is given. */
  has(scope: string, target?: Target): boolean {
    return this.grants.some((g) => g.scope === scope && (target === undefined || covers(g, target)));
  }

  /** unfiltered tells whether the token holds `scope` for everything. */
  unfiltered(scope: string): boolean {
    return this.grants.some((g) => g.scope === scope && g.kind === undefined);
  }

  /** expanded is every scope held, with its filter, as JupyterHub lists a token's expanded scopes. */
  expanded(): string[] {
    return [...new Set(this.grants.map((g) => (g.kind === undefined ? g.scope : `${g.scope}!${g.kind}=${g.value ?? ''}`)))].sort();
  }

  private bind(filter: string | undefined): { kind?: FilterKind; value?: string } | null {
    if (filter === undefined) return {};
    if (filter === 'user') return this.owner === null ? null : { kind: 'user', value: this.owner };
    if (filter === 'service') return this.service === null ? null : { kind: 'service', value: this.service };
    const eq = filter.indexOf('=');
    return { kind: filter.slice(0, eq) as FilterKind, value: filter.slice(eq + 1) };
  }
}

function covers(g: Grant, target: Target): boolean {
  if (g.kind === undefined || g.value === undefined) return true;
  switch (g.kind) {
    case 'server':
      return target.user !== undefined && target.server !== undefined && g.value === `${target.user}/${target.server}`;
    case 'user':
      return target.user !== undefined && g.value === target.user;
    case 'group':
      return target.group === g.value || (target.groups ?? []).includes(g.value);
    case 'service':
      return target.service === g.value;
  }
}

/** closure is a scope and everything it implies. */
export function closure(scope: string): string[] {
  const out = new Set<string>();
  const walk = (s: string) => {
    if (out.has(s)) return;
    out.add(s);
    for (const child of SCOPE_TREE[s] ?? []) walk(child);
  };
  walk(scope);
  return [...out];
}

/**
 * allowedToGrant tells whether `requester` may mint `scope` for a token whose owner is `owner`:
 * never more than it holds. `self` and `!user` mean the owner user; `!service` the owner service.
 */
export function allowedToGrant(requester: Grants, scope: string, owner: string | null, service: string | null = null): boolean {
  if (scope === 'self') return owner === null || SELF_SCOPES.every((s) => closure(s).every((x) => requester.has(x, { user: owner })));
  const [name = '', filter] = splitFilter(scope);
  let target: Target | undefined;
  if (filter === 'user') target = owner === null ? undefined : { user: owner };
  else if (filter === 'service') target = service === null ? undefined : { service };
  else if (filter !== undefined) {
    const eq = filter.indexOf('=');
    const kind = filter.slice(0, eq);
    const value = filter.slice(eq + 1);
    if (kind === 'user') target = { user: value };
    else if (kind === 'group') target = { group: value };
    else if (kind === 'service') target = { service: value };
    else target = { user: value.slice(0, value.indexOf('/')), server: value.slice(value.indexOf('/') + 1) };
  }
  if ((filter === 'user' && owner === null) || (filter === 'service' && service === null)) return true; // binds to no one: grants nothing
  return closure(name).every((s) => (target === undefined ? requester.unfiltered(s) : requester.has(s, target)));
}

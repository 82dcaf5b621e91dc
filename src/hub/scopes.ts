/**
 * SCOPE_TREE holds JupyterHub's scope names and what each implies, so a token minted for
 * JupyterHub's API means the same here.
 */
export const SCOPE_TREE: Readonly<Record<string, readonly string[]>> = {
  'admin:users': ['users', 'delete:users', 'admin:auth_state', 'admin:server_state', 'read:roles:users'],
  users: ['read:users', 'list:users', 'users:activity'],
  'delete:users': [],
  'list:users': ['read:users:name'],
  'read:users': ['read:users:name', 'read:users:groups', 'read:users:activity'],
  'read:users:name': [],
  'read:users:groups': [],
  'read:users:activity': [],
  'users:activity': ['read:users:activity'],
  'admin:auth_state': [],
  'read:roles:users': [],
  'admin:servers': ['admin:server_state', 'servers'],
  'admin:server_state': [],
  servers: ['read:servers', 'delete:servers'],
  'read:servers': ['read:users:name'],
  'delete:servers': [],
  tokens: ['read:tokens'],
  'read:tokens': [],
  'read:metrics': [],
  'read:hub': [],
};

/** SELF_SCOPES is what JupyterHub's `self` means: the owner's own user, servers and tokens. */
export const SELF_SCOPES = ['read:users', 'users:activity', 'servers', 'tokens'] as const;

/** ADMIN_SCOPES are the hub admin token's scopes: everything. */
export const ADMIN_SCOPES = ['admin:users', 'admin:servers', 'tokens', 'read:metrics', 'read:hub'] as const;

/** Target is the resource a request acts on: a user, and a server of that user. */
export interface Target {
  readonly user: string;
  readonly server?: string;
}

interface Grant {
  readonly scope: string;
  readonly user?: string;
  readonly server?: string;
}

/** UnknownScopeError names scopes that do not exist or filters that cannot be parsed. */
export class UnknownScopeError extends Error {
  constructor(readonly scopes: readonly string[]) {
    super(`Unknown scope(s): ${scopes.join(', ')}`);
    this.name = 'UnknownScopeError';
  }
}

/**
 * parseScopes checks a list of scope strings, `self` and JupyterHub's filters (`servers!user=alice`,
 * `servers!user` for the owner, `servers!server=alice/lab`) included; unknown ones throw.
 */
export function parseScopes(scopes: readonly unknown[]): string[] {
  const bad = scopes.filter((s) => typeof s !== 'string' || !isValid(s));
  if (bad.length > 0) throw new UnknownScopeError(bad.map((s) => String(s).slice(0, 80)));
  return [...new Set(scopes as string[])];
}

function isValid(scope: string): boolean {
  if (scope === 'self') return true;
  const [name = '', filter] = splitFilter(scope);
  if (!(name in SCOPE_TREE)) return false;
  return filter === undefined || filter === 'user' || /^user=[^/\s]+$/.test(filter) || /^server=[^/\s]+\/[^/\s]*$/.test(filter);
}

function splitFilter(scope: string): [string, string | undefined] {
  const bang = scope.indexOf('!');
  return bang === -1 ? [scope, undefined] : [scope.slice(0, bang), scope.slice(bang + 1)];
}

/**
 * Grants are a token's scopes, expanded through SCOPE_TREE and with `!user` bound to the owner, so
 * a check is one pass over a short list.
 */
export class Grants {
  private readonly grants: Grant[] = [];

  constructor(
    scopes: readonly string[],
    readonly owner: string | null,
  ) {
    const expanded = scopes.flatMap((s) => (s === 'self' ? SELF_SCOPES.map((x) => `${x}!user`) : [s]));
    for (const s of expanded) {
      const [name, filter] = splitFilter(s);
      const bound = this.bind(filter);
      if (bound === null) continue; // `!user` on a token without an owner grants nothing
      for (const implied of closure(name)) this.grants.push({ scope: implied, ...bound });
    }
  }

  /** has tells whether the token holds `scope` for the target, or at all when no target is given. */
  has(scope: string, target?: Target): boolean {
    return this.grants.some((g) => {
      if (g.scope !== scope) return false;
      if (target === undefined) return true;
      if (g.server !== undefined) return target.server !== undefined && g.server === `${target.user}/${target.server}`;
      return g.user === undefined || g.user === target.user;
    });
  }

  /** unfiltered tells whether the token holds `scope` for every user. */
  unfiltered(scope: string): boolean {
    return this.grants.some((g) => g.scope === scope && g.user === undefined && g.server === undefined);
  }

  private bind(filter: string | undefined): { user?: string; server?: string } | null {
    if (filter === undefined) return {};
    if (filter === 'user') return this.owner === null ? null : { user: this.owner };
    if (filter.startsWith('user=')) return { user: filter.slice(5) };
    const server = filter.slice(7);
    return { server, user: server.slice(0, server.indexOf('/')) };
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

/** allowedToGrant tells whether `requester` may mint `scope` for a token owned by `owner`: never more than it holds. */
export function allowedToGrant(requester: Grants, scope: string, owner: string): boolean {
  if (scope === 'self') return SELF_SCOPES.every((s) => closure(s).every((x) => requester.has(x, { user: owner })));
  const [name, filter] = splitFilter(scope);
  let target: Target | undefined;
  if (filter === 'user') target = { user: owner };
  else if (filter?.startsWith('user=') === true) target = { user: filter.slice(5) };
  else if (filter !== undefined) {
    const full = filter.slice(7);
    target = { user: full.slice(0, full.indexOf('/')), server: full.slice(full.indexOf('/') + 1) };
  }
  return closure(name).every((s) => (target === undefined ? requester.unfiltered(s) : requester.has(s, target)));
}

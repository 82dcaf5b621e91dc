import type { Logger } from 'pino';
import type { Owner } from './scopes.js';
import { ADMIN_SCOPES, Grants, allowedToGrant } from './scopes.js';
import type { ServiceRegistry } from './services.js';
import type { ScopeResolver } from './tokens.js';
import type { UserStore } from '../users.js';

/** ownerScopes are what an owner may do, what `inherit` stands for: a user its own things (and all, if admin), a service its roles. */
export function ownerScopes(owner: Owner, services: ServiceRegistry, users: UserStore): string[] | undefined {
  if (owner === null) return [];
  if (owner.kind === 'service') {
    const spec = services.get(owner.name);
    return spec === undefined ? undefined : [...spec.scopes];
  }
  const user = users.get(owner.name);
  if (user === undefined) return undefined;
  return user.admin ? ['self', ...ADMIN_SCOPES] : ['self'];
}

/**
 * scopeResolver is what a stored token holds when it is used, as JupyterHub computes it: `inherit`
 * is the owner's scopes; a service's token holds no more than the service's roles give now (a
 * scope the roles no longer cover is dropped, with a warning); a token of a service no longer
 * configured, or of a user deleted, holds nothing and is refused.
 */
export function scopeResolver(services: ServiceRegistry, users: UserStore, logger?: Logger): ScopeResolver {
  return (owner, scopes) => {
    if (owner?.kind !== 'service' && !scopes.includes('inherit')) return [...scopes];
    const own = ownerScopes(owner, services, users);
    if (own === undefined) return undefined;
    const listed = scopes.flatMap((s) => (s === 'inherit' ? own : [s]));
    if (owner?.kind !== 'service') return [...new Set(listed)];
    const roles = new Grants(own, null, owner.name);
    const kept = listed.filter((s) => allowedToGrant(roles, s, null, owner.name));
    if (kept.length < listed.length)
      logger?.warn(
        { service: owner.name, dropped: listed.filter((s) => !kept.includes(s)) },
        "a service token's scopes exceed the service's roles; the excess is dropped",
      );
    return [...new Set(kept)];
  };
}

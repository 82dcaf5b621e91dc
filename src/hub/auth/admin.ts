import { ADMIN_SCOPES, closure } from './scopes.js';
import type { Caller } from './tokens.js';
import type { UserStore } from '../users.js';

/**
 * isHubAdmin tells whether a caller acts as a hub admin: its token holds every admin scope for
 * every user, and it is one of the hub's own admin tokens or belongs to a user marked admin. Only
 * such a caller may make admins or manage the admin tokens (JupyterHub: "Only admins can grant
 * admin permissions").
 */
export function isHubAdmin(users: UserStore, caller: Caller): boolean {
  if (!ADMIN_SCOPES.every((scope) => closure(scope).every((s) => caller.grants.unfiltered(s)))) return false;
  return caller.owner === null || users.get(caller.owner)?.admin === true;
}

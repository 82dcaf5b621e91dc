import type { IncomingMessage } from 'node:http';
import { HttpError } from '../api/http.js';
import type { Target } from './scopes.js';
import type { Caller, TokenStore } from './tokens.js';

/** tokenOf reads `Authorization: token T` or `Bearer T`; anything else is no token at all. */
export function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^(token|bearer)\s+(\S+)\s*$/i.exec(header);
  return match?.[2];
}

/**
 * Authenticator answers 401 for a request without a valid token and 403 for one whose token lacks
 * every one of the scopes an action accepts, with JupyterHub's wording.
 */
export class Authenticator {
  constructor(private readonly tokens: TokenStore) {}

  /** optional is the caller of a request that may also come without a token: undefined when it has no valid one. */
  optional(req: IncomingMessage): Caller | undefined {
    const token = tokenOf(req);
    return token === undefined ? undefined : this.tokens.authenticate(token);
  }

  caller(req: IncomingMessage): Caller {
    const token = tokenOf(req);
    const caller = token === undefined ? undefined : this.tokens.authenticate(token);
    if (caller === undefined) throw new HttpError(401, 'Missing or invalid credentials.', { 'WWW-Authenticate': 'token' });
    return caller;
  }

  /**
   * require returns the caller when its token holds any of `scopes` for the target. Else, as
   * JupyterHub: 404 when it holds one only for other users, servers or groups (so it learns nothing
   * of what exists), 403 when it holds none.
   */
  require(req: IncomingMessage, scopes: string | readonly string[], target?: Target): Caller {
    const caller = this.caller(req);
    const any = typeof scopes === 'string' ? [scopes] : scopes;
    if (!any.some((s) => caller.grants.has(s, target))) {
      if (target !== undefined && any.some((s) => caller.grants.has(s)))
        throw new HttpError(404, 'No access to resources or resources not found');
      throw new HttpError(403, `Action is not authorized with current scopes; requires any of [${any.join(', ')}]`);
    }
    return caller;
  }
}

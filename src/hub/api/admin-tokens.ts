import { isHubAdmin } from '../auth/admin.js';
import { noteAndExpiry, tokenId, tokenJson } from './tokens.js';
import type { HubContext } from '../context.js';
import { HttpError, readJson, sendJson } from './http.js';
import type { Handler, RequestContext } from './router.js';
import { ADMIN_SCOPES } from '../auth/scopes.js';
import type { Caller } from '../auth/tokens.js';

/**
 * The hub's own tokens: admin tokens have no owner, so JupyterHub's per-user token API cannot reach
 * them. These routes list every token (never a secret), mint admin tokens that may expire, and revoke
 * any token by id; only a hub admin may use them.
 */

function requireAdmin(hub: HubContext, ctx: RequestContext): Caller {
  const caller = hub.auth.caller(ctx.req);
  if (!isHubAdmin(hub.users, caller)) throw new HttpError(403, "Only admins can manage the hub's tokens");
  return caller;
}

/** listAllTokens is `GET /hub/api/spawnkeeper/tokens`: `{"tokens": [...]}`, admin tokens (user null) first, each with its source. */
export function listAllTokens(hub: HubContext): Handler {
  return (ctx) => {
    requireAdmin(hub, ctx);
    sendJson(ctx.req, ctx.res, 200, { tokens: hub.tokens.listAll().map((t) => ({ ...tokenJson(t), source: t.source })) });
  };
}

/** createAdminToken is `POST /hub/api/spawnkeeper/tokens` with `{"note": "…", "expires_in": s}`: 201 with the token, shown this once. */
export function createAdminToken(hub: HubContext): Handler {
  return async (ctx) => {
    const caller = requireAdmin(hub, ctx);
    const body = await readJson(ctx.req, hub.config.maxBodyBytes);
    const { note, expiresAt } = noteAndExpiry(body, caller, hub.clock.now(), 'admin token minted through the API');
    const { token, model } = hub.tokens.mint({ owner: null, scopes: ADMIN_SCOPES, note, expiresAt });
    hub.logger.info({ tokenId: model.id, by: caller.tokenId, expiresAt }, 'admin token created');
    sendJson(ctx.req, ctx.res, 201, { ...tokenJson(model), source: model.source, token });
  };
}

/** revokeAnyToken is `DELETE /hub/api/spawnkeeper/tokens/{id}`: 204, or 404 for an unknown id. */
export function revokeAnyToken(hub: HubContext): Handler {
  return (ctx) => {
    const caller = requireAdmin(hub, ctx);
    const id = tokenId(ctx.params['id']);
    if (!hub.tokens.revokeId(id)) throw new HttpError(404, `No such token: ${String(ctx.params['id']).slice(0, 40)}`);
    hub.logger.info({ tokenId: `a${id}`, by: caller.tokenId }, 'token revoked');
    sendJson(ctx.req, ctx.res, 204, undefined);
  };
}

import type { HubContext } from './context.js';
import { findUser, userName } from './context.js';
import { HttpError, isoTime, readJson, sendJson } from './http.js';
import type { Handler } from './router.js';
import { UnknownScopeError, allowedToGrant, parseScopes } from './scopes.js';
import { childExpiry, expiresInProblem } from './token-expiry.js';
import type { Caller, TokenModel } from './tokens.js';
import { parseTokenId } from './tokens.js';

/** MAX_TOKEN_SCOPES bounds the scope list stored with a token, which every request with it expands. */
export const MAX_TOKEN_SCOPES = 100;

/** tokenJson is JupyterHub's token model, never with the secret. */
export function tokenJson(t: TokenModel): Record<string, unknown> {
  return { id: t.id, kind: t.kind, user: t.user, scopes: t.scopes, note: t.note, prefix: t.prefix, created: isoTime(t.created), expires_at: isoTime(t.expiresAt), last_activity: null };
}

/** tokenId reads a token id from a path (`a12` or `12`); anything else is 404, as JupyterHub answers. */
export function tokenId(raw: string | undefined): number {
  const id = parseTokenId(raw ?? '');
  if (id === undefined) throw new HttpError(404, `No such token: ${(raw ?? '').slice(0, 40)}`);
  return id;
}

/**
 * noteAndExpiry reads a new token's `note` and `expires_in` (400 for bad ones) and returns when it
 * expires: as asked, but never after the token of the caller that mints it.
 */
export function noteAndExpiry(body: Record<string, unknown>, caller: Caller, now: number, defaultNote: string): { note: string; expiresAt: number | null } {
  const note = body['note'] ?? defaultNote;
  if (typeof note !== 'string' || note.length > 1000) throw new HttpError(400, '"note" must be a string of at most 1000 characters');
  const expires = body['expires_in'];
  const problem = expiresInProblem(expires);
  if (problem !== undefined) throw new HttpError(400, problem);
  return { note, expiresAt: childExpiry(typeof expires === 'number' ? expires : undefined, caller.expiresAt, now) };
}

/**
 * createToken is `POST /users/{name}/tokens` with `{"scopes": [...], "note": "…", "expires_in": s}`:
 * 201 with the token, shown this once; the requester can never grant more than it holds.
 * Without scopes the token gets `self`: the user's own user, servers and tokens. `expires_in` is
 * a whole number of seconds, and the new token expires no later than the one that asks for it.
 */
export function createToken(hub: HubContext): Handler {
  return async (ctx) => {
    const name = userName(ctx.params['name']);
    const caller = hub.auth.require(ctx.req, 'tokens', { user: name });
    const body = await readJson(ctx.req, hub.config.maxBodyBytes);
    findUser(hub, name);
    const rawScopes = body['scopes'] ?? ['self'];
    if (!Array.isArray(rawScopes)) throw new HttpError(400, '"scopes" must be a list of scope names');
    if (rawScopes.length > MAX_TOKEN_SCOPES) throw new HttpError(400, `a token may hold at most ${MAX_TOKEN_SCOPES} scopes`);
    let scopes: string[];
    try {
      scopes = parseScopes(rawScopes);
    } catch (err) {
      if (err instanceof UnknownScopeError) throw new HttpError(400, err.message);
      throw err;
    }
    const refused = scopes.filter((s) => !allowedToGrant(caller.grants, s, name));
    if (refused.length > 0) throw new HttpError(403, `Not assigning requested scopes ${refused.join(', ')}: the requester does not hold them`);
    const { note, expiresAt } = noteAndExpiry(body, caller, hub.clock.now(), '');
    const { token, model } = hub.tokens.mint({ owner: name, scopes, note, expiresAt });
    hub.logger.info({ user: name, tokenId: model.id, scopes }, 'token created');
    sendJson(ctx.req, ctx.res, 201, { ...tokenJson(model), token });
  };
}

/** listTokens is `GET /users/{name}/tokens`: `{"api_tokens": [...]}`, never the secrets. */
export function listTokens(hub: HubContext): Handler {
  return (ctx) => {
    const name = userName(ctx.params['name']);
    hub.auth.require(ctx.req, 'read:tokens', { user: name });
    findUser(hub, name);
    sendJson(ctx.req, ctx.res, 200, { api_tokens: hub.tokens.list(name).map(tokenJson) });
  };
}

/** getToken is `GET /users/{name}/tokens/{id}`. */
export function getToken(hub: HubContext): Handler {
  return (ctx) => {
    const name = userName(ctx.params['name']);
    hub.auth.require(ctx.req, 'read:tokens', { user: name });
    findUser(hub, name);
    const t = hub.tokens.get(name, tokenId(ctx.params['id']));
    if (t === undefined) throw new HttpError(404, `No such token: ${String(ctx.params['id']).slice(0, 40)}`);
    sendJson(ctx.req, ctx.res, 200, tokenJson(t));
  };
}

/** revokeToken is `DELETE /users/{name}/tokens/{id}`: 204, or 404 for an unknown id. */
export function revokeToken(hub: HubContext): Handler {
  return (ctx) => {
    const name = userName(ctx.params['name']);
    hub.auth.require(ctx.req, 'tokens', { user: name });
    findUser(hub, name);
    if (!hub.tokens.revoke(name, tokenId(ctx.params['id']))) throw new HttpError(404, `No such token: ${String(ctx.params['id']).slice(0, 40)}`);
    sendJson(ctx.req, ctx.res, 204, undefined);
  };
}

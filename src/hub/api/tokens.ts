import type { HubContext } from '../context.js';
import { findUser, userName, userTarget } from '../context.js';
import { HttpError, isoTime, readJson, sendJson } from './http.js';
import type { Handler } from './router.js';
import { UnknownScopeError, allowedToGrant, parseScopes } from '../auth/scopes.js';
import { childExpiry, expiresInProblem } from '../auth/token-expiry.js';
import type { Caller, TokenModel } from '../auth/tokens.js';
import { parseTokenId } from '../auth/tokens.js';

/** MAX_TOKEN_SCOPES bounds the scope list stored with a token, which every request with it expands. */
export const MAX_TOKEN_SCOPES = 100;

/**
 * tokenJson is JupyterHub 5's token model, never with the secret: `user` or `service` for the
 * owner, `roles` always empty, no session; `prefix` (the first characters, to recognise a token by)
 * is spawnkeeper's own.
 */
export function tokenJson(t: TokenModel): Record<string, unknown> {
  const owner = t.user !== null ? { user: t.user } : t.service !== null ? { service: t.service } : { user: null };
  return {
    ...owner,
    id: t.id,
    kind: t.kind,
    roles: [],
    scopes: t.scopes,
    created: isoTime(t.created),
    last_activity: null,
    expires_at: isoTime(t.expiresAt),
    note: t.note,
    session_id: null,
    oauth_client: 'JupyterHub',
    prefix: t.prefix,
  };
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
export function noteAndExpiry(
  body: Record<string, unknown>,
  caller: Caller,
  now: number,
  defaultNote: string,
): { note: string; expiresAt: number | null } {
  // JupyterHub replaces a missing or empty note with its own.
  const given = body['note'];
  const note = given === undefined || given === null || given === '' ? defaultNote : given;
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
 * An unknown user and a requester without `tokens` for the user get the same 403, as in JupyterHub.
 */
export function createToken(hub: HubContext): Handler {
  return async (ctx) => {
    const name = userName(ctx.params['name']);
    const caller = hub.auth.caller(ctx.req);
    const body = await readJson(ctx.req, hub.config.maxBodyBytes);
    if (hub.users.get(name) === undefined || !caller.grants.has('tokens', userTarget(hub, name))) {
      throw new HttpError(403, `User ${name.slice(0, 255)} not found or no permissions to generate tokens`);
    }
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
    if (refused.length > 0)
      throw new HttpError(403, `Not assigning requested scopes ${refused.join(', ')}: the requester does not hold them`);
    const by =
      caller.owner === name
        ? ''
        : caller.owner !== null
          ? ` by user ${caller.owner}`
          : caller.service !== null
            ? ` by service ${caller.service}`
            : '';
    const { note, expiresAt } = noteAndExpiry(body, caller, hub.clock.now(), `Requested via api${by}`);
    const { token, model } = hub.tokens.mint({ owner: name, scopes, note, expiresAt });
    hub.logger.info({ user: name, tokenId: model.id, scopes }, 'token created');
    sendJson(ctx.req, ctx.res, 201, { ...tokenJson(model), token });
  };
}

/** listTokens is `GET /users/{name}/tokens`: `{"api_tokens": [...]}`, never the secrets. */
export function listTokens(hub: HubContext): Handler {
  return (ctx) => {
    const name = userName(ctx.params['name']);
    hub.auth.require(ctx.req, 'read:tokens', userTarget(hub, name));
    findUser(hub, name);
    sendJson(ctx.req, ctx.res, 200, { api_tokens: hub.tokens.list(name).map(tokenJson) });
  };
}

/** getToken is `GET /users/{name}/tokens/{id}`. */
export function getToken(hub: HubContext): Handler {
  return (ctx) => {
    const name = userName(ctx.params['name']);
    hub.auth.require(ctx.req, 'read:tokens', userTarget(hub, name));
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
    hub.auth.require(ctx.req, 'tokens', userTarget(hub, name));
    findUser(hub, name);
    if (!hub.tokens.revoke(name, tokenId(ctx.params['id'])))
      throw new HttpError(404, `No such token: ${String(ctx.params['id']).slice(0, 40)}`);
    sendJson(ctx.req, ctx.res, 204, undefined);
  };
}

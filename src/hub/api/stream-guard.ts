import type { IncomingMessage } from 'node:http';
import { tokenOf } from '../auth/auth.js';
import type { HubContext } from '../context.js';
import type { Caller } from '../auth/tokens.js';

/** STREAM_RECHECK_MS is how often a long-lived answer checks that its token still stands. */
export const STREAM_RECHECK_MS = 1_000;

/** MAX_TIMER_MS is the longest delay a Node timer holds; a later expiry is caught by the periodic check. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * guardStream ends a long-lived answer (a server-sent-event stream) once the token that opened it no
 * longer would: it was revoked, it expired, or its user was deleted (which deletes the user's
 * tokens). It checks every STREAM_RECHECK_MS and exactly at the token's expiry; `allowed` re-applies
 * the stream's own scope check. It returns the function that stops the guard.
 */
export function guardStream(hub: HubContext, req: IncomingMessage, allowed: (caller: Caller) => boolean, end: () => void): () => void {
  const token = tokenOf(req) ?? '';
  const stands = () => {
    const caller = hub.tokens.authenticate(token);
    return caller !== undefined && allowed(caller);
  };
  const check = () => {
    if (stands()) return;
    stop();
    end();
  };
  const interval = setInterval(check, STREAM_RECHECK_MS);
  interval.unref();
  const expiresAt = hub.tokens.authenticate(token)?.expiresAt ?? null;
  const untilExpiry = expiresAt === null ? Infinity : Math.max(0, expiresAt - hub.clock.now()) + 1;
  const atExpiry = untilExpiry < MAX_TIMER_MS ? setTimeout(check, untilExpiry) : undefined;
  atExpiry?.unref();
  const stop = () => {
    clearInterval(interval);
    if (atExpiry !== undefined) clearTimeout(atExpiry);
  };
  return stop;
}

import { HttpError, isoTime } from './http.js';

/** ACTIVITY_MAX_AHEAD_MS is how far in the future a reported activity may lie, JupyterHub's bound (59 minutes) for clock skew. */
export const ACTIVITY_MAX_AHEAD_MS = 59 * 60 * 1000;

/**
 * activityTooFarAhead tells whether an activity time lies further ahead of `now` than clock skew
 * explains. Activity only moves forward, so one such time would keep a server from ever being culled.
 */
export function activityTooFarAhead(at: number, now: number): boolean {
  return at - now > ACTIVITY_MAX_AHEAD_MS;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * parseTimestamp reads an ISO 8601 time (date, or date and time, with seconds and fractions
 * optional), as JupyterHub's _parse_timestamp: a time without a zone is UTC. It returns
 * milliseconds since the epoch, or undefined for anything else.
 */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ISO.exec(value.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = 'Z'] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, Number(frac.padEnd(3, '0').slice(0, 3)));
  if (new Date(ms).getUTCDate() !== day) return undefined; // 31 February and the like
  const z = zone.toUpperCase();
  if (z === 'Z' || z === 'UTC' || z === 'GMT') return ms;
  const sign = z.startsWith('-') ? -1 : 1;
  const digits = z.slice(1).replace(':', '');
  const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0')) * 60_000;
  return ms - sign * offset;
}

/**
 * activityTime is a reported activity time as the activity endpoint accepts it: a valid timestamp
 * (400 `Not a valid timestamp` otherwise) not too far ahead of `now` (400, as JupyterHub).
 */
export function activityTime(value: unknown, now: number): number {
  const at = parseTimestamp(value);
  if (at === undefined) throw new HttpError(400, `Not a valid timestamp: ${JSON.stringify(value)?.slice(0, 80) ?? 'nothing'}`);
  if (activityTooFarAhead(at, now)) throw new HttpError(400, `Rejecting activity from more than an hour in the future: ${isoTime(at) ?? ''}`);
  return at;
}

import { HttpError } from './api/http.js';

/**
 * MAX_ACTIVITY_SKEW_MS is how far ahead of the hub's clock a reported activity may be: 59 minutes,
 * as JupyterHub allows. Activity only moves forward, so one report from the far future would make a
 * server look busy forever: the idle culler could never stop it and no correction could lower it.
 */
export const MAX_ACTIVITY_SKEW_MS = 59 * 60 * 1000;

/** boundedActivity returns an activity time (ms) when it is not too far ahead of `now`, else throws 400 with JupyterHub's wording. */
export function boundedActivity(at: number, now: number): number {
  if (at - now > MAX_ACTIVITY_SKEW_MS) {
    throw new HttpError(400, `Rejecting activity from more than an hour in the future: ${new Date(at).toISOString()}`);
  }
  return at;
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
  return boundedActivity(at, now);
}

import { HttpError } from './http.js';

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

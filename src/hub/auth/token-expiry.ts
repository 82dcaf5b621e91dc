/**
 * MAX_EXPIRES_IN_SECONDS is the longest lifetime a token may ask for (ten years): `expires_in` is a
 * whole number of seconds from 1 up to this, so every expiry stays a valid date.
 */
export const MAX_EXPIRES_IN_SECONDS = 10 * 365 * 86_400;

/** expiresInProblem says what is wrong with an `expires_in` value, or undefined when it is absent (null) or valid. */
export function expiresInProblem(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_EXPIRES_IN_SECONDS) {
    return `expires_in must be null or a whole number of seconds from 1 to ${MAX_EXPIRES_IN_SECONDS}, not ${JSON.stringify(value)?.slice(0, 40) ?? String(value)}`;
  }
  return undefined;
}

/**
 * childExpiry is when a token minted by another must expire (ms since the epoch, or null for never):
 * the requested lifetime, cut to the parent's own expiry, so a token never outlives the one that made it.
 */
export function childExpiry(expiresInSeconds: number | undefined, parentExpiresAt: number | null, now: number): number | null {
  const requested = expiresInSeconds === undefined ? null : now + expiresInSeconds * 1000;
  if (parentExpiresAt === null) return requested;
  return requested === null ? parentExpiresAt : Math.min(requested, parentExpiresAt);
}

/**
 * Backoff is the one retry schedule of spawnkeeper: the machine's wait before re-creating a pod, the
 * reflector's and the pod Events watch's wait before listing again. It is pure (no clock, no
 * randomness) so the machine can use it; a caller that wants jitter spreads the result itself.
 */
export interface Backoff {
  /** initialMs is the wait before the first retry. */
  readonly initialMs: number;
  /** maxMs caps every wait. */
  readonly maxMs: number;
}

/** MAX_DOUBLINGS bounds the exponent, so a long run of failures never computes an infinite wait. */
const MAX_DOUBLINGS = 30;

/** backoffDelay is the wait before retry number `attempt` (0 is the first): `initialMs` doubled per attempt, at most `maxMs`. */
export function backoffDelay(backoff: Backoff, attempt: number): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(Math.max(0, attempt), MAX_DOUBLINGS));
}

/** equalJitter spreads a wait over its upper half, given a number in [0, 1): never zero, never in lockstep with other clients. */
export function equalJitter(ms: number, random: number): number {
  return ms / 2 + (ms / 2) * random;
}

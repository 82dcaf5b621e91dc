import { HttpError } from './http.js';
import type { ServerIndex } from '../server-index.js';

/** LimitSettings are JupyterHub's spawn limits, with the randomness injectable for tests. */
export interface LimitSettings {
  /** concurrentSpawnLimit: spawns pending at once (0: none), JupyterHub's concurrent_spawn_limit. */
  concurrentSpawnLimit: number;
  /** activeServerLimit: servers pending or running (0: none), JupyterHub's active_server_limit. */
  activeServerLimit: number;
  /** retryRange: Retry-After is drawn from it, in seconds (JupyterHub's spawn_throttle_retry_range). */
  retryRange?: readonly [number, number];
  random?: () => number;
}

/** LimitReason is the metric label JupyterHub records for a refused spawn. */
export type LimitReason = 'throttled' | 'too-many-users';

/**
 * SpawnLimiter admits a spawn or refuses it with JupyterHub's 429; admitted spawns hold a
 * reservation until their command is committed, so requests racing in one tick cannot overshoot.
 */
export class SpawnLimiter {
  private reserved = 0;

  constructor(
    private readonly index: ServerIndex,
    private readonly settings: LimitSettings,
  ) {}

  /** admit throws a 429 HttpError (with `reason` set) or returns a release function for the reservation. */
  admit(): () => void {
    const { concurrentSpawnLimit, activeServerLimit } = this.settings;
    const spawning = this.index.count('spawn_pending') + this.reserved;
    if (concurrentSpawnLimit > 0 && spawning >= concurrentSpawnLimit) {
      const [lo, hi] = this.settings.retryRange ?? [30, 60];
      const retry = Math.round(lo + (hi - lo) * (this.settings.random ?? Math.random)());
      throw limitError(`Too many users trying to log in right now. Try again in ${retry} seconds.`, 'throttled', {
        'Retry-After': String(retry),
      });
    }
    if (activeServerLimit > 0 && this.index.active() + this.reserved >= activeServerLimit) {
      throw limitError('Active user limit exceeded. Try again in a few minutes.', 'too-many-users', {});
    }
    this.reserved++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.reserved--;
    };
  }
}

/** LimitError is the 429 a limit answers, with the reason the spawn metric records. */
export class LimitError extends HttpError {
  constructor(
    message: string,
    readonly reason: LimitReason,
    headers: Record<string, string>,
  ) {
    super(429, message, headers);
  }
}

function limitError(message: string, reason: LimitReason, headers: Record<string, string>): LimitError {
  return new LimitError(message, reason, headers);
}

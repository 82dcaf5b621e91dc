import { onAbort } from './abort.js';
import type { Clock } from './clock.js';

export interface WaitOptions<T> {
  readonly clock: Clock;
  /** read is the value now, or undefined while there is none. */
  read(): T | undefined;
  /** subscribe calls `changed` after each change that may matter, and returns its unsubscribe function. */
  subscribe(changed: () => void): () => void;
  /** until is what is waited for. */
  until(value: T): boolean;
  /** ms bounds the wait, on the clock. */
  readonly ms: number;
  /** signal ends the wait early (a shutdown). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * waitUntil resolves with the value once it satisfies `until` (checked at once and after each
 * change), or with undefined once `ms` have passed on the clock or `signal` aborts. Its timer is the
 * injected clock's, so it never holds a process open and tests drive it in virtual time.
 */
export function waitUntil<T>(o: WaitOptions<T>): Promise<T | undefined> {
  const now = o.read();
  if (now !== undefined && o.until(now)) return Promise.resolve(now);
  if (o.ms <= 0 || o.signal?.aborted === true) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let done = false;
    const finish = (value: T | undefined) => {
      if (done) return;
      done = true;
      off();
      o.clock.clearTimeout(timer);
      stopped();
      resolve(value);
    };
    const off = o.subscribe(() => {
      const value = o.read();
      if (value !== undefined && o.until(value)) finish(value);
    });
    const timer = o.clock.setTimeout(() => finish(undefined), o.ms);
    const stopped = onAbort(o.signal, () => finish(undefined));
  });
}

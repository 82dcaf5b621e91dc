import { Watch } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Backoff } from '../../machines/backoff.js';
import { backoffDelay, equalJitter } from '../../machines/backoff.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { onAbort } from '../core/abort.js';
import { sleep } from '../core/clock.js';
import { statusOf } from './pod-client.js';

/**
 * The list/watch loop every watcher of spawnkeeper runs (the pod reflector, the pod Events feed), as
 * client-go's reflector does: list, then watch from the list's resourceVersion; a watch the server
 * closes is resumed from the newest version seen; 410 Gone (the version expired) lists again at once;
 * any error lists again after a capped, jittered backoff. Every wait is on the injected clock.
 */

/** WatchEnded is a watch cut short without an error: its version expired (410), or a resync is due. */
export class WatchEnded extends Error {
  constructor(readonly why: 'expired' | 'resync') {
    super(`watch ended: ${why}`);
  }
}

/** WatchQuery is a watch request's query; resourceVersion is added by the loop. */
export type WatchQuery = Record<string, string | number | boolean>;

export interface WatchOptions {
  readonly kc: KubeConfig;
  readonly clock: Clock;
  /** path of the collection, e.g. `/api/v1/namespaces/default/pods`. */
  readonly path: string;
  readonly query: WatchQuery;
  /**
   * onEvent takes one event and returns the resourceVersion to resume from, `expired` for a 410, or
   * undefined; a throw ends the watch with that error unless `onBadEvent` takes it.
   */
  readonly onEvent: (type: string, obj: unknown) => string | 'expired' | undefined;
  /** onBadEvent: a malformed event is handed here and skipped, and the watch goes on. */
  readonly onBadEvent?: ((err: unknown, type: string) => void) | undefined;
  /** silenceMs: a watch that sends nothing, not even a bookmark, this long is cut (default: never). */
  readonly silenceMs?: number | undefined;
}

/**
 * watchOnce streams changes after `rv` until the server closes the watch (it resolves with the newest
 * resourceVersion seen), `resyncAt` (monotonic) comes, or `signal` aborts (it rejects with why).
 */
export function watchOnce(o: WatchOptions, rv: string | undefined, resyncAt: number, signal: AbortSignal): Promise<string | undefined> {
  const { clock, silenceMs } = o;
  let latest = rv;
  return new Promise((resolve, reject) => {
    let controller: AbortController | undefined;
    let settled = false;
    let silence: TimerHandle | undefined;
    let resync: TimerHandle | undefined;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (silence !== undefined) clock.clearTimeout(silence);
      if (resync !== undefined) clock.clearTimeout(resync);
      stopped();
      controller?.abort();
      if (err === undefined) resolve(latest);
      else reject(err);
    };
    const arm = () => {
      if (silenceMs === undefined) return;
      if (silence !== undefined) clock.clearTimeout(silence);
      silence = clock.setTimeout(() => finish(new Error(`watch silent for ${silenceMs} ms`)), silenceMs);
    };
    if (Number.isFinite(resyncAt)) {
      resync = clock.setTimeout(() => finish(new WatchEnded('resync')), Math.max(0, resyncAt - clock.monotonic()));
    }
    const stopped = onAbort(signal, () => finish(new Error('aborted')));
    arm();
    const onEvent = (type: string, obj: unknown) => {
      if (settled) return;
      arm();
      try {
        const next = o.onEvent(type, obj);
        if (next === 'expired') finish(new WatchEnded('expired'));
        else if (next !== undefined) latest = next;
      } catch (err) {
        if (o.onBadEvent === undefined) finish(asError(err));
        else o.onBadEvent(err, type);
      }
    };
    const onDone = (err: unknown) => {
      if (err === null || err === undefined) finish();
      else if (statusOf(err) === 410) finish(new WatchEnded('expired'));
      else finish(asError(err));
    };
    const query = rv === undefined ? o.query : { ...o.query, resourceVersion: rv };
    new Watch(o.kc).watch(o.path, query, onEvent, onDone).then(
      (c) => {
        controller = c;
        if (settled) c.abort();
      },
      (err: unknown) => finish(asError(err)),
    );
  });
}

/** Page is one page of a list answer, as client-node returns it. */
export interface Page<T> {
  readonly metadata?: { resourceVersion?: string; _continue?: string } | undefined;
  readonly items: readonly T[];
}

/** listPages reads every page of a list, handing each item to `each`; it resolves with the list's resourceVersion. */
export async function listPages<T>(
  page: (cont: string | undefined) => Promise<Page<T>>,
  each: (item: T) => void,
  signal: AbortSignal,
): Promise<string> {
  let cont: string | undefined;
  let listRv = '';
  do {
    const answer = await page(cont);
    if (signal.aborted) throw new Error('aborted');
    listRv = answer.metadata?.resourceVersion ?? listRv;
    cont = answer.metadata?._continue || undefined;
    for (const item of answer.items) each(item);
  } while (cont !== undefined);
  return listRv;
}

export interface ListWatchLoop {
  readonly clock: Clock;
  readonly backoff: Backoff;
  /** random spreads each backoff over its upper half (equal jitter). */
  readonly random: () => number;
  /** resyncMs: a full relist this often (default: only when needed). */
  readonly resyncMs?: number | undefined;
  /** closedPauseMs: a pause before re-watching after the server closed a watch, so one that ends at once is no busy loop (default none). */
  readonly closedPauseMs?: number | undefined;
  /**
   * list reads everything and resolves with the resourceVersion to watch from. Without it, a watch
   * from no version stands in for the list: the API server sends every existing object as ADDED first.
   */
  list?(signal: AbortSignal): Promise<string>;
  /** watch runs one watch from `rv` (see watchOnce), ending for a resync at `resyncAt` on the monotonic clock. */
  watch(rv: string | undefined, resyncAt: number, signal: AbortSignal): Promise<string | undefined>;
  onExpired?(): void;
  onFailure?(message: string, failures: number, retryInMs: number): void;
  onRetry?(): void;
}

/** runListWatch runs the loop until `signal` aborts; it never returns because of an error. */
export async function runListWatch(loop: ListWatchLoop, signal: AbortSignal): Promise<void> {
  const { clock } = loop;
  const resyncMs = loop.resyncMs ?? Infinity;
  let rv: string | undefined;
  // Resync times are monotonic: a wall-clock step neither skips a resync nor brings one early. With
  // no list there is nothing to resync.
  let nextResyncAt = loop.list === undefined ? Infinity : 0;
  let failures = 0;
  while (!signal.aborted) {
    try {
      if (loop.list !== undefined && (rv === undefined || clock.monotonic() >= nextResyncAt)) {
        rv = await loop.list(signal);
        nextResyncAt = clock.monotonic() + resyncMs;
      }
      failures = 0;
      // The server closed the watch: the next one resumes from the newest version it brought.
      rv = (await loop.watch(rv, nextResyncAt, signal)) ?? rv;
      if (loop.closedPauseMs !== undefined) await sleep(clock, loop.closedPauseMs, signal);
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof WatchEnded) {
        if (err.why === 'expired') {
          loop.onExpired?.();
          rv = undefined;
        }
        continue; // 'resync' relists at the top of the loop
      }
      failures++;
      rv = undefined;
      const delay = equalJitter(backoffDelay(loop.backoff, failures - 1), loop.random());
      loop.onFailure?.(err instanceof Error ? err.message : String(err), failures, delay);
      await sleep(clock, delay, signal);
      loop.onRetry?.();
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

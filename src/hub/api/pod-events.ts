import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import type { WatchOptions } from '../../kube/list-watch.js';
import { runListWatch, watchOnce } from '../../kube/list-watch.js';

/** KubeEventObject is the part of a core/v1 Event that progress messages use; the rest is passed through as `raw_event`. */
export interface KubeEventObject {
  readonly metadata?: { uid?: string; resourceVersion?: string; creationTimestamp?: string };
  readonly involvedObject?: { name?: string; uid?: string; kind?: string };
  readonly type?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly firstTimestamp?: string | null;
  readonly lastTimestamp?: string | null;
  readonly eventTime?: string | null;
}

/** PodEventsOptions name one pod (or, without a name, every pod of the namespace) and where its Events go; the signal ends the watch. */
export interface PodEventsOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly podName?: string | undefined;
  readonly onEvent: (event: KubeEventObject) => void;
  readonly signal: AbortSignal;
  readonly logger?: Logger | undefined;
  /** clock: every wait of the watch loop is on it (default: the system clock). */
  readonly clock?: Clock | undefined;
}

/** eventTime is when an Event happened, in ms since the epoch (NaN when it carries no time). */
export function eventTime(e: KubeEventObject): number {
  return Date.parse(e.eventTime ?? e.firstTimestamp ?? e.lastTimestamp ?? e.metadata?.creationTimestamp ?? '');
}

/** EVENTS_BACKOFF: the pod Events watch retries sooner than the reflector: a progress stream waits on it. */
const EVENTS_BACKOFF = { initialMs: 200, maxMs: 5_000 };

/**
 * watchPodEvents streams the Kubernetes Events about one pod (`involvedObject.name`), or about every
 * pod, existing ones first, until `signal` aborts. It runs the reflector's list/watch loop on the
 * injected clock, with a watch from no version as its list (it brings the existing Events as ADDED,
 * unconverted, so `raw_event` is what the API server sent): it starts again from scratch after
 * errors (with a capped backoff) and after 410, so a consumer must drop repeats (by `metadata.uid`).
 */
export function watchPodEvents(options: PodEventsOptions): Promise<void> {
  const { kc, namespace, podName, onEvent, signal, logger } = options;
  const clock = options.clock ?? systemClock;
  const fieldSelector = podName === undefined ? 'involvedObject.kind=Pod' : `involvedObject.kind=Pod,involvedObject.name=${podName}`;
  const watch: WatchOptions = {
    kc,
    clock,
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
    query: { fieldSelector, allowWatchBookmarks: true, timeoutSeconds: 60 },
    onEvent: (type, obj) => {
      if (type === 'ERROR') {
        if ((obj as { code?: unknown } | null)?.code === 410) return 'expired';
        throw new Error(`watch error: ${JSON.stringify(obj).slice(0, 200)}`);
      }
      const event = obj as KubeEventObject;
      if (type === 'ADDED' || type === 'MODIFIED') onEvent(event);
      return event.metadata?.resourceVersion;
    },
  };
  return runListWatch(
    {
      clock,
      backoff: EVENTS_BACKOFF,
      random: Math.random,
      closedPauseMs: 100, // a watch that ends at once must not become a busy loop
      watch: (rv, resyncAt, s) => watchOnce(watch, rv, resyncAt, s),
      onFailure: (message, failures) => logger?.debug({ err: message, failures, pod: podName }, 'pod events watch restarts'),
    },
    signal,
  );
}

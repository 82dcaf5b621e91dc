import { Watch } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';

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
}

/** eventTime is when an Event happened, in ms since the epoch (NaN when it carries no time). */
export function eventTime(e: KubeEventObject): number {
  return Date.parse(e.eventTime ?? e.firstTimestamp ?? e.lastTimestamp ?? e.metadata?.creationTimestamp ?? '');
}

/**
 * watchPodEvents streams the Kubernetes Events about one pod (a watch on the namespace's events with
 * `involvedObject.name`), or about every pod, existing ones first, until `signal` aborts. It restarts after errors with a
 * capped backoff and from scratch after 410, so a consumer must drop repeats (by `metadata.uid`).
 */
export function watchPodEvents(options: PodEventsOptions): Promise<void> {
  const { signal } = options;
  return (async () => {
    let rv: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        rv = await watchOnce(options, rv);
        failures = 0;
        await sleep(100, signal); // a watch that ends at once must not become a busy loop
      } catch (err) {
        if (signal.aborted) break;
        rv = undefined;
        failures++;
        options.logger?.debug({ err: (err as Error).message, pod: options.podName }, 'pod events watch restarts');
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)), signal);
      }
    }
  })();
}

function watchOnce(options: PodEventsOptions, rv: string | undefined): Promise<string | undefined> {
  const { kc, namespace, podName, onEvent, signal } = options;
  return new Promise((resolve, reject) => {
    let controller: AbortController | undefined;
    let latest = rv;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      controller?.abort();
      if (err === undefined) resolve(latest);
      else reject(err);
    };
    const onAbort = () => finish(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    const query: Record<string, string | number | boolean> = {
      fieldSelector: podName === undefined ? 'involvedObject.kind=Pod' : `involvedObject.kind=Pod,involvedObject.name=${podName}`,
      allowWatchBookmarks: true,
      timeoutSeconds: 60,
    };
    if (rv !== undefined) query['resourceVersion'] = rv;
    new Watch(kc)
      .watch(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
        query,
        (type: string, obj: unknown) => {
          if (settled) return;
          if (type === 'ERROR') return finish(new Error(`watch error: ${JSON.stringify(obj).slice(0, 200)}`));
          const event = obj as KubeEventObject;
          latest = event.metadata?.resourceVersion ?? latest;
          if (type === 'ADDED' || type === 'MODIFIED') onEvent(event);
        },
        (err: unknown) => finish(err === null || err === undefined ? undefined : err instanceof Error ? err : new Error(String(err))),
      )
      .then(
        (c) => {
          controller = c;
          if (settled) c.abort();
        },
        (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
      );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { KubeEventObject } from './pod-events.js';
import { watchPodEvents } from './pod-events.js';

/** FeedOptions bound what the feed remembers: Events per pod, and pods in all. */
export interface FeedOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly logger?: Logger | undefined;
  /** clock: the watch waits on it (default: the system clock). */
  readonly clock?: Clock | undefined;
  readonly perPod?: number;
  readonly pods?: number;
}

type Listener = (event: KubeEventObject) => void;

/**
 * PodEventFeed is one watch of the namespace's pod Events shared by every progress stream (as
 * KubeSpawner shares one event reflector), so a hundred open streams cost the API server one
 * connection, not a hundred. It runs while anyone listens; it remembers the latest Events of each
 * pod since it started, so a stream that joins later still gets what happened before. A pod's
 * Events arrive in the watch's order; a restarted watch may repeat some (listeners drop repeats by uid).
 */
export class PodEventFeed {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly recent = new Map<string, KubeEventObject[]>();
  private running: AbortController | undefined;
  private closed = false;

  constructor(private readonly options: FeedOptions) {}

  /** subscribe sends `onEvent` the pod's remembered Events, then each new one; it returns the unsubscribe function. */
  subscribe(podName: string, onEvent: Listener): () => void {
    if (this.closed) return () => undefined;
    let set = this.listeners.get(podName);
    if (set === undefined) this.listeners.set(podName, (set = new Set()));
    set.add(onEvent);
    for (const e of [...(this.recent.get(podName) ?? [])]) onEvent(e);
    this.running ??= this.start();
    return () => {
      set.delete(onEvent);
      if (set.size === 0 && this.listeners.get(podName) === set) this.listeners.delete(podName);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** watching tells whether the shared watch runs. */
  get watching(): boolean {
    return this.running !== undefined;
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.stop();
  }

  private start(): AbortController {
    const abort = new AbortController();
    const { kc, namespace, logger, clock } = this.options;
    watchPodEvents({ kc, namespace, logger, clock, signal: abort.signal, onEvent: (e) => this.deliver(e) }).catch((err: unknown) =>
      logger?.warn({ err }, 'pod events watch ended'),
    );
    return abort;
  }

  private stop(): void {
    this.running?.abort();
    this.running = undefined;
    this.recent.clear(); // a new watch starts from a fresh list, which brings every Event still kept
  }

  private deliver(e: KubeEventObject): void {
    const pod = e.involvedObject?.name;
    if (pod === undefined) return;
    this.remember(pod, e);
    for (const listener of [...(this.listeners.get(pod) ?? [])]) {
      try {
        listener(e);
      } catch (err) {
        this.options.logger?.error({ err, pod }, 'a pod events listener failed');
      }
    }
  }

  private remember(pod: string, e: KubeEventObject): void {
    let list = this.recent.get(pod);
    if (list === undefined) {
      if (this.recent.size >= (this.options.pods ?? 2_000)) this.recent.delete(this.recent.keys().next().value as string);
      this.recent.set(pod, (list = []));
    }
    list.push(e);
    if (list.length > (this.options.perPod ?? 100)) list.shift();
  }
}

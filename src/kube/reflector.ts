import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { createActor } from 'xstate';
import type { Actor } from 'xstate';
import type { PodFact } from '../../machines/pod-fact.js';
import { rvNumber } from '../../machines/pod-fact.js';
import { reflectorMachine } from '../../machines/reflector.machine.js';
import type { ReflectorEvent } from '../../machines/reflector.machine.js';
import type { Clock } from '../core/clock.js';
import type { PodLister } from './pod-lister.js';
import type { WatchOptions } from './list-watch.js';
import { listPages, runListWatch, watchOnce } from './list-watch.js';
import { selector } from './manifest.js';
import { ownerKey, podFact } from './pod-mapper.js';

/** PodSink is where observations go: the runtime, in production. */
export interface PodSink {
  /** observe reports a fact; `listedAt` is the version of the list it came from (none for a watch event). */
  observe(key: string, fact: PodFact, listedAt?: string): Promise<unknown>;
  keys(): Iterable<string>;
}

export interface ReflectorOptions {
  kc: KubeConfig;
  /** list reads a page of pods (rawPodLister in production). */
  list: PodLister;
  namespace: string;
  instance: string;
  sink: PodSink;
  clock: Clock;
  logger?: Logger | undefined;
  /** resyncMs: a full relist this often, reporting every server, absent pods included (default 60 s). */
  resyncMs?: number;
  /** watchTimeoutSeconds: the server ends each watch after this long (default 60 s). */
  watchTimeoutSeconds?: number;
  /** silenceMs: a watch that sends nothing, not even a bookmark, for this long is cut (default 90 s). */
  silenceMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  unhealthyAfterMs?: number;
  pageSize?: number;
  random?: () => number;
}

/** DEFAULT_REFLECTOR_TIMINGS are the reflector's timings unless its options (or the configuration) say otherwise. */
export const DEFAULT_REFLECTOR_TIMINGS = {
  resyncMs: 60_000,
  watchTimeoutSeconds: 60,
  silenceMs: 90_000,
  backoffInitialMs: 200,
  backoffMaxMs: 30_000,
  unhealthyAfterMs: 60_000,
} as const;

/** CachedPod is what the reflector knows of one of our pods. */
export interface CachedPod {
  readonly key: string;
  readonly name: string;
  readonly fact: PodFact & { exists: true };
  readonly createdAt: number;
  /** seenAt is when this reflector first saw this pod (same uid), on the monotonic clock: the sweeper's grace runs from it. */
  readonly seenAt: number;
}

export interface ReflectorHealth {
  readonly activity: string;
  readonly healthy: boolean;
  readonly synced: boolean;
  readonly lastSuccessAt: number;
  readonly sinceLastSuccessMs: number;
  readonly restarts: number;
  readonly lastError: string | null;
}

/**
 * Reflector lists and watches this hub's pods and reports every change to the sink as a level fact.
 * It never stops for good (client-node's informer does): any error restarts it after a capped,
 * jittered backoff; 410 relists; a silent watch is cut; and a periodic resync reports every known
 * server, so a lost DELETED event still reaches its server as an absence.
 */
export class Reflector {
  readonly cache = new Map<string, CachedPod>();
  /**
   * stats count what the watches brought: applied events, bookmarks, events skipped as malformed,
   * and lists whose resourceVersion went back (a new cluster epoch).
   */
  readonly stats = { events: 0, bookmarks: 0, skipped: 0, regressions: 0 };
  /** versions tells whether a list's facts can be ordered with what came before it. */
  readonly versions = new VersionEpochs();
  private readonly health$: Actor<typeof reflectorMachine>;
  private readonly o: Required<Omit<ReflectorOptions, 'logger'>> & { logger?: Logger | undefined };
  private syncedWaiters: Array<() => void> = [];
  /** lastSuccessMono is when the last success was told to the health machine, on the monotonic clock. */
  private lastSuccessMono: number | undefined;

  constructor(options: ReflectorOptions) {
    this.o = {
      ...DEFAULT_REFLECTOR_TIMINGS,
      pageSize: 500,
      random: Math.random,
      ...options,
    };
    const clock = this.o.clock;
    this.health$ = createActor(reflectorMachine.provide({ delays: { unhealthyAfter: this.o.unhealthyAfterMs } }), {
      clock: { setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: (id) => clock.clearTimeout(id as never) },
    });
    this.health$.start();
  }

  health(): ReflectorHealth {
    const s = this.health$.getSnapshot();
    const value = s.value as { activity: string; health: string };
    return {
      activity: s.hasTag('healthy') ? value.activity : 'unhealthy',
      healthy: s.hasTag('healthy'),
      synced: s.context.synced,
      lastSuccessAt: s.context.lastSuccessAt,
      sinceLastSuccessMs: this.lastSuccessMono === undefined ? Infinity : this.o.clock.monotonic() - this.lastSuccessMono,
      restarts: s.context.restarts,
      lastError: s.context.lastError,
    };
  }

  /** synced resolves after the first successful list has been applied: no decision is taken before it. */
  synced(): Promise<void> {
    if (this.health$.getSnapshot().context.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncedWaiters.push(resolve));
  }

  /** start runs until `signal` aborts; it never returns because of an error. */
  async start(signal: AbortSignal): Promise<void> {
    const { clock, kc, namespace, instance, silenceMs, watchTimeoutSeconds, logger } = this.o;
    const watch: WatchOptions = {
      kc,
      clock,
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      query: { labelSelector: selector(instance), allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds },
      silenceMs,
      onEvent: (type, obj) => this.apply(type, obj),
      onBadEvent: (err, type) => {
        // A malformed object is logged and skipped; the watch goes on.
        this.stats.skipped++;
        logger?.warn({ err: (err as Error).message, type }, 'skipped a watch event');
      },
    };
    await runListWatch(
      {
        clock,
        backoff: { initialMs: this.o.backoffInitialMs, maxMs: this.o.backoffMaxMs },
        random: this.o.random,
        resyncMs: this.o.resyncMs,
        list: (s) => this.list(s),
        watch: (rv, resyncAt, s) => watchOnce(watch, rv, resyncAt, s),
        onExpired: () => {
          this.tell({ type: 'expired', at: clock.now() });
          logger?.info('watch expired (410); relisting');
        },
        onFailure: (message, failures, retryInMs) => {
          this.tell({ type: 'failed', at: clock.now(), error: message.slice(0, 300) });
          logger?.warn({ err: message, failures, retryInMs: Math.round(retryInMs) }, 'reflector failed; retrying');
        },
        onRetry: () => this.tell({ type: 'retry', at: clock.now() }),
      },
      signal,
    );
    this.health$.stop();
  }

  private tell(event: ReflectorEvent): void {
    const before = this.health$.getSnapshot().context.lastSuccessAt;
    this.health$.send(event);
    if (this.health$.getSnapshot().context.lastSuccessAt !== before) this.lastSuccessMono = this.o.clock.monotonic();
    if (event.type === 'list.done') {
      for (const resolve of this.syncedWaiters.splice(0)) resolve();
    }
  }

  /** list reads every page, replaces the cache and reports every server, absences included. */
  private async list(signal: AbortSignal): Promise<string> {
    this.tell({ type: 'list.started', at: this.o.clock.now() });
    const { instance, pageSize } = this.o;
    const seen = new Map<string, CachedPod>();
    const listRv = await listPages(
      (cont) => this.o.list({ labelSelector: selector(instance), limit: pageSize, cont }, signal),
      (pod) => {
        const cached = this.toCached(pod as V1Pod);
        if (cached !== undefined) seen.set(cached.name, cached);
      },
      signal,
    );
    this.cache.clear();
    const byKey = new Map<string, CachedPod>();
    for (const [name, c] of seen) {
      this.cache.set(name, c);
      byKey.set(c.key, c);
    }
    if (this.versions.listed(listRv) === 'regressed') {
      this.stats.regressions++;
      this.o.logger?.warn(
        { resourceVersion: listRv, highest: this.versions.highestSeen },
        "the cluster's resourceVersion went back (etcd restored or a rebuilt cluster): a new epoch; servers read their pods before deciding",
      );
    }
    const reports: Array<Promise<unknown>> = [];
    for (const c of byKey.values()) reports.push(this.report(c.key, c.fact, listRv));
    for (const key of this.o.sink.keys()) {
      if (!byKey.has(key)) reports.push(this.report(key, { exists: false, resourceVersion: listRv }, listRv));
    }
    await Promise.all(reports);
    this.tell({ type: 'list.done', at: this.o.clock.now() });
    this.o.logger?.debug({ pods: seen.size, resourceVersion: listRv }, 'listed pods');
    return listRv;
  }

  /** apply handles one watch event; it returns the new resourceVersion, 'expired', or undefined. */
  private apply(type: string, obj: unknown): string | 'expired' | undefined {
    if (type === 'ERROR') {
      const code = (obj as { code?: unknown } | null)?.code;
      if (code === 410) return 'expired';
      throw new Error(`watch error event: ${JSON.stringify(obj).slice(0, 200)}`);
    }
    const meta = (obj as { metadata?: { resourceVersion?: unknown; name?: unknown } } | null)?.metadata;
    const rv = typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : undefined;
    this.versions.seen(rv);
    if (type === 'BOOKMARK') {
      this.stats.bookmarks++;
      this.tell({ type: 'watch.event', at: this.o.clock.now() });
      return rv;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') throw new Error(`unknown watch event type ${type.slice(0, 40)}`);
    const cached = this.toCached(obj as V1Pod);
    this.stats.events++;
    this.tell({ type: 'watch.event', at: this.o.clock.now() });
    if (cached === undefined) return rv; // not ours: not even looked at further
    if (type === 'DELETED') {
      this.cache.delete(cached.name);
      // The DELETED object carries the deletion's revision and the uid: that pod is gone for good.
      void this.report(cached.key, { exists: false, uid: cached.fact.uid, resourceVersion: cached.fact.resourceVersion });
    } else {
      this.cache.set(cached.name, cached);
      void this.report(cached.key, cached.fact);
    }
    return rv;
  }

  private toCached(pod: V1Pod): CachedPod | undefined {
    const key = ownerKey(pod, this.o.instance);
    if (key === undefined) return undefined;
    const name = String(pod.metadata?.name);
    const fact = podFact(pod);
    const created = Date.parse(String(pod.metadata?.creationTimestamp ?? ''));
    const known = this.cache.get(name);
    const seenAt = known !== undefined && known.fact.uid === fact.uid ? known.seenAt : this.o.clock.monotonic();
    return { key, name, fact, createdAt: Number.isFinite(created) ? created : this.o.clock.now(), seenAt };
  }

  private report(key: string, fact: PodFact, listedAt?: string): Promise<unknown> {
    return this.o.sink.observe(key, fact, listedAt).catch((err: unknown) => {
      this.o.logger?.error({ err, server: key }, 'could not apply an observation');
    });
  }
}

/**
 * VersionEpochs follows the cluster's resourceVersions to notice a new cluster epoch: integer
 * versions only grow within one, so a list below the highest version seen means the cluster went
 * back (an etcd restore, a rebuilt cluster). It is logged and counted; the servers need no word of
 * it, since a list's facts carry the list's version and each server orders them against its own.
 */
export class VersionEpochs {
  private highest: bigint | undefined;

  get highestSeen(): string | undefined {
    return this.highest?.toString();
  }

  /** seen notes a version from a watch event or bookmark. */
  seen(rv: string | undefined): void {
    const n = rvNumber(rv);
    if (n !== undefined && (this.highest === undefined || n > this.highest)) this.highest = n;
  }

  /** listed notes a list's version and tells how its facts stand to what came before. */
  listed(rv: string): 'ordered' | 'regressed' | 'opaque' {
    const n = rvNumber(rv);
    if (n === undefined) return 'opaque';
    const regressed = this.highest !== undefined && n < this.highest;
    if (regressed || this.highest === undefined || n > this.highest) this.highest = n;
    return regressed ? 'regressed' : 'ordered';
  }
}

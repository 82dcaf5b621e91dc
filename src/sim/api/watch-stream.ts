import type { ServerResponse } from 'node:http';
import type { TimerSet } from '../cluster/clock.js';
import type { Collection } from '../cluster/kinds.js';
import { apiVersionOf } from '../cluster/kinds.js';
import type { Selector } from './selectors.js';
import type { ApiError } from './status.js';
import type { Change, ClusterStore } from '../cluster/store.js';
import type { KubeObject } from '../cluster/types.js';

/**
 * WatchStart says where a watch begins: after a given version (the changes since, then live ones),
 * or at the current state, with or without a synthetic ADDED per current object and the bookmark
 * that marks the end of those (sendInitialEvents).
 */
export type WatchStart = { after: number } | { current: true; initialEvents: boolean; endBookmark: boolean };

/** INITIAL_EVENTS_END is the annotation of the bookmark that ends a watch's initial events. */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

export interface WatchSpec {
  collection: Collection;
  /** One namespace, or all when absent. */
  namespace?: string;
  selector: Selector;
  start: WatchStart;
  bookmarks: boolean;
  timeoutMs: number;
}

export interface WatchDeps {
  store: ClusterStore;
  timers: TimerSet;
  bookmarkIntervalMs: number;
  /** monotonic is the clock's monotonic reading, for the delayed-events fault. */
  monotonic: () => number;
  /** shouldDrop is asked once per event; true loses it silently (a fault). */
  shouldDrop: () => boolean;
  /** eventDelayMs is how long each event is held back before it is sent (a fault); order is kept. */
  eventDelayMs: () => number;
}

interface Delayed {
  due: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

/** A slow reader is cut off past this much unsent data, as the API server drops slow watchers. */
const MAX_BUFFERED = 16 * 1024 * 1024;

/**
 * WatchStream is one open watch: it streams one compact JSON event per line, translates each change
 * through the selector (an object that stops matching is DELETED for this watcher), and can be cut,
 * stalled or expired on purpose.
 */
export class WatchStream {
  private unsubscribe: (() => void) | undefined;
  private readonly cancels: (() => void)[] = [];
  private stalled = false;
  private ended = false;
  private readonly delayed: Delayed[] = [];
  private cancelDrain: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly spec: WatchSpec,
    private readonly deps: WatchDeps,
    private readonly onEnd: (stream: WatchStream) => void,
  ) {}

  /**
   * start sends headers at once (clients wait for them before they count a watch as started),
   * then the initial or replayed events, then live ones; a too-old version ends the stream with
   * one ERROR event carrying a 410 Expired Status, over HTTP 200, as Kubernetes does.
   */
  start(stallAtOnce: boolean): void {
    const socket = this.res.socket;
    if (this.res.destroyed || socket === null || socket.destroyed) {
      this.finish();
      return;
    }
    const { store } = this.deps;
    const start = this.spec.start;
    let backlog: Change[] = [];
    let expired: ApiError | undefined;
    if ('after' in start) {
      try {
        backlog = store.changesSince(start.after);
      } catch (err) {
        expired = err as ApiError;
      }
    }
    this.res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'X-Content-Type-Options': 'nosniff',
    });
    this.res.flushHeaders();
    this.res.socket?.setNoDelay(true);
    this.res.on('close', () => this.finish());
    this.res.on('error', () => this.finish());
    if (stallAtOnce) {
      this.stalled = true;
      return;
    }
    if (expired !== undefined) {
      this.write('ERROR', expired.status);
      this.end();
      return;
    }
    if ('after' in start) {
      for (const change of backlog) this.deliver(change);
    } else {
      const { resource } = this.spec.collection;
      if (start.initialEvents)
        for (const obj of store.list(resource, this.spec.namespace)) if (this.spec.selector(obj)) this.send('ADDED', obj);
      if (start.endBookmark) this.write('BOOKMARK', this.bookmark(store.resourceVersion(), { [INITIAL_EVENTS_END]: 'true' }));
    }
    const after = 'after' in start ? start.after : store.resourceVersion();
    this.unsubscribe = store.subscribe((change) => {
      if (change.rv > after) this.deliver(change);
    });
    this.cancels.push(this.deps.timers.after(this.spec.timeoutMs, () => this.end()));
    if (this.spec.bookmarks) this.armBookmark();
  }

  /** cut ends the connection: abruptly (a reset, like a dropped proxy) or cleanly (like a server-side timeout). */
  cut(clean: boolean): void {
    if (this.ended) return;
    if (clean) this.end();
    else {
      this.finish();
      this.res.destroy();
    }
  }

  /** stall keeps the connection open but never sends on it again, like a black-holed TCP stream. */
  stall(): void {
    this.stalled = true;
    this.release();
  }

  /** inject writes raw text lines into the stream, whatever they hold; fuzzing uses it. */
  inject(lines: readonly string[]): void {
    if (this.ended || this.stalled || this.res.destroyed) return;
    for (const line of lines) this.res.write(`${line.replace(/\n/g, ' ')}\n`);
  }

  /** expire sends the 410 ERROR event a compacted watch cache sends, then ends the stream. */
  expire(status: object): void {
    if (this.ended || this.stalled) return;
    this.write('ERROR', status);
    this.end();
  }

  private armBookmark(): void {
    this.cancels.push(
      this.deps.timers.after(this.deps.bookmarkIntervalMs, () => {
        this.write('BOOKMARK', this.bookmark(this.deps.store.resourceVersion()));
        this.armBookmark();
      }),
    );
  }

  /** bookmark is the object of a BOOKMARK event: only the kind and a version (and the initial-events-end mark). */
  private bookmark(rv: number, annotations?: Record<string, string>): object {
    const metadata = { resourceVersion: String(rv), ...(annotations === undefined ? {} : { annotations }) };
    return { kind: this.spec.collection.kind, apiVersion: apiVersionOf(this.spec.collection), metadata };
  }

  private deliver(change: Change): void {
    if (change.resource !== this.spec.collection.resource) return;
    const ns = this.spec.namespace;
    if (ns !== undefined && change.object.metadata.namespace !== ns) return;
    const match = this.spec.selector;
    const now = change.type !== 'DELETED' && match(change.object);
    const was = change.previous !== undefined && match(change.previous);
    if (change.type === 'ADDED' && now) this.send('ADDED', change.object);
    else if (change.type === 'MODIFIED' && now) this.send(was ? 'MODIFIED' : 'ADDED', change.object);
    else if (change.type === 'MODIFIED' && was && change.previous !== undefined) {
      const gone = structuredClone(change.previous);
      gone.metadata.resourceVersion = change.object.metadata.resourceVersion;
      this.send('DELETED', gone);
    } else if (change.type === 'DELETED' && (was || match(change.object))) this.send('DELETED', change.object);
  }

  private send(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): void {
    if (this.deps.shouldDrop()) return;
    const delay = this.deps.eventDelayMs();
    if (delay <= 0 && this.delayed.length === 0) {
      this.write(type, object);
      return;
    }
    const now = this.deps.monotonic();
    const last = this.delayed[this.delayed.length - 1];
    this.delayed.push({ due: Math.max(now + Math.max(0, delay), last?.due ?? now), type, object });
    if (this.cancelDrain === undefined) this.armDrain();
  }

  /** armDrain sends held-back events when they are due, one timer at a time, so order never changes. */
  private armDrain(): void {
    const head = this.delayed[0];
    if (head === undefined) return;
    this.cancelDrain = this.deps.timers.after(head.due - this.deps.monotonic(), () => {
      this.cancelDrain = undefined;
      const now = this.deps.monotonic();
      for (let next = this.delayed[0]; next !== undefined && next.due <= now; next = this.delayed[0]) {
        this.delayed.shift();
        this.write(next.type, next.object);
      }
      this.armDrain();
    });
  }

  private write(type: string, object: object): void {
    if (this.ended || this.stalled) return;
    if (this.res.destroyed) {
      this.finish();
      return;
    }
    if (this.res.writableLength > MAX_BUFFERED) {
      this.cut(false);
      return;
    }
    this.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private end(): void {
    if (this.ended) return;
    this.finish();
    this.res.end();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    this.onEnd(this);
  }

  private release(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const cancel of this.cancels.splice(0)) cancel();
    this.cancelDrain?.();
    this.cancelDrain = undefined;
    this.delayed.length = 0;
  }
}

/** WatchRegistry knows every open watch, so faults can reach them and closing can end them. */
export class WatchRegistry {
  private readonly open = new Set<WatchStream>();

  add(stream: WatchStream): void {
    this.open.add(stream);
  }

  remove(stream: WatchStream): void {
    this.open.delete(stream);
  }

  count(): number {
    return this.open.size;
  }

  /** each applies fn to every open watch and returns how many there were. */
  each(fn: (stream: WatchStream) => void): number {
    const all = [...this.open];
    for (const s of all) fn(s);
    return all.length;
  }
}

import type { ServerResponse } from 'node:http';
import type { TimerSet } from './clock.js';
import type { Selector } from './selectors.js';
import type { ApiError } from './status.js';
import type { Change, ClusterStore } from './store.js';
import type { KubeObject, Resource } from './types.js';
import { RESOURCE_TYPES } from './types.js';

export interface WatchSpec {
  resource: Resource;
  /** One namespace, or all when absent. */
  namespace?: string;
  selector: Selector;
  /** The client's resourceVersion: undefined, '' or '0' start with the current objects. */
  resourceVersion?: number;
  bookmarks: boolean;
  timeoutMs: number;
}

export interface WatchDeps {
  store: ClusterStore;
  timers: TimerSet;
  bookmarkIntervalMs: number;
  now: () => number;
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
    let backlog: Change[] = [];
    let expired: ApiError | undefined;
    const rv = this.spec.resourceVersion;
    if (rv !== undefined && rv !== 0) {
      try {
        backlog = store.changesSince(rv);
      } catch (err) {
        expired = err as ApiError;
      }
    }
    this.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'X-Content-Type-Options': 'nosniff' });
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
    if (rv === undefined || rv === 0) {
      for (const obj of store.list(this.spec.resource, this.spec.namespace)) if (this.spec.selector(obj)) this.send('ADDED', obj);
    } else {
      for (const change of backlog) this.deliver(change);
    }
    this.unsubscribe = store.subscribe((change) => this.deliver(change));
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
        const { kind, apiVersion } = RESOURCE_TYPES[this.spec.resource];
        this.write('BOOKMARK', { kind, apiVersion, metadata: { resourceVersion: String(this.deps.store.resourceVersion()) } });
        this.armBookmark();
      }),
    );
  }

  private deliver(change: Change): void {
    if (change.resource !== this.spec.resource) return;
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
    const now = this.deps.now();
    const last = this.delayed[this.delayed.length - 1];
    this.delayed.push({ due: Math.max(now + Math.max(0, delay), last?.due ?? now), type, object });
    if (this.cancelDrain === undefined) this.armDrain();
  }

  /** armDrain sends held-back events when they are due, one timer at a time, so order never changes. */
  private armDrain(): void {
    const head = this.delayed[0];
    if (head === undefined) return;
    this.cancelDrain = this.deps.timers.after(head.due - this.deps.now(), () => {
      this.cancelDrain = undefined;
      const now = this.deps.now();
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

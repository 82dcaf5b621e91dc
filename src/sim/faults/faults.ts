import type { TimerSet } from '../cluster/clock.js';
import type { Random } from '../cluster/prng.js';
import { streamFor } from '../cluster/prng.js';
import { expired } from '../api/status.js';
import type { WatchRegistry } from '../api/watch-stream.js';

/** Verb is how the fault rules name an API call. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'delete' | 'patch' | 'discovery';

/** API_VERBS are the verbs a fault applies to when it names none: every object call, not discovery. */
export const API_VERBS: readonly Verb[] = ['get', 'list', 'watch', 'create', 'update', 'delete', 'patch'];

/**
 * FaultRecord is one entry of the injection log: a fault that struck (a dropped event, a failed or
 * slowed call, cut or stalled watches) or a control call that set one up (`control`, with its
 * words in `detail`); `at` is the simulator's clock, so a run can be read back in order.
 */
export interface FaultRecord {
  /** When, on the simulator's clock, as an RFC 3339 time with milliseconds. */
  readonly at: string;
  readonly kind: 'drop' | 'fail' | 'failNext' | 'slow' | 'cut' | 'stall' | 'expire' | 'refuse' | 'accept' | 'inject' | 'control';
  /** For `control`: the call and its arguments, e.g. `failCalls fraction=0.3 status=503`. */
  readonly detail?: string;
  /** For per-call faults: the index of the call (or event) among those drawn for this kind. */
  readonly n?: number;
  readonly verb?: Verb;
  readonly status?: number;
  readonly delayMs?: number;
  readonly count?: number;
}

/**
 * Abandoned is what becomes of a delayed write whose client went away meanwhile: `run` (the API
 * server had accepted it, and it lands late) or `drop` (it was still queued, and goes with its
 * cancelled context).
 */
export type Abandoned = 'run' | 'drop';

/** RequestFault is what the injector decided for one call: fail it, delay it, or both. */
export interface RequestFault {
  status?: number;
  delayMs: number;
  /** abandoned: for a delayed call, what to do if its client has gone when the delay ends. */
  abandoned?: Abandoned;
}

/** ListenerControl is the part of the HTTP listener the injector may switch off and on. */
export interface ListenerControl {
  close(): Promise<void>;
  reopen(): Promise<void>;
  isOpen(): boolean;
}

interface Rate {
  fraction: number;
  verbs: readonly Verb[];
}

/**
 * FaultInjector holds every fault now in force and decides per call or per event with seeded
 * streams (one per kind), so the same seed and the same traffic give the same faults.
 */
export class FaultInjector {
  private dropFraction = 0;
  private eventDelay = 0;
  private fail: Rate & { status: number } = { fraction: 0, verbs: API_VERBS, status: 500 };
  private slow: Rate & { delayMs: number; abandoned: Abandoned } = { fraction: 0, verbs: API_VERBS, delayMs: 0, abandoned: 'run' };
  private nextFailures: { count: number; status: number; verbs: readonly Verb[] }[] = [];
  private stallNewUntil: number | undefined;
  private cancelReopen: (() => void) | undefined;
  private readonly streams: Record<'drop' | 'fail' | 'slow', Random>;
  private readonly counters = { drop: 0, fail: 0, slow: 0 };
  private readonly records: FaultRecord[] = [];

  constructor(
    seed: number,
    private readonly deps: {
      watches: WatchRegistry;
      listener: ListenerControl;
      timers: TimerSet;
      monotonic: () => number;
      now: () => number;
      maxRecords?: number;
    },
  ) {
    this.streams = { drop: streamFor(seed, 'fault/drop'), fail: streamFor(seed, 'fault/fail'), slow: streamFor(seed, 'fault/slow') };
  }

  /** dropWatchEvents loses this share of watch events, silently, on every watch. */
  dropWatchEvents(fraction: number): void {
    this.dropFraction = clamp(fraction);
  }

  /** delayWatchEvents holds every watch event back by `ms` before sending it, keeping their order. */
  delayWatchEvents(ms: number): void {
    this.eventDelay = Number.isFinite(ms) ? Math.max(0, ms) : 0;
  }

  watchEventDelayMs(): number {
    return this.eventDelay;
  }

  /** failCalls answers this share of calls with an error Status (500 by default; 504, 503, 429, 410 also shaped). */
  failCalls(options: { fraction: number; status?: number; verbs?: readonly Verb[] }): void {
    this.fail = { fraction: clamp(options.fraction), status: options.status ?? 500, verbs: options.verbs ?? API_VERBS };
  }

  /** failNext fails exactly the next `count` matching calls, e.g. one 410 on the next list. */
  failNext(count: number, options: { status?: number; verbs?: readonly Verb[] } = {}): void {
    this.nextFailures.push({ count, status: options.status ?? 500, verbs: options.verbs ?? API_VERBS });
  }

  /**
   * slowCalls delays this share of calls by `delayMs` before they are handled; a delayed write whose
   * client gave up meanwhile still lands (`abandoned: 'run'`, the default) or is dropped (`'drop'`).
   */
  slowCalls(options: { fraction: number; delayMs: number; verbs?: readonly Verb[]; abandoned?: Abandoned }): void {
    this.slow = {
      fraction: clamp(options.fraction),
      delayMs: Math.max(0, options.delayMs),
      verbs: options.verbs ?? API_VERBS,
      abandoned: options.abandoned ?? 'run',
    };
  }

  /** cutWatches ends every open watch: a reset by default, or a clean end of the response. */
  cutWatches(options: { clean?: boolean } = {}): number {
    const count = this.deps.watches.each((w) => w.cut(options.clean ?? false));
    this.note({ kind: 'cut', count });
    return count;
  }

  /**
   * stallWatches silences every open watch for good (the connection stays open, nothing more
   * arrives) and, unless `includeNew` is false, every watch opened in the next `forMs` (or until
   * cleared).
   */
  stallWatches(options: { forMs?: number; includeNew?: boolean } = {}): number {
    const count = this.deps.watches.each((w) => w.stall());
    if (options.includeNew ?? true)
      this.stallNewUntil = options.forMs === undefined ? Number.POSITIVE_INFINITY : this.deps.monotonic() + options.forMs;
    this.note({ kind: 'stall', count });
    return count;
  }

  /**
   * injectWatchLines writes raw lines (malformed JSON, wrong types, foreign or enormous objects) into
   * every open watch, as a broken proxy or API server might; it returns how many watches got them.
   */
  injectWatchLines(lines: readonly string[]): number {
    const count = this.deps.watches.each((w) => w.inject(lines));
    this.note({ kind: 'inject', count });
    return count;
  }

  /** expireWatches sends every open watch the in-stream 410 Expired ERROR and ends it. */
  expireWatches(): number {
    const status = expired('too old resource version: expired by the simulator').status;
    const count = this.deps.watches.each((w) => w.expire(status));
    this.note({ kind: 'expire', count });
    return count;
  }

  /**
   * refuseConnections really closes the listening socket (and every open connection), so clients
   * get ECONNREFUSED; after `forMs` it listens again on the same port, or when acceptConnections runs.
   */
  async refuseConnections(forMs?: number): Promise<void> {
    this.cancelReopen?.();
    this.cancelReopen = undefined;
    this.note({ kind: 'refuse', ...(forMs === undefined ? {} : { detail: `for ${forMs} ms` }) });
    await this.deps.listener.close();
    if (forMs !== undefined) {
      this.cancelReopen = this.deps.timers.after(forMs, () => {
        this.cancelReopen = undefined;
        this.note({ kind: 'accept', detail: `after ${forMs} ms` });
        this.deps.listener.reopen().catch(() => undefined);
      });
    }
  }

  async acceptConnections(): Promise<void> {
    this.cancelReopen?.();
    this.cancelReopen = undefined;
    if (this.deps.listener.isOpen()) return;
    this.note({ kind: 'accept' });
    await this.deps.listener.reopen();
  }

  isRefusing(): boolean {
    return !this.deps.listener.isOpen();
  }

  /** clear lifts every fault in force; watches already stalled stay dead, as real ones would. */
  async clear(): Promise<void> {
    this.dropFraction = 0;
    this.eventDelay = 0;
    this.fail = { ...this.fail, fraction: 0 };
    this.slow = { ...this.slow, fraction: 0 };
    this.nextFailures = [];
    this.stallNewUntil = undefined;
    await this.acceptConnections();
  }

  /** log returns the faults that struck, oldest first. */
  log(): readonly FaultRecord[] {
    return [...this.records];
  }

  /** onRequest decides the fate of one call; it draws from the streams only when a rate is set. */
  onRequest(verb: Verb): RequestFault {
    const decision: RequestFault = { delayMs: 0 };
    const next = this.nextFailures.find((f) => f.count > 0 && f.verbs.includes(verb));
    if (next !== undefined) {
      next.count -= 1;
      this.nextFailures = this.nextFailures.filter((f) => f.count > 0);
      decision.status = next.status;
      this.note({ kind: 'failNext', verb, status: next.status });
    } else if (this.fail.fraction > 0 && this.fail.verbs.includes(verb)) {
      const n = this.counters.fail++;
      if (this.streams.fail() < this.fail.fraction) {
        decision.status = this.fail.status;
        this.note({ kind: 'fail', n, verb, status: this.fail.status });
      }
    }
    if (this.slow.fraction > 0 && this.slow.verbs.includes(verb)) {
      const n = this.counters.slow++;
      if (this.streams.slow() < this.slow.fraction) {
        decision.delayMs = this.slow.delayMs;
        decision.abandoned = this.slow.abandoned;
        this.note({ kind: 'slow', n, verb, delayMs: this.slow.delayMs });
      }
    }
    return decision;
  }

  /** shouldDrop decides one watch event. */
  shouldDrop(): boolean {
    if (this.dropFraction <= 0) return false;
    const n = this.counters.drop++;
    const hit = this.streams.drop() < this.dropFraction;
    if (hit) this.note({ kind: 'drop', n });
    return hit;
  }

  /** stallsNewWatch tells whether a watch opening now is to be stalled from the start. */
  stallsNewWatch(): boolean {
    return this.stallNewUntil !== undefined && this.deps.monotonic() < this.stallNewUntil;
  }

  /** note appends to the injection log; the controls use it to log each call that sets a fault up. */
  note(record: Omit<FaultRecord, 'at'>): void {
    this.records.push({ at: new Date(this.deps.now()).toISOString(), ...record });
    const max = this.deps.maxRecords ?? 10_000;
    if (this.records.length > max) this.records.splice(0, this.records.length - max);
  }
}

function clamp(fraction: number): number {
  if (!Number.isFinite(fraction)) return 0;
  return Math.min(1, Math.max(0, fraction));
}

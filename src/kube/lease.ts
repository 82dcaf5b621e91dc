import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/schema.js';
import type { Gate } from '../runtime/gate.js';
import type { EpochSource } from './fence.js';
import type { LeaseRecord, LeaseStore } from './lease-store.js';
import { LeaseConflictError } from './lease-store.js';
import { onAbort } from '../core/abort.js';
import { sleep } from '../core/clock.js';

/** LeaseTimings are client-go's leader-election knobs, in ms. */
export interface LeaseTimings {
  /** durationMs: how long others wait, after they last saw the Lease change, before they take it (whole seconds on the wire). */
  durationMs: number;
  /** renewDeadlineMs: the holder stops acting when it has not renewed for this long. */
  renewDeadlineMs: number;
  /** retryPeriodMs: between attempts to acquire or renew. */
  retryPeriodMs: number;
}

/** DEFAULT_LEASE_TIMINGS are client-go's and kube-controller-manager's: 15 s, 10 s, 2 s. */
export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { durationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** JITTER is client-go's JitterFactor: a waiting candidate retries after retryPeriod × [1, 2.2). */
const JITTER = 1.2;

/** leaseTimingsProblem says what is wrong with timings that would let two holders act at once, or undefined. */
export function leaseTimingsProblem(t: LeaseTimings): string | undefined {
  for (const name of ['durationMs', 'renewDeadlineMs', 'retryPeriodMs'] as const) {
    const v = t[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      return `lease ${name} must be a positive number of ms, got ${JSON.stringify(v)}`;
  }
  if (t.durationMs % 1000 !== 0) return `lease durationMs must be whole seconds (the Lease stores seconds), got ${t.durationMs}`;
  if (t.renewDeadlineMs >= t.durationMs)
    return `lease renewDeadlineMs (${t.renewDeadlineMs}) must be less than durationMs (${t.durationMs})`;
  if (t.retryPeriodMs * JITTER >= t.renewDeadlineMs)
    return `lease renewDeadlineMs (${t.renewDeadlineMs}) must be more than ${JITTER} × retryPeriodMs (${t.retryPeriodMs})`;
  return undefined;
}

/** checkLeaseTimings throws a ConfigError (path `lease`) on timings that would let two holders act at once, with what must hold. */
export function checkLeaseTimings(t: LeaseTimings): void {
  const problem = leaseTimingsProblem(t);
  if (problem !== undefined) throw new ConfigError(problem, [{ path: 'lease', message: problem }]);
}

/** LeaseStatus is what /hub/health and the metrics tell of the Lease. */
export interface LeaseStatus {
  readonly name: string;
  readonly namespace: string;
  readonly identity: string;
  readonly acting: boolean;
  /** holder: the holder last seen on the Lease ('' released, null never read). */
  readonly holder: string | null;
  /** transitions: leaseTransitions of this hub's tenure (its fencing stamp), or the last seen when it never held it. */
  readonly transitions: number | null;
  /** renewedAt: when the last successful renewal was sent (ms since the epoch), null before any. */
  readonly renewedAt: number | null;
  readonly lastError: string | null;
  /** losses: how often this hub stopped acting after it had acted. */
  readonly losses: number;
  /** reason: why it is not acting, in words; null while acting. */
  readonly reason: string | null;
}

export interface LeaseElectorOptions extends LeaseTimings {
  store: LeaseStore;
  identity: string;
  clock: Clock;
  logger?: Logger | undefined;
  /** floor: the highest fencing stamp on existing pods, asked before creating the Lease anew. */
  floor?: (signal: AbortSignal) => Promise<number>;
  random?: () => number;
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.slice(0, 200);
}

/**
 * LeaseElector is client-go's leader election over one Lease: it acquires the Lease when it is free
 * or expired (judged on this process's monotonic clock from when it last saw the Lease change, never
 * by another's clock or a wall clock that may step), renews it every retryPeriod, and is `acting`
 * only until renewDeadline after the last renewal it sent. That
 * deadline ends before leaseDuration, the earliest another hub may take over, so two never act at
 * once. Unlike client-go it does not exit on loss: it keeps trying, and acts again once it holds the
 * Lease. It is the runtime's Gate and the pod fence's epoch.
 */
export class LeaseElector implements Gate, EpochSource {
  readonly identity: string;
  /** observed: the Lease as last read, and when it last changed, on the monotonic clock. */
  private observed: { record: LeaseRecord; at: number } | undefined;
  /** renewed: when the last successful acquire or renew was sent, on the monotonic clock (decisions) and the wall clock (reports). */
  private renewed: { mono: number; wall: number } | undefined;
  private tenure: number | undefined;
  private wasActing = false;
  private lastError: string | null = null;
  private losses = 0;
  private deadline: unknown;
  private readonly listeners = new Set<() => void>();
  private firstDone: () => void = () => undefined;
  /** first settles when the first attempt to acquire has ended, won or not. */
  private readonly first = new Promise<void>((resolve) => (this.firstDone = resolve));

  constructor(private readonly o: LeaseElectorOptions) {
    checkLeaseTimings(o);
    this.identity = o.identity;
  }

  get acting(): boolean {
    return this.renewed !== undefined && this.o.clock.monotonic() < this.renewed.mono + this.o.renewDeadlineMs;
  }

  get epoch(): number | undefined {
    return this.tenure;
  }

  /** firstAttempt resolves once the first attempt to acquire the Lease has ended, whatever its outcome. */
  firstAttempt(): Promise<void> {
    return this.first;
  }

  onOpen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): LeaseStatus {
    const { store, renewDeadlineMs } = this.o;
    const acting = this.acting;
    const holder = this.observed?.record.holder ?? null;
    let reason: string | null = null;
    const lease = `lease ${store.namespace}/${store.name}`;
    if (!acting) {
      const error = this.lastError === null ? '' : ` (last error: ${this.lastError})`;
      if (holder !== null && holder !== '' && holder !== this.identity)
        reason = `the ${lease} is held by ${holder}; this hub waits for it and does not act on the cluster`;
      else if (this.renewed !== undefined)
        reason = `this hub could not renew the ${lease} within ${renewDeadlineMs / 1000} s${error}; it has stopped acting on the cluster until it holds the lease again`;
      else reason = `this hub has not acquired the ${lease} yet${error}`;
    }
    return {
      name: store.name,
      namespace: store.namespace,
      identity: this.identity,
      acting,
      holder,
      transitions: this.tenure ?? this.observed?.record.transitions ?? null,
      renewedAt: this.renewed?.wall ?? null,
      lastError: this.lastError,
      losses: this.losses,
      reason,
    };
  }

  /** start tries to acquire, then to renew, every retryPeriod until `signal` aborts; it never throws. */
  async start(signal: AbortSignal): Promise<void> {
    const { clock, retryPeriodMs } = this.o;
    const random = this.o.random ?? Math.random;
    while (!signal.aborted) {
      await this.attempt(signal);
      this.firstDone();
      if (signal.aborted) break;
      await sleep(clock, this.acting ? retryPeriodMs : retryPeriodMs * (1 + JITTER * random()), signal);
    }
    this.firstDone();
  }

  /**
   * release gives the Lease up at shutdown (client-go's ReleaseOnCancel), so a successor need not
   * wait leaseDuration. Call it only after this hub's effects have stopped: it stops acting first.
   */
  async release(timeoutMs = 2_000): Promise<void> {
    const held = this.observed?.record;
    this.renewed = undefined;
    this.refresh();
    if (held === undefined || held.holder !== this.identity) return;
    const now = this.o.clock.now();
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await this.o.store.update({ ...held, holder: '', durationSeconds: 1, acquireTime: now, renewTime: now }, signal);
      this.o.logger?.info({ lease: this.o.store.name }, 'released the lease');
    } catch (err) {
      this.o.logger?.warn(
        { lease: this.o.store.name, err: describe(err) },
        'could not release the lease; a successor waits for it to expire',
      );
    }
  }

  private async attempt(signal: AbortSignal): Promise<void> {
    const sent = { mono: this.o.clock.monotonic(), wall: this.o.clock.now() };
    const call = new AbortController();
    const stopped = onAbort(signal, () => call.abort(signal.reason));
    // Each attempt (a read and a write) is bounded, so a call that hangs cannot hold the loop past the deadline.
    const timer = this.o.clock.setTimeout(
      () => call.abort(new Error('lease call timed out')),
      Math.max(this.o.retryPeriodMs, this.o.renewDeadlineMs / 2),
    );
    try {
      if (await this.tryAcquireOrRenew(sent, call.signal)) {
        this.renewed = sent;
        this.lastError = null;
      }
    } catch (err) {
      this.lastError = describe(err);
      this.o.logger?.debug({ lease: this.o.store.name, err: this.lastError }, 'lease attempt failed');
    } finally {
      this.o.clock.clearTimeout(timer);
      stopped();
    }
    this.refresh();
  }

  /**
   * tryAcquireOrRenew is client-go's: true when this hub holds the Lease as of `sent`. Expiry is
   * measured on the monotonic clock; the wall clock only writes the Lease's times, which people read.
   */
  private async tryAcquireOrRenew(sent: { mono: number; wall: number }, signal: AbortSignal): Promise<boolean> {
    const now = sent.wall;
    const { store } = this.o;
    const identity = this.identity;
    const durationSeconds = this.o.durationMs / 1000;
    const old = await store.get(signal);
    if (old === undefined) {
      const floor = (await this.o.floor?.(signal)) ?? -1;
      const fresh: LeaseRecord = {
        holder: identity,
        durationSeconds,
        acquireTime: now,
        renewTime: now,
        transitions: floor + 1,
        resourceVersion: '',
      };
      return this.won(() => store.create(fresh, signal));
    }
    this.observe(old);
    const seenAt = this.observed?.at ?? sent.mono;
    if (old.holder !== '' && old.holder !== identity && sent.mono < seenAt + old.durationSeconds * 1000) {
      this.lastError = null;
      return false;
    }
    const mine = old.holder === identity;
    const next: LeaseRecord = {
      holder: identity,
      durationSeconds,
      acquireTime: mine ? old.acquireTime : now,
      renewTime: now,
      transitions: mine ? old.transitions : old.transitions + 1,
      resourceVersion: old.resourceVersion,
    };
    return this.won(() => store.update(next, signal));
  }

  private async won(write: () => Promise<LeaseRecord>): Promise<boolean> {
    let stored: LeaseRecord;
    try {
      stored = await write();
    } catch (err) {
      if (err instanceof LeaseConflictError) {
        this.lastError = err.message;
        return false;
      }
      throw err;
    }
    this.observe(stored);
    if (this.tenure !== stored.transitions) {
      this.o.logger?.info({ lease: this.o.store.name, identity: this.identity, transitions: stored.transitions }, 'acquired the lease');
    }
    this.tenure = stored.transitions;
    return true;
  }

  /** observe notes when the Lease last changed, in this process's time: expiry is judged from that. */
  private observe(record: LeaseRecord): void {
    const prev = this.observed?.record;
    const same =
      prev !== undefined &&
      prev.holder === record.holder &&
      prev.renewTime === record.renewTime &&
      prev.transitions === record.transitions &&
      prev.durationSeconds === record.durationSeconds &&
      prev.acquireTime === record.acquireTime;
    if (!same) {
      if (prev?.holder !== record.holder && record.holder !== this.identity && record.holder !== '') {
        this.o.logger?.info(
          { lease: this.o.store.name, holder: record.holder, transitions: record.transitions },
          'the lease is held by another hub',
        );
      }
      this.observed = { record, at: this.o.clock.monotonic() };
    } else if (this.observed !== undefined) {
      this.observed = { record, at: this.observed.at };
    }
  }

  /** refresh tells of a change in `acting` and arms a check for the moment the renew deadline passes. */
  private refresh(): void {
    const acting = this.acting;
    if (this.deadline !== undefined) this.o.clock.clearTimeout(this.deadline);
    this.deadline = undefined;
    if (acting && this.renewed !== undefined) {
      this.deadline = this.o.clock.setTimeout(() => this.refresh(), this.renewed.mono + this.o.renewDeadlineMs - this.o.clock.monotonic());
    }
    if (acting === this.wasActing) return;
    this.wasActing = acting;
    if (acting) {
      this.o.logger?.info(
        { lease: this.o.store.name, identity: this.identity, transitions: this.tenure },
        'this hub holds the lease and acts on the cluster',
      );
      for (const listener of [...this.listeners]) listener();
      return;
    }
    if (this.renewed !== undefined) {
      this.losses++;
      this.o.logger?.warn(
        { lease: this.o.store.name, err: this.lastError },
        'could not renew the lease in time; this hub stops acting on the cluster',
      );
    }
  }
}

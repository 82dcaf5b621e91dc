import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { PodFact } from '../../machines/pod-fact.js';
import type { EffectParams, ServerEvent, ServerMachine } from '../../machines/server.machine.js';
import { MACHINE_VERSION } from '../../machines/server.machine.js';
import { upgrade } from '../../machines/upgrades.js';
import type { EventStore, ServerRow, StepRecord } from '../store/event-store.js';
import type { Clock } from '../core/clock.js';
import { EffectRunner } from './effects.js';
import { RuntimeClosedError } from './errors.js';
import type { Gate } from './gate.js';
import type { PodClient } from './pod-client.js';
import type { ServerSnapshot, StepResult } from './step.js';
import { UPGRADED } from './replay.js';
import type { UpgradedEvent } from './replay.js';
import { initialSnapshot, longestFixedDelay, persist, restore, stateName, step } from './step.js';
import { rearmWait, TimerTable } from './timers.js';

export interface RuntimeOptions {
  store: EventStore;
  machine: ServerMachine;
  pods: PodClient;
  clock: Clock;
  logger?: Logger | undefined;
  /** effectTimeoutMs bounds each cluster call (default 10 s, the machine's requestTimeout). */
  effectTimeoutMs?: number;
  /** effectConcurrency: cluster calls in flight at once across servers (default 32). */
  effectConcurrency?: number;
  /** gate: effects start only while it is open (the Kubernetes Lease); commands are committed either way. */
  gate?: Gate;
  /** maxBatch: the most events one transaction commits (default 2,000). */
  maxBatch?: number;
  /**
   * groupCommitMs: while commits pay for an fsync (synchronous=FULL), events that arrive within this
   * long of the last commit wait for one more to gather (default 2 ms; 0 commits at once).
   */
  groupCommitMs?: number;
  /**
   * alongside is called inside the transaction of every committed step, in order, with what a
   * command attached: an embedder keeps rows of its own in step with the machine (a start's spec,
   * written when its spawn begins and removed when the server settles stopped or failed).
   */
  alongside?: (step: StepTransition, attached: unknown) => void;
}

/** StepTransition is what `alongside` hears of a step: the server, the event and the states around it. */
export interface StepTransition {
  readonly key: string;
  readonly event: { type: string };
  readonly before: string;
  readonly after: string;
  /** queuedBefore, queuedAfter: a start waited for a stop to finish, before and after the step. */
  readonly queuedBefore: boolean;
  readonly queuedAfter: boolean;
}

/**
 * SLOW_COMMIT_MS: a commit that took longer was paying for an fsync, and it is worth gathering
 * events for the next; one that took less (synchronous=NORMAL, an in-memory test database) was not.
 */
const SLOW_COMMIT_MS = 0.05;

/** ServerView is what the runtime tells of one server. */
export interface ServerView {
  readonly key: string;
  readonly state: string;
  readonly snapshot: ServerSnapshot;
  readonly seq: number;
  /** since is when the server entered its current state (ms since the epoch). */
  readonly since: number;
}

/** Committed is told to subscribers after each step is durable. */
export interface Committed {
  readonly key: string;
  readonly seq: number;
  readonly ts: number;
  readonly event: { type: string };
  readonly before: string;
  readonly after: string;
  readonly snapshot: ServerSnapshot;
}

type Source = 'command' | 'observation' | 'timer' | 'result';

interface Item {
  readonly key: string;
  readonly event: ServerEvent | { type: string };
  readonly source: Source;
  readonly timer?: { id: string; token: number };
  readonly outboxId?: number;
  /** attached: what a command carries for `alongside` (never part of the event). */
  readonly attached?: unknown;
  readonly resolve?: (view: ServerView) => void;
  readonly reject?: (err: Error) => void;
}

/**
 * Server is what the runtime keeps of one server between events. The stored JSON is its one
 * durable form in memory; the resolved snapshot (several KB of XState objects) is kept only while
 * the server is pending, so a hub of many idle servers holds little more than their JSON.
 */
interface Server {
  sid: number | undefined;
  readonly key: string;
  persisted: string;
  snapshot: ServerSnapshot | undefined;
  state: string;
  seq: number;
  since: number;
}

/** Draft is a server as one batch's steps leave it; it replaces the server in memory only once they are committed. */
interface Draft {
  readonly next: Server;
  /** timersTouched: timer ids this batch consumed, armed or cancelled for the server. */
  readonly timersTouched: Set<string>;
}

/** Applied is one step of a batch: the row to commit and what to do once it is durable. */
interface Applied {
  readonly record: StepRecord;
  readonly result: StepResult;
  readonly item: Item;
  readonly before: string;
}

/** RuntimeFailedError: a commit failed; the runtime stops rather than run on from an unknown state. */
export class RuntimeFailedError extends Error {
  constructor(cause: unknown) {
    super(`the runtime stopped after a failed commit: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'RuntimeFailedError';
  }
}

/**
 * Runtime steps every server's machine, one ordered queue per server: each event is folded with
 * the pure step(), a whole batch of steps is committed in one SQLite transaction, and only then are
 * promises resolved, timers armed and effects started.
 */
export class Runtime {
  private readonly servers = new Map<string, Server>();
  private readonly bySid = new Map<number, Server>();
  private queue: Item[] = [];
  private flushScheduled = false;
  /** unschedule cancels the timeout or immediate a scheduled flush waits on, when a flush comes sooner. */
  private unschedule: (() => void) | undefined;
  /** observedSoon: an observation arrived and a flush is due once the current callback is done (see `enqueue`). */
  private observedSoon = false;
  /** held: events queue up but none is stepped until `resume` (the backlog of a restart waits while the hub gets ready to serve). */
  private held = false;
  private failure: Error | undefined;
  private closed = false;
  private readonly timers: TimerTable;
  private readonly effects: EffectRunner;
  private readonly listeners = new Set<(c: Committed) => void>();
  private readonly forgetListeners = new Set<(key: string) => void>();
  private readonly maxBatch: number;
  private readonly groupCommitMs: number;
  /** lastCommit is when the last commit ended and how long it took, in ms of performance.now(): I/O scheduling, never event time. */
  private lastCommit = { at: Number.NEGATIVE_INFINITY, took: 0 };
  /** counters for metrics. */
  readonly stats = { events: 0, commits: 0, effectErrors: 0, staleTimers: 0 };

  constructor(private readonly options: RuntimeOptions) {
    this.maxBatch = options.maxBatch ?? 2_000;
    this.groupCommitMs = options.groupCommitMs ?? 2;
    this.timers = new TimerTable(options.clock, (key, id, token, event) =>
      this.enqueue({ key, event, source: 'timer', timer: { id, token } }),
    );
    this.effects = new EffectRunner({
      pods: options.pods,
      clock: options.clock,
      timeoutMs: options.effectTimeoutMs ?? 10_000,
      concurrency: options.effectConcurrency ?? 32,
      ...(options.gate === undefined ? {} : { gate: options.gate }),
      onResult: (key, event, outboxId) => this.enqueue({ key, event, source: 'result', outboxId }),
      onError: (job, err) => {
        this.stats.effectErrors++;
        options.logger?.warn({ server: job.key, effect: job.kind, err }, 'pod effect failed');
      },
    });
  }

  /**
   * start restores every server, re-arms its timers and re-runs unfinished effects. A timer waits
   * what its wall-clock due time says is left, at most its own delay (the wall clock may have stepped
   * back while the hub was down) and at least nothing: overdue timers fire at once.
   */
  start(): void {
    const { store, clock, machine } = this.options;
    for (const row of this.upgraded(store.loadServers())) {
      // Snapshots are resolved when a server's next event comes, not here: restart time and memory stay flat in idle servers.
      const server: Server = {
        sid: row.sid,
        key: row.key,
        persisted: row.snapshot,
        snapshot: undefined,
        state: row.state,
        seq: row.seq,
        since: row.since,
      };
      this.servers.set(row.key, server);
      this.bySid.set(row.sid, server);
    }
    const [now, mono, legacyBound] = [clock.now(), clock.monotonic(), longestFixedDelay(machine)];
    for (const t of store.loadTimers()) {
      const server = this.bySid.get(t.sid);
      if (server === undefined) continue;
      this.timers.arm(server.key, t.id, mono + rearmWait(t.dueAt - now, t.delay ?? legacyBound), JSON.parse(t.event) as { type: string });
    }
    for (const o of store.loadOutbox()) {
      const server = this.bySid.get(o.sid);
      if (server === undefined) continue;
      this.effects.enqueue({ outboxId: o.id, key: server.key, kind: o.kind, params: JSON.parse(o.params) as EffectParams });
    }
    const orphans = store.orphans().length; // read (and so verified) at start, not first at the sweeper's turn
    this.options.logger?.info(
      { servers: this.servers.size, timers: this.timers.size, effects: this.effects.pending, orphans },
      'runtime restored',
    );
  }

  /**
   * upgraded carries snapshots written by an older MACHINE_VERSION to this one, each recorded as a
   * `machine.upgraded` event in one transaction; a version with no upgrade (or a newer one) refuses
   * the whole start with both versions named, before anything is written.
   */
  private upgraded(rows: ServerRow[]): ServerRow[] {
    const { machine, store, clock } = this.options;
    const now = clock.now();
    const records: StepRecord[] = [];
    const out = rows.map((row) => {
      if (row.machineVersion === MACHINE_VERSION) return row;
      const snapshot = persist(machine, restore(machine, upgrade(row.snapshot, row.machineVersion, MACHINE_VERSION, `server ${row.key}`)));
      const state = stateName(JSON.parse(snapshot) as { value: unknown });
      const event: UpgradedEvent = { type: UPGRADED, from: row.machineVersion, to: MACHINE_VERSION, snapshot };
      records.push({
        sid: row.sid,
        key: row.key,
        seq: row.seq + 1,
        ts: now,
        type: UPGRADED,
        payload: JSON.stringify(event),
        stateBefore: row.state,
        stateAfter: state,
        snapshot,
        since: row.since,
        timers: [],
        effects: [],
        orphans: [],
      });
      return { ...row, snapshot, state, seq: row.seq + 1, machineVersion: MACHINE_VERSION };
    });
    if (records.length > 0) {
      store.commit(records);
      this.options.logger?.info({ servers: records.length, to: MACHINE_VERSION }, 'upgraded snapshots to this machine version');
    }
    return out;
  }

  /**
   * hold lets events queue (overdue timers of a restart, answers of re-run effects) without stepping
   * any until `resume`: a start can finish what serving needs before the backlog takes the event loop.
   * Queued events keep their order; nothing is lost or reordered by holding.
   */
  hold(): void {
    this.held = true;
  }

  /** resume steps what queued while held, and every event after, as usual. */
  resume(): void {
    if (!this.held) return;
    this.held = false;
    if (this.queue.length > 0) this.schedule();
  }

  /** send appends a command; it resolves once the event is durable (the API's acknowledgement). */
  send(key: string, event: ServerEvent, attached?: unknown): Promise<ServerView> {
    return new Promise((resolve, reject) => this.enqueue({ key, event, source: 'command', attached, resolve, reject }));
  }

  /**
   * observe reports a pod fact for a server; facts about servers the runtime does not know are
   * dropped (the orphan sweeper finds such pods), and facts that change nothing are not logged.
   */
  observe(key: string, pod: PodFact, listedAt?: string): Promise<ServerView | undefined> {
    if (!this.servers.has(key)) return Promise.resolve(undefined);
    const event: ServerEvent = listedAt === undefined ? { type: 'pod.observed', pod } : { type: 'pod.observed', pod, listedAt };
    return new Promise((resolve, reject) => this.enqueue({ key, event, source: 'observation', resolve, reject }));
  }

  get(key: string): ServerView | undefined {
    const s = this.servers.get(key);
    return s === undefined ? undefined : this.view(s);
  }

  /** list gives a view of every server; their snapshots are resolved only if a caller reads them. */
  list(): ServerView[] {
    const views: ServerView[] = [];
    for (const s of this.servers.values()) views.push(this.view(s));
    return views;
  }

  /** size is how many servers the runtime knows, without building a view of each. */
  get size(): number {
    return this.servers.size;
  }

  keys(): IterableIterator<string> {
    return this.servers.keys();
  }

  deadlines(key: string): Array<{ id: string; dueAt: number }> {
    return this.timers.deadlines(key);
  }

  subscribe(listener: (c: Committed) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** onForget tells `listener` of each server the runtime forgets (retention dropped it). */
  onForget(listener: (key: string) => void): () => void {
    this.forgetListeners.add(listener);
    return () => this.forgetListeners.delete(listener);
  }

  /** idle tells whether nothing is under way for a server: no queued event, no timer, no effect. */
  idle(key: string): boolean {
    return (
      this.servers.has(key) &&
      this.timers.deadlines(key).length === 0 &&
      !this.effects.has(key) &&
      !this.queue.some((item) => item.key === key)
    );
  }

  /**
   * forget drops an idle server from memory once its rows are gone from the store (retention dropped
   * it), and tells the listeners; a server with anything under way is kept. A later command for its
   * key starts a new server.
   */
  forget(key: string): boolean {
    const server = this.servers.get(key);
    if (server === undefined || !this.idle(key)) return false;
    this.servers.delete(key);
    if (server.sid !== undefined) this.bySid.delete(server.sid);
    for (const listener of this.forgetListeners) listener(key);
    return true;
  }

  /** busy tells whether anything can still happen without time passing: queued events or startable effects. */
  get busy(): boolean {
    return this.queue.length > 0 || this.flushScheduled || this.effects.startable > 0;
  }

  get timerCount(): number {
    return this.timers.size;
  }

  overdueTimers(): number {
    return this.timers.overdue();
  }

  get pendingEffects(): number {
    return this.effects.pending;
  }

  /** effectsInFlight counts calls started and not yet settled (effects held by a shut gate are pending, not in flight). */
  get effectsInFlight(): number {
    return this.effects.inFlight;
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** close stops timers and effects; what is durable stays durable, unfinished effects re-run at next start. */
  close(): void {
    this.closed = true;
    this.timers.close();
    this.effects.close();
    const err = new RuntimeClosedError();
    for (const item of this.queue) item.reject?.(err);
    this.queue = [];
  }

  private enqueue(item: Item): void {
    if (this.closed || this.failure !== undefined) {
      item.reject?.(this.failure ?? new RuntimeClosedError());
      return;
    }
    this.queue.push(item);
    if (this.held) return;
    if (item.source === 'observation') this.flushSoon();
    else this.schedule();
  }

  /**
   * flushSoon commits an observation (a pod ready, a pod gone) in the next batch, as soon as the
   * callback that read it returns, rather than at the end of the event loop's turn or after the
   * group-commit window: while a burst keeps the loop busy, a turn lasts tens of milliseconds (every
   * answer, request and watch read of it runs first), and a server's readiness would wait that long
   * to be told. Observations come from one watch: a socket read hands over all the events it holds
   * at once, so this costs at most one more commit per read, never one per event. What is queued
   * before the observation goes in the same batch, in order.
   */
  private flushSoon(): void {
    if (this.observedSoon) return;
    this.observedSoon = true;
    queueMicrotask(() => {
      this.observedSoon = false;
      if (this.queue.length > 0) this.flush();
    });
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    // Group commit: under load, one fsync for the events of a few milliseconds instead of one for
    // each handful; an event after a quiet spell, or while commits are cheap, is committed at once.
    const wait = this.lastCommit.took >= SLOW_COMMIT_MS ? this.lastCommit.at + this.groupCommitMs - performance.now() : 0;
    if (wait <= 0) return this.scheduleNextTurn();
    this.flushScheduled = true;
    const timer = setTimeout(() => this.flush(), wait);
    this.unschedule = () => clearTimeout(timer);
  }

  private scheduleNextTurn(): void {
    this.flushScheduled = true;
    const immediate = setImmediate(() => this.flush());
    this.unschedule = () => clearImmediate(immediate);
  }

  private flush(): void {
    // A flush that comes sooner (an observation's) takes over a scheduled one: no empty flush follows it.
    this.unschedule?.();
    this.unschedule = undefined;
    this.flushScheduled = false;
    if (this.closed || this.failure !== undefined || this.held) return;
    const batch = this.queue.length > this.maxBatch ? this.queue.splice(0, this.maxBatch) : this.queue.splice(0);
    if (this.queue.length > 0) this.scheduleNextTurn();
    const now = this.options.clock.now();
    const mono = this.options.clock.monotonic();
    const records: Applied[] = [];
    const answered: Item[] = [];
    const drafts = new Map<string, Draft>();
    for (const item of batch) {
      const done = this.apply(item, now, drafts);
      if (done === undefined) answered.push(item);
      else records.push(done);
    }
    try {
      if (records.length > 0) {
        const started = performance.now();
        this.options.store.commit(records.map((r) => r.record));
        const ended = performance.now();
        this.lastCommit = { at: ended, took: ended - started };
      }
    } catch (err) {
      // Nothing of the batch reached memory: what get() and list() show is what the database holds.
      this.fail(err, batch);
      return;
    }
    this.stats.commits++;
    this.stats.events += records.length;
    for (const { record, item } of records) {
      const next = (drafts.get(item.key) as Draft).next;
      next.sid ??= record.sid; // the store gave a server new in this batch its sid
    }
    for (const draft of drafts.values()) this.swapIn(draft.next);
    for (const { item, result } of records) {
      if (item.timer !== undefined) this.timers.cancel(item.key, item.timer.id);
      for (const change of result.timers) {
        if ('arm' in change) this.timers.arm(item.key, change.arm.id, mono + change.arm.delay, change.arm.event);
        else this.timers.cancel(item.key, change.cancel);
      }
    }
    for (const { record, item, result, before } of records) {
      const server = this.servers.get(item.key) as Server;
      const ids = record.outboxIds ?? [];
      result.effects.forEach((effect, i) => {
        const outboxId = ids[i];
        if (outboxId !== undefined) this.effects.enqueue({ outboxId, key: server.key, kind: effect.kind, params: effect.params });
      });
      item.resolve?.({ key: server.key, state: result.state, snapshot: result.snapshot, seq: record.seq, since: record.since });
      const committed: Committed = {
        key: server.key,
        seq: record.seq,
        ts: now,
        event: item.event,
        before,
        after: result.state,
        snapshot: result.snapshot,
      };
      for (const listener of this.listeners) listener(committed);
      // Listeners have read it; an idle server keeps only its JSON (its last step of the batch decides).
      if (server.snapshot === result.snapshot && result.snapshot.hasTag('stable')) server.snapshot = undefined;
    }
    for (const item of answered) {
      const server = this.servers.get(item.key);
      if (server !== undefined) item.resolve?.(this.view(server));
    }
  }

  /**
   * apply folds one item into its server's draft for this batch (made on first use, so several
   * events of one server in a batch chain) and returns the row to commit, or undefined when the
   * item changes nothing (a stale timer, a duplicate observation). Memory is not touched.
   */
  private apply(item: Item, now: number, drafts: Map<string, Draft>): Applied | undefined {
    const { machine } = this.options;
    let draft = drafts.get(item.key);
    if (
      item.timer !== undefined &&
      (draft?.timersTouched.has(item.timer.id) === true || !this.timers.isArmed(item.key, item.timer.id, item.timer.token))
    ) {
      this.stats.staleTimers++;
      return undefined;
    }
    if (draft === undefined) {
      const known = this.servers.get(item.key);
      let next: Server;
      if (known !== undefined) next = { ...known };
      else if (item.source === 'command') {
        const snapshot = initialSnapshot(machine);
        next = { sid: undefined, key: item.key, snapshot, persisted: persist(machine, snapshot), state: 'stopped', seq: 0, since: now };
      } else return undefined;
      draft = { next, timersTouched: new Set() };
      drafts.set(item.key, draft);
    }
    const server = draft.next;
    const previous = server.snapshot ?? restore(machine, server.persisted);
    const result = step(machine, previous, item.event, server.persisted);
    if (!result.changed && item.source === 'observation') return undefined;
    const before = server.state;
    server.seq += 1;
    server.snapshot = result.snapshot;
    server.persisted = result.persisted;
    if (topLevel(result.state) !== topLevel(before)) server.since = now;
    server.state = result.state;
    // A firing of any of these timers still queued in this batch is stale: consumed, re-armed or cancelled.
    if (item.timer !== undefined) draft.timersTouched.add(item.timer.id);
    for (const change of result.timers) draft.timersTouched.add('arm' in change ? change.arm.id : change.cancel);
    const record: StepRecord = {
      sid: server.sid,
      key: item.key,
      seq: server.seq,
      ts: now,
      type: item.event.type,
      payload: JSON.stringify(item.event),
      stateBefore: before,
      stateAfter: result.state,
      snapshot: result.persisted,
      since: server.since,
      timers: result.timers,
      firedTimer: item.timer?.id,
      effects: result.effects,
      doneEffect: item.outboxId,
      orphans: result.orphans,
      alongside: this.alongside(item, before, result.state, previous, result.snapshot),
    };
    return { record, result, item, before };
  }

  private alongside(item: Item, before: string, after: string, previous: ServerSnapshot, next: ServerSnapshot): (() => void) | undefined {
    const hook = this.options.alongside;
    if (hook === undefined) return undefined;
    const transition: StepTransition = {
      key: item.key,
      event: item.event,
      before,
      after,
      queuedBefore: previous.context.startQueued,
      queuedAfter: next.context.startQueued,
    };
    return () => hook(transition, item.attached);
  }

  /** swapIn makes a committed draft the server's state in memory. */
  private swapIn(next: Server): void {
    const known = this.servers.get(next.key);
    if (known !== undefined) Object.assign(known, next);
    else if (next.sid !== undefined) {
      this.servers.set(next.key, next);
      this.bySid.set(next.sid, next);
    }
  }

  private fail(err: unknown, batch: Item[]): void {
    this.failure = new RuntimeFailedError(err);
    this.options.logger?.fatal({ err }, 'commit failed; the runtime stops');
    for (const item of batch) item.reject?.(this.failure);
    for (const item of this.queue) item.reject?.(this.failure);
    this.queue = [];
    this.timers.close();
    this.effects.close();
  }

  private view(s: Server): ServerView {
    return new LazyView(this.options.machine, s);
  }
}

/** LazyView tells of a server as it was when made; a snapshot not in memory is resolved from that moment's JSON on first read. */
class LazyView implements ServerView {
  readonly key: string;
  readonly state: string;
  readonly seq: number;
  readonly since: number;
  private resolved: ServerSnapshot | undefined;
  private readonly persisted: string;

  constructor(
    private readonly machine: ServerMachine,
    s: Server,
  ) {
    this.key = s.key;
    this.state = s.state;
    this.seq = s.seq;
    this.since = s.since;
    this.resolved = s.snapshot;
    this.persisted = s.persisted;
  }

  get snapshot(): ServerSnapshot {
    return (this.resolved ??= restore(this.machine, this.persisted));
  }
}

function topLevel(state: string): string {
  const dot = state.indexOf('.');
  return dot === -1 ? state : state.slice(0, dot);
}

import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { MACHINE_VERSION, configureServerMachine } from '../machines/server.machine.js';
import { parseTimerId } from '../machines/timer-id.js';
import { AgentPool, pooledApiClient } from './kube/agents.js';
import { rawPodLister } from './kube/pod-lister.js';
import { highestStamp, leaseFence } from './kube/fence.js';
import type { LeaseStatus, LeaseTimings } from './kube/lease.js';
import { LeaseElector } from './kube/lease.js';
import { KubeLeaseStore } from './kube/lease-store.js';
import type { PodTemplate } from './kube/manifest.js';
import { parseServerKey, podNameCandidates, serverKey } from './kube/names.js';
import { KubePodClient } from './kube/pod-client.js';
import { Reflector } from './kube/reflector.js';
import { ServerObjects } from './kube/server-objects.js';
import type { ServerSpec } from './kube/spec.js';
import { specDigest } from './kube/spec.js';
import type { StoredSpec } from './store/spec-store.js';
import { SpecStore } from './store/spec-store.js';
import type { ReflectorHealth } from './kube/reflector.js';
import { OrphanSweeper } from './kube/sweeper.js';
import type { Clock } from './core/clock.js';
import { onAbort } from './core/abort.js';
import { sleep, systemClock } from './core/clock.js';
import { waitUntil } from './core/wait.js';
import type { HistoryEntry, ReplayCheck } from './runtime/replay.js';
import { checkReplay, history } from './runtime/replay.js';
import type { HistoryCounts } from './runtime/retention.js';
import { DEFAULT_RETENTION, Retention } from './runtime/retention.js';
import { Runtime } from './runtime/runtime.js';
import type { Committed, ServerView } from './runtime/runtime.js';
import { databaseLock, openDatabase } from './store/database.js';
import { SqliteEventStore } from './store/event-store.js';
import { HistoryStore } from './store/history-store.js';
import { hubIdentity } from './store/lock.js';
import { ConfigError, show } from './core/schema.js';
import type { SpawnkeeperConfig, SpawnkeeperConfigInput } from './spawnkeeper-config.js';
import { parseSpawnkeeperConfig } from './spawnkeeper-config.js';

export type { SpawnkeeperConfig, SpawnkeeperConfigInput } from './spawnkeeper-config.js';
export { DEFAULT_CONFIG, SPAWNKEEPER_SCHEMA, parseSpawnkeeperConfig } from './spawnkeeper-config.js';

export interface SpawnkeeperOptions {
  /** db: a path to the SQLite file (created if missing) or an open database. */
  db: string | Database;
  /** cluster: a KubeConfig whose current context reaches the API server. */
  cluster: KubeConfig;
  /** config: any part of SpawnkeeperConfig; it is checked (a ConfigError names each bad path) and completed with the defaults. */
  config?: SpawnkeeperConfigInput;
  logger?: Logger;
  clock?: Clock;
}

export type TopState = 'stopped' | 'spawn_pending' | 'running' | 'stop_pending' | 'failed';

/** ServerStatus is one server as the API shows it. */
export interface ServerStatus {
  readonly key: string;
  readonly user: string;
  readonly name: string;
  readonly state: TopState;
  /** detail is the full state path, e.g. `spawn_pending.waiting`. */
  readonly detail: string;
  /** pending in JupyterHub's words: `spawn`, `stop` or null. */
  readonly pending: 'spawn' | 'stop' | null;
  readonly ready: boolean;
  readonly stable: boolean;
  readonly since: number;
  readonly reason: string | null;
  readonly startQueued: boolean;
  /** failure: why a failed spawn or pod will end (or ended) the server `failed`, while it is cleaned up; null otherwise. */
  readonly failure: string | null;
  /** deadline: when the current pending state's own timeout (start or stop) fires, in ms since the epoch, or null. */
  readonly deadline: number | null;
  readonly podName: string;
  /** podUid: the uid of the server's pod as last known, null while none is known to exist. */
  readonly podUid: string | null;
  readonly seq: number;
  /** ip and port: where the server is reached (the pod's address) while it runs, else null. */
  readonly ip: string | null;
  readonly port: number | null;
}

/**
 * SpawnRequest is what a start may ask for beyond the template: the spec (profile overrides, the
 * request's resources, port and args) and the environment, which reaches the pod only through a
 * Secret. Both are kept outside the event log, whose `server.start` carries a salted digest.
 */
export interface SpawnRequest {
  readonly spec: ServerSpec;
  readonly env?: Readonly<Record<string, string>> | undefined;
}

export interface SpawnkeeperHealth {
  readonly healthy: boolean;
  readonly reflector: ReflectorHealth;
  readonly servers: number;
  readonly timers: number;
  readonly overdueTimers: number;
  readonly pendingEffects: number;
  readonly orphans: number;
  /** lease: whether this hub holds the Lease and so acts on the cluster; effects wait while it does not. */
  readonly lease: LeaseStatus;
  /** failure: why the engine stopped recording commands (its database failed), or null while it records them. */
  readonly failure: string | null;
}

/** ServerTimer is one of a server's armed timeouts: its delay's name, the state that armed it, when it fires. */
export interface ServerTimer {
  /** delay names the delay, e.g. `startTimeout`. */
  readonly delay: string;
  /** state is the id of the state that armed it, e.g. `server.spawn_pending`. */
  readonly state: string;
  /** dueAt: when it fires, in ms since the epoch. */
  readonly dueAt: number;
}

/** SpawnkeeperStats count what the engine has done since it started. */
export interface SpawnkeeperStats {
  /** events committed to the event log. */
  readonly events: number;
  /** commits: SQLite transactions committed. */
  readonly commits: number;
  /** effectErrors: pod calls that failed. */
  readonly effectErrors: number;
  /** staleTimers: timers that fired after their state had moved on, and were dropped. */
  readonly staleTimers: number;
  /** watch: what the pod watches brought: applied events, bookmarks, malformed events skipped, lists whose resourceVersion went back. */
  readonly watch: { readonly events: number; readonly bookmarks: number; readonly skipped: number; readonly regressions: number };
}

/** HistoryStats: how large the event log is and what retention has done to keep it bounded. */
export interface HistoryStats {
  /** bytes and freeBytes: the database file's pages, all and free, read when asked. */
  readonly bytes: number;
  readonly freeBytes: number;
  /** counts: event and checkpoint rows as the last retention pass counted them; null before one. */
  readonly counts: HistoryCounts | null;
  /** lastPassMs: how long the last retention pass took; null before one. */
  readonly lastPassMs: number | null;
  /** totals: what retention did since the engine started: passes, events folded or dropped, checkpoints written, servers dropped, bytes reclaimed. */
  readonly totals: {
    readonly passes: number;
    readonly foldedEvents: number;
    readonly checkpoints: number;
    readonly droppedServers: number;
    readonly reclaimedBytes: number;
  };
}

/** Spawnkeeper is the embeddable lifecycle engine; `createSpawnkeeper` builds and starts one. */
export interface Spawnkeeper {
  /** start begins a spawn; `request` is its spec and environment, kept only if this start begins a spawn (not one already pending). */
  start(user: string, name?: string, request?: SpawnRequest): Promise<ServerStatus>;
  stop(user: string, name?: string): Promise<ServerStatus>;
  get(user: string, name?: string): ServerStatus | undefined;
  list(): ServerStatus[];
  /** waitFor resolves when the server's status satisfies `until` (default: stable), or rejects after `timeoutMs`. */
  waitFor(user: string, name: string, until?: (s: ServerStatus) => boolean, timeoutMs?: number): Promise<ServerStatus>;
  /** subscribe is told of every committed step, with the server's status after it. */
  subscribe(listener: (status: ServerStatus, step: Committed) => void): () => void;
  /** onForget is told the key of each server retention dropped (a retired server, its history gone). */
  onForget(listener: (key: string) => void): () => void;
  history(user: string, name?: string): HistoryEntry[];
  /** replayCheck folds every server's log and compares it with its stored snapshot. */
  replayCheck(): ReplayCheck[];
  /** timers are the server's armed timeouts, soonest first. */
  timers(user: string, name?: string): ServerTimer[];
  health(): SpawnkeeperHealth;
  stats(): SpawnkeeperStats;
  /** historyStats: the event log's size and what retention did. */
  historyStats(): HistoryStats;
  /** retireWhen tells retention which servers are retired (their owner is gone): their history is dropped once all of it is older than the age. */
  retireWhen(retired: (user: string, name: string) => boolean): void;
  readonly config: SpawnkeeperConfig;
  close(): Promise<void>;
}

/**
 * SpawnkeeperInternals are the parts behind the facade. They are not part of the package's API (not
 * exported from its index): the hub's inspector and dashboard read snapshots and timers through them,
 * and tests reach into them.
 */
export interface SpawnkeeperInternals {
  readonly runtime: Runtime;
  readonly store: SqliteEventStore;
  readonly reflector: Reflector;
  readonly sweeper: OrphanSweeper;
  readonly lease: LeaseElector;
  /** retention keeps the event log bounded; `retireWhen` tells it which servers are retired. */
  readonly retention: Retention;
  readonly historyStore: HistoryStore;
}

const INTERNALS = new WeakMap<Spawnkeeper, SpawnkeeperInternals>();

/** internals are the parts of an engine made by createSpawnkeeper. */
export function internals(sk: Spawnkeeper): SpawnkeeperInternals {
  const parts = INTERNALS.get(sk);
  if (parts === undefined) throw new TypeError('not an engine made by createSpawnkeeper');
  return parts;
}

/** WaitTimeoutError: `waitFor` gave up: the server did not reach the awaited state in time. */
export class WaitTimeoutError extends Error {
  constructor(
    readonly key: string,
    readonly timeoutMs: number,
    /** detail is the state the server was in when the wait ended. */
    readonly detail: string,
  ) {
    super(`${key} did not reach the awaited state within ${timeoutMs} ms (it is ${detail})`);
    this.name = 'WaitTimeoutError';
  }
}

/** FIRST_LEASE_WAIT_MS bounds how long createSpawnkeeper waits for the first answer about the Lease. */
const FIRST_LEASE_WAIT_MS = 2_000;

/** leaseName is the Lease of an instance; it must be a DNS subdomain, which an instance label need not be. */
function leaseName(config: SpawnkeeperConfig): string {
  const name = config.lease.name ?? `spawnkeeper-${config.instance}`;
  if (name.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)) {
    throw new ConfigError(
      `lease.name: the lease name ${JSON.stringify(name)} must be a lowercase DNS subdomain (letters, digits, '-', '.'); set lease.name when the instance is not one`,
      [{ path: 'lease.name', message: 'must be a lowercase DNS subdomain' }],
    );
  }
  return name;
}

/** checkOptions refuses a db or cluster of the wrong kind (from JavaScript, or through a cast) with a ConfigError naming it. */
function checkOptions(options: SpawnkeeperOptions): void {
  const problem = (path: string, what: string, got: unknown): never => {
    const message = `expected ${what}, got ${show(got)}`;
    throw new ConfigError(`${path}: ${message}`, [{ path, message }]);
  };
  const db: unknown = options.db;
  if (typeof db === 'string' ? db === '' : typeof (db as { prepare?: unknown } | null)?.prepare !== 'function')
    problem('db', 'a file path or an open better-sqlite3 database', db);
  if (typeof (options.cluster as { makeApiClient?: unknown } | undefined)?.makeApiClient !== 'function')
    problem('cluster', 'a KubeConfig', options.cluster);
}

/** kubeConfigFor makes a KubeConfig for a plain-HTTP API server such as the simulator. */
export function kubeConfigFor(url: string, namespace = 'default'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'spawnkeeper', server: url, skipTLSVerify: true }],
    users: [{ name: 'spawnkeeper' }],
    contexts: [{ name: 'spawnkeeper', cluster: 'spawnkeeper', user: 'spawnkeeper', namespace }],
    currentContext: 'spawnkeeper',
  });
  return kc;
}

/**
 * createSpawnkeeper opens the database (refusing a bad file, or one another hub holds), restores every
 * server, re-arms timers, queues unfinished effects, and starts the Lease elector, the reflector and
 * the orphan sweeper; effects and sweeps run only while the Lease is held. The one wiring point.
 */
export async function createSpawnkeeper(options: SpawnkeeperOptions): Promise<Spawnkeeper> {
  // Options are checked before the database is opened: a bad one must not leave a locked file behind.
  checkOptions(options);
  const config = parseSpawnkeeperConfig(options.config);
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const machine = configureServerMachine(config.delays);
  const timings: LeaseTimings = config.lease;
  const name = leaseName(config);
  const db = typeof options.db === 'string' ? openDatabase(options.db, { durability: config.durability, now: clock.now() }) : options.db;
  const store = new SqliteEventStore(db, { machineVersion: MACHINE_VERSION });
  const specs = new SpecStore(db);
  /** ports: the port of each active server whose spec sets one, so a status needs no read. */
  const ports = new Map<string, number>();
  const portOf = (spec: string): number | undefined => (JSON.parse(spec) as ServerSpec).overrides.port;
  for (const row of specs.all()) {
    const port = portOf(row.spec);
    if (port !== undefined) ports.set(row.key, port);
  }
  // The schema checked the Kubernetes-shaped fields (volumes, tolerations …) with kube/spec.ts's checks, which type them.
  const template = config.template as PodTemplate;
  // One pool of kept-alive connections for every call of the hub (client-node alone opens one per call).
  const agents = new AgentPool();
  const api = pooledApiClient(options.cluster, CoreV1Api, agents);
  const lease = new LeaseElector({
    ...timings,
    store: new KubeLeaseStore(pooledApiClient(options.cluster, CoordinationV1Api, agents), config.namespace, name),
    identity: config.lease.identity ?? hubIdentity(databaseLock(db)),
    clock,
    logger,
    floor: () => highestStamp(api, config.namespace, config.instance),
  });
  const objects = new ServerObjects(api, config.namespace, config.instance);
  const pods = new KubePodClient(api, {
    namespace: config.namespace,
    instance: config.instance,
    template,
    deleteGraceSeconds: config.deleteGraceSeconds,
    fence: leaseFence(lease),
    specs,
    objects,
  });
  const runtime = new Runtime({
    store,
    machine,
    pods,
    clock,
    logger,
    gate: lease,
    effectConcurrency: config.effectConcurrency,
    effectTimeoutMs: config.delays.requestTimeout,
    // A spawn's spec is written with the start that begins it and removed with the step that ends the
    // server stopped or failed, in the same transactions: never a spec without its start, nor one left over.
    alongside(step, attached) {
      const top = step.after.split('.')[0];
      if (top === 'stopped' || top === 'failed') {
        specs.clear(step.key);
        ports.delete(step.key);
        return;
      }
      if (step.event.type !== 'server.start') return;
      const began = (top === 'spawn_pending' && !step.before.startsWith('spawn_pending')) || (step.queuedAfter && !step.queuedBefore);
      if (!began) return;
      ports.delete(step.key);
      if (attached === undefined) return specs.clear(step.key);
      const row = attached as StoredSpec;
      specs.put(step.key, row, clock.now());
      const port = portOf(row.spec);
      if (port !== undefined) ports.set(step.key, port);
    },
  });
  // What the restore sets going (overdue timers, answers of re-run effects) waits until the hub has its first answer about the Lease.
  runtime.hold();
  runtime.start();
  const reflector = new Reflector({
    kc: options.cluster,
    list: rawPodLister(options.cluster, config.namespace, agents),
    namespace: config.namespace,
    instance: config.instance,
    sink: runtime,
    clock,
    logger,
    ...config.reflector,
  });
  const sweeper = new OrphanSweeper({
    store,
    pods,
    secrets: objects,
    ourPods: () => reflector.cache.values(),
    stateOf: (key) => runtime.get(key)?.state,
    clock,
    logger,
    gate: lease,
    callTimeoutMs: config.delays.requestTimeout,
    ...config.sweeper,
  });
  const historyStore = new HistoryStore(db);
  const retention = new Retention({
    store: historyStore,
    runtime,
    machine,
    clock,
    logger,
    policy: { ...DEFAULT_RETENTION, ...config.retention },
  });
  const abort = new AbortController();
  // The sweeper decides nothing before the first list; a close before that must not wait for one.
  const synced = new Promise<boolean>((resolve) => {
    reflector.synced().then(
      () => resolve(true),
      () => resolve(false),
    );
    onAbort(abort.signal, () => resolve(false));
  });
  const electing = lease.start(abort.signal);
  // Know whether this hub may act before serving (a hub with a reachable API reports healthy from its
  // first answer), but never wait long for an API that is away: the elector keeps trying.
  const waited = new AbortController();
  await Promise.race([lease.firstAttempt(), sleep(clock, FIRST_LEASE_WAIT_MS, waited.signal)]);
  waited.abort();
  // The backlog of the restore and the first relist start once that answer is in, not beside it: the
  // steps they commit (overdue timers; every server whose pod went while the hub was down) would hold
  // the Lease's answer, and so serving, behind them.
  runtime.resume();
  const runnables = [
    electing,
    reflector.start(abort.signal),
    synced.then((ok) => (ok ? sweeper.start(abort.signal) : undefined)),
    retention.start(abort.signal),
  ];

  const podNames = new Map<string, readonly [string, ...string[]]>();
  /** actualPodName is the name of the server's pod as listed: a pod made under the earlier naming scheme keeps its name. */
  const actualPodName = (key: string): string => {
    let names = podNames.get(key);
    if (names === undefined) podNames.set(key, (names = podNameCandidates(key, template.podNamePrefix)));
    return names.find((n) => reflector.cache.get(n)?.key === key) ?? names[0];
  };
  /** timersOf reads the runtime's timer ids into names for people. */
  const timersOf = (key: string): ServerTimer[] =>
    runtime
      .deadlines(key)
      .map(({ id, dueAt }) => {
        const timer = parseTimerId(id);
        return { delay: timer?.delay ?? id, state: timer?.state ?? '', dueAt };
      })
      .sort((a, b) => a.dueAt - b.dueAt);
  /** address is where a running server is reached: its pod's IP and the spawn's port. */
  const address = (view: ServerView, state: TopState): { ip: string | null; port: number | null } => {
    const pod = state === 'running' ? view.snapshot.context.pod : null;
    if (pod === null || !pod.exists || pod.ip === undefined) return { ip: null, port: null };
    return { ip: pod.ip, port: ports.get(view.key) ?? template.port };
  };
  const status = (view: ServerView): ServerStatus => {
    const { user, name } = parseServerKey(view.key);
    const { pod } = view.snapshot.context;
    const state = view.state.split('.')[0] as TopState;
    // The deadline people care about is the pending state's own (start or stop timeout), not the next poll.
    const timers = timersOf(view.key);
    const pendingNode = view.state.startsWith('running.unready') ? 'running.unready' : state;
    const own = timers.filter((t) => t.state === `${machine.id}.${pendingNode}`);
    const deadlines = (own.length > 0 ? own : timers).map((t) => t.dueAt);
    return {
      key: view.key,
      user,
      name,
      state,
      detail: view.state,
      pending: state === 'spawn_pending' ? 'spawn' : state === 'stop_pending' ? 'stop' : null,
      // A running server whose pod stopped being ready (running.unready) is running, but not ready.
      ready: view.snapshot.hasTag('ready'),
      stable: view.snapshot.hasTag('stable'),
      since: view.since,
      reason: view.snapshot.context.reason,
      startQueued: view.snapshot.context.startQueued,
      failure: view.snapshot.context.failure,
      deadline: deadlines.length === 0 ? null : Math.min(...deadlines),
      podName: actualPodName(view.key),
      podUid: pod?.exists === true ? pod.uid : null,
      seq: view.seq,
      ...address(view, state),
    };
  };
  const byKey = (key: string) => {
    const view = runtime.get(key);
    return view === undefined ? undefined : status(view);
  };

  const sk: Spawnkeeper = {
    config,
    async start(user, name = '', request) {
      const key = serverKey(user, name);
      if (request === undefined) return status(await runtime.send(key, { type: 'server.start' }));
      const env = request.env === undefined || Object.keys(request.env).length === 0 ? null : JSON.stringify(request.env);
      const spec = JSON.stringify(request.spec);
      const row: StoredSpec = { spec, env, digest: specDigest(spec, env) };
      return status(await runtime.send(key, { type: 'server.start', spec: row.digest }, row));
    },
    async stop(user, name = '') {
      return status(await runtime.send(serverKey(user, name), { type: 'server.stop' }));
    },
    get: (user, name = '') => byKey(serverKey(user, name)),
    list: () => runtime.list().map(status),
    timers: (user, name = '') => timersOf(serverKey(user, name)),
    async waitFor(user, name, until = (s) => s.stable, timeoutMs = 60_000) {
      const key = serverKey(user, name);
      const reached = await waitUntil({
        clock,
        read: () => byKey(key),
        subscribe: (changed) => runtime.subscribe((c) => c.key === key && changed()),
        until,
        ms: timeoutMs,
      });
      if (reached === undefined) throw new WaitTimeoutError(key, timeoutMs, byKey(key)?.detail ?? 'unknown');
      return reached;
    },
    subscribe(listener) {
      return runtime.subscribe((c) => {
        const s = byKey(c.key);
        if (s !== undefined) listener(s, c);
      });
    },
    onForget: (listener) => runtime.onForget(listener),
    history: (user, name = '') => history(store, serverKey(user, name)),
    replayCheck: () => store.loadServers().map((row) => checkReplay(machine, store, row.key, row.snapshot)),
    health() {
      const r = reflector.health();
      const l = lease.status();
      return {
        healthy: r.healthy && runtime.failed === undefined && l.acting,
        reflector: r,
        lease: l,
        servers: runtime.size,
        timers: runtime.timerCount,
        overdueTimers: runtime.overdueTimers(),
        pendingEffects: runtime.pendingEffects,
        orphans: store.orphans().length,
        failure: runtime.failed?.message ?? null,
      };
    },
    stats() {
      const { events, commits, effectErrors, staleTimers } = runtime.stats;
      return { events, commits, effectErrors, staleTimers, watch: { ...reflector.stats } };
    },
    historyStats() {
      const { bytes, freeBytes } = historyStore.size();
      const { counts, last, totals } = retention;
      return { bytes, freeBytes, counts: counts ?? null, lastPassMs: last?.ms ?? null, totals: { ...totals } };
    },
    retireWhen(retired) {
      retention.retired = (key) => {
        const { user, name } = parseServerKey(key);
        return retired(user, name);
      };
    },
    async close() {
      abort.abort();
      await Promise.allSettled(runnables);
      runtime.close();
      // Only once no effect can start is the Lease given up, so a successor need not wait for it to expire.
      await lease.release();
      agents.close();
      if (typeof options.db === 'string') db.close();
    },
  };
  INTERNALS.set(sk, { runtime, store, reflector, sweeper, lease, retention, historyStore });
  return sk;
}

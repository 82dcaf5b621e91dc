import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Spawnkeeper } from '../../spawnkeeper.js';
import type { ServerIndex, Transition } from '../server-index.js';
import { TOP_STATES } from '../server-index.js';

/** SPAWN_BUCKETS are JupyterHub's buckets for server_spawn_duration_seconds, so dashboards carry over. */
export const SPAWN_BUCKETS = [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 180, 300, 600];

/** MetricsSources are read at scrape time, so gauges are never stale. */
export interface MetricsSources {
  sk: Spawnkeeper;
  index: ServerIndex;
  totalUsers: () => number;
}

/**
 * HubMetrics owns one prom-client registry (never the global one, so two hubs in one process do not
 * collide) with JupyterHub's metric names and spawnkeeper's own; gauges are read at scrape time.
 */
export class HubMetrics {
  readonly registry = new Registry();
  readonly spawnDuration: Histogram<'status' | 'reason'>;
  readonly stopDuration: Histogram<'status'>;
  readonly requestDuration: Histogram<'method' | 'handler' | 'code'>;
  private readonly off: () => void;

  constructor(sources: MetricsSources) {
    const { sk, index } = sources;
    const registers = [this.registry];
    this.spawnDuration = new Histogram({
      name: 'jupyterhub_server_spawn_duration_seconds',
      help: 'time taken for server spawning operation',
      labelNames: ['status', 'reason'],
      buckets: SPAWN_BUCKETS,
      registers,
    });
    this.stopDuration = new Histogram({
      name: 'jupyterhub_server_stop_seconds',
      help: 'time taken for server stopping operation',
      labelNames: ['status'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'jupyterhub_request_duration_seconds',
      help: 'request duration for all HTTP requests',
      labelNames: ['method', 'handler', 'code'],
      registers,
    });
    for (const status of ['success', 'failure']) {
      this.spawnDuration.zero({ status, reason: '' });
      this.stopDuration.zero({ status });
    }
    new Gauge({
      name: 'jupyterhub_running_servers',
      help: 'the number of user servers currently running',
      registers,
      collect() {
        this.set(index.count('running'));
      },
    });
    new Gauge({
      name: 'jupyterhub_total_users',
      help: 'total number of users',
      registers,
      collect() {
        this.set(sources.totalUsers());
      },
    });
    new Gauge({
      name: 'spawnkeeper_servers',
      help: 'servers per state',
      labelNames: ['state'],
      registers,
      collect() {
        for (const state of TOP_STATES) this.set({ state }, index.count(state));
      },
    });
    new Gauge({
      name: 'spawnkeeper_reflector_healthy',
      help: '1 while the pod reflector is healthy',
      registers,
      collect() {
        this.set(sk.health().reflector.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: 'spawnkeeper_reflector_seconds_since_success',
      help: 'seconds since the reflector last listed or heard a watch event',
      registers,
      collect() {
        const ms = sk.health().reflector.sinceLastSuccessMs;
        this.set(Number.isFinite(ms) ? ms / 1000 : -1);
      },
    });
    monotonic(
      'spawnkeeper_reflector_restarts_total',
      'list or watch restarts after errors, silences and 410s',
      () => sk.health().reflector.restarts,
      registers,
    );
    monotonic(
      'spawnkeeper_resource_version_regressions_total',
      'lists whose resourceVersion was below the highest seen: a new cluster epoch (etcd restored, a rebuilt cluster)',
      () => sk.stats().watch.regressions,
      registers,
    );
    monotonic('spawnkeeper_events_appended_total', 'events committed to the event log', () => sk.stats().events, registers);
    monotonic('spawnkeeper_commits_total', 'SQLite transactions committed by the runtime', () => sk.stats().commits, registers);
    monotonic(
      'spawnkeeper_effect_errors_total',
      'pod effects (create, read, delete) that failed and were retried or verified',
      () => sk.stats().effectErrors,
      registers,
    );
    new Gauge({
      name: 'spawnkeeper_lease_acting',
      help: '1 while this hub holds the Lease and acts on the cluster; 0 while its effects wait',
      registers,
      collect() {
        this.set(sk.health().lease.acting ? 1 : 0);
      },
    });
    new Gauge({
      name: 'spawnkeeper_lease_transitions',
      help: "the Lease's leaseTransitions of this hub's tenure (the fencing stamp on the pods it creates), -1 before any",
      registers,
      collect() {
        this.set(sk.health().lease.transitions ?? -1);
      },
    });
    monotonic(
      'spawnkeeper_lease_losses_total',
      'times this hub stopped acting because it could not renew the Lease in time',
      () => sk.health().lease.losses,
      registers,
    );
    new Gauge({
      name: 'spawnkeeper_timers_armed',
      help: 'durable timers armed',
      registers,
      collect() {
        this.set(sk.health().timers);
      },
    });
    new Gauge({
      name: 'spawnkeeper_timers_overdue',
      help: 'durable timers past their due time',
      registers,
      collect() {
        this.set(sk.health().overdueTimers);
      },
    });
    new Gauge({
      name: 'spawnkeeper_effects_pending',
      help: 'pod effects queued or in flight',
      registers,
      collect() {
        this.set(sk.health().pendingEffects);
      },
    });
    new Gauge({
      name: 'spawnkeeper_orphan_pods',
      help: 'pods handed to the orphan sweeper',
      registers,
      collect() {
        this.set(sk.health().orphans);
      },
    });
    historyMetrics(sk, registers);
    collectDefaultMetrics({ register: this.registry });
    this.off = index.onTransition((t) => this.observe(t));
  }

  /** observe turns a transition into the spawn and stop histograms, as JupyterHub records them. */
  observe(t: Transition): void {
    if (t.startedAt === undefined) return;
    const seconds = Math.max(0, (t.step.ts - t.startedAt) / 1000);
    if (t.before === 'spawn_pending') {
      if (t.after === 'running') this.spawnDuration.observe({ status: 'success', reason: '' }, seconds);
      else {
        const failure = t.step.snapshot.context.failure;
        this.spawnDuration.observe({ status: 'failure', reason: failure === null ? 'cancelled' : 'error' }, seconds);
      }
    } else if (t.before === 'stop_pending') {
      const gaveUp = t.step.before.startsWith('stop_pending.giving_up');
      this.stopDuration.observe({ status: gaveUp && t.step.snapshot.context.pod?.exists !== false ? 'failure' : 'success' }, seconds);
    }
  }

  close(): void {
    this.off();
    this.registry.clear();
  }
}

/** monotonic exposes a cumulative number read from elsewhere as a counter, adding the difference at each scrape. */
function monotonic(name: string, help: string, read: () => number, registers: Registry[]): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers,
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = Math.max(seen, now);
    },
  });
}

/** historyMetrics tell how big the event log is and what retention did: size at scrape time, rows as the last pass counted them. */
function historyMetrics(sk: Spawnkeeper, registers: Registry[]): void {
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  gauge('spawnkeeper_db_bytes', 'size of the database file in pages used and free (page_count × page_size)', () => sk.historyStats().bytes);
  gauge(
    'spawnkeeper_db_free_bytes',
    'pages free inside the database file, reused by new rows or reclaimed by retention',
    () => sk.historyStats().freeBytes,
  );
  gauge(
    'spawnkeeper_history_events',
    'rows in the event log as the last retention pass counted them (-1 before one)',
    () => sk.historyStats().counts?.events ?? -1,
  );
  gauge(
    'spawnkeeper_history_checkpoints',
    'checkpoint rows (folds and machine upgrades) as the last retention pass counted them (-1 before one)',
    () => sk.historyStats().counts?.checkpoints ?? -1,
  );
  gauge('spawnkeeper_retention_last_pass_seconds', 'how long the last retention pass took (-1 before one)', () => {
    const ms = sk.historyStats().lastPassMs;
    return ms === null ? -1 : ms / 1000;
  });
  monotonic(
    'spawnkeeper_retention_events_removed_total',
    'event rows retention removed (folded or dropped)',
    () => sk.historyStats().totals.foldedEvents,
    registers,
  );
  monotonic(
    'spawnkeeper_retention_checkpoints_total',
    'checkpoints retention wrote',
    () => sk.historyStats().totals.checkpoints,
    registers,
  );
  monotonic(
    'spawnkeeper_retention_servers_dropped_total',
    'servers of deleted users dropped after the retention age',
    () => sk.historyStats().totals.droppedServers,
    registers,
  );
}

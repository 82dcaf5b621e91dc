// Scenario 7: a day at 100,000 launches in virtual time, with and without retention, and commands during a retention pass.
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ServerMachine } from '../machines/server.machine.js';
import { MACHINE_VERSION, configureServerMachine } from '../machines/server.machine.js';
import { ManualClock } from '../src/core/clock.js';
import { Retention } from '../src/runtime/retention.js';
import type { RetentionPolicy } from '../src/runtime/retention.js';
import { Runtime } from '../src/runtime/runtime.js';
import { mulberry32 } from '../src/sim/cluster/prng.js';
import type { Random } from '../src/sim/cluster/prng.js';
import { openDatabase } from '../src/store/database.js';
import { SqliteEventStore } from '../src/store/event-store.js';
import { HistoryStore } from '../src/store/history-store.js';
import type { BenchOptions, Scenario } from './scenario.js';
import { metric, percentile } from './stats.js';
import type { ScenarioResult } from './stats.js';
import { SoakCluster, gaussian } from './soak-cluster.js';
import { benchDir, drained } from './support.js';
import type { BenchDir } from './support.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** TICK is the virtual time the soak moves at once; the machine's delays (5 s polls, 10 s timeouts) are far longer. */
const TICK = 250;

/** The reflector's defaults (src/kube/reflector.ts): a relist every 60 s, each watch ended by the server after 60 s. */
const RESYNC_S = 60;
const WATCH_TIMEOUT_S = 60;

/** KubeSpawner's reflector defaults (kubespawner/reflector.py): a watch restarts after 30 s while events flow, each restart a new LIST and WATCH. */
const KUBESPAWNER_RESTART_S = 30;
/** KubeSpawner runs two reflectors by default: pods, and events (events_enabled). */
const KUBESPAWNER_REFLECTORS = 2;

interface Workload {
  readonly launches: number;
  readonly dayMs: number;
  /** returning: the share of launches by a pool of returning users; the rest are one-off users, deleted once stopped (mybinder's pattern). */
  readonly returning: number;
  readonly pool: number;
}

interface DayResult {
  readonly launches: number;
  readonly events: number;
  readonly bytes: number;
  readonly rows: number;
  readonly servers: number;
  readonly requests: { create: number; get: number; delete: number };
  readonly wallMs: number;
  readonly passes: number;
  readonly retentionMs: number;
}

/**
 * day runs the workload through the real Runtime on a real SQLite file, in virtual time: launches
 * arrive as a Poisson stream, sessions last a log-normal time (median 10 min, at most 2 h, as a
 * culler would end them), pods follow SoakCluster's kubelet, and every pod change reaches the runtime
 * as the reflector's watch would deliver it. With a policy, retention runs every virtual hour.
 */
async function day(dir: BenchDir, name: string, machine: ServerMachine, w: Workload, policy?: RetentionPolicy): Promise<DayResult> {
  const file = dir.file(`${name}.db`);
  const db = openDatabase(file, { durability: 'normal' });
  const clock = new ManualClock();
  const random = mulberry32(17);
  const store = new SqliteEventStore(db, { machineVersion: MACHINE_VERSION });
  // The watch is called only once pods exist, after the runtime below is made.
  const cluster = new SoakCluster(
    () => clock.monotonic(),
    random,
    (key, fact) => void runtime.observe(key, fact).catch(() => undefined),
  );
  const runtime = new Runtime({ store, machine, pods: cluster, clock, groupCommitMs: 0 });
  runtime.start();
  const retention = policy === undefined ? undefined : new Retention({ store: new HistoryStore(db), runtime, machine, clock, policy });
  if (retention !== undefined) retention.retired = (key) => key.startsWith('u'); // one-off users are deleted once stopped
  const started = performance.now();
  const ends: Array<{ at: number; key: string }> = [];
  const active = new Set<string>();
  const meanGap = w.dayMs / w.launches;
  let nextArrival = exponential(random, meanGap);
  let launched = 0;
  let oneOff = 0;
  let retentionMs = 0;
  let nextPass = HOUR;
  const send = (key: string, type: 'server.start' | 'server.stop') => void runtime.send(key, { type }).catch(() => undefined);
  for (let t = 0; t < w.dayMs; t += TICK) {
    clock.advance(TICK);
    cluster.advance();
    const now = clock.monotonic();
    while (nextArrival <= now && launched < w.launches) {
      nextArrival += exponential(random, meanGap);
      launched++;
      let key = random() < w.returning ? `r${Math.floor(random() * w.pool)}/` : `u${oneOff++}/`;
      if (active.has(key)) key = `u${oneOff++}/`;
      active.add(key);
      send(key, 'server.start');
      const session = Math.min(2 * HOUR, 10 * 60_000 * Math.exp(gaussian(random)));
      ends.push({ at: now + session, key });
    }
    if (ends.length > 0) {
      ends.sort((a, b) => b.at - a.at);
      while (ends.length > 0 && (ends.at(-1) as { at: number }).at <= now) {
        const end = ends.pop() as { at: number; key: string };
        active.delete(end.key);
        send(end.key, 'server.stop');
      }
    }
    await drained(runtime);
    if (retention !== undefined && now >= nextPass) {
      nextPass += HOUR;
      const t0 = performance.now();
      await retention.pass();
      retentionMs += performance.now() - t0;
    }
  }
  // The day's last sessions end, so every server that will stop has stopped.
  for (const end of ends) send(end.key, 'server.stop');
  for (let i = 0; i < 120_000 / TICK; i++) {
    clock.advance(TICK);
    cluster.advance();
    await drained(runtime);
  }
  const wallMs = performance.now() - started;
  runtime.close();
  const rows = (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  const servers = (db.prepare('SELECT COUNT(*) AS n FROM servers').get() as { n: number }).n;
  const events = runtime.stats.events;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return {
    launches: launched,
    events,
    bytes: statSync(file).size,
    rows,
    servers,
    requests: { ...cluster.requests },
    wallMs,
    passes: retention?.totals.passes ?? 0,
    retentionMs,
  };
}

/**
 * latencyDuringRetention opens the day's database without retention as a hub would after a long
 * time (two days later, synchronous=FULL), and sends a steady stream of commands, one every 5 ms,
 * first with nothing else running and then during one retention pass over the whole day; each
 * command's acknowledgement latency (send → committed) is recorded.
 */
async function latencyDuringRetention(
  file: string,
  machine: ServerMachine,
  policy: RetentionPolicy,
): Promise<{
  idle: number[];
  during: number[];
  pass: { ms: number; longestSliceMs: number; longestSliceCpuMs: number; folded: number; dropped: number };
}> {
  const db = openDatabase(file, { durability: 'full', verify: 'none' });
  const clock = new ManualClock(1_700_000_000_000 + 3 * DAY);
  const store = new SqliteEventStore(db, { machineVersion: MACHINE_VERSION });
  const cluster = new SoakCluster(
    () => clock.monotonic(),
    mulberry32(7),
    () => undefined,
  );
  const runtime = new Runtime({ store, machine, pods: cluster, clock });
  runtime.start();
  const retention = new Retention({ store: new HistoryStore(db), runtime, machine, clock, policy });
  retention.retired = (key) => key.startsWith('u');
  let n = 0;
  const stream = async (until: () => boolean): Promise<number[]> => {
    const latencies: Array<Promise<number>> = [];
    while (!until()) {
      const t0 = performance.now();
      latencies.push(runtime.send(`lat${n++}/`, { type: 'server.start' }).then(() => performance.now() - t0));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return Promise.all(latencies);
  };
  const quiet = async () => {
    const until = performance.now() + 2_000;
    return stream(() => performance.now() > until);
  };
  // Quiet windows before and after the pass: the machine's own noise (fsync, other work) is the baseline.
  const before = await quiet();
  // The pass over a whole day takes minutes here: the commands of its first 20 s are measured, then it is stopped.
  let done = false;
  const abort = new AbortController();
  const passing = retention.pass(abort.signal).finally(() => (done = true));
  const stopAt = performance.now() + 20_000;
  const during = await stream(() => done || performance.now() > stopAt);
  abort.abort();
  const summary = await passing;
  const idle = [...before, ...(await quiet())];
  await drained(runtime);
  runtime.close();
  db.close();
  return {
    idle,
    during,
    pass: {
      ms: summary.ms,
      longestSliceMs: summary.longestSliceMs,
      longestSliceCpuMs: summary.longestSliceCpuMs,
      folded: summary.foldedEvents,
      dropped: summary.droppedServers,
    },
  };
}

function exponential(random: Random, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

export const soak: Scenario = {
  id: 'soak',
  async run(options: BenchOptions): Promise<ScenarioResult> {
    const w: Workload = options.quick
      ? { launches: 5_000, dayMs: DAY / 20, returning: 0.2, pool: 100 }
      : { launches: 100_000, dayMs: DAY, returning: 0.2, pool: 2_000 };
    // The default age (30 days) cannot act within one simulated day: the soak keeps 6 hours, in scale with its day.
    const policy: RetentionPolicy = { maxAgeMs: (6 * HOUR * w.dayMs) / DAY, lifecycles: 10, intervalMs: HOUR };
    const machine = configureServerMachine();
    const dir = benchDir('soak');
    try {
      options.log('  soak: the day without retention');
      const plain = await day(dir, 'plain', machine, w);
      options.log(`  soak: ${plain.events} events in ${(plain.wallMs / 1000).toFixed(0)} s; the day with retention`);
      const kept = await day(dir, 'kept', machine, w, policy);
      options.log(`  soak: ${kept.rows} rows kept; commands during a retention pass`);
      const lat = await latencyDuringRetention(dir.file('plain.db'), machine, policy);
      const perLaunch = (n: number) => n / plain.launches;
      const cycles = plain.launches === 0 ? 0 : w.dayMs / 1000;
      const ours = { list: cycles / RESYNC_S + 1, watch: cycles / WATCH_TIMEOUT_S };
      const theirs = {
        list: (KUBESPAWNER_REFLECTORS * cycles) / KUBESPAWNER_RESTART_S,
        watch: (KUBESPAWNER_REFLECTORS * cycles) / KUBESPAWNER_RESTART_S,
      };
      // Over HTTP, KubePodClient reads a pod before deleting it (the delete's preconditions are its uid and
      // resourceVersion); the soak's names have one candidate, so a create or a read is one call.
      const http = { ...plain.requests, get: plain.requests.get + plain.requests.delete };
      const requests = {
        spawnkeeper: {
          create: perLaunch(http.create),
          get: perLaunch(http.get),
          delete: perLaunch(http.delete),
          list: perLaunch(ours.list),
          watch: perLaunch(ours.watch),
        },
        kubespawner: { create: 1, get: 0, delete: 1, list: perLaunch(theirs.list), watch: perLaunch(theirs.watch) },
      };
      const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
      const p99 = percentile(lat.during, 99);
      const idleP99 = percentile(lat.idle, 99);
      const added = p99 - idleP99;
      const rows = [
        metric('bytes per launch (database file ÷ launches, no retention)', 'bytes', [plain.bytes / plain.launches]),
        metric('database at the end of the day, no retention', 'MB', [plain.bytes / 1e6]),
        metric('database at the end of the day, retention (6 h, last 10 lifecycles)', 'MB', [kept.bytes / 1e6]),
        metric('event rows at the end, no retention', 'rows', [plain.rows]),
        metric('event rows at the end, retention', 'rows', [kept.rows]),
        metric('command acknowledgement during a retention pass, p99', 'ms', [p99]),
        metric('command acknowledgement during a retention pass, max', 'ms', [Math.max(...lat.during)]),
        metric('command acknowledgement with no retention running (before and after), p99', 'ms', [idleP99]),
        metric('retention pass over the day while commands were measured (stopped after 20 s)', 's', [lat.pass.ms / 1000]),
        metric('longest slice of the pass on the event loop, wall time', 'ms', [lat.pass.longestSliceMs]),
        metric('  of which CPU time (the rest: waiting for I/O on the loaded machine)', 'ms', [lat.pass.longestSliceCpuMs]),
        metric('API requests per launch, spawnkeeper (create+get+delete measured; list+watch by design)', 'requests', [
          total(requests.spawnkeeper),
        ]),
        metric("API requests per launch, KubeSpawner's design (counted from its code)", 'requests', [total(requests.kubespawner)]),
        metric('wall time of the simulated day (no retention)', 's', [plain.wallMs / 1000]),
      ];
      return {
        id: 'soak',
        title: `7. Soak: a day at ${plain.launches.toLocaleString('en-US')} launches`,
        headline: metric('events per launch', 'events', [plain.events / plain.launches]),
        rows,
        goals: [
          {
            text: `retention delays command acknowledgement by ≤ 10 ms p99 (${p99.toFixed(1)} ms during a pass − ${idleP99.toFixed(1)} ms without = ${added.toFixed(1)} ms)`,
            met: added <= 10,
          },
        ],
        extra: {
          eventsPerLaunch: plain.events / plain.launches,
          bytesPerLaunch: plain.bytes / plain.launches,
          dbBytes: { withoutRetention: plain.bytes, withRetention: kept.bytes },
          rows: { withoutRetention: plain.rows, withRetention: kept.rows },
          servers: { withoutRetention: plain.servers, withRetention: kept.servers },
          retentionDuringDay: { passes: kept.passes, ms: kept.retentionMs },
          ackDelayAddedByRetentionMs: added,
          ackDuringRetentionMs: { p50: percentile(lat.during, 50), p99, max: Math.max(...lat.during), commands: lat.during.length },
          ackIdleMs: {
            p50: percentile(lat.idle, 50),
            p99: percentile(lat.idle, 99),
            max: Math.max(...lat.idle),
            commands: lat.idle.length,
          },
          retentionPass: lat.pass,
          requestsPerLaunch: requests,
          requestsPerDay: {
            spawnkeeper: { ...http, list: ours.list, watch: ours.watch },
            kubespawner: { create: plain.launches, delete: plain.launches, ...theirs },
          },
        },
        params: {
          launches: plain.launches,
          virtualDayHours: w.dayMs / HOUR,
          returningShare: w.returning,
          returningPool: w.pool,
          slowShare: 0.05,
          failShare: 0.01,
          retentionAgeHours: policy.maxAgeMs / HOUR,
          retentionLifecycles: policy.lifecycles,
          durability: 'normal during the day; full for the latency run',
        },
      };
    } finally {
      dir.remove();
    }
  },
};

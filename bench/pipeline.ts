// Scenario 1: pipeline throughput, against raw SQLite inserts and raw xstate transition() of the same events.
import { performance } from 'node:perf_hooks';
import { initialTransition, transition } from 'xstate';
import type { ServerMachine } from '../machines/server.machine.js';
import { MACHINE_VERSION, configureServerMachine } from '../machines/server.machine.js';
import { ManualClock } from '../src/core/clock.js';
import { Runtime } from '../src/runtime/runtime.js';
import { persist } from '../src/runtime/step.js';
import { openDatabase } from '../src/store/database.js';
import { SqliteEventStore } from '../src/store/event-store.js';
import type { BenchOptions, Scenario } from './scenario.js';
import { repeat } from './scenario.js';
import { metric, median } from './stats.js';
import type { ScenarioResult } from './stats.js';
import { BatchRecorder, InstantCluster, benchDir, keysFor, lifecycle } from './support.js';
import type { BenchDir } from './support.js';

/** LoggedEvent is an events-table row as the runtime wrote it, replayed by both baselines. */
interface LoggedEvent {
  readonly sid: number;
  readonly seq: number;
  readonly ts: number;
  readonly type: string;
  readonly payload: string;
  readonly state_before: string;
  readonly state_after: string;
}

interface PipelineRun {
  readonly events: number;
  readonly ms: number;
  readonly batches: number[];
  readonly rows: LoggedEvent[];
  readonly snapshots: Map<number, string>;
}

async function runPipeline(dir: BenchDir, machine: ServerMachine, servers: number, cycles: number): Promise<PipelineRun> {
  const db = openDatabase(dir.file('runtime.db'), { durability: 'full' });
  const store = new BatchRecorder(new SqliteEventStore(db, { machineVersion: MACHINE_VERSION }));
  const cluster = new InstantCluster();
  const runtime = new Runtime({ store, machine, pods: cluster, clock: new ManualClock() });
  runtime.start();
  const keys = keysFor(servers);
  const started = performance.now();
  for (let c = 0; c < cycles; c++) await lifecycle(runtime, cluster, keys);
  const ms = performance.now() - started;
  for (const key of keys) if (runtime.get(key)?.state !== 'stopped') throw new Error(`pipeline: ${key} ended ${runtime.get(key)?.state}`);
  const events = runtime.stats.events;
  runtime.close();
  const rows = db.prepare('SELECT sid, seq, ts, type, payload, state_before, state_after FROM events ORDER BY id').all() as LoggedEvent[];
  const snapshots = new Map(
    (db.prepare('SELECT sid, snapshot FROM servers').all() as Array<{ sid: number; snapshot: string }>).map((r) => [r.sid, r.snapshot]),
  );
  db.close();
  if (rows.length !== events) throw new Error(`pipeline: ${events} events stepped but ${rows.length} logged`);
  return { events, ms, batches: store.batches, rows, snapshots };
}

/** sqliteBaseline inserts the same rows into a fresh file of the same schema and pragmas, in the runtime's batch sizes. */
function sqliteBaseline(dir: BenchDir, run: PipelineRun): number {
  const db = openDatabase(dir.file('baseline.db'), { durability: 'full' });
  const insert = db.prepare('INSERT INTO events (sid, seq, ts, type, payload, state_before, state_after) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const batch = db.transaction((rows: readonly LoggedEvent[]) => {
    for (const r of rows) insert.run(r.sid, r.seq, r.ts, r.type, r.payload, r.state_before, r.state_after);
  });
  const slices: LoggedEvent[][] = [];
  let at = 0;
  for (const n of run.batches) {
    slices.push(run.rows.slice(at, at + n));
    at += n;
  }
  const started = performance.now();
  for (const rows of slices) batch(rows);
  const ms = performance.now() - started;
  db.close();
  return (run.rows.length / ms) * 1000;
}

/**
 * transitionBaseline folds the same events, in the same interleaved order, with xstate's public
 * pure transition() and no I/O; it also proves the runtime stored exactly what a fold produces.
 */
function transitionBaseline(machine: ServerMachine, run: PipelineRun): number {
  const events = run.rows.map((r) => ({ sid: r.sid, event: JSON.parse(r.payload) as Parameters<typeof transition<ServerMachine>>[2] }));
  const snapshots = new Map<number, ReturnType<typeof initialTransition<ServerMachine>>[0]>();
  for (const sid of run.snapshots.keys()) snapshots.set(sid, initialTransition(machine)[0]);
  const started = performance.now();
  for (const { sid, event } of events) snapshots.set(sid, transition(machine, snapshots.get(sid)!, event)[0]);
  const ms = performance.now() - started;
  for (const [sid, stored] of run.snapshots) {
    if (persist(machine, snapshots.get(sid)!) !== stored)
      throw new Error(`pipeline: server ${sid}'s stored snapshot differs from a fold of its events`);
  }
  return (events.length / ms) * 1000;
}

export const pipeline: Scenario = {
  id: 'pipeline',
  async run(options: BenchOptions): Promise<ScenarioResult> {
    const servers = options.quick ? 200 : 1_000;
    const cycles = options.quick ? 1 : 5;
    const machine = configureServerMachine();
    const reps = await repeat(options, 'pipeline', async () => {
      const dir = benchDir('pipeline');
      try {
        const run = await runPipeline(dir, machine, servers, cycles);
        const runtime = (run.events / run.ms) * 1000;
        const sqlite = options.baselines ? sqliteBaseline(dir, run) : Number.NaN;
        const xstate = options.baselines ? transitionBaseline(machine, run) : Number.NaN;
        return { runtime, sqlite, xstate, events: run.events, batch: median(run.batches) };
      } finally {
        dir.remove();
      }
    });
    const vsSqlite = metric(
      'ratio vs raw SQLite',
      '×',
      reps.map((r) => r.runtime / r.sqlite),
    );
    const vsTransition = metric(
      'ratio vs raw transition()',
      '×',
      reps.map((r) => r.runtime / r.xstate),
    );
    // A durable step does both: the honest limit is the two baselines in series, 1 / (1/sqlite + 1/transition).
    const vsCombined = metric(
      'ratio vs both in series, 1/(1/raw SQLite + 1/raw transition())',
      '×',
      reps.map((r) => r.runtime * (1 / r.sqlite + 1 / r.xstate)),
    );
    const sqlite = metric(
      'baseline (a): raw better-sqlite3 inserts, same rows and batches',
      'rows/s',
      reps.map((r) => r.sqlite),
    );
    const xstate = metric(
      'baseline (b): raw xstate transition(), no I/O',
      'events/s',
      reps.map((r) => r.xstate),
    );
    return {
      id: 'pipeline',
      title: '1. Pipeline throughput',
      headline: metric(
        'runtime: step + timers + snapshot + outbox, committed (synchronous=FULL)',
        'events/s',
        reps.map((r) => r.runtime),
      ),
      rows: [sqlite, xstate, vsSqlite, vsTransition, vsCombined],
      goals: [
        { text: `≥ 0.8 of both in series (${vsCombined.median.toFixed(2)})`, met: vsCombined.median >= 0.8 },
        { text: `≥ 0.5 of raw SQLite (${vsSqlite.median.toFixed(2)})`, met: vsSqlite.median >= 0.5 },
        { text: `≥ 0.5 of raw transition() (${vsTransition.median.toFixed(2)})`, met: vsTransition.median >= 0.5 },
      ],
      extra: {
        vsSqlite: vsSqlite.median,
        vsTransition: vsTransition.median,
        vsCombined: vsCombined.median,
        baselines: { sqlite, transition: xstate },
        ratios: { vsSqlite, vsTransition, vsCombined },
      },
      params: { servers, cycles, events: reps[0]?.events ?? 0, medianBatch: reps[0]?.batch ?? 0 },
    };
  },
};

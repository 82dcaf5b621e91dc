import { copyFileSync } from 'node:fs';
import { MACHINE_VERSION, configureServerMachine } from '../machines/server.machine.js';
import { ManualClock } from '../src/core/clock.js';
import { Runtime } from '../src/runtime/runtime.js';
import { openDatabase } from '../src/store/database.js';
import { SqliteEventStore, armedTimers } from '../src/store/event-store.js';
import { InstantCluster, drained, keysFor, lifecycle } from './support.js';

/** HistoryFile describes a database built by buildHistory. */
export interface HistoryFile {
  readonly path: string;
  readonly servers: number;
  readonly events: number;
  readonly timers: number;
  readonly outbox: number;
  readonly bytes: number;
}

/**
 * buildHistory writes a hub's database the way the runtime writes it: every server has run two
 * whole start/stop lifecycles and was started again; 80 % are now running, 10 % wait for their pod
 * (start timeout and poll armed) and 10 % have a create still in the outbox (start and request
 * timeouts armed). Timers are due from `now`, so a restart right after finds them armed, not overdue.
 */
export async function buildHistory(path: string, servers: number, now = Date.now()): Promise<HistoryFile> {
  const db = openDatabase(path, { durability: 'full', now });
  const cluster = new InstantCluster();
  const runtime = new Runtime({
    store: new SqliteEventStore(db, { machineVersion: MACHINE_VERSION }),
    machine: configureServerMachine(),
    pods: cluster,
    clock: new ManualClock(now),
  });
  runtime.start();
  const keys = keysFor(servers);
  for (let cycle = 0; cycle < 2; cycle++) await lifecycle(runtime, cluster, keys);
  const answered = keys.filter((_, i) => i % 10 !== 9);
  const held = keys.filter((_, i) => i % 10 === 9);
  await Promise.all(answered.map((k) => runtime.send(k, { type: 'server.start' })));
  await drained(runtime);
  await Promise.all(answered.filter((_, i) => i % 9 !== 8).map((k) => runtime.observe(k, cluster.progress(k, 'ready'))));
  // Held creates never answer: they are started last, so they cannot hold the effect slots others need.
  for (const k of held) cluster.held.add(k);
  await Promise.all(held.map((k) => runtime.send(k, { type: 'server.start' })));
  runtime.close();
  const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  const file = { path, servers, events: count('events'), timers: armedTimers(db), outbox: count('outbox') };
  const pages = db.pragma('page_count', { simple: true }) as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.close();
  return { ...file, bytes: pages * pageSize };
}

/** copyHistory gives a rep its own copy, so what one restart commits never reaches the next. */
export function copyHistory(file: HistoryFile, to: string): HistoryFile {
  copyFileSync(file.path, to);
  return { ...file, path: to };
}

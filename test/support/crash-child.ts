// A child process for the SIGKILL test: applies commands and observations to a runtime on a real
// database as fast as it can and prints each acknowledgement once its commit returned.
import { writeSync } from 'node:fs';
import { MACHINE_VERSION, configureServerMachine } from '../../machines/server.machine.js';
import type { ServerEvent } from '../../machines/server.machine.js';
import { systemClock } from '../../src/core/clock.js';
import { mulberry32 } from '../../src/sim/cluster/prng.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteEventStore } from '../../src/store/event-store.js';
import { CRASH_DELAYS } from './harness.js';
import { ModelCluster } from './model-cluster.js';

const [path, seedArg] = process.argv.slice(2);
if (path === undefined) throw new Error('usage: crash-child DB [SEED]');
const random = mulberry32(Number(seedArg ?? 1));

const db = openDatabase(path);
const machine = configureServerMachine(CRASH_DELAYS);
const cluster = new ModelCluster(systemClock, { graceMs: 30, readyDelayMs: 40 });
const runtime = new Runtime({
  store: new SqliteEventStore(db, { machineVersion: MACHINE_VERSION }),
  machine,
  pods: cluster,
  clock: systemClock,
  effectTimeoutMs: 40,
});
runtime.start();
writeSync(1, 'ready\n');

const keys = Array.from({ length: 12 }, (_, i) => `user${i}/`);
async function worker(): Promise<void> {
  for (;;) {
    const key = keys[Math.floor(random() * keys.length)] as string;
    const event: ServerEvent = { type: random() < 0.55 ? 'server.start' : 'server.stop' };
    const ack = await runtime.send(key, event);
    writeSync(1, `ack ${key} ${ack.seq} ${event.type}\n`);
    const change = cluster.changes[Math.floor(random() * cluster.changes.length)];
    if (change !== undefined) await runtime.observe(change.key, change.fact);
  }
}
for (let i = 0; i < 16; i++) void worker();

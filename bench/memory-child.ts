// Scenario 4's measuring process (run with --expose-gc): `memory-child.ts DB base,size,size…`.
import { MACHINE_VERSION, configureServerMachine } from '../machines/server.machine.js';
import { ManualClock } from '../src/core/clock.js';
import { Runtime } from '../src/runtime/runtime.js';
import { openDatabase } from '../src/store/database.js';
import { SqliteEventStore } from '../src/store/event-store.js';
import { InstantCluster, drained, gc, keysFor } from './support.js';

/** MemoryPoint is the heap after GC with `servers` idle servers in the runtime. */
export interface MemoryPoint {
  readonly servers: number;
  readonly heapUsed: number;
  readonly rss: number;
}

/** grow brings servers [from, to) to `running` through the runtime itself: start, the create's answer, a ready pod. */
async function grow(runtime: Runtime, cluster: InstantCluster, from: number, to: number): Promise<void> {
  const keys = keysFor(to - from, 'user', from);
  await Promise.all(keys.map((k) => runtime.send(k, { type: 'server.start' })));
  await drained(runtime);
  await Promise.all(keys.map((k) => runtime.observe(k, cluster.progress(k, 'ready'))));
  for (const k of keys)
    if (runtime.get(k)?.state !== 'running.ready') throw new Error(`memory: ${k} is ${runtime.get(k)?.state}, not running.ready`);
}

async function main(path: string, sizes: readonly number[]): Promise<MemoryPoint[]> {
  if (!gc()) throw new Error('memory-child needs node --expose-gc');
  const db = openDatabase(path, { durability: 'full' });
  const cluster = new InstantCluster();
  const runtime = new Runtime({
    store: new SqliteEventStore(db, { machineVersion: MACHINE_VERSION }),
    machine: configureServerMachine(),
    pods: cluster,
    clock: new ManualClock(),
  });
  runtime.start();
  const points: MemoryPoint[] = [];
  let made = 0;
  for (const size of sizes) {
    await grow(runtime, cluster, made, size);
    made = size;
    cluster.forget();
    await drained(runtime);
    gc();
    const { heapUsed, rss } = process.memoryUsage();
    points.push({ servers: size, heapUsed, rss });
  }
  runtime.close();
  db.close();
  return points;
}

const [path, sizes] = process.argv.slice(2);
if (path === undefined || sizes === undefined) throw new Error('usage: memory-child.ts DB base,size,size…');
main(path, sizes.split(',').map(Number)).then(
  (points) => process.stdout.write(`${JSON.stringify(points)}\n`),
  (err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);

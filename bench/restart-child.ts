// Scenario 3's restarting process: `restart-child.ts DB CLUSTER_URL TIMERS`; it prints its phases in ms since process start.
import { performance } from 'node:perf_hooks';
import { createSpawnkeeper, kubeConfigFor } from '../src/spawnkeeper.js';
import { openDatabase } from '../src/store/database.js';
import { internals } from '../src/spawnkeeper.js';

/** RestartPhases are the child's own marks, in ms since its process started (performance.timeOrigin). */
export interface RestartPhases {
  /** loaded: node booted, tsx registered and every module of the hub imported. */
  readonly loaded: number;
  readonly opened: number;
  /** ready: every server restored, every timer re-armed, unfinished effects queued: the API can answer. */
  readonly ready: number;
  readonly servers: number;
  readonly timers: number;
}

async function main(path: string, url: string, expectedTimers: number): Promise<RestartPhases> {
  const loaded = performance.now();
  const db = openDatabase(path, { durability: 'full' });
  const opened = performance.now();
  const sk = await createSpawnkeeper({ db, cluster: kubeConfigFor(url) });
  const ready = performance.now();
  const timers = internals(sk).runtime.timerCount;
  if (timers !== expectedTimers) throw new Error(`restart: ${timers} timers re-armed, the file holds ${expectedTimers}`);
  return { loaded, opened, ready, servers: internals(sk).runtime.size, timers };
}

const [path, url, timers] = process.argv.slice(2);
if (path === undefined || url === undefined) throw new Error('usage: restart-child.ts DB CLUSTER_URL TIMERS');
main(path, url, Number(timers)).then(
  (phases) => {
    process.stdout.write(`${JSON.stringify(phases)}\n`);
    // The measurement is taken; what the restored hub does next (its first relist, re-run effects) is not this scenario's.
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);

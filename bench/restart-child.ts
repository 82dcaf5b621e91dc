// Scenario 3's restarting process: `restart-child.ts DB CLUSTER_URL TIMERS`; it prints its phases in ms since process start.
import { performance } from 'node:perf_hooks';
// By the package's name: the compiled run resolves it to dist/ as an installed package does; under tsx, to the sources.
import { armedTimers, createSpawnkeeper, kubeConfigFor, openDatabase } from 'spawnkeeper';

/** RestartPhases are the child's own marks, in ms since its process started (performance.timeOrigin). */
export interface RestartPhases {
  /** loaded: node booted (and tsx registered, in the sources' run) and every module of the hub imported. */
  readonly loaded: number;
  readonly opened: number;
  /** ready: every server restored, every timer re-armed, unfinished effects queued: the API can answer. */
  readonly ready: number;
  /** cpu: CPU time (user + system) the process had used at `ready`, in ms: on a busy machine, less noisy than the wall clock. */
  readonly cpu: number;
  readonly servers: number;
  readonly timers: number;
}

async function main(path: string, url: string, expectedTimers: number): Promise<RestartPhases> {
  const loaded = performance.now();
  const db = openDatabase(path, { durability: 'full' });
  const opened = performance.now();
  const sk = await createSpawnkeeper({ db, cluster: kubeConfigFor(url) });
  const ready = performance.now();
  const used = process.cpuUsage();
  const cpu = (used.user + used.system) / 1_000;
  // The hub acts from the moment it holds the Lease (re-run effects, the first relist), so timers may
  // already have been armed or cleared since the restore: memory and the file must agree now, in one tick.
  const timers = sk.health().timers;
  const inFile = armedTimers(db);
  if (timers !== inFile)
    throw new Error(`restart: ${timers} timers armed, the file holds ${inFile} (${expectedTimers} before the restart)`);
  return { loaded, opened, ready, cpu, servers: sk.health().servers, timers };
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

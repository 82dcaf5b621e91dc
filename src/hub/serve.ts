import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Simulator, SimulatorOptions } from '../sim/index.js';
import type { Spawnkeeper } from '../spawnkeeper.js';
import { createSpawnkeeper, kubeConfigFor } from '../spawnkeeper.js';
import { openDatabase } from '../store/database.js';
import { ConfigError, checkHubConfig, engineConfig } from './config.js';
import type { Hub } from './hub.js';
import { registerDashboard } from './dashboard/dashboard.js';
import { createHub } from './hub.js';
import type { HubConfig } from './settings.js';

/** RunningHub is a whole hub process's worth of parts, with one `close` that takes them down in order. */
export interface RunningHub {
  readonly url: string;
  readonly hub: Hub;
  readonly sk: Spawnkeeper;
  readonly db: Database;
  readonly cluster: KubeConfig;
  /** sim: the embedded simulator, when no real cluster was configured. */
  readonly sim: Simulator | undefined;
  /** generatedToken: the admin token generated at this start (the first without a configured one), to show once on a terminal. */
  readonly generatedToken: string | undefined;
  /** adminTokenFile: where the generated admin token was written (mode 0600), if it was. */
  readonly adminTokenFile: string | undefined;
  close(): Promise<void>;
}

/** StartOptions are the process-level parts the caller owns: the logger, the clock, the exit. */
export interface StartOptions {
  logger: Logger;
  clock?: Clock;
  onUnhealthyExit?: (reason: string) => void;
}

/**
 * writeAdminToken hands a generated admin token over through a file beside the database that only
 * its owner can read, never through the log stream; an in-memory database has no folder, so none.
 */
function writeAdminToken(db: string, token: string): string | undefined {
  if (db === ':memory:') return undefined;
  const file = join(dirname(db), 'admin-token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an older file keeps its mode through writeFileSync
  return file;
}

/** simulatedKubelet reads `sim.kubelet` (delays, command) and `sim_kubelet`: the process kubelet when it says so. */
export function simulatedKubelet(
  config: Pick<HubConfig, 'sim' | 'simKubelet'>,
  logger?: Logger,
): Pick<SimulatorOptions, 'kubelet' | 'processes'> {
  // The schema checked each value; what is left is how two settings go together.
  const { command, ...delays } = config.sim.kubelet ?? {};
  if (command !== undefined && config.simKubelet !== 'process') throw new ConfigError('sim.kubelet.command needs sim_kubelet "process"');
  if (config.simKubelet !== 'process') return { kubelet: delays };
  const onOutput = (pod: string, line: string): void => logger?.debug({ pod, line }, 'pod process output');
  return { kubelet: delays, processes: command === undefined ? { onOutput } : { command, onOutput } };
}

/** clusterFor loads the configured cluster, or starts the embedded simulator when none is named. */
async function clusterFor(config: HubConfig, logger: Logger): Promise<{ cluster: KubeConfig; sim: Simulator | undefined }> {
  const cluster = new KubeConfig();
  try {
    if (config.kubeconfig !== '') {
      cluster.loadFromFile(config.kubeconfig);
      return { cluster, sim: undefined };
    }
    if (config.inCluster) {
      cluster.loadFromCluster();
      return { cluster, sim: undefined };
    }
  } catch (err) {
    throw new ConfigError(`cannot load the cluster configuration: ${(err as Error).message}`);
  }
  // The simulator's modules load only for a hub that embeds it, not for one that talks to a cluster.
  const { startSimulator } = await import('../sim/index.js');
  const sim = await startSimulator({
    port: 0,
    namespace: config.namespace,
    seed: config.sim.seed ?? 1,
    ...simulatedKubelet(config, logger),
  });
  return { cluster: kubeConfigFor(sim.url, config.namespace), sim };
}

/**
 * startHub is the one wiring point of a hub process: database (its folder created), cluster or
 * embedded simulator, engine, admin token, HTTP server. Parts are closed in reverse order, also when
 * a later one fails to start.
 */
export async function startHub(partial: Partial<HubConfig>, options: StartOptions): Promise<RunningHub> {
  // Every setting is checked before anything is made: bad configuration creates no folder and opens no database.
  const config = checkHubConfig(partial);
  const { logger } = options;
  const undo: Array<() => Promise<void> | void> = [];
  const unwind = async () => {
    for (const step of undo.splice(0).reverse()) await step();
  };
  try {
    // The cluster configuration is read before the database: an unreadable kubeconfig touches no file.
    const { cluster, sim } = await clusterFor(config, logger);
    if (sim !== undefined) undo.push(() => sim.close());
    // The data folder holds the database and the generated admin token: a new one is its owner's alone.
    if (config.db !== ':memory:') mkdirSync(dirname(config.db), { recursive: true, mode: 0o700 });
    const db = openDatabase(config.db, { durability: config.spawnkeeper.durability ?? 'full' });
    undo.push(() => {
      db.close();
    });
    const sk = await createSpawnkeeper({
      db,
      cluster,
      logger,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      config: engineConfig(config),
    });
    undo.push(() => sk.close());
    const hub = createHub({
      sk,
      db,
      cluster,
      config,
      logger,
      extend: registerDashboard,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.onUnhealthyExit === undefined ? {} : { onUnhealthyExit: options.onUnhealthyExit }),
    });
    undo.push(() => hub.close());
    const { generated } = hub.tokens.ensureAdmin(config.adminToken);
    const adminTokenFile = generated === undefined ? undefined : writeAdminToken(config.db, generated);
    const url = await hub.listen(config.port, config.host);
    logger.info({ url, db: config.db, cluster: sim === undefined ? 'configured' : sim.url, namespace: config.namespace }, 'hub serving');
    let closing: Promise<void> | undefined;
    return {
      url,
      hub,
      sk,
      db,
      cluster,
      sim,
      generatedToken: generated,
      adminTokenFile,
      close: () => (closing ??= unwind()),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

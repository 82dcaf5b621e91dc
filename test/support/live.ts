import type { ServerDelays } from '../../machines/server.machine.js';
import { configureServerMachine } from '../../machines/server.machine.js';
import { ownerKey } from '../../src/kube/pod-mapper.js';
import type { Clock } from '../../src/core/clock.js';
import { analyzeLiveness } from '../../src/runtime/liveness.js';
import { startSimulator } from '../../src/sim/index.js';
import type { Simulator, SimulatorOptions } from '../../src/sim/index.js';
import type { ServerStatus, Spawnkeeper, SpawnkeeperConfigInput } from '../../src/spawnkeeper.js';
import { createSpawnkeeper, kubeConfigFor } from '../../src/spawnkeeper.js';
import { tempDir } from './harness.js';
import { internals } from '../../src/spawnkeeper.js';

/** LIVE_DELAYS are real-time delays short enough for integration tests and in the defaults' proportions. */
export const LIVE_DELAYS: ServerDelays = {
  startTimeout: 4_000,
  stopTimeout: 3_000,
  stopRetryInterval: 1_000,
  pollInterval: 250,
  requestTimeout: 600,
  failFastGrace: 600,
  retryBackoff: 100,
  retryBackoffMax: 800,
  unreadyTimeout: 4_000,
};

export const LIVE_CONFIG: SpawnkeeperConfigInput = {
  delays: LIVE_DELAYS,
  durability: 'normal',
  deleteGraceSeconds: 1,
  reflector: { resyncMs: 1_500, watchTimeoutSeconds: 5, silenceMs: 1_200, unhealthyAfterMs: 1_000, backoffMaxMs: 400 },
  sweeper: { intervalMs: 300, graceMs: 1_000 },
};

let bound: number | undefined;

/** liveBound is the settle bound the liveness analysis computes for LIVE_DELAYS, in ms (computed once, when first needed). */
export function liveBound(): number {
  bound ??= analyzeLiveness(configureServerMachine(LIVE_DELAYS)).bound;
  return bound;
}

/**
 * Live is a whole spawnkeeper on a real SQLite file talking through @kubernetes/client-node to the
 * simulated API server on loopback, in real time; `restart()` closes and reopens the hub on its file.
 */
export class Live {
  sk!: Spawnkeeper;
  readonly path: string;
  private readonly cleanup: () => void;

  private constructor(
    readonly sim: Simulator,
    private readonly config: SpawnkeeperConfigInput,
    /** clock is the hub's (the simulator keeps real time); undefined: the system's. */
    private readonly clock?: Clock,
  ) {
    const tmp = tempDir('spawnkeeper-live-');
    this.path = `${tmp.dir}/hub.db`;
    this.cleanup = tmp.cleanup;
  }

  static async start(
    options: { sim?: SimulatorOptions; config?: SpawnkeeperConfigInput; waitForSync?: boolean; clock?: Clock } = {},
  ): Promise<Live> {
    liveBound(); // the analysis runs for seconds on this thread: before the hub runs, never while it does
    const sim = await startSimulator({ kubelet: { scheduleMs: 20, createMs: 20, readyMs: 60, stopMs: 30 }, ...options.sim });
    const live = new Live(sim, { ...LIVE_CONFIG, ...options.config }, options.clock);
    await live.open(options.waitForSync ?? true);
    return live;
  }

  async open(waitForSync = true): Promise<void> {
    this.sk = await createSpawnkeeper({ db: this.path, cluster: kubeConfigFor(this.sim.url), config: this.config, clock: this.clock });
    if (waitForSync) {
      await internals(this.sk).reflector.synced();
      await eventually('the lease', () => this.sk.health().lease.acting);
    }
  }

  async restart(waitForSync = true): Promise<void> {
    await this.sk.close();
    await this.open(waitForSync);
  }

  /** settled waits until the server is stable and agrees with the cluster, within the bound. */
  async settled(user: string, name = '', within = liveBound()): Promise<ServerStatus> {
    const deadline = Date.now() + within;
    for (;;) {
      const s = this.sk.get(user, name);
      if (s !== undefined && s.stable && this.agrees(s)) return s;
      if (Date.now() > deadline) {
        throw new Error(
          `${user}/${name} did not settle within ${within} ms: ${s?.detail ?? 'unknown'}, pod ${JSON.stringify(this.pod(s?.podName ?? '')?.status?.phase)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** until polls a condition on a server's status in real time. */
  async until(user: string, name: string, ok: (s: ServerStatus) => boolean, within = liveBound() + 2_000): Promise<ServerStatus> {
    return this.sk.waitFor(user, name, ok, within);
  }

  pod(name: string) {
    return this.sim.pods().find((p) => p.metadata.name === name);
  }

  /** agrees: running ⇔ our pod exists and is ready; otherwise no pod of ours, or one handed to the sweeper. */
  agrees(s: ServerStatus): boolean {
    const found = this.pod(s.podName);
    const pod = found !== undefined && ownerKey(found, this.sk.config.instance) === s.key ? found : undefined;
    const ready =
      pod !== undefined &&
      pod.metadata.deletionTimestamp === undefined &&
      pod.status?.phase === 'Running' &&
      (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    if (s.state === 'running') return ready;
    if (pod === undefined) return true;
    return internals(this.sk)
      .store.orphans()
      .some((o) => o.key === s.key && (o.uid === '' || o.uid === pod.metadata.uid));
  }

  async close(): Promise<void> {
    await this.sk.close();
    await this.sim.close();
    this.cleanup();
  }
}

/** eventually polls `ok` in real time until it holds, or fails after `within` ms saying what it waited for. */
export async function eventually(what: string, ok: () => boolean, within = liveBound()): Promise<void> {
  const deadline = Date.now() + within;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`waited ${within} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Scenario 6: settle after an outage: N servers mid-start/stop while the API refuses connections for 60 s of simulated time.
import { performance } from 'node:perf_hooks';
import { ownerKey } from '../src/kube/pod-mapper.js';
import { ManualClock } from '../src/core/clock.js';
import { startSimulator } from '../src/sim/index.js';
import type { Simulator } from '../src/sim/index.js';
import type { Spawnkeeper } from '../src/spawnkeeper.js';
import { createSpawnkeeper, kubeConfigFor } from '../src/spawnkeeper.js';
import type { BenchOptions, Scenario } from './scenario.js';
import { repeat } from './scenario.js';
import { metric } from './stats.js';
import type { ScenarioResult } from './stats.js';
import { benchDir } from './support.js';
import { internals } from '../src/spawnkeeper.js';

const OUTAGE_MS = 60_000;
/** STEP_MS is how far simulated time moves between looks at the world; settle times are known to this precision. */
const STEP_MS = 100;

/**
 * quiet lets real I/O (HTTP to the simulator, the watch) and the runtime's work finish before
 * simulated time moves on: spawnkeeper and the simulator share one ManualClock, so nothing waits in real time.
 * Effects held while the hub cannot renew its Lease (the API is away) wait for time, not for I/O: they
 * do not keep it from being quiet (they did, and each step then spun 2,000 turns of the event loop).
 */
async function quiet(sk: Spawnkeeper): Promise<void> {
  let still = 0;
  for (let i = 0; i < 2_000 && still < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    still = internals(sk).runtime.busy || internals(sk).runtime.effectsInFlight > 0 ? 0 : still + 1;
  }
}

/** STABLE are the machine's states tagged `stable`; reading the state alone keeps the polling cheap. */
const STABLE = new Set(['stopped', 'running.ready', 'failed']);

/** settled: every server stable and agreeing with the cluster (running ⇔ our ready pod; otherwise no pod of it). */
function settled(sk: Spawnkeeper, sim: Simulator, users: readonly string[]): boolean {
  if (!users.every((u) => STABLE.has(internals(sk).runtime.get(`${u}/`)?.state ?? ''))) return false;
  const statuses = users.map((u) => sk.get(u));
  const pods = new Map(sim.pods().map((p) => [ownerKey(p, sk.config.instance), p]));
  return statuses.every((s) => {
    const pod = pods.get(s?.key);
    if (s?.state !== 'running') return pod === undefined;
    return (
      pod !== undefined &&
      pod.metadata.deletionTimestamp === undefined &&
      (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
    );
  });
}

/** advanceUntil moves simulated time in steps until `done` holds, and returns the simulated ms it took. */
async function advanceUntil(clock: ManualClock, sk: Spawnkeeper, done: () => boolean, limitMs: number): Promise<number> {
  const from = clock.now();
  let steps = 0;
  while (!done()) {
    if (clock.now() - from > limitMs) throw new Error(`outage: not settled within ${limitMs} ms of simulated time`);
    await clock.advance(STEP_MS, () => quiet(sk));
    steps++;
    if (steps % 10 === 0) await quiet(sk);
  }
  return clock.now() - from;
}

interface OutageRun {
  readonly simulatedMs: number;
  readonly wallMs: number;
}

async function once(servers: number, tag: string): Promise<OutageRun> {
  const dir = benchDir('outage');
  const clock = new ManualClock(Date.now());
  const sim = await startSimulator({ clock, kubelet: { scheduleMs: 0, createMs: 0, readyMs: 0, stopMs: 0 } });
  const sk = await createSpawnkeeper({ db: dir.file('outage.db'), cluster: kubeConfigFor(sim.url), clock, config: { durability: 'full' } });
  try {
    await advanceUntil(clock, sk, () => sk.health().reflector.synced, 60_000);
    const running = Array.from({ length: servers / 2 }, (_, i) => `${tag}a${i}`);
    const starting = Array.from({ length: servers / 2 }, (_, i) => `${tag}b${i}`);
    await Promise.all(running.map((u) => sk.start(u)));
    await advanceUntil(clock, sk, () => running.every((u) => sk.get(u)?.state === 'running'), 600_000);
    await sim.faults.refuseConnections();
    // The seed incident: starts and stops keep coming while the API server is away; all are acknowledged.
    await Promise.all([...starting.map((u) => sk.start(u)), ...running.map((u) => sk.stop(u))]);
    await clock.advance(OUTAGE_MS, () => quiet(sk));
    const users = [...running, ...starting];
    if (settled(sk, sim, users)) throw new Error('outage: everything settled before the API came back; the scenario measures nothing');
    await sim.faults.acceptConnections();
    const wall = performance.now();
    const simulatedMs = await advanceUntil(clock, sk, () => settled(sk, sim, users), 1_200_000);
    return { simulatedMs, wallMs: performance.now() - wall };
  } finally {
    await sk.close();
    await sim.close();
    dir.remove();
  }
}

export const outage: Scenario = {
  id: 'outage',
  async run(options: BenchOptions): Promise<ScenarioResult> {
    const servers = options.quick ? 100 : 1_000;
    const reps = await repeat(options, 'outage', (rep) => once(rep < 0 ? Math.min(servers, 100) : servers, `r${rep + 1}`));
    const simulated = metric(
      'API back → all settled and agreeing, simulated time',
      's',
      reps.map((r) => r.simulatedMs / 1000),
    );
    return {
      id: 'outage',
      title: '6. Settle after an outage',
      headline: simulated,
      rows: [
        metric(
          'the same, wall-clock time to compute it',
          'ms',
          reps.map((r) => r.wallMs),
        ),
      ],
      goals: [],
      extra: {},
      params: {
        servers,
        starting: servers / 2,
        stopping: servers / 2,
        outageSimulatedMs: OUTAGE_MS,
        stepMs: STEP_MS,
        delays: 'production defaults',
      },
    };
  },
};

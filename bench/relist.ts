// Scenario 2: relist storm: every pod of N running servers comes back from a relist at a newer version.
import { performance } from 'node:perf_hooks';
import type { V1Pod } from '@kubernetes/client-node';
import type { PodFact } from '../machines/pod-fact.js';
import { MACHINE_VERSION, configureServerMachine } from '../machines/server.machine.js';
import { DEFAULT_TEMPLATE, podManifest } from '../src/kube/manifest.js';
import { Reflector } from '../src/kube/reflector.js';
import type { PodLister } from '../src/kube/pod-lister.js';
import { ManualClock } from '../src/core/clock.js';
import { Runtime } from '../src/runtime/runtime.js';
import { startSimulator } from '../src/sim/index.js';
import type { Simulator } from '../src/sim/index.js';
import type { Spawnkeeper } from '../src/spawnkeeper.js';
import { createSpawnkeeper, kubeConfigFor } from '../src/spawnkeeper.js';
import { openDatabase } from '../src/store/database.js';
import { SqliteEventStore } from '../src/store/event-store.js';
import type { BenchOptions, Scenario } from './scenario.js';
import { repeat } from './scenario.js';
import { format, metric } from './stats.js';
import type { ScenarioResult } from './stats.js';
import type { BenchDir } from './support.js';
import { InstantCluster, benchDir, drained, keysFor, turn } from './support.js';
import { internals } from '../src/spawnkeeper.js';

const INSTANCE = 'hub';
/** NOWHERE is a loopback port nothing listens on: the in-process reflector's watch fails there and backs off on a clock that never moves. */
const NOWHERE = 'http://127.0.0.1:9';
/** WAVE is how many servers the simulator setup starts at a time. */
const WAVE = 500;

/** podFor is the pod object a list returns for a server: our manifest with the fact's uid, version and status. */
function podFor(key: string, fact: PodFact): V1Pod {
  if (!fact.exists) throw new Error(`relist: ${key} has no pod`);
  const pod = podManifest(key, INSTANCE, DEFAULT_TEMPLATE);
  pod.metadata = { ...pod.metadata, namespace: 'default', uid: fact.uid, resourceVersion: fact.resourceVersion };
  pod.status = { phase: fact.phase, conditions: [{ type: 'Ready', status: fact.ready ? 'True' : 'False' }] };
  return pod;
}

/** inProcessLister serves a list from memory in the pages the reflector asks for: no HTTP, no JSON. */
function inProcessLister(pods: readonly V1Pod[], rv: string): PodLister {
  return ({ limit = 500, cont }) => {
    const from = Number(cont ?? 0);
    const next = from + limit < pods.length ? String(from + limit) : undefined;
    return Promise.resolve({ metadata: { resourceVersion: rv, _continue: next }, items: pods.slice(from, from + limit) });
  };
}

/** InProcess is N running servers in a runtime on a real file, relisted by a fresh Reflector from memory. */
async function inProcess(dir: BenchDir, servers: number): Promise<{ relist: () => Promise<number>; close: () => void }> {
  const db = openDatabase(dir.file('in-process.db'), { durability: 'full' });
  const cluster = new InstantCluster();
  const clock = new ManualClock();
  const runtime = new Runtime({
    store: new SqliteEventStore(db, { machineVersion: MACHINE_VERSION }),
    machine: configureServerMachine(),
    pods: cluster,
    clock,
  });
  runtime.start();
  const keys = keysFor(servers);
  await Promise.all(keys.map((k) => runtime.send(k, { type: 'server.start' })));
  await drained(runtime);
  await Promise.all(keys.map((k) => runtime.observe(k, cluster.progress(k, 'ready'))));
  let round = 0;
  const relist = async (): Promise<number> => {
    const pods = keys.map((k) => podFor(k, cluster.touch(k)));
    const before = runtime.stats.events;
    const abort = new AbortController();
    const reflector = new Reflector({
      kc: kubeConfigFor(NOWHERE),
      list: inProcessLister(pods, String(++round)),
      namespace: 'default',
      instance: INSTANCE,
      sink: runtime,
      clock,
    });
    const started = performance.now();
    const running = reflector.start(abort.signal);
    await reflector.synced();
    const ms = performance.now() - started;
    abort.abort();
    await running;
    if (runtime.stats.events - before !== servers)
      throw new Error(`relist: ${runtime.stats.events - before} observations committed, expected ${servers}`);
    return ms;
  };
  return { relist, close: () => (runtime.close(), db.close()) };
}

/** touchAll changes an annotation of every pod (a new resourceVersion each) while the watch delivers nothing. */
async function touchAll(sim: Simulator, names: readonly string[], round: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) {
      const res = await fetch(`${sim.url}/api/v1/namespaces/default/pods/${names[i]}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ metadata: { annotations: { 'bench.spawnkeeper.io/round': String(round) } } }),
      });
      if (!res.ok) throw new Error(`relist: patching ${names[i]} answered ${res.status}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** ThroughSimulator is a whole spawnkeeper with N running servers whose watch is expired to force a relist over loopback. */
async function throughSimulator(
  dir: BenchDir,
  servers: number,
  log: (line: string) => void,
): Promise<{ relist: () => Promise<number>; close: () => Promise<void> }> {
  const sim = await startSimulator({ kubelet: { scheduleMs: 0, createMs: 0, readyMs: 0 } });
  const sk: Spawnkeeper = await createSpawnkeeper({
    db: dir.file('simulator.db'),
    cluster: kubeConfigFor(sim.url),
    config: { durability: 'full', instance: INSTANCE },
  });
  await internals(sk).reflector.synced();
  const users = Array.from({ length: servers }, (_, i) => `user${i}`);
  const started = performance.now();
  // Waves: 10,000 creates queued at once would outlast the machine's 10 s request timeout in the effect queue and add verify reads.
  for (let from = 0; from < servers; from += WAVE) {
    const wave = users.slice(from, from + WAVE);
    await Promise.all(wave.map((u) => sk.start(u)));
    while (!wave.every((u) => sk.get(u)?.state === 'running')) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  log(`  relist: ${format(servers)} servers running on the simulator after ${format(performance.now() - started)} ms`);
  const names = users.map((u) => sk.get(u)?.podName ?? '');
  let round = 0;
  const relist = async (): Promise<number> => {
    sim.faults.dropWatchEvents(1);
    await touchAll(sim, names, ++round);
    await turn();
    sim.faults.dropWatchEvents(0);
    const seen = new Set<string>();
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    const off = internals(sk).runtime.subscribe((c) => {
      if (c.event.type === 'pod.observed' && seen.add(c.key).size === servers) done();
    });
    const t0 = performance.now();
    sim.faults.expireWatches();
    await all;
    const ms = performance.now() - t0;
    off();
    return ms;
  };
  return { relist, close: async () => (await sk.close(), await sim.close()) };
}

export const relist: Scenario = {
  id: 'relist',
  async run(options: BenchOptions): Promise<ScenarioResult> {
    const servers = options.quick ? 1_000 : 10_000;
    const dir = benchDir('relist');
    try {
      const local = await inProcess(dir, servers);
      const viaSim = await throughSimulator(dir, servers, options.log);
      try {
        const reps = await repeat(options, 'relist', async () => ({ local: await local.relist(), sim: await viaSim.relist() }));
        const fromMemory = metric(
          `${format(servers)} pods listed in process → all observations committed`,
          'ms',
          reps.map((r) => r.local),
        );
        const fromSim = metric(
          `${format(servers)} pods relisted from the simulator over loopback → all committed`,
          'ms',
          reps.map((r) => r.sim),
        );
        const ratio = metric(
          'simulator ÷ in process',
          '×',
          reps.map((r) => r.sim / r.local),
        );
        return {
          id: 'relist',
          title: '2. Relist storm',
          headline: fromMemory,
          rows: [fromSim, ratio],
          goals: [
            { text: `< 1 s in process (${format(fromMemory.median)} ms)`, met: fromMemory.median < 1_000 },
            { text: `< 2 s from the simulator (${format(fromSim.median)} ms)`, met: fromSim.median < 2_000 },
            { text: `from the simulator ≤ 1.5× in process (${ratio.median.toFixed(2)})`, met: ratio.median <= 1.5 },
          ],
          extra: { simulator: fromSim, vsInProcess: ratio.median },
          params: { servers, pods: servers, changed: 'every pod at a newer resourceVersion' },
        };
      } finally {
        local.close();
        await viaSim.close();
      }
    } finally {
      dir.remove();
    }
  },
};

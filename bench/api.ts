// Scenario 5: API overhead: N concurrent starts against the simulator with zero kubelet delay.
import { performance } from 'node:perf_hooks';
import { CoreV1Api } from '@kubernetes/client-node';
import { DEFAULT_TEMPLATE, podManifest } from '../src/kube/manifest.js';
import { startSimulator } from '../src/sim/index.js';
import { createSpawnkeeper, kubeConfigFor } from '../src/spawnkeeper.js';
import type { Spawnkeeper } from '../src/spawnkeeper.js';
import { PodWatch } from './pod-watch.js';
import type { BenchOptions, Scenario } from './scenario.js';
import { repeat } from './scenario.js';
import { format, metric, percentile } from './stats.js';
import type { Metric, ScenarioResult } from './stats.js';
import { benchDir } from './support.js';
import { internals } from '../src/spawnkeeper.js';

interface Latencies {
  readonly ack: number[];
  readonly create: number[];
  readonly ready: number[];
}

interface Rep extends Latencies {
  readonly baseline: number[];
}

/** until polls a condition in real time, failing after `ms` with what it waited for. */
async function until(what: string, ok: () => boolean, ms = 120_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`api: waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * burst starts every user at once through the embedding API (as the hub's POST handler does) and
 * pairs each request with what the simulator published: the pod's creation and its readiness, and
 * with the moment spawnkeeper committed the server `running`.
 */
async function burst(sk: Spawnkeeper, watch: PodWatch, users: readonly string[]): Promise<Latencies> {
  const requested = new Map<string, number>();
  const acked = new Map<string, number>();
  const running = new Map<string, number>();
  const off = sk.subscribe((status) => {
    if (status.state === 'running' && !running.has(status.user)) running.set(status.user, performance.now());
  });
  try {
    const acks = users.map((u) => {
      requested.set(u, performance.now());
      return sk.start(u).then(() => void acked.set(u, performance.now()));
    });
    await Promise.all(acks);
    await until('every server running', () => running.size === users.length);
  } finally {
    off();
  }
  const out: Latencies = { ack: [], create: [], ready: [] };
  for (const u of users) {
    const pod = sk.get(u)?.podName ?? '';
    const [req, ack, created, ready, run] = [requested.get(u), acked.get(u), watch.created.get(pod), watch.ready.get(pod), running.get(u)];
    if (req === undefined || ack === undefined || created === undefined || ready === undefined || run === undefined)
      throw new Error(`api: ${u} is missing a mark`);
    out.ack.push(ack - req);
    out.create.push(created - req);
    out.ready.push(run - ready);
  }
  return out;
}

/**
 * rawBurst is the baseline: the same burst of creates sent straight through client-node with as
 * many in flight as spawnkeeper allows itself, no runtime, no commit: what the cluster side alone costs.
 */
async function rawBurst(api: CoreV1Api, watch: PodWatch, keys: readonly string[], concurrency: number): Promise<number[]> {
  const pods = keys.map((k) => podManifest(k, 'bench-raw', DEFAULT_TEMPLATE));
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < pods.length; i = next++)
      await api.createNamespacedPod({ namespace: 'default', body: pods[i] as (typeof pods)[number] });
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await Promise.all(
    pods.map((p) => api.deleteNamespacedPod({ namespace: 'default', name: p.metadata?.name ?? '', gracePeriodSeconds: 0 })),
  );
  return pods.map((p) => (watch.created.get(p.metadata?.name ?? '') ?? Number.NaN) - started);
}

/** stopAll brings a rep's servers down again, so every rep starts on the same, empty cluster. */
async function stopAll(sk: Spawnkeeper, users: readonly string[]): Promise<void> {
  await Promise.all(users.map((u) => sk.stop(u)));
  // runtime.get reads the state without resolving a snapshot: the poll must not load the process it measures.
  await until('every server stopped', () => users.every((u) => internals(sk).runtime.get(`${u}/`)?.state === 'stopped'));
}

export const api: Scenario = {
  id: 'api',
  async run(options: BenchOptions): Promise<ScenarioResult> {
    const starts = options.quick ? 200 : 1_000;
    const dir = benchDir('api');
    const sim = await startSimulator({ kubelet: { scheduleMs: 0, createMs: 0, readyMs: 0, stopMs: 0 } });
    const sk = await createSpawnkeeper({ db: dir.file('api.db'), cluster: kubeConfigFor(sim.url), config: { durability: 'full' } });
    const watch = await PodWatch.open(sim.url);
    try {
      await internals(sk).reflector.synced();
      const raw = kubeConfigFor(sim.url).makeApiClient(CoreV1Api);
      const reps = await repeat(options, 'api', async (rep) => {
        const users = Array.from({ length: starts }, (_, i) => `r${rep + 1}u${i}`);
        const l = await burst(sk, watch, users);
        await stopAll(sk, users);
        const baseline = options.baselines
          ? await rawBurst(
              raw,
              watch,
              users.map((u) => `${u}/raw`),
              sk.config.effectConcurrency,
            )
          : [];
        return { ...l, baseline };
      });
      /** tail is a latency's q-th percentile over the reps; tails are its p99 and p50. */
      const tail = (what: string, pick: (l: Rep) => number[], q: number) =>
        metric(
          `${what}, p${q}`,
          'ms',
          reps.map((l) => percentile(pick(l), q)),
        );
      const tails = (what: string, pick: (l: Rep) => number[]): [Metric, Metric] => [tail(what, pick, 99), tail(what, pick, 50)];
      const [createP99, createP50] = tails('request → create-pod call seen at the simulator', (l) => l.create);
      const [readyP99, readyP50] = tails('pod ready at the simulator → server running (committed)', (l) => l.ready);
      // The burst ratio: spawnkeeper's request → create p99 over the bare client's, rep by rep (same burst, same concurrency).
      const burstRatio = metric(
        'burst ratio: request → create p99 ÷ client-node alone p99',
        '×',
        reps.map((l) => percentile(l.create, 99) / percentile(l.baseline, 99)),
      );
      return {
        id: 'api',
        title: '5. API overhead',
        headline: createP99,
        rows: [
          createP50,
          readyP99,
          readyP50,
          ...tails('request → acknowledged (start committed)', (l) => l.ack),
          ...tails('baseline: same burst of creates via client-node alone, seen at the simulator', (l) => l.baseline),
          burstRatio,
        ],
        goals: [
          { text: `p99 < 10 ms request → create (${format(createP99.median)} ms)`, met: createP99.median < 10 },
          { text: `p99 < 10 ms pod ready → server ready (${format(readyP99.median)} ms)`, met: readyP99.median < 10 },
          { text: `burst ratio ≤ 1.2 (${burstRatio.median.toFixed(2)})`, met: burstRatio.median <= 1.2 },
        ],
        extra: { readyP99, burstRatio: burstRatio.median },
        params: {
          starts,
          through: 'createSpawnkeeper (sk.start); the hub HTTP API is not in the path',
          effectConcurrency: sk.config.effectConcurrency,
        },
      };
    } finally {
      watch.close();
      await sk.close();
      await sim.close();
      dir.remove();
    }
  },
};

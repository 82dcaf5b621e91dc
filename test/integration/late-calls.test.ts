import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATE } from '../../src/kube/manifest.js';
import { KubePodClient } from '../../src/kube/pod-client.js';
import { startSimulator } from '../../src/sim/index.js';
import type { Simulator, Verb } from '../../src/sim/index.js';
import { kubeConfigFor } from '../../src/spawnkeeper.js';
import { Live, eventually } from '../support/live.js';

// Calls to an API server too slow to answer: the real KubePodClient against the simulator, with the
// simulator counting the requests it is handling.

const POD_CALLS: readonly Verb[] = ['create', 'get', 'delete'];
let live: Live | undefined;
let sim: Simulator | undefined;
afterEach(async () => {
  await live?.close();
  await sim?.close();
  live = sim = undefined;
});

function podClient(s: Simulator): KubePodClient {
  const api = kubeConfigFor(s.url).makeApiClient(CoreV1Api);
  return new KubePodClient(api, { namespace: 'default', instance: 'hub', template: DEFAULT_TEMPLATE, deleteGraceSeconds: 1 });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('late calls', () => {
  for (const abandoned of ['drop', 'run'] as const) {
    const fate = abandoned === 'drop' ? 'one the API server still held never lands' : 'one it had accepted lands late, once';
    it(`a create that timed out is aborted on the wire: ${fate}`, async () => {
      sim = await startSimulator({ kubelet: { scheduleMs: 20, createMs: 20, readyMs: 60, stopMs: 30 } });
      sim.faults.slowCalls({ fraction: 1, delayMs: 1_500, verbs: ['create'], abandoned });
      const pods = podClient(sim);
      const began = Date.now();
      await expect(pods.create('ada/', AbortSignal.timeout(200))).rejects.toThrow();
      expect(Date.now() - began).toBeLessThan(1_000); // the call ended at its timeout, not with the answer
      await eventually('the simulator to see the request go', () => sim!.requests.open(['create']) === 0, 1_000);
      await sleep(1_800); // past the moment the slow create is handled
      expect(sim.requests.abandoned()).toBe(1);
      expect(sim.pods().map((p) => p.metadata.name)).toEqual(abandoned === 'drop' ? [] : [pods.name('ada/')]);
    });
  }

  it('pod calls in flight never exceed effectConcurrency under an API too slow to answer, while their servers hear of the timeouts', async () => {
    live = await Live.start({ config: { effectConcurrency: 4 } }); // requestTimeout 600 ms
    const peak = live.sim.requests.recordPeak(POD_CALLS);
    live.sim.faults.slowCalls({ fraction: 1, delayMs: 2_000, verbs: POD_CALLS });
    const users = Array.from({ length: 16 }, (_, i) => `u${i}`);
    await Promise.all(users.map((u) => live!.sk.start(u)));
    await sleep(3_000);
    // At most 4 pod calls, and the Lease elector's one call at a time (its renewals read the Lease: gets too).
    const bound = 4 + 1;
    expect(peak()).toBeGreaterThan(0);
    expect(peak()).toBeLessThanOrEqual(bound);
    const timedOut = users.filter((u) => live!.sk.history(u).some((e) => e.type === 'pod.result' && /timed out/.test(e.summary)));
    expect(timedOut.length).toBeGreaterThan(0);
    await live.sim.faults.clear();
    for (const u of users) expect((await live.settled(u)).state).toBe('running');
    expect(peak()).toBeLessThanOrEqual(bound);
  });

  it('a delete that reaches the API server after the pod was replaced leaves the newer pod alone', async () => {
    sim = await startSimulator({ kubelet: { scheduleMs: 20, createMs: 20, readyMs: 60, stopMs: 30 } });
    const pods = podClient(sim);
    const first = await pods.create('bea/', AbortSignal.timeout(2_000));
    sim.faults.slowCalls({ fraction: 1, delayMs: 400, verbs: ['delete'] });
    const deleting = pods.delete('bea/', { force: true }, AbortSignal.timeout(5_000)); // reads uid 1, then waits
    await eventually('the delete to be on its way', () => sim!.requests.open(['delete']) === 1, 1_000);
    const name = pods.name('bea/');
    sim.cluster.forceDelete(name);
    const second = await pods.create('bea/', AbortSignal.timeout(2_000));
    expect(second.exists && second.uid).not.toBe(first.exists && first.uid);
    const answer = await deleting;
    expect(answer.exists && answer.uid).toBe(second.exists && second.uid);
    const still = sim.pods().find((p) => p.metadata.name === name);
    expect(still?.metadata.uid).toBe(second.exists ? second.uid : undefined);
    expect(still?.metadata.deletionTimestamp).toBeUndefined();
  });
});

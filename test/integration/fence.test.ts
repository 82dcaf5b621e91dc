import { CoordinationV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import type { PresentPod } from '../../machines/pod-fact.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANNOTATION_LEASE_HOLDER, ANNOTATION_LEASE_TRANSITIONS, highestStamp, leaseFence } from '../../src/kube/fence.js';
import type { EpochSource } from '../../src/kube/fence.js';
import { LeaseElector } from '../../src/kube/lease.js';
import { KubeLeaseStore } from '../../src/kube/lease-store.js';
import { DEFAULT_TEMPLATE, podManifest } from '../../src/kube/manifest.js';
import { KubePodClient } from '../../src/kube/pod-client.js';
import { podFact } from '../../src/kube/pod-mapper.js';
import { OrphanSweeper } from '../../src/kube/sweeper.js';
import { systemClock } from '../../src/core/clock.js';
import { PodApiError } from '../../src/runtime/pod-client.js';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { eventually } from '../support/live.js';
import { coreApi, kubeConfig, leases } from './sim-helpers.js';

const KEY = 'alice/';

/** Tenure is a hub's view of its Lease, set by the test: which transitions it holds, as which identity. */
class Tenure implements EpochSource {
  constructor(
    readonly identity: string,
    public epoch: number | undefined,
  ) {}
}

describe('fencing: pods stamped with the lease transitions of their creator', () => {
  let sim: Simulator;
  const client = (tenure: Tenure) =>
    new KubePodClient(coreApi(sim.url), {
      namespace: 'default',
      instance: 'hub',
      template: DEFAULT_TEMPLATE,
      deleteGraceSeconds: 0,
      fence: leaseFence(tenure),
    });
  const pod = () => sim.pods().find((p) => p.metadata.name === 'jupyter-alice');

  beforeEach(async () => {
    sim = await startSimulator({ seed: 3, kubelet: { scheduleMs: 5, createMs: 5, readyMs: 5, stopMs: 5 } });
  });
  afterEach(async () => {
    await sim.close();
  });

  it('stamps every pod it creates with the transitions and holder of its tenure', async () => {
    await client(new Tenure('hub-a', 4)).create(KEY);
    expect(pod()?.metadata.annotations).toMatchObject({ [ANNOTATION_LEASE_TRANSITIONS]: '4', [ANNOTATION_LEASE_HOLDER]: 'hub-a' });
  });

  it('never adopts, reads as its own or deletes a pod stamped by a newer holder', async () => {
    const newer = new Tenure('hub-b', 2);
    await client(newer).create(KEY);
    const uid = pod()?.metadata.uid;
    const stale = client(new Tenure('hub-a', 1));
    const adopted = await stale.create(KEY).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(adopted).toBeInstanceOf(PodApiError);
    expect((adopted as PodApiError).reason).toBe('Fenced');
    expect(await stale.read(KEY)).toEqual({ exists: false });
    expect(await stale.delete(KEY, { force: true })).toEqual({ exists: false });
    expect(await stale.deleteExact(KEY, null)).toBe('gone');
    expect(await stale.deleteExact(KEY, uid ?? '')).toBe('gone');
    expect(pod()?.metadata.uid).toBe(uid);
    expect(pod()?.metadata.deletionTimestamp).toBeUndefined();
  });

  it('stamps a pod it adopts from an older holder, after which the older holder cannot delete it', async () => {
    const older = client(new Tenure('hub-a', 0));
    await older.create(KEY);
    const uid = pod()?.metadata.uid;
    const adopter = client(new Tenure('hub-b', 1));
    const fact = await adopter.create(KEY);
    expect(fact).toMatchObject({ exists: true, uid });
    expect(pod()?.metadata.annotations).toMatchObject({ [ANNOTATION_LEASE_TRANSITIONS]: '1', [ANNOTATION_LEASE_HOLDER]: 'hub-b' });
    expect(await older.delete(KEY, { force: true })).toEqual({ exists: false });
    expect(pod()?.metadata.deletionTimestamp).toBeUndefined();
    // The holder of the pod's own tenure, or a later one, deletes it as before.
    await adopter.delete(KEY, { force: true });
    await eventually('the pod gone', () => pod() === undefined, 5_000);
  });

  it('adopts a pod that another writer changes between each of its first three reads and its stamp (the kubelet writing status as the pod starts)', async () => {
    await client(new Tenure('hub-a', 0)).create(KEY);
    const api = coreApi(sim.url);
    const read = api.readNamespacedPod.bind(api);
    let writes = 3;
    // Every read of the adopter is followed, before its conditional write, by another writer's real write.
    api.readNamespacedPod = async (...args: Parameters<typeof read>) => {
      const found = await read(...args);
      if (writes-- > 0) {
        await coreApi(sim.url).patchNamespacedPod(
          { name: 'jupyter-alice', namespace: 'default', body: { metadata: { labels: { touched: String(writes) } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }
      return found;
    };
    const adopter = new KubePodClient(api, {
      namespace: 'default',
      instance: 'hub',
      template: DEFAULT_TEMPLATE,
      deleteGraceSeconds: 0,
      fence: leaseFence(new Tenure('hub-b', 1)),
    });
    expect(await adopter.create(KEY)).toMatchObject({ exists: true });
    expect(writes).toBeLessThan(0);
    expect(pod()?.metadata.labels).toMatchObject({ touched: '0' });
    expect(pod()?.metadata.annotations).toMatchObject({ [ANNOTATION_LEASE_TRANSITIONS]: '1', [ANNOTATION_LEASE_HOLDER]: 'hub-b' });
  });

  it('never adopts a pod that has ended: a start deletes the evicted pod, answers 409, and its retry makes a fresh one', async () => {
    const hub = client(new Tenure('hub-a', 0));
    await hub.create(KEY);
    await eventually('the pod running', () => pod()?.status?.phase === 'Running', 5_000);
    const ended = pod()?.metadata.uid;
    sim.kubelet.evict('jupyter-alice');
    const refused = await hub.create(KEY).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(PodApiError);
    expect((refused as PodApiError).code).toBe(409);
    expect((refused as PodApiError).message).toContain('had ended (Failed)');
    await eventually('the ended pod gone', () => pod()?.metadata.uid !== ended, 5_000);
    const fresh = await hub.create(KEY);
    expect(fresh).toMatchObject({ exists: true });
    expect(fresh.exists && fresh.uid).not.toBe(ended);
  });

  it('treats a pod without a stamp as any hub’s of this instance, as before fencing', async () => {
    await coreApi(sim.url).createNamespacedPod({ namespace: 'default', body: podManifest(KEY, 'hub', DEFAULT_TEMPLATE) });
    expect(pod()?.metadata.annotations?.[ANNOTATION_LEASE_TRANSITIONS]).toBeUndefined();
    expect((await client(new Tenure('hub-a', 0)).read(KEY)).exists).toBe(true);
  });

  it('sweeps nothing while the lease is not held, and sweeps once it is', async () => {
    await client(new Tenure('hub-a', 0)).create(KEY);
    const known = sim
      .pods()
      .map((p) => ({ key: KEY, name: p.metadata.name, fact: podFact(p as unknown as V1Pod) as PresentPod, createdAt: 0, seenAt: -1e9 }));
    const gate = { acting: false, onOpen: () => () => undefined };
    const sweeper = new OrphanSweeper({
      store: { orphans: () => [], removeOrphan: () => undefined },
      pods: client(new Tenure('hub-a', 0)),
      ourPods: () => known,
      stateOf: () => undefined,
      clock: systemClock,
      gate,
      graceMs: 0,
    });
    await sweeper.sweep();
    expect(pod()?.metadata.deletionTimestamp).toBeUndefined();
    gate.acting = true;
    expect((await sweeper.sweep()).orphans).toBe(1);
    // A pod that changed between the sweeper's read and its delete is left for the next sweep, as every interval does.
    for (let i = 0; i < 20 && pod() !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (pod()?.metadata.deletionTimestamp === undefined) await sweeper.sweep();
    }
    await eventually('the orphan pod gone', () => pod() === undefined, 5_000);
  });

  it('creates a missing Lease above the highest stamp on existing pods, so stamps stay ordered by tenure', async () => {
    await client(new Tenure('hub-old', 7)).create(KEY);
    expect(await highestStamp(coreApi(sim.url), 'default', 'hub')).toBe(7);
    const api = coreApi(sim.url);
    const elector = new LeaseElector({
      store: new KubeLeaseStore(kubeConfig(sim.url).makeApiClient(CoordinationV1Api), 'default', 'spawnkeeper-hub'),
      identity: 'hub-new',
      clock: systemClock,
      durationMs: 2_000,
      renewDeadlineMs: 1_000,
      retryPeriodMs: 200,
      floor: () => highestStamp(api, 'default', 'hub'),
    });
    const stop = new AbortController();
    const running = elector.start(stop.signal);
    try {
      await eventually('the lease', () => elector.acting, 5_000);
      expect(elector.epoch).toBe(8);
      expect(leases(sim)[0]?.spec.leaseTransitions).toBe(8);
    } finally {
      stop.abort();
      await running;
    }
  });
});

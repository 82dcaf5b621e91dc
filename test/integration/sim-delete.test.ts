import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator, SimulatorOptions } from '../../src/sim/index.js';
import { ManualClock, startSimulator, STUCK_FINALIZER } from '../../src/sim/index.js';
import { coreApi, podBody, recordWatch, statusOf, waitFor } from './sim-helpers.js';

const PODS = '/api/v1/namespaces/default/pods';
const fast = { scheduleMs: 5, createMs: 5, readyMs: 5, stopMs: 20 };

describe('simulated API server: deleting pods', () => {
  let sim: Simulator | undefined;
  const start = async (options: SimulatorOptions = {}): Promise<Simulator> => {
    sim = await startSimulator({ seed: 5, kubelet: fast, ...options });
    return sim;
  };
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  const runningPod = async (s: Simulator, name: string): Promise<V1Pod> => {
    const api = coreApi(s.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody(name) });
    return waitFor(`${name} ready`, async () => {
      const p = await api.readNamespacedPod({ name, namespace: 'default' });
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true ? p : undefined;
    });
  };

  it('terminates a running pod gracefully: deletionTimestamp, then terminated and unready, then DELETED', async () => {
    const s = await start();
    const api = coreApi(s.url);
    const pod = await runningPod(s, 'p1');
    const w = await recordWatch(s.url, PODS, { resourceVersion: pod.metadata?.resourceVersion ?? '' });
    const deleted = await api.deleteNamespacedPod({ name: 'p1', namespace: 'default' });
    expect(deleted.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    expect(deleted.metadata?.deletionGracePeriodSeconds).toBe(30);
    await waitFor('DELETED', () => w.events.find((e) => e.type === 'DELETED'));
    w.abort();
    expect(w.events.map((e) => e.type)).toEqual(['MODIFIED', 'MODIFIED', 'DELETED']);
    const [marked, stopped, gone] = w.events.map((e) => e.object as V1Pod);
    expect(marked?.metadata?.deletionTimestamp).toBeTruthy();
    expect(marked?.status?.phase).toBe('Running');
    expect(stopped?.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(stopped?.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'False' }));
    expect(gone?.metadata?.uid).toBe(pod.metadata?.uid);
    const err: unknown = await api.readNamespacedPod({ name: 'p1', namespace: 'default' }).catch((e: unknown) => e);
    expect(err).toHaveProperty('code', 404);
  });

  it('takes the grace period from the gracePeriodSeconds parameter or from DeleteOptions in the body', async () => {
    const s = await start({ kubelet: { ...fast, stopMs: 60_000 } });
    const api = coreApi(s.url);
    await runningPod(s, 'p1');
    await runningPod(s, 'p2');
    const byQuery = await api.deleteNamespacedPod({ name: 'p1', namespace: 'default', gracePeriodSeconds: 5 });
    const byBody = await api.deleteNamespacedPod({ name: 'p2', namespace: 'default', body: { gracePeriodSeconds: 7 } });
    expect(byQuery.metadata?.deletionGracePeriodSeconds).toBe(5);
    expect(byBody.metadata?.deletionGracePeriodSeconds).toBe(7);
    const deadline = (p: V1Pod): number =>
      (p.metadata?.deletionTimestamp?.getTime() ?? 0) - (p.metadata?.creationTimestamp?.getTime() ?? 0);
    expect(deadline(byBody)).toBeGreaterThan(deadline(byQuery));
  });

  it('removes a pod at once when the grace is 0, when it was never scheduled, or when it has finished', async () => {
    const s = await start();
    const api = coreApi(s.url);
    await runningPod(s, 'zero');
    s.kubelet.failPod('unscheduled', { kind: 'unschedulable' });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('unscheduled') });
    s.kubelet.failPod('finished', { kind: 'exit', exitCode: 0 });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('finished') });
    await waitFor('finished pod', () => s.pods().find((p) => p.metadata.name === 'finished' && p.status.phase === 'Succeeded'));
    const w = await recordWatch(s.url, PODS, { resourceVersion: String(s.cluster.resourceVersion()) });
    const zero = await api.deleteNamespacedPod({ name: 'zero', namespace: 'default', gracePeriodSeconds: 0 });
    const unscheduled = await api.deleteNamespacedPod({ name: 'unscheduled', namespace: 'default' });
    const finished = await api.deleteNamespacedPod({ name: 'finished', namespace: 'default' });
    for (const p of [zero, unscheduled, finished]) expect(p.metadata?.deletionGracePeriodSeconds).toBe(0);
    await waitFor('three DELETED', () => (w.events.length >= 3 ? true : undefined));
    w.abort();
    expect(w.events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`)).toEqual([
      'DELETED zero',
      'DELETED unscheduled',
      'DELETED finished',
    ]);
    expect(s.pods()).toEqual([]);
  });

  it('answers a second delete with the terminating pod and a delete of a gone pod with 404', async () => {
    const s = await start({ kubelet: { ...fast, stopMs: 60_000 } });
    const api = coreApi(s.url);
    await runningPod(s, 'p1');
    const first = await api.deleteNamespacedPod({ name: 'p1', namespace: 'default' });
    const second = await api.deleteNamespacedPod({ name: 'p1', namespace: 'default' });
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    const shorter = await api.deleteNamespacedPod({ name: 'p1', namespace: 'default', gracePeriodSeconds: 0 });
    expect(shorter.metadata?.deletionGracePeriodSeconds).toBe(0);
    const err: unknown = await api.deleteNamespacedPod({ name: 'p1', namespace: 'default' }).catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({ reason: 'NotFound', code: 404 });
  });

  it('refuses a delete whose uid precondition names another pod with 409 Conflict', async () => {
    const s = await start();
    const api = coreApi(s.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    const err: unknown = await api
      .deleteNamespacedPod({ name: 'p1', namespace: 'default', body: { preconditions: { uid: 'someone-else' } } })
      .catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({ reason: 'Conflict', code: 409 });
    expect(s.pods()).toHaveLength(1);
  });

  it('keeps a pod stuck terminating by its finalizer until the finalizer is released', async () => {
    const s = await start();
    const api = coreApi(s.url);
    s.kubelet.failPod('stuck', { kind: 'stuckTerminating' });
    const created = await api.createNamespacedPod({ namespace: 'default', body: podBody('stuck') });
    expect(created.metadata?.finalizers).toEqual([STUCK_FINALIZER]);
    await waitFor('running', () => s.pods().find((p) => p.status.phase === 'Running'));
    await api.deleteNamespacedPod({ name: 'stuck', namespace: 'default' });
    const held = await waitFor('terminated but held', () => s.pods().find((p) => p.metadata.deletionGracePeriodSeconds === 0));
    expect(held.status.containerStatuses?.[0]?.state.terminated?.exitCode).toBe(0);
    expect(held.metadata.deletionTimestamp).toBeTruthy();
    const w = await recordWatch(s.url, PODS, { resourceVersion: held.metadata.resourceVersion });
    s.kubelet.releaseFinalizers('stuck');
    await waitFor('DELETED', () => w.events.find((e) => e.type === 'DELETED'));
    w.abort();
    expect(s.pods()).toEqual([]);
  });

  it('releases a pod stuck terminating for a set time once that time has passed', async () => {
    const clock = new ManualClock();
    const s = await start({ clock, kubelet: { scheduleMs: 0, createMs: 0, readyMs: 0, stopMs: 0 } });
    const api = coreApi(s.url);
    s.kubelet.failPod('stuck', { kind: 'stuckTerminating', forMs: 120_000 });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('stuck') });
    clock.advance(0);
    clock.advance(0);
    clock.advance(0);
    expect(s.pods()[0]?.status.phase).toBe('Running');
    await api.deleteNamespacedPod({ name: 'stuck', namespace: 'default' });
    clock.advance(119_999);
    expect(s.pods()).toHaveLength(1);
    clock.advance(1);
    expect(s.pods()).toHaveLength(0);
  });

  it('lets a pod that ignores SIGTERM use its whole grace period and end with exit code 137', async () => {
    const clock = new ManualClock();
    const s = await start({ clock, kubelet: { scheduleMs: 0, createMs: 0, readyMs: 0, stopMs: 0 } });
    const api = coreApi(s.url);
    s.kubelet.failPod('stubborn', { kind: 'ignoreSigterm' });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('stubborn') });
    for (let i = 0; i < 3; i++) clock.advance(0);
    const w = await recordWatch(s.url, PODS, { resourceVersion: String(s.cluster.resourceVersion()) });
    await api.deleteNamespacedPod({ name: 'stubborn', namespace: 'default', gracePeriodSeconds: 10 });
    clock.advance(9_999);
    expect(s.pods()).toHaveLength(1);
    clock.advance(1);
    expect(s.pods()).toHaveLength(0);
    await waitFor('DELETED', () => w.events.find((e) => e.type === 'DELETED'));
    w.abort();
    const stopped = w.events[1]?.object as V1Pod;
    expect(stopped.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
  });
});

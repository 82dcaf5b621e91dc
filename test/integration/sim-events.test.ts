import type { CoreV1Event } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { coreApi, podBody, recordWatch, waitFor } from './sim-helpers.js';

describe('simulated API server: Kubernetes Events about pods', () => {
  let sim: Simulator;
  afterEach(async () => {
    await sim.close();
  });

  it('records Scheduled, Pulling, Pulled, Created, Started and Killing with involvedObject pointing at the pod', async () => {
    sim = await startSimulator({ seed: 2, kubelet: { scheduleMs: 5, createMs: 5, readyMs: 5, stopMs: 5 } });
    const api = coreApi(sim.url);
    const pod = await api.createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    await waitFor('running', () => sim.pods().find((p) => p.status.phase === 'Running'));
    await api.deleteNamespacedPod({ name: 'p1', namespace: 'default' });
    await waitFor('gone', () => (sim.pods().length === 0 ? true : undefined));
    const list = await api.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=p1,involvedObject.kind=Pod' });
    expect(list.items.map((e: CoreV1Event) => e.reason)).toEqual(
      expect.arrayContaining(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started', 'Killing']),
    );
    for (const e of list.items) {
      expect(e.involvedObject).toMatchObject({ kind: 'Pod', name: 'p1', namespace: 'default', uid: pod.metadata?.uid });
      expect(e.count).toBeGreaterThanOrEqual(1);
    }
    const scheduled = list.items.find((e) => e.reason === 'Scheduled');
    expect(scheduled).toMatchObject({
      type: 'Normal',
      message: 'Successfully assigned default/p1 to sim-node-1',
      source: { component: 'default-scheduler' },
    });
  });

  it('streams Warning events of a failing pod to an events watch', async () => {
    sim = await startSimulator({ seed: 2, kubelet: { scheduleMs: 5, createMs: 5, readyMs: 5, backoffMs: 10 } });
    const w = await recordWatch(sim.url, '/api/v1/namespaces/default/events', { fieldSelector: 'involvedObject.name=p1' });
    sim.kubelet.failPod('p1', { kind: 'imagePull' });
    await coreApi(sim.url).createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    await waitFor('back-off event', () => w.events.find((e) => e.object['reason'] === 'BackOff'));
    w.abort();
    const failed = w.events.find((e) => e.object['reason'] === 'Failed');
    expect(failed?.type).toBe('ADDED');
    expect(failed?.object).toMatchObject({ kind: 'Event', type: 'Warning', involvedObject: { name: 'p1', kind: 'Pod' } });
  });

  it('counts a repeated event on the existing Event object instead of adding another', async () => {
    sim = await startSimulator({ seed: 2, kubelet: { scheduleMs: 0, createMs: 0, readyMs: 0, backoffMs: 5, crashRunMs: 5 } });
    sim.kubelet.failPod('p1', { kind: 'crashLoop' });
    await coreApi(sim.url).createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    const backoff = await waitFor('repeated back-off', () => sim.events().find((e) => e.reason === 'BackOff' && e.count >= 2));
    expect(sim.events().filter((e) => e.reason === 'BackOff')).toHaveLength(1);
    expect(backoff.message).toMatch(/^Back-off restarting failed container notebook in pod p1_default/);
  });

  it('records FailedScheduling for an unschedulable pod', async () => {
    sim = await startSimulator({ seed: 2, kubelet: { scheduleMs: 0 } });
    sim.kubelet.failPod('p1', { kind: 'unschedulable' });
    await coreApi(sim.url).createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    const event = await waitFor('FailedScheduling', () => sim.events().find((e) => e.reason === 'FailedScheduling'));
    expect(event).toMatchObject({ type: 'Warning', message: expect.stringMatching(/^0\/1 nodes are available/) as unknown });
  });
});

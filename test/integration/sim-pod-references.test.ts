import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { coreApi, podBody, waitFor } from './sim-helpers.js';

const fast = { scheduleMs: 5, createMs: 5, readyMs: 5, stopMs: 5, backoffMs: 10 };

describe('simulated kubelet: pods that need a Secret or a claim', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });
  const read = (s: Simulator, name: string): Promise<V1Pod> => coreApi(s.url).readNamespacedPod({ name, namespace: 'default' });

  it('keeps a pod whose env Secret is missing in CreateContainerConfigError, and starts it with its IP once the Secret exists', async () => {
    sim = await startSimulator({ seed: 3, kubelet: fast });
    const core = coreApi(sim.url);
    const spec = { containers: [{ name: 'notebook', image: 'x:1', envFrom: [{ secretRef: { name: 'env-a' } }] }] };
    await core.createNamespacedPod({ namespace: 'default', body: podBody('p1', { app: 't' }, spec) });
    const waiting = await waitFor('the config error', async () => {
      const p = await read(sim!, 'p1');
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError' ? p : undefined;
    });
    expect(waiting.status?.phase).toBe('Pending');
    expect(waiting.status?.containerStatuses?.[0]?.state?.waiting?.message).toBe('secret "env-a" not found');
    expect(sim.events().some((e) => e['reason'] === 'Failed' && e['message'] === 'Error: secret "env-a" not found')).toBe(true);
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'env-a' }, stringData: { A: 'b' } } });
    const running = await waitFor('the pod to run', async () => {
      const p = await read(sim!, 'p1');
      return p.status?.phase === 'Running' ? p : undefined;
    });
    expect(running.status?.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it('leaves a pod whose claim is missing unscheduled, and schedules it once the claim exists', async () => {
    sim = await startSimulator({ seed: 3, kubelet: fast });
    const core = coreApi(sim.url);
    const spec = {
      containers: [{ name: 'notebook', image: 'x:1' }],
      volumes: [{ name: 'home', persistentVolumeClaim: { claimName: 'claim-a' } }],
    };
    await core.createNamespacedPod({ namespace: 'default', body: podBody('p2', { app: 't' }, spec) });
    const pending = await waitFor('the scheduling failure', async () => {
      const p = await read(sim!, 'p2');
      const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
      return scheduled?.status === 'False' ? { p, scheduled } : undefined;
    });
    expect(pending.scheduled.reason).toBe('Unschedulable');
    expect(pending.scheduled.message).toContain('persistentvolumeclaim "claim-a" not found');
    expect(pending.p.spec?.nodeName).toBeUndefined();
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: { metadata: { name: 'claim-a' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    });
    await waitFor('the pod to run', async () => ((await read(sim!, 'p2')).status?.phase === 'Running' ? true : undefined));
  });
});

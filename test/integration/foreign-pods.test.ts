import { CoreV1Api } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { podManifest } from '../../src/kube/manifest.js';
import { DEFAULT_TEMPLATE } from '../../src/kube/manifest.js';
import { kubeConfigFor } from '../../src/spawnkeeper.js';
import { Live, eventually } from '../support/live.js';

let live: Live | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

const pod = (name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels, annotations },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
});

describe('ownership', () => {
  it('never deletes a pod without our labels, whatever its name, and sweeps a pod of ours that no server owns', async () => {
    live = await Live.start();
    const api = kubeConfigFor(live.sim.url).makeApiClient(CoreV1Api);
    const namespace = 'default';
    const ours = podManifest('ghost/', 'hub', DEFAULT_TEMPLATE); // labelled by us, but no server has it
    const foreign: V1Pod[] = [
      pod('jupyter-xena'), // the very name our pod for xena would take
      pod('jupyter-yuri', { 'app.kubernetes.io/managed-by': 'spawnkeeper', 'spawnkeeper.io/instance': 'other-hub' }),
      pod(
        'jupyter-zed',
        { 'app.kubernetes.io/managed-by': 'spawnkeeper', 'spawnkeeper.io/instance': 'hub', 'spawnkeeper.io/server': 'forged' },
        { 'spawnkeeper.io/key': 'zed/' },
      ),
      pod('database-0', { app: 'postgres' }),
    ];
    for (const body of [...foreign, ours]) await api.createNamespacedPod({ namespace, body });

    await live.sk.start('xena');
    const xena = await live.settled('xena');
    expect(xena.state).toBe('failed');
    expect(xena.reason).toMatch(/not spawnkeeper's/);
    await live.sk.stop('xena');
    for (const user of ['yuri', 'zed']) {
      await live.sk.start(user);
      await live.sk.stop(user);
      await live.settled(user);
    }
    await eventually('the sweeper to remove the pod no server owns', () => live!.pod(ours.metadata!.name!) === undefined);
    await new Promise((r) => setTimeout(r, 1_000)); // several more sweeps
    for (const f of foreign) {
      const still = live.pod(f.metadata!.name!);
      expect(still, `${f.metadata!.name} is untouched`).toBeDefined();
      expect(still?.metadata.deletionTimestamp).toBeUndefined();
    }
  });
});

import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATE, podManifest } from '../../src/kube/manifest.js';
import { legacyPodName, podName, serverKey } from '../../src/kube/names.js';
import { ownerKey } from '../../src/kube/pod-mapper.js';
import { kubeConfigFor } from '../../src/spawnkeeper.js';
import { Live, eventually } from '../support/live.js';

let live: Live | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

/** createUnderEarlierName makes the pod the earlier naming scheme made for a server, as a hub of that version did. */
async function createUnderEarlierName(l: Live, key: string): Promise<string> {
  const body = podManifest(key, 'hub', DEFAULT_TEMPLATE);
  const name = legacyPodName(key);
  body.metadata = { ...body.metadata, name };
  await kubeConfigFor(l.sim.url).makeApiClient(CoreV1Api).createNamespacedPod({ namespace: 'default', body });
  return name;
}

const podsOf = (l: Live, key: string) =>
  l.sim
    .pods()
    .filter((p) => ownerKey(p, 'hub') === key && p.metadata.deletionTimestamp === undefined)
    .map((p) => p.metadata.name);

describe('pod names across the naming change', () => {
  it('runs Bob and the user named like the earlier hashed pod name of Bob side by side', async () => {
    live = await Live.start();
    const squatter = legacyPodName(serverKey('Bob')).slice('jupyter-'.length);
    await live.sk.start(squatter);
    await live.sk.start('Bob');
    const [a, b] = [await live.settled(squatter), await live.settled('Bob')];
    expect([a.state, b.state]).toEqual(['running', 'running']);
    expect(a.podName).toBe(`jupyter-${squatter}`);
    expect(b.podName).toBe(podName(serverKey('Bob')));
    expect(podsOf(live, 'Bob/')).toEqual([b.podName]);
  });

  it('adopts, keeps across a restart, and deletes a pod made under the earlier name, then uses the new name', async () => {
    live = await Live.start();
    const key = serverKey('Bob', 'Lab');
    const earlier = await createUnderEarlierName(live, key);
    expect(earlier).not.toBe(podName(key));

    await live.sk.start('Bob', 'Lab');
    const adopted = await live.settled('Bob', 'Lab');
    expect(adopted.state).toBe('running');
    expect(adopted.podName).toBe(earlier);
    expect(podsOf(live, key)).toEqual([earlier]);

    await live.restart();
    const restored = await live.settled('Bob', 'Lab');
    expect(restored.state).toBe('running');
    expect(podsOf(live, key)).toEqual([earlier]);

    await live.sk.stop('Bob', 'Lab');
    expect((await live.settled('Bob', 'Lab')).state).toBe('stopped');
    await eventually('the pod under the earlier name to be gone', () => live!.pod(earlier) === undefined);

    await live.sk.start('Bob', 'Lab');
    const fresh = await live.settled('Bob', 'Lab');
    expect(fresh.podName).toBe(podName(key));
    expect(podsOf(live, key)).toEqual([podName(key)]);
  });

  it('sweeps a pod made under the earlier name that no server owns', async () => {
    live = await Live.start();
    const earlier = await createUnderEarlierName(live, serverKey('Ghost'));
    await eventually('the sweeper to remove the pod under the earlier name', () => live!.pod(earlier) === undefined);
  });
});

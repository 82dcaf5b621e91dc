import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATE, podManifest } from '../../src/kube/manifest.js';
import { kubeConfigFor } from '../../src/spawnkeeper.js';
import { LIVE_CONFIG, Live, eventually } from '../support/live.js';
import { SteppedClock } from '../support/stepped-clock.js';
import { internals } from '../../src/spawnkeeper.js';

// The hub's wall clock steps while it runs against the simulator (which keeps real time): the
// reflector's resync and the sweeper's grace are measured on the monotonic clock.

const HOUR = 3_600_000;
let live: Live | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

describe('wall-clock steps, live', () => {
  it('a wall-clock step back postpones no resync: a pod deleted behind the hub and missed by the watch is still noticed', async () => {
    const clock = new SteppedClock();
    // A long silence limit: only the resync (every 1.5 s) may relist while the watch brings nothing.
    const reflector = { ...LIVE_CONFIG.reflector, silenceMs: 60_000 };
    live = await Live.start({ clock, config: { reflector } });
    await live.sk.start('ada');
    const ada = await live.settled('ada');
    expect(ada.state).toBe('running');
    clock.stepWall(-HOUR);
    live.sim.faults.dropWatchEvents(1); // only a resync can tell now
    live.sim.cluster.forceDelete(ada.podName);
    // LIVE_CONFIG resyncs every 1.5 s; before, the next resync waited for the wall clock to catch up an hour.
    await eventually('the resync to report the absence', () => live!.sk.get('ada')?.state !== 'running', 6_000);
  });

  it("a wall-clock step forward does not cut short the sweeper's grace for a pod no server owns", async () => {
    const clock = new SteppedClock();
    live = await Live.start({ clock, config: { sweeper: { intervalMs: 100, graceMs: 60_000 } } });
    const api = kubeConfigFor(live.sim.url).makeApiClient(CoreV1Api);
    const ghost = podManifest('ghost/', 'hub', DEFAULT_TEMPLATE);
    await api.createNamespacedPod({ namespace: 'default', body: ghost });
    await eventually('the reflector to see the pod', () =>
      [...internals(live!.sk).reflector.cache.values()].some((c) => c.key === 'ghost/'),
    );
    clock.stepWall(+HOUR);
    await new Promise((r) => setTimeout(r, 1_000)); // ten sweeps
    const still = live.pod(ghost.metadata!.name!);
    expect(still).toBeDefined();
    expect(still?.metadata.deletionTimestamp).toBeUndefined();
  });
});
